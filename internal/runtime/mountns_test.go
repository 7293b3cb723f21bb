package runtime_test

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/gantry-dev/gantry/internal/runtime"
)

// TestShimSeesOnlyItsTaskMounts: with MountsDir, a task's shim, and so runc, sees the host's
// mounts outside MountsDir and, under it, the one its logs are on and its task's own; its
// containers use them as before, and their output reaches the host.
func TestShimSeesOnlyItsTaskMounts(t *testing.T) {
	data := t.TempDir()
	mountTmpfs := func(dir string) {
		t.Helper()
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=1m"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = syscall.Unmount(dir, syscall.MNT_DETACH) })
	}
	before := filepath.Join(data, "before") // another task's, on the host before the runtime
	mountTmpfs(before)
	logs := filepath.Join(data, "logs") // the shims write there: it stays
	mountTmpfs(logs)
	e := newEnvWith(t, func(c *runtime.Config) { c.MountsDir, c.LogRoot = data, logs })
	own, other := filepath.Join(data, "own"), filepath.Join(data, "other")
	mountTmpfs(own)
	mountTmpfs(other)
	if err := os.WriteFile(filepath.Join(own, "hello"), []byte("hi from the task's mount\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	// A root filesystem mounted on the host inside the task's own mount (as an overlay too long
	// for runc to mount is): the shim gets the parent first.
	rootfs := filepath.Join(own, "rootfs")
	if err := os.Mkdir(rootfs, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount(e.rootfs, rootfs, "", syscall.MS_BIND, ""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(rootfs, syscall.MNT_DETACH) })

	task := e.newTask(t, runtime.TaskSpec{}) // its netns is a mount the shim must get too
	c := e.container("app", "/bin/sh", "-c", "read l < /data/hello && echo $l")
	c.Rootfs = rootfs
	c.Mounts = []runtime.Mount{{Source: own, Destination: "/data", ReadOnly: true}}
	e.start(t, task, c)
	if st := e.wait(t, task, "app"); st.ExitCode != 0 {
		t.Fatalf("app = %+v: %s", st, e.output(t, task, "app", runtime.StreamStderr))
	}
	if got := e.output(t, task, "app", runtime.StreamStdout); got != "hi from the task's mount" {
		t.Fatalf("app printed %q", got)
	}
	// A second container finds everything there already.
	c.Name = "second"
	e.start(t, task, c)
	if st := e.wait(t, task, "second"); st.ExitCode != 0 {
		t.Fatalf("second = %+v", st)
	}

	pid, err := os.ReadFile(filepath.Join(e.stateRoot, "tasks", task, "shim.pid"))
	if err != nil {
		t.Fatal(err)
	}
	table, err := os.ReadFile("/proc/" + strings.TrimSpace(string(pid)) + "/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	points := map[string]int{}
	for _, line := range strings.Split(string(table), "\n") {
		if f := strings.Fields(line); len(f) > 4 {
			points[f[4]]++
		}
	}
	netns := filepath.Join(e.stateRoot, "tasks", task, "netns")
	for _, want := range []string{"/", "/proc", logs, own, rootfs, netns} {
		if points[want] != 1 {
			t.Errorf("the shim's mount table has %s %d times, want once", want, points[want])
		}
	}
	for _, gone := range []string{before, other} {
		if points[gone] != 0 {
			t.Errorf("the shim's mount table has another task's mount %s", gone)
		}
	}
	if t.Failed() {
		t.Logf("the shim's mount table:\n%s", table)
	}
}
