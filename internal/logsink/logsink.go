// Package logsink serves the CloudWatch Logs operations to the agent's awslogs driver: it is
// taskrunner.LogSink over ops.Logs, for an agent running in the server's process.
package logsink

import (
	"context"
	"errors"
	"fmt"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/ops"
)

// Sink puts container output into log streams through the Logs operations, so the events obey
// the same rules (and land in the same store) as PutLogEvents'.
type Sink struct {
	logs *ops.Logs
}

// New returns a sink over logs.
func New(logs *ops.Logs) *Sink { return &Sink{logs: logs} }

// EnsureGroup creates the group unless it exists (awslogs-create-group).
func (s *Sink) EnsureGroup(ctx context.Context, sc model.Scope, group string) error {
	return s.logs.EnsureLogGroup(ctx, sc, group)
}

// EnsureStream creates the stream unless it exists; a missing group is an apierr.NotFound.
func (s *Sink) EnsureStream(ctx context.Context, dst model.LogDestination) error {
	return s.logs.EnsureLogStream(ctx, dst.Scope, dst.Group, dst.Stream)
}

// Put stores the events as one append; events CloudWatch rejects for their age are dropped,
// as the awslogs driver drops them.
func (s *Sink) Put(ctx context.Context, dst model.LogDestination, events []model.LogEvent) error {
	in := make([]ops.InputLogEvent, len(events))
	for i, e := range events {
		in[i] = ops.InputLogEvent{Timestamp: e.Timestamp.UnixMilli(), Message: e.Message}
	}
	_, err := s.logs.PutLogEvents(ctx, dst.Scope, dst.Group, dst.Stream, in)
	return err
}

// Tail is the sequence number of the stream's last event, 0 when it has none.
func (s *Sink) Tail(ctx context.Context, dst model.LogDestination) (uint64, error) {
	one := 1
	res, err := s.logs.GetLogEvents(ctx, dst.Scope, dst.Group, dst.Stream, ops.GetLogEventsQuery{Limit: &one})
	if errors.Is(err, apierr.NotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("log stream %q tail: %w", dst.Stream, err)
	}
	var seq uint64
	for _, e := range res.Events {
		seq = max(seq, e.Seq)
	}
	return seq, nil
}
