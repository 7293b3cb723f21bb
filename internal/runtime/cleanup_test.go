package runtime_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/runtime"
)

// TestCleanupIsComplete runs 200 tasks, 20 at a time, each with its own netns and a container
// (every other one behind the init), stops them all, and checks that nothing is left: mounts, cgroups, OCI state,
// state directories or processes.
func TestCleanupIsComplete(t *testing.T) {
	const total, batch = 200, 20
	e := newEnv(t)
	for b := 0; b < total/batch; b++ {
		var wg sync.WaitGroup
		errs := make(chan error, batch)
		for i := range batch {
			wg.Go(func() {
				if err := runAndDelete(t, e, fmt.Sprintf("c%03d", b*batch+i), i%2 == 0); err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	}
	assertNothingLeft(t, e)
}

func runAndDelete(t *testing.T, e *env, id string, init bool) error {
	ctx := t.Context()
	if err := e.rt.CreateTask(ctx, runtime.TaskSpec{ID: id, CPUUnits: 128, MemoryMiB: 64}); err != nil {
		return fmt.Errorf("create %s: %w", id, err)
	}
	c := e.container("app", "/testprog", "sleep", "1h")
	c.InitProcessEnabled = init
	if _, err := e.rt.StartContainer(ctx, id, c); err != nil {
		return fmt.Errorf("start %s: %w", id, err)
	}
	if _, err := e.rt.StopContainer(ctx, id, "app", 0, time.Second); err != nil {
		return fmt.Errorf("stop %s: %w", id, err)
	}
	if err := e.rt.DeleteTask(ctx, id); err != nil {
		return fmt.Errorf("delete %s: %w", id, err)
	}
	return nil
}

func assertNothingLeft(t *testing.T, e *env) {
	t.Helper()
	if mi, _ := os.ReadFile("/proc/self/mountinfo"); bytes.Contains(mi, []byte(e.stateRoot)) {
		t.Errorf("mounts left under %s", e.stateRoot)
	}
	if left, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup/*", e.parent, "*")); len(dirsOnly(left)) > 0 {
		t.Errorf("cgroups left: %v", dirsOnly(left))
	}
	if left, _ := os.ReadDir(filepath.Join(e.stateRoot, "tasks")); len(left) > 0 {
		t.Errorf("%d task state dirs left (runc state lives inside them)", len(left))
	}
	if procs := processesRootedIn(e.rootfs); len(procs) > 0 {
		t.Errorf("container processes left: %v", procs)
	}
	if procs := processesMentioning(e.stateRoot); len(procs) > 0 {
		t.Errorf("processes left: %v", procs)
	}
}

func dirsOnly(paths []string) []string {
	var out []string
	for _, p := range paths {
		if fi, err := os.Stat(p); err == nil && fi.IsDir() {
			out = append(out, p)
		}
	}
	return out
}

// processesMentioning lists processes whose command line names dir: shims, runc, containers.
func processesMentioning(dir string) []string {
	entries, _ := os.ReadDir("/proc")
	var out []string
	for _, e := range entries {
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.Contains(cmdline, []byte(dir)) {
			out = append(out, e.Name()+": "+strings.ReplaceAll(string(cmdline), "\x00", " "))
		}
	}
	return out
}

// processesRootedIn lists processes whose root directory is rootfs: container processes.
func processesRootedIn(rootfs string) []string {
	entries, _ := os.ReadDir("/proc")
	var out []string
	for _, e := range entries {
		if root, err := os.Readlink(filepath.Join("/proc", e.Name(), "root")); err == nil && strings.HasPrefix(root, rootfs) {
			out = append(out, e.Name())
		}
	}
	return out
}

// TestDeleteAfterShimCrash: with the shim killed, the state falls back to what it recorded,
// and DeleteTask still removes the orphaned container and everything else.
func TestDeleteAfterShimCrash(t *testing.T) {
	e := newEnv(t)
	task, state := startSleeper(t, e)
	var err error
	if err := syscall.Kill(state.ShimPid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		state, err = e.rt.TaskState(t.Context(), task)
		if err != nil {
			t.Fatal(err)
		}
		if state.ShimPid == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if c, _ := state.Container("app"); state.ShimPid != 0 || c.Status != runtime.StatusUnknown {
		t.Fatalf("after shim crash: %+v", state)
	}
	if err := e.rt.DeleteTask(t.Context(), task); err != nil {
		t.Fatal(err)
	}
	assertNothingLeft(t, e)
}

// TestDeleteAfterStateWiped: a task whose state directory went while the host ran (its tmpfs
// emptied or unmounted) still has a shim and containers; deleting it kills them.
func TestDeleteAfterStateWiped(t *testing.T) {
	e := newEnv(t)
	task, state := startSleeper(t, e)
	app, _ := state.Container("app")
	dir := filepath.Join(e.stateRoot, "tasks", task)
	moved := filepath.Join(e.stateRoot, "moved")
	if err := os.Rename(dir, moved); err != nil {
		t.Fatal(err)
	}
	if err := e.rt.DeleteTask(t.Context(), task); err != nil {
		t.Fatal(err)
	}
	for _, pid := range []int{state.ShimPid, app.Pid} {
		deadline := time.Now().Add(5 * time.Second)
		for alive(pid) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if alive(pid) {
			t.Errorf("process %d still running", pid)
		}
	}
	// What is left is its mounts and files, which a delete with its state removes.
	if err := os.Rename(moved, dir); err != nil {
		t.Fatal(err)
	}
	if err := e.rt.DeleteTask(t.Context(), task); err != nil {
		t.Fatal(err)
	}
	assertNothingLeft(t, e)
}

// alive says whether pid is a process that has not exited (a zombie has).
func alive(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(stat, ')')
	return i > 0 && i+2 < len(stat) && stat[i+2] != 'Z'
}

// startSleeper starts a task of one container that sleeps, and returns it with its state.
func startSleeper(t *testing.T, e *env) (string, runtime.TaskState) {
	t.Helper()
	task := e.newTask(t, runtime.TaskSpec{MemoryMiB: 64})
	e.start(t, task, e.container("app", "/testprog", "sleep", "1h"))
	state, err := e.rt.TaskState(t.Context(), task)
	if err != nil || state.ShimPid == 0 {
		t.Fatalf("state = %+v, %v", state, err)
	}
	return task, state
}

// TestLongStateRoot: a state root deep enough that a task's socket path exceeds a unix socket
// address (a long --data-dir) still runs tasks, which a restarted runtime can reach again.
func TestLongStateRoot(t *testing.T) {
	e := newEnvWith(t, func(c *runtime.Config) {
		c.StateRoot = filepath.Join(c.StateRoot, strings.Repeat("d", 64), strings.Repeat("e", 64))
	})
	task, state := startSleeper(t, e)
	if sock := filepath.Join(e.cfg.StateRoot, "tasks", task, "shim.sock"); len(sock) <= 108 {
		t.Fatalf("socket path %s is %d bytes: it fits an address, and proves nothing", sock, len(sock))
	}
	again, err := runtime.NewRunc(e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	st, err := again.TaskState(t.Context(), task)
	if c, _ := st.Container("app"); err != nil || st.ShimPid != state.ShimPid || c.Status != runtime.StatusRunning {
		t.Fatalf("state from a new runtime = %+v, %v; want the shim %d with app running", st, err, state.ShimPid)
	}
	if err := again.DeleteTask(t.Context(), task); err != nil {
		t.Fatal(err)
	}
	assertNothingLeft(t, e)
}
