// Command logtasks measures log ingest from running tasks: a gantry server runs N tasks whose
// container writes lines as fast as it can (the test program's flood command) with the awslogs
// driver, timed from the first task RUNNING to the last line readable through GetLogEvents. The
// peer in the same run is the same container under raw `runc run` with its stdout going to a
// file: the rate at which the program alone can write on this machine. Every stream and file is
// read back and its sequence numbers checked: nothing lost, nothing twice.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/gantry-dev/gantry/bench"
)

// ingestGoal is issue 7's goal for events ingested per second.
const ingestGoal = 100_000

func main() {
	gantry := flag.String("gantry", "bin/gantry", "the gantry binary to measure")
	tasks := flag.Int("tasks", 4, "tasks (and raw containers) writing at once")
	lines := flag.Int("lines", 250_000, "lines each container writes")
	size := flag.Int("bytes", 100, "bytes a line, newline not counted")
	poll := flag.Duration("poll", 20*time.Millisecond, "DescribeTasks and GetLogEvents polling interval")
	timeout := flag.Duration("timeout", 5*time.Minute, "longest wait for the tasks' output to be shipped")
	stall := flag.Duration("stall", 30*time.Second, "give up when no stream's newest event moved for this long")
	flag.Parse()
	if *tasks < 1 || *lines < 1 || *size < bench.FloodSeqDigits+1 {
		fmt.Fprintf(os.Stderr, "logtasks: want -tasks >= 1, -lines >= 1, -bytes >= %d\n", bench.FloodSeqDigits+1)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *gantry, *tasks, *lines, *size, *poll, *stall, *timeout); err != nil {
		fmt.Fprintln(os.Stderr, "logtasks:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, bin string, tasks, lines, size int, poll, stall, timeout time.Duration) error {
	if err := bench.BecomeSubreaper(); err != nil {
		return fmt.Errorf("subreaper: %w", err)
	}
	defer bench.ReapOrphans()
	total := tasks * lines
	fmt.Printf("log ingest from running tasks: %d tasks x %d lines of %d bytes (%d events, %.0f MB), task %d cpu / %d MiB, awslogs; %s\n",
		tasks, lines, size, total, float64(total*(size+1))/1e6, bench.TaskCPU, bench.TaskMemoryMiB, bench.Load())
	g, err := bench.StartGantry(ctx, bench.GantryOptions{Binary: bin, Tasks: tasks, Workers: tasks})
	if err != nil {
		return err
	}
	defer g.Close()
	cleanup := context.WithoutCancel(ctx)
	// The first task pulls the image; while it runs, its bundle becomes the peer's.
	raw, err := bench.WarmPeer(ctx, g, poll)
	if err != nil {
		return err
	}
	defer raw.Close(cleanup)

	rawCPU0, cerr := bench.CgroupCPU(raw.CgroupParent)
	if errors.Is(cerr, os.ErrNotExist) {
		rawCPU0, cerr = 0, nil // runc makes the parent with the first container
	}
	rawRes, err := bench.RunRawFloods(ctx, raw, tasks, lines, size)
	if err != nil {
		return fmt.Errorf("raw runc: %w", err)
	}
	rawCPU1, cerr2 := bench.CgroupCPU(raw.CgroupParent)
	var rawCPU time.Duration
	if cerr == nil && cerr2 == nil {
		rawCPU = rawCPU1 - rawCPU0
	}
	rawRate, rawOK := reportRaw(rawRes, total)

	gr, err := runGantry(ctx, g, tasks, lines, size, poll, stall, timeout)
	if err != nil {
		return fmt.Errorf("gantry: %w", err)
	}

	fmt.Println()
	fmt.Println("summary")
	if gr.err != nil {
		fmt.Printf("  gantry shipped  FAILED: %v (goal >= %d: NOT met)\n", gr.err, ingestGoal)
	} else {
		fmt.Printf("  gantry shipped  %10.0f events/s  (%d events, first RUNNING -> last event readable %s; goal >= %d: %s)\n",
			gr.rate, total, gr.window.Round(time.Millisecond), ingestGoal, verdict(gr.rate >= ingestGoal))
	}
	fmt.Printf("  raw runc write  %10.0f events/s  (the program's own time, stdout to a file)\n", rawRate)
	if rawRate > 0 && gr.err == nil {
		fmt.Printf("  gantry / raw    %10.3f\n", gr.rate/rawRate)
	}
	per := func(d time.Duration) string {
		return fmt.Sprintf("%.0f ms", float64(d.Milliseconds())*100_000/float64(total))
	}
	if gr.cpuTasks > 0 || gr.cpuServer > 0 {
		fmt.Printf("  CPU per 100k events: raw containers %s; gantry tasks %s (container and whatever of the shim runs in the task cgroup), server %s (agent, Logs API, log store, and this benchmark's polling)\n",
			per(rawCPU), per(gr.cpuTasks), per(gr.cpuServer))
	}
	fmt.Printf("  lines checked: gantry %s, raw %s\n", okWord(gr.ok), okWord(rawOK))
	if gr.err != nil {
		return gr.err
	}
	if !gr.ok || !rawOK {
		return fmt.Errorf("lines lost, duplicated or malformed (see above)")
	}
	return nil
}

type gantryResult struct {
	rate   float64
	window time.Duration
	ok     bool
	// err is a stall: output lost or stuck (the streams were still checked).
	err error
	// cpuTasks is the tasks' cgroup CPU time, cpuServer the server process's, over the run.
	cpuTasks, cpuServer time.Duration
}

func runGantry(ctx context.Context, g *bench.Gantry, tasks, lines, size int, poll, stall, timeout time.Duration) (gantryResult, error) {
	var res gantryResult
	logs, err := bench.NewLogsClient(ctx, g.Server.URL, tasks)
	if err != nil {
		return res, err
	}
	if _, err := logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(bench.LogTasksGroup)}); err != nil {
		return res, fmt.Errorf("CreateLogGroup: %w", err)
	}
	def, err := g.FloodTaskDef(ctx, lines, size)
	if err != nil {
		return res, err
	}
	taskCPU0, err1 := bench.CgroupCPU(g.CgroupParent)
	serverCPU0, err2 := g.ServerCPU()
	runAt := time.Now()
	arns, err := g.RunTaskDef(ctx, def, tasks)
	if err != nil {
		return res, err
	}
	first, err := g.WaitStarted(ctx, arns, poll, 2*time.Minute)
	if err != nil {
		return res, err
	}
	streams := make([]string, len(arns))
	for i, a := range arns {
		streams[i] = bench.FloodStream(a)
	}
	done, err := bench.WaitShipped(ctx, logs, streams, lines, poll, stall, timeout)
	if err != nil && !errors.Is(err, bench.ErrStalled) {
		return res, err
	}
	res.err = err
	taskCPU1, err3 := bench.CgroupCPU(g.CgroupParent)
	serverCPU1, err4 := g.ServerCPU()
	if cerr := errors.Join(err1, err2, err3, err4); cerr != nil {
		fmt.Printf("  CPU time not measured: %v\n", cerr)
	} else {
		res.cpuTasks, res.cpuServer = taskCPU1-taskCPU0, serverCPU1-serverCPU0
	}
	if res.err == nil {
		fmt.Printf("gantry   RunTask -> first RUNNING %s, first RUNNING -> last event readable %s\n",
			first.Sub(runAt).Round(time.Millisecond), done.Sub(first).Round(time.Millisecond))
	} else {
		fmt.Printf("gantry   %v\n", res.err)
	}
	if err := g.WaitExited(ctx, arns, time.Minute); err != nil {
		return res, err
	}
	res.ok = res.err == nil
	var firstEvent, lastEvent time.Time
	for _, s := range streams {
		c, err := bench.CheckStream(ctx, logs, s, lines, size)
		if err != nil {
			return res, err
		}
		fmt.Printf("  %s: %s (%d pages)\n", s, c.SeqCheck, c.Pages)
		if c.Retries > 0 {
			fmt.Printf("    %d page reads failed and were asked again; last error: %v\n", c.Retries, c.LastErr)
		}
		res.ok = res.ok && c.OK()
		if firstEvent.IsZero() || c.First.Before(firstEvent) {
			firstEvent = c.First
		}
		lastEvent = later(lastEvent, c.Last)
	}
	if res.err != nil {
		// The agent's complaints say where the output went.
		for l := range strings.Lines(g.Server.Output()) {
			if strings.Contains(l, "awslogs") {
				fmt.Printf("  server: %s", l)
			}
		}
		return res, nil
	}
	// The events' timestamps are when the shim read each line from the container: how long
	// the output took to come out, against how long it then took to be stored.
	fmt.Printf("  event timestamps span %s (first RUNNING %+dms); last event readable %s after the last event's timestamp\n",
		lastEvent.Sub(firstEvent).Round(time.Millisecond), firstEvent.Sub(first).Milliseconds(), done.Sub(lastEvent).Round(time.Millisecond))
	// Output written before the task was reported RUNNING counts too: the window begins at
	// whichever came first, RUNNING or the first event's timestamp (when the shim read it).
	start := first
	if !firstEvent.IsZero() && firstEvent.Before(start) {
		fmt.Printf("  the first event (%s) predates the first RUNNING; the window starts there\n", firstEvent.Sub(first).Round(time.Millisecond))
		start = firstEvent
	}
	res.window = done.Sub(start)
	if res.window > 0 {
		res.rate = float64(tasks*lines) / res.window.Seconds()
	}
	return res, nil
}

// reportRaw prints each raw container and returns the rate over the program's own window, from
// the first start to the last end.
func reportRaw(rs []bench.RawFlood, total int) (float64, bool) {
	var start, end, wallStart, wallEnd time.Time
	ok := true
	for _, r := range rs {
		fmt.Printf("raw      %s: wrote in %s (runc run %s): %s\n", r.ID, r.End.Sub(r.Start).Round(time.Millisecond),
			r.WallEnd.Sub(r.WallStart).Round(time.Millisecond), r.Check)
		ok = ok && r.Check.OK()
		if start.IsZero() || r.Start.Before(start) {
			start = r.Start
		}
		end = later(end, r.End)
		if wallStart.IsZero() || r.WallStart.Before(wallStart) {
			wallStart = r.WallStart
		}
		wallEnd = later(wallEnd, r.WallEnd)
	}
	window := end.Sub(start)
	fmt.Printf("raw      %d events in %s (program's window), %s around runc run: %.0f events/s, %.0f with container setup\n",
		total, window.Round(time.Millisecond), wallEnd.Sub(wallStart).Round(time.Millisecond),
		float64(total)/window.Seconds(), float64(total)/wallEnd.Sub(wallStart).Seconds())
	if window <= 0 {
		return 0, ok
	}
	return float64(total) / window.Seconds(), ok
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}

func okWord(ok bool) string {
	if ok {
		return "every line once, in order"
	}
	return "FAILED"
}
