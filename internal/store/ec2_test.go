package store_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/store"
	"github.com/gantry-dev/gantry/internal/testutil"
)

var vpcScope = model.Scope{Account: model.DefaultAccount, Region: "eu-west-1"}

func TestEC2RecordsRoundTrip(t *testing.T) {
	cli, prefix := testutil.Etcd(t)
	st := store.New(cli, prefix)
	ctx := t.Context()
	at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	tags := []model.Tag{{Key: "k", Value: "v"}}
	vpc := model.Vpc{Scope: vpcScope, ID: "vpc-1", CidrBlock: "10.0.0.0/16", CidrAssociationID: "vpc-cidr-assoc-1", State: "available",
		DhcpOptionsID: "dopt-1", InstanceTenancy: "default", IsDefault: true, EnableDNSSupport: true, EnableDNSHostnames: true,
		MainRouteTableID: "rtb-1", DefaultGroupID: "sg-1", Tags: tags, CreatedAt: at}
	sub := model.Subnet{Scope: vpcScope, ID: "subnet-1", VpcID: "vpc-1", CidrBlock: "10.0.1.0/24", AvailabilityZone: "eu-west-1a",
		AvailabilityZoneID: "euw1-az1", State: "available", DefaultForAz: true, MapPublicIPOnLaunch: true, Tags: tags, CreatedAt: at}
	sg := model.SecurityGroup{Scope: vpcScope, ID: "sg-1", Name: "default", Description: "d", VpcID: "vpc-1", Tags: tags, CreatedAt: at,
		Rules: []model.SecurityGroupRule{{ID: "sgr-1", Protocol: "-1", FromPort: -1, ToPort: -1, GroupID: "sg-1"},
			{ID: "sgr-2", Egress: true, Protocol: "6", FromPort: 80, ToPort: 80, CidrIPv4: "0.0.0.0/0", Description: "web"}}}
	igw := model.InternetGateway{Scope: vpcScope, ID: "igw-1", VpcID: "vpc-1", Tags: tags}
	eip := model.ElasticIP{Scope: vpcScope, AllocationID: "eipalloc-1", PublicIP: "198.51.100.7", Domain: "vpc", AssociatedWith: "nat-1", Tags: tags}
	nat := model.NatGateway{Scope: vpcScope, ID: "nat-1", VpcID: "vpc-1", SubnetID: "subnet-1", AllocationID: "eipalloc-1",
		PublicIP: "198.51.100.7", PrivateIP: "10.0.1.9", ConnectivityType: "public", State: "available", Tags: tags, CreatedAt: at}
	rtb := model.RouteTable{Scope: vpcScope, ID: "rtb-1", VpcID: "vpc-1", Main: true, Tags: tags,
		Routes:       []model.Route{{DestinationCidrBlock: "10.0.0.0/16", GatewayID: "local", Origin: "CreateRouteTable"}, {DestinationCidrBlock: "0.0.0.0/0", NatGatewayID: "nat-1", Origin: "CreateRoute"}},
		Associations: []model.RouteTableAssociation{{ID: "rtbassoc-1", Main: true}, {ID: "rtbassoc-2", SubnetID: "subnet-1"}}}
	eni := model.NetworkInterface{Scope: vpcScope, ID: "eni-1", SubnetID: "subnet-1", VpcID: "vpc-1", AvailabilityZone: "eu-west-1a",
		Description: "task", GroupIDs: []string{"sg-1"}, InterfaceType: "interface", MacAddress: "02:00:00:00:00:01", PrivateIP: "10.0.1.5",
		PublicIP: "198.51.100.8", Status: "in-use", RequesterManaged: true, Tags: tags, CreatedAt: at,
		Attachment: &model.EniAttachment{ID: "eni-attach-1", Status: "attached", AttachTime: at, DeviceIndex: 1, InstanceOwnerID: "amazon-aws"}}

	w := &store.Write{}
	for _, err := range []error{st.Vpcs().PutIn(w, vpc, 0), st.Subnets().PutIn(w, sub, 0), st.SecurityGroups().PutIn(w, sg, 0),
		st.InternetGateways().PutIn(w, igw, 0), st.ElasticIPs().PutIn(w, eip, 0), st.NatGateways().PutIn(w, nat, 0),
		st.RouteTables().PutIn(w, rtb, 0), st.NetworkInterfaces().PutIn(w, eni, 0), st.DefaultVpcs().CreateIn(w, vpcScope, "vpc-1")} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.Commit(ctx, w); err != nil {
		t.Fatal(err)
	}
	check := func(name string, got, want any, err error) {
		t.Helper()
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %+v, want %+v (%v)", name, got, want, err)
		}
	}
	v, err := st.Vpcs().Get(ctx, vpcScope, "vpc-1")
	check("vpc", v.Value, vpc, err)
	s, err := st.Subnets().Get(ctx, vpcScope, "subnet-1")
	check("subnet", s.Value, sub, err)
	g, err := st.SecurityGroups().Get(ctx, vpcScope, "sg-1")
	check("group", g.Value, sg, err)
	i, err := st.InternetGateways().Get(ctx, vpcScope, "igw-1")
	check("igw", i.Value, igw, err)
	a, err := st.ElasticIPs().Get(ctx, vpcScope, "198.51.100.7")
	check("eip", a.Value, eip, err)
	n, err := st.NatGateways().Get(ctx, vpcScope, "nat-1")
	check("nat", n.Value, nat, err)
	r, err := st.RouteTables().Get(ctx, vpcScope, "rtb-1")
	check("rtb", r.Value, rtb, err)
	e, err := st.NetworkInterfaces().Get(ctx, vpcScope, "eni-1")
	check("eni", e.Value, eni, err)
	id, rev, err := st.DefaultVpcs().Get(ctx, vpcScope)
	check("default", id, "vpc-1", err)

	// The marker is created once: a second transaction carrying it writes nothing at all.
	w = &store.Write{}
	other := vpc
	other.ID = "vpc-2"
	if err := st.Vpcs().PutIn(w, other, 0); err != nil {
		t.Fatal(err)
	}
	if err := st.DefaultVpcs().CreateIn(w, vpcScope, "vpc-2"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Commit(ctx, w); apierr.KindOf(err) != apierr.Conflict {
		t.Errorf("second default VPC: %v", err)
	}
	if _, err := st.Vpcs().Get(ctx, vpcScope, "vpc-2"); apierr.KindOf(err) != apierr.NotFound {
		t.Errorf("vpc-2 written despite the failed marker: %v", err)
	}
	// Clearing keeps the marker, so the default VPC is not made again.
	w = &store.Write{}
	if err := st.DefaultVpcs().ClearIn(w, vpcScope, rev); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Commit(ctx, w); err != nil {
		t.Fatal(err)
	}
	if id, _, err := st.DefaultVpcs().Get(ctx, vpcScope); err != nil || id != "" {
		t.Errorf("cleared marker %q %v", id, err)
	}

	list, err := st.Subnets().List(ctx, vpcScope)
	if err != nil || len(list) != 1 {
		t.Errorf("list %+v %v", list, err)
	}
	if l, err := st.Subnets().List(ctx, model.Scope{Account: model.DefaultAccount, Region: "us-east-1"}); err != nil || len(l) != 0 {
		t.Errorf("other scope %+v %v", l, err)
	}
	if _, err := st.Subnets().Mutate(ctx, vpcScope, "subnet-1", func(s *model.Subnet) error { s.MapPublicIPOnLaunch = false; return nil }); err != nil {
		t.Fatal(err)
	}
	s, err = st.Subnets().Get(ctx, vpcScope, "subnet-1")
	if err != nil || s.Value.MapPublicIPOnLaunch {
		t.Errorf("mutated %+v %v", s, err)
	}
	w = &store.Write{}
	st.Subnets().DeleteIn(w, s.Value, s.Revision-1)
	if _, err := st.Commit(ctx, w); apierr.KindOf(err) != apierr.Conflict {
		t.Errorf("stale delete: %v", err)
	}
	if _, err := st.InternetGateways().Create(ctx, igw); apierr.KindOf(err) != apierr.AlreadyExists {
		t.Errorf("create twice: %v", err)
	}
}
