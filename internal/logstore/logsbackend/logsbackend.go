// Package logsbackend serves the log store as the Logs operations' ops.LogEventStore.
package logsbackend

import (
	"errors"
	"time"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/logstore"
	"github.com/gantry-dev/gantry/internal/ops"
)

// Backend adapts a *logstore.Store to ops.LogEventStore.
type Backend struct{ s *logstore.Store }

var _ ops.LogEventStore = Backend{}

// New returns the adapter over s.
func New(s *logstore.Store) Backend { return Backend{s: s} }

func kindOf(err error) error {
	switch {
	case errors.Is(err, logstore.ErrStreamExists):
		return apierr.New(apierr.AlreadyExists, err.Error())
	case errors.Is(err, logstore.ErrStreamNotFound):
		return apierr.New(apierr.NotFound, err.Error())
	case errors.Is(err, logstore.ErrBadToken):
		return apierr.New(apierr.InvalidParameter, "The specified nextToken is invalid.")
	}
	return err
}

// CreateStream implements ops.LogEventStore.
func (b Backend) CreateStream(group, stream string, createdAt time.Time) error {
	return kindOf(b.s.CreateStream(group, stream, createdAt.UnixMilli()))
}

// DeleteStream implements ops.LogEventStore.
func (b Backend) DeleteStream(group, stream string) error {
	return kindOf(b.s.DeleteStream(group, stream))
}

// DeleteGroup implements ops.LogEventStore.
func (b Backend) DeleteGroup(group string) error { return b.s.DeleteGroup(group) }

// SetRetention implements ops.LogEventStore.
func (b Backend) SetRetention(group string, days int) error { return b.s.SetRetention(group, days) }

func infoOut(in logstore.StreamInfo) ops.LogStreamInfo {
	return ops.LogStreamInfo{Name: in.Name, CreatedAt: in.CreatedAt, FirstEventTime: in.FirstEventTime,
		LastEventTime: in.LastEventTime, LastIngestionTime: in.LastIngestionTime, StoredBytes: in.StoredBytes}
}

// Streams implements ops.LogEventStore.
func (b Backend) Streams(group string) ([]ops.LogStreamInfo, error) {
	infos, err := b.s.Streams(group)
	if err != nil {
		return nil, err
	}
	out := make([]ops.LogStreamInfo, len(infos))
	for i, in := range infos {
		out[i] = infoOut(in)
	}
	return out, nil
}

// Stream implements ops.LogEventStore.
func (b Backend) Stream(group, stream string) (ops.LogStreamInfo, error) {
	in, err := b.s.Stream(group, stream)
	return infoOut(in), kindOf(err)
}

// Append implements ops.LogEventStore.
func (b Backend) Append(group, stream string, events []ops.LogEvent) error {
	in := make([]logstore.Event, len(events))
	for i, e := range events {
		in[i] = logstore.Event{Timestamp: e.Timestamp, Message: e.Message}
	}
	_, err := b.s.Append(group, stream, in)
	return kindOf(err)
}

// Read implements ops.LogEventStore.
func (b Backend) Read(group, stream string, q ops.LogQuery) (ops.LogPage, error) {
	lq := logstore.Query{Start: q.Start, End: q.End, Backward: q.Backward, Limit: q.Limit,
		MaxBytes: q.MaxBytes, Overhead: q.Overhead, MaxScan: q.MaxScan, Positions: q.Positions}
	if q.Token != "" {
		p, err := logstore.ParsePos(q.Token)
		if err != nil {
			return ops.LogPage{}, kindOf(err)
		}
		lq.From = &p
	}
	if q.Match != nil {
		lq.Match = func(e logstore.Event) bool { return q.Match(eventOut(e)) }
	}
	pg, err := b.s.Read(group, stream, lq)
	if err != nil {
		return ops.LogPage{}, kindOf(err)
	}
	out := ops.LogPage{Events: make([]ops.LogEvent, len(pg.Events)), Start: pg.Start.String(), Next: pg.Next.String(), End: pg.End}
	for i, e := range pg.Events {
		out.Events[i] = eventOut(e)
	}
	if q.Positions {
		out.PosAt = func(i int) string { return pg.Positions[i].String() }
	}
	return out, nil
}

func eventOut(e logstore.Event) ops.LogEvent {
	return ops.LogEvent{Timestamp: e.Timestamp, Message: e.Message, IngestionTime: e.IngestionTime, Seq: e.Seq}
}
