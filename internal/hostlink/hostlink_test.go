package hostlink_test

import (
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/hostlink"
	"github.com/gantry-dev/gantry/internal/logx"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/store"
	"github.com/gantry-dev/gantry/internal/testutil"
)

var (
	scope = model.Scope{Account: model.DefaultAccount, Region: "us-east-1"}
	t0    = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
)

func newLink(t *testing.T) (*hostlink.Link, *store.Store) {
	t.Helper()
	cli, prefix := testutil.Etcd(t)
	st := store.New(cli, prefix)
	l := hostlink.New(st, logx.Discard())
	l.SetClock(func() time.Time { return t0 })
	return l, st
}

// placeTask stores a task of the registered definition on host, reserving its size.
func placeTask(t *testing.T, st *store.Store, id, host string) {
	t.Helper()
	ctx := t.Context()
	h, err := st.Hosts().Get(ctx, host)
	if err != nil {
		t.Fatal(err)
	}
	h.Value.ReservedCPU += 256
	h.Value.ReservedMemory += 512
	tk := model.Task{Scope: scope, ID: id, Cluster: "c", TaskDefinitionARN: model.TaskDefinitionARN(scope, "web", 1),
		Family: "web", Revision: 1, CPU: "256", Memory: "512", DesiredStatus: model.TaskRunning,
		LastStatus: model.TaskProvisioning, HostID: host, Version: 1,
		Containers: []model.Container{{Name: "app", ID: "u1", LastStatus: model.ContainerPending}}}
	if _, err := st.Tasks().Launch(ctx, store.Launch{Tasks: []model.Task{tk}, Hosts: []store.Versioned[model.Host]{h}}); err != nil {
		t.Fatal(err)
	}
}

func registerDef(t *testing.T, st *store.Store) {
	t.Helper()
	td := model.TaskDefinition{Scope: scope, Family: "web", Status: model.TaskDefinitionActive,
		ContainerDefinitions: []model.ContainerDefinition{{Name: "app", Image: "busybox"}}}
	if _, err := st.TaskDefinitions().Register(t.Context(), td, nil); err != nil {
		t.Fatal(err)
	}
}

func TestRegisterAndHeartbeat(t *testing.T) {
	l, st := newLink(t)
	ctx := t.Context()
	if err := l.RegisterHost(ctx, model.Host{ID: "h1", CapacityCPU: 2048, CapacityMemory: 4096, Runtime: "runc", ReservedCPU: 99}); err != nil {
		t.Fatal(err)
	}
	h, _ := st.Hosts().Get(ctx, "h1")
	if h.Value.Status != model.HostActive || h.Value.ReservedCPU != 0 || !h.Value.RegisteredAt.Equal(t0) || h.Value.Runtime != "runc" {
		t.Fatalf("registered = %+v", h.Value)
	}
	if _, err := st.Hosts().Mutate(ctx, "h1", func(h *model.Host) error { h.ReservedCPU, h.Status = 512, model.HostDraining; return nil }); err != nil {
		t.Fatal(err)
	}
	later := t0.Add(time.Minute)
	l.SetClock(func() time.Time { return later })
	if err := l.RegisterHost(ctx, model.Host{ID: "h1", CapacityCPU: 4096, CapacityMemory: 8192, Runtime: "runsc"}); err != nil {
		t.Fatal(err)
	}
	h, _ = st.Hosts().Get(ctx, "h1")
	if h.Value.ReservedCPU != 512 || h.Value.CapacityCPU != 4096 || h.Value.Status != model.HostActive ||
		!h.Value.RegisteredAt.Equal(t0) || !h.Value.HeartbeatAt.Equal(later) {
		t.Fatalf("re-registered = %+v", h.Value)
	}
	l.SetClock(func() time.Time { return later.Add(time.Second) })
	if err := l.Heartbeat(ctx, "h1"); err != nil {
		t.Fatal(err)
	}
	if h, _ = st.Hosts().Get(ctx, "h1"); !h.Value.HeartbeatAt.Equal(later.Add(time.Second)) {
		t.Fatalf("heartbeat = %v", h.Value.HeartbeatAt)
	}
	if err := l.Heartbeat(ctx, "nope"); err == nil {
		t.Fatal("heartbeat of an unknown host succeeded")
	}
}

func recv(t *testing.T, ch <-chan model.Assignment) model.Assignment {
	t.Helper()
	select {
	case a, ok := <-ch:
		if !ok {
			t.Fatal("assignment channel closed")
		}
		return a
	case <-time.After(10 * time.Second):
		t.Fatal("no assignment within 10s")
	}
	return model.Assignment{}
}

func TestWatchAssignments(t *testing.T) {
	l, st := newLink(t)
	ctx := t.Context()
	registerDef(t, st)
	for _, id := range []string{"h1", "h2"} {
		if err := l.RegisterHost(ctx, model.Host{ID: id, CapacityCPU: 4096, CapacityMemory: 8192}); err != nil {
			t.Fatal(err)
		}
	}
	placeTask(t, st, "t1", "h1")
	placeTask(t, st, "other", "h2")
	ch, err := l.WatchAssignments(ctx, "h1")
	if err != nil {
		t.Fatal(err)
	}
	if a := recv(t, ch); a.Task.ID != "t1" || a.Definition.Family != "web" || a.Definition.ContainerDefinitions[0].Image != "busybox" {
		t.Fatalf("first assignment = %+v", a)
	}
	placeTask(t, st, "other2", "h2")
	placeTask(t, st, "t2", "h1")
	if a := recv(t, ch); a.Task.ID != "t2" {
		t.Fatalf("second assignment = %s", a.Task.ID)
	}
	// A report changes no desired status and sends nothing; a stop does.
	if err := l.ReportTask(ctx, model.TaskReport{Scope: scope, Cluster: "c", TaskID: "t1", LastStatus: model.TaskRunning}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Tasks().Mutate(ctx, scope, "c", "t1", func(tk *model.Task) error { tk.DesiredStatus = model.TaskStopped; return nil }); err != nil {
		t.Fatal(err)
	}
	if a := recv(t, ch); a.Task.ID != "t1" || a.Task.DesiredStatus != model.TaskStopped || a.Task.LastStatus != model.TaskRunning {
		t.Fatalf("stop assignment = %+v", a.Task)
	}
}

func TestReportTaskMergesAndReleasesOnce(t *testing.T) {
	l, st := newLink(t)
	ctx := t.Context()
	if err := l.RegisterHost(ctx, model.Host{ID: "h1", CapacityCPU: 4096, CapacityMemory: 8192}); err != nil {
		t.Fatal(err)
	}
	placeTask(t, st, "t1", "h1")
	placeTask(t, st, "t2", "h1")
	base := model.TaskReport{Scope: scope, Cluster: "c", TaskID: "t1"}
	running := base
	running.LastStatus, running.StartedAt, running.PullStartedAt = model.TaskRunning, t0, t0
	running.Containers = []model.ContainerReport{{Name: "app", RuntimeID: "rt", LastStatus: model.ContainerRunning}, {Name: "ghost"}}
	for range 2 {
		if err := l.ReportTask(ctx, running); err != nil {
			t.Fatal(err)
		}
	}
	tk, _ := st.Tasks().Get(ctx, scope, "c", "t1")
	if tk.Value.LastStatus != model.TaskRunning || tk.Value.Version != 2 || tk.Value.Containers[0].RuntimeID != "rt" {
		t.Fatalf("after RUNNING twice: %+v", tk.Value)
	}
	backwards := base
	backwards.LastStatus, backwards.StartedAt = model.TaskPending, t0.Add(time.Hour)
	if err := l.ReportTask(ctx, backwards); err != nil {
		t.Fatal(err)
	}
	if tk, _ = st.Tasks().Get(ctx, scope, "c", "t1"); tk.Value.LastStatus != model.TaskRunning || !tk.Value.Times.StartedAt.Equal(t0) {
		t.Fatalf("a report moved the task backwards: %+v", tk.Value)
	}
	stopped := base
	stopped.LastStatus, stopped.StopRequested, stopped.StopCode, stopped.StoppedReason = model.TaskStopped, true, model.StopEssentialContainerExited, "Essential container in task exited"
	stopped.Containers = []model.ContainerReport{{Name: "app", LastStatus: model.ContainerStopped, ExitCode: new(1)}}
	for range 3 {
		if err := l.ReportTask(ctx, stopped); err != nil {
			t.Fatal(err)
		}
	}
	tk, _ = st.Tasks().Get(ctx, scope, "c", "t1")
	v := tk.Value
	if v.DesiredStatus != model.TaskStopped || v.StopCode != model.StopEssentialContainerExited || v.Times.StoppedAt.IsZero() ||
		*v.Containers[0].ExitCode != 1 || v.Containers[0].LastStatus != model.ContainerStopped {
		t.Fatalf("stopped = %+v", v)
	}
	h, _ := st.Hosts().Get(ctx, "h1")
	if h.Value.ReservedCPU != 256 || h.Value.ReservedMemory != 512 {
		t.Fatalf("reservation after 3 STOPPED reports = %d/%d, want 256/512", h.Value.ReservedCPU, h.Value.ReservedMemory)
	}
	if err := l.ReportTask(ctx, model.TaskReport{Scope: scope, Cluster: "c", TaskID: "nope", LastStatus: model.TaskRunning}); err == nil {
		t.Fatal("report of an unknown task succeeded")
	}
}
