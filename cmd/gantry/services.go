package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/controller/service"
	"github.com/gantry-dev/gantry/internal/logx"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/ops"
	"github.com/gantry-dev/gantry/internal/store"
)

// leaderTTL is how long, in seconds, a dead leader keeps the controllers from running elsewhere.
const leaderTTL = 3

// runControllers campaigns for the controllers' leadership and, while leading, runs them (the
// service controller, and the sweep of stopped tasks older than retention); a lost leadership
// stops them and campaigns again. It returns when ctx ends.
func runControllers(ctx context.Context, st *store.Store, ecsOps *ops.ECS, targets service.TargetRegistry, retention time.Duration, logger *slog.Logger) {
	host, _ := os.Hostname()
	id := fmt.Sprintf("%s/%d", host, os.Getpid())
	for ctx.Err() == nil {
		lead, err := st.Lead(ctx, "controllers", id, leaderTTL)
		if err != nil {
			if ctx.Err() == nil {
				logger.Warn("controllers: campaign failed", logx.KeyError, err)
				sleepCtx(ctx, time.Second)
			}
			continue
		}
		logger.Info("controllers: leading", "id", id)
		lctx, cancel := context.WithCancel(ctx)
		var wg sync.WaitGroup
		wg.Go(func() { _ = service.New(st, serviceTasks{ecsOps}, targets, logger).Run(lctx) })
		if retention > 0 {
			wg.Go(func() { reapStopped(lctx, ecsOps, retention, logger) })
		}
		select {
		case <-ctx.Done():
		case <-lead.Done():
			logger.Warn("controllers: leadership lost")
		}
		cancel()
		wg.Wait()
		rctx, rcancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = lead.Resign(rctx)
		rcancel()
	}
}

// reapStopped deletes stopped tasks older than retention until ctx ends, sweeping a few times
// per retention (at least every minute, at most every second).
func reapStopped(ctx context.Context, ecsOps *ops.ECS, retention time.Duration, logger *slog.Logger) {
	runEvery(ctx, min(max(retention/4, time.Second), time.Minute), func(ctx context.Context) {
		n, err := ecsOps.ReapStopped(ctx, retention)
		switch {
		case err != nil && ctx.Err() == nil:
			logger.Warn("reap stopped tasks", logx.KeyError, err)
		case n.Tasks > 0 || n.Tokens > 0:
			logger.Debug("reaped stopped tasks", "tasks", n.Tasks, "client_tokens", n.Tokens)
		}
	})
}

// runEvery calls fn every d, the first time after d, until ctx ends.
func runEvery(ctx context.Context, d time.Duration, fn func(context.Context)) {
	for {
		sleepCtx(ctx, d)
		if ctx.Err() != nil {
			return
		}
		fn(ctx)
	}
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// serviceTasks adapts the ECS operations to the service controller's TaskLauncher.
type serviceTasks struct{ ops *ops.ECS }

func (s serviceTasks) LaunchServiceTask(ctx context.Context, req service.LaunchRequest) (model.Task, string, error) {
	return s.ops.LaunchServiceTask(ctx, ops.ServiceTaskInput{Service: req.Service, Deployment: req.Deployment,
		Token: req.Token, Subnets: req.Subnets})
}

func (s serviceTasks) StopServiceTask(ctx context.Context, sc model.Scope, cluster, taskID, reason string) error {
	return s.ops.StopServiceTask(ctx, sc, cluster, taskID, reason)
}

// serviceTargets adapts the ELBv2 operations to the service controller's TargetRegistry.
type serviceTargets struct{ elb *ops.ELBv2 }

func elbTargets(in []service.Target) []model.Target {
	out := make([]model.Target, len(in))
	for i, t := range in {
		out[i] = model.Target{ID: t.IP, Port: int32(t.Port)}
	}
	return out
}

func (s serviceTargets) RegisterTargets(ctx context.Context, sc model.Scope, tg string, targets []service.Target) error {
	return s.elb.RegisterTargets(ctx, sc, tg, elbTargets(targets))
}

func (s serviceTargets) DeregisterTargets(ctx context.Context, sc model.Scope, tg string, targets []service.Target) error {
	return s.elb.DeregisterTargets(ctx, sc, tg, elbTargets(targets))
}

func (s serviceTargets) TargetHealth(ctx context.Context, sc model.Scope, tg string) (map[service.Target]string, error) {
	hs, err := s.elb.DescribeTargetHealth(ctx, sc, tg, nil)
	if err != nil {
		return nil, err
	}
	out := make(map[service.Target]string, len(hs))
	for _, h := range hs {
		out[service.Target{IP: h.ID, Port: int(h.Port)}] = h.State
	}
	return out, nil
}

// targetGroupLookup adapts the ELBv2 operations to what services check of a target group.
func targetGroupLookup(elb *ops.ELBv2) ops.TargetGroupLookup {
	return func(ctx context.Context, sc model.Scope, arn string) (ops.TargetGroupInfo, error) {
		v, err := elb.TargetGroup(ctx, sc, arn)
		if err != nil {
			if errors.Is(err, apierr.NotFound) {
				return ops.TargetGroupInfo{}, apierr.NotFound
			}
			return ops.TargetGroupInfo{}, err
		}
		return ops.TargetGroupInfo{ARN: v.ARN, TargetType: v.TargetType, VpcID: v.VpcID, Attached: len(v.LoadBalancerARNs) > 0}, nil
	}
}
