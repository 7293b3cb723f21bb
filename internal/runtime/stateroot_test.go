package runtime_test

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/gantry-dev/gantry/internal/runtime"
)

// mountsAt counts the host's mounts whose mount point is dir.
func mountsAt(t *testing.T, dir string) int {
	t.Helper()
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for line := range bytes.Lines(mi) {
		if f := strings.Fields(string(line)); len(f) > 4 && f[4] == dir {
			n++
		}
	}
	return n
}

func isTmpfs(t *testing.T, dir string) bool {
	t.Helper()
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	return st.Type == unix.TMPFS_MAGIC
}

// TestStateInMemoryOutputOnDisk: the state root becomes a tmpfs once (a restart finds it so),
// a task's state lives there and its output in its log directory on disk, a new runtime
// instance reads the output where the record says, and DeleteTask removes both. Output left
// without state (a reboot emptied the tmpfs) is listed and deleted like a task.
func TestStateInMemoryOutputOnDisk(t *testing.T) {
	logRoot := t.TempDir()
	e := newEnvWith(t, func(cfg *runtime.Config) {
		inMemory, why, err := runtime.InMemoryStateRoot(cfg.StateRoot)
		if err != nil || !inMemory {
			t.Fatalf("InMemoryStateRoot = %v, %q, %v", inMemory, why, err)
		}
		t.Cleanup(func() {
			if err := syscall.Unmount(cfg.StateRoot, syscall.MNT_DETACH); err != nil {
				t.Errorf("unmount the state root: %v", err)
			}
			os.Remove(cfg.StateRoot)
		})
		cfg.LogRoot = logRoot
	})
	if !isTmpfs(t, e.stateRoot) {
		t.Fatalf("the state root is not a tmpfs")
	}
	if inMemory, _, err := runtime.InMemoryStateRoot(e.stateRoot); err != nil || !inMemory {
		t.Fatalf("second InMemoryStateRoot = %v, %v", inMemory, err)
	}
	if n := mountsAt(t, e.stateRoot); n != 1 {
		t.Fatalf("%d mounts on the state root after two calls, want 1", n)
	}

	task := e.newTask(t, runtime.TaskSpec{})
	e.start(t, task, e.container("app", "/bin/sh", "-c", "echo to-disk"))
	e.wait(t, task, "app")
	logDir := filepath.Join(logRoot, task)
	for _, f := range []string{"app.log", "shim.log"} {
		if _, err := os.Stat(filepath.Join(logDir, f)); err != nil {
			t.Errorf("the task's %s is not on disk: %v", f, err)
		}
	}
	if _, err := os.Stat(filepath.Join(e.stateRoot, "tasks", task, "containers", "app", "log")); err == nil {
		t.Errorf("the container's output is in the in-memory state too")
	}
	fresh, err := runtime.NewRunc(e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	entries, _, err := fresh.ReadLogs(t.Context(), task, "app", 0, 0)
	if err != nil || len(entries) != 1 || entries[0].Line != "to-disk" {
		t.Fatalf("a new runtime reads %+v, %v; want the line to-disk", entries, err)
	}

	orphan := "t-" + randomSuffix()
	if err := os.MkdirAll(filepath.Join(logRoot, orphan), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(logRoot, orphan, "app.log"), []byte("left\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ids, err := fresh.ListTasks(t.Context())
	slices.Sort(ids)
	if want := []string{orphan, task}; err != nil || !slices.Equal(ids, slices.Sorted(slices.Values(want))) {
		t.Fatalf("ListTasks = %v, %v; want %v", ids, err, want)
	}
	for _, id := range ids {
		if err := fresh.DeleteTask(t.Context(), id); err != nil {
			t.Fatalf("delete %s: %v", id, err)
		}
	}
	for _, d := range []string{filepath.Join(e.stateRoot, "tasks", task), logDir, filepath.Join(logRoot, orphan)} {
		if _, err := os.Stat(d); err == nil {
			t.Errorf("%s is left after DeleteTask", d)
		}
	}
}

// TestStateRootWithTasksStaysOnDisk: a state root on disk that holds a file (the runtime's
// state of a task left running by an older server, or the agent's record of one) is not
// hidden under a tmpfs; one that holds empty directories only is mounted.
func TestStateRootWithTasksStaysOnDisk(t *testing.T) {
	for _, file := range []string{"tasks/t-old/task.json", "agent/tasks/t-old/runner.json"} {
		dir := t.TempDir()
		path := filepath.Join(dir, file)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte("{}"), 0o600); err != nil {
			t.Fatal(err)
		}
		inMemory, why, err := runtime.InMemoryStateRoot(dir)
		if err != nil || inMemory || !strings.Contains(why, path) {
			t.Fatalf("%s: InMemoryStateRoot = %v, %q, %v; want on disk, naming the file", file, inMemory, why, err)
		}
		if n := mountsAt(t, dir); n != 0 || isTmpfs(t, dir) {
			t.Fatalf("%d mounts on a state root that holds %s", n, file)
		}
	}

	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "agent", "tasks"), 0o700); err != nil {
		t.Fatal(err)
	}
	inMemory, why, err := runtime.InMemoryStateRoot(dir)
	if err == nil && inMemory {
		defer func() {
			if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
				t.Errorf("unmount the state root: %v", err)
			}
		}()
	}
	if err != nil || !inMemory || !isTmpfs(t, dir) {
		t.Fatalf("empty directories: InMemoryStateRoot = %v, %q, %v; want a tmpfs", inMemory, why, err)
	}
}
