package store_test

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/store"
	"github.com/gantry-dev/gantry/internal/testutil"
)

// TestVpcStateApplyFollowsTheStore: a VpcState kept up to date from WatchVpcStates is, after
// every change, the VpcState the store reads at the same revision: records of other VPCs and
// other scopes (one with an id of the VPC's) leave it alone, and a record written again
// unchanged does not count as a change.
func TestVpcStateApplyFollowsTheStore(t *testing.T) {
	st := newTaskStore(t)
	ctx := t.Context()
	other := model.Scope{Account: "111111111111", Region: "us-east-1"}
	must := func(_ int64, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	vpc := model.Vpc{Scope: taskScope, ID: "vpc-1", CidrBlock: "10.0.0.0/16"}
	must(st.Vpcs().Create(ctx, vpc))
	must(st.Vpcs().Create(ctx, model.Vpc{Scope: taskScope, ID: "vpc-2", CidrBlock: "10.1.0.0/16"}))
	must(st.SecurityGroups().Create(ctx, model.SecurityGroup{Scope: taskScope, ID: "sg-a", VpcID: "vpc-1"}))
	must(st.Subnets().Create(ctx, model.Subnet{Scope: taskScope, ID: "subnet-a", VpcID: "vpc-1", CidrBlock: "10.0.1.0/24"}))
	must(st.Subnets().Create(ctx, model.Subnet{Scope: taskScope, ID: "subnet-b", VpcID: "vpc-1", CidrBlock: "10.0.2.0/24"}))
	must(st.NetworkInterfaces().Create(ctx, model.NetworkInterface{Scope: taskScope, ID: "eni-1", VpcID: "vpc-1", PrivateIP: "10.0.1.5"}))

	state, err := st.VpcState(ctx, "vpc-1")
	if err != nil {
		t.Fatal(err)
	}
	changes := st.WatchVpcStates(ctx, state.Revision)
	eni := func(sc model.Scope, id, vpcID, ip string) model.NetworkInterface {
		return model.NetworkInterface{Scope: sc, ID: id, VpcID: vpcID, PrivateIP: ip, Status: model.StateInUse, GroupIDs: []string{"sg-a"}}
	}
	steps := []struct {
		name    string
		write   func() (int64, error)
		changed bool
	}{
		{"an ENI of the VPC", func() (int64, error) {
			return st.NetworkInterfaces().Create(ctx, eni(taskScope, "eni-0", "vpc-1", "10.0.1.4"))
		}, true},
		{"an ENI of another VPC", func() (int64, error) {
			return st.NetworkInterfaces().Create(ctx, eni(taskScope, "eni-9", "vpc-2", "10.1.1.4"))
		}, false},
		{"an ENI of another scope, with an id of the VPC's", func() (int64, error) {
			return st.NetworkInterfaces().Create(ctx, eni(other, "eni-1", "vpc-1", "10.9.1.5"))
		}, false},
		{"a rule added to a group", func() (int64, error) {
			v, err := st.SecurityGroups().Mutate(ctx, taskScope, "sg-a", func(g *model.SecurityGroup) error {
				g.Rules = append(g.Rules, model.SecurityGroupRule{ID: "sgr-1", Protocol: "6", FromPort: 80, ToPort: 80, CidrIPv4: "0.0.0.0/0"})
				return nil
			})
			return v.Revision, err
		}, true},
		{"a subnet deleted", func() (int64, error) {
			v, err := st.Subnets().Get(ctx, taskScope, "subnet-b")
			if err != nil {
				return 0, err
			}
			w := &store.Write{}
			st.Subnets().DeleteIn(w, v.Value, v.Revision)
			return st.Commit(ctx, w)
		}, true},
		{"the VPC written again unchanged (a launch's fence)", func() (int64, error) {
			v, err := st.Vpcs().Get(ctx, taskScope, "vpc-1")
			if err != nil {
				return 0, err
			}
			w := &store.Write{}
			if err := st.Vpcs().PutIn(w, v.Value, v.Revision); err != nil {
				return 0, err
			}
			return st.Commit(ctx, w)
		}, false},
		{"the other scope's ENI deleted", func() (int64, error) {
			v, err := st.NetworkInterfaces().Get(ctx, other, "eni-1")
			if err != nil {
				return 0, err
			}
			w := &store.Write{}
			st.NetworkInterfaces().DeleteIn(w, v.Value, v.Revision)
			return st.Commit(ctx, w)
		}, false},
		{"a route table of the VPC", func() (int64, error) {
			return st.RouteTables().Create(ctx, model.RouteTable{Scope: taskScope, ID: "rtb-1", VpcID: "vpc-1", Main: true})
		}, true},
		{"the VPC's first ENI moved out of it", func() (int64, error) {
			v, err := st.NetworkInterfaces().Mutate(ctx, taskScope, "eni-0", func(n *model.NetworkInterface) error { n.VpcID = "vpc-2"; return nil })
			return v.Revision, err
		}, true},
	}
	for _, step := range steps {
		rev, err := step.write()
		if err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		changed := false
		for state.Revision < rev {
			select {
			case c := <-changes:
				ch, err := state.Apply(c)
				if err != nil {
					t.Fatalf("%s: apply: %v", step.name, err)
				}
				changed = changed || ch
			case <-time.After(10 * time.Second):
				t.Fatalf("%s: no change reached revision %d", step.name, rev)
			}
		}
		if changed != step.changed {
			t.Errorf("%s: changed %v, want %v", step.name, changed, step.changed)
		}
		read, err := st.VpcState(ctx, "vpc-1")
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(state, read) {
			t.Fatalf("%s: kept\n%+v\nread\n%+v", step.name, state, read)
		}
	}
	if len(state.ENIs) != 1 || state.ENIs[0].ID != "eni-1" || state.ENIs[0].PrivateIP != "10.0.1.5" {
		t.Fatalf("ENIs %+v", state.ENIs)
	}

	// Another VPC's deletion is not this one's; this one's ends the state.
	for _, id := range []string{"vpc-2", "vpc-1"} {
		v, err := st.Vpcs().Get(ctx, taskScope, id)
		if err != nil {
			t.Fatal(err)
		}
		w := &store.Write{}
		st.Vpcs().DeleteIn(w, v.Value, v.Revision)
		if _, err := st.Commit(ctx, w); err != nil {
			t.Fatal(err)
		}
		var c store.VpcChange
		select {
		case c = <-changes:
		case <-time.After(10 * time.Second):
			t.Fatalf("deleting %s: no change", id)
		}
		_, err = state.Apply(c)
		if want := id == "vpc-1"; (apierr.KindOf(err) == apierr.NotFound) != want {
			t.Fatalf("deleting %s: %v", id, err)
		}
	}
}

// BenchmarkVpcStateOf400ENIs compares what a host's VPC snapshot costs the control side per
// change, at 400 interfaces: reading the VPC whole (five range reads, as every change did
// before) against applying the change to the state kept. The etcd side of the reads is not in
// the figures when the test's etcd runs in another process.
func BenchmarkVpcStateOf400ENIs(b *testing.B) {
	cli, prefix := testutil.Etcd(b)
	st := store.New(cli, prefix)
	ctx := b.Context()
	if _, err := st.Vpcs().Create(ctx, model.Vpc{Scope: taskScope, ID: "vpc-1", CidrBlock: "10.0.0.0/16"}); err != nil {
		b.Fatal(err)
	}
	for i := range 400 {
		n := model.NetworkInterface{Scope: taskScope, ID: fmt.Sprintf("eni-%04d", i), VpcID: "vpc-1", SubnetID: "subnet-1",
			PrivateIP: fmt.Sprintf("10.0.%d.%d", i/200, i%200+4), GroupIDs: []string{"sg-1"}, Status: model.StateInUse,
			MacAddress: "0e:00:00:00:00:01", Description: "arn:aws:ecs:us-east-1:000000000000:attachment/00000000-0000-0000-0000-000000000000"}
		if _, err := st.NetworkInterfaces().Create(ctx, n); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("read", func(b *testing.B) {
		for b.Loop() {
			if _, err := st.VpcState(ctx, "vpc-1"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("apply", func(b *testing.B) {
		state, err := st.VpcState(ctx, "vpc-1")
		if err != nil {
			b.Fatal(err)
		}
		n := state.ENIs[200]
		add := store.VpcChange{ENI: &n}
		del := store.VpcChange{ENI: &n, Deleted: true}
		for b.Loop() {
			if _, err := state.Apply(del); err != nil {
				b.Fatal(err)
			}
			if _, err := state.Apply(add); err != nil {
				b.Fatal(err)
			}
		}
	})
}
