// Command netsetup measures a task's network setup through the VPC data plane (network.Plane:
// Attach, then Detach) against a shell script doing the same `ip` and `nft` steps, interleaved
// in batches in the same run so that background load hits both alike; and how long a security
// group change takes to apply, and to refuse new connections, with many interfaces attached.
// It needs root.
package main

import (
	"context"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gantry-dev/gantry/bench"
)

func main() {
	n := flag.Int("n", 200, "measured tasks of each kind")
	batch := flag.Int("batch", 20, "tasks per batch; batches of the two kinds alternate")
	warmup := flag.Int("warmup", 1, "unmeasured batches of each kind first")
	enis := flag.Int("enis", 200, "interfaces attached while measuring rule changes")
	reps := flag.Int("reps", 10, "revokes measured")
	uplinks := flag.String("uplinks", "100.126.250.0/24", "host uplink prefix for the benchmark's VPCs (must be unused)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *n, *batch, *warmup, *enis, *reps, netip.MustParsePrefix(*uplinks)); err != nil {
		fmt.Fprintln(os.Stderr, "netsetup:", err)
		os.Exit(1)
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func run(ctx context.Context, n, batch, warmup, enis, reps int, uplinks netip.Prefix) error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("needs root")
	}
	fmt.Printf("netsetup: %d tasks of each kind in batches of %d, interleaved; %s\n", n, batch, bench.Load())
	b, err := bench.NewNetBench(ctx, uplinks)
	if err != nil {
		return err
	}
	defer b.Close()
	var pa, pd, sa, sd time.Duration
	measured := 0
	next := 0
	for round := 0; measured < n; round++ {
		k := min(batch, n-measured)
		a1, d1, err := b.PlaneBatch(ctx, next, k)
		if err != nil {
			return fmt.Errorf("plane: %w", err)
		}
		a2, d2, err := b.ScriptBatch(ctx, next, k)
		if err != nil {
			return err
		}
		next += k
		if round < warmup {
			continue
		}
		pa, pd, sa, sd = pa+a1, pd+d1, sa+a2, sd+d2
		measured += k
	}
	per := func(d time.Duration) float64 { return ms(d) / float64(n) }
	fmt.Printf("\nper task (ms)         plane    script   plane/script\n")
	fmt.Printf("  attach          %8.2f  %8.2f   %6.2fx\n", per(pa), per(sa), float64(pa)/float64(sa))
	fmt.Printf("  detach          %8.2f  %8.2f   %6.2fx\n", per(pd), per(sd), float64(pd)/float64(sd))
	fmt.Printf("  attach+detach   %8.2f  %8.2f   %6.2fx   (goal <= 1.10x)\n", per(pa+pd), per(sa+sd), float64(pa+pd)/float64(sa+sd))

	p, err := b.MeasurePropagation(ctx, next+10, enis, reps)
	if err != nil {
		return fmt.Errorf("propagation: %w", err)
	}
	fmt.Printf("\nrule changes with %d interfaces attached (%d revokes, %d applies)\n", p.ENIs, len(p.Refused), len(p.Apply))
	fmt.Printf("  ApplySecurityGroups         median %6.2f ms   max %6.2f ms\n", ms(bench.Median(p.Apply)), ms(maxOf(p.Apply)))
	fmt.Printf("  revoke -> new conn refused  median %6.2f ms   max %6.2f ms   (probe gives up after %s)\n",
		ms(bench.Median(p.Refused)), ms(maxOf(p.Refused)), p.ProbeTimeout)
	return nil
}

func maxOf(ds []time.Duration) time.Duration {
	var m time.Duration
	for _, d := range ds {
		m = max(m, d)
	}
	return m
}
