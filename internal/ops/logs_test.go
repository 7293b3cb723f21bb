package ops_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/logstore"
	"github.com/gantry-dev/gantry/internal/logstore/logsbackend"
	"github.com/gantry-dev/gantry/internal/logx"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/ops"
	"github.com/gantry-dev/gantry/internal/store"
	"github.com/gantry-dev/gantry/internal/testutil"
)

var logsScope = model.Scope{Account: model.DefaultAccount, Region: "us-east-1"}

func newLogs(t *testing.T, now time.Time) *ops.Logs {
	t.Helper()
	cli, prefix := testutil.Etcd(t)
	ls, err := logstore.Open(t.TempDir(), logstore.Options{NoSync: true, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ls.Close() })
	l := ops.NewLogs(store.New(cli, prefix), logsbackend.New(ls), logx.Discard())
	l.SetClock(func() time.Time { return now })
	return l
}

func TestLogGroups(t *testing.T) {
	now := time.UnixMilli(1_700_000_000_000)
	l := newLogs(t, now)
	ctx := t.Context()
	for _, n := range []string{"/ecs/web", "/ecs/api", "/lambda/fn", "other"} {
		if err := l.CreateLogGroup(ctx, logsScope, n, ops.LogGroupSettings{Tags: map[string]string{"team": "a"}}); err != nil {
			t.Fatal(err)
		}
	}
	errTests := []struct {
		name string
		err  error
		kind apierr.Kind
	}{
		{"exists", l.CreateLogGroup(ctx, logsScope, "/ecs/web", ops.LogGroupSettings{}), apierr.AlreadyExists},
		{"bad name", l.CreateLogGroup(ctx, logsScope, "bad name", ops.LogGroupSettings{}), apierr.InvalidParameter},
		{"bad retention", l.PutRetentionPolicy(ctx, logsScope, "/ecs/web", 2), apierr.InvalidParameter},
		{"retention missing group", l.PutRetentionPolicy(ctx, logsScope, "/nope", 7), apierr.NotFound},
		{"delete missing", l.DeleteLogGroup(ctx, logsScope, "/nope"), apierr.NotFound},
		{"bad class", l.CreateLogGroup(ctx, logsScope, "x", ops.LogGroupSettings{Class: "GOLD"}), apierr.InvalidParameter},
	}
	for _, tt := range errTests {
		if !errors.Is(tt.err, tt.kind) {
			t.Errorf("%s: %v, want %v", tt.name, tt.err, tt.kind)
		}
	}
	if err := l.PutRetentionPolicy(ctx, logsScope, "/ecs/web", 14); err != nil {
		t.Fatal(err)
	}
	names := func(q ops.LogGroupQuery) ([]string, string) {
		gs, next, err := l.DescribeLogGroups(ctx, logsScope, q)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, g := range gs {
			out = append(out, g.Name)
		}
		return out, next
	}
	one := 1
	tests := []struct {
		name string
		q    ops.LogGroupQuery
		want string
	}{
		{"all", ops.LogGroupQuery{}, "[/ecs/api /ecs/web /lambda/fn other]"},
		{"prefix", ops.LogGroupQuery{Prefix: "/ecs/"}, "[/ecs/api /ecs/web]"},
		{"pattern", ops.LogGroupQuery{Pattern: "web"}, "[/ecs/web]"},
		{"pattern case-sensitive", ops.LogGroupQuery{Pattern: "WEB"}, "[]"},
		{"limit", ops.LogGroupQuery{Limit: &one}, "[/ecs/api]"},
	}
	for _, tt := range tests {
		if got, _ := names(tt.q); fmt.Sprint(got) != tt.want {
			t.Errorf("%s: %v, want %s", tt.name, got, tt.want)
		}
	}
	var all []string
	tok := ""
	for {
		got, next := names(ops.LogGroupQuery{Limit: &one, Token: tok})
		all = append(all, got...)
		if next == "" {
			break
		}
		tok = next
	}
	if fmt.Sprint(all) != "[/ecs/api /ecs/web /lambda/fn other]" {
		t.Errorf("paged: %v", all)
	}
	gs, _, _ := l.DescribeLogGroups(ctx, logsScope, ops.LogGroupQuery{Prefix: "/ecs/web"})
	if g := gs[0]; g.RetentionDays != 14 || g.ARN != "arn:aws:logs:us-east-1:000000000000:log-group:/ecs/web:*" || !g.CreatedAt.Equal(now) {
		t.Errorf("group %+v", g)
	}
	if err := l.TagResource(ctx, logsScope, "arn:aws:logs:us-east-1:000000000000:log-group:/ecs/web", map[string]string{"env": "prod"}); err != nil {
		t.Fatal(err)
	}
	if err := l.UntagLogGroup(ctx, logsScope, "/ecs/web", []string{"team"}); err != nil {
		t.Fatal(err)
	}
	tags, err := l.ListTagsForResource(ctx, logsScope, "arn:aws:logs:us-east-1:000000000000:log-group:/ecs/web:*")
	if err != nil || fmt.Sprint(tags) != "map[env:prod]" {
		t.Errorf("tags %v %v", tags, err)
	}
}

func TestPutLogEventsRules(t *testing.T) {
	now := time.UnixMilli(1_700_000_000_000)
	ms := now.UnixMilli()
	l := newLogs(t, now)
	ctx := t.Context()
	if err := l.CreateLogGroup(ctx, logsScope, "g", ops.LogGroupSettings{}); err != nil {
		t.Fatal(err)
	}
	if err := l.CreateLogStream(ctx, logsScope, "g", "s"); err != nil {
		t.Fatal(err)
	}
	ev := func(ts int64, msg string) ops.InputLogEvent { return ops.InputLogEvent{Timestamp: ts, Message: msg} }
	big := make([]ops.InputLogEvent, 10001)
	for i := range big {
		big[i] = ev(ms, "x")
	}
	day := int64(86400_000)
	tests := []struct {
		name   string
		events []ops.InputLogEvent
		kind   apierr.Kind
		rej    string
	}{
		{"ok", []ops.InputLogEvent{ev(ms-1, "a"), ev(ms, "b")}, "", "<nil>"},
		{"empty", nil, apierr.InvalidParameter, ""},
		{"too many", big, apierr.InvalidParameter, ""},
		{"out of order", []ops.InputLogEvent{ev(ms, "a"), ev(ms-1, "b")}, apierr.InvalidParameter, ""},
		{"span over 24h", []ops.InputLogEvent{ev(ms-day-1, "a"), ev(ms, "b")}, apierr.InvalidParameter, ""},
		{"empty message", []ops.InputLogEvent{ev(ms, "")}, apierr.InvalidParameter, ""},
		{"too large", []ops.InputLogEvent{ev(ms, string(make([]byte, 600_000))), ev(ms, string(make([]byte, 600_000)))}, apierr.InvalidParameter, ""},
		{"too old", []ops.InputLogEvent{ev(ms-14*day-2, "old"), ev(ms-14*day-1, "old"), ev(ms-14*day+1, "ok")}, "", "old<2>expired<nil>new<nil>"},
		{"too new", []ops.InputLogEvent{ev(ms, "ok"), ev(ms+3*3600_000, "new")}, "", "old<nil>expired<nil>new<1>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rej, err := l.PutLogEvents(ctx, logsScope, "g", "s", tt.events)
			if tt.kind != "" {
				if !errors.Is(err, tt.kind) {
					t.Fatalf("err %v, want %v", err, tt.kind)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := "<nil>"
			if rej != nil {
				got = fmt.Sprintf("old%sexpired%snew%s", ip(rej.TooOldEndIndex), ip(rej.ExpiredEndIndex), ip(rej.TooNewStartIndex))
			}
			if got != tt.rej {
				t.Errorf("rejected %s, want %s", got, tt.rej)
			}
		})
	}
	if _, err := l.PutLogEvents(ctx, logsScope, "g", "nope", []ops.InputLogEvent{ev(ms, "a")}); !errors.Is(err, apierr.NotFound) || apierr.Message(err) != "The specified log stream does not exist." {
		t.Errorf("missing stream: %v", err)
	}
	if _, err := l.PutLogEvents(ctx, logsScope, "nope", "s", []ops.InputLogEvent{ev(ms, "a")}); apierr.Message(err) != "The specified log group does not exist." {
		t.Errorf("missing group: %v", err)
	}
	res, err := l.GetLogEvents(ctx, logsScope, "g", "s", ops.GetLogEventsQuery{StartFromHead: true})
	if err != nil {
		t.Fatal(err)
	}
	var msgs []string
	for _, e := range res.Events {
		msgs = append(msgs, e.Message)
	}
	if fmt.Sprint(msgs) != "[a b ok ok]" {
		t.Errorf("stored %v", msgs)
	}
}

func ip(p *int) string {
	if p == nil {
		return "<nil>"
	}
	return fmt.Sprintf("<%d>", *p)
}

func TestGetAndFilterLogEvents(t *testing.T) {
	now := time.UnixMilli(1_700_000_000_000)
	ms := now.UnixMilli()
	l := newLogs(t, now)
	ctx := t.Context()
	if err := l.CreateLogGroup(ctx, logsScope, "g", ops.LogGroupSettings{}); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"app/web/1", "app/web/2", "other"} {
		if err := l.CreateLogStream(ctx, logsScope, "g", s); err != nil {
			t.Fatal(err)
		}
		var evs []ops.InputLogEvent
		for i := range 25 {
			lvl := "INFO"
			if i%5 == 0 {
				lvl = "ERROR"
			}
			evs = append(evs, ops.InputLogEvent{Timestamp: ms - 1000 + int64(i), Message: fmt.Sprintf("%s %s line %d", lvl, s, i)})
		}
		if _, err := l.PutLogEvents(ctx, logsScope, "g", s, evs); err != nil {
			t.Fatal(err)
		}
	}
	// Forward paging from the head, as `aws logs get-log-events --start-from-head` does.
	limit := 10
	var got int
	q := ops.GetLogEventsQuery{StartFromHead: true, Limit: &limit}
	for i := 0; ; i++ {
		res, err := l.GetLogEvents(ctx, logsScope, "g", "app/web/1", q)
		if err != nil {
			t.Fatal(err)
		}
		got += len(res.Events)
		if res.ForwardToken == q.Token {
			break
		}
		if i > 10 {
			t.Fatal("paging does not terminate")
		}
		q.Token = res.ForwardToken
	}
	if got != 25 {
		t.Errorf("paged %d events", got)
	}
	// The default reads the newest events, oldest first, and pages backward.
	res, err := l.GetLogEvents(ctx, logsScope, "g", "app/web/1", ops.GetLogEventsQuery{Limit: &limit})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Events) != 10 || res.Events[0].Message != "ERROR app/web/1 line 15" || res.Events[9].Message != "INFO app/web/1 line 24" {
		t.Errorf("tail page %v", res.Events)
	}
	back, err := l.GetLogEvents(ctx, logsScope, "g", "app/web/1", ops.GetLogEventsQuery{Limit: &limit, Token: res.BackwardToken})
	if err != nil || len(back.Events) != 10 || back.Events[0].Message != "ERROR app/web/1 line 5" {
		t.Errorf("backward page %v %v", back.Events, err)
	}
	fwd, err := l.GetLogEvents(ctx, logsScope, "g", "app/web/1", ops.GetLogEventsQuery{Token: res.ForwardToken})
	if err != nil || len(fwd.Events) != 0 || fwd.ForwardToken != res.ForwardToken {
		t.Errorf("forward at end: %v %v", fwd, err)
	}
	start, end := ms-1000+3, ms-1000+6
	rng, _ := l.GetLogEvents(ctx, logsScope, "g", "other", ops.GetLogEventsQuery{StartTime: &start, EndTime: &end, StartFromHead: true})
	if len(rng.Events) != 3 {
		t.Errorf("time range: %d events", len(rng.Events))
	}

	filter := func(q ops.FilterLogEventsQuery) (int, []string) {
		n, searched := 0, []string(nil)
		for i := 0; ; i++ {
			res, err := l.FilterLogEvents(ctx, logsScope, "g", q)
			if err != nil {
				t.Fatal(err)
			}
			n += len(res.Events)
			searched = append(searched, res.Searched...)
			if res.Token == "" {
				return n, searched
			}
			if i > 100 {
				t.Fatal("filter paging does not terminate")
			}
			q.Token = res.Token
		}
	}
	three := 3
	ftests := []struct {
		name     string
		q        ops.FilterLogEventsQuery
		want     int
		searched string
	}{
		{"all", ops.FilterLogEventsQuery{}, 75, "[app/web/1 app/web/2 other]"},
		{"pattern", ops.FilterLogEventsQuery{Pattern: "ERROR"}, 15, "[app/web/1 app/web/2 other]"},
		{"pattern paged", ops.FilterLogEventsQuery{Pattern: "ERROR", Limit: &three}, 15, "[app/web/1 app/web/2 other]"},
		{"prefix", ops.FilterLogEventsQuery{StreamPrefix: "app/", Pattern: "?ERROR ?\"line 1\""}, 2 * (5 + 11 - 2), "[app/web/1 app/web/2]"},
		{"names", ops.FilterLogEventsQuery{StreamNames: []string{"other"}, Pattern: "INFO -\"line 1\""}, 20 - 9, "[other]"},
		{"time", ops.FilterLogEventsQuery{StartTime: &start, EndTime: &end}, 3 * 4, "[app/web/1 app/web/2 other]"},
	}
	for _, tt := range ftests {
		n, searched := filter(tt.q)
		if n != tt.want || fmt.Sprint(searched) != tt.searched {
			t.Errorf("%s: %d events searching %v, want %d in %s", tt.name, n, searched, tt.want, tt.searched)
		}
	}
	streams, _, err := l.DescribeLogStreams(ctx, logsScope, "g", ops.LogStreamQuery{OrderBy: "LastEventTime", Descending: true})
	if err != nil || len(streams) != 3 || streams[0].LastEventTime != ms-1000+24 || streams[0].FirstEventTime != ms-1000 || streams[0].LastIngestionTime != ms {
		t.Errorf("streams %+v %v", streams, err)
	}
	if err := l.DeleteLogStream(ctx, logsScope, "g", "other"); err != nil {
		t.Fatal(err)
	}
	if err := l.DeleteLogGroup(ctx, logsScope, "g"); err != nil {
		t.Fatal(err)
	}
	if err := l.CreateLogGroup(ctx, logsScope, "g", ops.LogGroupSettings{}); err != nil {
		t.Fatal(err)
	}
	if s, _, _ := l.DescribeLogStreams(ctx, logsScope, "g", ops.LogStreamQuery{}); len(s) != 0 {
		t.Errorf("a recreated group has streams %v", s)
	}
}
