package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/gantry-dev/gantry/internal/api"
	"github.com/gantry-dev/gantry/internal/api/ecs"
	"github.com/gantry-dev/gantry/internal/etcdnode"
	"github.com/gantry-dev/gantry/internal/logx"
	"github.com/gantry-dev/gantry/internal/ops"
	"github.com/gantry-dev/gantry/internal/store"
)

type serverFlags struct {
	listen        string
	dataDir       string
	etcdEndpoints string
	etcdPrefix    string
	logLevel      string
}

func defaultDataDir() string {
	if os.Geteuid() == 0 {
		return "/var/lib/gantry"
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "share", "gantry")
	}
	return "gantry-data"
}

func runServer(args []string) int {
	var f serverFlags
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.StringVar(&f.listen, "listen", "127.0.0.1:4566", "address of the AWS API endpoint")
	fs.StringVar(&f.dataDir, "data-dir", defaultDataDir(), "where gantry keeps its state (created if missing)")
	fs.StringVar(&f.etcdEndpoints, "etcd-endpoints", "", "comma-separated endpoints of an existing etcd cluster (default: run an embedded etcd in the data dir)")
	fs.StringVar(&f.etcdPrefix, "etcd-prefix", "/gantry", "key prefix of gantry's records in etcd")
	fs.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		fmt.Fprintf(os.Stderr, "gantry: --log-level: %v\n", err)
		return 2
	}
	logger := logx.New(os.Stderr, level)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := serve(ctx, f, logger); err != nil {
		logger.Error("server stopped", logx.KeyError, err)
		return 1
	}
	return 0
}

func serve(ctx context.Context, f serverFlags, logger *slog.Logger) error {
	if err := os.MkdirAll(f.dataDir, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	cli, closeStore, err := openEtcd(ctx, f)
	if err != nil {
		return err
	}
	defer closeStore()
	st := store.New(cli, f.etcdPrefix)

	front := api.New(logger, ecs.Service(ops.NewECS(st, logger)))
	var ready readiness
	front.Handle("/_gantry/health", &ready)

	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{Handler: front, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	ready.set(true)
	printBanner(ln.Addr().String(), f)

	select {
	case <-ctx.Done():
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	}
	logger.Info("shutting down")
	ready.set(false)
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// openEtcd connects to the configured etcd, or starts the embedded member.
func openEtcd(ctx context.Context, f serverFlags) (*clientv3.Client, func(), error) {
	if f.etcdEndpoints != "" {
		cli, err := clientv3.New(clientv3.Config{
			Endpoints:   strings.Split(f.etcdEndpoints, ","),
			DialTimeout: 10 * time.Second,
			Context:     ctx,
		})
		if err != nil {
			return nil, nil, fmt.Errorf("connect to etcd %s: %w", f.etcdEndpoints, err)
		}
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if _, err := cli.Status(sctx, cli.Endpoints()[0]); err != nil {
			cli.Close()
			return nil, nil, fmt.Errorf("etcd %s is not answering: %w", f.etcdEndpoints, err)
		}
		return cli, func() { cli.Close() }, nil
	}
	node, err := etcdnode.Start(ctx, etcdnode.Config{Dir: filepath.Join(f.dataDir, "etcd")})
	if err != nil {
		return nil, nil, err
	}
	return node.Client(), func() { node.Close() }, nil
}

func printBanner(addr string, f serverFlags) {
	storeDesc := "embedded etcd in " + filepath.Join(f.dataDir, "etcd")
	if f.etcdEndpoints != "" {
		storeDesc = "etcd at " + f.etcdEndpoints
	}
	fmt.Printf(`gantry %s is ready
  AWS API:  http://%s
  data:     %s (%s)
  use it:   export AWS_ENDPOINT_URL=http://%s AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1
            aws ecs list-clusters
`, version, addr, f.dataDir, storeDesc, addr)
}

// readiness answers the health endpoint: 200 once every component is up, 503 before and
// while shutting down.
type readiness struct{ ok atomic.Bool }

func (r *readiness) set(v bool) { r.ok.Store(v) }

func (r *readiness) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if !r.ok.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, `{"status":"starting"}`)
		return
	}
	fmt.Fprintln(w, `{"status":"ok"}`)
}
