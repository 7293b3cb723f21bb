package runtime_test

import (
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/runtime"
)

// TestRunscLikeRunc checks, under gVisor, the behaviours the runc tests check: a task's
// containers share its netns and nothing else's, stop escalates, the init forwards signals, exec
// times out. One runtime for all, to keep it short.
func TestRunscLikeRunc(t *testing.T) {
	e := newRunscEnv(t)
	t.Run("SharedNetns", func(t *testing.T) {
		task := e.newTask(t, runtime.TaskSpec{})
		e.start(t, task, e.container("server", "/testprog", "listen", "127.0.0.1:8080"))
		e.start(t, task, e.container("client", "/testprog", "dial", "127.0.0.1:8080"))
		if st := e.wait(t, task, "client"); st.ExitCode != 0 {
			t.Fatalf("client = %+v: %s", st, e.output(t, task, "client", runtime.StreamStdout))
		}
		if got := e.output(t, task, "client", runtime.StreamStdout); got != "hello from listener" {
			t.Fatalf("client got %q", got)
		}
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
	})
	t.Run("StopEscalatesToSIGKILL", func(t *testing.T) {
		task := e.newTask(t, runtime.TaskSpec{})
		e.start(t, task, e.container("stubborn", "/testprog", "ignore-term"))
		waitForLog(t, e, task, "stubborn", "ready")
		begin := time.Now()
		st, err := e.rt.StopContainer(t.Context(), task, "stubborn", syscall.SIGTERM, 300*time.Millisecond)
		if took := time.Since(begin); err != nil || st.ExitCode != 137 || st.OOMKilled || took < 300*time.Millisecond {
			t.Fatalf("stop = %+v, %v after %v; want 137 (not OOM) after the timeout", st, err, took)
		}
	})
	t.Run("InitForwardsSIGTERM", func(t *testing.T) {
		task := e.newTask(t, runtime.TaskSpec{})
		c := e.container("sleep", "/testprog", "sleep", "1h")
		c.InitProcessEnabled = true
		e.start(t, task, c)
		waitForLog(t, e, task, "sleep", "sleeping")
		st, err := e.rt.StopContainer(t.Context(), task, "sleep", syscall.SIGTERM, 10*time.Second)
		if err != nil || st.ExitCode != 143 {
			t.Fatalf("stop = %+v, %v; want 143", st, err)
		}
	})
	t.Run("ExecTimeout", func(t *testing.T) {
		task := e.newTask(t, runtime.TaskSpec{})
		e.start(t, task, e.container("app", "/testprog", "sleep", "1h"))
		begin := time.Now()
		res, err := e.rt.Exec(t.Context(), task, "app", runtime.ExecSpec{Args: []string{"/testprog", "sleep", "1h"}, Timeout: 300 * time.Millisecond})
		if err != nil || !res.TimedOut || time.Since(begin) > 5*time.Second {
			t.Fatalf("exec with timeout = %+v, %v after %v", res, err, time.Since(begin))
		}
		if err := e.rt.SignalContainer(t.Context(), task, "app", syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		if st := e.wait(t, task, "app"); st.ExitCode != 137 {
			t.Fatalf("app = %+v, want 137", st)
		}
	})
}
