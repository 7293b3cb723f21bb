package agent_test

import (
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/agent"
	"github.com/gantry-dev/gantry/internal/agent/taskrunner"
	"github.com/gantry-dev/gantry/internal/image"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/registry"
	"github.com/gantry-dev/gantry/internal/runtime"
	"github.com/gantry-dev/gantry/internal/testimage"
)

// realHost is an agent over real runc, a real image store and a real registry.
type realHost struct {
	ctl      *agent.FakeControl
	rtCfg    runtime.Config
	rt       *runtime.Runc
	store    *image.Store
	imageRef string
	dir      string
}

func newRealHost(t *testing.T) *realHost {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("this test needs root: it runs real containers")
	}
	if _, err := exec.LookPath("runc"); err != nil {
		t.Fatal("runc not found in PATH: install Debian's runc package")
	}
	t.Parallel()
	reg := httptest.NewServer(registry.New(t.TempDir(), registry.Options{}))
	t.Cleanup(reg.Close)
	host := reg.Listener.Addr().String()
	img, err := testimage.Build(t.Context(), testimage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := testimage.Push(t.Context(), img, host, "app", "v1"); err != nil {
		t.Fatal(err)
	}
	h := &realHost{ctl: agent.NewFakeControl(), store: image.New(t.TempDir(), image.Options{}), imageRef: host + "/app:v1", dir: t.TempDir()}
	stateRoot, err := os.MkdirTemp("", "ga") // unix socket paths are limited to 108 bytes
	if err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	h.rtCfg = runtime.Config{StateRoot: stateRoot, CgroupParent: "gantry-agent-test-" + newID()[:8], ShimPath: exe,
		ShimEnv: []string{shimEnv + "=1"}, MountsDir: h.dir} // as the server does: the data dir
	if h.rt, err = runtime.NewRunc(h.rtCfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.cleanup(t, stateRoot) })
	return h
}

// cleanup deletes every task, unmounts every filesystem under the agent's dir and removes the
// cgroup parent.
func (h *realHost) cleanup(t *testing.T, stateRoot string) {
	ctx := context.Background()
	ids, _ := h.rt.ListTasks(ctx)
	for _, id := range ids {
		if err := h.rt.DeleteTask(ctx, id); err != nil {
			t.Errorf("cleanup task %s: %v", id, err)
		}
	}
	h.rt.Close()
	// Root filesystems, then the tasks' own filesystems under them, then the ready ones.
	mounts := mountsUnder(t, h.dir)
	slices.Sort(mounts)
	slices.Reverse(mounts)
	for _, m := range mounts {
		if err := image.Unmount(m); err != nil {
			t.Errorf("cleanup mount: %v", err)
		}
	}
	dirs, _ := filepath.Glob("/sys/fs/cgroup/*/" + h.rtCfg.CgroupParent)
	dirs = append(dirs, "/sys/fs/cgroup/"+h.rtCfg.CgroupParent)
	for _, d := range dirs {
		if err := os.Remove(d); err != nil && !os.IsNotExist(err) {
			t.Errorf("remove cgroup parent: %v", err)
		}
	}
	os.RemoveAll(stateRoot)
}

// run starts an agent; the returned function stops it, leaving its tasks running.
func (h *realHost) run(t *testing.T) func() {
	t.Helper()
	rt, err := runtime.NewRunc(h.rtCfg) // a new instance, as after a restart
	if err != nil {
		t.Fatal(err)
	}
	a := agent.New(agent.Config{Control: h.ctl, Runtime: rt, RuntimeName: "runc", Puller: h.store, StateDir: h.dir,
		RunDir: filepath.Join(h.dir, "run"), Rootfs: taskrunner.Overlay{InContainer: rt.MountsRootOverlay()}, HostID: "host-test", HeartbeatInterval: time.Second, EphemeralStorage: true})
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
		}
	}
	t.Cleanup(stop)
	return stop
}

func (h *realHost) assign(defs ...model.ContainerDefinition) model.Assignment {
	return h.assignWith(nil, defs...)
}

// assignWith lets edit change the assignment before the agent can see it.
func (h *realHost) assignWith(edit func(*model.Assignment), defs ...model.ContainerDefinition) model.Assignment {
	for i := range defs {
		defs[i].Image = h.imageRef
	}
	as := assignmentOn("host-test")
	as.Definition.ContainerDefinitions = defs
	as.Task.Containers = nil
	if edit != nil {
		edit(&as)
	}
	h.ctl.Assign(as)
	return as
}

func (h *realHost) wait(t *testing.T, id string, d time.Duration, ok func(model.TaskReport) bool) model.TaskReport {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), d)
	defer cancel()
	r, err := h.ctl.WaitReport(ctx, id, ok)
	if err != nil {
		rs := h.ctl.Reports(id)
		if len(rs) > 0 {
			t.Fatalf("%v; last report: %+v", err, rs[len(rs)-1])
		}
		t.Fatal(err)
	}
	return r
}

func (h *realHost) waitStatus(t *testing.T, id string, s model.TaskStatus) model.TaskReport {
	t.Helper()
	return h.wait(t, id, 30*time.Second, func(r model.TaskReport) bool { return r.LastStatus == s })
}

func container(r model.TaskReport, name string) model.ContainerReport {
	for _, c := range r.Containers {
		if c.Name == name {
			return c
		}
	}
	return model.ContainerReport{}
}

func code(c model.ContainerReport) int {
	if c.ExitCode == nil {
		return -1000
	}
	return *c.ExitCode
}

func ptr[T any](v T) *T { return &v }

// TestRealServeHealthy runs a task that serves HTTP, checked from inside the task by a
// CMD-SHELL health check that fetches it.
func TestRealServeHealthy(t *testing.T) {
	h := newRealHost(t)
	h.run(t)
	as := h.assign(model.ContainerDefinition{Name: "web", HealthCheck: &model.HealthCheck{
		Command: []string{"CMD-SHELL", "wget -q -O- http://127.0.0.1:8080/health | grep -q ok"}, Interval: ptr(1), Timeout: ptr(2)}})
	r := h.waitStatus(t, as.Task.ID, model.TaskRunning)
	if c := container(r, "web"); c.RuntimeID == "" || !strings.HasPrefix(c.ImageDigest, "sha256:") {
		t.Errorf("container = %+v", c)
	}
	r = h.wait(t, as.Task.ID, 20*time.Second, func(r model.TaskReport) bool { return r.HealthStatus == model.HealthHealthy })
	if container(r, "web").HealthStatus != model.HealthHealthy {
		t.Errorf("report = %+v", r)
	}
	h.ctl.StopTask(as.Task.ID, model.StopUserInitiated, "done")
	r = h.waitStatus(t, as.Task.ID, model.TaskStopped)
	// SIGTERM ends it without waiting for SIGKILL: as pid 1 a Go program that does not handle
	// SIGTERM exits 2 (the kernel ignores the default action for a namespace's init).
	if c := container(r, "web"); c.ExitCode == nil || code(c) == 137 {
		t.Errorf("stopped container exit %d: %+v", code(c), c)
	}
}

func TestRealEssentialExit(t *testing.T) {
	h := newRealHost(t)
	h.run(t)
	as := h.assign(model.ContainerDefinition{Name: "app", Command: []string{"exit", "3"}})
	r := h.waitStatus(t, as.Task.ID, model.TaskStopped)
	if code(container(r, "app")) != 3 || r.StopCode != model.StopEssentialContainerExited || !r.StopRequested {
		t.Errorf("report = %+v", r)
	}
}

// TestRealDependsOnAndVolume: init writes to a task volume and exits 0; app (SUCCESS) serves,
// and reader (SUCCESS, read-only volumesFrom) prints what init wrote.
func TestRealDependsOnAndVolume(t *testing.T) {
	h := newRealHost(t)
	h.run(t)
	init := model.ContainerDefinition{Name: "init", Essential: ptr(false), Command: []string{"write", "/data/ready", "hello"},
		MountPoints: []model.MountPoint{{SourceVolume: "shared", ContainerPath: "/data"}}}
	after := []model.ContainerDependency{{ContainerName: "init", Condition: "SUCCESS"}}
	app := model.ContainerDefinition{Name: "app", DependsOn: after}
	reader := model.ContainerDefinition{Name: "reader", Essential: ptr(false), DependsOn: after, Command: []string{"cat", "/data/ready"},
		VolumesFrom: []model.VolumeFrom{{SourceContainer: "init", ReadOnly: ptr(true)}}}
	as := h.assignWith(func(as *model.Assignment) { as.Definition.Volumes = []model.Volume{{Name: "shared"}} }, app, init, reader)
	h.waitStatus(t, as.Task.ID, model.TaskRunning)
	r := h.wait(t, as.Task.ID, 20*time.Second, func(r model.TaskReport) bool {
		return container(r, "reader").LastStatus == model.ContainerStopped
	})
	if code(container(r, "init")) != 0 || code(container(r, "reader")) != 0 || container(r, "app").LastStatus != model.ContainerRunning {
		t.Fatalf("report = %+v", r)
	}
	st, err := h.rt.TaskState(t.Context(), as.Task.ID)
	if err != nil {
		t.Fatal(err)
	}
	initSt, _ := st.Container("init")
	appSt, _ := st.Container("app")
	if appSt.StartedAt.Before(initSt.FinishedAt) {
		t.Errorf("app started %v, before init finished %v", appSt.StartedAt, initSt.FinishedAt)
	}
	logs, _, err := h.rt.ReadLogs(t.Context(), as.Task.ID, "reader", 0, 0)
	if err != nil || len(logs) == 0 || logs[0].Line != "hello" {
		t.Errorf("reader output = %+v, %v", logs, err)
	}
}

func TestRealStopTimeout(t *testing.T) {
	h := newRealHost(t)
	h.run(t)
	// A shell that ignores SIGTERM (the test image's own "ignore-term" blocks in an empty select,
	// which Go's deadlock detector ends with exit 2).
	as := h.assign(model.ContainerDefinition{Name: "stubborn", StopTimeout: ptr(2),
		EntryPoint: []string{"/bin/sh", "-c", "trap '' TERM; echo ready; while true; do sleep 1; done"}})
	h.waitStatus(t, as.Task.ID, model.TaskRunning)
	time.Sleep(300 * time.Millisecond) // let it install its SIGTERM handler
	begin := time.Now()
	h.ctl.StopTask(as.Task.ID, model.StopUserInitiated, "done")
	r := h.waitStatus(t, as.Task.ID, model.TaskStopped)
	if took := time.Since(begin); code(container(r, "stubborn")) != 137 || took < 2*time.Second {
		t.Errorf("exit %d after %v, want 137 after the 2 s stopTimeout", code(container(r, "stubborn")), took)
	}
}

func TestRealOOM(t *testing.T) {
	h := newRealHost(t)
	h.run(t)
	as := h.assign(model.ContainerDefinition{Name: "hog", Command: []string{"alloc", "4"}, Memory: ptr(16)})
	r := h.waitStatus(t, as.Task.ID, model.TaskStopped)
	if c := container(r, "hog"); code(c) != 137 || c.Reason != model.OOMReason {
		t.Errorf("container = %+v", c)
	}
}

// TestRealReadopt stops the agent without stopping its task; a new agent over the same state
// adopts the task: still RUNNING, same process, not restarted.
func TestRealReadopt(t *testing.T) {
	h := newRealHost(t)
	stop := h.run(t)
	as := h.assign(model.ContainerDefinition{Name: "web"})
	h.waitStatus(t, as.Task.ID, model.TaskRunning)
	before, err := h.rt.TaskState(t.Context(), as.Task.ID)
	if err != nil {
		t.Fatal(err)
	}
	stop()
	n := len(h.ctl.Reports(as.Task.ID))
	h.run(t)
	r := h.wait(t, as.Task.ID, 10*time.Second, func(model.TaskReport) bool { return len(h.ctl.Reports(as.Task.ID)) > n })
	r = h.ctl.Reports(as.Task.ID)[n]
	after, err := h.rt.TaskState(t.Context(), as.Task.ID)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := before.Container("web")
	a, _ := after.Container("web")
	if r.LastStatus != model.TaskRunning || a.Status != runtime.StatusRunning || a.Pid != b.Pid || !a.StartedAt.Equal(b.StartedAt) {
		t.Fatalf("after re-adoption: report %s, container %+v (was %+v)", r.LastStatus, a, b)
	}
	// The task's own filesystem stayed mounted across the restart; the next agent emptied its
	// pool of the ready ones the last one left, and made its own. With its own filesystem the
	// task's directory is under the agent's RunDir.
	storage := filepath.Join(h.dir, "run", "tasks", as.Task.ID, "scratch")
	if m := mountsUnder(t, h.dir); !slices.Contains(m, storage) || len(m) > 4 {
		t.Fatalf("mounts after re-adoption: %v, want the task's storage %s and at most 2 ready", m, storage)
	}
	h.ctl.StopTask(as.Task.ID, model.StopUserInitiated, "done")
	r = h.waitStatus(t, as.Task.ID, model.TaskStopped)
	if c := container(r, "web"); c.LastStatus != model.ContainerStopped {
		t.Errorf("container = %+v", c)
	}
	for _, m := range mountsUnder(t, filepath.Join(h.dir, "run", "tasks")) {
		t.Errorf("mount left after the task stopped: %s", m)
	}
}

// mountsUnder lists the mount points below dir.
func mountsUnder(t *testing.T, dir string) []string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 4 && strings.HasPrefix(f[4], dir+"/") {
			out = append(out, f[4])
		}
	}
	return out
}
