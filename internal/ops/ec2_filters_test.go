package ops_test

import (
	"slices"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/ops"
	"github.com/gantry-dev/gantry/internal/store"
)

// TestEC2Filters checks the filters scripts use that name rules' ports and referenced groups,
// a task ENI's attachment, requester and groups by name, and route tables' routes and
// associations: each keeps what it names and drops the rest.
func TestEC2Filters(t *testing.T) {
	e, st := newEC2(t)
	ctx := t.Context()
	vpc, err := e.CreateVpc(ctx, ec2Scope, ops.CreateVpcInput{CidrBlock: "10.9.0.0/16"})
	if err != nil {
		t.Fatal(err)
	}
	sub, err := e.CreateSubnet(ctx, ec2Scope, ops.CreateSubnetInput{VpcID: vpc.ID, CidrBlock: "10.9.1.0/24"})
	if err != nil {
		t.Fatal(err)
	}
	web, _ := e.CreateSecurityGroup(ctx, ec2Scope, ops.CreateSecurityGroupInput{GroupName: "web", Description: "web", VpcID: vpc.ID})
	lb, _ := e.CreateSecurityGroup(ctx, ec2Scope, ops.CreateSecurityGroupInput{GroupName: "lb", Description: "lb", VpcID: vpc.ID})
	p := func(v int32) *int32 { return &v }
	if _, err := e.AuthorizeSecurityGroupRules(ctx, ec2Scope, false, ops.RuleChange{GroupID: web.ID, Permissions: []ops.IPPermission{
		{Protocol: "tcp", FromPort: p(8080), ToPort: p(8090), Groups: []ops.GroupPair{{GroupID: lb.ID}}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.AuthorizeSecurityGroupRules(ctx, ec2Scope, true, ops.RuleChange{GroupID: lb.ID, Permissions: []ops.IPPermission{
		{Protocol: "udp", FromPort: p(53), ToPort: p(53), IPRanges: []ops.IPRange{{CidrIP: "10.0.0.0/8"}}}}}); err != nil {
		t.Fatal(err)
	}
	groups := func(fs ...ops.Filter) []string {
		t.Helper()
		fs = append(fs, ops.Filter{Name: "vpc-id", Values: []string{vpc.ID}})
		got, _, err := e.DescribeSecurityGroups(ctx, ec2Scope, nil, nil, fs, ops.Paging{})
		if err != nil {
			t.Fatalf("DescribeSecurityGroups %+v: %v", fs, err)
		}
		var names []string
		for _, g := range got {
			names = append(names, g.Name)
		}
		slices.Sort(names)
		return names
	}
	f := func(name string, values ...string) ops.Filter { return ops.Filter{Name: name, Values: values} }
	groupTests := []struct {
		filter ops.Filter
		want   []string
	}{
		{f("ip-permission.from-port", "8080"), []string{"web"}},
		{f("ip-permission.to-port", "8090"), []string{"web"}},
		{f("ip-permission.to-port", "8080"), nil},
		{f("ip-permission.group-name", "lb"), []string{"web"}},
		{f("ip-permission.user-id", model.DefaultAccount), []string{"default", "web"}}, // default: from itself
		{f("egress.ip-permission.protocol", "udp"), []string{"lb"}},
		{f("egress.ip-permission.from-port", "53"), []string{"lb"}},
		{f("egress.ip-permission.group-name", "web"), nil},
		{f("ip-permission.ipv6-cidr", "::/0"), nil},
	}
	for _, tc := range groupTests {
		if got := groups(tc.filter); !slices.Equal(got, tc.want) {
			t.Errorf("groups with %s=%v: %v, want %v", tc.filter.Name, tc.filter.Values, got, tc.want)
		}
	}

	attached := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for i, n := range []model.NetworkInterface{
		{ID: "eni-0000000000000000a", GroupIDs: []string{web.ID}, PrivateIP: "10.9.1.4", RequesterManaged: true, PublicIP: "203.0.113.9",
			Attachment: &model.EniAttachment{ID: "eni-attach-0000000000000000a", Status: model.StateAttached, AttachTime: attached, DeviceIndex: 1, InstanceOwnerID: "amazon-aws"}},
		{ID: "eni-0000000000000000b", GroupIDs: []string{lb.ID}, PrivateIP: "10.9.1.5"},
	} {
		n.Scope, n.SubnetID, n.VpcID, n.Status, n.InterfaceType = ec2Scope, sub.ID, vpc.ID, model.StateInUse, "interface"
		if _, err := st.NetworkInterfaces().Create(ctx, n); err != nil {
			t.Fatal(i, err)
		}
	}
	enis := func(fs ...ops.Filter) []string {
		t.Helper()
		got, _, err := e.DescribeNetworkInterfaces(ctx, ec2Scope, nil, fs, ops.Paging{})
		if err != nil {
			t.Fatalf("DescribeNetworkInterfaces %+v: %v", fs, err)
		}
		var ids []string
		for _, n := range got {
			ids = append(ids, n.ID[len(n.ID)-1:])
		}
		slices.Sort(ids)
		return ids
	}
	eniTests := []struct {
		filter ops.Filter
		want   []string
	}{
		{f("group-name", "web"), []string{"a"}},
		{f("group-name", "l*"), []string{"b"}},
		{f("attachment.instance-owner-id", "amazon-aws"), []string{"a"}},
		{f("attachment.device-index", "1"), []string{"a"}},
		{f("attachment.attach-time", "2026-01-02T03:04:05Z"), []string{"a"}},
		{f("attachment.delete-on-termination", "true"), []string{"a"}},
		{f("attachment.instance-id", "i-0123456789abcdef0"), nil},
		{f("requester-id", ops.FargateRequesterID), []string{"a"}},
		{f("requester-managed", "false"), []string{"b"}},
		{f("association.ip-owner-id", "amazon"), []string{"a"}},
		{f("addresses.association.public-ip", "203.0.113.9"), []string{"a"}},
		{f("addresses.primary", "true"), []string{"a", "b"}},
		{f("source-dest-check", "true"), []string{"a", "b"}},
	}
	for _, tc := range eniTests {
		if got := enis(tc.filter); !slices.Equal(got, tc.want) {
			t.Errorf("enis with %s=%v: %v, want %v", tc.filter.Name, tc.filter.Values, got, tc.want)
		}
	}
	if _, _, err := e.DescribeNetworkInterfaces(ctx, ec2Scope, nil, []ops.Filter{f("attachment.bogus", "x")}, ops.Paging{}); err == nil {
		t.Error("an unknown filter was accepted")
	} else {
		wantEC2Code(t, err, ops.CodeInvalidParameterValue, "")
	}

	rt, err := e.CreateRouteTable(ctx, ec2Scope, vpc.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.AssociateRouteTable(ctx, ec2Scope, rt.ID, sub.ID); err != nil {
		t.Fatal(err)
	}
	tables := func(fs ...ops.Filter) int {
		t.Helper()
		got, _, err := e.DescribeRouteTables(ctx, ec2Scope, nil, append(fs, f("vpc-id", vpc.ID)), ops.Paging{})
		if err != nil {
			t.Fatalf("DescribeRouteTables %+v: %v", fs, err)
		}
		return len(got)
	}
	if n := tables(f("association.route-table-id", rt.ID)); n != 1 {
		t.Errorf("tables with association.route-table-id: %d, want 1", n)
	}
	if n := tables(f("route.origin", "CreateRouteTable"), f("route.state", "active")); n != 2 {
		t.Errorf("tables with a local route: %d, want 2 (main and new)", n)
	}
	if n := tables(f("association.gateway-id", "igw-0123456789abcdef0")); n != 0 {
		t.Errorf("tables with a gateway association: %d, want 0", n)
	}
}

// TestDeleteSubnetWithNATGateway: a subnet holding a NAT gateway cannot be deleted, as on AWS;
// the gateway would otherwise be left in a subnet that no longer exists.
func TestDeleteSubnetWithNATGateway(t *testing.T) {
	e, _ := newEC2(t)
	ctx := t.Context()
	vpc, err := e.CreateVpc(ctx, ec2Scope, ops.CreateVpcInput{CidrBlock: "10.8.0.0/16"})
	if err != nil {
		t.Fatal(err)
	}
	sub, err := e.CreateSubnet(ctx, ec2Scope, ops.CreateSubnetInput{VpcID: vpc.ID, CidrBlock: "10.8.1.0/24"})
	if err != nil {
		t.Fatal(err)
	}
	eip, err := e.AllocateAddress(ctx, ec2Scope, "vpc", nil)
	if err != nil {
		t.Fatal(err)
	}
	nat, err := e.CreateNatGateway(ctx, ec2Scope, ops.CreateNatGatewayInput{SubnetID: sub.ID, AllocationID: eip.AllocationID})
	if err != nil {
		t.Fatal(err)
	}
	wantEC2Code(t, e.DeleteSubnet(ctx, ec2Scope, sub.ID), ops.CodeDependencyViolation, "")
	nats, _, err := e.DescribeNatGateways(ctx, ec2Scope, []string{nat.ID}, nil, ops.Paging{})
	if err != nil || len(nats) != 1 || nats[0].SubnetID != sub.ID {
		t.Fatalf("nat gateway after a refused DeleteSubnet: %+v %v", nats, err)
	}
}

// TestDetachInternetGatewayWithPublicAddresses: an internet gateway cannot be detached from a
// VPC while an interface there has a public address, as on AWS; once none has, it can.
func TestDetachInternetGatewayWithPublicAddresses(t *testing.T) {
	e, st := newEC2(t)
	ctx := t.Context()
	vpc, err := e.CreateVpc(ctx, ec2Scope, ops.CreateVpcInput{CidrBlock: "10.6.0.0/16"})
	if err != nil {
		t.Fatal(err)
	}
	sub, err := e.CreateSubnet(ctx, ec2Scope, ops.CreateSubnetInput{VpcID: vpc.ID, CidrBlock: "10.6.1.0/24"})
	if err != nil {
		t.Fatal(err)
	}
	igw, err := e.CreateInternetGateway(ctx, ec2Scope, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.AttachInternetGateway(ctx, ec2Scope, igw.ID, vpc.ID); err != nil {
		t.Fatal(err)
	}
	eni := model.NetworkInterface{Scope: ec2Scope, ID: "eni-0000000000000000c", SubnetID: sub.ID, VpcID: vpc.ID,
		PrivateIP: "10.6.1.4", PublicIP: "203.0.113.7", Status: model.StateInUse, InterfaceType: "interface"}
	rev, err := st.NetworkInterfaces().Create(ctx, eni)
	if err != nil {
		t.Fatal(err)
	}
	wantEC2Code(t, e.DetachInternetGateway(ctx, ec2Scope, igw.ID, vpc.ID), ops.CodeDependencyViolation, apierr.ResourceInUse)
	w := &store.Write{}
	st.NetworkInterfaces().DeleteIn(w, eni, rev)
	if _, err := st.Commit(ctx, w); err != nil {
		t.Fatal(err)
	}
	if err := e.DetachInternetGateway(ctx, ec2Scope, igw.ID, vpc.ID); err != nil {
		t.Fatalf("detach with no public address left: %v", err)
	}
}
