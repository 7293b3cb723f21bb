package runtime_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/runtime"
)

func TestExitCode(t *testing.T) {
	e := newEnv(t)
	task := e.newTask(t, runtime.TaskSpec{CPUUnits: 256, MemoryMiB: 128})
	e.start(t, task, e.container("app", "/testprog", "exit", "3"))
	st := e.wait(t, task, "app")
	if st.Status != runtime.StatusExited || st.ExitCode != 3 || st.OOMKilled {
		t.Fatalf("status = %+v, want exited 3", st)
	}
	if st.StartedAt.IsZero() || st.FinishedAt.Before(st.StartedAt) {
		t.Errorf("times: started %v finished %v", st.StartedAt, st.FinishedAt)
	}
	if got := e.output(t, task, "app", runtime.StreamStdout); got != "exiting 3" {
		t.Errorf("stdout = %q", got)
	}
	if got := e.output(t, task, "app", runtime.StreamStderr); got != "to stderr" {
		t.Errorf("stderr = %q", got)
	}
	// The shim's socket is root's alone, in a directory no container mounts.
	for path, want := range map[string]os.FileMode{
		filepath.Join(e.stateRoot, "tasks", task):              os.ModeDir | 0o700,
		filepath.Join(e.stateRoot, "tasks", task, "shim.sock"): os.ModeSocket | 0o600,
	} {
		fi, err := os.Stat(path)
		if err != nil || fi.Mode() != want || fi.Sys().(*syscall.Stat_t).Uid != 0 {
			t.Errorf("%s: mode %v, %v; want %v owned by root", path, fi.Mode(), err, want)
		}
	}
}

func TestEnvCwdUser(t *testing.T) {
	e := newEnv(t)
	task := e.newTask(t, runtime.TaskSpec{})
	c := e.container("env", "/testprog", "env")
	c.Env = []string{"GREETING=hello world"}
	c.User = "app"
	e.start(t, task, c)
	c = e.container("id", "/testprog", "id")
	c.User, c.Cwd = "app", "/home/app"
	e.start(t, task, c)
	c = e.container("numeric", "/testprog", "id")
	c.User = "1234:5678"
	e.start(t, task, c)
	for _, n := range []string{"env", "id", "numeric"} {
		if st := e.wait(t, task, n); st.ExitCode != 0 {
			t.Fatalf("%s: %+v", n, st)
		}
	}
	env := e.output(t, task, "env", runtime.StreamStdout)
	for _, want := range []string{"GREETING=hello world", "HOME=/home/app", "PATH=/usr/local/sbin:"} {
		if !strings.Contains(env, want) {
			t.Errorf("env lacks %q:\n%s", want, env)
		}
	}
	if got, want := e.output(t, task, "id", runtime.StreamStdout), "uid=1000 gid=1000 cwd=/home/app groups=[2000]"; got != want {
		t.Errorf("id = %q, want %q", got, want)
	}
	if got, want := e.output(t, task, "numeric", runtime.StreamStdout), "uid=1234 gid=5678 cwd=/ groups=[]"; got != want {
		t.Errorf("numeric id = %q, want %q", got, want)
	}
}

func TestStopWithSIGTERM(t *testing.T) {
	e := newEnv(t)
	task := e.newTask(t, runtime.TaskSpec{})
	e.start(t, task, e.container("app", "/testprog", "graceful"))
	waitForLog(t, e, task, "app", "ready")
	begin := time.Now()
	st, err := e.rt.StopContainer(t.Context(), task, "app", 0, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if st.ExitCode != 0 || st.OOMKilled || time.Since(begin) > 5*time.Second {
		t.Fatalf("status = %+v after %v, want 0 quickly", st, time.Since(begin))
	}
	if out := e.output(t, task, "app", runtime.StreamStdout); out != "ready\nbye" {
		t.Fatalf("stdout = %q, want the handler's goodbye", out)
	}
}

func TestStopEscalatesToSIGKILL(t *testing.T) {
	e := newEnv(t)
	task := e.newTask(t, runtime.TaskSpec{})
	e.start(t, task, e.container("stubborn", "/testprog", "ignore-term"))
	waitForLog(t, e, task, "stubborn", "ready")
	begin := time.Now()
	st, err := e.rt.StopContainer(t.Context(), task, "stubborn", syscall.SIGTERM, 500*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(begin); st.ExitCode != 137 || st.OOMKilled || took < 500*time.Millisecond {
		t.Fatalf("status = %+v after %v, want 137 (not OOM) after the timeout", st, took)
	}
}

func waitForLog(t *testing.T, e *env, task, name, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(e.output(t, task, name, runtime.StreamStdout), want) {
		if time.Now().After(deadline) {
			t.Fatalf("%s never logged %q", name, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestOOMKillsOnlyTheGreedyContainer(t *testing.T) {
	e := newEnv(t)
	task := e.newTask(t, runtime.TaskSpec{CPUUnits: 1024, MemoryMiB: 512})
	e.start(t, task, e.container("sibling", "/testprog", "sleep", "1h"))
	greedy := e.container("greedy", "/testprog", "oom")
	greedy.MemoryMiB = 32
	e.start(t, task, greedy)
	st := e.wait(t, task, "greedy")
	if st.ExitCode != 137 || !st.OOMKilled {
		t.Fatalf("greedy = %+v, want 137 and OOMKilled", st)
	}
	state, err := e.rt.TaskState(t.Context(), task)
	if err != nil {
		t.Fatal(err)
	}
	if sib, _ := state.Container("sibling"); sib.Status != runtime.StatusRunning {
		t.Fatalf("sibling = %+v, want running", sib)
	}
}

func TestContainersShareTheTaskNetns(t *testing.T) {
	e := newEnv(t)
	task := e.newTask(t, runtime.TaskSpec{})
	e.start(t, task, e.container("server", "/testprog", "listen", "127.0.0.1:8080"))
	e.start(t, task, e.container("client", "/testprog", "dial", "127.0.0.1:8080"))
	if st := e.wait(t, task, "client"); st.ExitCode != 0 {
		t.Fatalf("client = %+v: %s", st, e.output(t, task, "client", runtime.StreamStdout))
	}
	if got := e.output(t, task, "client", runtime.StreamStdout); got != "hello from listener" {
		t.Fatalf("client got %q", got)
	}
	// Another task, in a namespace the caller made, is apart: nothing listens there.
	nsPath := filepath.Join(t.TempDir(), "netns")
	if err := runtime.NewNetNS(nsPath); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := runtime.RemoveNetNS(nsPath); err != nil {
			t.Error(err)
		}
	})
	other := e.newTask(t, runtime.TaskSpec{NetNSPath: nsPath})
	e.start(t, other, e.container("client", "/bin/nc", "-z", "-w", "1", "127.0.0.1", "8080"))
	if st := e.wait(t, other, "client"); st.ExitCode == 0 {
		t.Fatal("a task reached another task's loopback")
	}
}

func TestIsolation(t *testing.T) {
	e := newEnv(t)
	task := e.newTask(t, runtime.TaskSpec{})
	run := func(name string, ptrace bool, args ...string) (runtime.ContainerStatus, string) {
		c := e.container(name, args...)
		c.AddSysPtrace = ptrace
		e.start(t, task, c)
		return e.wait(t, task, name), e.output(t, task, name, runtime.StreamStdout)
	}
	if _, out := run("pids", false, "/testprog", "pids"); out != "pids 1" {
		t.Errorf("container sees host processes: %q", out)
	}
	for i, p := range []string{"/proc/kcore", "/proc/sysrq-trigger", "/proc/sys/kernel/hostname", "/sys/kernel/uevent_helper", "/etc/passwd"} {
		if st, out := run(fmt.Sprintf("write%d", i), false, "/testprog", "write", p); st.ExitCode == 0 {
			t.Errorf("could write %s: %s", p, out)
		}
	}
	for _, ptrace := range []bool{false, true} {
		_, out := run(fmt.Sprintf("caps-%v", ptrace), ptrace, "/testprog", "caps")
		want := fmt.Sprintf("%016x", runtime.CapabilityMask(runtime.DefaultCapabilities(ptrace)))
		if out != want {
			t.Errorf("ptrace=%v: CapEff = %s, want %s", ptrace, out, want)
		}
	}
}

func TestCwdCannotReachTheHost(t *testing.T) {
	e := newEnv(t)
	task := e.newTask(t, runtime.TaskSpec{})
	if err := os.Symlink("/proc/self/fd/7", filepath.Join(e.rootfs, "evil")); err != nil {
		t.Fatal(err)
	}
	for i, cwd := range []string{"/proc/self/fd/7", "/evil", "/evil/..", "/tmp/../proc/self/cwd"} {
		c := e.container(fmt.Sprintf("c%d", i), "/testprog", "id")
		c.Cwd = cwd
		if _, err := e.rt.StartContainer(t.Context(), task, c); !errors.Is(err, runtime.ErrInvalidSpec) {
			t.Errorf("cwd %q: err = %v, want ErrInvalidSpec", cwd, err)
		}
	}
}

func TestInitProcess(t *testing.T) {
	e := newEnv(t)
	task := e.newTask(t, runtime.TaskSpec{})
	c := e.container("exit", "/testprog", "exit", "5")
	c.InitProcessEnabled = true
	e.start(t, task, c)
	if st := e.wait(t, task, "exit"); st.ExitCode != 5 {
		t.Fatalf("exit = %+v, want 5", st)
	}
	// The init forwards SIGTERM to the app, which dies of it.
	c = e.container("sleep", "/testprog", "sleep", "1h")
	c.InitProcessEnabled = true
	e.start(t, task, c)
	waitForLog(t, e, task, "sleep", "sleeping")
	st, err := e.rt.StopContainer(t.Context(), task, "sleep", syscall.SIGTERM, 10*time.Second)
	if err != nil || st.ExitCode != 143 {
		t.Fatalf("stop = %+v, %v; want 143", st, err)
	}
}

func TestExec(t *testing.T) {
	e := newEnv(t)
	task := execSeesTheScrubbedEnvironment(t, e)
	res, err := e.rt.Exec(t.Context(), task, "app", runtime.ExecSpec{Args: []string{"/testprog", "exit", "4"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 4 || res.TimedOut || !strings.Contains(string(res.Output), "exiting 4") {
		t.Fatalf("exec = %+v (%q)", res, res.Output)
	}
	begin := time.Now()
	res, err = e.rt.Exec(t.Context(), task, "app", runtime.ExecSpec{Args: []string{"/testprog", "sleep", "1h"}, Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if !res.TimedOut || time.Since(begin) > 5*time.Second {
		t.Fatalf("exec with timeout = %+v after %v", res, time.Since(begin))
	}
}

// execSeesTheScrubbedEnvironment starts a container whose environment holds a secret, waits
// until no file of its task (the bundle, the OCI runtime's state) holds it, and checks that an
// exec still gets the container's environment, as `runc exec` does from the bundle, plus its own.
// It returns the task, with the container "app" running.
func execSeesTheScrubbedEnvironment(t *testing.T, e *env) string {
	t.Helper()
	task := e.newTask(t, runtime.TaskSpec{})
	app := e.container("app", "/testprog", "sleep", "1h")
	const secret = "s3cr3t-value-of-the-task"
	app.Env = []string{"DB_PASSWORD=" + secret, "PLAIN=1"}
	e.start(t, task, app)
	taskDir := filepath.Join(e.cfg.StateRoot, "tasks", task)
	bundles, _ := filepath.Glob(filepath.Join(taskDir, "containers", "app", "config.json"))
	if len(bundles) != 1 {
		t.Fatalf("bundle of the container: %v", bundles)
	}
	// The shim scrubs them beside its reply to the start.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		holders := filesHolding(t, taskDir, secret)
		b, err := os.ReadFile(bundles[0])
		if len(holders) == 0 && err == nil && strings.Contains(string(b), "/testprog") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("5 s after the start, the environment is still in %v, or the bundle is gone (%v)", holders, err)
		}
	}
	res, err := e.rt.Exec(t.Context(), task, "app", runtime.ExecSpec{Args: []string{"/testprog", "env"}, Env: []string{"EXTRA=2"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"DB_PASSWORD=" + secret, "PLAIN=1", "EXTRA=2"} {
		if res.ExitCode != 0 || !strings.Contains(string(res.Output), want+"\n") {
			t.Fatalf("exec env = %+v, want %s in:\n%s", res, want, res.Output)
		}
	}
	return task
}

// filesHolding lists the regular files under dir whose content contains s.
func filesHolding(t *testing.T, dir, s string) []string {
	t.Helper()
	var found []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil // files come and go while the task runs
		}
		if b, err := os.ReadFile(path); err == nil && strings.Contains(string(b), s) {
			found = append(found, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// TestReadoption simulates a server crash: the runtime goes away without stopping anything,
// and a fresh one over the same state root finds the same containers, including an exit that
// happened in between.
func TestReadoption(t *testing.T) {
	e := newEnv(t)
	task := e.newTask(t, runtime.TaskSpec{})
	long := e.start(t, task, e.container("long", "/testprog", "sleep", "1h"))
	e.start(t, task, e.container("short", "/bin/sh", "-c", "sleep 0.5; exit 7"))
	e.rt.Close()
	time.Sleep(1500 * time.Millisecond) // "short" exits while nobody listens

	fresh, err := runtime.NewRunc(e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	ids, err := fresh.ListTasks(t.Context())
	if err != nil || len(ids) != 1 || ids[0] != task {
		t.Fatalf("ListTasks = %v, %v", ids, err)
	}
	state, err := fresh.TaskState(t.Context(), task)
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := state.Container("long"); c.Status != runtime.StatusRunning || c.Pid != long.Pid {
		t.Errorf("long = %+v, want running with pid %d", c, long.Pid)
	}
	if c, _ := state.Container("short"); c.Status != runtime.StatusExited || c.ExitCode != 7 {
		t.Errorf("short = %+v, want exited 7", c)
	}
	// A Go program as pid 1 exits 2 on SIGTERM: the kernel will not let it die of the signal.
	if st, err := fresh.StopContainer(t.Context(), task, "long", 0, 5*time.Second); err != nil || st.ExitCode != 2 {
		t.Errorf("stop after re-adoption = %+v, %v", st, err)
	}
}

// The task's CPU quota goes on its cgroup once its first container runs (runc's setup inside
// the container cgroup is not throttled by it), and on each container's cgroup before its
// process starts, so the task is limited from its first instruction on.
func TestTaskCPUQuota(t *testing.T) {
	e := newEnv(t)
	task := e.newTask(t, runtime.TaskSpec{CPUUnits: 512, MemoryMiB: 128})
	quota := func(cg string) string {
		t.Helper()
		file := filepath.Join("/sys/fs/cgroup/cpu", cg, "cpu.cfs_quota_us")
		if !exists("/sys/fs/cgroup/cpu/" + e.parent) {
			file = filepath.Join("/sys/fs/cgroup", cg, "cpu.max") // cgroup v2
		}
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		return strings.Fields(string(b))[0]
	}
	taskCg := e.parent + "/" + task
	if got := quota(taskCg); got != "-1" && got != "max" {
		t.Errorf("task cgroup quota before any container = %s, want none", got)
	}
	e.start(t, task, e.container("app", "/testprog", "sleep", "1h"))
	if got := quota(taskCg); got != "50000" {
		t.Errorf("task cgroup quota after the first start = %s, want 50000", got)
	}
	if got := quota(taskCg + "/app"); got != "50000" {
		t.Errorf("container cgroup quota = %s, want 50000", got)
	}
	e.start(t, task, e.container("side", "/testprog", "sleep", "1h"))
	if got := quota(taskCg + "/side"); got != "50000" {
		t.Errorf("second container's cgroup quota = %s, want 50000", got)
	}
}

// TestStartOverABundleNeverStarted: a container's bundle that the shim was never asked to start
// (an agent died between writing it and the request) does not block the container's start; a
// second start of a container the shim has is refused.
func TestStartOverABundleNeverStarted(t *testing.T) {
	e := newEnv(t)
	task := e.newTask(t, runtime.TaskSpec{MemoryMiB: 64})
	bundle := filepath.Join(e.stateRoot, "tasks", task, "containers", "app")
	if err := os.MkdirAll(bundle, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bundle, "config.json"), []byte(`{"stale":true}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if st := e.start(t, task, e.container("app", "/testprog", "sleep", "1h")); st.Status != runtime.StatusRunning {
		t.Fatalf("start over a stale bundle: %+v", st)
	}
	if _, err := e.rt.StartContainer(t.Context(), task, e.container("app", "/testprog", "sleep", "1h")); !errors.Is(err, runtime.ErrContainerExists) {
		t.Fatalf("second start = %v, want ErrContainerExists", err)
	}
}
