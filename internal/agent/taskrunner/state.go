package taskrunner

import (
	"fmt"
	"slices"

	"github.com/gantry-dev/gantry/internal/model"
)

// transitions lists, per known status, the statuses the runner may move to next. ACTIVATING is
// skipped: target registration belongs to the load balancer's sync, not to the host.
//
//	PROVISIONING -> PENDING -> RUNNING -> DEACTIVATING -> STOPPING -> DEPROVISIONING -> STOPPED
//	      |            |                                    ^              ^
//	      |            +---- failed to start / stop wanted -+              |
//	      +---------------- stop wanted before the network was up --------+
//
// The known status moves forward only; the desired status (RUNNING or STOPPED) comes from the
// assignment, or from the runner itself when an essential container exits or the task cannot start.
var transitions = map[model.TaskStatus][]model.TaskStatus{
	model.TaskProvisioning:   {model.TaskPending, model.TaskDeprovisioning},
	model.TaskPending:        {model.TaskRunning, model.TaskStopping},
	model.TaskRunning:        {model.TaskDeactivating},
	model.TaskDeactivating:   {model.TaskStopping},
	model.TaskStopping:       {model.TaskDeprovisioning},
	model.TaskDeprovisioning: {model.TaskStopped},
}

// stateFunc does the work of one status and returns the status to move to.
type stateFunc func(sc *scope) (model.TaskStatus, error)

func (r *Runner) handler(s model.TaskStatus) stateFunc {
	switch s {
	case model.TaskProvisioning:
		return r.provisioning
	case model.TaskPending:
		return r.pending
	case model.TaskRunning:
		return r.running
	case model.TaskDeactivating:
		return r.deactivating
	case model.TaskStopping:
		return r.stopping
	case model.TaskDeprovisioning:
		return r.deprovisioning
	}
	return func(*scope) (model.TaskStatus, error) {
		return s, fmt.Errorf("no handler for status %s", s)
	}
}

// moveTo enters next, stamps its time, records it on disk and reports it.
func (r *Runner) moveTo(sc *scope, next model.TaskStatus) error {
	if !slices.Contains(transitions[r.known], next) {
		return fmt.Errorf("task %s: illegal transition from %s to %s", r.id, r.known, next)
	}
	now := r.now()
	switch next {
	case model.TaskStopping:
		r.times.StoppingAt = now
	case model.TaskStopped:
		r.times.StoppedAt = now
		if r.times.ExecutionStoppedAt.IsZero() {
			r.times.ExecutionStoppedAt = now
		}
	}
	r.log.Debug("task status", "from", r.known, "to", next)
	r.known = next
	if next != model.TaskStopped {
		if err := r.save(); err != nil {
			return err
		}
	}
	r.report(sc.ctx)
	if next == model.TaskStopped {
		r.removeState()
	}
	return nil
}

// provisioning sets up the task's network.
func (r *Runner) provisioning(sc *scope) (model.TaskStatus, error) {
	if r.stopRequested() || r.stop.Code != "" {
		return model.TaskDeprovisioning, nil
	}
	// The sandbox needs nothing from the network but its namespace's path.
	want := r.cfg.Network.NetNSPath(r.cfg.Assignment.Network)
	r.startSandbox(sc.ctx, want)
	path, err := r.cfg.Network.Setup(sc.stop, r.cfg.Assignment.Task, r.cfg.Assignment.Network)
	if err == nil && path != want {
		err = fmt.Errorf("network namespace at %s, expected %s", path, want)
	}
	if err != nil {
		_ = r.awaitSandbox() // deprovisioning removes what it made
		if !r.stopRequested() {
			r.fail(model.StopTaskFailedToStart, "ResourceInitializationError: "+err.Error())
		}
		return model.TaskDeprovisioning, nil
	}
	r.netnsPath = path
	r.times.ConnectivityAt = r.now()
	return model.TaskPending, nil
}

// running watches the containers until the task is to stop.
func (r *Runner) running(sc *scope) (model.TaskStatus, error) {
	for r.stop.Code == "" && !r.stopRequested() {
		r.waitEvent(sc.ctx, noDeadline)
		if sc.ctx.Err() != nil {
			return r.known, sc.ctx.Err()
		}
	}
	return model.TaskDeactivating, nil
}

// deactivating would deregister the task from its load balancer targets; the load balancer's
// sync does that from the task's status, so there is nothing to do on the host yet.
func (r *Runner) deactivating(sc *scope) (model.TaskStatus, error) {
	return model.TaskStopping, nil
}
