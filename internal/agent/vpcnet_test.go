package agent_test

import (
	"context"
	"net/netip"
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
func (h *fakeHost) runVPC(t *testing.T, plane network.DataPlane, firstRules time.Duration) (*agent.Agent, func()) {
	t.Helper()
	a := agent.New(agent.Config{Control: h.ctl, Runtime: h.rt, RuntimeName: "fake", Puller: h.puller,
		Rootfs: taskrunner.FakeRootfs{}, StateDir: h.dir, CPU: 4096, MemoryMiB: 8192, Plane: plane,
		FirstRulesTimeout: firstRules, LocalRegistryHost: "127.0.0.1:4566", HeartbeatInterval: 20 * time.Millisecond,
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

// TestVPCTaskSurvivesAgentRestart: a new agent follows the VPC of the task it adopts, keeps its
// ENI, and detaches it when the task stops.
func TestVPCTaskSurvivesAgentRestart(t *testing.T) {
	h := newFakeHost(t)
	plane := network.NewFake()
	h.ctl.SetNetwork(webSnapshot())
	_, stop := h.runVPC(t, plane, 0)
	as := assignmentOn(h.hostID(t))
	as.Network = taskNetwork("10.1.1.10", "sg-web")
	h.ctl.Assign(as)
	waitStatus(t, h.ctl, as.Task.ID, model.TaskRunning)
	stop()
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
