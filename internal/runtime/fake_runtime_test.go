package runtime

import (
	"context"
	"errors"
	"syscall"
	"testing"
	"time"
)

func TestFake(t *testing.T) {
	ctx := context.Background()
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f := NewFake()
	f.Now = func() time.Time { return at }
	must(t, f.CreateTask(ctx, TaskSpec{ID: "t1", CPUUnits: 256, MemoryMiB: 512}))
	if err := f.CreateTask(ctx, TaskSpec{ID: "t1"}); !errors.Is(err, ErrTaskExists) {
		t.Errorf("duplicate task: %v", err)
	}
	for _, n := range []string{"app", "sidecar", "stubborn", "greedy"} {
		if _, err := f.StartContainer(ctx, "t1", ContainerSpec{Name: n, Rootfs: "/r", Args: []string{"x"}}); err != nil {
			t.Fatal(err)
		}
	}
	waited := make(chan ContainerStatus)
	go func() {
		st, _ := f.WaitContainer(ctx, "t1", "app")
		waited <- st
	}()
	must(t, f.Exit("t1", "app", 3))
	if st := <-waited; st.ExitCode != 3 || st.Status != StatusExited || !st.FinishedAt.Equal(at) {
		t.Errorf("app = %+v", st)
	}
	must(t, f.OOMKill("t1", "greedy"))
	must(t, f.IgnoreSIGTERM("t1", "stubborn"))
	if st, _ := f.StopContainer(ctx, "t1", "stubborn", 0, time.Second); st.ExitCode != 137 || st.OOMKilled {
		t.Errorf("stubborn = %+v", st)
	}
	if st, _ := f.StopContainer(ctx, "t1", "sidecar", syscall.SIGTERM, time.Second); st.ExitCode != 143 {
		t.Errorf("sidecar = %+v", st)
	}
	state, _ := f.TaskState(ctx, "t1")
	if g, _ := state.Container("greedy"); !g.OOMKilled || g.ExitCode != 137 {
		t.Errorf("greedy = %+v", g)
	}
	must(t, f.DeleteTask(ctx, "t1"))
	if _, err := f.TaskState(ctx, "t1"); !errors.Is(err, ErrTaskNotFound) {
		t.Errorf("deleted task: %v", err)
	}
}
