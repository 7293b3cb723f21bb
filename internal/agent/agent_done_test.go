package agent

import (
	"testing"

	"github.com/gantry-dev/gantry/internal/model"
)

// TestDoneTasksAreForgottenOnceStopped checks that the agent's memory of finished tasks is
// bounded: the STOPPED assignment that ends a task removes it.
func TestDoneTasksAreForgottenOnceStopped(t *testing.T) {
	a := New(Config{})
	a.done["t1"] = true
	a.assign(t.Context(), model.Assignment{Task: model.Task{ID: "t1", LastStatus: model.TaskRunning}}, false)
	if !a.done["t1"] {
		t.Fatal("a late RUNNING assignment of a finished task made the agent forget it")
	}
	if len(a.runners) != 0 {
		t.Fatal("a finished task was started again")
	}
	a.assign(t.Context(), model.Assignment{Task: model.Task{ID: "t1", LastStatus: model.TaskStopped}}, false)
	if a.done["t1"] {
		t.Fatal("the STOPPED assignment did not end the agent's memory of the task")
	}
}
