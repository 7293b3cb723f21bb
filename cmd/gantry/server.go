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
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/gantry-dev/gantry/internal/api"
	"github.com/gantry-dev/gantry/internal/etcdnode"
	"github.com/gantry-dev/gantry/internal/logx"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/ops"
	"github.com/gantry-dev/gantry/internal/store"
)

type serverFlags struct {
	listen        string
	dataDir       string
	etcdEndpoints string
	etcdPrefix    string
	logLevel      string
	dnsListen     string
	lbAddressPool string
	debugListen   string
	retention     time.Duration // of stopped tasks
	apiTimeout    time.Duration // of one AWS API request
	host          hostFlags
	iam           iamFlags
}

// drainTimeout bounds how long a stopping server waits for in-flight requests.
const drainTimeout = 10 * time.Second

// healthTimeout bounds the health check's read of the store.
const healthTimeout = 5 * time.Second

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
	fs.StringVar(&f.dnsListen, "dns-listen", "127.0.0.1:4553", "where the host's resolver of load balancer DNS names listens, udp and tcp (\"\": none); it refuses every other name")
	fs.StringVar(&f.debugListen, "debug-listen", "", "address of Go's profiler (/debug/pprof/), for tuning (\"\": none; keep it on loopback)")
	fs.StringVar(&f.lbAddressPool, "lb-address-pool", ops.DefaultLBAddressPool.String(), "IPv4 prefix from which each load balancer gets the host address its listeners listen on (default: loopback, so every load balancer can use port 80)")
	fs.DurationVar(&f.retention, "stopped-task-retention", ops.DefaultStoppedTaskRetention, "how long a stopped task stays in DescribeTasks and ListTasks before it is deleted (AWS: at least an hour; 0: kept forever)")
	fs.DurationVar(&f.apiTimeout, "api-timeout", api.DefaultOpTimeout, "how long one AWS API request may wait (on etcd, mostly) before it is answered 503 ServiceUnavailable, which clients retry (0: no bound)")
	f.host.register(fs)
	f.iam.register(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "gantry server: unexpected arguments %q\n", fs.Args())
		return 2
	}
	if f.apiTimeout < 0 {
		fmt.Fprintf(os.Stderr, "gantry server: --api-timeout %s is negative (0: no bound)\n", f.apiTimeout)
		return 2
	}
	if f.retention < 0 {
		fmt.Fprintf(os.Stderr, "gantry server: --stopped-task-retention %s is negative (0 keeps stopped tasks forever)\n", f.retention)
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
		fmt.Fprintf(os.Stderr, "gantry: %v\n", err)
		return 1
	}
	return 0
}

// serve runs the server until ctx ends. It listens first, answering 503 on the health route
// while the store starts, so a supervisor can tell "starting" from "down".
func serve(ctx context.Context, f serverFlags, logger *slog.Logger) error {
	if err := os.MkdirAll(f.dataDir, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	lock, err := lockDataDir(f.dataDir)
	if err != nil {
		return err
	}
	defer lock.Close()

	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	stopDebug, err := serveDebug(f.debugListen, logger)
	if err != nil {
		ln.Close()
		return err
	}
	defer stopDebug()
	gate := &gate{}
	srv := &http.Server{Handler: gate, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()

	cli, closeStore, err := openEtcd(ctx, f)
	if err != nil {
		shutdown(srv, logger)
		if ctx.Err() != nil {
			return nil // stopped while starting
		}
		return err
	}
	// Runs after the explicit shutdown below: requests drain before the store closes.
	defer closeStore()

	var storeOpts []store.Option
	if f.etcdEndpoints == "" { // the embedded etcd has one member: its own state is the truth
		storeOpts = append(storeOpts, store.LocalReads())
	}
	st := store.New(cli, f.etcdPrefix, storeOpts...)
	comps, err := buildComponents(f, st, ln.Addr().String(), logger)
	if err != nil {
		shutdown(srv, logger)
		return err
	}
	defer func() {
		if err := comps.close(); err != nil {
			logger.Warn("closing components", logx.KeyError, err)
		}
	}()
	// As on AWS, the default region has its default VPC from the first start; other regions get
	// theirs on first use.
	if err := comps.ec2.EnsureDefaultVPC(ctx, model.Scope{Account: model.DefaultAccount, Region: model.DefaultRegion}); err != nil {
		shutdown(srv, logger)
		return err
	}
	// The agent stops with the server; the tasks it runs do not: their shims outlive it and the
	// next server adopts them.
	agentCtx, cancelAgent := context.WithCancel(context.Background())
	agentDone := make(chan error, 1)
	go func() { agentDone <- comps.agent.Run(agentCtx) }()
	stopAgent := sync.OnceFunc(func() {
		cancelAgent()
		if err := <-agentDone; err != nil && agentCtx.Err() == nil {
			logger.Error("agent stopped", logx.KeyError, err)
		}
	})
	defer stopAgent()
	// The load balancers' data plane follows the store until serve returns; their listeners
	// close with it.
	// The names' resolver is a convenience: a busy port (another gantry) costs only it.
	if stopDNS, err := serveHostDNS(f.dnsListen, comps.lbNames, logger); err != nil {
		logger.Warn("load balancer names are not served", logx.KeyError, err)
	} else {
		defer stopDNS()
	}
	lbCtx, stopLB := context.WithCancel(ctx)
	lbDone := make(chan struct{})
	go func() { comps.lbSync.Run(lbCtx); close(lbDone) }()
	defer func() {
		stopLB()
		<-lbDone
		comps.lbSync.Close()
	}()
	// The built-in registry frees the blobs of deleted images, until serve returns.
	regCtx, stopReg := context.WithCancel(ctx)
	regDone := make(chan struct{})
	go func() { collectRegistry(regCtx, comps.registry, logger); close(regDone) }()
	defer func() {
		stopReg()
		<-regDone
	}()
	// The capacity log follows the hosts and logs each that becomes full, until serve returns.
	capCtx, stopCap := context.WithCancel(ctx)
	capDone := make(chan error, 1)
	go func() { capDone <- comps.ecs.WatchCapacity(capCtx) }()
	defer func() {
		stopCap()
		<-capDone
	}()
	// The controllers (services) run under one leader among the servers sharing the store.
	ctlCtx, stopCtl := context.WithCancel(ctx)
	ctlDone := make(chan struct{})
	go func() { runControllers(ctlCtx, st, comps.ecs, comps.targets, f.retention, logger); close(ctlDone) }()
	defer func() {
		stopCtl()
		<-ctlDone
	}()
	gate.open(comps.front, comps.healthBody)
	printBanner(ln.Addr().String(), f)
	logger.Info("ready", "listen", ln.Addr().String(), "data_dir", f.dataDir, "runtime", f.host.runtime)

	select {
	case <-ctx.Done():
		logger.Info("shutting down")
		gate.close()
		// The agent goes first: its tasks' starts pull from this endpoint's registry, and a
		// pull refused by a closed listener would fail a task the next server would resume.
		stopAgent()
		shutdown(srv, logger)
		return nil
	case err := <-errc:
		shutdown(srv, logger)
		return fmt.Errorf("serve: %w", err)
	case err := <-agentDone:
		agentDone <- err // for stopAgent's wait
		gate.close()
		shutdown(srv, logger)
		return fmt.Errorf("agent: %w", err)
	}
}

// shutdown stops accepting connections and waits for in-flight requests.
func shutdown(srv *http.Server, logger *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), drainTimeout)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		logger.Warn("requests still in flight after drain timeout", logx.KeyError, err)
		srv.Close()
	}
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
  AWS API:  http://%s   (health: http://%s/_gantry/health)
  data:     %s (%s)
  use it:   export AWS_ENDPOINT_URL=http://%s AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1
            aws ecs list-clusters
`, version, addr, addr, f.dataDir, storeDesc, addr)
}

// gate answers the health route itself and hands everything else to the front door once it
// is open; before that, and while stopping, both answer 503.
type gate struct {
	front    atomic.Pointer[api.Server]
	health   atomic.Pointer[healthFunc]
	stopping atomic.Bool
}

// healthFunc renders the ready server's health document.
type healthFunc func(ctx context.Context) ([]byte, error)

func (g *gate) open(front *api.Server, health healthFunc) {
	g.health.Store(&health)
	g.front.Store(front)
}

func (g *gate) close() { g.stopping.Store(true) }

func (g *gate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	front := g.front.Load()
	if r.URL.Path == "/_gantry/health" {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case g.stopping.Load():
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, `{"status":"stopping"}`)
		case front == nil:
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, `{"status":"starting"}`)
		default:
			// A store that does not answer makes the server degraded, not its health check hang.
			ctx, cancel := context.WithTimeout(r.Context(), healthTimeout)
			body, err := (*g.health.Load())(ctx)
			cancel()
			if err != nil {
				w.WriteHeader(http.StatusServiceUnavailable)
				fmt.Fprintf(w, "{\"status\":\"degraded\",\"error\":%q}\n", err.Error())
				return
			}
			w.Write(append(body, '\n'))
		}
		return
	}
	if front == nil {
		w.Header().Set("Retry-After", "1")
		http.Error(w, "gantry is starting", http.StatusServiceUnavailable)
		return
	}
	front.ServeHTTP(w, r)
}
