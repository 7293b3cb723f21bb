package taskrunner

import (
	"context"
	"sync"
	"time"

	"github.com/gantry-dev/gantry/internal/logx"
	"github.com/gantry-dev/gantry/internal/model"
)

// reportAttempts bounds the tries of one report; each report carries the whole state, so the
// next one repairs a report that was lost.
const reportAttempts = 3

// snapshot is the task as the runner knows it, as a report.
func (r *Runner) snapshot() model.TaskReport {
	t := r.cfg.Assignment.Task
	rep := model.TaskReport{
		Scope: t.Scope, Cluster: t.Cluster, TaskID: t.ID,
		LastStatus: r.known, HealthStatus: r.health,
		StopRequested: r.stop.Code != "", StopCode: r.stop.Code, StoppedReason: r.stop.Reason,
		PullStartedAt: r.times.PullStartedAt, PullStoppedAt: r.times.PullStoppedAt,
		StartedAt: r.times.StartedAt, ConnectivityAt: r.times.ConnectivityAt, StoppingAt: r.times.StoppingAt,
		ExecutionStoppedAt: r.times.ExecutionStoppedAt, StoppedAt: r.times.StoppedAt,
	}
	for _, c := range r.containers {
		cr := model.ContainerReport{Name: c.def.Name, ImageDigest: c.digest, LastStatus: c.status,
			Reason: c.reason, HealthStatus: c.health}
		if c.started {
			cr.RuntimeID = c.runtimeID
		}
		if c.exitCode != nil {
			code := *c.exitCode
			cr.ExitCode = &code
		}
		rep.Containers = append(rep.Containers, cr)
	}
	return rep
}

// report queues the current state for the control plane and returns at once: a start does not
// wait for the store's writes. Reports leave in order, one at a time; see reportQueue.
func (r *Runner) report(ctx context.Context) {
	rep := r.snapshot()
	r.publish(rep)
	r.reports.push(rep)
}

// sendReports delivers queued reports until the queue is closed and empty, or ctx ends.
func (r *Runner) sendReports(ctx context.Context) {
	for {
		rep, ok := r.reports.next(ctx)
		if !ok {
			return
		}
		r.sendReport(ctx, rep)
	}
}

// sendReport sends one report, retrying briefly; failures are logged, not returned.
func (r *Runner) sendReport(ctx context.Context, rep model.TaskReport) {
	var err error
	for i := range reportAttempts {
		if err = r.cfg.Reporter.ReportTask(ctx, rep); err == nil || ctx.Err() != nil {
			return
		}
		select {
		case <-time.After(time.Duration(i+1) * r.cfg.TimeUnit / 10):
		case <-ctx.Done():
			return
		}
	}
	r.log.Warn("report task", "status", rep.LastStatus, logx.KeyError, err)
}

// reportQueue holds the reports not yet sent. Each report carries the whole state, so a newer
// report of the same status replaces the queued one: every status the task passed through is
// still reported, in order, and the queue never holds more than one report per status.
type reportQueue struct {
	mu      sync.Mutex
	queue   []model.TaskReport
	closed  bool
	changed chan struct{} // signalled on push and close
}

func newReportQueue() *reportQueue { return &reportQueue{changed: make(chan struct{}, 1)} }

func (q *reportQueue) push(rep model.TaskReport) {
	q.mu.Lock()
	if n := len(q.queue); n > 0 && q.queue[n-1].LastStatus == rep.LastStatus {
		q.queue[n-1] = rep
	} else {
		q.queue = append(q.queue, rep)
	}
	q.mu.Unlock()
	q.signal()
}

// close lets next return false once the queue is empty.
func (q *reportQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.signal()
}

func (q *reportQueue) signal() {
	select {
	case q.changed <- struct{}{}:
	default:
	}
}

// next takes the oldest queued report, waiting for one; false when the queue is closed and
// empty or ctx ended.
func (q *reportQueue) next(ctx context.Context) (model.TaskReport, bool) {
	for {
		q.mu.Lock()
		if len(q.queue) > 0 {
			rep := q.queue[0]
			q.queue = q.queue[1:]
			q.mu.Unlock()
			return rep, true
		}
		closed := q.closed
		q.mu.Unlock()
		if closed {
			return model.TaskReport{}, false
		}
		select {
		case <-q.changed:
		case <-ctx.Done():
			return model.TaskReport{}, false
		}
	}
}
