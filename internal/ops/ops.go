// Package ops implements the AWS operations, transport-free: defaults, validation, ARNs and
// read-modify-write on the store.
package ops

import (
	"context"
	"log/slog"
	"time"

	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/store"
)

// ECS serves the ECS operations.
type ECS struct {
	store  *store.Store
	now    model.Clock
	logger *slog.Logger
	// countCluster, when set, counts a cluster's tasks and services; later issues set it, and
	// tests replace it.
	countCluster func(ctx context.Context, sc model.Scope, name string) (model.ClusterCounts, error)
	// placement configures where RunTask places tasks (tasks.go).
	placement placementConfig
	// targetGroups looks up the target groups of services' loadBalancers (services.go).
	targetGroups TargetGroupLookup
}

// NewECS returns the ECS operations over s.
func NewECS(s *store.Store, logger *slog.Logger) *ECS {
	e := &ECS{store: s, now: time.Now, logger: logger.With("component", "ops.ecs")}
	e.countCluster = e.countTasksAndServices
	return e
}

// SetClock replaces the clock, for tests.
func (e *ECS) SetClock(c model.Clock) { e.now = c }
