package agent_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/agent"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/network"
	"github.com/gantry-dev/gantry/internal/runtime"
)

// setupTimes collects the agent's per-task network setup durations from its debug log.
type setupTimes struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *setupTimes) Enabled(context.Context, slog.Level) bool { return true }
func (s *setupTimes) WithAttrs([]slog.Attr) slog.Handler       { return s }
func (s *setupTimes) WithGroup(string) slog.Handler            { return s }
func (s *setupTimes) Handle(_ context.Context, r slog.Record) error {
	if r.Message != "eni attached" {
		return nil
	}
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "duration" {
			s.mu.Lock()
			s.d = append(s.d, a.Value.Duration())
			s.mu.Unlock()
		}
		return true
	})
	return nil
}

// runVPC starts an agent over real runc and a real VPC data plane in dir; the function it
// returns stops the agent and closes the plane, leaving tasks and their networking as they are.
func (h *realHost) runVPC(t *testing.T, netDir string, times *setupTimes) func() {
	t.Helper()
	rt, err := runtime.NewRunc(h.rtCfg)
	if err != nil {
		t.Fatal(err)
	}
	prefix, err := agent.UplinkPrefix(netDir, agent.DefaultUplinkPool, agent.DefaultUplinkClaims)
	if err != nil {
		t.Fatal(err)
	}
	plane, err := network.New(network.Config{StateDir: netDir, HostUplinkPrefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	a := agent.New(agent.Config{Control: h.ctl, Runtime: rt, RuntimeName: "runc", Puller: h.store, StateDir: h.dir,
		HostID: "host-test", HeartbeatInterval: time.Second, Plane: plane, VPCRouterLinger: -1, Logger: slog.New(times)})
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
			rt.Close()
			plane.Close()
		}
	}
	t.Cleanup(stop)
	return stop
}

func (h *realHost) assignVPC(tn *model.TaskNetwork, def model.ContainerDefinition) model.Assignment {
	def.Image = h.imageRef
	as := assignmentOn("host-test")
	as.Definition.ContainerDefinitions = []model.ContainerDefinition{def}
	as.Network = tn
	h.ctl.Assign(as)
	return as
}

// exitOf runs a one-container task to its end and returns its exit code.
func (h *realHost) exitOf(t *testing.T, tn *model.TaskNetwork, script string) int {
	t.Helper()
	as := h.assignVPC(tn, model.ContainerDefinition{Name: "client", EntryPoint: []string{"/bin/sh", "-c"}, Command: []string{script}})
	r := h.waitStatus(t, as.Task.ID, model.TaskStopped)
	if r.StopCode == model.StopTaskFailedToStart {
		t.Fatalf("client task failed to start: %s", r.StoppedReason)
	}
	return code(container(r, "client"))
}

func realSnapshot(clientRule bool) model.NetworkSnapshot {
	web := model.SecurityGroup{ID: "sg-web", Rules: []model.SecurityGroupRule{
		{Protocol: model.ProtocolTCP, FromPort: 8080, ToPort: 8080, GroupID: "sg-client"},
		{Protocol: model.ProtocolAll, FromPort: -1, ToPort: -1, CidrIPv4: "0.0.0.0/0", Egress: true},
	}}
	if !clientRule {
		web.Rules = web.Rules[1:]
	}
	egress := []model.SecurityGroupRule{{Protocol: model.ProtocolAll, FromPort: -1, ToPort: -1, CidrIPv4: "0.0.0.0/0", Egress: true}}
	return model.NetworkSnapshot{VpcID: testVPC, VpcCidr: "10.1.0.0/16",
		Subnets: []model.SubnetRoute{{ID: testSubnet, Cidr: "10.1.1.0/24"}},
		Groups:  []model.SecurityGroup{web, {ID: "sg-client", Rules: egress}, {ID: "sg-other", Rules: egress}},
		Members: map[string][]string{"sg-web": {"10.1.1.10"}, "sg-client": {"10.1.1.20", "10.1.1.21"},
			"sg-other": {"10.1.1.30"}},
	}
}

// TestRealVPCSecurityGroups runs real tasks in a real VPC router: a client in the group the
// server's rule names reaches it, a task in another group does not, and after the rule is
// revoked a new client no longer does. Everything is gone after the last task stopped.
func TestRealVPCSecurityGroups(t *testing.T) {
	h := newRealHost(t)
	netDir := filepath.Join(t.TempDir(), "net")
	times := &setupTimes{}
	h.ctl.SetNetwork(realSnapshot(true))
	h.runVPC(t, netDir, times)

	web := h.assignVPC(taskNetwork("10.1.1.10", "sg-web"), model.ContainerDefinition{Name: "web", Command: []string{"serve", ":8080"}})
	h.waitStatus(t, web.Task.ID, model.TaskRunning)
	fetch := fetchScript("http://10.1.1.10:8080/health", 5)
	if c := h.exitOf(t, taskNetwork("10.1.1.20", "sg-client"), fetch); c != 0 {
		router := filepath.Join(netDir, "netns", "vpc", testVPC)
		for _, cmd := range []string{"nft list ruleset", "ip addr", "ip route", "ip neigh"} {
			out, _ := exec.Command("nsenter", append([]string{"--net=" + router}, strings.Fields(cmd)...)...).CombinedOutput()
			t.Logf("router: %s:\n%s", cmd, out)
		}
		web := filepath.Join(netDir, "netns", "eni", "eni-101110")
		for _, cmd := range []string{"ip addr", "ip route", "ss -ltn"} {
			out, _ := exec.Command("nsenter", append([]string{"--net=" + web}, strings.Fields(cmd)...)...).CombinedOutput()
			t.Logf("web: %s:\n%s", cmd, out)
		}
		t.Fatalf("client in the allowed group: exit %d, want 0", c)
	}
	once := fetchScript("http://10.1.1.10:8080/health", 1)
	if c := h.exitOf(t, taskNetwork("10.1.1.30", "sg-other"), once); c != 1 {
		t.Fatalf("task in a group no rule allows: exit %d, want 1", c)
	}
	h.ctl.SetNetwork(realSnapshot(false))
	time.Sleep(200 * time.Millisecond) // rule changes apply within a second; this is well inside
	if c := h.exitOf(t, taskNetwork("10.1.1.21", "sg-client"), once); c != 1 {
		t.Fatalf("client after the rule was revoked: exit %d, want 1", c)
	}

	h.ctl.StopTask(web.Task.ID, model.StopUserInitiated, "done")
	h.waitStatus(t, web.Task.ID, model.TaskStopped)
	eventually(t, "vpc no longer followed", func() bool { return h.ctl.NetworkWatchers(testVPC) == 0 })
	if ents, _ := filepath.Glob(filepath.Join(netDir, "netns", "*", "*")); len(ents) != 0 {
		t.Errorf("namespaces left: %v", ents)
	}
	if ents, _ := filepath.Glob(filepath.Join(h.dir, "enis", "*")); len(ents) != 0 {
		t.Errorf("interface records left: %v", ents)
	}
	if out, _ := exec.Command("ip", "-o", "link", "show").Output(); strings.Contains(string(out), hostLinkOf(netDir)) {
		t.Errorf("the vpc's host link is left:\n%s", out)
	}
	times.mu.Lock()
	defer times.mu.Unlock()
	slices.Sort(times.d)
	t.Logf("network setup per task (%d tasks): min %v median %v max %v", len(times.d), times.d[0], times.d[len(times.d)/2], times.d[len(times.d)-1])
}

// fetchScript is a busybox shell script that fetches url, trying up to attempts times, and
// exits 0 on the first success, else 1. Each try gives up after 2 s: Debian's static busybox
// wget has no -T (and crashes on it), and a connection a security group drops would otherwise
// wait for TCP's own timeout of minutes.
func fetchScript(url string, attempts int) string {
	return `try() { wget -q -O- "$1" & p=$!; i=0; while kill -0 $p 2>/dev/null; do i=$((i+1)); ` +
		`if [ $i -gt 20 ]; then kill $p; return 1; fi; sleep 0.1; done; wait $p; }; ` +
		fmt.Sprintf(`n=0; while [ $n -lt %d ]; do try %q && exit 0; n=$((n+1)); sleep 0.3; done; exit 1`, attempts, url)
}

// hostLinkOf is the name the plane in netDir gives the test VPC's host link: a hash of its
// state dir and the VPC, as network.Plane names it.
func hostLinkOf(netDir string) string {
	sum := sha256.Sum256([]byte(netDir + "\x00" + testVPC))
	return "gv" + hex.EncodeToString(sum[:])[:10]
}
