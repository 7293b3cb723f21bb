package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"syscall"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/runtime"
)

// gantryBin is the server binary built once for this test binary, with -race when the tests
// run with -race, so the server's races fail the suite too.
var gantryBin string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	defer removeSDKApp()
	// GANTRY_E2E_BIN runs the tests against a binary built elsewhere, e.g. from another commit;
	// gantry-shim must be beside it.
	if gantryBin = os.Getenv("GANTRY_E2E_BIN"); gantryBin != "" {
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "gantry-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	if gantryBin, err = Build(ctx, dir, raceEnabled); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: build gantry:", err)
		return 1
	}
	return m.Run()
}

// newDataDir is a data dir for servers the test starts itself: a temporary directory whose
// mounts are detached before it is removed, as a server leaves its state root's tmpfs mounted
// (runtime.InMemoryStateRoot) for the tasks that outlive it.
func newDataDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Cleanup(func() { unmountUnder(t, dir) })
	return dir
}

// startServer runs a gantry server for one test on a free port with a fresh data dir (or the
// given one), and stops it when the test ends.
func startServer(t *testing.T, dataDir string, args ...string) *Server {
	t.Helper()
	if dataDir == "" {
		dataDir = t.TempDir()
	}
	s, err := Start(t.Context(), Options{Binary: gantryBin, DataDir: dataDir, Args: args})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := s.Stop(30 * time.Second); err != nil {
			t.Error(err)
		}
		if t.Failed() {
			t.Logf("gantry output:\n%s", s.Output())
		}
		// Tasks outlive their server by design; a test's tasks must not outlive the test.
		reapTasks(t, dataDir)
	})
	return s
}

// reapTasks deletes every sandbox left under a server's data dir: shims, containers, cgroups
// and mounts. After a passing test there are none.
func reapTasks(t *testing.T, dataDir string) {
	t.Helper()
	rt, err := runtime.NewRunc(runtime.Config{StateRoot: filepath.Join(dataDir, "run"), LogRoot: filepath.Join(dataDir, "tasklogs")})
	if err != nil {
		t.Errorf("reap tasks: %v", err)
		return
	}
	defer rt.Close()
	ctx := context.Background()
	ids, err := rt.ListTasks(ctx)
	if err != nil {
		t.Errorf("reap tasks: %v", err)
		return
	}
	for _, id := range ids {
		if err := rt.DeleteTask(ctx, id); err != nil {
			t.Errorf("reap task %s: %v", id, err)
		}
	}
	unmountUnder(t, dataDir)
}

// unmountUnder detaches every mount below dir (container rootfs overlays of tasks a failed test
// never stopped), deepest first, so the test's temporary directory can be removed.
func unmountUnder(t *testing.T, dir string) {
	t.Helper()
	points := hostMounts(t, dir)
	sort.Sort(sort.Reverse(sort.StringSlice(points)))
	for _, p := range points {
		if err := syscall.Unmount(p, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", p, err)
		}
	}
}
