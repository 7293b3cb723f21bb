package ops

import (
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/model"
)

func TestReapStopped(t *testing.T) {
	e := runTestECS(t)
	runTestHost(t, e, "big", 16384, 65536)
	ctx := t.Context()
	tokened, _, err := e.RunTask(ctx, clTestScope, runInput(func(in *RunTaskInput) { in.ClientToken, in.Count = "tok-r", new(2) }))
	if err != nil || len(tokened) != 2 {
		t.Fatalf("RunTask = %d, %v", len(tokened), err)
	}
	plain, _, err := e.RunTask(ctx, clTestScope, runInput(nil))
	if err != nil || len(plain) != 1 {
		t.Fatalf("RunTask = %d, %v", len(plain), err)
	}
	stop := func(task model.Task, at time.Time) {
		t.Helper()
		if _, err := e.store.Tasks().Mutate(ctx, clTestScope, "default", task.ID, func(tk *model.Task) error {
			tk.DesiredStatus, tk.LastStatus, tk.Times.StoppedAt = model.TaskStopped, model.TaskStopped, at
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	exists := func(task model.Task) bool {
		t.Helper()
		got, failures, err := e.DescribeTasks(ctx, clTestScope, "default", []string{task.ID}, false)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 0 && (len(failures) != 1 || failures[0].Reason != "MISSING") {
			t.Fatalf("a reaped task's failures = %+v, want MISSING", failures)
		}
		return len(got) == 1
	}
	hostReserved := func() int64 {
		var sum int64
		for _, id := range []string{"h1", "big"} {
			h, err := e.store.Hosts().Get(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			sum += h.Value.ReservedCPU
		}
		return sum
	}

	// 90 minutes on: the first task stopped at the start, the plain one 10 minutes ago.
	stop(tokened[0], runTestNow)
	stop(plain[0], runTestNow.Add(80*time.Minute))
	reserved := hostReserved()
	e.SetClock(func() time.Time { return runTestNow.Add(90 * time.Minute) })
	n, err := e.ReapStopped(ctx, time.Hour)
	if err != nil || n != (Reaped{Tasks: 1}) {
		t.Fatalf("ReapStopped = %+v, %v; want one task", n, err)
	}
	if exists(tokened[0]) || !exists(tokened[1]) || !exists(plain[0]) {
		t.Fatal("want only the task stopped over an hour ago reaped")
	}
	if got := hostReserved(); got != reserved {
		t.Fatalf("reaping changed the host's reservation: %d, was %d (released at the stop)", got, reserved)
	}
	// The token's other task still exists, so a retry still answers it and runs nothing.
	again, _, err := e.RunTask(ctx, clTestScope, runInput(func(in *RunTaskInput) { in.ClientToken, in.Count = "tok-r", new(2) }))
	if err != nil || len(again) != 1 || again[0].ID != tokened[1].ID {
		t.Fatalf("retry = %+v, %v; want the token's remaining task", again, err)
	}

	// Three hours on, with the token's last task stopped: everything goes, token included.
	stop(tokened[1], runTestNow.Add(100*time.Minute))
	e.SetClock(func() time.Time { return runTestNow.Add(3 * time.Hour) })
	if n, err := e.ReapStopped(ctx, time.Hour); err != nil || n != (Reaped{Tasks: 2, Tokens: 1}) {
		t.Fatalf("ReapStopped = %+v, %v; want two tasks and the token", n, err)
	}
	if exists(tokened[1]) || exists(plain[0]) {
		t.Fatal("stopped tasks survived the sweep")
	}
	if n, err := e.ReapStopped(ctx, time.Hour); err != nil || n != (Reaped{}) {
		t.Fatalf("a second sweep = %+v, %v; want nothing", n, err)
	}
	e.SetClock(func() time.Time { return runTestNow }) // hosts' heartbeats are as of then
	fresh, ff, err := e.RunTask(ctx, clTestScope, runInput(func(in *RunTaskInput) { in.ClientToken, in.Count = "tok-r", new(2) }))
	if err != nil || len(fresh) != 2 || fresh[0].ID == tokened[0].ID || fresh[0].ID == tokened[1].ID {
		t.Fatalf("RunTask with a reaped token = %+v, %+v, %v; want two new tasks", fresh, ff, err)
	}
	// Running tasks are never reaped, however old.
	e.SetClock(func() time.Time { return runTestNow.Add(1000 * time.Hour) })
	if n, err := e.ReapStopped(ctx, time.Hour); err != nil || n.Tasks != 0 {
		t.Fatalf("ReapStopped = %+v, %v; want running tasks kept", n, err)
	}
	if !exists(fresh[0]) || !exists(fresh[1]) {
		t.Fatal("a running task was reaped")
	}
}
