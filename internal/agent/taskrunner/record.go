package taskrunner

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/gantry-dev/gantry/internal/logx"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/runtime"
)

// recordFile holds what a runner must know to adopt its task after an agent restart: what
// cannot be read back from the runtime or the assignment.
const recordFile = "runner.json"

// record is the runner's storage record; it is a separate type so the runner's own fields stay
// free to change.
type record struct {
	TaskID        string `json:"taskId"`
	Known         string `json:"known"`
	StopCode      string `json:"stopCode,omitempty"`
	StoppedReason string `json:"stoppedReason,omitempty"`
	Health        string `json:"health,omitempty"`
	Created       bool   `json:"created"`
	NetNSPath     string `json:"netnsPath,omitempty"`
	// CredentialsID is in the containers' credentials URI, so an adopted task keeps it.
	CredentialsID string            `json:"credentialsId,omitempty"`
	Times         recordTimes       `json:"times"`
	Containers    []containerRecord `json:"containers"`
}

type recordTimes struct {
	PullStartedAt      time.Time `json:"pullStartedAt"`
	PullStoppedAt      time.Time `json:"pullStoppedAt"`
	StartedAt          time.Time `json:"startedAt"`
	ConnectivityAt     time.Time `json:"connectivityAt"`
	StoppingAt         time.Time `json:"stoppingAt"`
	ExecutionStoppedAt time.Time `json:"executionStoppedAt"`
}

type containerRecord struct {
	Name       string    `json:"name"`
	Digest     string    `json:"digest,omitempty"`
	StopSignal string    `json:"stopSignal,omitempty"`
	Started    bool      `json:"started"`
	StartedAt  time.Time `json:"startedAt"`
	Status     string    `json:"status"`
	ExitCode   *int      `json:"exitCode,omitempty"`
	Reason     string    `json:"reason,omitempty"`
	Health     string    `json:"health,omitempty"`
}

func (r *Runner) recordFromRunner() record {
	rec := record{TaskID: r.id, Known: string(r.known), StopCode: r.stop.Code, StoppedReason: r.stop.Reason,
		Health: r.health, Created: r.created, NetNSPath: r.netnsPath, CredentialsID: r.credentialsID,
		Times: recordTimes{PullStartedAt: r.times.PullStartedAt, PullStoppedAt: r.times.PullStoppedAt,
			StartedAt: r.times.StartedAt, ConnectivityAt: r.times.ConnectivityAt, StoppingAt: r.times.StoppingAt,
			ExecutionStoppedAt: r.times.ExecutionStoppedAt}}
	for _, c := range r.containers {
		rec.Containers = append(rec.Containers, containerRecord{Name: c.def.Name, Digest: c.digest,
			StopSignal: c.stopSignal, Started: c.started, StartedAt: c.startedAt, Status: c.status,
			ExitCode: c.exitCode, Reason: c.reason, Health: c.health})
	}
	return rec
}

// save writes the record atomically.
func (r *Runner) save() error {
	if err := os.MkdirAll(r.cfg.StateDir, 0o700); err != nil {
		return fmt.Errorf("save task record: %w", err)
	}
	b, err := json.Marshal(r.recordFromRunner())
	if err != nil {
		return fmt.Errorf("save task record: %w", err)
	}
	path := filepath.Join(r.cfg.StateDir, recordFile)
	if err := os.WriteFile(path+".tmp", b, 0o600); err != nil {
		return fmt.Errorf("save task record: %w", err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		return fmt.Errorf("save task record: %w", err)
	}
	return nil
}

// removeState deletes the task's directory once the task is STOPPED.
func (r *Runner) removeState() {
	if r.leaked {
		return
	}
	if err := os.RemoveAll(r.cfg.StateDir); err != nil {
		r.log.Error("remove task state", logx.KeyError, err)
	}
}

// HasRecord reports whether a runner left a record for a task in stateDir.
func HasRecord(stateDir string) bool {
	_, err := os.Stat(filepath.Join(stateDir, recordFile))
	return err == nil
}

func loadRecord(stateDir string) (record, error) {
	var rec record
	b, err := os.ReadFile(filepath.Join(stateDir, recordFile))
	if err != nil {
		return rec, err
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		return rec, fmt.Errorf("read task record: %w", err)
	}
	return rec, nil
}

// adopt takes over a task after an agent restart: it restores the record, reconciles it with
// the runtime (containers that exited while the agent was down are recorded as exits), and
// resumes watching. A task that was still starting goes on starting (resumeStart).
func (r *Runner) adopt(sc *scope) error {
	rec, err := loadRecord(r.cfg.StateDir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return r.adoptLost(sc)
	case err != nil:
		return err
	}
	r.restore(rec)
	st, err := r.cfg.Runtime.TaskState(sc.ctx, r.id)
	if err != nil && !errors.Is(err, runtime.ErrTaskNotFound) {
		return fmt.Errorf("adopt task %s: %w", r.id, err)
	}
	starting := r.known == model.TaskProvisioning || r.known == model.TaskPending
	if r.created && r.known != model.TaskDeprovisioning {
		// Before the containers' output is shipped again (watch): the log driver's
		// secretOptions. A failure costs the driver its secret options only.
		r.readLogSecretsAgain(sc.ctx)
	}
	for _, c := range r.containers {
		cs, ok := st.Container(c.def.Name)
		if !c.started && ok {
			// The last agent asked for the start, and the shim went on with it after that
			// agent died, before the agent could record it.
			c.started, c.status, c.startedAt = true, model.ContainerRunning, cs.StartedAt
			if c.startedAt.IsZero() {
				c.startedAt = r.now()
			}
		}
		if !c.started || c.status == model.ContainerStopped {
			continue
		}
		switch {
		case !ok || cs.Status == runtime.StatusUnknown:
			r.markExited(c, runtime.ContainerStatus{ExitCode: -1}, "container lost while the agent was down")
		case cs.Status == runtime.StatusExited:
			r.markExited(c, cs, "")
		default:
			r.watch(sc.ctx, c.def.Name)
			if r.known == model.TaskRunning || r.known == model.TaskPending { // a dependsOn may wait for HEALTHY
				r.startHealthCheck(sc, c)
			}
		}
	}
	if starting {
		r.resumeStart(sc)
	} else if r.created && r.known != model.TaskDeprovisioning {
		// The listeners died with the last agent: answer 169.254.170.2 again.
		if err := r.serveEndpoint(sc.ctx); err != nil {
			r.log.Warn("serve the task metadata endpoint again", logx.KeyError, err)
		}
	}
	r.shipAllLogs(sc.ctx)
	r.log.Info("adopted task", "status", r.known)
	if err := r.save(); err != nil {
		return err
	}
	r.report(sc.ctx)
	return nil
}

// resumeStart lets a task the last agent did not finish starting go on from its recorded
// status (PROVISIONING or PENDING), so that a RunTask that returned is not lost to a restart.
// The start's steps are made to be taken again: the network attaches an attached ENI again
// unchanged, the sandbox is kept when it exists, the images come from the cache, and prepare
// keeps the task's filesystem and the containers that started (resumed). When none of the
// containers started, what the last agent made of the sandbox and filesystems is removed
// first, as a half-done step may have left it half made; nothing of the user's ran, so nothing
// runs twice. When that removal fails the task is stopped.
func (r *Runner) resumeStart(sc *scope) {
	if r.anyStarted() {
		r.resumed = true
		r.log.Info("resuming the start of a task the last agent did not finish starting", "status", r.known)
		return
	}
	if err := r.release(sc.ctx, Loopback{}); err != nil { // Loopback: the ENI, and its namespace, stay
		r.log.Warn("undo an unfinished start", logx.KeyError, err)
		r.fail(model.StopTaskFailedToStart, "the agent restarted while the task was starting")
		return
	}
	r.created = false
	r.log.Info("starting again a task the last agent did not finish starting", "status", r.known)
}

func (r *Runner) anyStarted() bool {
	for _, c := range r.containers {
		if c.started {
			return true
		}
	}
	return false
}

func (r *Runner) restore(rec record) {
	r.known = model.TaskStatus(rec.Known)
	if !r.known.Valid() || r.known == model.TaskStopped {
		r.known = model.TaskDeprovisioning
	}
	r.stop = stopCause{Code: rec.StopCode, Reason: rec.StoppedReason}
	r.health, r.created, r.netnsPath, r.credentialsID = rec.Health, rec.Created, rec.NetNSPath, rec.CredentialsID
	if r.health == "" {
		r.health = model.HealthUnknown
	}
	r.times = model.TaskTimes{PullStartedAt: rec.Times.PullStartedAt, PullStoppedAt: rec.Times.PullStoppedAt,
		StartedAt: rec.Times.StartedAt, ConnectivityAt: rec.Times.ConnectivityAt, StoppingAt: rec.Times.StoppingAt,
		ExecutionStoppedAt: rec.Times.ExecutionStoppedAt}
	for _, cr := range rec.Containers {
		c := r.container(cr.Name)
		if c == nil {
			continue
		}
		c.digest, c.stopSignal, c.started, c.startedAt = cr.Digest, cr.StopSignal, cr.Started, cr.StartedAt
		c.status, c.exitCode, c.reason = cr.Status, cr.ExitCode, cr.Reason
		if cr.Health != "" {
			c.health = cr.Health
		}
	}
}

// adoptLost handles a task the control plane thinks is past starting but that left no record
// here: its sandbox (if any) is removed and the task stopped.
func (r *Runner) adoptLost(sc *scope) error {
	t := r.cfg.Assignment.Task
	r.known = t.LastStatus
	if !r.known.Valid() || r.known == model.TaskStopped {
		r.known = model.TaskDeprovisioning
	}
	r.created = true // the sandbox may exist; deleting a missing one is harmless
	for _, c := range r.containers {
		c.status, c.reason = model.ContainerStopped, "container lost while the agent was down"
	}
	r.fail(model.StopEssentialContainerExited, "Task lost: the agent restarted and found no trace of it")
	r.log.Warn("task lost across an agent restart", "status", r.known)
	if err := r.save(); err != nil {
		return err
	}
	r.report(sc.ctx)
	return nil
}
