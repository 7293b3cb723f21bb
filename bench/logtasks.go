package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// The log ingest benchmark from running tasks: N tasks whose container runs the test program's
// flood command (lines of a fixed size, each beginning with its sequence number) with the awslogs
// driver, and the same container under raw runc with its stdout going to a file.

// FloodSeqDigits is the width of the sequence number that begins each flood line (then a space).
const FloodSeqDigits = 9

// LogTasksGroup is the log group the flood tasks write to; their streams are
// LogTasksPrefix/app/<task id>.
const (
	LogTasksGroup  = "/bench/logtasks"
	LogTasksPrefix = "bench"
)

// FloodCommand is the test program's command writing lines lines of size bytes; stats adds the
// program's own timing on stderr (used by the raw peer only, as it would be one more event).
func FloodCommand(lines, size int, stats bool) []string {
	cmd := []string{"flood", strconv.Itoa(lines), strconv.Itoa(size)}
	if stats {
		cmd = append(cmd, "stats")
	}
	return cmd
}

// SeqCheck counts the lines of one stream or file and checks their sequence numbers: each of
// 0..Want-1 once, of the right size.
type SeqCheck struct {
	Want, Size int
	seen       []bool
	// Lines is how many lines were read; Distinct how many different sequence numbers among them.
	Lines, Distinct int
	// Dups are lines whose number came before; Bad are lines not of the flood's form or size, or
	// with a number out of range.
	Dups, Bad int
	// OutOfOrder counts lines whose number is not one more than the previous line's.
	OutOfOrder int
	prev       int
}

// NewSeqCheck expects want lines of size bytes.
func NewSeqCheck(want, size int) *SeqCheck {
	return &SeqCheck{Want: want, Size: size, seen: make([]bool, want), prev: -1}
}

// Add takes the next line (without its newline).
func (c *SeqCheck) Add(line string) {
	c.Lines++
	seq, ok := FloodSeq(line)
	if !ok || len(line) != c.Size || seq >= c.Want {
		c.Bad++
		return
	}
	if seq != c.prev+1 {
		c.OutOfOrder++
	}
	c.prev = seq
	if c.seen[seq] {
		c.Dups++
		return
	}
	c.seen[seq] = true
	c.Distinct++
}

// Lost is how many numbers never came.
func (c *SeqCheck) Lost() int { return c.Want - c.Distinct }

// OK says every line came once, in order, and nothing else did.
func (c *SeqCheck) OK() bool {
	return c.Lost() == 0 && c.Dups == 0 && c.Bad == 0 && c.OutOfOrder == 0 && c.Lines == c.Want
}

func (c *SeqCheck) String() string {
	return fmt.Sprintf("%d lines, %d distinct of %d, lost %d, duplicated %d, out of order %d, malformed %d",
		c.Lines, c.Distinct, c.Want, c.Lost(), c.Dups, c.OutOfOrder, c.Bad)
}

// FloodSeq reads the sequence number at the start of a flood line.
func FloodSeq(line string) (int, bool) {
	if len(line) <= FloodSeqDigits || line[FloodSeqDigits] != ' ' {
		return 0, false
	}
	n := 0
	for _, b := range []byte(line[:FloodSeqDigits]) {
		if b < '0' || b > '9' {
			return 0, false
		}
		n = n*10 + int(b-'0')
	}
	return n, true
}

// FloodTaskDef registers the flood task definition (the benchmark image, awslogs into
// LogTasksGroup, which must exist) and returns its ARN.
func (g *Gantry) FloodTaskDef(ctx context.Context, lines, size int) (string, error) {
	out, err := g.Client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("bench-flood"), NetworkMode: types.NetworkModeAwsvpc,
		RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate},
		Cpu:                     aws.String(strconv.Itoa(TaskCPU)), Memory: aws.String(strconv.Itoa(TaskMemoryMiB)),
		ContainerDefinitions: []types.ContainerDefinition{{
			Name: aws.String("app"), Image: aws.String(g.Server.Addr + "/bench:v1"), Essential: aws.Bool(true),
			Command: FloodCommand(lines, size, false),
			LogConfiguration: &types.LogConfiguration{LogDriver: types.LogDriverAwslogs, Options: map[string]string{
				"awslogs-group": LogTasksGroup, "awslogs-region": "us-east-1", "awslogs-stream-prefix": LogTasksPrefix}},
		}},
	})
	if err != nil {
		return "", fmt.Errorf("RegisterTaskDefinition: %w", err)
	}
	return aws.ToString(out.TaskDefinition.TaskDefinitionArn), nil
}

// RunTaskDef starts count tasks of taskDef, at most 10 per RunTask call as ECS allows.
func (g *Gantry) RunTaskDef(ctx context.Context, taskDef string, count int) ([]string, error) {
	var arns []string
	for left := count; left > 0; left -= 10 {
		out, err := g.Client.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: aws.String(taskDef), Count: aws.Int32(int32(min(left, 10))),
			LaunchType: types.LaunchTypeFargate, NetworkConfiguration: g.Network})
		if err != nil {
			return arns, fmt.Errorf("RunTask: %w", err)
		}
		if len(out.Failures) > 0 {
			f := out.Failures[0]
			return arns, fmt.Errorf("RunTask failures: %d, first: %s %s", len(out.Failures), aws.ToString(f.Reason), aws.ToString(f.Detail))
		}
		for _, t := range out.Tasks {
			arns = append(arns, aws.ToString(t.TaskArn))
		}
	}
	return arns, nil
}

// TaskID is the last part of a task ARN.
func TaskID(arn string) string { return arn[strings.LastIndexByte(arn, '/')+1:] }

// FloodStream is the log stream of a flood task.
func FloodStream(arn string) string { return LogTasksPrefix + "/app/" + TaskID(arn) }

// WaitStarted polls DescribeTasks until every task has a startedAt (it reached RUNNING, and may
// have stopped since) and returns the earliest. A task that stops without starting is an error.
func (g *Gantry) WaitStarted(ctx context.Context, arns []string, poll, timeout time.Duration) (time.Time, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		tasks, err := g.Describe(ctx, arns)
		if err != nil {
			return time.Time{}, err
		}
		var first time.Time
		started := 0
		for _, t := range tasks {
			if t.StartedAt != nil {
				started++
				if first.IsZero() || t.StartedAt.Before(first) {
					first = *t.StartedAt
				}
			} else if aws.ToString(t.LastStatus) == "STOPPED" {
				return time.Time{}, fmt.Errorf("task %s stopped before RUNNING: %s %s", aws.ToString(t.TaskArn), t.StopCode, aws.ToString(t.StoppedReason))
			}
		}
		if started == len(arns) {
			return first, nil
		}
		select {
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("%d of %d tasks not started: %w", len(arns)-started, len(arns), ctx.Err())
		case <-time.After(poll):
		}
	}
}

// WaitExited waits until every task is STOPPED and checks that each container exited 0.
func (g *Gantry) WaitExited(ctx context.Context, arns []string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		tasks, err := g.Describe(ctx, arns)
		if err != nil {
			return err
		}
		stopped := 0
		var errs []error
		for _, t := range tasks {
			if aws.ToString(t.LastStatus) != "STOPPED" {
				continue
			}
			stopped++
			for _, c := range t.Containers {
				if c.ExitCode == nil || *c.ExitCode != 0 {
					errs = append(errs, fmt.Errorf("task %s container %s: exit code %v, %s", TaskID(aws.ToString(t.TaskArn)),
						aws.ToString(c.Name), aws.ToInt32(c.ExitCode), aws.ToString(c.Reason)))
				}
			}
		}
		if stopped == len(arns) {
			return errors.Join(errs...)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d of %d tasks not STOPPED: %w", len(arns)-stopped, len(arns), ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// lastEvent is the newest event of a stream through GetLogEvents (nil when it has none yet).
func lastEvent(ctx context.Context, c *cloudwatchlogs.Client, stream string) (*cwtypes.OutputLogEvent, error) {
	out, err := c.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String(LogTasksGroup),
		LogStreamName: aws.String(stream), Limit: aws.Int32(1), StartFromHead: aws.Bool(false)})
	if err != nil {
		return nil, err
	}
	if len(out.Events) == 0 {
		return nil, nil
	}
	return &out.Events[len(out.Events)-1], nil
}

// ErrStalled says no stream's newest event moved for the stall time: output is lost or stuck.
var ErrStalled = errors.New("shipping stalled")

// WaitShipped polls each stream's newest event until it is line lines-1 (the shipper puts a
// stream's events in order, so all before it are stored) and returns when the last stream got
// there. A stream that does not exist yet is polled again. When no stream's newest event moves
// for stall, it gives up with ErrStalled.
func WaitShipped(ctx context.Context, c *cloudwatchlogs.Client, streams []string, lines int, poll, stall, timeout time.Duration) (time.Time, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	pending := slices.Clone(streams)
	newest := map[string]int{}
	moved := time.Now()
	for {
		var still []string
		for _, s := range pending {
			ev, err := lastEvent(ctx, c, s)
			var nf *cwtypes.ResourceNotFoundException
			if err != nil && !errors.As(err, &nf) {
				return time.Time{}, fmt.Errorf("GetLogEvents %s: %w", s, err)
			}
			seq, ok := -1, false
			if ev != nil {
				seq, ok = FloodSeq(aws.ToString(ev.Message))
			}
			if old, seen := newest[s]; !seen || seq != old {
				newest[s], moved = seq, time.Now()
			}
			if !ok || seq != lines-1 {
				still = append(still, s)
			}
		}
		if pending = still; len(pending) == 0 {
			return time.Now(), nil
		}
		if time.Since(moved) > stall {
			return time.Time{}, fmt.Errorf("%d of %d streams without their last line, none moved for %s: %w", len(pending), len(streams), stall, ErrStalled)
		}
		select {
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("%d of %d streams without their last line: %w", len(pending), len(streams), ctx.Err())
		case <-time.After(poll):
		}
	}
}

// StreamCheck is one stream read back through GetLogEvents from its head.
type StreamCheck struct {
	*SeqCheck
	Pages int
	// Retries counts failed page reads asked again, LastErr is the last failure.
	Retries int
	LastErr error
	// First and Last are the first and last events' timestamps.
	First, Last time.Time
}

// CheckStream reads a whole stream forward, 10,000 events a page, and checks its lines.
func CheckStream(ctx context.Context, c *cloudwatchlogs.Client, stream string, lines, size int) (StreamCheck, error) {
	r := StreamCheck{SeqCheck: NewSeqCheck(lines, size)}
	in := &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String(LogTasksGroup), LogStreamName: aws.String(stream),
		StartFromHead: aws.Bool(true), Limit: aws.Int32(10000)}
	for {
		var out *cloudwatchlogs.GetLogEventsOutput
		// A read may be asked again; the client has no retries of its own.
		err := retry(ctx, func() (err error) {
			if out, err = c.GetLogEvents(ctx, in); err != nil {
				r.Retries++
				r.LastErr = err
			}
			return err
		})
		if err != nil {
			return r, fmt.Errorf("GetLogEvents %s: %w", stream, err)
		}
		r.Pages++
		for _, e := range out.Events {
			ts := time.UnixMilli(aws.ToInt64(e.Timestamp))
			if r.First.IsZero() {
				r.First = ts
			}
			r.Last = ts
			r.Add(aws.ToString(e.Message))
		}
		// The forward token stays the same at the end of the stream.
		if len(out.Events) == 0 || aws.ToString(out.NextForwardToken) == aws.ToString(in.NextToken) {
			return r, nil
		}
		in.NextToken = out.NextForwardToken
	}
}

// RawFlood is one raw runc container's flood: its stdout in a file.
type RawFlood struct {
	ID string
	// Wall is around `runc run` (container setup included); Start and End are the program's own
	// clock around its writes.
	WallStart, WallEnd, Start, End time.Time
	Check                          *SeqCheck
}

// RunRawFloods runs count flood containers at once under `runc run` (foreground, no terminal,
// so the program's stdout is the file itself), waits for them to exit and checks each file.
func RunRawFloods(ctx context.Context, r *RawRunc, count, lines, size int) ([]RawFlood, error) {
	tmpl := r.template
	proc := *tmpl.Process
	proc.Args = append([]string{"/app"}, FloodCommand(lines, size, true)...)
	proc.Terminal = false
	r.template.Process = &proc
	defer func() { r.template = tmpl }()
	res := make([]RawFlood, count)
	bundles := make([]string, count)
	for i := range res {
		res[i].ID = "flood" + strconv.Itoa(i)
		var err error
		if bundles[i], err = r.Bundle(res[i].ID); err != nil {
			return nil, err
		}
	}
	errs := make([]error, count)
	var wg sync.WaitGroup
	for i := range res {
		wg.Go(func() { errs[i] = runRawFlood(ctx, r, bundles[i], &res[i], lines, size) })
	}
	wg.Wait()
	return res, errors.Join(errs...)
}

func runRawFlood(ctx context.Context, r *RawRunc, bundle string, f *RawFlood, lines, size int) error {
	path := filepath.Join(bundle, "stdout")
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	defer out.Close()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, r.Binary, "--root", r.Root, "run", "--bundle", bundle, f.ID)
	cmd.Stdout, cmd.Stderr = out, &stderr
	f.WallStart = time.Now()
	err = cmd.Run()
	f.WallEnd = time.Now()
	if err != nil {
		return fmt.Errorf("runc run %s: %w: %s", f.ID, err, strings.TrimSpace(stderr.String()))
	}
	var n, sz, start, end int64
	if _, err := fmt.Sscanf(stderr.String(), "flood lines=%d bytes=%d start=%d end=%d", &n, &sz, &start, &end); err != nil {
		return fmt.Errorf("raw flood %s: no stats on stderr (%v): %q", f.ID, err, stderr.String())
	}
	f.Start, f.End = time.Unix(0, start), time.Unix(0, end)
	if _, err := out.Seek(0, 0); err != nil {
		return err
	}
	f.Check = NewSeqCheck(lines, size)
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 1<<20), size+2)
	for sc.Scan() {
		f.Check.Add(sc.Text())
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read raw flood %s: %w", f.ID, err)
	}
	return nil
}

// CgroupCPU is the CPU time used so far by everything under a cgroup parent (children removed
// since included): cpuacct.usage on cgroup v1, cpu.stat's usage_usec on v2.
func CgroupCPU(parent string) (time.Duration, error) {
	if b, err := os.ReadFile(filepath.Join("/sys/fs/cgroup/cpuacct", parent, "cpuacct.usage")); err == nil {
		ns, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		return time.Duration(ns), err
	}
	b, err := os.ReadFile(filepath.Join("/sys/fs/cgroup", parent, "cpu.stat"))
	if err != nil {
		return 0, err
	}
	for l := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "usage_usec "); ok {
			us, err := strconv.ParseInt(v, 10, 64)
			return time.Duration(us) * time.Microsecond, err
		}
	}
	return 0, fmt.Errorf("%s: no usage_usec", parent)
}

// ServerCPU is the CPU time (user and system) the gantry server of g used so far: the process
// whose command line names its data directory.
func (g *Gantry) ServerCPU() (time.Duration, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		cmd, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !bytes.Contains(cmd, []byte("\x00--data-dir\x00"+g.DataDir+"\x00")) || !bytes.Contains(cmd, []byte("\x00server\x00")) {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			return 0, err
		}
		return procStatCPU(string(stat))
	}
	return 0, fmt.Errorf("no server process with --data-dir %s", g.DataDir)
}

// procStatCPU reads utime and stime (fields 14 and 15, clock ticks of 1/100 s) from /proc/<pid>/stat.
func procStatCPU(stat string) (time.Duration, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("malformed /proc/<pid>/stat")
	}
	f := strings.Fields(stat[i+1:]) // f[0] is field 3 (state)
	if len(f) < 13 {
		return 0, errors.New("short /proc/<pid>/stat")
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return time.Duration(ut+st) * 10 * time.Millisecond, nil
}

// FloodLineForTest is line i of size bytes as the test program's flood command writes it.
func FloodLineForTest(i, size int) string {
	b := []byte(fmt.Sprintf("%0*d ", FloodSeqDigits, i))
	for len(b) < size {
		b = append(b, 'a'+byte(len(b)%26))
	}
	return string(b)
}
