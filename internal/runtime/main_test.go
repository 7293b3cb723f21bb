package runtime_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/runtime"
	"github.com/gantry-dev/gantry/internal/runtime/runtimetest"
)

// shimEnv makes the test binary act as the shim when the runtime starts it.
const shimEnv = "GANTRY_TEST_SHIM"

func TestMain(m *testing.M) {
	if os.Getenv(shimEnv) == "1" {
		os.Exit(runtime.ShimMain(os.Args[1:]))
	}
	code := m.Run()
	runtimetest.Cleanup()
	os.Exit(code)
}

// env is one test's runtime with its own state root and cgroup parent.
type env struct {
	rt        *runtime.Runc
	cfg       runtime.Config
	rootfs    string
	parent    string
	stateRoot string
}

func requireRoot(t *testing.T, binary string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("this test needs root: it runs real containers")
	}
	if _, err := exec.LookPath(binary); err != nil {
		t.Fatalf("%s not found in PATH: install it (Debian package runc)", binary)
	}
}

func randomSuffix() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newEnv makes a runtime whose tasks are all deleted, and whose cgroup parent is removed, when
// the test ends.
func newEnv(t *testing.T) *env { return newEnvWith(t, nil) }

// newEnvWith is newEnv with the state root made and the config changed by prepare, when set,
// before the runtime is.
func newEnvWith(t *testing.T, prepare func(*runtime.Config)) *env {
	t.Helper()
	requireRoot(t, "runc")
	// Short paths: unix socket paths are limited to 108 bytes.
	stateRoot, err := os.MkdirTemp("", "gr")
	if err != nil {
		t.Fatal(err)
	}
	e := &env{rootfs: runtimetest.Rootfs(t), parent: "gantry-test-" + randomSuffix(), stateRoot: stateRoot}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	e.cfg = runtime.Config{StateRoot: stateRoot, CgroupParent: e.parent, ShimPath: exe,
		ShimEnv: []string{shimEnv + "=1"}, InitPath: runtimetest.TestProg(t)}
	if prepare != nil {
		prepare(&e.cfg)
	}
	e.rt, err = runtime.NewRunc(e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		ids, _ := e.rt.ListTasks(ctx)
		for _, id := range ids {
			if err := e.rt.DeleteTask(ctx, id); err != nil {
				t.Errorf("cleanup task %s: %v", id, err)
			}
		}
		e.rt.Close()
		removeCgroupParent(t, e.parent)
		os.RemoveAll(stateRoot)
	})
	return e
}

func removeCgroupParent(t *testing.T, parent string) {
	dirs, _ := filepath.Glob("/sys/fs/cgroup/*/" + parent)
	if d := "/sys/fs/cgroup/" + parent; exists(d) {
		dirs = append(dirs, d)
	}
	for _, d := range dirs {
		if err := os.Remove(d); err != nil {
			t.Errorf("remove cgroup parent: %v", err)
		}
	}
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func (e *env) container(name string, args ...string) runtime.ContainerSpec {
	return runtime.ContainerSpec{Name: name, Rootfs: e.rootfs, Args: args, ReadonlyRootfs: true}
}

// newTask creates a task with its own netns.
func (e *env) newTask(t *testing.T, spec runtime.TaskSpec) string {
	t.Helper()
	if spec.ID == "" {
		spec.ID = "t-" + randomSuffix()
	}
	if err := e.rt.CreateTask(t.Context(), spec); err != nil {
		t.Fatalf("create task: %v", err)
	}
	return spec.ID
}

func (e *env) start(t *testing.T, task string, spec runtime.ContainerSpec) runtime.ContainerStatus {
	t.Helper()
	st, err := e.rt.StartContainer(t.Context(), task, spec)
	if err != nil {
		t.Fatalf("start container %s: %v", spec.Name, err)
	}
	return st
}

func (e *env) wait(t *testing.T, task, name string) runtime.ContainerStatus {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	st, err := e.rt.WaitContainer(ctx, task, name)
	if err != nil {
		t.Fatalf("wait %s: %v", name, err)
	}
	return st
}

// output returns the container's log lines of one stream joined by newlines.
func (e *env) output(t *testing.T, task, name, stream string) string {
	t.Helper()
	entries, _, err := e.rt.ReadLogs(t.Context(), task, name, 0, 0)
	if err != nil {
		t.Fatalf("read logs: %v", err)
	}
	var lines []string
	for _, en := range entries {
		if en.Stream == stream {
			lines = append(lines, en.Line)
		}
	}
	return strings.Join(lines, "\n")
}
