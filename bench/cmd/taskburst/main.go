// Command taskburst measures a burst of tasks: gantry starting tasks from concurrent RunTask calls
// of count 10, against raw runc starting the same bundle with the same concurrency, in one run.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	goruntime "runtime"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/gantry-dev/gantry/bench"
)

func main() {
	gantry := flag.String("gantry", "bin/gantry", "the gantry binary to measure")
	total := flag.Int("n", 200, "tasks in the burst")
	count := flag.Int("count", 10, "tasks per RunTask call (1 to 10)")
	workers := flag.Int("workers", 4, "concurrent RunTask callers, and concurrent raw runc runs")
	poll := flag.Duration("poll", 25*time.Millisecond, "DescribeTasks polling interval")
	peerWorkers := flag.Int("peer-workers", 0, "concurrent raw runc runs (0: -workers; gantry itself starts up to workers x count at once)")
	flag.Parse()
	if *peerWorkers <= 0 {
		*peerWorkers = *workers
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *gantry, *total, *count, *workers, *peerWorkers, *poll); err != nil {
		fmt.Fprintln(os.Stderr, "taskburst:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, bin string, total, count, workers, peerWorkers int, poll time.Duration) error {
	if count < 1 || count > 10 || total%count != 0 {
		return fmt.Errorf("-count must be 1..10 and divide -n")
	}
	if err := bench.BecomeSubreaper(); err != nil {
		return fmt.Errorf("subreaper: %w", err)
	}
	defer bench.ReapOrphans()
	cleanup := context.WithoutCancel(ctx)
	fmt.Printf("burst of %d tasks as %d RunTask calls of count %d from %d workers, task %d cpu / %d MiB; %s\n",
		total, total/count, count, workers, bench.TaskCPU, bench.TaskMemoryMiB, bench.Load())
	g, err := bench.StartGantry(ctx, bench.GantryOptions{Binary: bin, Tasks: total + 1, Workers: workers})
	if err != nil {
		return err
	}
	defer g.Close()
	fmt.Printf("gantry started with --cpu-overcommit %g --memory-overcommit %g\n", g.CPUOvercommit, g.MemoryOvercommit)

	// Warm-up: pull the image, take the bundle for the peer.
	raw, err := bench.WarmPeer(ctx, g, poll)
	if err != nil {
		return err
	}
	defer raw.Close(cleanup)

	comms := []string{"gantry", "gantry-shim"}
	c0, err := bench.SampleCPU(comms...)
	if err != nil {
		return err
	}
	gElapsed, server, all, berr := gantryBurst(ctx, g, total, count, workers, poll)
	c1, err := bench.SampleCPU(comms...)
	if err != nil {
		return err
	}
	if len(all) > 0 {
		if err := g.StopTasks(cleanup, all, 8, 5*time.Minute); err != nil {
			fmt.Fprintln(os.Stderr, "stop tasks:", err)
		}
		if err := g.WaitRuntimeEmpty(cleanup, 2*time.Minute); err != nil {
			fmt.Fprintln(os.Stderr, "warning:", err)
		}
	}
	if berr != nil {
		return berr
	}
	r0, err := bench.SampleCPU()
	if err != nil {
		return err
	}
	rElapsed, err := rawBurst(ctx, raw, total, peerWorkers)
	if err != nil {
		return err
	}
	r1, err := bench.SampleCPU()
	if err != nil {
		return err
	}
	gRate, sRate, rRate := float64(total)/gElapsed.Seconds(), float64(total)/server.Seconds(), float64(total)/rElapsed.Seconds()
	fmt.Printf("gantry   %6.1f tasks/s  (first RunTask -> last task seen RUNNING: %s)\n", gRate, gElapsed.Round(time.Millisecond))
	fmt.Printf("gantry   %6.1f tasks/s  (server: first createdAt -> last startedAt: %s)\n", sRate, server.Round(time.Millisecond))
	fmt.Printf("raw runc %6.1f tasks/s  (%d runc run --detach, %d at a time: %s)\n", rRate, total, peerWorkers, rElapsed.Round(time.Millisecond))
	fmt.Printf("gantry / raw runc: %.2fx the rate (goal: gantry >= 50 tasks/s)\n", gRate/rRate)
	// On 2 CPUs a burst is CPU-bound: CPU per start sets the rate.
	gCPU, rCPU := c1.Sub(c0), r1.Sub(r0)
	fmt.Printf("CPU per task start, gantry:   %s\n", gCPU.PerTask(total, comms...))
	fmt.Printf("CPU per task start, raw runc: %s\n", rCPU.PeerPerTask(total))
	cpus := goruntime.NumCPU()
	allows := func(s bench.CPUSample) float64 { return float64(cpus) * float64(total) / s.Busy.Seconds() }
	fmt.Printf("what %d CPUs allow at that CPU per start: gantry %.1f, raw runc %.1f tasks/s (50 tasks/s needs at most %.1f ms per start)\n",
		cpus, allows(gCPU), allows(rCPU), float64(cpus)*1000/50)
	fmt.Printf("after: %s\n", bench.Load())
	return nil
}

func gantryBurst(ctx context.Context, g *bench.Gantry, total, count, workers int, poll time.Duration) (elapsed, server time.Duration, all []string, err error) {
	var mu sync.Mutex
	var firstErr error
	calls := make(chan struct{})
	done := make(chan struct{})
	start := time.Now()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range calls {
				arns, err := g.RunTasks(ctx, count)
				mu.Lock()
				all = append(all, arns...)
				if err != nil && firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		})
	}
	go func() {
		for range total / count {
			calls <- struct{}{}
		}
		close(calls)
		wg.Wait()
		close(done)
	}()
	running := map[string]time.Time{}
	var first, last time.Time
	issued := false
	for {
		select {
		case <-done:
			issued = true
		default:
		}
		mu.Lock()
		pending := slices.DeleteFunc(slices.Clone(all), func(a string) bool { _, ok := running[a]; return ok })
		ferr := firstErr
		mu.Unlock()
		if ferr != nil {
			<-done
			return 0, 0, all, ferr
		}
		if issued && len(pending) == 0 {
			break
		}
		if len(pending) > 0 {
			seen, err := g.PollRunning(ctx, pending)
			for arn, o := range seen {
				running[arn] = o.Seen
				if c := aws.ToTime(o.Task.CreatedAt); first.IsZero() || c.Before(first) {
					first = c
				}
				if s := aws.ToTime(o.Task.StartedAt); s.After(last) {
					last = s
				}
			}
			if err != nil {
				<-done
				return 0, 0, all, err
			}
		}
		if time.Since(start) > 10*time.Minute {
			<-done
			return 0, 0, all, fmt.Errorf("%d tasks not RUNNING after 10 minutes", len(pending))
		}
		select {
		case <-ctx.Done():
			<-done
			return 0, 0, all, ctx.Err()
		case <-time.After(poll):
		}
	}
	var lastSeen time.Time
	for _, t := range running {
		if t.After(lastSeen) {
			lastSeen = t
		}
	}
	return lastSeen.Sub(start), last.Sub(first), all, nil
}

func rawBurst(ctx context.Context, raw *bench.RawRunc, total, workers int) (time.Duration, error) {
	bundles := make([]string, total)
	for i := range total {
		b, err := raw.Bundle("burst" + strconv.Itoa(i))
		if err != nil {
			return 0, err
		}
		bundles[i] = b
	}
	work := make(chan int)
	var mu sync.Mutex
	var firstErr error
	start := time.Now()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range work {
				if _, err := raw.Start(ctx, "burst"+strconv.Itoa(i), bundles[i], bench.RunDetach); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}
		})
	}
	for i := range total {
		work <- i
	}
	close(work)
	wg.Wait()
	elapsed := time.Since(start)
	return elapsed, firstErr
}
