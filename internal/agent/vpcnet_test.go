package agent_test

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/agent"
	"github.com/gantry-dev/gantry/internal/agent/taskrunner"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/network"
)

const (
	testVPC    = "vpc-0a0000000000000a1"
	testSubnet = "subnet-0a000000000000a1"
)

// vpcHost is a fake host with a fake VPC data plane.
// runVPC runs an agent whose VPC routers go with their last task (no linger).
func (h *fakeHost) runVPC(t *testing.T, plane network.DataPlane, firstRules time.Duration) (*agent.Agent, func()) {
	t.Helper()
	return h.runVPCLinger(t, plane, firstRules, -1)
}

func (h *fakeHost) runVPCLinger(t *testing.T, plane network.DataPlane, firstRules, linger time.Duration) (*agent.Agent, func()) {
	t.Helper()
	a := agent.New(agent.Config{Control: h.ctl, Runtime: h.rt, RuntimeName: "fake", Puller: h.puller,
		Rootfs: taskrunner.FakeRootfs{}, StateDir: h.dir, RunDir: h.runDir, CPU: 4096, MemoryMiB: 8192, Plane: plane,
		FirstRulesTimeout: firstRules, VPCRouterLinger: linger, LocalRegistryHost: "127.0.0.1:4566", HeartbeatInterval: 20 * time.Millisecond,
		OrphanGrace: 100 * time.Millisecond, TimeUnit: 10 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cancel()
			if err := <-done; err != nil {
				t.Errorf("agent run: %v", err)
			}
		}
	}
	t.Cleanup(stop)
	return a, stop
}

func taskNetwork(ip string, groups ...string) *model.TaskNetwork {
	return &model.TaskNetwork{VpcID: testVPC, VpcCidr: "10.1.0.0/16", ENIID: "eni-" + strings.ReplaceAll(ip, ".", ""),
		PrivateIP: ip, MacAddress: "02:00:0a:01:00:" + ip[len(ip)-2:], SecurityGroups: groups,
		Subnet: model.SubnetRoute{ID: testSubnet, Cidr: "10.1.1.0/24", Public: true}}
}

func webSnapshot(ips ...string) model.NetworkSnapshot {
	return model.NetworkSnapshot{VpcID: testVPC, VpcCidr: "10.1.0.0/16",
		Subnets: []model.SubnetRoute{{ID: testSubnet, Cidr: "10.1.1.0/24", Public: true}},
		Groups: []model.SecurityGroup{{ID: "sg-web", Rules: []model.SecurityGroupRule{
			{Protocol: model.ProtocolTCP, FromPort: 8080, ToPort: 8080, CidrIPv4: "10.1.1.0/24"},
			{Protocol: model.ProtocolAll, FromPort: -1, ToPort: -1, CidrIPv4: "0.0.0.0/0", Egress: true},
		}}},
		Members:   map[string][]string{"sg-web": ips},
		ENIGroups: map[string][]string{},
	}
}

func eventually(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if ok() {
			return
		}
	}
	t.Fatalf("never: %s", what)
}

// TestVPCTaskLifecycle: a task with an ENI gets it attached in its VPC (with the snapshot's
// rules in place first) and its containers in the ENI's namespace; rule changes reach the
// plane; stopping the task detaches the ENI, stops following the VPC and removes its router.
func TestVPCTaskLifecycle(t *testing.T) {
	h := newFakeHost(t)
	plane := network.NewFake()
	h.ctl.SetNetwork(webSnapshot("10.1.1.9"))
	h.runVPC(t, plane, 0)
	host := h.hostID(t)
	as := assignmentOn(host)
	as.Network = taskNetwork("10.1.1.10", "sg-web")
	h.ctl.Assign(as)
	waitStatus(t, h.ctl, as.Task.ID, model.TaskRunning)

	enis := plane.ENIs()
	if len(enis) != 1 || enis[0].ID != as.Network.ENIID || enis[0].IP != netip.MustParseAddr("10.1.1.10") ||
		enis[0].MAC.String() != as.Network.MacAddress || !slices.Equal(enis[0].SecurityGroups, []string{"sg-web"}) {
		t.Fatalf("enis = %+v", enis)
	}
	st, err := h.rt.TaskState(t.Context(), as.Task.ID)
	if err != nil || st.NetNSPath != "/fake/netns/"+as.Network.ENIID {
		t.Fatalf("task netns = %q, %v", st.NetNSPath, err)
	}
	v, ok := plane.VPC(testVPC)
	if !ok || len(v.VPC.Subnets) != 1 || !v.VPC.Subnets[0].Public || len(v.Groups) != 1 || len(v.Groups[0].Ingress) != 1 {
		t.Fatalf("vpc = %+v", v)
	}
	// The snapshot did not list the task yet: its own groups hold it anyway. (The real plane's
	// Attach adds it to its groups at once; the fake leaves that to the agent's next apply.)
	self := netip.MustParseAddr("10.1.1.10")
	eventually(t, "the task's own groups hold it", func() bool {
		v, _ = plane.VPC(testVPC)
		return slices.Equal(v.ENIGroups[self], []string{"sg-web"}) && slices.Contains(v.Members["sg-web"], self) &&
			slices.Contains(v.Members["sg-web"], netip.MustParseAddr("10.1.1.9"))
	})
	if _, remote := v.ENIGroups[netip.MustParseAddr("10.1.1.9")]; remote {
		t.Fatalf("eni groups %v hold another host's interface", v.ENIGroups)
	}

	// A revoked rule reaches the plane.
	snap := webSnapshot("10.1.1.9", "10.1.1.10")
	snap.Groups[0].Rules = snap.Groups[0].Rules[1:]
	h.ctl.SetNetwork(snap)
	eventually(t, "revoked rule applied", func() bool {
		v, _ := plane.VPC(testVPC)
		return len(v.Groups) == 1 && len(v.Groups[0].Ingress) == 0
	})
	if n := h.ctl.NetworkWatchers(testVPC); n != 1 {
		t.Fatalf("%d watches of the vpc, want 1", n)
	}

	h.ctl.StopTask(as.Task.ID, model.StopUserInitiated, "by test")
	waitStatus(t, h.ctl, as.Task.ID, model.TaskStopped)
	if enis := plane.ENIs(); len(enis) != 0 {
		t.Fatalf("enis after stop = %+v", enis)
	}
	eventually(t, "vpc no longer followed", func() bool { return h.ctl.NetworkWatchers(testVPC) == 0 })
	if _, ok := plane.VPC(testVPC); ok {
		t.Fatal("the vpc's router outlived its last task")
	}
}

// TestVPCTaskWithoutRulesFails: with no security snapshot from the control plane, a task with
// an ENI never starts (it would have no rules), and leaves nothing attached.
func TestVPCTaskWithoutRulesFails(t *testing.T) {
	h := newFakeHost(t)
	plane := network.NewFake()
	h.runVPC(t, plane, 200*time.Millisecond)
	as := assignmentOn(h.hostID(t))
	as.Network = taskNetwork("10.1.1.10", "sg-web")
	h.ctl.Assign(as)
	r := waitStatus(t, h.ctl, as.Task.ID, model.TaskStopped)
	if r.StopCode != model.StopTaskFailedToStart || !strings.Contains(r.StoppedReason, "security groups") {
		t.Fatalf("report = %+v", r)
	}
	eventually(t, "nothing left behind", func() bool { return len(plane.ENIs()) == 0 && h.ctl.NetworkWatchers(testVPC) == 0 })
}

// TestVPCTaskWithoutENI keeps the loopback-only namespace of the runtime.
func TestVPCTaskWithoutENI(t *testing.T) {
	h := newFakeHost(t)
	plane := network.NewFake()
	h.runVPC(t, plane, 0)
	as := assignmentOn(h.hostID(t))
	h.ctl.Assign(as)
	waitStatus(t, h.ctl, as.Task.ID, model.TaskRunning)
	st, err := h.rt.TaskState(t.Context(), as.Task.ID)
	if err != nil || st.NetNSPath != "" || len(plane.ENIs()) != 0 {
		t.Fatalf("netns %q, enis %+v, %v", st.NetNSPath, plane.ENIs(), err)
	}
}

// runVPCTaskAndStop runs an agent, starts one task in the VPC and stops the agent, leaving the
// task running.
func (h *fakeHost) runVPCTaskAndStop(t *testing.T) (*network.Fake, model.Assignment) {
	t.Helper()
	plane := network.NewFake()
	h.ctl.SetNetwork(webSnapshot())
	_, stop := h.runVPC(t, plane, 0)
	as := assignmentOn(h.hostID(t))
	as.Network = taskNetwork("10.1.1.10", "sg-web")
	h.ctl.Assign(as)
	waitStatus(t, h.ctl, as.Task.ID, model.TaskRunning)
	stop()
	return plane, as
}

// TestVPCTaskSurvivesAgentRestart: a new agent follows the VPC of the task it adopts, keeps its
// ENI, and detaches it when the task stops.
func TestVPCTaskSurvivesAgentRestart(t *testing.T) {
	h := newFakeHost(t)
	plane, as := h.runVPCTaskAndStop(t)
	eventually(t, "no watch after the agent stopped", func() bool { return h.ctl.NetworkWatchers(testVPC) == 0 })
	h.runVPC(t, plane, 0)
	eventually(t, "vpc followed again", func() bool { return h.ctl.NetworkWatchers(testVPC) == 1 })
	if enis := plane.ENIs(); len(enis) != 1 {
		t.Fatalf("enis after restart = %+v", enis)
	}
	snap := webSnapshot("10.1.1.10")
	snap.Groups[0].Rules = nil
	h.ctl.SetNetwork(snap)
	eventually(t, "rules applied after restart", func() bool {
		v, _ := plane.VPC(testVPC)
		return len(v.Groups) == 1 && len(v.Groups[0].Ingress) == 0
	})
	h.ctl.StopTask(as.Task.ID, model.StopUserInitiated, "by test")
	waitStatus(t, h.ctl, as.Task.ID, model.TaskStopped)
	eventually(t, "eni detached", func() bool { return len(plane.ENIs()) == 0 && h.ctl.NetworkWatchers(testVPC) == 0 })
}

// TestVPCRecordsMoveToRunDir: the ENIs' records an agent kept under its state dir are moved to
// the RunDir of the next one, which adopts the task with its ENI and detaches it at the stop.
func TestVPCRecordsMoveToRunDir(t *testing.T) {
	h := newFakeHost(t)
	plane, as := h.runVPCTaskAndStop(t)
	old, moved := filepath.Join(h.dir, "enis", as.Task.ID+".json"), filepath.Join(h.dir, "run", "enis", as.Task.ID+".json")
	if _, err := os.Stat(old); err != nil {
		t.Fatalf("the first agent kept no record in its state dir: %v", err)
	}
	// Else the first agent's watch, not yet gone, could pass for the second's below, before
	// the second has moved anything.
	eventually(t, "no watch after the agent stopped", func() bool { return h.ctl.NetworkWatchers(testVPC) == 0 })

	h.runDir = filepath.Join(h.dir, "run")
	h.runVPC(t, plane, 0)
	eventually(t, "vpc followed again", func() bool { return h.ctl.NetworkWatchers(testVPC) == 1 })
	if _, err := os.Stat(moved); err != nil {
		t.Fatalf("the record was not moved to the run dir: %v", err)
	}
	if _, err := os.Stat(filepath.Dir(old)); err == nil {
		t.Fatalf("%s is left after its records moved", filepath.Dir(old))
	}
	h.ctl.StopTask(as.Task.ID, model.StopUserInitiated, "by test")
	waitStatus(t, h.ctl, as.Task.ID, model.TaskStopped)
	eventually(t, "eni detached and its record removed", func() bool {
		_, err := os.Stat(moved)
		return len(plane.ENIs()) == 0 && errors.Is(err, os.ErrNotExist)
	})
}

// TestVPCRouterLingers: the router outlives the VPC's last task for the linger, still following
// the VPC's rules, so the next task reuses it; after the linger it goes, and a router left
// lingering by a stopped agent is removed by the next one.
func TestVPCRouterLingers(t *testing.T) {
	h := newFakeHost(t)
	plane := network.NewFake()
	h.ctl.SetNetwork(webSnapshot())
	_, stop := h.runVPCLinger(t, plane, 0, 400*time.Millisecond)
	host := h.hostID(t)
	run := func(ip string) model.Assignment {
		as := assignmentOn(host)
		as.Network = taskNetwork(ip, "sg-web")
		h.ctl.Assign(as)
		waitStatus(t, h.ctl, as.Task.ID, model.TaskRunning)
		return as
	}
	first := run("10.1.1.10")
	h.ctl.StopTask(first.Task.ID, model.StopUserInitiated, "by test")
	waitStatus(t, h.ctl, first.Task.ID, model.TaskStopped)
	if _, ok := plane.VPC(testVPC); !ok || h.ctl.NetworkWatchers(testVPC) != 1 {
		t.Fatalf("right after its last task: router kept %v, %d watches; want the router and 1 watch", ok, h.ctl.NetworkWatchers(testVPC))
	}
	// Rules keep following while it lingers.
	snap := webSnapshot()
	snap.Groups[0].Rules = nil
	h.ctl.SetNetwork(snap)
	eventually(t, "a lingering router follows rule changes", func() bool {
		v, _ := plane.VPC(testVPC)
		return len(v.Groups) == 1 && len(v.Groups[0].Ingress) == 0
	})
	time.Sleep(200 * time.Millisecond)
	second := run("10.1.1.11") // within the linger: the timer is cancelled
	time.Sleep(500 * time.Millisecond)
	if _, ok := plane.VPC(testVPC); !ok {
		t.Fatal("the router went while a task of its vpc runs")
	}
	h.ctl.StopTask(second.Task.ID, model.StopUserInitiated, "by test")
	waitStatus(t, h.ctl, second.Task.ID, model.TaskStopped)
	eventually(t, "the router goes after the linger", func() bool {
		_, ok := plane.VPC(testVPC)
		return !ok && h.ctl.NetworkWatchers(testVPC) == 0
	})

	// An agent that stops cleanly removes the router that only lingered.
	third := run("10.1.1.12")
	h.ctl.StopTask(third.Task.ID, model.StopUserInitiated, "by test")
	waitStatus(t, h.ctl, third.Task.ID, model.TaskStopped)
	if _, ok := plane.VPC(testVPC); !ok {
		t.Fatal("the router did not linger")
	}
	stop()
	if _, ok := plane.VPC(testVPC); ok {
		t.Fatal("a lingering router outlived its agent's clean stop")
	}
	// One that was killed leaves it and its marker; the next agent removes both.
	if err := plane.EnsureVPC(t.Context(), network.VPC{ID: testVPC, CIDR: netip.MustParsePrefix("10.1.0.0/16")}); err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(h.dir, "enis", "idle", testVPC)
	if err := os.MkdirAll(filepath.Dir(marker), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(marker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	h.runVPCLinger(t, plane, 0, time.Hour)
	eventually(t, "the next agent removes the router left lingering", func() bool {
		_, ok := plane.VPC(testVPC)
		_, err := os.Stat(marker)
		return !ok && os.IsNotExist(err)
	})
}
