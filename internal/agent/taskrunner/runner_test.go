package taskrunner_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/agent"
	"github.com/gantry-dev/gantry/internal/agent/taskrunner"
	"github.com/gantry-dev/gantry/internal/image"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/runtime"
)

// unit is one task-definition second in these tests.
const unit = 10 * time.Millisecond

func ptr[T any](v T) *T { return &v }

// harness runs runners over a fake runtime, puller and control plane.
type harness struct {
	rt     *runtime.Fake
	puller *image.FakePuller
	ctl    *agent.FakeControl
	dir    string
	net    taskrunner.Network // nil: loopback

	mu     sync.Mutex
	starts []string
}

func newHarness(t *testing.T) *harness {
	h := &harness{rt: runtime.NewFake(), puller: &image.FakePuller{}, ctl: agent.NewFakeControl(), dir: t.TempDir()}
	h.rt.StartHook = func(taskID string, spec runtime.ContainerSpec) error {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.starts = append(h.starts, spec.Name)
		return nil
	}
	h.puller.Add("app:1", image.Image{Digest: "sha256:aaaa", Config: image.Config{
		Entrypoint: []string{"/app"}, Cmd: []string{"serve"}, Env: []string{"PATH=/bin"}}})
	h.puller.Add("int:1", image.Image{Digest: "sha256:bbbb", Config: image.Config{
		Entrypoint: []string{"/app"}, Cmd: []string{"serve"}, StopSignal: "SIGINT"}})
	return h
}

func (h *harness) startOrder() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.starts)
}

func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func assignment(defs ...model.ContainerDefinition) model.Assignment {
	t := model.Task{Scope: model.Scope{Account: model.DefaultAccount, Region: "us-east-1"}, ID: newID(), Cluster: "default",
		CPU: "256", Memory: "512", DesiredStatus: model.TaskRunning, LastStatus: model.TaskProvisioning, HostID: "h1"}
	for _, d := range defs {
		t.Containers = append(t.Containers, model.Container{Name: d.Name, ID: newID()})
	}
	return model.Assignment{Task: t, Definition: model.TaskDefinition{Family: "fam", Revision: 1, ContainerDefinitions: defs}}
}

func app(name string) model.ContainerDefinition {
	return model.ContainerDefinition{Name: name, Image: "app:1"}
}

// running is one runner's goroutine.
type running struct {
	r      *taskrunner.Runner
	a      model.Assignment
	cancel context.CancelFunc
	done   chan error
}

func (h *harness) start(t *testing.T, a model.Assignment, adopt bool) *running {
	t.Helper()
	h.ctl.Assign(a)
	r := taskrunner.New(taskrunner.Config{Assignment: a, Runtime: h.rt, Puller: h.puller, Reporter: h.ctl,
		Rootfs: taskrunner.FakeRootfs{}, StateDir: h.dir + "/" + a.Task.ID, Adopt: adopt, TimeUnit: unit, Network: h.net})
	ctx, cancel := context.WithCancel(context.Background())
	run := &running{r: r, a: a, cancel: cancel, done: make(chan error, 1)}
	go func() { run.done <- r.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-run.done })
	return run
}

// halt ends the runner as an agent shutdown would, leaving the task's containers running.
func (run *running) halt(t *testing.T) {
	t.Helper()
	run.cancel()
	if err := <-run.done; err != nil {
		t.Fatalf("run: %v", err)
	}
	run.done <- nil // for the cleanup
}

func (run *running) stop() {
	a := run.a
	a.Task.DesiredStatus = model.TaskStopped
	run.r.Update(a)
}

func (h *harness) wait(t *testing.T, id string, ok func(model.TaskReport) bool) model.TaskReport {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	r, err := h.ctl.WaitReport(ctx, id, ok)
	if err != nil {
		t.Fatalf("%v; reports: %s", err, summary(h.ctl.Reports(id)))
	}
	return r
}

// reportAfter waits for the task's report number n+1 and returns it.
func (h *harness) reportAfter(t *testing.T, id string, n int) model.TaskReport {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(unit) {
		if rs := h.ctl.Reports(id); len(rs) > n {
			return rs[n]
		}
	}
	t.Fatalf("no report after %d", n)
	return model.TaskReport{}
}

func (h *harness) waitStatus(t *testing.T, id string, s model.TaskStatus) model.TaskReport {
	t.Helper()
	return h.wait(t, id, func(r model.TaskReport) bool { return r.LastStatus == s })
}

func containerOf(r model.TaskReport, name string) model.ContainerReport {
	for _, c := range r.Containers {
		if c.Name == name {
			return c
		}
	}
	return model.ContainerReport{}
}

func summary(rs []model.TaskReport) string {
	var b strings.Builder
	for _, r := range rs {
		b.WriteString("\n  " + string(r.LastStatus) + " " + r.StopCode + " " + r.StoppedReason + " health=" + r.HealthStatus)
		for _, c := range r.Containers {
			b.WriteString(" [" + c.Name + " " + c.LastStatus + " " + c.HealthStatus + " " + c.Reason)
			if c.ExitCode != nil {
				b.WriteString(" exit=" + itoa(*c.ExitCode))
			}
			b.WriteString("]")
		}
	}
	return b.String()
}

func itoa(n int) string {
	if n < 0 {
		return "-" + itoa(-n)
	}
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + itoa(n%10)
}

// statuses lists the distinct statuses reported, in order.
func statuses(rs []model.TaskReport) []model.TaskStatus {
	var out []model.TaskStatus
	for _, r := range rs {
		if len(out) == 0 || out[len(out)-1] != r.LastStatus {
			out = append(out, r.LastStatus)
		}
	}
	return out
}

func exitCode(c model.ContainerReport) int {
	if c.ExitCode == nil {
		return -1000
	}
	return *c.ExitCode
}

func TestHappyPath(t *testing.T) {
	h := newHarness(t)
	a := assignment(app("app"))
	run := h.start(t, a, false)
	r := h.waitStatus(t, a.Task.ID, model.TaskRunning)
	c := containerOf(r, "app")
	if c.LastStatus != model.ContainerRunning || c.RuntimeID == "" || c.ImageDigest != "sha256:aaaa" || c.ExitCode != nil {
		t.Errorf("running container = %+v", c)
	}
	spec, err := h.rt.Spec(a.Task.ID, "app")
	if err != nil || !slices.Equal(spec.Args, []string{"/app", "serve"}) || !slices.Contains(spec.Env, "AWS_EXECUTION_ENV=AWS_ECS_FARGATE") {
		t.Errorf("spec = %+v, %v", spec, err)
	}
	run.stop()
	last := h.waitStatus(t, a.Task.ID, model.TaskStopped)
	want := []model.TaskStatus{model.TaskProvisioning, model.TaskPending, model.TaskRunning, model.TaskDeactivating,
		model.TaskStopping, model.TaskDeprovisioning, model.TaskStopped}
	if got := statuses(h.ctl.Reports(a.Task.ID)); !slices.Equal(got, want) {
		t.Errorf("statuses = %v, want %v", got, want)
	}
	times := []time.Time{last.PullStartedAt, last.PullStoppedAt, last.StartedAt, last.StoppingAt, last.ExecutionStoppedAt, last.StoppedAt}
	for i, tm := range times {
		if tm.IsZero() || i > 0 && tm.Before(times[i-1]) {
			t.Errorf("times out of order or missing at %d: %v", i, times)
		}
	}
	if c := containerOf(last, "app"); c.LastStatus != model.ContainerStopped || exitCode(c) != 143 {
		t.Errorf("stopped container = %+v", c)
	}
	if last.StopRequested || last.StopCode != "" {
		t.Errorf("a user stop was reported as the agent's: %+v", last)
	}
	if ids, _ := h.rt.ListTasks(t.Context()); len(ids) != 0 {
		t.Errorf("runtime tasks left: %v", ids)
	}
	if err := <-run.done; err != nil {
		t.Errorf("run: %v", err)
	}
	run.done <- nil
	if _, err := os.Stat(h.dir + "/" + a.Task.ID); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("task state dir left: %v", err)
	}
	if !run.r.Finished() {
		t.Error("runner not finished")
	}
}

func TestPullFailure(t *testing.T) {
	h := newHarness(t)
	h.puller.Fail("broken:1", errors.New("manifest unknown"))
	a := assignment(app("app"), model.ContainerDefinition{Name: "side", Image: "broken:1"})
	h.start(t, a, false)
	r := h.waitStatus(t, a.Task.ID, model.TaskStopped)
	if r.StopCode != model.StopTaskFailedToStart || !r.StopRequested || !strings.HasPrefix(r.StoppedReason, "CannotPullContainerError: ") {
		t.Errorf("report = %+v", r)
	}
	if c := containerOf(r, "side"); !strings.HasPrefix(c.Reason, "CannotPullContainerError: ") || !strings.Contains(c.Reason, "manifest unknown") {
		t.Errorf("container = %+v", c)
	}
	if r.PullStartedAt.IsZero() || !r.StartedAt.IsZero() {
		t.Errorf("times = %+v", r)
	}
	if got := statuses(h.ctl.Reports(a.Task.ID)); slices.Contains(got, model.TaskRunning) {
		t.Errorf("statuses = %v", got)
	}
}

func TestContainerExits(t *testing.T) {
	tests := []struct {
		name      string
		essential bool
		oom       bool
		code      int
		wantCode  int
		reason    string
	}{
		{"essential exit", true, false, 3, 3, ""},
		{"essential OOM", true, true, 0, 137, model.OOMReason},
		{"non-essential exit", false, false, 1, 1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			side := app("side")
			side.Essential = ptr(tt.essential)
			a := assignment(app("app"), side)
			run := h.start(t, a, false)
			h.waitStatus(t, a.Task.ID, model.TaskRunning)
			if tt.oom {
				_ = h.rt.OOMKill(a.Task.ID, "side")
			} else {
				_ = h.rt.Exit(a.Task.ID, "side", tt.code)
			}
			r := h.wait(t, a.Task.ID, func(r model.TaskReport) bool { return containerOf(r, "side").LastStatus == model.ContainerStopped })
			if c := containerOf(r, "side"); exitCode(c) != tt.wantCode || c.Reason != tt.reason {
				t.Errorf("container = %+v", c)
			}
			if !tt.essential {
				time.Sleep(5 * unit)
				if tk, _ := h.ctl.Task(a.Task.ID); tk.LastStatus != model.TaskRunning || tk.DesiredStatus != model.TaskRunning {
					t.Fatalf("non-essential exit changed the task: %s desired %s", tk.LastStatus, tk.DesiredStatus)
				}
				run.stop()
			}
			r = h.waitStatus(t, a.Task.ID, model.TaskStopped)
			if tt.essential && (r.StopCode != model.StopEssentialContainerExited || r.StoppedReason != "Essential container in task exited" || !r.StopRequested) {
				t.Errorf("stopped = %+v", r)
			}
			if c := containerOf(r, "app"); exitCode(c) != 143 {
				t.Errorf("app = %+v", c)
			}
		})
	}
}

func TestDependsOn(t *testing.T) {
	healthy := func(d model.ContainerDefinition) model.ContainerDefinition {
		d.HealthCheck = &model.HealthCheck{Command: []string{"CMD", "true"}, Interval: ptr(2)}
		return d
	}
	tests := []struct {
		name   string
		cond   string
		target model.ContainerDefinition
		exit   *int // exit the target with this code once it runs
		fail   bool
	}{
		{"START", "START", app("first"), nil, false},
		{"COMPLETE", "COMPLETE", app("first"), ptr(1), false},
		{"SUCCESS", "SUCCESS", app("first"), ptr(0), false},
		{"SUCCESS target fails", "SUCCESS", app("first"), ptr(2), true},
		{"HEALTHY", "HEALTHY", healthy(app("first")), nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			tt.target.Essential = ptr(false)
			second := app("second")
			second.DependsOn = []model.ContainerDependency{{ContainerName: "first", Condition: tt.cond}}
			a := assignment(second, tt.target)
			h.start(t, a, false)
			h.wait(t, a.Task.ID, func(r model.TaskReport) bool { return containerOf(r, "first").LastStatus == model.ContainerRunning })
			if tt.cond != "START" && tt.cond != "HEALTHY" && slices.Contains(h.startOrder(), "second") {
				t.Fatalf("second started before first met %s", tt.cond)
			}
			if tt.exit != nil {
				_ = h.rt.Exit(a.Task.ID, "first", *tt.exit)
			}
			if tt.fail {
				r := h.waitStatus(t, a.Task.ID, model.TaskStopped)
				if r.StopCode != model.StopTaskFailedToStart || !strings.Contains(r.StoppedReason, "first") {
					t.Errorf("stopped = %+v", r)
				}
				if slices.Contains(h.startOrder(), "second") {
					t.Error("second started")
				}
				return
			}
			h.waitStatus(t, a.Task.ID, model.TaskRunning)
			if got := h.startOrder(); !slices.Equal(got, []string{"first", "second"}) {
				t.Errorf("start order = %v", got)
			}
		})
	}
}

func TestStartTimeout(t *testing.T) {
	h := newHarness(t)
	first := app("first")
	first.StartTimeout = ptr(3)
	first.HealthCheck = &model.HealthCheck{Command: []string{"CMD", "false"}, Interval: ptr(1)}
	h.rt.ExecHook = func(string, string, runtime.ExecSpec) runtime.ExecResult { return runtime.ExecResult{ExitCode: 1} }
	second := app("second")
	second.DependsOn = []model.ContainerDependency{{ContainerName: "first", Condition: "HEALTHY"}}
	a := assignment(first, second)
	h.start(t, a, false)
	r := h.waitStatus(t, a.Task.ID, model.TaskStopped)
	if r.StopCode != model.StopTaskFailedToStart || !strings.Contains(r.StoppedReason, "startTimeout") {
		t.Errorf("stopped = %+v", r)
	}
}

func TestHealthTransitions(t *testing.T) {
	h := newHarness(t)
	var pass atomic.Bool
	h.rt.ExecHook = func(_, _ string, spec runtime.ExecSpec) runtime.ExecResult {
		if !slices.Equal(spec.Args, []string{"/bin/sh", "-c", "check"}) {
			return runtime.ExecResult{ExitCode: 2}
		}
		if pass.Load() {
			return runtime.ExecResult{}
		}
		return runtime.ExecResult{ExitCode: 1}
	}
	c := app("app")
	c.HealthCheck = &model.HealthCheck{Command: []string{"CMD-SHELL", "check"}, Interval: ptr(2), Retries: ptr(2), StartPeriod: ptr(20)}
	a := assignment(c)
	h.start(t, a, false)
	r := h.waitStatus(t, a.Task.ID, model.TaskRunning)
	started := time.Now()
	unhealthy := h.wait(t, a.Task.ID, func(r model.TaskReport) bool { return r.HealthStatus == model.HealthUnhealthy })
	if el := time.Since(started); el < 15*unit {
		t.Errorf("UNHEALTHY after %v, within the start period", el)
	}
	if containerOf(unhealthy, "app").HealthStatus != model.HealthUnhealthy || unhealthy.LastStatus != model.TaskRunning {
		t.Errorf("report = %+v", unhealthy)
	}
	pass.Store(true)
	r = h.wait(t, a.Task.ID, func(r model.TaskReport) bool { return r.HealthStatus == model.HealthHealthy })
	if containerOf(r, "app").HealthStatus != model.HealthHealthy {
		t.Errorf("report = %+v", r)
	}
	// An unhealthy essential container does not stop a standalone task.
	if tk, _ := h.ctl.Task(a.Task.ID); tk.DesiredStatus != model.TaskRunning {
		t.Errorf("desired = %s", tk.DesiredStatus)
	}
}

func TestStopSignalsAndTimeout(t *testing.T) {
	h := newHarness(t)
	stubborn := app("stubborn")
	stubborn.StopTimeout = ptr(2)
	a := assignment(stubborn, model.ContainerDefinition{Name: "int", Image: "int:1"})
	run := h.start(t, a, false)
	h.waitStatus(t, a.Task.ID, model.TaskRunning)
	_ = h.rt.IgnoreSIGTERM(a.Task.ID, "stubborn")
	run.stop()
	r := h.waitStatus(t, a.Task.ID, model.TaskStopped)
	if c := containerOf(r, "stubborn"); exitCode(c) != 137 {
		t.Errorf("stubborn = %+v", c)
	}
	if c := containerOf(r, "int"); exitCode(c) != 130 { // the image's STOPSIGNAL SIGINT
		t.Errorf("int = %+v", c)
	}
}

// TestEvict: the agent's eviction stops a running task as a stop does (its containers get their
// stop signal) and the task reports why: the stop code and reason the agent gave.
func TestEvict(t *testing.T) {
	h := newHarness(t)
	a := assignment(app("web"))
	run := h.start(t, a, false)
	h.waitStatus(t, a.Task.ID, model.TaskRunning)
	if !run.r.Evict(model.StopTerminationNotice, "host disk") {
		t.Fatal("Evict refused")
	}
	r := h.waitStatus(t, a.Task.ID, model.TaskStopped)
	if !r.StopRequested || r.StopCode != model.StopTerminationNotice || r.StoppedReason != "host disk" {
		t.Errorf("stopped with %v %q %q, want the eviction's code and reason", r.StopRequested, r.StopCode, r.StoppedReason)
	}
	if c := containerOf(r, "web"); exitCode(c) != 143 { // SIGTERM
		t.Errorf("web = %+v, want stopped by SIGTERM", c)
	}
}

func TestVolumesReachContainers(t *testing.T) {
	h := newHarness(t)
	w := app("writer")
	w.MountPoints = []model.MountPoint{{SourceVolume: "data", ContainerPath: "/data"}}
	rd := app("reader")
	rd.VolumesFrom = []model.VolumeFrom{{SourceContainer: "writer", ReadOnly: ptr(true)}}
	a := assignment(w, rd)
	a.Definition.Volumes = []model.Volume{{Name: "data"}}
	h.start(t, a, false)
	h.waitStatus(t, a.Task.ID, model.TaskRunning)
	ws, _ := h.rt.Spec(a.Task.ID, "writer")
	rs, _ := h.rt.Spec(a.Task.ID, "reader")
	if len(ws.Mounts) != 1 || len(rs.Mounts) != 1 || ws.Mounts[0].Source != rs.Mounts[0].Source || ws.Mounts[0].ReadOnly || !rs.Mounts[0].ReadOnly {
		t.Fatalf("mounts: writer %+v reader %+v", ws.Mounts, rs.Mounts)
	}
	if fi, err := os.Stat(ws.Mounts[0].Source); err != nil || !fi.IsDir() {
		t.Errorf("volume dir: %v", err)
	}
}

func TestAdoptAfterRestart(t *testing.T) {
	tests := []struct {
		name     string
		exitDown bool
	}{{"still running", false}, {"exited while down", true}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			a := assignment(app("app"))
			first := h.start(t, a, false)
			h.waitStatus(t, a.Task.ID, model.TaskRunning)
			first.halt(t)
			before, _ := h.rt.TaskState(t.Context(), a.Task.ID)
			if tt.exitDown {
				_ = h.rt.Exit(a.Task.ID, "app", 5)
			}
			n := len(h.ctl.Reports(a.Task.ID))
			a.Task.LastStatus = model.TaskRunning
			second := h.start(t, a, true)
			if !tt.exitDown {
				r := h.reportAfter(t, a.Task.ID, n)
				after, _ := h.rt.TaskState(t.Context(), a.Task.ID)
				if r.LastStatus != model.TaskRunning || after.Containers[0].Pid != before.Containers[0].Pid || r.StartedAt.IsZero() {
					t.Errorf("adopted: %+v, pid %d -> %d", r, before.Containers[0].Pid, after.Containers[0].Pid)
				}
				if got := h.startOrder(); len(got) != 1 {
					t.Errorf("containers started: %v", got)
				}
				second.stop()
			}
			r := h.waitStatus(t, a.Task.ID, model.TaskStopped)
			c := containerOf(r, "app")
			if tt.exitDown && (exitCode(c) != 5 || r.StopCode != model.StopEssentialContainerExited) {
				t.Errorf("stopped: %+v %+v", r, c)
			}
			if !tt.exitDown && exitCode(c) != 143 {
				t.Errorf("stopped: %+v", c)
			}
		})
	}
}

func TestAdoptLost(t *testing.T) {
	h := newHarness(t)
	a := assignment(app("app"))
	a.Task.LastStatus = model.TaskRunning
	h.start(t, a, true)
	r := h.waitStatus(t, a.Task.ID, model.TaskStopped)
	if !r.StopRequested || containerOf(r, "app").LastStatus != model.ContainerStopped {
		t.Errorf("lost task = %+v", r)
	}
}

func TestStopWhilePending(t *testing.T) {
	h := newHarness(t)
	first := app("first")
	first.Essential = ptr(false)
	second := app("second")
	second.DependsOn = []model.ContainerDependency{{ContainerName: "first", Condition: "COMPLETE"}}
	a := assignment(first, second)
	run := h.start(t, a, false)
	h.wait(t, a.Task.ID, func(r model.TaskReport) bool { return containerOf(r, "first").LastStatus == model.ContainerRunning })
	run.stop()
	r := h.waitStatus(t, a.Task.ID, model.TaskStopped)
	if r.StopCode != "" || containerOf(r, "second").LastStatus != model.ContainerStopped || exitCode(containerOf(r, "first")) != 143 {
		t.Errorf("stopped = %s", summary([]model.TaskReport{r}))
	}
}

// gatedNetwork's Setup returns only once the runtime has the task's sandbox, made with the
// namespace path NetNSPath promised: a runner that made it after the network would never get
// past it. The image must not be pulled yet: on Fargate the pull goes through the ENI. With
// fail set, Setup then fails.
type gatedNetwork struct {
	rt     *runtime.Fake
	puller *image.FakePuller
	fail   error
}

const gatedNetns = "/test/netns/eni-1"

func (g gatedNetwork) NetNSPath(*model.TaskNetwork) string { return gatedNetns }

func (g gatedNetwork) Setup(ctx context.Context, task model.Task, _ *model.TaskNetwork) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	for {
		if pulls := g.puller.Pulls(); len(pulls) > 0 {
			return "", fmt.Errorf("pulled %v before the network was up", pulls)
		}
		if st, err := g.rt.TaskState(ctx, task.ID); err == nil {
			if st.NetNSPath != gatedNetns {
				return "", fmt.Errorf("sandbox made with namespace %q, want %q", st.NetNSPath, gatedNetns)
			}
			if g.fail != nil {
				return "", g.fail
			}
			return gatedNetns, nil
		}
		select {
		case <-ctx.Done():
			return "", errors.New("no sandbox while the network was set up")
		case <-time.After(time.Millisecond):
		}
	}
}

func (gatedNetwork) Release(context.Context, string) error { return nil }

func TestSandboxMadeWhileNetworkSetsUp(t *testing.T) {
	h := newHarness(t)
	h.net = gatedNetwork{rt: h.rt, puller: h.puller}
	a := assignment(app("app"))
	h.start(t, a, false)
	r := h.waitStatus(t, a.Task.ID, model.TaskRunning)
	if containerOf(r, "app").LastStatus != model.ContainerRunning {
		t.Fatalf("report = %+v", r)
	}

	// A network that fails after the sandbox was made: the task fails and the sandbox goes.
	h2 := newHarness(t)
	h2.net = gatedNetwork{rt: h2.rt, puller: h2.puller, fail: errors.New("no addresses left")}
	b := assignment(app("app"))
	h2.start(t, b, false)
	r = h2.waitStatus(t, b.Task.ID, model.TaskStopped)
	if r.StopCode != model.StopTaskFailedToStart || !strings.Contains(r.StoppedReason, "no addresses left") {
		t.Errorf("report = %+v", r)
	}
	if ids, _ := h2.rt.ListTasks(t.Context()); len(ids) != 0 {
		t.Errorf("runtime tasks left after a failed network setup: %v", ids)
	}
}
