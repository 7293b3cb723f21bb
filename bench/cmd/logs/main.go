// Command logs measures the CloudWatch Logs data path: PutLogEvents ingest rate in-process
// (ops and the log store) and through HTTP to a gantry server with the AWS SDK for Go v2, and
// FilterLogEvents latency over a million events in interleaved streams with a term matching 1% of them.
// The peer, moto_server, runs the same SDK client code on a smaller count.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"syscall"
	"time"

	"github.com/gantry-dev/gantry/bench"
	"github.com/gantry-dev/gantry/internal/e2e"
	"github.com/gantry-dev/gantry/internal/etcdnode"
	"github.com/gantry-dev/gantry/internal/logstore"
	"github.com/gantry-dev/gantry/internal/logstore/logsbackend"
	"github.com/gantry-dev/gantry/internal/logx"
	"github.com/gantry-dev/gantry/internal/ops"
	"github.com/gantry-dev/gantry/internal/store"
)

// The ingest goal and the filter goal of issue 7.
const (
	ingestGoal = 100_000
	filterGoal = time.Second
	pattern    = "ERROR" // one event in 100
)

// filterStreams is how many streams the filtered events are spread over.
var filterStreams = 10

func main() {
	gantry := flag.String("gantry", "bin/gantry", "the gantry binary to measure")
	moto := flag.String("moto", "moto_server", "the moto_server command (the peer)")
	events := flag.Int("events", 1_000_000, "events ingested per gantry run, and in the filtered stream")
	motoEvents := flag.Int("moto-events", 100_000, "events ingested into and filtered on moto_server")
	batch := flag.Int("batch", 10_000, "events per PutLogEvents call")
	workers := flag.Int("workers", 4, "concurrent writers, one stream each")
	streams := flag.Int("filter-streams", 10, "streams the filtered events are spread over (their timestamps interleave)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg := bench.LogsConfig{Events: *events, Batch: *batch, Workers: *workers}
	filterStreams = max(1, *streams)
	if err := run(ctx, *gantry, *moto, cfg, *motoEvents); err != nil {
		fmt.Fprintln(os.Stderr, "logs:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, gantryBin, motoCmd string, cfg bench.LogsConfig, motoEvents int) error {
	fmt.Printf("PutLogEvents ingest (%d events, batches of %d, %d workers) and FilterLogEvents %q over %d interleaved streams, %d CPUs\n",
		cfg.Events, cfg.Batch, cfg.Workers, pattern, filterStreams, runtime.NumCPU())
	in, err := inProcess(ctx, cfg)
	if err != nil {
		return fmt.Errorf("in-process: %w", err)
	}
	g, err := overHTTP(ctx, gantryBin, cfg)
	if err != nil {
		return fmt.Errorf("gantry: %w", err)
	}
	mcfg := cfg
	mcfg.Events = motoEvents
	m, err := moto(ctx, motoCmd, mcfg)
	if err != nil {
		fmt.Printf("moto     skipped: %v\n", err)
	}
	fmt.Println()
	fmt.Println("summary")
	fmt.Printf("  ingest in-process  %10.0f events/s  (goal >= %d: %s)\n", in.ingest.Rate(), ingestGoal, verdict(in.ingest.Rate() >= ingestGoal))
	fmt.Printf("  ingest HTTP gantry %10.0f events/s  (goal >= %d: %s)\n", g.ingest.Rate(), ingestGoal, verdict(g.ingest.Rate() >= ingestGoal))
	fmt.Printf("  filter in-process  %10s over %d events  (goal < %s: %s)\n", in.filter.Elapsed.Round(time.Millisecond), cfg.Events, filterGoal, verdict(in.filter.Elapsed < filterGoal))
	fmt.Printf("  filter HTTP gantry %10s over %d events  (goal < %s: %s)\n", g.filter.Elapsed.Round(time.Millisecond), cfg.Events, filterGoal, verdict(g.filter.Elapsed < filterGoal))
	if err == nil {
		fmt.Printf("  ingest HTTP moto   %10.0f events/s  (%d events)\n", m.ingest.Rate(), motoEvents)
		fmt.Printf("  filter HTTP moto   %10s over %d events\n", m.filter.Elapsed.Round(time.Millisecond), motoEvents)
		if m.ingest.Rate() > 0 {
			fmt.Printf("  ingest gantry / moto: %.1fx\n", g.ingest.Rate()/m.ingest.Rate())
		}
		// Per event scanned, as the peer's stream is smaller.
		gPer := g.filter.Elapsed.Seconds() / float64(cfg.Events)
		mPer := m.filter.Elapsed.Seconds() / float64(motoEvents)
		if gPer > 0 {
			fmt.Printf("  filter time per event scanned, moto / gantry: %.1fx\n", mPer/gPer)
		}
	}
	return nil
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}

type figures struct {
	ingest bench.IngestResult
	filter bench.FilterResult
}

func reportIngest(r bench.IngestResult) {
	fmt.Printf("%-10s ingest %10.0f events/s  (%d events in %s, %d failed batches)\n", r.Name, r.Rate(), r.Events, r.Elapsed.Round(time.Millisecond), r.Errors)
	if r.FirstErr != nil {
		fmt.Printf("           first error: %v\n", r.FirstErr)
	}
}

func reportFilter(name string, n int, r bench.FilterResult) {
	fmt.Printf("%-10s filter %10s  (%d events, %d matches, %d pages)\n", name, r.Elapsed.Round(time.Millisecond), n, r.Matches, r.Pages)
}

// inProcess measures the ops layer and the log store with an embedded etcd for group metadata,
// the log store syncing each batch as the server's does.
func inProcess(ctx context.Context, cfg bench.LogsConfig) (figures, error) {
	dir, err := os.MkdirTemp("", "gantry-bench-logs-")
	if err != nil {
		return figures{}, err
	}
	defer os.RemoveAll(dir)
	node, err := etcdnode.Start(ctx, etcdnode.Config{Dir: filepath.Join(dir, "etcd")})
	if err != nil {
		return figures{}, err
	}
	defer node.Close()
	ls, err := logstore.Open(filepath.Join(dir, "logs"), logstore.Options{})
	if err != nil {
		return figures{}, err
	}
	defer ls.Close()
	l := ops.NewLogs(store.New(node.Client(), "/bench"), logsbackend.New(ls), logx.Discard())
	var f figures
	if f.ingest, err = bench.IngestOps(ctx, l, "/bench/ingest", cfg); err != nil {
		return f, err
	}
	f.ingest.Name = "in-process"
	reportIngest(f.ingest)
	if err := bench.FillOps(ctx, l, "/bench/filter", filterStreams, cfg.Events, cfg.Batch); err != nil {
		return f, err
	}
	if f.filter, err = bench.FilterOps(ctx, l, "/bench/filter", pattern); err != nil {
		return f, err
	}
	reportFilter("in-process", cfg.Events, f.filter)
	// Every event, page by page, as `aws logs filter-log-events` or `aws logs tail` reads a
	// group: the pages merge the streams and each goes on where the last page left it.
	all, err := bench.FilterOps(ctx, l, "/bench/filter", "")
	if err != nil {
		return f, err
	}
	reportFilter("all pages", cfg.Events, all)
	return f, nil
}

func overHTTP(ctx context.Context, bin string, cfg bench.LogsConfig) (figures, error) {
	dir, err := os.MkdirTemp("", "gantry-bench-")
	if err != nil {
		return figures{}, err
	}
	defer os.RemoveAll(dir)
	s, err := e2e.Start(ctx, e2e.Options{Binary: bin, DataDir: dir, Args: []string{"--log-level", "warn"}})
	if err != nil {
		return figures{}, err
	}
	defer s.Stop(30 * time.Second)
	return measureHTTP(ctx, "gantry", s.URL, cfg)
}

func measureHTTP(ctx context.Context, name, url string, cfg bench.LogsConfig) (figures, error) {
	c, err := bench.NewLogsClient(ctx, url, cfg.Workers)
	if err != nil {
		return figures{}, err
	}
	var f figures
	if f.ingest, err = bench.IngestHTTP(ctx, name, c, "/bench/ingest", cfg); err != nil {
		return f, err
	}
	reportIngest(f.ingest)
	if err := bench.FillHTTP(ctx, c, "/bench/filter", filterStreams, cfg.Events, cfg.Batch); err != nil {
		return f, err
	}
	if f.filter, err = bench.FilterHTTP(ctx, c, "/bench/filter", pattern); err != nil {
		return f, err
	}
	reportFilter(name, cfg.Events, f.filter)
	return f, nil
}

func moto(ctx context.Context, motoCmd string, cfg bench.LogsConfig) (figures, error) {
	url, stop, err := bench.StartMoto(ctx, motoCmd)
	if err != nil {
		return figures{}, err
	}
	defer stop()
	return measureHTTP(ctx, "moto", url, cfg)
}
