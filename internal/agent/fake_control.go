package agent

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/gantry-dev/gantry/internal/model"
)

// FakeControl is an in-memory Control for tests: it records hosts, heartbeats and reports,
// applies reports to its copy of each task as the control plane would (status only forward; a
// stop the agent requested sets the desired status), and lets a test push assignments.
type FakeControl struct {
	// ReportHook, when set, may refuse a report by returning an error.
	ReportHook func(model.TaskReport) error

	mu         sync.Mutex
	changed    chan struct{} // closed and replaced on every change
	hosts      map[string]model.Host
	heartbeats map[string]int
	tasks      map[string]model.Assignment
	reports    map[string][]model.TaskReport
	watchers   map[string][]chan model.Assignment
	networks   map[string]model.NetworkSnapshot
	netWatch   map[string][]chan model.NetworkSnapshot
}

var _ Control = (*FakeControl)(nil)

// NewFakeControl returns an empty fake.
func NewFakeControl() *FakeControl {
	return &FakeControl{changed: make(chan struct{}), hosts: map[string]model.Host{}, heartbeats: map[string]int{},
		tasks: map[string]model.Assignment{}, reports: map[string][]model.TaskReport{}, watchers: map[string][]chan model.Assignment{},
		networks: map[string]model.NetworkSnapshot{}, netWatch: map[string][]chan model.NetworkSnapshot{}}
}

func (f *FakeControl) notifyLocked() {
	close(f.changed)
	f.changed = make(chan struct{})
}

// RegisterHost records the host.
func (f *FakeControl) RegisterHost(ctx context.Context, h model.Host) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hosts[h.ID] = h
	f.notifyLocked()
	return nil
}

// Heartbeat counts heartbeats of a registered host.
func (f *FakeControl) Heartbeat(ctx context.Context, hostID string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.hosts[hostID]; !ok {
		return fmt.Errorf("host %q is not registered", hostID)
	}
	f.heartbeats[hostID]++
	f.notifyLocked()
	return nil
}

// WatchAssignments sends the host's tasks that are not STOPPED, then every change pushed with
// Assign or caused by a report, until ctx ends.
func (f *FakeControl) WatchAssignments(ctx context.Context, hostID string) (<-chan model.Assignment, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ch := make(chan model.Assignment, 1024)
	for _, a := range f.tasks {
		if a.Task.HostID == hostID && a.Task.LastStatus != model.TaskStopped {
			ch <- a
		}
	}
	f.watchers[hostID] = append(f.watchers[hostID], ch)
	go func() {
		<-ctx.Done()
		f.mu.Lock()
		defer f.mu.Unlock()
		f.watchers[hostID] = slices.DeleteFunc(f.watchers[hostID], func(c chan model.Assignment) bool { return c == ch })
		close(ch)
	}()
	return ch, nil
}

// Assign stores the assignment and sends it to the watchers of its host.
func (f *FakeControl) Assign(a model.Assignment) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.putLocked(a)
}

func (f *FakeControl) putLocked(a model.Assignment) {
	f.tasks[a.Task.ID] = a
	for _, ch := range f.watchers[a.Task.HostID] {
		select {
		case ch <- a:
		default: // a test that floods a watcher loses changes, as a slow watch would
		}
	}
	f.notifyLocked()
}

// StopTask sets a task's desired status to STOPPED, as StopTask does.
func (f *FakeControl) StopTask(taskID, code, reason string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.tasks[taskID]
	if !ok || a.Task.DesiredStatus == model.TaskStopped {
		return
	}
	a.Task.DesiredStatus, a.Task.StopCode, a.Task.StoppedReason = model.TaskStopped, code, reason
	a.Task.Version++
	f.putLocked(a)
}

// ReportTask records the report and applies it to the task.
func (f *FakeControl) ReportTask(ctx context.Context, r model.TaskReport) error {
	if f.ReportHook != nil {
		if err := f.ReportHook(r); err != nil {
			return err
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reports[r.TaskID] = append(f.reports[r.TaskID], r)
	a, ok := f.tasks[r.TaskID]
	if !ok {
		f.notifyLocked()
		return nil
	}
	if a.Task.LastStatus == "" || a.Task.LastStatus.CanMoveTo(r.LastStatus) {
		a.Task.LastStatus = r.LastStatus
	}
	a.Task.HealthStatus = r.HealthStatus
	if r.StopRequested && a.Task.DesiredStatus != model.TaskStopped {
		a.Task.DesiredStatus, a.Task.StopCode, a.Task.StoppedReason = model.TaskStopped, r.StopCode, r.StoppedReason
		a.Task.Version++
		f.putLocked(a)
		return nil
	}
	f.tasks[r.TaskID] = a
	f.notifyLocked()
	return nil
}

// Reports returns the reports of a task, oldest first.
func (f *FakeControl) Reports(taskID string) []model.TaskReport {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.reports[taskID])
}

// Task returns the fake's copy of a task.
func (f *FakeControl) Task(taskID string) (model.Task, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.tasks[taskID]
	return a.Task, ok
}

// Host returns a registered host and its heartbeat count.
func (f *FakeControl) Host(id string) (model.Host, int, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	h, ok := f.hosts[id]
	return h, f.heartbeats[id], ok
}

// Hosts returns the ids of the registered hosts.
func (f *FakeControl) Hosts() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ids []string
	for id := range f.hosts {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// WaitReport waits until a report of the task satisfies ok, and returns it.
func (f *FakeControl) WaitReport(ctx context.Context, taskID string, ok func(model.TaskReport) bool) (model.TaskReport, error) {
	for {
		f.mu.Lock()
		reports, changed := slices.Clone(f.reports[taskID]), f.changed
		f.mu.Unlock()
		for _, r := range reports { // ok runs unlocked: it may call the fake
			if ok(r) {
				return r, nil
			}
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return model.TaskReport{}, fmt.Errorf("task %s: no matching report: %w", taskID, ctx.Err())
		case <-time.After(time.Second): // belt and braces: a change notified before we looked
		}
	}
}

// WaitStatus waits for a report of the task with the given status.
func (f *FakeControl) WaitStatus(ctx context.Context, taskID string, s model.TaskStatus) (model.TaskReport, error) {
	return f.WaitReport(ctx, taskID, func(r model.TaskReport) bool { return r.LastStatus == s })
}

// WatchNetwork sends the VPC's snapshot, if SetNetwork gave it one, then every snapshot set
// after, until ctx ends. A watcher that falls behind gets the newest snapshot, as a full
// snapshot makes the ones before it pointless.
func (f *FakeControl) WatchNetwork(ctx context.Context, vpcID string) (<-chan model.NetworkSnapshot, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ch := make(chan model.NetworkSnapshot, 1)
	if snap, ok := f.networks[vpcID]; ok {
		ch <- snap
	}
	f.netWatch[vpcID] = append(f.netWatch[vpcID], ch)
	f.notifyLocked()
	go func() {
		<-ctx.Done()
		f.mu.Lock()
		defer f.mu.Unlock()
		f.netWatch[vpcID] = slices.DeleteFunc(f.netWatch[vpcID], func(c chan model.NetworkSnapshot) bool { return c == ch })
		close(ch)
		f.notifyLocked()
	}()
	return ch, nil
}

// SetNetwork stores a VPC's snapshot, with the next revision, and sends it to its watchers.
func (f *FakeControl) SetNetwork(snap model.NetworkSnapshot) {
	f.mu.Lock()
	defer f.mu.Unlock()
	snap.Revision = f.networks[snap.VpcID].Revision + 1
	f.networks[snap.VpcID] = snap
	for _, ch := range f.netWatch[snap.VpcID] {
		select { // replace a snapshot the watcher has not taken yet
		case <-ch:
		default:
		}
		ch <- snap
	}
	f.notifyLocked()
}

// NetworkWatchers returns how many watches of the VPC are open.
func (f *FakeControl) NetworkWatchers(vpcID string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.netWatch[vpcID])
}
