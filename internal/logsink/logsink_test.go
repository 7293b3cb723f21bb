package logsink_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/agent/taskrunner"
	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/logsink"
	"github.com/gantry-dev/gantry/internal/logstore"
	"github.com/gantry-dev/gantry/internal/logstore/logsbackend"
	"github.com/gantry-dev/gantry/internal/logx"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/ops"
	"github.com/gantry-dev/gantry/internal/store"
	"github.com/gantry-dev/gantry/internal/testutil"
)

var _ taskrunner.LogSink = (*logsink.Sink)(nil)

func TestSink(t *testing.T) {
	cli, prefix := testutil.Etcd(t)
	ls, err := logstore.Open(t.TempDir(), logstore.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ls.Close() })
	logs := ops.NewLogs(store.New(cli, prefix), logsbackend.New(ls), logx.Discard())
	s := logsink.New(logs)
	ctx := t.Context()
	dst := model.LogDestination{Scope: model.Scope{Account: model.DefaultAccount, Region: "us-east-1"}, Group: "/ecs/app", Stream: "ecs/app/t1"}

	if err := s.EnsureStream(ctx, dst); !errors.Is(err, apierr.NotFound) {
		t.Fatalf("stream in a missing group: %v, want NotFound", err)
	}
	for range 2 {
		if err := s.EnsureGroup(ctx, dst.Scope, dst.Group); err != nil {
			t.Fatal(err)
		}
		if err := s.EnsureStream(ctx, dst); err != nil {
			t.Fatal(err)
		}
	}
	if tail, err := s.Tail(ctx, dst); err != nil || tail != 0 {
		t.Fatalf("tail of an empty stream = %d, %v", tail, err)
	}
	now := time.Now()
	if err := s.Put(ctx, dst, []model.LogEvent{{Timestamp: now, Message: "a"}, {Timestamp: now, Message: "b"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, dst, []model.LogEvent{{Timestamp: now.Add(time.Millisecond), Message: "c"}}); err != nil {
		t.Fatal(err)
	}
	if tail, err := s.Tail(ctx, dst); err != nil || tail != 3 {
		t.Fatalf("tail = %d, %v; want 3", tail, err)
	}
	res, err := logs.GetLogEvents(ctx, dst.Scope, dst.Group, dst.Stream, ops.GetLogEventsQuery{StartFromHead: true})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range res.Events {
		got = append(got, e.Message)
	}
	if !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Fatalf("events = %q", got)
	}
}
