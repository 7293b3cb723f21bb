package store_test

import (
	"net/netip"
	"reflect"
	"testing"

	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/network/ipam"
	"github.com/gantry-dev/gantry/internal/store"
)

func TestSubnetRouteOf(t *testing.T) {
	sub := model.Subnet{ID: "subnet-a", VpcID: "vpc-1", CidrBlock: "10.0.1.0/24"}
	local := model.Route{DestinationCidrBlock: "10.0.0.0/16", GatewayID: "local"}
	igw := model.Route{DestinationCidrBlock: "0.0.0.0/0", GatewayID: "igw-1"}
	nat := model.Route{DestinationCidrBlock: "0.0.0.0/0", NatGatewayID: "nat-1"}
	deadIGW, deadNAT := igw, nat
	deadIGW.Blackhole, deadNAT.Blackhole = true, true
	deadNAT.DestinationCidrBlock = "192.0.2.0/24"
	main := func(routes ...model.Route) model.RouteTable {
		return model.RouteTable{ID: "rtb-main", VpcID: "vpc-1", Main: true, Routes: routes}
	}
	assoc := func(subnet string, routes ...model.Route) model.RouteTable {
		return model.RouteTable{ID: "rtb-" + subnet, VpcID: "vpc-1", Routes: routes,
			Associations: []model.RouteTableAssociation{{ID: "a", SubnetID: subnet}}}
	}
	tests := []struct {
		name        string
		tables      []model.RouteTable
		public, nat bool
	}{
		{"no tables", nil, false, false},
		{"main table local only", []model.RouteTable{main(local)}, false, false},
		{"main table to igw", []model.RouteTable{main(local, igw)}, true, false},
		{"explicit table wins over main", []model.RouteTable{main(local, igw), assoc("subnet-a", local, nat)}, false, true},
		{"another subnet's table", []model.RouteTable{main(local), assoc("subnet-b", igw)}, false, false},
		{"detached igw is a blackhole", []model.RouteTable{main(local, deadIGW)}, false, false},
		{"deleted nat is a blackhole", []model.RouteTable{assoc("subnet-a", local, deadNAT)}, false, false},
		{"blackhole nat beside an active igw", []model.RouteTable{main(local, igw, deadNAT)}, true, false},
		{"another VPC's main table", []model.RouteTable{{ID: "rtb-x", VpcID: "vpc-2", Main: true, Routes: []model.Route{igw}}}, false, false},
	}
	for _, tt := range tests {
		got := store.SubnetRouteOf(sub, tt.tables)
		want := model.SubnetRoute{ID: "subnet-a", Cidr: "10.0.1.0/24", Public: tt.public, NAT: tt.nat}
		if got != want {
			t.Errorf("%s: %+v, want %+v", tt.name, got, want)
		}
	}
}

// A task's network and a subnet's pool survive the store, and the first STOPPED frees both the
// address and the ENI, once.
func TestTaskNetworkStoredAndReleasedOnce(t *testing.T) {
	st := newTaskStore(t)
	ctx := t.Context()
	sub := model.Subnet{Scope: taskScope, ID: "subnet-1", VpcID: "vpc-1", CidrBlock: "10.0.1.0/28"}
	pv, err := st.IPPools().PoolFor(ctx, sub)
	if err != nil || pv.Revision != 0 || pv.Value.Pool.Free() != 11 {
		t.Fatalf("new pool %+v, %v", pv, err)
	}
	addr, pool, err := pv.Value.Pool.Allocate()
	if err != nil || addr != netip.MustParseAddr("10.0.1.4") {
		t.Fatal(addr, err)
	}
	pv.Value.Pool = pool
	tk := sampleTask("0001", "")
	tk.TaskNetwork = &model.TaskNetwork{VpcID: "vpc-1", VpcCidr: "10.0.0.0/16",
		Subnet: model.SubnetRoute{ID: "subnet-1", Cidr: "10.0.1.0/28", NAT: true}, ENIID: "eni-1", PrivateIP: addr.String(),
		MacAddress: "0e:00:00:00:00:01", SecurityGroups: []string{"sg-1"}, PrivateDNSName: "ip-10-0-1-4.ec2.internal"}
	eni := model.NetworkInterface{Scope: taskScope, ID: "eni-1", SubnetID: "subnet-1", VpcID: "vpc-1", PrivateIP: addr.String(), Status: model.StateInUse}
	vpc := model.Vpc{Scope: taskScope, ID: "vpc-1", CidrBlock: "10.0.0.0/16"}
	vrev, err := st.Vpcs().Create(ctx, vpc)
	if err != nil {
		t.Fatal(err)
	}
	launch := store.Launch{Tasks: []model.Task{tk}, ENIs: []model.NetworkInterface{eni}, Pools: []store.Versioned[store.SubnetPool]{pv},
		Vpcs: []store.Versioned[model.Vpc]{{Value: vpc, Revision: vrev}}}
	if _, err := st.Tasks().Launch(ctx, launch); err != nil {
		t.Fatal(err)
	}
	// The same launch again loses on every fence.
	if _, err := st.Tasks().Launch(ctx, launch); err == nil {
		t.Fatal("a second launch at the same revisions committed")
	}
	got, err := st.Tasks().Get(ctx, taskScope, "c", "0001")
	if err != nil || !reflect.DeepEqual(got.Value, tk) {
		t.Fatalf("Get = %+v, %v", got.Value.TaskNetwork, err)
	}
	p, err := st.IPPools().Get(ctx, taskScope, "subnet-1")
	if err != nil || !reflect.DeepEqual(p.Value.Pool, ipam.Pool{Prefix: netip.MustParsePrefix("10.0.1.0/28"), Used: []netip.Addr{addr}}) {
		t.Fatalf("pool %+v, %v", p.Value, err)
	}
	for _, status := range []model.TaskStatus{model.TaskRunning, model.TaskStopped, model.TaskStopped} {
		v, err := st.Tasks().Mutate(ctx, taskScope, "c", "0001", func(x *model.Task) error {
			x.LastStatus = status
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		want := map[model.TaskStatus]string{model.TaskRunning: "ATTACHED", model.TaskStopped: "DELETED"}[status]
		if v.Value.Attachments[0].Status != want {
			t.Errorf("attachment at %s: %s, want %s", status, v.Value.Attachments[0].Status, want)
		}
	}
	p, _ = st.IPPools().Get(ctx, taskScope, "subnet-1")
	if len(p.Value.Pool.Used) != 0 {
		t.Errorf("pool after stop: %v", p.Value.Pool.Used)
	}
	if enis, _ := st.NetworkInterfaces().List(ctx, taskScope); len(enis) != 0 {
		t.Errorf("ENIs after stop: %+v", enis)
	}
}

func TestVpcStateReadsOneVpc(t *testing.T) {
	st := newTaskStore(t)
	ctx := t.Context()
	for _, id := range []string{"vpc-1", "vpc-2"} {
		if _, err := st.Vpcs().Create(ctx, model.Vpc{Scope: taskScope, ID: id, CidrBlock: "10.0.0.0/16"}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.SecurityGroups().Create(ctx, model.SecurityGroup{Scope: taskScope, ID: "sg-" + id, VpcID: id}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.NetworkInterfaces().Create(ctx, model.NetworkInterface{Scope: taskScope, ID: "eni-" + id, VpcID: id}); err != nil {
			t.Fatal(err)
		}
	}
	s, err := st.VpcState(ctx, "vpc-2")
	if err != nil || s.Vpc.ID != "vpc-2" || len(s.Groups) != 1 || s.Groups[0].ID != "sg-vpc-2" || len(s.ENIs) != 1 || s.Revision == 0 {
		t.Fatalf("VpcState = %+v, %v", s, err)
	}
	r, err := st.VpcRouting(ctx, "vpc-2")
	if err != nil || r.ENIs != nil {
		t.Fatalf("VpcRouting = %+v, %v", r, err)
	}
	r.ENIs = s.ENIs
	if !reflect.DeepEqual(r, s) {
		t.Fatalf("VpcRouting = %+v, VpcState = %+v", r, s)
	}
	if _, err := st.VpcState(ctx, "vpc-3"); err == nil {
		t.Fatal("a missing VPC read")
	}
}
