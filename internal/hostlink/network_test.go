package hostlink_test

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/hostlink"
	"github.com/gantry-dev/gantry/internal/logx"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/store"
	"github.com/gantry-dev/gantry/internal/testutil"
)

// nextSnapshot waits for a snapshot that satisfies ok, failing after a few seconds.
func nextSnapshot(t *testing.T, ch <-chan model.NetworkSnapshot, last *int64, ok func(model.NetworkSnapshot) bool) model.NetworkSnapshot {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case s, open := <-ch:
			if !open {
				t.Fatal("snapshot channel closed")
			}
			if s.Revision <= *last {
				t.Fatalf("revision %d after %d", s.Revision, *last)
			}
			*last = s.Revision
			if ok(s) {
				return s
			}
		case <-deadline:
			t.Fatal("no matching snapshot")
		}
	}
}

func TestWatchNetwork(t *testing.T) {
	l, st := newLink(t)
	ctx := t.Context()
	vpc := model.Vpc{Scope: scope, ID: "vpc-1", CidrBlock: "10.0.0.0/16", MainRouteTableID: "rtb-1", DefaultGroupID: "sg-1"}
	records := []func() error{
		func() error { _, err := st.Vpcs().Create(ctx, vpc); return err },
		func() error {
			_, err := st.SecurityGroups().Create(ctx, model.SecurityGroup{Scope: scope, ID: "sg-1", VpcID: "vpc-1", Name: "default"})
			return err
		},
		func() error {
			_, err := st.Subnets().Create(ctx, model.Subnet{Scope: scope, ID: "subnet-1", VpcID: "vpc-1", CidrBlock: "10.0.1.0/24"})
			return err
		},
		func() error {
			_, err := st.RouteTables().Create(ctx, model.RouteTable{Scope: scope, ID: "rtb-1", VpcID: "vpc-1", Main: true,
				Routes: []model.Route{{DestinationCidrBlock: "10.0.0.0/16", GatewayID: "local"}}})
			return err
		},
		// Another VPC's group changes nothing here.
		func() error {
			_, err := st.SecurityGroups().Create(ctx, model.SecurityGroup{Scope: scope, ID: "sg-9", VpcID: "vpc-9"})
			return err
		},
	}
	for _, f := range records {
		if err := f(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := l.WatchNetwork(ctx, "vpc-nope"); apierr.KindOf(err) != apierr.NotFound {
		t.Fatalf("unknown VPC: %v", err)
	}
	ch, err := l.WatchNetwork(ctx, "vpc-1")
	if err != nil {
		t.Fatal(err)
	}
	var last int64
	first := nextSnapshot(t, ch, &last, func(model.NetworkSnapshot) bool { return true })
	if first.VpcID != "vpc-1" || first.VpcCidr != "10.0.0.0/16" || len(first.Groups) != 1 ||
		!slices.Equal(first.Subnets, []model.SubnetRoute{{ID: "subnet-1", Cidr: "10.0.1.0/24"}}) || len(first.Members["sg-1"]) != 0 {
		t.Fatalf("first snapshot %+v", first)
	}

	// A rule is authorized.
	rule := model.SecurityGroupRule{ID: "sgr-1", Protocol: model.ProtocolTCP, FromPort: 80, ToPort: 80, CidrIPv4: "10.0.0.0/16"}
	if _, err := st.SecurityGroups().Mutate(ctx, scope, "sg-1", func(g *model.SecurityGroup) error {
		g.Rules = append(g.Rules, rule)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	nextSnapshot(t, ch, &last, func(s model.NetworkSnapshot) bool {
		return len(s.Groups) == 1 && slices.Contains(s.Groups[0].Rules, rule)
	})

	// The subnet goes public.
	if _, err := st.RouteTables().Mutate(ctx, scope, "rtb-1", func(rt *model.RouteTable) error {
		rt.Routes = append(rt.Routes, model.Route{DestinationCidrBlock: "0.0.0.0/0", GatewayID: "igw-1"})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	nextSnapshot(t, ch, &last, func(s model.NetworkSnapshot) bool { return len(s.Subnets) == 1 && s.Subnets[0].Public })

	// A task starts with an ENI in the group: its address is a member; it stops: it is not.
	tk := model.Task{Scope: scope, ID: "t1", Cluster: "c", CPU: "256", Memory: "512", DesiredStatus: model.TaskRunning,
		LastStatus: model.TaskProvisioning, HostID: "h1", Version: 1,
		TaskNetwork: &model.TaskNetwork{VpcID: "vpc-1", ENIID: "eni-1", PrivateIP: "10.0.1.4", SecurityGroups: []string{"sg-1"},
			Subnet: model.SubnetRoute{ID: "subnet-1", Cidr: "10.0.1.0/24"}}}
	eni := model.NetworkInterface{Scope: scope, ID: "eni-1", VpcID: "vpc-1", SubnetID: "subnet-1", PrivateIP: "10.0.1.4",
		GroupIDs: []string{"sg-1"}, Status: model.StateInUse}
	if _, err := st.Tasks().Launch(ctx, store.Launch{Tasks: []model.Task{tk}, ENIs: []model.NetworkInterface{eni}}); err != nil {
		t.Fatal(err)
	}
	s := nextSnapshot(t, ch, &last, func(s model.NetworkSnapshot) bool { return len(s.Members["sg-1"]) == 1 })
	if s.Members["sg-1"][0] != "10.0.1.4" || !slices.Equal(s.ENIGroups["10.0.1.4"], []string{"sg-1"}) {
		t.Fatalf("members %v, groups %v", s.Members, s.ENIGroups)
	}
	if err := l.ReportTask(ctx, model.TaskReport{Scope: scope, Cluster: "c", TaskID: "t1", LastStatus: model.TaskStopped}); err != nil {
		t.Fatal(err)
	}
	nextSnapshot(t, ch, &last, func(s model.NetworkSnapshot) bool { return len(s.Members["sg-1"]) == 0 && len(s.ENIGroups) == 0 })

	// The VPC goes: the stream ends.
	v, _ := st.Vpcs().Get(ctx, scope, "vpc-1")
	w := &store.Write{}
	st.Vpcs().DeleteIn(w, v.Value, v.Revision)
	if _, err := st.Commit(ctx, w); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(5 * time.Second)
	for {
		select {
		case _, open := <-ch:
			if !open {
				return
			}
		case <-deadline:
			t.Fatal("stream still open after the VPC was deleted")
		}
	}
}

func TestAssignmentCarriesTaskNetwork(t *testing.T) {
	l, st := newLink(t)
	ctx := t.Context()
	registerDef(t, st)
	n := &model.TaskNetwork{VpcID: "vpc-1", VpcCidr: "10.0.0.0/16", ENIID: "eni-1", PrivateIP: "10.0.1.4",
		MacAddress: "0e:01:02:03:04:05", SecurityGroups: []string{"sg-1"}, Subnet: model.SubnetRoute{ID: "subnet-1", Cidr: "10.0.1.0/24", Public: true}}
	tk := model.Task{Scope: scope, ID: "t1", Cluster: "c", TaskDefinitionARN: model.TaskDefinitionARN(scope, "web", 1),
		Family: "web", Revision: 1, CPU: "256", Memory: "512", DesiredStatus: model.TaskRunning,
		LastStatus: model.TaskProvisioning, HostID: "h1", Version: 1, TaskNetwork: n}
	if _, err := st.Tasks().Launch(ctx, store.Launch{Tasks: []model.Task{tk}}); err != nil {
		t.Fatal(err)
	}
	ch, err := l.WatchAssignments(ctx, "h1")
	if err != nil {
		t.Fatal(err)
	}
	if a := recv(t, ch); a.Network == nil || !reflect.DeepEqual(*a.Network, *n) {
		t.Fatalf("assignment network = %+v", a.Network)
	}
}

// TestWatchNetworkRecoversFromABadRecord: a change the watch cannot decode makes the link read
// the VPC again, whole, until it can; the snapshots then go on from what it read.
func TestWatchNetworkRecoversFromABadRecord(t *testing.T) {
	cli, prefix := testutil.Etcd(t)
	st := store.New(cli, prefix)
	l := hostlink.New(st, logx.Discard())
	ctx := t.Context()
	if _, err := st.Vpcs().Create(ctx, model.Vpc{Scope: scope, ID: "vpc-1", CidrBlock: "10.0.0.0/16"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.SecurityGroups().Create(ctx, model.SecurityGroup{Scope: scope, ID: "sg-1", VpcID: "vpc-1"}); err != nil {
		t.Fatal(err)
	}
	ch, err := l.WatchNetwork(ctx, "vpc-1")
	if err != nil {
		t.Fatal(err)
	}
	var last int64
	nextSnapshot(t, ch, &last, func(model.NetworkSnapshot) bool { return true })

	key := prefix + "/ec2/networkinterfaces/" + store.ScopeKey(scope) + "eni-1"
	if _, err := cli.Put(ctx, key, "not a record"); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	eni := model.NetworkInterface{Scope: scope, ID: "eni-2", VpcID: "vpc-1", PrivateIP: "10.0.1.4", GroupIDs: []string{"sg-1"}, Status: model.StateInUse}
	if _, err := st.NetworkInterfaces().Create(ctx, eni); err != nil {
		t.Fatal(err)
	}
	s := nextSnapshot(t, ch, &last, func(s model.NetworkSnapshot) bool { return len(s.Members["sg-1"]) == 1 })
	if s.Members["sg-1"][0] != "10.0.1.4" {
		t.Fatalf("members %v", s.Members)
	}
}
