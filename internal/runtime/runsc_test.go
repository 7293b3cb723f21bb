package runtime_test

import (
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/runtime"
)

// TestRunsc runs the basic lifecycle under gVisor. It needs runsc in PATH.
func TestRunsc(t *testing.T) {
	if _, err := exec.LookPath("runsc"); err != nil {
		t.Skip("runsc (gVisor) is not installed: go install gvisor.dev/gvisor/runsc@<version> into PATH to run this test")
	}
	e := newEnv(t)
	rt, err := runtime.NewRunsc(e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.rt = rt
	task := e.newTask(t, runtime.TaskSpec{CPUUnits: 512, MemoryMiB: 256})
	c := e.container("app", "/testprog", "exit", "3")
	if _, err := e.rt.StartContainer(t.Context(), task, c); err != nil {
		if strings.Contains(err.Error(), "cannot create sandbox") {
			// Seen on hosts whose kernel or sandboxing stops gVisor's boot from re-executing
			// itself ("error executing umounter: fork/exec /proc/self/exe").
			t.Skipf("runsc is installed but cannot boot a sandbox on this host: %v", err)
		}
		t.Fatal(err)
	}
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
