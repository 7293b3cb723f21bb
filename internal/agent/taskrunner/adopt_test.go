package taskrunner_test

import (
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/runtime"
)

// cutStart makes the harness's next start of a container named name block until the runner
// that asked for it has been halted, as an agent killed while a start was under way; the start
// then fails, as the runner saw it. It returns once that runner has returned.
func (h *harness) cutStart(t *testing.T, name string, start func() *running) {
	t.Helper()
	entered, release := make(chan struct{}), make(chan struct{})
	var cut sync.Once
	h.rt.StartHook = func(taskID string, spec runtime.ContainerSpec) error {
		h.mu.Lock()
		h.starts = append(h.starts, spec.Name)
		h.mu.Unlock()
		err := error(nil)
		if spec.Name == name {
			cut.Do(func() {
				close(entered)
				<-release
				err = errors.New("cut off")
			})
		}
		return err
	}
	run := start()
	<-entered
	run.cancel()
	close(release)
	if err := <-run.done; err != nil {
		t.Fatalf("run: %v", err)
	}
	run.done <- nil // for the cleanup
}

// TestAdoptWhileStarting restarts the agent while a task is starting: the task goes on to
// RUNNING, and no container that ran is run again.
func TestAdoptWhileStarting(t *testing.T) {
	t.Run("no container started", func(t *testing.T) {
		h := newHarness(t)
		a := assignment(app("app"))
		h.cutStart(t, "app", func() *running { return h.start(t, a, false) })
		a.Task.LastStatus = model.TaskPending
		h.start(t, a, true)
		r := h.waitStatus(t, a.Task.ID, model.TaskRunning)
		if c := containerOf(r, "app"); c.LastStatus != model.ContainerRunning {
			t.Errorf("app = %+v", c)
		}
		if got := h.startOrder(); !slices.Equal(got, []string{"app", "app"}) {
			t.Errorf("starts = %v, want the cut one and one more", got)
		}
	})

	t.Run("the runtime finished a start the agent did not record", func(t *testing.T) {
		h := newHarness(t)
		a := assignment(app("app"))
		h.cutStart(t, "app", func() *running { return h.start(t, a, false) })
		// What the shim does after the agent died: the start it was asked for goes on.
		if _, err := h.rt.StartContainer(t.Context(), a.Task.ID, runtime.ContainerSpec{Name: "app", Rootfs: "/rootfs", Args: []string{"/app"}}); err != nil {
			t.Fatal(err)
		}
		before, _ := h.rt.TaskState(t.Context(), a.Task.ID)
		a.Task.LastStatus = model.TaskPending
		h.start(t, a, true)
		r := h.waitStatus(t, a.Task.ID, model.TaskRunning)
		after, _ := h.rt.TaskState(t.Context(), a.Task.ID)
		if got := h.startOrder(); !slices.Equal(got, []string{"app", "app"}) {
			t.Errorf("starts = %v, want the cut one and the runtime's own", got)
		}
		if c := containerOf(r, "app"); c.LastStatus != model.ContainerRunning || len(after.Containers) != 1 ||
			after.Containers[0].Pid != before.Containers[0].Pid {
			t.Errorf("app = %+v, runtime %+v -> %+v: want the same container adopted", c, before.Containers, after.Containers)
		}
	})

	t.Run("a container started, its dependent not", func(t *testing.T) {
		h := newHarness(t)
		first := app("first")
		first.Essential = ptr(false)
		second := app("second")
		second.DependsOn = []model.ContainerDependency{{ContainerName: "first", Condition: "SUCCESS"}}
		a := assignment(first, second)
		run := h.start(t, a, false)
		pulled := h.wait(t, a.Task.ID, func(r model.TaskReport) bool { return containerOf(r, "first").LastStatus == model.ContainerRunning })
		run.halt(t)
		before, _ := h.rt.TaskState(t.Context(), a.Task.ID)
		a.Task.LastStatus = model.TaskPending
		h.start(t, a, true)
		h.wait(t, a.Task.ID, func(r model.TaskReport) bool { return r.LastStatus == model.TaskPending })
		after, _ := h.rt.TaskState(t.Context(), a.Task.ID)
		if len(after.Containers) != 1 || after.Containers[0].Pid != before.Containers[0].Pid {
			t.Fatalf("runtime %+v -> %+v: want first kept running", before.Containers, after.Containers)
		}
		_ = h.rt.Exit(a.Task.ID, "first", 0)
		r := h.waitStatus(t, a.Task.ID, model.TaskRunning)
		if c := containerOf(r, "second"); c.LastStatus != model.ContainerRunning {
			t.Errorf("second = %+v", c)
		}
		if got := h.startOrder(); !slices.Equal(got, []string{"first", "second"}) {
			t.Errorf("starts = %v, want each container once", got)
		}
		if !r.PullStartedAt.Equal(pulled.PullStartedAt) || !r.PullStoppedAt.Equal(pulled.PullStoppedAt) {
			t.Errorf("pull %v-%v, then %v-%v after the resumed start: want the first pull's times",
				pulled.PullStartedAt, pulled.PullStoppedAt, r.PullStartedAt, r.PullStoppedAt)
		}
	})
}
