package taskrunner

import (
	"context"
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

// report sends the current state, retrying briefly; failures are logged, not returned.
func (r *Runner) report(ctx context.Context) {
	rep := r.snapshot()
	r.publish(rep)
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
