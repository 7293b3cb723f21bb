// Command taskdefs measures RegisterTaskDefinition and DescribeTaskDefinition requests per second
// through the AWS SDK for Go v2, against gantry and against moto_server, one after the other on
// this machine, with the same client and concurrency.
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
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
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *gantry, *moto, bench.Config{Workers: *workers, Duration: *duration}); err != nil {
		fmt.Fprintln(os.Stderr, "taskdefs:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, gantryBin, motoCmd string, cfg bench.Config) error {
	fmt.Printf("RegisterTaskDefinition + DescribeTaskDefinition, AWS SDK for Go v2, %d workers, %s per endpoint, %d CPUs\n", cfg.Workers, cfg.Duration, runtime.NumCPU())
	g, err := measureGantry(ctx, gantryBin, cfg)
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

func measureGantry(ctx context.Context, bin string, cfg bench.Config) (bench.Result, error) {
	dir, err := os.MkdirTemp("", "gantry-bench-")
	if err != nil {
		return bench.Result{}, err
	}
	defer os.RemoveAll(dir)
	s, err := e2e.Start(ctx, e2e.Options{Binary: bin, DataDir: dir, Args: []string{"--log-level", "warn"}})
	if err != nil {
		return bench.Result{}, err
	}
	defer s.Stop(30 * time.Second)
	return bench.TaskDefinitions(ctx, "gantry", s.URL, cfg)
}

func measureMoto(ctx context.Context, motoCmd string, cfg bench.Config) (bench.Result, error) {
	path, err := exec.LookPath(motoCmd)
	if err != nil {
		return bench.Result{}, fmt.Errorf("the peer %q is not installed (pip install 'moto[server]'): %w", motoCmd, err)
	}
	addr, err := e2e.FreeAddr()
	if err != nil {
		return bench.Result{}, err
	}
	host, port, _ := strings.Cut(addr, ":")
	cmd := exec.Command(path, "-H", host, "-p", port)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return bench.Result{}, fmt.Errorf("start moto_server: %w", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}()
	url := "http://" + addr
	if err := waitHTTP(ctx, url+"/moto-api/", done); err != nil {
		return bench.Result{}, fmt.Errorf("moto_server: %w", err)
	}
	return bench.TaskDefinitions(ctx, "moto", url, cfg)
}

// waitHTTP polls url until it answers at all, the process ends, or a minute passes.
func waitHTTP(ctx context.Context, url string, exited <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		if resp, err := client.Get(url); err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("exited before answering")
		case <-ctx.Done():
			return fmt.Errorf("not answering %s after a minute", url)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
