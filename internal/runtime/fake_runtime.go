package runtime

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"
	"syscall"
	"time"
)

// Fake is an in-memory Runtime for other packages' tests. Containers run until the test ends
// them with Exit or OOMKill, or the code under test stops them; nothing sleeps, so results are
// deterministic.
type Fake struct {
	// Now is the clock used for start and finish times; default time.Now.
	Now func() time.Time
	// StartHook, when set, may refuse a container start by returning an error.
	StartHook func(taskID string, spec ContainerSpec) error
	// ExecHook answers Exec; by default every exec succeeds with no output.
	ExecHook func(taskID, name string, spec ExecSpec) ExecResult

	mu      sync.Mutex
	tasks   map[string]*fakeTask
	nextPid int
}

type fakeTask struct {
	spec       TaskSpec
	containers map[string]*fakeContainer
}

type fakeContainer struct {
	spec          ContainerSpec
	status        ContainerStatus
	exited        chan struct{}
	ignoreSIGTERM bool
	logs          []LogEntry
	trimmedBefore int64 // the highest TrimLogs asked for
}

var _ Runtime = (*Fake)(nil)

// NewFake returns an empty fake runtime.
func NewFake() *Fake {
	return &Fake{tasks: map[string]*fakeTask{}, nextPid: 1000}
}

func (f *Fake) now() time.Time {
	if f.Now != nil {
		return f.Now()
	}
	return time.Now()
}

func (f *Fake) containerLocked(taskID, name string) (*fakeContainer, error) {
	t, ok := f.tasks[taskID]
	if !ok {
		return nil, fmt.Errorf("task %q: %w", taskID, ErrTaskNotFound)
	}
	c, ok := t.containers[name]
	if !ok {
		return nil, fmt.Errorf("container %q: %w", name, ErrContainerNotFound)
	}
	return c, nil
}

// exitLocked ends a running container; later calls change nothing.
func (f *Fake) exitLocked(c *fakeContainer, code int, oom bool) {
	if c.status.Status == StatusExited {
		return
	}
	c.status.Status, c.status.ExitCode, c.status.OOMKilled, c.status.FinishedAt = StatusExited, code, oom, f.now()
	close(c.exited)
}

// CreateTask records the task.
func (f *Fake) CreateTask(ctx context.Context, spec TaskSpec) error {
	if err := validName("task id", spec.ID); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.tasks[spec.ID]; ok {
		return fmt.Errorf("task %q: %w", spec.ID, ErrTaskExists)
	}
	f.tasks[spec.ID] = &fakeTask{spec: spec, containers: map[string]*fakeContainer{}}
	return nil
}

// StartContainer marks the container running with a new pid.
func (f *Fake) StartContainer(ctx context.Context, taskID string, spec ContainerSpec) (ContainerStatus, error) {
	if err := validateContainer(spec); err != nil {
		return ContainerStatus{}, err
	}
	if f.StartHook != nil {
		if err := f.StartHook(taskID, spec); err != nil {
			return ContainerStatus{}, err
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	t, ok := f.tasks[taskID]
	if !ok {
		return ContainerStatus{}, fmt.Errorf("task %q: %w", taskID, ErrTaskNotFound)
	}
	if _, ok := t.containers[spec.Name]; ok {
		return ContainerStatus{}, fmt.Errorf("container %q: %w", spec.Name, ErrContainerExists)
	}
	f.nextPid++
	c := &fakeContainer{spec: spec, exited: make(chan struct{}),
		status: ContainerStatus{Name: spec.Name, Status: StatusRunning, Pid: f.nextPid, StartedAt: f.now()}}
	t.containers[spec.Name] = c
	return c.status, nil
}

// SignalContainer ends the container as the signal would, except an ignored SIGTERM.
func (f *Fake) SignalContainer(ctx context.Context, taskID, name string, sig syscall.Signal) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := f.containerLocked(taskID, name)
	if err != nil {
		return err
	}
	if sig == syscall.SIGTERM && c.ignoreSIGTERM {
		return nil
	}
	f.exitLocked(c, 128+int(sig), false)
	return nil
}

// StopContainer ends the container: 128+sig, or 137 when it ignores SIGTERM (the timeout is
// deemed to have passed, without waiting).
func (f *Fake) StopContainer(ctx context.Context, taskID, name string, sig syscall.Signal, timeout time.Duration) (ContainerStatus, error) {
	if sig == 0 {
		sig = syscall.SIGTERM
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := f.containerLocked(taskID, name)
	if err != nil {
		return ContainerStatus{}, err
	}
	if sig == syscall.SIGTERM && c.ignoreSIGTERM {
		sig = syscall.SIGKILL
	}
	f.exitLocked(c, 128+int(sig), false)
	return c.status, nil
}

// WaitContainer blocks until the container exits or ctx ends.
func (f *Fake) WaitContainer(ctx context.Context, taskID, name string) (ContainerStatus, error) {
	f.mu.Lock()
	c, err := f.containerLocked(taskID, name)
	f.mu.Unlock()
	if err != nil {
		return ContainerStatus{}, err
	}
	select {
	case <-c.exited:
	case <-ctx.Done():
		return ContainerStatus{}, ctx.Err()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return c.status, nil
}

// Exec answers with ExecHook.
func (f *Fake) Exec(ctx context.Context, taskID, name string, spec ExecSpec) (ExecResult, error) {
	f.mu.Lock()
	c, err := f.containerLocked(taskID, name)
	running := err == nil && c.status.Status == StatusRunning
	f.mu.Unlock()
	if err != nil {
		return ExecResult{}, err
	}
	if !running {
		return ExecResult{}, fmt.Errorf("exec in container %q: container is not running", name)
	}
	if f.ExecHook != nil {
		return f.ExecHook(taskID, name, spec), nil
	}
	return ExecResult{}, nil
}

// TaskState reports the task's containers sorted by name.
func (f *Fake) TaskState(ctx context.Context, taskID string) (TaskState, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, ok := f.tasks[taskID]
	if !ok {
		return TaskState{}, fmt.Errorf("task %q: %w", taskID, ErrTaskNotFound)
	}
	st := TaskState{ID: taskID, NetNSPath: t.spec.NetNSPath, ShimPid: 1}
	for _, c := range t.containers {
		st.Containers = append(st.Containers, c.status)
	}
	sort.Slice(st.Containers, func(i, j int) bool { return st.Containers[i].Name < st.Containers[j].Name })
	return st, nil
}

// ListTasks lists the tasks, sorted.
func (f *Fake) ListTasks(ctx context.Context) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ids := make([]string, 0, len(f.tasks))
	for id := range f.tasks {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids, nil
}

// TrimLogs records the trim; the fake's logs are entries in memory, which stay readable.
func (f *Fake) TrimLogs(ctx context.Context, taskID, name string, before, keepTail int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := f.containerLocked(taskID, name)
	if err != nil {
		return err
	}
	c.trimmedBefore = max(c.trimmedBefore, before)
	return nil
}

// ReadLogs pages through lines added with Log; offsets count entries.
func (f *Fake) ReadLogs(ctx context.Context, taskID, name string, offset int64, max int) ([]LogEntry, int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := f.containerLocked(taskID, name)
	if err != nil {
		return nil, offset, err
	}
	start := min(int(offset), len(c.logs))
	end := len(c.logs)
	if max > 0 {
		end = min(end, start+max)
	}
	return slices.Clone(c.logs[start:end]), int64(end), nil
}

// DeleteTask kills the task's containers (137) and forgets it.
func (f *Fake) DeleteTask(ctx context.Context, taskID string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if t, ok := f.tasks[taskID]; ok {
		for _, c := range t.containers {
			f.exitLocked(c, 137, false)
		}
		delete(f.tasks, taskID)
	}
	return nil
}

// Close does nothing: like the real runtime, tasks outlive it.
func (f *Fake) Close() error { return nil }

// Exit makes a running container exit with code.
func (f *Fake) Exit(taskID, name string, code int) error {
	return f.end(taskID, name, code, false)
}

// OOMKill makes a running container die as the OOM killer would: 137 with OOMKilled.
func (f *Fake) OOMKill(taskID, name string) error {
	return f.end(taskID, name, 137, true)
}

func (f *Fake) end(taskID, name string, code int, oom bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := f.containerLocked(taskID, name)
	if err != nil {
		return err
	}
	f.exitLocked(c, code, oom)
	return nil
}

// IgnoreSIGTERM makes the container survive SIGTERM, so a stop ends in SIGKILL.
func (f *Fake) IgnoreSIGTERM(taskID, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := f.containerLocked(taskID, name)
	if err != nil {
		return err
	}
	c.ignoreSIGTERM = true
	return nil
}

// Log appends a line to the container's log.
func (f *Fake) Log(taskID, name, stream, line string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := f.containerLocked(taskID, name)
	if err != nil {
		return err
	}
	c.logs = append(c.logs, LogEntry{Time: f.now(), Stream: stream, Line: line})
	return nil
}

// TrimmedBefore returns the highest offset TrimLogs was asked to free the log before.
func (f *Fake) TrimmedBefore(taskID, name string) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := f.containerLocked(taskID, name)
	if err != nil {
		return 0, err
	}
	return c.trimmedBefore, nil
}

// Spec returns the spec a container was started with, for assertions.
func (f *Fake) Spec(taskID, name string) (ContainerSpec, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := f.containerLocked(taskID, name)
	if err != nil {
		return ContainerSpec{}, err
	}
	return c.spec, nil
}
