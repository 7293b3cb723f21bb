package ops

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/logx"
	"github.com/gantry-dev/gantry/internal/model"
)

func TestNextFullness(t *testing.T) {
	type view struct {
		rev  int64
		full bool
	}
	tests := []struct {
		name  string
		views []view
		logs  []bool // per view: whether it logs
	}{
		{"first view not full", []view{{5, false}}, []bool{false}},
		{"first view full", []view{{5, true}}, []bool{true}},
		{"becomes full once", []view{{5, false}, {6, false}, {7, true}}, []bool{false, false, true}},
		{"stays full over heartbeats", []view{{5, false}, {7, true}, {8, true}, {9, true}}, []bool{false, true, false, false}},
		{"full again after a release", []view{{5, true}, {6, false}, {7, true}}, []bool{true, false, true}},
		{"a late view does not reset", []view{{5, false}, {7, true}, {6, false}, {8, true}}, []bool{false, true, false, false}},
		{"a replayed view changes nothing", []view{{7, true}, {7, true}, {7, false}}, []bool{true, false, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var known fullness
			for i, v := range tt.views {
				var logged bool
				known, logged = nextFullness(known, v.rev, v.full)
				if logged != tt.logs[i] {
					t.Fatalf("view %d %+v: logged %v, want %v", i, v, logged, tt.logs[i])
				}
			}
		})
	}
}

// syncBuffer is a bytes.Buffer safe for a logger writing from another goroutine.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *syncBuffer) count(s string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Count(b.buf.String(), s)
}

// TestWatchCapacityLogsOncePerFull fills a host through RunTask, keeps it full across failed
// placements and heartbeats, frees it with a STOPPED report and fills it again: one line each
// time it becomes full, none in between.
func TestWatchCapacityLogsOncePerFull(t *testing.T) {
	e := runTestECS(t) // one host of 1024 cpu / 2048 MiB; api-service is 512 / 1024
	var out syncBuffer
	e.logger = logx.New(&out, 0)
	ctx := t.Context()
	wctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- e.WatchCapacity(wctx) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("WatchCapacity: %v", err)
		}
	})
	const line = "host full"
	lines := func(want int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for out.count(line) < want && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		// Give a wrong extra line the time to show up too.
		time.Sleep(200 * time.Millisecond)
		if got := out.count(line); got != want {
			t.Fatalf("%d %q lines, want %d; log:\n%s", got, line, want, out.String())
		}
	}

	tasks, _, err := e.RunTask(ctx, clTestScope, runInput(nil))
	if err != nil || len(tasks) != 1 {
		t.Fatalf("first RunTask: %v, %v", tasks, err)
	}
	lines(0)
	more, failures, err := e.RunTask(ctx, clTestScope, runInput(func(in *RunTaskInput) { in.Count = new(2) }))
	if err != nil || len(more) != 1 || len(failures) != 1 {
		t.Fatalf("RunTask count 2 on room for 1: %d tasks, failures %v, %v", len(more), failures, err)
	}
	lines(1)
	if !strings.Contains(out.String(), "host_id=h1 capacity_cpu=1024 capacity_memory=2048 reserved_cpu=1024 reserved_memory=2048 free_cpu=0 free_memory=0") {
		t.Errorf("the line does not name the host and its capacity:\n%s", out.String())
	}
	if _, failures, _ := e.RunTask(ctx, clTestScope, runInput(nil)); len(failures) != 1 {
		t.Fatalf("RunTask on a full host: failures %v", failures)
	}
	if _, err := e.store.Hosts().Mutate(ctx, "h1", func(h *model.Host) error { h.HeartbeatAt = runTestNow.Add(time.Second); return nil }); err != nil {
		t.Fatal(err)
	}
	lines(1)

	// The agent's STOPPED report gives the reservation back.
	if _, err := e.store.Tasks().Mutate(ctx, clTestScope, "default", tasks[0].ID, func(tk *model.Task) error {
		tk.LastStatus = model.TaskStopped
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	lines(1)
	if again, _, err := e.RunTask(ctx, clTestScope, runInput(nil)); err != nil || len(again) != 1 {
		t.Fatalf("RunTask after a stop: %v, %v", again, err)
	}
	lines(2)
}

// TestWatchCapacityHostFullAtStart logs a host that is already full when the watch starts.
func TestWatchCapacityHostFullAtStart(t *testing.T) {
	e := runTestECS(t)
	runTestHost(t, e, "tiny", 128, 256)
	var out syncBuffer
	e.logger = logx.New(&out, 0)
	wctx, stop := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- e.WatchCapacity(wctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for out.count("host full") == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := out.count("host full"); got != 1 || out.count("host_id=tiny") != 1 {
		t.Fatalf("want one line for host tiny, got:\n%s", out.String())
	}
}
