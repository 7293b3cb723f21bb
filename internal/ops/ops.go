// Package ops implements the AWS operations, transport-free: defaults, validation, ARNs and
// read-modify-write on the store.
package ops

import (
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
}

// NewECS returns the ECS operations over s.
func NewECS(s *store.Store, logger *slog.Logger) *ECS {
	return &ECS{store: s, now: time.Now, logger: logger.With("component", "ops.ecs")}
}

// SetClock replaces the clock, for tests.
func (e *ECS) SetClock(c model.Clock) { e.now = c }
