// Command tasklatency measures RunTask to RUNNING for a cached image: gantry through the AWS SDK
// for Go v2, against raw runc starting the same OCI bundle, interleaved in the same run so that
// background load hits both alike.
package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/gantry-dev/gantry/bench"
)

func main() {
	gantry := flag.String("gantry", "bin/gantry", "the gantry binary to measure")
	n := flag.Int("n", 50, "measured runs of each")
	warmup := flag.Int("warmup", 5, "unmeasured runs of each first (the first gantry run pulls the image)")
	poll := flag.Duration("poll", 5*time.Millisecond, "DescribeTasks polling interval")
	settle := flag.Duration("settle", 300*time.Millisecond, "pause before each timed start (gantry's and the peer's alike), so that the previous run's teardown, which the kernel finishes after the fact (namespaces, cgroups), is not timed")
	running := flag.Int("running", 0, "idle tasks kept running on the host while measuring (and as many idle raw runc containers for the peer): how a start's cost grows with what the host already runs")
	replace := flag.Bool("replace", false, "each start replaces the previous one, as a rolling deployment does: the previous task is stopped (StopTask), and the peer's previous container removed (runc kill, delete), at the moment the start begins")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *gantry, *n, *warmup, *running, *poll, *settle, *replace); err != nil {
		fmt.Fprintln(os.Stderr, "tasklatency:", err)
		os.Exit(1)
	}
}

type sample struct {
	client, server, runTask    time.Duration
	queue, pull, start, report time.Duration // createdAt→pullStarted→pullStopped→startedAt→seen
	cpu                        bench.CPUSample
}

// comms are the processes whose CPU a start is split into, beside this program's own (the SDK
// client and its polls): the server, and the tasks' shims with the runc runs they reaped.
var comms = []string{"gantry", "gantry-shim"}

func run(ctx context.Context, bin string, n, warmup, running int, poll, settle time.Duration, replace bool) (err error) {
	if err := bench.BecomeSubreaper(); err != nil {
		return fmt.Errorf("subreaper: %w", err)
	}
	defer bench.ReapOrphans()
	fmt.Printf("RunTask -> RUNNING, cached image, task %d cpu / %d MiB, %d runs after %d warm-up, poll %s, %d idle tasks running, replacing the previous start %v; %s\n",
		bench.TaskCPU, bench.TaskMemoryMiB, n, warmup, poll, running, replace, bench.Load())
	g, err := bench.StartGantry(ctx, bench.GantryOptions{Binary: bin, Tasks: 4 + running, Workers: 4})
	if err != nil {
		return err
	}
	defer g.Close()
	cleanup := context.WithoutCancel(ctx)

	// The first run pulls the image; while it runs, its bundle becomes the peer's.
	raw, err := bench.WarmPeer(ctx, g, poll)
	if err != nil {
		return err
	}
	defer raw.Close(cleanup)
	idle, err := startIdle(ctx, g, raw, running, poll)
	stopIdle := func() {
		if err := g.StopTasks(cleanup, idle, 4, 5*time.Minute); err != nil {
			fmt.Fprintln(os.Stderr, "warning: stop the idle tasks:", err)
		}
		idle = nil
	}
	defer stopIdle()
	if err != nil {
		return err
	}

	var gs []sample
	var runs, createStarts []time.Duration
	var gCPU, rCPU bench.CPUSample
	// With replace, the task and the peer's container that the next start replaces.
	var prevTask []string
	prevRaw := ""
	defer func() {
		if prevTask != nil {
			_ = g.StopTasks(cleanup, prevTask, 1, time.Minute)
		}
		if prevRaw != "" {
			_ = raw.Remove(cleanup, prevRaw)
		}
	}()
	for i := range warmup - 1 + n {
		measured := i >= warmup-1
		time.Sleep(settle)
		s, arns, err := gantryOnce(ctx, g, poll, prevTask, replace)
		if replace {
			prevTask = arns
		}
		if err != nil {
			return fmt.Errorf("gantry run %d: %w", i, err)
		}
		id := "lat" + strconv.Itoa(i)
		time.Sleep(settle)
		d1, c1, err := rawOnce(ctx, raw, id+"r", bench.RunDetach, prevRaw, replace)
		if replace {
			prevRaw = id + "r"
		}
		if err != nil {
			return err
		}
		time.Sleep(settle)
		d2, _, err := rawOnce(ctx, raw, id+"c", bench.CreateStart, "", false)
		if err != nil {
			return err
		}
		if measured {
			gs = append(gs, s)
			runs, createStarts = append(runs, d1), append(createStarts, d2)
			gCPU, rCPU = gCPU.Add(s.cpu), rCPU.Add(c1)
		}
	}
	stopIdle()
	if err := g.WaitRuntimeEmpty(ctx, time.Minute); err != nil {
		fmt.Fprintln(os.Stderr, "warning:", err)
	}
	pick := func(f func(sample) time.Duration) bench.Stats {
		ds := make([]time.Duration, len(gs))
		for i, s := range gs {
			ds[i] = f(s)
		}
		return bench.Summarise(ds)
	}
	client := pick(func(s sample) time.Duration { return s.client })
	server := pick(func(s sample) time.Duration { return s.server })
	rawRun, rawCS := bench.Summarise(runs), bench.Summarise(createStarts)
	fmt.Printf("gantry client   RunTask call -> seen RUNNING  %s\n", client)
	fmt.Printf("gantry server   startedAt - createdAt         %s\n", server)
	fmt.Printf("  RunTask call returns                        %s\n", pick(func(s sample) time.Duration { return s.runTask }))
	fmt.Printf("  createdAt -> pullStartedAt (place, assign)  %s\n", pick(func(s sample) time.Duration { return s.queue }))
	fmt.Printf("  pullStartedAt -> pullStoppedAt (image)      %s\n", pick(func(s sample) time.Duration { return s.pull }))
	fmt.Printf("  pullStoppedAt -> startedAt (rootfs,sandbox) %s\n", pick(func(s sample) time.Duration { return s.start }))
	fmt.Printf("  startedAt -> seen RUNNING (report, poll)    %s\n", pick(func(s sample) time.Duration { return s.report }))
	fmt.Printf("raw runc run --detach                         %s\n", rawRun)
	fmt.Printf("raw runc create + start                       %s\n", rawCS)
	ratio := func(a, b time.Duration) float64 { return float64(a) / float64(b) }
	fmt.Printf("ratio gantry client / runc run:  p50 %.1fx  p99 %.1fx   (goal <= 1.5x, p50/p99 < 150 ms)\n", ratio(client.P50, rawRun.P50), ratio(client.P99, rawRun.P99))
	fmt.Printf("ratio gantry server / runc run:  p50 %.1fx  p99 %.1fx\n", ratio(server.P50, rawRun.P50), ratio(server.P99, rawRun.P99))
	fmt.Printf("ratio gantry client / runc create+start: p50 %.1fx  p99 %.1fx\n", ratio(client.P50, rawCS.P50), ratio(client.P99, rawCS.P99))
	// Each gantry start is paired with the peer's runs right after it: the ratios of the pairs
	// cancel the machine's slow drift (a noisy host's speed changes over a run).
	paired := make([]float64, len(gs))
	for i, s := range gs {
		paired[i] = ratio(s.client, runs[i])
	}
	slices.Sort(paired)
	at := func(p float64) float64 {
		return paired[min(max(int(math.Ceil(p*float64(len(paired))))-1, 0), len(paired)-1)]
	}
	fmt.Printf("paired gantry client / runc run, per iteration: p50 %.2fx  p90 %.2fx\n", at(0.5), at(0.9))
	// The machine has 2 CPUs: what the client's polls cost is taken from the start it watches.
	if replace {
		// The replaced task's shim exits within the window, taking its CPU out of the sample.
		fmt.Println("CPU per start: not measured with -replace")
	} else {
		fmt.Printf("CPU per start, RunTask -> seen RUNNING: %s\n", gCPU.PerTask(len(gs), comms...))
		fmt.Printf("CPU per start, raw runc run:            %s\n", rCPU.PeerPerTask(len(gs)))
	}
	fmt.Printf("after: %s\n", bench.Load())
	return nil
}

// gantryOnce runs one task and times it to RUNNING. It stops replaced at the same moment and
// waits for that (untimed), and then, unless keep, stops its own task and waits (untimed); a
// kept task is returned for the caller to stop.
func gantryOnce(ctx context.Context, g *bench.Gantry, poll time.Duration, replaced []string, keep bool) (sample, []string, error) {
	c0, err := bench.SampleCPU(comms...)
	if err != nil {
		return sample{}, nil, err
	}
	stopped := make(chan error, 1)
	start := time.Now()
	if replaced == nil {
		stopped <- nil
	} else {
		go func() { stopped <- g.StopTasks(context.WithoutCancel(ctx), replaced, 1, time.Minute) }()
	}
	arns, err := g.RunTasks(ctx, 1)
	if err != nil {
		<-stopped
		return sample{}, nil, err
	}
	called := time.Since(start)
	seen, err := g.WaitRunning(ctx, arns, poll, time.Minute)
	var c1 bench.CPUSample
	if err == nil {
		c1, err = bench.SampleCPU(comms...)
	}
	if serr := <-stopped; err == nil && serr != nil {
		err = fmt.Errorf("stop the replaced task: %w", serr)
	}
	kept := arns
	if !keep {
		_ = g.StopTasks(context.WithoutCancel(ctx), arns, 1, time.Minute)
		kept = nil
	}
	if err != nil {
		return sample{}, kept, err
	}
	o := seen[arns[0]]
	t := o.Task
	ts := func(p *time.Time) time.Time { return aws.ToTime(p) }
	return sample{
		client: o.Seen.Sub(start), runTask: called,
		server: ts(t.StartedAt).Sub(ts(t.CreatedAt)),
		queue:  ts(t.PullStartedAt).Sub(ts(t.CreatedAt)),
		pull:   ts(t.PullStoppedAt).Sub(ts(t.PullStartedAt)),
		start:  ts(t.StartedAt).Sub(ts(t.PullStoppedAt)),
		report: o.Seen.Sub(ts(t.StartedAt)),
		cpu:    c1.Sub(c0),
	}, kept, nil
}

// startIdle starts n idle tasks (RunTask count 10) and n idle raw containers, and waits for
// the tasks to run; it returns the tasks' ARNs, for the caller to stop, even on error. The
// raw containers go with the peer's Close.
func startIdle(ctx context.Context, g *bench.Gantry, raw *bench.RawRunc, n int, poll time.Duration) ([]string, error) {
	var arns []string
	for len(arns) < n {
		a, err := g.RunTasks(ctx, min(10, n-len(arns)))
		arns = append(arns, a...)
		if err != nil {
			return arns, err
		}
		if _, err := g.WaitRunning(ctx, a, poll, time.Minute); err != nil {
			return arns, err
		}
	}
	for i := range n {
		id := "idle" + strconv.Itoa(i)
		bundle, err := raw.Bundle(id)
		if err != nil {
			return arns, err
		}
		if _, err := raw.Start(ctx, id, bundle, bench.RunDetach); err != nil {
			return arns, err
		}
	}
	return arns, nil
}

// rawOnce writes a bundle (untimed), starts it with runc (timed, with the CPU it took) while
// removing replaced, when set, then removes it (untimed) unless keep.
func rawOnce(ctx context.Context, raw *bench.RawRunc, id string, mode bench.PeerMode, replaced string, keep bool) (time.Duration, bench.CPUSample, error) {
	bundle, err := raw.Bundle(id)
	if err != nil {
		return 0, bench.CPUSample{}, err
	}
	c0, err := bench.SampleCPU()
	if err != nil {
		return 0, bench.CPUSample{}, err
	}
	removed := make(chan error, 1)
	if replaced == "" {
		removed <- nil
	} else {
		go func() { removed <- raw.Remove(context.WithoutCancel(ctx), replaced) }()
	}
	d, err := raw.Start(ctx, id, bundle, mode)
	var c1 bench.CPUSample
	if err == nil {
		c1, err = bench.SampleCPU()
	}
	if rerr := <-removed; err == nil && rerr != nil {
		err = fmt.Errorf("remove the replaced container: %w", rerr)
	}
	if err != nil {
		return 0, bench.CPUSample{}, err
	}
	if keep {
		return d, c1.Sub(c0), nil
	}
	return d, c1.Sub(c0), raw.Remove(context.WithoutCancel(ctx), id)
}
