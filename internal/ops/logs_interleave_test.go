package ops_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/ops"
)

// TestFilterLogEventsInterleaves: events of several streams come back in one timestamp order
// (ties by stream name, then by place in the stream), whatever the page size, each once, as
// AWS answers FilterLogEvents (and as `aws logs tail` prints them).
func TestFilterLogEventsInterleaves(t *testing.T) {
	now := time.UnixMilli(1_700_000_000_000)
	ms := now.UnixMilli()
	l := newLogs(t, now)
	ctx := t.Context()
	if err := l.CreateLogGroup(ctx, logsScope, "g", ops.LogGroupSettings{}); err != nil {
		t.Fatal(err)
	}
	type ev struct {
		stream string
		ts     int64
		msg    string
	}
	var all []ev
	streams := []string{"b", "a", "c"}
	for _, s := range streams {
		if err := l.CreateLogStream(ctx, logsScope, "g", s); err != nil {
			t.Fatal(err)
		}
	}
	// Stream i writes at times i, i+3, i+6 ... in batches of 4, and stream "a" writes three
	// events at each of its times, so ties within a stream and across pages occur.
	for si, s := range streams {
		var batch []ops.InputLogEvent
		flush := func() {
			if len(batch) == 0 {
				return
			}
			if _, err := l.PutLogEvents(ctx, logsScope, "g", s, batch); err != nil {
				t.Fatal(err)
			}
			batch = nil
		}
		for k := range 12 {
			ts := ms - 10_000 + int64(si+3*k)
			copies := 1
			if s == "a" {
				copies = 3
			}
			for c := range copies {
				m := fmt.Sprintf("%s %d %d", s, k, c)
				if k%4 == 0 {
					m += " ERROR"
				}
				batch = append(batch, ops.InputLogEvent{Timestamp: ts, Message: m})
				all = append(all, ev{s, ts, m})
			}
			if len(batch) >= 4 {
				flush()
			}
		}
		flush()
	}
	slices.SortStableFunc(all, func(x, y ev) int {
		if x.ts != y.ts {
			return int(x.ts - y.ts)
		}
		if x.stream != y.stream {
			if x.stream < y.stream {
				return -1
			}
			return 1
		}
		return 0 // put order, kept by the stable sort
	})
	want := func(pattern string) []string {
		var out []string
		for _, e := range all {
			if pattern == "" || pattern == "ERROR" && len(e.msg) > 6 && e.msg[len(e.msg)-5:] == "ERROR" {
				out = append(out, e.stream+": "+e.msg)
			}
		}
		return out
	}
	for _, pattern := range []string{"", "ERROR"} {
		for _, limit := range []int{1, 2, 3, 5, 7, 10000} {
			q := ops.FilterLogEventsQuery{Pattern: pattern, Limit: &limit}
			var got []string
			ids := map[string]bool{}
			for page := 0; ; page++ {
				res, err := l.FilterLogEvents(ctx, logsScope, "g", q)
				if err != nil {
					t.Fatal(err)
				}
				if len(res.Events) > limit {
					t.Fatalf("limit %d: page of %d events", limit, len(res.Events))
				}
				for _, e := range res.Events {
					got = append(got, e.Stream+": "+e.Message)
					if ids[e.EventID] {
						t.Errorf("event id %s twice", e.EventID)
					}
					ids[e.EventID] = true
				}
				if res.Token == "" {
					break
				}
				if page > 200 {
					t.Fatal("paging does not end")
				}
				q.Token = res.Token
			}
			if w := want(pattern); !slices.Equal(got, w) {
				t.Errorf("pattern %q limit %d:\n got %v\nwant %v", pattern, limit, got, w)
			}
		}
	}
	bad := []string{"garbage!", "bjpub3Q"}
	for _, tok := range bad {
		_, err := l.FilterLogEvents(ctx, logsScope, "g", ops.FilterLogEventsQuery{Token: tok})
		if !errors.Is(err, apierr.InvalidParameter) {
			t.Errorf("token %q: %v, want InvalidParameter", tok, err)
		}
	}
}

// TestFilterLogEventsManyStreamsPaging: with more events per stream than a stream's share of a
// page, the merge still answers every event once, in order, page after page.
func TestFilterLogEventsManyStreamsPaging(t *testing.T) {
	now := time.UnixMilli(1_700_000_000_000)
	base := now.UnixMilli() - 100_000
	l := newLogs(t, now)
	ctx := t.Context()
	if err := l.CreateLogGroup(ctx, logsScope, "g", ops.LogGroupSettings{}); err != nil {
		t.Fatal(err)
	}
	const streams, per = 5, 700
	for si := range streams {
		name := fmt.Sprint("s", si)
		if err := l.CreateLogStream(ctx, logsScope, "g", name); err != nil {
			t.Fatal(err)
		}
		for from := 0; from < per; from += 100 {
			var batch []ops.InputLogEvent
			for i := from; i < from+100; i++ {
				// Stream 0 writes twice as densely early on, so the streams' shares differ.
				ts := base + int64(i*streams+si)
				if si == 0 {
					ts = base + int64(i*streams/2)
				}
				batch = append(batch, ops.InputLogEvent{Timestamp: ts, Message: fmt.Sprintf("%s %04d", name, i)})
			}
			if _, err := l.PutLogEvents(ctx, logsScope, "g", name, batch); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, limit := range []int{150, 1000, 10000} {
		q := ops.FilterLogEventsQuery{Limit: &limit}
		var n, pages int
		var last ops.FilteredLogEvent
		seen := map[string]bool{}
		for {
			res, err := l.FilterLogEvents(ctx, logsScope, "g", q)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			for _, e := range res.Events {
				if n > 0 && (e.Timestamp < last.Timestamp || e.Timestamp == last.Timestamp && e.Stream < last.Stream) {
					t.Fatalf("limit %d: %s %q after %s %q: out of order", limit, e.Stream, e.Message, last.Stream, last.Message)
				}
				if seen[e.EventID] {
					t.Fatalf("limit %d: %s %q twice", limit, e.Stream, e.Message)
				}
				seen[e.EventID], last = true, e
				n++
			}
			if res.Token == "" || pages > 1000 {
				break
			}
			q.Token = res.Token
		}
		if n != streams*per {
			t.Errorf("limit %d: %d events in %d pages, want %d", limit, n, pages, streams*per)
		}
	}
}
