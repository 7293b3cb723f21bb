// Package hostlink is the control plane's end of the agent link: it records hosts, streams each
// host the tasks placed on it, and merges what agents report back into the tasks.
package hostlink

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"time"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/logx"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/store"
)

// Link serves the agents of every host over one store. It satisfies the agent's Control
// interface; it holds no per-host state between calls.
type Link struct {
	st     *store.Store
	logger *slog.Logger
	now    model.Clock
	// backoff is the pause before listing again after a watch failed.
	backoff time.Duration
}

// New returns a link over st. It starts nothing.
func New(st *store.Store, logger *slog.Logger) *Link {
	return &Link{st: st, logger: logger.With(logx.KeyComponent, "hostlink"), now: time.Now, backoff: time.Second}
}

// SetClock replaces the clock, for tests.
func (l *Link) SetClock(c model.Clock) { l.now = c }

// RegisterHost creates or updates h's record: capacity, runtime, status ACTIVE and a fresh
// heartbeat. The reservation stays as stored: it belongs to the tasks already placed there,
// which the restarted agent re-adopts.
func (l *Link) RegisterHost(ctx context.Context, h model.Host) error {
	if h.ID == "" {
		return apierr.New(apierr.InvalidParameter, "host id can not be blank")
	}
	now := l.now().UTC()
	for attempt := 0; ; attempt++ {
		_, err := l.st.Hosts().Mutate(ctx, h.ID, func(cur *model.Host) error {
			cur.CapacityCPU, cur.CapacityMemory = h.CapacityCPU, h.CapacityMemory
			cur.Runtime, cur.Status, cur.HeartbeatAt = h.Runtime, model.HostActive, now
			if cur.RegisteredAt.IsZero() {
				cur.RegisteredAt = now
			}
			return nil
		})
		if !errors.Is(err, apierr.NotFound) {
			return wrapHost(h.ID, "register", err)
		}
		fresh := model.Host{ID: h.ID, CapacityCPU: h.CapacityCPU, CapacityMemory: h.CapacityMemory,
			Status: model.HostActive, Runtime: h.Runtime, RegisteredAt: now, HeartbeatAt: now}
		_, err = l.st.Hosts().Create(ctx, fresh)
		if err == nil {
			l.logger.Info("host registered", logx.KeyHostID, h.ID, "cpu", h.CapacityCPU, "memory", h.CapacityMemory, "runtime", h.Runtime)
			return nil
		}
		if !errors.Is(err, apierr.AlreadyExists) || attempt >= 5 {
			return wrapHost(h.ID, "register", err)
		}
	}
}

// Heartbeat records that hostID's agent is alive.
func (l *Link) Heartbeat(ctx context.Context, hostID string) error {
	now := l.now().UTC()
	_, err := l.st.Hosts().Mutate(ctx, hostID, func(h *model.Host) error {
		h.HeartbeatAt = now
		return nil
	})
	return wrapHost(hostID, "heartbeat", err)
}

func wrapHost(id, what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s host %q: %w", what, id, err)
}

// WatchAssignments streams the tasks placed on hostID: first every one not yet STOPPED, then
// each newly placed task and each change of a task's desired status, until ctx ends (then the
// channel closes). After a watch failure it lists again and sends every task not yet STOPPED
// again, so an agent must treat a repeated assignment as the same task.
func (l *Link) WatchAssignments(ctx context.Context, hostID string) (<-chan model.Assignment, error) {
	w := &assignWatch{l: l, host: hostID, out: make(chan model.Assignment, 16), defs: map[string]model.TaskDefinition{}}
	rev, err := w.list(ctx)
	if err != nil {
		return nil, fmt.Errorf("watch assignments of host %q: %w", hostID, err)
	}
	go w.run(ctx, rev)
	return w.out, nil
}

// assignWatch is one host's assignment stream; only its goroutine touches it after the first
// list.
type assignWatch struct {
	l    *Link
	host string
	out  chan model.Assignment
	// sent is the desired status last sent of each task (by key) not yet seen STOPPED.
	sent map[string]model.TaskStatus
	// pending holds the first list's assignments until run sends them.
	pending []model.Assignment
	defs    map[string]model.TaskDefinition
}

// list reads every task placed on the host and not STOPPED, queues them, and returns the store
// revision to watch from.
func (w *assignWatch) list(ctx context.Context) (int64, error) {
	w.sent, w.pending = map[string]model.TaskStatus{}, nil
	after := ""
	var rev int64
	for {
		page, err := w.l.st.Tasks().ListAll(ctx, after, 500)
		if err != nil {
			return 0, err
		}
		if rev == 0 {
			rev = page.Revision
		}
		for i, it := range page.Items {
			after = page.Keys[i]
			t := it.Value
			if t.HostID != w.host || t.LastStatus == model.TaskStopped {
				continue
			}
			a, ok := w.assignment(ctx, t)
			if !ok {
				continue
			}
			w.pending = append(w.pending, a)
			w.sent[page.Keys[i]] = t.DesiredStatus
		}
		if !page.More || len(page.Items) == 0 {
			return rev, nil
		}
	}
}

// run sends the listed tasks, then follows the watch, listing again after failures.
func (w *assignWatch) run(ctx context.Context, rev int64) {
	defer close(w.out)
	for {
		for _, a := range w.pending {
			if !w.send(ctx, a) {
				return
			}
		}
		w.pending = nil
		err := w.follow(ctx, rev)
		if ctx.Err() != nil {
			return
		}
		w.l.logger.Warn("assignment watch failed; listing again", logx.KeyHostID, w.host, logx.KeyError, err)
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(w.l.backoff):
			}
			if rev, err = w.list(ctx); err == nil {
				break
			}
			if ctx.Err() != nil {
				return
			}
			w.l.logger.Warn("listing assignments failed", logx.KeyHostID, w.host, logx.KeyError, err)
		}
	}
}

// follow sends the host's task changes after rev until the watch fails or ctx ends.
func (w *assignWatch) follow(ctx context.Context, rev int64) error {
	// A paginated list reads each page at its own revision; starting at the first page's revision
	// may repeat a change, never miss one.
	for ev := range w.l.st.Tasks().Watch(ctx, rev) {
		if ev.Err != nil {
			return ev.Err
		}
		if ev.Type == store.Delete {
			delete(w.sent, ev.Key)
			continue
		}
		t := ev.Value
		if t.HostID != w.host {
			continue
		}
		last, known := w.sent[ev.Key]
		switch {
		case known && last == t.DesiredStatus && t.LastStatus != model.TaskStopped:
			continue
		case !known && t.LastStatus == model.TaskStopped:
			continue
		}
		a, ok := w.assignment(ctx, t)
		if !ok {
			continue
		}
		if !w.send(ctx, a) {
			return ctx.Err()
		}
		if t.LastStatus == model.TaskStopped {
			delete(w.sent, ev.Key)
		} else {
			w.sent[ev.Key] = t.DesiredStatus
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return errors.New("task watch closed")
}

// assignment pairs t with its definition. A task whose definition is gone cannot run; it is
// logged and skipped.
func (w *assignWatch) assignment(ctx context.Context, t model.Task) (model.Assignment, bool) {
	td, ok := w.defs[t.TaskDefinitionARN]
	if !ok {
		v, err := w.l.st.TaskDefinitions().Get(ctx, t.Scope, t.Family, t.Revision)
		if err != nil {
			w.l.logger.Warn("task definition of an assigned task unreadable", logx.KeyTaskARN, t.ARN(), logx.KeyError, err)
			return model.Assignment{}, false
		}
		td = v.Value
		w.defs[t.TaskDefinitionARN] = td
	}
	return model.Assignment{Task: t, Definition: td, Network: t.TaskNetwork}, true
}

func (w *assignWatch) send(ctx context.Context, a model.Assignment) bool {
	select {
	case w.out <- a:
		return true
	case <-ctx.Done():
		return false
	}
}

// ReportTask merges what an agent observed into the task. Statuses only move forward, times
// are set once, containers are matched by name; a stop the agent asks for sets the desired
// status. The first report of STOPPED frees the task's reservation on its host, in the same
// transaction (store.Tasks.Mutate). Reporting the same thing twice changes nothing.
func (l *Link) ReportTask(ctx context.Context, r model.TaskReport) error {
	if r.LastStatus != "" && !r.LastStatus.Valid() {
		return apierr.Errorf(apierr.InvalidParameter, "task %s: unknown status %q", r.TaskID, r.LastStatus)
	}
	now := l.now().UTC()
	_, err := l.st.Tasks().Mutate(ctx, r.Scope, r.Cluster, r.TaskID, func(t *model.Task) error {
		mergeReport(t, r, now)
		return nil
	})
	if err != nil {
		return fmt.Errorf("report task %s in cluster %q: %w", r.TaskID, r.Cluster, err)
	}
	return nil
}

// mergeReport applies r to t; it is pure and idempotent.
func mergeReport(t *model.Task, r model.TaskReport, now time.Time) {
	before := *t
	before.Containers = slices.Clone(t.Containers)
	if r.LastStatus != "" && t.LastStatus.CanMoveTo(r.LastStatus) {
		t.LastStatus = r.LastStatus
	}
	if r.HealthStatus != "" {
		t.HealthStatus = r.HealthStatus
	}
	tt := &t.Times
	for _, p := range []struct {
		dst *time.Time
		src time.Time
	}{{&tt.PullStartedAt, r.PullStartedAt}, {&tt.PullStoppedAt, r.PullStoppedAt}, {&tt.StartedAt, r.StartedAt},
		{&tt.ConnectivityAt, r.ConnectivityAt}, {&tt.StoppingAt, r.StoppingAt},
		{&tt.ExecutionStoppedAt, r.ExecutionStoppedAt}, {&tt.StoppedAt, r.StoppedAt}} {
		if p.dst.IsZero() && !p.src.IsZero() {
			*p.dst = p.src.UTC()
		}
	}
	if r.StopRequested || t.LastStatus == model.TaskStopped {
		requestStop(t, r, now)
	}
	if t.LastStatus == model.TaskStopped && tt.StoppedAt.IsZero() {
		tt.StoppedAt = now
	}
	for _, cr := range r.Containers {
		if i := slices.IndexFunc(t.Containers, func(c model.Container) bool { return c.Name == cr.Name }); i >= 0 {
			mergeContainer(&t.Containers[i], cr)
		}
	}
	if !reflect.DeepEqual(before, *t) {
		t.Version++
	}
}

// requestStop sets the desired status to STOPPED with the agent's stop code and reason, unless
// a stop was already asked for with its own.
func requestStop(t *model.Task, r model.TaskReport, now time.Time) {
	t.DesiredStatus = model.TaskStopped
	if t.StopCode == "" {
		t.StopCode = r.StopCode
	}
	if t.StoppedReason == "" {
		t.StoppedReason = r.StoppedReason
	}
	if t.Times.StoppingAt.IsZero() {
		t.Times.StoppingAt = now
	}
}

// containerOrder ranks container statuses; they move forward only.
var containerOrder = map[string]int{model.ContainerPending: 1, model.ContainerRunning: 2, model.ContainerStopped: 3}

func mergeContainer(c *model.Container, r model.ContainerReport) {
	if r.RuntimeID != "" {
		c.RuntimeID = r.RuntimeID
	}
	if r.ImageDigest != "" {
		c.ImageDigest = r.ImageDigest
	}
	if n := containerOrder[r.LastStatus]; n != 0 && n >= containerOrder[c.LastStatus] {
		c.LastStatus = r.LastStatus
	}
	if r.ExitCode != nil && c.ExitCode == nil {
		c.ExitCode = new(*r.ExitCode)
	}
	if r.Reason != "" && c.Reason == "" {
		c.Reason = r.Reason
	}
	if r.HealthStatus != "" {
		c.HealthStatus = r.HealthStatus
	}
}
