package taskrunner

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"time"

	"github.com/gantry-dev/gantry/internal/model"
)

// Addresses of the endpoint inside every task: 169.254.170.2 answers the task metadata (v3, v4)
// and credentials routes on port 80, and the AWS API (gantry's front door) on APIPort.
const (
	EndpointIP = "169.254.170.2"
	APIPort    = 4566
)

// Endpoint serves 169.254.170.2 inside a task's network namespace: its metadata documents, its
// task role's credentials and the AWS API. The listener a request reached is the caller's
// identity, so a task can only ever see its own documents and credentials.
type Endpoint interface {
	// Serve starts answering inside the task's namespace, until Close or the end of ctx. It is
	// called again for an adopted task; a second call replaces the first.
	Serve(ctx context.Context, t EndpointTask) error
	// Close stops serving the task; it is idempotent.
	Close(taskID string)
}

// EndpointTask is what the endpoint needs of one task.
type EndpointTask struct {
	Assignment model.Assignment
	NetNSPath  string
	// CredentialsID is the id in the task's AWS_CONTAINER_CREDENTIALS_RELATIVE_URI; "" when the
	// task has no task role.
	CredentialsID string
	// TaskRoleARN is the role the credentials are issued for; "" when none.
	TaskRoleARN string
	// StorageDir is where the task's own filesystem (its ephemeral storage) is mounted; ""
	// when the agent gives tasks none.
	StorageDir string
	// State returns the task as its runner knows it now; it is safe from any goroutine.
	State func() TaskState
}

// TaskState is a runner's view of its task, for the metadata documents.
type TaskState struct {
	Report        model.TaskReport
	DesiredStatus model.TaskStatus
	// ContainerStarts are the containers' start times, by name; absent until started.
	ContainerStarts map[string]time.Time
}

// newCredentialsID returns an unguessable id for a task's credentials URI: 128 random bits.
func newCredentialsID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}

// publish records the state Endpoint readers see; called with every report.
func (r *Runner) publish(rep model.TaskReport) {
	st := TaskState{Report: rep, DesiredStatus: model.TaskRunning, ContainerStarts: map[string]time.Time{}}
	for _, c := range r.containers {
		if c.started {
			st.ContainerStarts[c.def.Name] = c.startedAt
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopWanted || rep.StopRequested {
		st.DesiredStatus = model.TaskStopped
	}
	r.published = st
}

// State returns the task as the runner last reported it.
func (r *Runner) State() TaskState {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.published
}

// startEndpoint begins serving the task's 169.254.170.2 beside the other start steps when the
// network has made the namespace; otherwise (the runtime makes it with the sandbox)
// awaitEndpoint serves it once the sandbox exists. The task role's credentials id is chosen
// here, before the containers' specs name it.
func (r *Runner) startEndpoint(ctx context.Context) {
	if r.cfg.Endpoint == nil {
		return
	}
	if taskRole(r.cfg.Assignment) != "" && r.credentialsID == "" {
		r.credentialsID = newCredentialsID()
	}
	if r.netnsPath == "" {
		return
	}
	et := r.endpointTask(r.netnsPath)
	// Serve under ctx itself: the endpoint serves until ctx ends, and the job's own context
	// ends when its result is taken.
	r.endpoint.start(ctx, func(context.Context) error { return r.cfg.Endpoint.Serve(ctx, et) })
}

// awaitEndpoint waits for startEndpoint's work, or serves the endpoint now when it did not
// begin any; call it once the sandbox exists.
func (r *Runner) awaitEndpoint(ctx context.Context) error {
	if err, ok := r.endpoint.take(); ok {
		return err
	}
	return r.serveEndpoint(ctx)
}

// settleEndpoint waits for a serve begun by startEndpoint, so that closeEndpoint, which
// follows, cannot be overtaken by it.
func (r *Runner) settleEndpoint() { _, _ = r.endpoint.take() }

// serveEndpoint starts the task's 169.254.170.2 once its namespace exists. Without a namespace
// path from the network or the runtime, nothing can listen there: the task fails to start.
func (r *Runner) serveEndpoint(ctx context.Context) error {
	if r.cfg.Endpoint == nil {
		return nil
	}
	ns := r.netnsPath
	if ns == "" {
		st, err := r.cfg.Runtime.TaskState(ctx, r.id)
		if err != nil {
			return err
		}
		ns = st.NetNSPath
	}
	return r.cfg.Endpoint.Serve(ctx, r.endpointTask(ns))
}

// endpointTask is what the endpoint serves for the task, whose namespace is at ns.
func (r *Runner) endpointTask(ns string) EndpointTask {
	et := EndpointTask{Assignment: r.cfg.Assignment, NetNSPath: ns,
		CredentialsID: r.credentialsID, TaskRoleARN: taskRole(r.cfg.Assignment), State: r.State}
	if r.cfg.Scratch != nil {
		et.StorageDir = ScratchDir(r.cfg.StateDir)
	}
	return et
}

// closeEndpoint stops answering for the task.
func (r *Runner) closeEndpoint() {
	if r.cfg.Endpoint != nil {
		r.cfg.Endpoint.Close(r.id)
	}
}

// ContainerID is the id in a container's metadata URIs (the uuid of its ARN).
func ContainerID(t model.Task, name string) string { return containerID(t, name) }
