// Package agent is the host side of gantry: it registers the host, receives the tasks placed on
// it, runs one taskrunner per task, reports their status and re-adopts them after a restart.
package agent

import (
	"context"

	"github.com/gantry-dev/gantry/internal/model"
)

// Control is the agent's link to the control plane.
type Control interface {
	RegisterHost(ctx context.Context, h model.Host) error
	Heartbeat(ctx context.Context, hostID string) error
	WatchAssignments(ctx context.Context, hostID string) (<-chan model.Assignment, error) // every non-STOPPED task placed on the host (with its definition) first, then each change (e.g. DesiredStatus -> STOPPED), until ctx ends
	ReportTask(ctx context.Context, r model.TaskReport) error                             // idempotent; LastStatus never moves backwards
	// WatchNetwork sends the VPC's whole security snapshot (groups, subnets, memberships) at
	// once and again on every change, until ctx ends; a newer Revision replaces an older one.
	WatchNetwork(ctx context.Context, vpcID string) (<-chan model.NetworkSnapshot, error)
}
