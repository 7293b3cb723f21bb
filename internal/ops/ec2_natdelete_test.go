package ops_test

import (
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/ops"
	"github.com/gantry-dev/gantry/internal/store"
)

// natVPC is a VPC with a public subnet (main table routed to an attached internet gateway), a
// NAT gateway there, and a private subnet whose own table routes to the NAT gateway.
type natVPC struct {
	vpc, public, private, igw, nat, eip, rtb string
}

func newNatVPC(t *testing.T, e *ops.EC2, cidr string) natVPC {
	t.Helper()
	ctx := t.Context()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	vpc, err := e.CreateVpc(ctx, ec2Scope, ops.CreateVpcInput{CidrBlock: cidr + ".0.0/16"})
	must(err)
	pub, err := e.CreateSubnet(ctx, ec2Scope, ops.CreateSubnetInput{VpcID: vpc.ID, CidrBlock: cidr + ".1.0/24"})
	must(err)
	priv, err := e.CreateSubnet(ctx, ec2Scope, ops.CreateSubnetInput{VpcID: vpc.ID, CidrBlock: cidr + ".2.0/24"})
	must(err)
	igw, err := e.CreateInternetGateway(ctx, ec2Scope, nil)
	must(err)
	must(e.AttachInternetGateway(ctx, ec2Scope, igw.ID, vpc.ID))
	must(e.CreateRoute(ctx, ec2Scope, ops.RouteInput{RouteTableID: vpc.MainRouteTableID, DestinationCidrBlock: "0.0.0.0/0", GatewayID: igw.ID}))
	eip, err := e.AllocateAddress(ctx, ec2Scope, "vpc", nil)
	must(err)
	nat, err := e.CreateNatGateway(ctx, ec2Scope, ops.CreateNatGatewayInput{SubnetID: pub.ID, AllocationID: eip.AllocationID})
	must(err)
	rtb, err := e.CreateRouteTable(ctx, ec2Scope, vpc.ID, nil)
	must(err)
	must(e.CreateRoute(ctx, ec2Scope, ops.RouteInput{RouteTableID: rtb.ID, DestinationCidrBlock: "0.0.0.0/0", NatGatewayID: nat.ID}))
	_, err = e.AssociateRouteTable(ctx, ec2Scope, rtb.ID, priv.ID)
	must(err)
	return natVPC{vpc: vpc.ID, public: pub.ID, private: priv.ID, igw: igw.ID, nat: nat.ID, eip: eip.AllocationID, rtb: rtb.ID}
}

// routes returns the subnets' routing facts as the VPC's hosts get them (SnapshotOf and RunTask
// both use store.SubnetRouteOf).
func routes(t *testing.T, st *store.Store, vpc string) map[string]model.SubnetRoute {
	t.Helper()
	s, err := st.VpcState(t.Context(), vpc)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]model.SubnetRoute{}
	for _, sub := range s.Subnets {
		out[sub.ID] = store.SubnetRouteOf(sub, s.RouteTables)
	}
	return out
}

// routeState returns the state of the route to target in table rtb, as DescribeRouteTables
// shows it, and checks the route.state filter agrees.
func routeState(t *testing.T, e *ops.EC2, rtb, target string) string {
	t.Helper()
	tables, _, err := e.DescribeRouteTables(t.Context(), ec2Scope, []string{rtb}, nil, ops.Paging{})
	if err != nil || len(tables) != 1 {
		t.Fatalf("route table %s: %+v %v", rtb, tables, err)
	}
	state := ""
	for _, r := range tables[0].Routes {
		if r.Target() == target {
			state = r.State()
		}
	}
	filtered, _, err := e.DescribeRouteTables(t.Context(), ec2Scope, []string{rtb},
		[]ops.Filter{{Name: "route.state", Values: []string{model.StateBlackhole}}}, ops.Paging{})
	if err != nil || (len(filtered) == 1) != (state == model.StateBlackhole) {
		t.Errorf("route.state=blackhole filter on %s: %d tables (%v), route to %s is %s", rtb, len(filtered), err, target, state)
	}
	return state
}

func natState(t *testing.T, e *ops.EC2, id string) model.NatGateway {
	t.Helper()
	nats, _, err := e.DescribeNatGateways(t.Context(), ec2Scope, []string{id}, nil, ops.Paging{})
	if err != nil || len(nats) != 1 {
		t.Fatalf("nat gateway %s: %+v %v", id, nats, err)
	}
	return nats[0]
}

// TestDeleteNatGateway: deleting a NAT gateway leaves it visible as deleted (filter state too),
// frees its elastic IP, turns the routes to it into blackholes that give the private subnet no
// way out, and lets its subnet, the private one and then the whole VPC be deleted.
func TestDeleteNatGateway(t *testing.T) {
	e, st := newEC2(t)
	now := time.Date(2026, 11, 26, 5, 0, 0, 0, time.UTC)
	e.SetClock(func() time.Time { return now })
	ctx := t.Context()
	n := newNatVPC(t, e, "10.9")

	if r := routes(t, st, n.vpc); !r[n.private].NAT || r[n.private].Public || !r[n.public].Public {
		t.Fatalf("routes before: %+v", r)
	}
	if s := routeState(t, e, n.rtb, n.nat); s != model.StateActive {
		t.Fatalf("route to the NAT gateway: %s, want active", s)
	}
	wantEC2Code(t, e.DeleteNatGateway(ctx, ec2Scope, ""), ops.CodeMissingParameter, "")
	wantEC2Code(t, e.DeleteNatGateway(ctx, ec2Scope, "nat-0123456789abcdef0"), ops.CodeNatGatewayNotFound, apierr.NotFound)
	wantEC2Code(t, e.ReleaseAddress(ctx, ec2Scope, n.eip, ""), ops.CodeAddressInUse, apierr.ResourceInUse)
	wantEC2Code(t, e.DeleteSubnet(ctx, ec2Scope, n.public), ops.CodeDependencyViolation, "")

	now = now.Add(time.Minute)
	if err := e.DeleteNatGateway(ctx, ec2Scope, n.nat); err != nil {
		t.Fatal(err)
	}
	got := natState(t, e, n.nat)
	if got.State != model.StateDeleted || !got.DeletedAt.Equal(now) || got.AllocationID != n.eip {
		t.Errorf("after DeleteNatGateway: %+v", got)
	}
	for state, want := range map[string]int{model.StateDeleted: 1, model.StateAvailable: 0} {
		nats, _, err := e.DescribeNatGateways(ctx, ec2Scope, nil, []ops.Filter{{Name: "state", Values: []string{state}},
			{Name: "vpc-id", Values: []string{n.vpc}}}, ops.Paging{})
		if err != nil || len(nats) != want {
			t.Errorf("filter state=%s: %d gateways, want %d (%v)", state, len(nats), want, err)
		}
	}
	if err := e.DeleteNatGateway(ctx, ec2Scope, n.nat); err != nil {
		t.Errorf("deleting a deleted NAT gateway again: %v, want success as on AWS", err)
	}
	if s := routeState(t, e, n.rtb, n.nat); s != model.StateBlackhole {
		t.Errorf("route to the deleted NAT gateway: %s, want blackhole", s)
	}
	if r := routes(t, st, n.vpc); r[n.private].NAT || r[n.private].Public || !r[n.public].Public {
		t.Errorf("routes after delete: %+v", r)
	}
	wantEC2Code(t, e.CreateRoute(ctx, ec2Scope, ops.RouteInput{RouteTableID: n.rtb, DestinationCidrBlock: "192.0.2.0/24", NatGatewayID: n.nat}),
		ops.CodeNatGatewayNotFound, "")

	// The address is free: a new NAT gateway takes it, and once that one is gone it can be released.
	again, err := e.CreateNatGateway(ctx, ec2Scope, ops.CreateNatGatewayInput{SubnetID: n.public, AllocationID: n.eip})
	if err != nil {
		t.Fatalf("the deleted gateway's address is not free: %v", err)
	}
	if err := e.DeleteNatGateway(ctx, ec2Scope, again.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.ReleaseAddress(ctx, ec2Scope, n.eip, ""); err != nil {
		t.Fatal(err)
	}
	wantEC2Code(t, e.ReleaseAddress(ctx, ec2Scope, n.eip, ""), ops.CodeAllocationNotFound, apierr.NotFound)
	wantEC2Code(t, e.ReleaseAddress(ctx, ec2Scope, "", "198.51.100.77"), ops.CodeAddressNotFound, apierr.NotFound)
	wantEC2Code(t, e.ReleaseAddress(ctx, ec2Scope, "", ""), ops.CodeMissingParameter, "")

	// Deleted gateways are shown for an hour, then are gone.
	now = now.Add(2 * time.Hour)
	if nats, _, err := e.DescribeNatGateways(ctx, ec2Scope, nil, nil, ops.Paging{}); err != nil || len(nats) != 0 {
		t.Errorf("deleted gateways two hours later: %+v %v", nats, err)
	}
	_, _, err = e.DescribeNatGateways(ctx, ec2Scope, []string{n.nat}, nil, ops.Paging{})
	wantEC2Code(t, err, ops.CodeNatGatewayNotFound, apierr.NotFound)
	wantEC2Code(t, e.DeleteNatGateway(ctx, ec2Scope, n.nat), ops.CodeNatGatewayNotFound, apierr.NotFound)

	// Tear the VPC down the way a cleanup script does.
	wantEC2Code(t, e.DeleteRouteTable(ctx, ec2Scope, n.rtb), ops.CodeDependencyViolation, apierr.ResourceInUse)
	for _, s := range []string{n.private, n.public} {
		if err := e.DeleteSubnet(ctx, ec2Scope, s); err != nil {
			t.Fatalf("delete subnet %s: %v", s, err)
		}
	}
	vpcs, _, err := e.DescribeVpcs(ctx, ec2Scope, []string{n.vpc}, nil, ops.Paging{})
	if err != nil {
		t.Fatal(err)
	}
	wantEC2Code(t, e.DeleteRouteTable(ctx, ec2Scope, vpcs[0].MainRouteTableID), ops.CodeDependencyViolation, "")
	wantEC2Code(t, e.DeleteRouteTable(ctx, ec2Scope, "rtb-0123456789abcdef0"), ops.CodeRouteTableNotFound, apierr.NotFound)
	wantEC2Code(t, e.DeleteVpc(ctx, ec2Scope, n.vpc), ops.CodeDependencyViolation, "")
	if err := e.DeleteRouteTable(ctx, ec2Scope, n.rtb); err != nil {
		t.Fatal(err)
	}
	if err := e.DetachInternetGateway(ctx, ec2Scope, n.igw, n.vpc); err != nil {
		t.Fatal(err)
	}
	if err := e.DeleteVpc(ctx, ec2Scope, n.vpc); err != nil {
		t.Fatalf("delete the VPC: %v", err)
	}
}

// TestDetachedInternetGatewayIsBlackhole: a route to an internet gateway detached from the VPC is
// a blackhole and makes no subnet public; attaching the gateway again revives it.
func TestDetachedInternetGatewayIsBlackhole(t *testing.T) {
	e, st := newEC2(t)
	ctx := t.Context()
	n := newNatVPC(t, e, "10.10")
	vpcs, _, err := e.DescribeVpcs(ctx, ec2Scope, []string{n.vpc}, nil, ops.Paging{})
	if err != nil {
		t.Fatal(err)
	}
	main := vpcs[0].MainRouteTableID
	check := func(when, state string, public bool) {
		t.Helper()
		if s := routeState(t, e, main, n.igw); s != state {
			t.Errorf("%s: route to the internet gateway is %s, want %s", when, s, state)
		}
		if r := routes(t, st, n.vpc); r[n.public].Public != public || !r[n.private].NAT {
			t.Errorf("%s: routes %+v, want public subnet public=%v, private behind NAT", when, r, public)
		}
	}
	check("attached", model.StateActive, true)
	if err := e.DetachInternetGateway(ctx, ec2Scope, n.igw, n.vpc); err != nil {
		t.Fatal(err)
	}
	check("detached", model.StateBlackhole, false)
	// A route to a detached gateway cannot be created, as on AWS (it belongs to no network).
	wantEC2Code(t, e.CreateRoute(ctx, ec2Scope, ops.RouteInput{RouteTableID: main, DestinationCidrBlock: "192.0.2.0/24", GatewayID: n.igw}),
		ops.CodeInvalidParameterValue, "")
	if err := e.AttachInternetGateway(ctx, ec2Scope, n.igw, n.vpc); err != nil {
		t.Fatal(err)
	}
	check("attached again", model.StateActive, true)

	// Another VPC's gateway attach does not touch this VPC's routes.
	other, err := e.CreateVpc(ctx, ec2Scope, ops.CreateVpcInput{CidrBlock: "10.11.0.0/16"})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.DetachInternetGateway(ctx, ec2Scope, n.igw, n.vpc); err != nil {
		t.Fatal(err)
	}
	if err := e.AttachInternetGateway(ctx, ec2Scope, n.igw, other.ID); err != nil {
		t.Fatal(err)
	}
	check("attached to another VPC", model.StateBlackhole, false)
}
