package taskrunner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/gantry-dev/gantry/internal/logx"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/runtime"
)

// The awslogs driver: each container whose logConfiguration names awslogs has a shipper that
// reads the shim's log file from the last shipped byte offset and puts its lines into a
// CloudWatch Logs stream, <awslogs-stream-prefix>/<container>/<task id>.
//
// The shim writes the container's output to disk whatever the shipper does, so a slow or absent
// control plane never blocks the container: mode "blocking" and "non-blocking" behave alike, as
// non-blocking with a buffer as large as the disk (max-buffer-size is accepted and ignored).
//
// Offsets: the shipper keeps, per container, the offset of the first byte not yet stored (in the
// task's state dir, logs/<container>.json). Before each Put it writes an intent (the offset the
// Put would reach and the stream's sequence number before it); after the Put it writes the new
// offset. A restart that finds an intent asks the stream's tail: if it moved, the Put was stored
// and the offset moves on, else the batch is sent again. Nothing is lost or stored twice as long
// as the shipper is the stream's only writer.

// LogSink is where the awslogs driver puts container output: CloudWatch Logs on the control plane.
type LogSink interface {
	// EnsureGroup creates the group unless it exists (awslogs-create-group).
	EnsureGroup(ctx context.Context, sc model.Scope, group string) error
	// EnsureStream creates the stream unless it exists; it fails when the group does not.
	EnsureStream(ctx context.Context, dst model.LogDestination) error
	// Put stores events (in time order, within CloudWatch's batch limits) as one append.
	Put(ctx context.Context, dst model.LogDestination, events []model.LogEvent) error
	// Tail is the sequence number of the stream's last stored event (0 when it has none); each
	// stored event adds one.
	Tail(ctx context.Context, dst model.LogDestination) (uint64, error)
}

// CloudWatch's limits on a batch of events and on one event, as the awslogs driver applies them.
const (
	logBatchMaxEvents = 10000
	logBatchMaxBytes  = 1_048_576
	logEventOverhead  = 26
	logEventMaxBytes  = 256*1024 - logEventOverhead
	logBatchMaxSpan   = 24 * time.Hour
)

const (
	logPollInterval = 200 * time.Millisecond
	// logMultilineIdle ends a multiline event when nothing joined it for this long.
	logMultilineIdle = time.Second
	logReadChunk     = 1000
	// logDrainStall (in TimeUnits) ends the final drain after the containers exited when no
	// batch could be stored for this long (the log store is unreachable): a drain that
	// progresses runs to the end, however much output is left.
	logDrainStall = 15
)

// awslogs is one container's awslogs settings.
type awslogs struct {
	dst         model.LogDestination
	createGroup bool
	// startsEvent, when set, says which lines begin a new event (multiline pattern or datetime format).
	startsEvent *regexp.Regexp
}

// awslogsFor reads a container's awslogs options; ok is false for other drivers.
func awslogsFor(t model.Task, def model.ContainerDefinition) (awslogs, bool, error) {
	lc := def.LogConfiguration
	if lc == nil || lc.LogDriver != "awslogs" {
		return awslogs{}, false, nil
	}
	o := lc.Options
	sc := t.Scope
	if r := o["awslogs-region"]; r != "" {
		sc.Region = r
	}
	stream := def.Name + "/" + t.ID
	if p := o["awslogs-stream-prefix"]; p != "" {
		stream = p + "/" + stream
	}
	cfg := awslogs{dst: model.LogDestination{Scope: sc, Group: o["awslogs-group"], Stream: stream},
		createGroup: strings.EqualFold(o["awslogs-create-group"], "true")}
	if cfg.dst.Group == "" {
		return cfg, true, errors.New("awslogs-group is required")
	}
	var err error
	switch {
	case o["awslogs-datetime-format"] != "":
		cfg.startsEvent, err = regexp.Compile("^" + datetimeRegexp(o["awslogs-datetime-format"]))
	case o["awslogs-multiline-pattern"] != "":
		cfg.startsEvent, err = regexp.Compile("^" + o["awslogs-multiline-pattern"])
	}
	if err != nil {
		return cfg, true, fmt.Errorf("awslogs multiline setting: %w", err)
	}
	return cfg, true, nil
}

// strftime directives as regular expressions, as Docker's awslogs driver reads them.
var strftimeRE = map[byte]string{
	'a': `(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)`,
	'A': `(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)`,
	'b': `(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)`,
	'B': `(?:January|February|March|April|May|June|July|August|September|October|November|December)`,
	'd': `(?:0[1-9]|[12][0-9]|3[01])`,
	'f': `\d{6}`,
	'H': `(?:[01][0-9]|2[0-3])`,
	'I': `(?:0[0-9]|1[0-2])`,
	'j': `(?:00[1-9]|0[1-9][0-9]|[12][0-9][0-9]|3[0-5][0-9]|36[0-6])`,
	'L': `\.\d{3}`,
	'm': `(?:0[1-9]|1[0-2])`,
	'M': `[0-5][0-9]`,
	'p': `[AP]M`,
	'S': `[0-5][0-9]`,
	'U': `(?:[0-4][0-9]|5[0-3])`,
	'w': `[0-6]`,
	'W': `(?:[0-4][0-9]|5[0-3])`,
	'y': `\d{2}`,
	'Y': `\d{4}`,
	'z': `[+-]\d{4}`,
	'Z': `[A-Z]{1,4}T`,
	'%': `%`,
}

// datetimeRegexp turns an awslogs-datetime-format into a regular expression as Docker does:
// each strftime directive becomes its expression (an unknown one, nothing) and the rest stays a
// regular expression, so `\[%b %d\]` matches "[May 01]".
func datetimeRegexp(format string) string {
	var b strings.Builder
	for i := 0; i < len(format); i++ {
		if format[i] == '%' && i+1 < len(format) {
			b.WriteString(strftimeRE[format[i+1]])
			i++
			continue
		}
		b.WriteByte(format[i])
	}
	return b.String()
}

// logShipping is a runner's shippers; the Run goroutine alone uses it.
type logShipping struct {
	configs  map[string]awslogs
	started  map[string]bool
	ctx      context.Context
	cancel   context.CancelFunc
	drain    chan struct{}
	wg       sync.WaitGroup
	draining bool
	// stored counts the batches the shippers stored, so a drain can tell progress from a stall.
	stored atomic.Int64
}

// setupLogs makes the awslogs groups and streams once the images are there, before the
// containers are made (where Docker's awslogs driver makes them). A missing group (without
// awslogs-create-group) fails the task as Fargate does.
func (r *Runner) setupLogs(sc *scope) {
	if r.cfg.Logs == nil || r.stop.Code != "" || r.stopRequested() {
		return
	}
	for _, c := range r.containers {
		cfg, ok, err := awslogsFor(r.cfg.Assignment.Task, c.logDef())
		denied := false
		if err == nil && ok {
			if err = r.authorizeLogs(sc.stop, cfg); err != nil {
				denied = true // as the execution role, with gantry server --iam enforce
			} else {
				err = r.ensureLogStream(sc.stop, cfg)
			}
		}
		if err != nil {
			if sc.stop.Err() == nil {
				reason := fmt.Sprintf("ResourceInitializationError: failed to validate logger args: container %q: log group %q, log stream %q: %v",
					c.def.Name, cfg.dst.Group, cfg.dst.Stream, err)
				if denied {
					c.reason = reason
				}
				r.fail(model.StopTaskFailedToStart, reason)
			}
			return
		}
	}
}

func (r *Runner) ensureLogStream(ctx context.Context, cfg awslogs) error {
	if cfg.createGroup {
		if err := r.cfg.Logs.EnsureGroup(ctx, cfg.dst.Scope, cfg.dst.Group); err != nil {
			return fmt.Errorf("create log group: %w", err)
		}
	}
	return r.cfg.Logs.EnsureStream(ctx, cfg.dst)
}

// shipLogs starts shipping a started container's output, once; adopted tasks resume where the
// last agent stopped.
func (r *Runner) shipLogs(ctx context.Context, name string) {
	c := r.container(name)
	if c == nil {
		return
	}
	ls := &r.logs
	if ls.started == nil {
		ls.started = map[string]bool{}
		ls.ctx, ls.cancel = context.WithCancel(ctx)
		ls.drain = make(chan struct{})
	}
	if ls.started[name] || ls.draining {
		return
	}
	cfg, ok, err := awslogsFor(r.cfg.Assignment.Task, c.logDef())
	if !ok || r.cfg.Logs == nil { // nothing reads this output
		ls.started[name] = true
		ls.wg.Go(func() { r.trimUnshipped(ls.ctx, ls.drain, name) })
		return
	}
	if err != nil {
		r.log.Error("awslogs: output not shipped", "container", name, logx.KeyError, err)
		return
	}
	ls.started[name] = true
	s := &shipper{rt: r.cfg.Runtime, sink: r.cfg.Logs, taskID: r.id, name: name, cfg: cfg,
		state: offsetFile(r.cfg.StateDir, name), log: r.log.With("container", name, "log_stream", cfg.dst.Stream),
		asm: newAssembler(cfg.startsEvent), stored: &ls.stored}
	ls.wg.Add(1)
	go func() {
		defer ls.wg.Done()
		s.run(ls.ctx, ls.drain)
	}()
}

// shipAllLogs starts shipping for every container that started: after an adoption, those that
// exited while the agent was down still have output to ship.
func (r *Runner) shipAllLogs(ctx context.Context) {
	for _, c := range r.containers {
		if c.started {
			r.shipLogs(ctx, c.def.Name)
		}
	}
}

// drainLogs ships what the exited containers left, before the sandbox (and its log files) goes.
func (r *Runner) drainLogs(ctx context.Context) {
	ls := &r.logs
	if ls.started == nil || ls.draining {
		return
	}
	ls.draining = true
	close(ls.drain)
	done := make(chan struct{})
	go func() { ls.wg.Wait(); close(done) }()
	stall := logDrainStall * r.cfg.TimeUnit
	t := time.NewTicker(stall)
	defer t.Stop()
	last := ls.stored.Load()
	for {
		select {
		case <-done:
			return
		case <-t.C:
			if n := ls.stored.Load(); n != last {
				last = n
				continue
			}
			r.log.Error("awslogs: final drain stored nothing for " + stall.String() + "; the rest of the output is lost")
			ls.cancel()
			<-done
			return
		case <-ctx.Done():
			return
		}
	}
}

// stopLogs ends every shipper and waits for them; the next agent resumes from their offsets.
func (r *Runner) stopLogs() {
	if ls := &r.logs; ls.started != nil {
		ls.cancel()
		ls.wg.Wait()
	}
}

// logsBefore runs the log hooks of entering status s.
func (r *Runner) logsBefore(sc *scope, s model.TaskStatus) {
	switch s {
	case model.TaskDeprovisioning:
		r.drainLogs(sc.ctx)
	}
}

// FakeLogSink keeps streams in memory, for tests.
type FakeLogSink struct {
	mu      sync.Mutex
	groups  map[string]bool
	streams map[model.LogDestination][]model.LogEvent
	// PutHook, when set, runs before each Put; an error fails the Put (nothing stored).
	PutHook func(dst model.LogDestination, events []model.LogEvent) error
}

var _ LogSink = (*FakeLogSink)(nil)

// ErrFakeNoGroup is the fake's error for a missing group.
var ErrFakeNoGroup = errors.New("the specified log group does not exist")

// NewFakeLogSink returns an empty sink.
func NewFakeLogSink() *FakeLogSink {
	return &FakeLogSink{groups: map[string]bool{}, streams: map[model.LogDestination][]model.LogEvent{}}
}

func fakeGroupKey(sc model.Scope, group string) string {
	return sc.Account + "/" + sc.Region + "/" + group
}

// EnsureGroup creates a group.
func (f *FakeLogSink) EnsureGroup(ctx context.Context, sc model.Scope, group string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.groups[fakeGroupKey(sc, group)] = true
	return nil
}

// EnsureStream creates a stream in an existing group.
func (f *FakeLogSink) EnsureStream(ctx context.Context, dst model.LogDestination) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.groups[fakeGroupKey(dst.Scope, dst.Group)] {
		return ErrFakeNoGroup
	}
	if _, ok := f.streams[dst]; !ok {
		f.streams[dst] = []model.LogEvent{}
	}
	return nil
}

// Put appends events to a stream.
func (f *FakeLogSink) Put(ctx context.Context, dst model.LogDestination, events []model.LogEvent) error {
	if err := ctx.Err(); err != nil { // as a real store's call would
		return err
	}
	if f.PutHook != nil {
		if err := f.PutHook(dst, events); err != nil {
			return err
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.streams[dst]; !ok {
		return fmt.Errorf("log stream %q: does not exist", dst.Stream)
	}
	f.streams[dst] = append(f.streams[dst], events...)
	return nil
}

// Tail is the number of events in the stream.
func (f *FakeLogSink) Tail(ctx context.Context, dst model.LogDestination) (uint64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return uint64(len(f.streams[dst])), nil
}

// Events returns a copy of a stream's events.
func (f *FakeLogSink) Events(dst model.LogDestination) []model.LogEvent {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]model.LogEvent(nil), f.streams[dst]...)
}

// Messages returns a stream's messages.
func (f *FakeLogSink) Messages(dst model.LogDestination) []string {
	var out []string
	for _, e := range f.Events(dst) {
		out = append(out, e.Message)
	}
	return out
}

// validUTF8 is msg with invalid bytes replaced, as CloudWatch accepts only UTF-8.
func validUTF8(msg string) string {
	if utf8.ValidString(msg) {
		return msg
	}
	return strings.ToValidUTF8(msg, "\uFFFD")
}

// logPos names a record by where a read began and its index among the records read there; its
// byte offset is found only when needed (runtime.Runtime.ReadLogs gives the end of a read).
type logPos struct {
	base  int64
	index int
}

// pendingEvent is an event being assembled from log records.
type pendingEvent struct {
	at      time.Time
	stream  string
	msg     strings.Builder
	start   logPos
	open    bool      // more records may join it
	midLine bool      // its last record was a piece of a longer line
	touched time.Time // when a record last joined it
}

// assembler turns log records into events: pieces of a line (P records) join into one, and with
// a multiline pattern the lines up to the next matching one join with "\n". Events stay in the
// order of their first record; only the complete ones at the front may be shipped.
type assembler struct {
	startsEvent *regexp.Regexp
	queue       []*pendingEvent
	open        map[string]*pendingEvent // per output stream
}

func newAssembler(startsEvent *regexp.Regexp) *assembler {
	return &assembler{startsEvent: startsEvent, open: map[string]*pendingEvent{}}
}

// add takes the next record.
func (a *assembler) add(at time.Time, stream string, partial bool, line string, pos logPos, now time.Time) {
	cur := a.open[stream]
	joins := cur != nil && (cur.midLine || a.startsEvent != nil && !a.startsEvent.MatchString(line))
	if joins && cur.msg.Len()+1+len(line) > logEventMaxBytes {
		joins = false // too large for one event: the rest starts another
	}
	if joins {
		if !cur.midLine {
			cur.msg.WriteByte('\n')
		}
		cur.msg.WriteString(line)
	} else {
		if cur != nil {
			cur.open = false
		}
		cur = &pendingEvent{at: at, stream: stream, start: pos, open: true}
		if len(line) > logEventMaxBytes {
			line = line[:logEventMaxBytes]
		}
		cur.msg.WriteString(line)
		a.queue = append(a.queue, cur)
		a.open[stream] = cur
	}
	cur.midLine, cur.touched = partial, now
	if !partial && a.startsEvent == nil {
		cur.open = false
		delete(a.open, stream)
	}
}

// flushIdle ends the multiline events nothing joined for logMultilineIdle.
func (a *assembler) flushIdle(now time.Time) {
	for s, ev := range a.open {
		if !ev.midLine && now.Sub(ev.touched) >= logMultilineIdle {
			ev.open = false
			delete(a.open, s)
		}
	}
}

// closeAll ends every event: the output is over.
func (a *assembler) closeAll() {
	for s, ev := range a.open {
		ev.open = false
		delete(a.open, s)
	}
}

// batch returns the next events to put, within CloudWatch's batch limits, with timestamps
// made non-decreasing from lastMs; n is how many queued events it covers (empty ones are
// dropped, as Docker's driver drops them) and last the timestamp of the last event.
func (a *assembler) batch(lastMs int64) (events []model.LogEvent, n int, last int64) {
	last = lastMs
	size, firstMs := 0, int64(-1)
	for _, ev := range a.queue {
		if ev.open || len(events) == logBatchMaxEvents {
			break
		}
		msg := validUTF8(ev.msg.String())
		ms := max(ev.at.UnixMilli(), last)
		if msg != "" {
			if size+len(msg)+logEventOverhead > logBatchMaxBytes ||
				firstMs >= 0 && time.Duration(ms-firstMs)*time.Millisecond > logBatchMaxSpan {
				break
			}
			if firstMs < 0 {
				firstMs = ms
			}
			size += len(msg) + logEventOverhead
			events = append(events, model.LogEvent{Timestamp: time.UnixMilli(ms).UTC(), Message: msg})
			last = ms
		}
		n++
	}
	return events, n, last
}

// drop forgets the first n events, shipped.
func (a *assembler) drop(n int) {
	clear(a.queue[:n])
	a.queue = a.queue[n:]
}

// logReader is the part of runtime.Runtime a shipper reads (and trims) with.
type logReader interface {
	ReadLogs(ctx context.Context, taskID, name string, offset int64, max int) ([]runtime.LogEntry, int64, error)
	TrimLogs(ctx context.Context, taskID, name string, before, keepTail int64) error
}

// shipState is a shipper's storage record.
type shipState struct {
	// Offset is the first byte of the log not yet stored in the stream.
	Offset int64 `json:"offset"`
	// LastMs is the last stored event's timestamp: the next ones are never earlier.
	LastMs int64       `json:"lastMs,omitempty"`
	Intent *shipIntent `json:"intent,omitempty"`
}

// shipIntent is a Put that may or may not have been stored.
type shipIntent struct {
	Next       int64  `json:"next"`
	LastMs     int64  `json:"lastMs"`
	TailBefore uint64 `json:"tailBefore"`
}

func offsetFile(stateDir, container string) string {
	return filepath.Join(stateDir, "logs", container+".json")
}

// shipper ships one container's output.
type shipper struct {
	rt         logReader
	sink       LogSink
	taskID     string
	name       string
	cfg        awslogs
	state      string
	log        *slog.Logger
	asm        *assembler
	stored     *atomic.Int64 // shared by the task's shippers; one more per stored batch
	st         shipState
	readOff    int64
	failing    bool
	needStream bool
	trimmed    int64 // the log is trimmed before this offset; -1 when it cannot be
	trimStep   int64 // logTrimStep when zero
}

// run ships until ctx ends, or until drain closes and the output is all shipped.
func (s *shipper) run(ctx context.Context, drain <-chan struct{}) {
	if !s.resume(ctx) {
		return
	}
	t := time.NewTicker(logPollInterval)
	defer t.Stop()
	for {
		s.poll(ctx, false)
		select {
		case <-ctx.Done():
			return
		case <-drain:
			s.finalDrain(ctx)
			return
		case <-t.C:
		}
	}
}

// finalDrain ships everything left, retrying the puts until they succeed or ctx ends. The
// containers have exited: every open event is complete.
func (s *shipper) finalDrain(ctx context.Context) {
	for {
		before := s.readOff
		if err := s.read(ctx); err != nil {
			if notStopping(err) {
				s.log.Error("awslogs: final drain cannot read the container's log; the rest is lost", logx.KeyError, err)
			}
			return
		}
		s.asm.closeAll()
		if err := s.ship(ctx); err != nil {
			s.warn("put log events", err)
			s.needStream = true
			if !sleepCtx(ctx, logPollInterval) {
				return
			}
			continue
		}
		if len(s.asm.queue) == 0 && s.readOff == before {
			return
		}
	}
}

// resume reads the stored offset and settles an interrupted Put; false when ctx ended first.
func (s *shipper) resume(ctx context.Context) bool {
	st, err := loadShipState(s.state)
	if err != nil {
		s.log.Error("awslogs: unreadable offset; shipping from the start", logx.KeyError, err)
	}
	for st.Intent != nil {
		tail, err := s.sink.Tail(ctx, s.cfg.dst)
		if err == nil {
			if tail > st.Intent.TailBefore {
				st.Offset, st.LastMs = st.Intent.Next, st.Intent.LastMs
			}
			st.Intent = nil
			break
		}
		s.warn("read the log stream's tail", err)
		if !sleepCtx(ctx, time.Second) {
			return false
		}
	}
	s.st, s.readOff, s.needStream = st, st.Offset, true
	return true
}

// poll reads what the container wrote since the last poll and ships the complete events.
func (s *shipper) poll(ctx context.Context, final bool) error {
	if err := s.read(ctx); err != nil {
		s.warn("read the container's log", err)
		return err
	}
	if final {
		s.asm.closeAll()
	} else {
		s.asm.flushIdle(time.Now())
	}
	err := s.ship(ctx)
	if err != nil {
		s.warn("put log events", err)
		s.needStream = true
		return err
	}
	if s.failing {
		s.log.Info("awslogs: shipping again")
		s.failing = false
	}
	return nil
}

func (s *shipper) warn(what string, err error) {
	if !s.failing && notStopping(err) {
		s.log.Warn("awslogs: cannot "+what+"; will retry", logx.KeyError, err)
		s.failing = true
	}
}

// notStopping is false for errors that only say the shipper is stopping.
func notStopping(err error) bool {
	return !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
}

// read feeds the assembler the records written since the last read, keeping at most a few
// batches in memory: the rest waits in the file.
func (s *shipper) read(ctx context.Context) error {
	now := time.Now()
	for len(s.asm.queue) < 4*logBatchMaxEvents {
		entries, next, err := s.rt.ReadLogs(ctx, s.taskID, s.name, s.readOff, logReadChunk)
		if err != nil {
			return err
		}
		for i, e := range entries {
			s.asm.add(e.Time, e.Stream, e.Partial, e.Line, logPos{base: s.readOff, index: i}, now)
		}
		s.readOff = next
		if len(entries) < logReadChunk {
			return nil
		}
	}
	return nil
}

// ship puts the complete events, batch after batch, moving the stored offset with each.
func (s *shipper) ship(ctx context.Context) error {
	for {
		events, n, lastMs := s.asm.batch(s.st.LastMs)
		if n == 0 {
			return nil
		}
		next, err := s.offsetAfter(ctx, n)
		if err != nil {
			return err
		}
		if len(events) > 0 {
			if err := s.put(ctx, events, next, lastMs); err != nil {
				return err
			}
		}
		s.asm.drop(n)
		if s.stored != nil {
			s.stored.Add(1)
		}
		s.st = shipState{Offset: next, LastMs: lastMs}
		if err := saveShipState(s.state, s.st); err != nil {
			return err
		}
		s.trim(ctx)
	}
}

// put stores one batch, with its intent recorded first so that a restart knows whether it landed.
func (s *shipper) put(ctx context.Context, events []model.LogEvent, next, lastMs int64) error {
	if s.needStream {
		if err := s.sink.EnsureStream(ctx, s.cfg.dst); err != nil {
			return err
		}
		s.needStream = false
	}
	tail, err := s.sink.Tail(ctx, s.cfg.dst)
	if err != nil {
		return err
	}
	intent := s.st
	intent.Intent = &shipIntent{Next: next, LastMs: lastMs, TailBefore: tail}
	if err := saveShipState(s.state, intent); err != nil {
		return err
	}
	return s.sink.Put(ctx, s.cfg.dst, events)
}

// offsetAfter is the byte offset of the first record of the n-th queued event: where the
// output not yet shipped begins once the first n are.
func (s *shipper) offsetAfter(ctx context.Context, n int) (int64, error) {
	if n == len(s.asm.queue) {
		return s.readOff, nil
	}
	ev := s.asm.queue[n]
	if ev.start.index > 0 {
		_, off, err := s.rt.ReadLogs(ctx, s.taskID, s.name, ev.start.base, ev.start.index)
		if err != nil {
			return 0, err
		}
		ev.start = logPos{base: off}
	}
	return ev.start.base, nil
}

func loadShipState(path string) (shipState, error) {
	var st shipState
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return st, nil
	}
	if err == nil {
		err = json.Unmarshal(b, &st)
	}
	if err != nil {
		return shipState{}, fmt.Errorf("read log offset: %w", err)
	}
	return st, nil
}

// saveShipState writes the record atomically (a crash of the process leaves the old or the new one).
func saveShipState(path string, st shipState) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("save log offset: %w", err)
	}
	b, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("save log offset: %w", err)
	}
	if err := os.WriteFile(path+".tmp", b, 0o600); err != nil {
		return fmt.Errorf("save log offset: %w", err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		return fmt.Errorf("save log offset: %w", err)
	}
	return nil
}

// sleepCtx waits d; false when ctx ended first.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
