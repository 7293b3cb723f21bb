package taskrunner

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/image"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/runtime"
)

// reports keeps what a runner reported.
type reports struct {
	mu  sync.Mutex
	all []model.TaskReport
}

func (r *reports) ReportTask(ctx context.Context, rep model.TaskReport) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.all = append(r.all, rep)
	return nil
}

func (r *reports) last() model.TaskReport {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.all) == 0 {
		return model.TaskReport{}
	}
	return r.all[len(r.all)-1]
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if ok() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

func awslogsAssignment(id string, opts map[string]string) model.Assignment {
	def := model.ContainerDefinition{Name: "app", Image: "app:1",
		LogConfiguration: &model.LogConfiguration{LogDriver: "awslogs", Options: opts}}
	t := model.Task{Scope: model.Scope{Account: model.DefaultAccount, Region: "us-east-1"}, ID: id, Cluster: "default",
		DesiredStatus: model.TaskRunning, LastStatus: model.TaskProvisioning, HostID: "h1",
		Containers: []model.Container{{Name: "app", ID: "c-" + id}}}
	return model.Assignment{Task: t, Definition: model.TaskDefinition{Family: "fam", Revision: 1,
		ContainerDefinitions: []model.ContainerDefinition{def}}}
}

type logRun struct {
	rt     *runtime.Fake
	sink   *FakeLogSink
	rep    *reports
	dir    string
	cancel context.CancelFunc
	done   chan error
}

func startLogRunner(t *testing.T, rt *runtime.Fake, sink *FakeLogSink, dir string, a model.Assignment, adopt bool) *logRun {
	t.Helper()
	return startLogRunnerUnit(t, rt, sink, dir, a, adopt, 10*time.Millisecond)
}

func startLogRunnerUnit(t *testing.T, rt *runtime.Fake, sink *FakeLogSink, dir string, a model.Assignment, adopt bool, unit time.Duration) *logRun {
	t.Helper()
	return startLogRunnerConfig(t, rt, sink, Config{Assignment: a, StateDir: dir, Adopt: adopt, TimeUnit: unit})
}

// startLogRunnerConfig runs a runner of cfg over rt and sink, with a fake puller and reporter.
func startLogRunnerConfig(t *testing.T, rt *runtime.Fake, sink *FakeLogSink, cfg Config) *logRun {
	t.Helper()
	puller := &image.FakePuller{}
	puller.Add("app:1", image.Image{Digest: "sha256:aaaa", Config: image.Config{Entrypoint: []string{"/app"}}})
	rep := &reports{}
	cfg.Runtime, cfg.Puller, cfg.Reporter, cfg.Rootfs, cfg.Logs = rt, puller, rep, FakeRootfs{}, sink
	r := New(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	run := &logRun{rt: rt, sink: sink, rep: rep, dir: cfg.StateDir, cancel: cancel, done: make(chan error, 1)}
	go func() { run.done <- r.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-run.done; run.done <- nil })
	return run
}

func (run *logRun) halt(t *testing.T) {
	t.Helper()
	run.cancel()
	if err := <-run.done; err != nil {
		t.Fatalf("run: %v", err)
	}
	run.done <- nil
}

func lines(from, to int) []string {
	var out []string
	for i := from; i <= to; i++ {
		out = append(out, fmt.Sprintf("line %d", i))
	}
	return out
}

func TestAwslogsShipsInOrderAndDrainsAfterExit(t *testing.T) {
	rt, sink := runtime.NewFake(), NewFakeLogSink()
	a := awslogsAssignment("t1", map[string]string{"awslogs-group": "/ecs/app", "awslogs-region": "eu-west-1",
		"awslogs-stream-prefix": "ecs", "awslogs-create-group": "true"})
	run := startLogRunner(t, rt, sink, t.TempDir(), a, false)
	dst := model.LogDestination{Scope: model.Scope{Account: model.DefaultAccount, Region: "eu-west-1"}, Group: "/ecs/app", Stream: "ecs/app/t1"}
	waitFor(t, "RUNNING", func() bool { return run.rep.last().LastStatus == model.TaskRunning })
	for i, l := range lines(1, 100) {
		stream := runtime.StreamStdout
		if i%3 == 0 {
			stream = runtime.StreamStderr
		}
		if err := rt.Log("t1", "app", stream, l); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "100 events", func() bool { return len(sink.Events(dst)) == 100 })
	// Printed just before the exit: only the final drain ships them.
	for _, l := range lines(101, 150) {
		_ = rt.Log("t1", "app", runtime.StreamStdout, l)
	}
	_ = rt.Exit("t1", "app", 3)
	waitFor(t, "STOPPED", func() bool { return run.rep.last().LastStatus == model.TaskStopped })
	if got := sink.Messages(dst); !slices.Equal(got, lines(1, 150)) {
		t.Fatalf("messages = %d %v", len(got), got)
	}
	evs := sink.Events(dst)
	for i := 1; i < len(evs); i++ {
		if evs[i].Timestamp.Before(evs[i-1].Timestamp) {
			t.Fatalf("event %d earlier than the one before", i)
		}
	}
}

func TestAwslogsMissingGroupFailsTask(t *testing.T) {
	rt, sink := runtime.NewFake(), NewFakeLogSink()
	a := awslogsAssignment("t2", map[string]string{"awslogs-group": "/missing", "awslogs-region": "us-east-1",
		"awslogs-stream-prefix": "ecs"})
	run := startLogRunner(t, rt, sink, t.TempDir(), a, false)
	waitFor(t, "STOPPED", func() bool { return run.rep.last().LastStatus == model.TaskStopped })
	rep := run.rep.last()
	if rep.StopCode != model.StopTaskFailedToStart || !strings.Contains(rep.StoppedReason, "ResourceInitializationError") ||
		!strings.Contains(rep.StoppedReason, `"/missing"`) {
		t.Fatalf("stop = %s %q", rep.StopCode, rep.StoppedReason)
	}
}

func TestAwslogsResumesAfterAgentRestart(t *testing.T) {
	rt, sink := runtime.NewFake(), NewFakeLogSink()
	dir := t.TempDir()
	a := awslogsAssignment("t3", map[string]string{"awslogs-group": "g", "awslogs-stream-prefix": "p", "awslogs-create-group": "true"})
	dst := model.LogDestination{Scope: a.Task.Scope, Group: "g", Stream: "p/app/t3"}
	run := startLogRunner(t, rt, sink, dir, a, false)
	waitFor(t, "RUNNING", func() bool { return run.rep.last().LastStatus == model.TaskRunning })
	for _, l := range lines(1, 40) {
		_ = rt.Log("t3", "app", runtime.StreamStdout, l)
	}
	waitFor(t, "40 events", func() bool { return len(sink.Events(dst)) == 40 })
	run.halt(t)
	// Written while no agent runs, then the container exits: the next agent ships all of it.
	for _, l := range lines(41, 90) {
		_ = rt.Log("t3", "app", runtime.StreamStdout, l)
	}
	_ = rt.Exit("t3", "app", 0)
	a.Task.LastStatus = model.TaskRunning
	run2 := startLogRunner(t, rt, sink, dir, a, true)
	waitFor(t, "STOPPED", func() bool { return run2.rep.last().LastStatus == model.TaskStopped })
	if got := sink.Messages(dst); !slices.Equal(got, lines(1, 90)) {
		t.Fatalf("messages = %d %v", len(got), got)
	}
}

// mapSecrets answers valueFroms from a map.
type mapSecrets map[string]string

func (m mapSecrets) ResolveSecret(_ context.Context, _ model.Scope, _, valueFrom string) (string, error) {
	if v, ok := m[valueFrom]; ok {
		return v, nil
	}
	return "", errors.New("ParameterNotFound")
}

// TestAwslogsSecretOptionsAfterAdopt: a log option that comes from secretOptions (here the
// group) holds for the output an adopted container writes: the next agent reads it again
// before it ships anything.
func TestAwslogsSecretOptionsAfterAdopt(t *testing.T) {
	rt, sink := runtime.NewFake(), NewFakeLogSink()
	dir := t.TempDir()
	a := awslogsAssignment("t4", map[string]string{"awslogs-stream-prefix": "p", "awslogs-create-group": "true"})
	a.Definition.ContainerDefinitions[0].LogConfiguration.SecretOptions = []model.Secret{{Name: "awslogs-group", ValueFrom: "/log/group"}}
	dst := model.LogDestination{Scope: a.Task.Scope, Group: "g", Stream: "p/app/t4"}
	cfg := Config{Assignment: a, StateDir: dir, TimeUnit: 10 * time.Millisecond, Secrets: mapSecrets{"/log/group": "g"}}
	run := startLogRunnerConfig(t, rt, sink, cfg)
	waitFor(t, "RUNNING", func() bool { return run.rep.last().LastStatus == model.TaskRunning })
	_ = rt.Log("t4", "app", runtime.StreamStdout, "before")
	waitFor(t, "the first event", func() bool { return len(sink.Events(dst)) == 1 })
	run.halt(t)
	_ = rt.Log("t4", "app", runtime.StreamStdout, "after")
	cfg.Assignment.Task.LastStatus, cfg.Adopt = model.TaskRunning, true
	run2 := startLogRunnerConfig(t, rt, sink, cfg)
	waitFor(t, "the adopted container's event", func() bool { return len(sink.Events(dst)) == 2 })
	if got := sink.Messages(dst); !slices.Equal(got, []string{"before", "after"}) {
		t.Fatalf("messages = %v", got)
	}
	if l := run2.rep.last(); l.LastStatus != model.TaskRunning {
		t.Fatalf("adopted task: %+v", l)
	}
}

// scripted is a log reader over fixed records; offsets count records, as the fake runtime's.
type scripted struct {
	mu      sync.Mutex
	entries []runtime.LogEntry
	// trimmed is where TrimLogs freed the log up to: a read before it is a shipper's bug.
	trimmed int64
}

func (s *scripted) TrimLogs(ctx context.Context, taskID, name string, before, keepTail int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.trimmed = max(s.trimmed, min(before, int64(len(s.entries))-keepTail))
	return nil
}

func (s *scripted) add(stream string, partial bool, line string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.entries = append(s.entries, runtime.LogEntry{Time: time.Now(), Stream: stream, Partial: partial, Line: line})
}

func (s *scripted) ReadLogs(ctx context.Context, taskID, name string, offset int64, max int) ([]runtime.LogEntry, int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if offset < s.trimmed {
		return nil, offset, fmt.Errorf("read at %d of a log trimmed before %d", offset, s.trimmed)
	}
	start := min(int(offset), len(s.entries))
	end := len(s.entries)
	if max > 0 {
		end = min(end, start+max)
	}
	return slices.Clone(s.entries[start:end]), int64(end), nil
}

func newTestShipper(t *testing.T, src *scripted, sink *FakeLogSink, state string, opts map[string]string) *shipper {
	t.Helper()
	a := awslogsAssignment("t", opts)
	cfg, _, err := awslogsFor(a.Task, a.Definition.ContainerDefinitions[0])
	if err != nil {
		t.Fatal(err)
	}
	_ = sink.EnsureGroup(t.Context(), cfg.dst.Scope, cfg.dst.Group)
	if err := sink.EnsureStream(t.Context(), cfg.dst); err != nil {
		t.Fatal(err)
	}
	return &shipper{rt: src, sink: sink, taskID: "t", name: "app", cfg: cfg, state: state,
		log: New(Config{Assignment: a}).log, asm: newAssembler(cfg.startsEvent),
		trimStep: 1} // trim after every stored batch: scripted fails a read of trimmed output
}

func TestShipperJoinsPartialLinesAcrossStreams(t *testing.T) {
	src, sink := &scripted{}, NewFakeLogSink()
	s := newTestShipper(t, src, sink, filepath.Join(t.TempDir(), "app.json"), map[string]string{"awslogs-group": "g"})
	src.add("stdout", true, "hello ")
	src.add("stderr", false, "err 1")
	src.add("stdout", true, "wide ")
	if !s.resume(t.Context()) || s.poll(t.Context(), false) != nil {
		t.Fatal("poll")
	}
	// The stdout line started first and is not complete: nothing may go before it.
	if got := sink.Messages(s.cfg.dst); len(got) != 0 {
		t.Fatalf("shipped early: %q", got)
	}
	if s.st.Offset != 0 {
		t.Fatalf("offset = %d, want 0", s.st.Offset)
	}
	src.add("stdout", false, "world")
	src.add("stdout", false, "")
	src.add("stdout", false, "next")
	if err := s.poll(t.Context(), false); err != nil {
		t.Fatal(err)
	}
	want := []string{"hello wide world", "err 1", "next"}
	if got := sink.Messages(s.cfg.dst); !slices.Equal(got, want) {
		t.Fatalf("messages = %q, want %q", got, want)
	}
	if st, _ := loadShipState(s.state); st.Offset != 6 || st.Intent != nil {
		t.Fatalf("state = %+v", st)
	}
	if src.trimmed != 6 {
		t.Fatalf("log trimmed before %d, want 6 (all of it shipped)", src.trimmed)
	}
}

func TestShipperMultiline(t *testing.T) {
	src, sink := &scripted{}, NewFakeLogSink()
	s := newTestShipper(t, src, sink, filepath.Join(t.TempDir(), "app.json"),
		map[string]string{"awslogs-group": "g", "awslogs-datetime-format": "%Y-%m-%d %H:%M:%S"})
	for _, l := range []string{"2026-01-02 10:00:00 panic: boom", "goroutine 1:", "  main.go:3", "2026-01-02 10:00:01 ok"} {
		src.add("stdout", false, l)
	}
	if !s.resume(t.Context()) || s.poll(t.Context(), false) != nil {
		t.Fatal("poll")
	}
	if got := sink.Messages(s.cfg.dst); !slices.Equal(got, []string{"2026-01-02 10:00:00 panic: boom\ngoroutine 1:\n  main.go:3"}) {
		t.Fatalf("messages = %q", got)
	}
	if s.st.Offset != 3 {
		t.Fatalf("offset = %d, want 3 (the open event's first record)", s.st.Offset)
	}
	// An agent restart here: the next shipper reads the open event again, from the stored
	// offset, so the log may have been trimmed only up to there.
	s = newTestShipper(t, src, sink, s.state, map[string]string{"awslogs-group": "g", "awslogs-datetime-format": "%Y-%m-%d %H:%M:%S"})
	if !s.resume(t.Context()) {
		t.Fatal("resume")
	}
	if err := s.poll(t.Context(), true); err != nil {
		t.Fatal(err)
	}
	if got := sink.Messages(s.cfg.dst); len(got) != 2 || got[1] != "2026-01-02 10:00:01 ok" {
		t.Fatalf("messages = %q", got)
	}
}

func TestShipperResumeSettlesInterruptedPut(t *testing.T) {
	for _, stored := range []bool{true, false} {
		t.Run(fmt.Sprintf("stored=%v", stored), func(t *testing.T) {
			src, sink := &scripted{}, NewFakeLogSink()
			state := filepath.Join(t.TempDir(), "app.json")
			opts := map[string]string{"awslogs-group": "g"}
			s := newTestShipper(t, src, sink, state, opts)
			for _, l := range lines(1, 10) {
				src.add("stdout", false, l)
			}
			if !s.resume(t.Context()) || s.poll(t.Context(), false) != nil {
				t.Fatal("poll")
			}
			for _, l := range lines(11, 20) {
				src.add("stdout", false, l)
			}
			// The process dies during the next Put: after it was stored, or before.
			crash := errors.New("killed")
			sink.PutHook = func(dst model.LogDestination, events []model.LogEvent) error {
				if stored {
					sink.PutHook = nil
					_ = sink.Put(t.Context(), dst, events)
				}
				return crash
			}
			if err := s.poll(t.Context(), false); !errors.Is(err, crash) {
				t.Fatalf("poll = %v", err)
			}
			sink.PutHook = nil
			s2 := newTestShipper(t, src, sink, state, opts)
			if !s2.resume(t.Context()) || s2.poll(t.Context(), true) != nil {
				t.Fatal("poll after restart")
			}
			if got := sink.Messages(s.cfg.dst); !slices.Equal(got, lines(1, 20)) {
				t.Fatalf("messages = %q", got)
			}
		})
	}
}

func TestShipperBatchLimits(t *testing.T) {
	a := newAssembler(nil)
	now := time.Now()
	big := strings.Repeat("x", 200_000)
	for i := range 12 {
		a.add(now, "stdout", false, big, logPos{index: i}, now)
	}
	evs, n, _ := a.batch(0)
	if n != 5 || len(evs) != 5 {
		t.Fatalf("batch of %d (%d events), want 5 under 1 MiB", n, len(evs))
	}
	a.drop(n)
	a2 := newAssembler(nil)
	for i := range 10001 {
		a2.add(now, "stdout", false, "x", logPos{index: i}, now)
	}
	if _, n, _ := a2.batch(0); n != logBatchMaxEvents {
		t.Fatalf("batch of %d, want %d", n, logBatchMaxEvents)
	}
}

func TestDatetimeRegexp(t *testing.T) {
	a := awslogsAssignment("t", map[string]string{"awslogs-group": "g", "awslogs-datetime-format": `\[%b %d, %Y %H:%M:%S\]`})
	cfg, _, err := awslogsFor(a.Task, a.Definition.ContainerDefinitions[0])
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.startsEvent.MatchString(`[May 01, 2017 19:00:01] A message`) || cfg.startsEvent.MatchString("  at foo") {
		t.Fatalf("pattern %s", cfg.startsEvent)
	}
}

// TestAwslogsDrainOutlastsTheStallBound: a final drain that keeps storing runs to the end even
// when it takes longer than the stall bound; one that stores nothing ends at that bound, so the
// task still stops.
func TestAwslogsDrainOutlastsTheStallBound(t *testing.T) {
	opts := map[string]string{"awslogs-group": "/ecs/app", "awslogs-region": "us-east-1",
		"awslogs-stream-prefix": "ecs", "awslogs-create-group": "true"}
	dst := model.LogDestination{Scope: model.Scope{Account: model.DefaultAccount, Region: "us-east-1"}, Group: "/ecs/app", Stream: "ecs/app/t1"}
	// A time unit of 40 ms makes the stall bound 600 ms: room for a batch's reading under load.
	const unit = 40 * time.Millisecond
	const n = 25000 // three batches (10,000 events at most each): three puts of 250 ms, longer than the stall bound together

	t.Run("progressing", func(t *testing.T) {
		rt, sink := runtime.NewFake(), NewFakeLogSink()
		run := startLogRunnerUnit(t, rt, sink, t.TempDir(), awslogsAssignment("t1", opts), false, unit)
		waitFor(t, "RUNNING", func() bool { return run.rep.last().LastStatus == model.TaskRunning })
		var slow atomic.Bool
		slow.Store(true)
		sink.PutHook = func(model.LogDestination, []model.LogEvent) error {
			if slow.Load() {
				time.Sleep(250 * time.Millisecond)
			}
			return nil
		}
		for _, l := range lines(1, n) {
			_ = rt.Log("t1", "app", runtime.StreamStdout, l)
		}
		_ = rt.Exit("t1", "app", 0)
		waitFor(t, "STOPPED", func() bool { return run.rep.last().LastStatus == model.TaskStopped })
		if got := sink.Messages(dst); !slices.Equal(got, lines(1, n)) {
			t.Fatalf("%d of %d lines stored", len(got), n)
		}
	})
	t.Run("stalled", func(t *testing.T) {
		rt, sink := runtime.NewFake(), NewFakeLogSink()
		run := startLogRunnerUnit(t, rt, sink, t.TempDir(), awslogsAssignment("t1", opts), false, unit)
		waitFor(t, "RUNNING", func() bool { return run.rep.last().LastStatus == model.TaskRunning })
		sink.PutHook = func(model.LogDestination, []model.LogEvent) error { return errors.New("store unreachable") }
		for _, l := range lines(1, 10) {
			_ = rt.Log("t1", "app", runtime.StreamStdout, l)
		}
		_ = rt.Exit("t1", "app", 0)
		waitFor(t, "STOPPED although the store is unreachable", func() bool { return run.rep.last().LastStatus == model.TaskStopped })
	})
}
