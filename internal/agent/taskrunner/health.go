package taskrunner

import (
	"context"
	"strings"
	"time"

	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/runtime"
)

// healthPolicy is a container health check with ECS's defaults applied, in time units.
type healthPolicy struct {
	Args        []string
	Interval    time.Duration
	Timeout     time.Duration
	Retries     int
	StartPeriod time.Duration
}

// newHealthPolicy applies ECS's defaults (interval 30, timeout 5, retries 3, startPeriod 0);
// unit is one second, shortened in tests. It returns false when the container has no check.
func newHealthPolicy(hc *model.HealthCheck, unit time.Duration) (healthPolicy, bool) {
	if hc == nil || len(hc.Command) == 0 {
		return healthPolicy{}, false
	}
	args := hc.Command
	switch args[0] {
	case "CMD":
		args = args[1:]
	case "CMD-SHELL":
		args = []string{"/bin/sh", "-c", strings.Join(args[1:], " ")}
	case "NONE":
		return healthPolicy{}, false
	}
	if len(args) == 0 {
		return healthPolicy{}, false
	}
	orDefault := func(p *int, def int) int {
		if p == nil {
			return def
		}
		return *p
	}
	return healthPolicy{
		Args:        args,
		Interval:    time.Duration(orDefault(hc.Interval, 30)) * unit,
		Timeout:     time.Duration(orDefault(hc.Timeout, 5)) * unit,
		Retries:     max(orDefault(hc.Retries, 3), 1),
		StartPeriod: time.Duration(orDefault(hc.StartPeriod, 0)) * unit,
	}, true
}

// healthTracker turns probe results into a health status, as Docker does: UNKNOWN until the
// first verdict; one success is HEALTHY; Retries consecutive failures are UNHEALTHY; failures in
// the start period do not count until a probe has succeeded.
type healthTracker struct {
	policy    healthPolicy
	startedAt time.Time
	status    string
	failures  int
	passed    bool // a probe has succeeded at least once
}

func newHealthTracker(p healthPolicy, startedAt time.Time, status string) *healthTracker {
	if status == "" {
		status = model.HealthUnknown
	}
	return &healthTracker{policy: p, startedAt: startedAt, status: status, passed: status == model.HealthHealthy}
}

// observe records one probe result at now and returns the status.
func (h *healthTracker) observe(ok bool, now time.Time) string {
	if ok {
		h.failures, h.passed, h.status = 0, true, model.HealthHealthy
		return h.status
	}
	if !h.passed && now.Sub(h.startedAt) < h.policy.StartPeriod {
		return h.status
	}
	h.failures++
	if h.failures >= h.policy.Retries {
		h.status = model.HealthUnhealthy
	}
	return h.status
}

// checkHealth probes a container every interval until ctx ends, sending each status change.
func (r *Runner) checkHealth(ctx context.Context, name string, tr *healthTracker) {
	tick := time.NewTicker(tr.policy.Interval)
	defer tick.Stop()
	last := tr.status
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		res, err := r.cfg.Runtime.Exec(ctx, r.id, name, runtime.ExecSpec{Args: tr.policy.Args, Timeout: tr.policy.Timeout, MaxOutput: 4096})
		if ctx.Err() != nil {
			return
		}
		ok := err == nil && !res.TimedOut && res.ExitCode == 0
		if st := tr.observe(ok, r.now()); st != last {
			last = st
			select {
			case r.events <- event{kind: evHealth, name: name, health: st}:
			case <-ctx.Done():
				return
			}
		}
	}
}

// taskHealth is UNHEALTHY if any essential container is, HEALTHY if every essential container
// with a health check is, and UNKNOWN otherwise (also when no essential container has a check).
func taskHealth(cs []*container) string {
	checked, healthy := 0, 0
	for _, c := range cs {
		if !c.def.IsEssential() || !c.hasCheck {
			continue
		}
		checked++
		switch c.health {
		case model.HealthUnhealthy:
			return model.HealthUnhealthy
		case model.HealthHealthy:
			healthy++
		}
	}
	if checked > 0 && healthy == checked {
		return model.HealthHealthy
	}
	return model.HealthUnknown
}
