package runtime_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/runtime"
)

// runscEnv is the environment variable that points the runsc tests at a runsc binary other than
// the one in PATH.
const runscEnv = "GANTRY_TEST_RUNSC"

// newRunscEnv is newEnv with runsc as the runtime. It fails when runsc is missing or is a cgo
// build, which cannot boot a sandbox on any host (NewRunsc says why): `make test` installs a
// static one, so gVisor is tested on every machine the suite runs on.
func newRunscEnv(t *testing.T) *env {
	t.Helper()
	bin := os.Getenv(runscEnv)
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("runsc"); err != nil {
			t.Fatal("runsc (gVisor) is not installed: `make test` (scripts/setup.sh --with-gvisor) builds it; or set " +
				runscEnv + " to a static runsc")
		}
	}
	e := newEnv(t)
	e.cfg.OCIBinary = bin
	rt, err := runtime.NewRunsc(e.cfg)
	if err != nil {
		t.Fatalf("%v (or set %s to a static runsc)", err, runscEnv)
	}
	e.rt.Close()
	e.rt = rt
	return e
}

// TestRunsc runs the basic lifecycle under gVisor.
func TestRunsc(t *testing.T) {
	e := newRunscEnv(t)
	task := e.newTask(t, runtime.TaskSpec{CPUUnits: 512, MemoryMiB: 256})
	e.start(t, task, e.container("app", "/testprog", "exit", "3"))
	if st := e.wait(t, task, "app"); st.ExitCode != 3 {
		t.Fatalf("app = %+v; shim log: %s", st, e.output(t, task, "app", runtime.StreamStderr))
	}
	if got := e.output(t, task, "app", runtime.StreamStdout); got != "exiting 3" {
		t.Errorf("stdout = %q", got)
	}
	e.start(t, task, e.container("graceful", "/testprog", "graceful"))
	waitForLog(t, e, task, "graceful", "ready")
	res, err := e.rt.Exec(t.Context(), task, "graceful", runtime.ExecSpec{Args: []string{"/testprog", "exit", "4"}})
	if err != nil || res.ExitCode != 4 || !strings.Contains(string(res.Output), "exiting 4") {
		t.Errorf("exec = %+v, %v", res, err)
	}
	st, err := e.rt.StopContainer(t.Context(), task, "graceful", 0, 10*time.Second)
	if err != nil || st.ExitCode != 0 {
		t.Errorf("stop = %+v, %v", st, err)
	}
}

// TestRunscScrubsItsState: under gVisor too, once a container runs no file of its task holds its
// environment (runsc keeps the spec in its own state), and an exec still gets it.
func TestRunscScrubsItsState(t *testing.T) {
	e := newRunscEnv(t)
	task := execSeesTheScrubbedEnvironment(t, e)
	// runsc still knows the container after its state was rewritten.
	if _, err := e.rt.StopContainer(t.Context(), task, "app", 0, 10*time.Second); err != nil {
		t.Fatal(err)
	}
}
