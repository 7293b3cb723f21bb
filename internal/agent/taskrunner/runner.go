// Package taskrunner runs one task on a host: an explicit state machine that moves the task
// through ECS's lifecycle towards its desired status, and reports each step.
package taskrunner

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/gantry-dev/gantry/internal/image"
	"github.com/gantry-dev/gantry/internal/logx"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/runtime"
)

// Reporter receives task reports; agent.Control is one.
type Reporter interface {
	ReportTask(ctx context.Context, r model.TaskReport) error
}

// Config is what a Runner needs. Runtime, Puller, Reporter and StateDir are required.
type Config struct {
	Assignment model.Assignment
	Runtime    runtime.Runtime
	Puller     image.Puller
	Reporter   Reporter
	// Rootfs mounts root filesystems; Overlay when nil.
	Rootfs Rootfs
	// Network gives the task its namespace; Loopback when nil.
	Network Network
	// StateDir is this task's own directory (volumes, root filesystems, the runner's record).
	StateDir string
	// Scratch gives the task a filesystem of its ephemeral storage size for its containers'
	// writable layers and its volumes (a scratch.Pool); without it they take StateDir's
	// filesystem, without a limit.
	Scratch Scratch
	// LocalRegistryHost is where ECR image references are sent (image.Resolve).
	LocalRegistryHost string
	// Adopt takes over a task a previous agent started, from its record and the runtime, instead
	// of starting it.
	Adopt bool
	// Logs receives the output of containers with the awslogs driver; without it, none is shipped.
	Logs LogSink
	// Secrets reads secrets[].valueFrom at start; without it a task with secrets fails to start.
	Secrets SecretResolver
	// Endpoint serves 169.254.170.2 inside the task; without it nothing answers there and no
	// credentials URI or AWS_ENDPOINT_URL is given to the containers.
	Endpoint Endpoint
	// TimeUnit is what one second of the task definition (stopTimeout, startTimeout, health
	// check timings) lasts; time.Second unless a test shortens it.
	TimeUnit time.Duration
	Now      func() time.Time
	Logger   *slog.Logger
}

// Runner runs one task. Its Run goroutine alone changes the task's state; other goroutines talk
// to it through events and Update.
type Runner struct {
	cfg    Config
	id     string
	log    *slog.Logger
	events chan event

	mu sync.Mutex
	// wake is signalled when a newer assignment arrives.
	wake       chan struct{}
	cancelStop context.CancelFunc // cancels work that a stop makes pointless (pulls, waits)
	stopWanted bool
	finished   bool

	// Owned by the Run goroutine.
	known      model.TaskStatus
	times      model.TaskTimes
	stop       stopCause
	health     string
	containers []*container
	netnsPath  string
	created    bool // the runtime task exists
	// resumed says the start goes on from a start the last agent left with containers
	// started: their filesystems and sandbox are kept (resumeStart).
	resumed bool
	// sandbox is made beside the network's setup (startSandbox); sandboxErr keeps its result
	// once taken.
	sandbox    job[error]
	sandboxErr error
	// endpoint is served beside the images and filesystems when the network named the
	// namespace (startEndpoint); it is taken before the containers start and before the task's
	// resources go.
	endpoint job[error]
	leaked   bool // deprovisioning failed to release something
	healthWG sync.WaitGroup
	logs     logShipping
	// credentialsID is the id of the task role's credentials URI; "" without a task role.
	credentialsID string

	// published is the state Endpoint readers see; guarded by mu.
	published TaskState
	// reports go to the control plane from their own goroutine while Run runs.
	reports *reportQueue
}

// scope holds the contexts of one Run: ctx ends when the agent stops; stop also ends when the
// task is to stop (pulls and waits that a stop makes pointless); health ends the probes.
type scope struct {
	ctx          context.Context
	stop         context.Context
	health       context.Context
	cancelHealth context.CancelFunc
}

// stopCause is why the agent itself decided to stop the task.
type stopCause struct {
	Code   string
	Reason string
}

// container is the runner's view of one container.
type container struct {
	def        model.ContainerDefinition
	spec       runtime.ContainerSpec
	digest     string
	stopSignal string
	runtimeID  string
	status     string // model.ContainerPending, Running or Stopped
	started    bool
	startedAt  time.Time
	exitCode   *int
	reason     string
	hasCheck   bool
	policy     healthPolicy
	health     string
	// logSecrets are the resolved logConfiguration.secretOptions; memory only, never saved.
	logSecrets map[string]string
}

type eventKind int

const (
	evExit eventKind = iota
	evHealth
	evEvict
)

type event struct {
	kind   eventKind
	name   string
	status runtime.ContainerStatus
	err    error
	health string
	// stop is why the agent evicts the task (evEvict).
	stop stopCause
}

// New returns a runner for the assignment; it does nothing until Run.
func New(cfg Config) *Runner {
	if cfg.Rootfs == nil {
		cfg.Rootfs = Overlay{}
	}
	if cfg.Network == nil {
		cfg.Network = Loopback{}
	}
	if cfg.TimeUnit <= 0 {
		cfg.TimeUnit = time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = logx.Discard()
	}
	t := cfg.Assignment.Task
	r := &Runner{cfg: cfg, id: t.ID, wake: make(chan struct{}, 1), reports: newReportQueue(),
		log: cfg.Logger.With(logx.KeyComponent, "taskrunner", logx.KeyTaskARN, t.ARN()), health: model.HealthUnknown}
	for _, d := range cfg.Assignment.Definition.ContainerDefinitions {
		c := &container{def: d, status: model.ContainerPending, runtimeID: t.ID + "-" + d.Name, health: model.HealthUnknown}
		c.policy, c.hasCheck = newHealthPolicy(d.HealthCheck, cfg.TimeUnit)
		r.containers = append(r.containers, c)
	}
	r.events = make(chan event, 2*len(r.containers)+4)
	r.stopWanted = t.DesiredStatus == model.TaskStopped
	return r
}

// ID is the task's id.
func (r *Runner) ID() string { return r.id }

// Update hands the runner a newer assignment of its task; only the desired status is acted on.
func (r *Runner) Update(a model.Assignment) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if a.Task.DesiredStatus == model.TaskStopped && !r.stopWanted {
		r.stopWanted = true
		if r.cancelStop != nil {
			r.cancelStop()
		}
	}
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Evict asks the task to stop for a reason of the host's (the agent's disk guard), with that
// stop code and reason. It returns false when the runner cannot take it now; the caller asks
// again later.
func (r *Runner) Evict(code, reason string) bool {
	select {
	case r.events <- event{kind: evEvict, stop: stopCause{Code: code, Reason: reason}}:
		return true
	default:
		return false
	}
}

// Finished reports whether the task reached STOPPED and everything it held was released.
func (r *Runner) Finished() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.finished
}

func (r *Runner) stopRequested() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stopWanted
}

func (r *Runner) now() time.Time { return r.cfg.Now().UTC() }

func (r *Runner) container(name string) *container {
	for _, c := range r.containers {
		if c.def.Name == name {
			return c
		}
	}
	return nil
}

// Run drives the task until it is STOPPED, or until ctx ends: then it returns at once and
// leaves the task's containers running, for the next agent to adopt.
func (r *Runner) Run(ctx context.Context) error {
	stopCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	healthCtx, cancelHealth := context.WithCancel(ctx)
	sc := &scope{ctx: ctx, stop: stopCtx, health: healthCtx, cancelHealth: cancelHealth}
	defer r.stopHealthChecks(sc)
	defer r.stopLogs()
	// Reports leave from their own goroutine; Run returns once the last one was sent (or the
	// agent stops: the next agent reports again when it adopts the task).
	sent := make(chan struct{})
	go func() { defer close(sent); r.sendReports(ctx) }()
	defer func() { r.reports.close(); <-sent }()
	r.mu.Lock()
	r.cancelStop = cancel
	if r.stopWanted {
		cancel()
	}
	r.mu.Unlock()

	if err := r.begin(sc); err != nil {
		return err
	}
	for r.known != model.TaskStopped {
		r.logsBefore(sc, r.known)
		next, err := r.handler(r.known)(sc)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return fmt.Errorf("task %s in %s: %w", r.id, r.known, err)
		}
		if err := r.moveTo(sc, next); err != nil {
			return err
		}
	}
	r.mu.Lock()
	r.finished = true
	r.mu.Unlock()
	return nil
}

// begin enters the first state: PROVISIONING for a new task, the recorded state for an adopted one.
func (r *Runner) begin(sc *scope) error {
	if r.cfg.Adopt {
		return r.adopt(sc)
	}
	r.known = model.TaskProvisioning
	if err := r.save(); err != nil {
		return err
	}
	r.report(sc.ctx)
	return nil
}

// waitEvent blocks until a container event, a change of assignment, the deadline (if not
// zero), or the end of ctx; it applies what it received.
func (r *Runner) waitEvent(ctx context.Context, deadline time.Time) {
	var timeout <-chan time.Time
	if !deadline.IsZero() {
		t := time.NewTimer(max(deadline.Sub(r.now()), 0))
		defer t.Stop()
		timeout = t.C
	}
	select {
	case ev := <-r.events:
		r.apply(ctx, ev)
	case <-r.wake:
	case <-timeout:
	case <-ctx.Done():
	}
}

// apply records a container event, or an eviction, and reports it.
func (r *Runner) apply(ctx context.Context, ev event) {
	if ev.kind == evEvict {
		r.fail(ev.stop.Code, ev.stop.Reason)
		r.report(ctx)
		return
	}
	c := r.container(ev.name)
	if c == nil {
		return
	}
	switch ev.kind {
	case evExit:
		if ev.err != nil {
			r.log.Warn("lost track of container", "container", ev.name, logx.KeyError, ev.err)
			r.markExited(c, runtime.ContainerStatus{ExitCode: -1}, "container lost: "+ev.err.Error())
		} else {
			r.markExited(c, ev.status, "")
		}
	case evHealth:
		c.health = ev.health
		r.health = taskHealth(r.containers)
		_ = r.save()
	}
	r.report(ctx)
}

// markExited records a container's exit; an essential container's exit stops the task.
func (r *Runner) markExited(c *container, st runtime.ContainerStatus, reason string) {
	if c.status == model.ContainerStopped {
		return
	}
	code := st.ExitCode
	switch {
	case st.OOMKilled:
		code, reason = 137, model.OOMReason
	case st.Error != "" && reason == "":
		reason = "CannotStartContainerError: " + st.Error
	}
	c.status, c.exitCode, c.reason = model.ContainerStopped, &code, reason
	if c.def.IsEssential() && r.known.CanMoveTo(model.TaskRunning) && r.stop.Code == "" {
		r.stop = stopCause{Code: model.StopEssentialContainerExited, Reason: "Essential container in task exited"}
	}
}

// fail stops the task for a reason of the agent's own.
func (r *Runner) fail(code, reason string) {
	if r.stop.Code == "" {
		r.stop = stopCause{Code: code, Reason: reason}
	}
}

// watch follows a started container until it exits or ctx ends.
func (r *Runner) watch(ctx context.Context, name string) {
	r.shipLogs(ctx, name)
	go func() {
		st, err := r.cfg.Runtime.WaitContainer(ctx, r.id, name)
		if ctx.Err() != nil {
			return
		}
		select {
		case r.events <- event{kind: evExit, name: name, status: st, err: err}:
		case <-ctx.Done():
		}
	}()
}

// startHealthCheck begins probing a started container that has a health check, until the
// scope's health context ends.
func (r *Runner) startHealthCheck(sc *scope, c *container) {
	if !c.hasCheck {
		return
	}
	tr := newHealthTracker(c.policy, c.startedAt, c.health)
	r.healthWG.Add(1)
	go func() {
		defer r.healthWG.Done()
		r.checkHealth(sc.health, c.def.Name, tr)
	}()
}

// stopHealthChecks ends every probe and waits for them.
func (r *Runner) stopHealthChecks(sc *scope) {
	sc.cancelHealth()
	r.healthWG.Wait()
}
