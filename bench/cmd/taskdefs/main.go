// Command taskdefs measures RegisterTaskDefinition and DescribeTaskDefinition requests per second
// through the AWS SDK for Go v2, against gantry and against moto_server, one after the other on
// this machine, with the same client and concurrency.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/gantry-dev/gantry/bench"
	"github.com/gantry-dev/gantry/internal/e2e"
)

func main() {
	gantry := flag.String("gantry", "bin/gantry", "the gantry binary to measure")
	moto := flag.String("moto", "moto_server", "the moto_server command (the peer)")
	workers := flag.Int("workers", 8, "concurrent clients")
	duration := flag.Duration("duration", 10*time.Second, "how long each endpoint is measured")
	serverArgs := flag.String("server-args", "", "more gantry server flags, space-separated (e.g. --debug-listen 127.0.0.1:6060 to profile it)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *gantry, strings.Fields(*serverArgs), *moto, bench.Config{Workers: *workers, Duration: *duration}); err != nil {
		fmt.Fprintln(os.Stderr, "taskdefs:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, gantryBin string, serverArgs []string, motoCmd string, cfg bench.Config) error {
	fmt.Printf("RegisterTaskDefinition + DescribeTaskDefinition, AWS SDK for Go v2, %d workers, %s per endpoint, %d CPUs\n", cfg.Workers, cfg.Duration, runtime.NumCPU())
	g, err := measureGantry(ctx, gantryBin, serverArgs, cfg)
	if err != nil {
		return err
	}
	report(g)
	m, err := measureMoto(ctx, motoCmd, cfg)
	if err != nil {
		return err
	}
	report(m)
	if m.Rate() > 0 {
		fmt.Printf("gantry / moto: %.2fx\n", g.Rate()/m.Rate())
	}
	return nil
}

func report(r bench.Result) {
	fmt.Printf("%-8s %8.0f req/s  (%d requests in %s, %d errors)\n", r.Name, r.Rate(), r.Requests, r.Elapsed.Round(time.Millisecond), r.Errors)
	if r.FirstErr != nil {
		fmt.Printf("         first error: %v\n", r.FirstErr)
	}
}

func measureGantry(ctx context.Context, bin string, serverArgs []string, cfg bench.Config) (bench.Result, error) {
	dir, err := os.MkdirTemp("", "gantry-bench-")
	if err != nil {
		return bench.Result{}, err
	}
	defer os.RemoveAll(dir)
	s, err := e2e.Start(ctx, e2e.Options{Binary: bin, DataDir: dir, Args: append([]string{"--log-level", "warn"}, serverArgs...)})
	if err != nil {
		return bench.Result{}, err
	}
	defer s.Stop(30 * time.Second)
	return bench.TaskDefinitions(ctx, "gantry", s.URL, cfg)
}

func measureMoto(ctx context.Context, motoCmd string, cfg bench.Config) (bench.Result, error) {
	url, stop, err := bench.StartMoto(ctx, motoCmd)
	if err != nil {
		return bench.Result{}, err
	}
	defer stop()
	return bench.TaskDefinitions(ctx, "moto", url, cfg)
}
