// Command density runs many small idle tasks on one gantry server and reports gantry's memory per
// task beyond the tasks' own processes, against the same number of raw runc containers of the
// same bundle, in the same run.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/gantry-dev/gantry/bench"
)

func main() {
	gantry := flag.String("gantry", "bin/gantry", "the gantry binary to measure")
	n := flag.Int("n", 500, "idle tasks")
	workers := flag.Int("workers", 4, "concurrent RunTask callers, and concurrent raw runc runs")
	memOC := flag.Float64("memory-overcommit", 30, "gantry's --memory-overcommit (raised if the tasks would not fit)")
	cpuOC := flag.Float64("cpu-overcommit", 0, "gantry's --cpu-overcommit (0: just enough for -n tasks)")
	settle := flag.Duration("settle", 5*time.Second, "wait after the last start before measuring")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *gantry, *n, *workers, *cpuOC, *memOC, *settle); err != nil {
		fmt.Fprintln(os.Stderr, "density:", err)
		os.Exit(1)
	}
}

func mib(kib int64) float64 { return float64(kib) / 1024 }

func run(ctx context.Context, bin string, n, workers int, cpuOC, memOC float64, settle time.Duration) error {
	if err := bench.BecomeSubreaper(); err != nil {
		return fmt.Errorf("subreaper: %w", err)
	}
	defer bench.ReapOrphans()
	cleanup := context.WithoutCancel(ctx)
	fmt.Printf("density: %d idle tasks (%d cpu / %d MiB, the test program sleeping); %s\n", n, bench.TaskCPU, bench.TaskMemoryMiB, bench.Load())
	g, err := bench.StartGantry(ctx, bench.GantryOptions{Binary: bin, Tasks: n + 1, Workers: workers, CPUOvercommit: cpuOC, MemoryOvercommit: memOC})
	if err != nil {
		return err
	}
	defer g.Close()
	fmt.Printf("gantry started with --cpu-overcommit %g --memory-overcommit %g\n", g.CPUOvercommit, g.MemoryOvercommit)

	raw, err := bench.WarmPeer(ctx, g, 20*time.Millisecond)
	if err != nil {
		return err
	}
	defer raw.Close(cleanup)
	serverPid, err := bench.ServerPid(g.DataDir)
	if err != nil {
		return err
	}

	// gantry
	time.Sleep(2 * time.Second)
	base := bench.SumMem([]int{serverPid})
	stateBefore := bench.UsedKiB(g.RuntimeDir())
	availBefore := bench.MemAvailableKiB()
	start := time.Now()
	all, err := launch(ctx, g, n, workers)
	if err == nil {
		_, err = g.WaitRunning(ctx, all, 500*time.Millisecond, 20*time.Minute)
	}
	startTook := time.Since(start)
	var server, shims, conts bench.Mem
	var gAvail, state int64
	if err == nil {
		time.Sleep(settle)
		state = bench.UsedKiB(g.RuntimeDir()) - stateBefore
		server = bench.SumMem([]int{serverPid})
		shimPids, contPids := bench.TaskPids(g.RuntimeDir())
		shims, conts = bench.SumMem(shimPids), bench.SumMem(contPids)
		gAvail = availBefore - bench.MemAvailableKiB()
	}
	if len(all) > 0 {
		if serr := g.StopTasks(cleanup, all, 8, 10*time.Minute); serr != nil {
			fmt.Fprintln(os.Stderr, "stop tasks:", serr)
		}
		if werr := g.WaitRuntimeEmpty(cleanup, 5*time.Minute); werr != nil {
			fmt.Fprintln(os.Stderr, "warning:", werr)
		}
	}
	if err != nil {
		return err
	}

	// raw runc
	time.Sleep(2 * time.Second)
	availBefore = bench.MemAvailableKiB()
	rstart := time.Now()
	if err := rawLaunch(ctx, raw, n, workers); err != nil {
		return err
	}
	rawTook := time.Since(rstart)
	time.Sleep(settle)
	peer := bench.SumMem(raw.Pids())
	rAvail := availBefore - bench.MemAvailableKiB()

	per := func(kib int64) string { return fmt.Sprintf("%7.2f", mib(kib)/float64(n)) }
	fmt.Printf("gantry: %d tasks RUNNING in %s; raw runc: %d containers in %s\n", n, startTook.Round(time.Millisecond), n, rawTook.Round(time.Millisecond))
	fmt.Printf("MiB per task                      PSS      RSS\n")
	fmt.Printf("gantry server growth          %s  %s   (server PSS %.1f -> %.1f MiB)\n", per(server.PSS-base.PSS), per(server.RSS-base.RSS), mib(base.PSS), mib(server.PSS))
	fmt.Printf("gantry shims (%d)            %s  %s\n", shims.Procs, per(shims.PSS), per(shims.RSS))
	fmt.Printf("gantry containers (%d)       %s  %s\n", conts.Procs, per(conts.PSS), per(conts.RSS))
	fmt.Printf("gantry runtime state (tmpfs)  %s\n", per(state))
	gTotal := server.PSS - base.PSS + shims.PSS + conts.PSS + state
	fmt.Printf("gantry total                  %s\n", per(gTotal))
	fmt.Printf("raw runc containers (%d)     %s  %s\n", peer.Procs, per(peer.PSS), per(peer.RSS))
	fmt.Printf("gantry beyond raw runc        %s MiB PSS per task  (goal < 2 MiB)\n", per(gTotal-peer.PSS))
	fmt.Printf("host MemAvailable drop per task (kernel memory too, but every other process on the host as well): gantry %.2f MiB, raw runc %.2f MiB\n",
		mib(gAvail)/float64(n), mib(rAvail)/float64(n))
	fmt.Printf("after: %s\n", bench.Load())
	return nil
}

// launch starts n tasks with RunTask calls of up to 10 from workers callers.
func launch(ctx context.Context, g *bench.Gantry, n, workers int) ([]string, error) {
	calls := make(chan int)
	var mu sync.Mutex
	var all []string
	var firstErr error
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for c := range calls {
				arns, err := g.RunTasks(ctx, c)
				mu.Lock()
				all = append(all, arns...)
				if err != nil && firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		})
	}
	for left := n; left > 0; left -= 10 {
		calls <- min(left, 10)
	}
	close(calls)
	wg.Wait()
	return all, firstErr
}

func rawLaunch(ctx context.Context, raw *bench.RawRunc, n, workers int) error {
	work := make(chan int)
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range work {
				id := "idle" + strconv.Itoa(i)
				b, err := raw.Bundle(id)
				if err == nil {
					_, err = raw.Start(ctx, id, b, bench.RunDetach)
				}
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}
		})
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	return firstErr
}
