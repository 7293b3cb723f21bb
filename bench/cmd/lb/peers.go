package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"sync"
	"time"

	"github.com/gantry-dev/gantry/internal/lb"
)

// backend is one in-process target: it answers every path with a small body; it can be
// killed (listener and connections closed) and restarted on the same address.
type backend struct {
	addr netip.AddrPort
	body []byte
	mu   sync.Mutex
	srv  *http.Server
}

func startBackend(bodySize int) (*backend, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	b := &backend{addr: netip.MustParseAddrPort(ln.Addr().String()), body: []byte(strings.Repeat("x", bodySize))}
	b.serve(ln)
	return b, nil
}

func (b *backend) serve(ln net.Listener) {
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Backend", b.addr.String())
		w.Header().Set("Content-Type", "text/plain")
		w.Write(b.body)
	})}
	b.mu.Lock()
	b.srv = srv
	b.mu.Unlock()
	go srv.Serve(ln)
}

func (b *backend) kill() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.srv.Close()
}

func (b *backend) restart() error {
	ln, err := net.Listen("tcp", b.addr.String())
	if err != nil {
		return err
	}
	b.serve(ln)
	return nil
}

// healthSettings are the same for both load balancers.
type healthSettings struct {
	interval, timeout time.Duration
	rise, fall        int
}

// startHAProxy writes a config to dir and runs haproxy in the foreground. retries 0: like an
// ALB, it answers at once when a server refuses rather than retrying it for seconds.
func startHAProxy(ctx context.Context, bin, dir string, listen netip.AddrPort, bs []*backend, hs healthSettings) (stop func(), err error) {
	var servers strings.Builder
	for i, b := range bs {
		fmt.Fprintf(&servers, "    server s%d %s check inter %dms rise %d fall %d\n", i, b.addr, hs.interval.Milliseconds(), hs.rise, hs.fall)
	}
	cfg := fmt.Sprintf(`global
    maxconn 4096
defaults
    mode http
    option http-keep-alive
    option forwardfor
    http-reuse always
    retries 0
    timeout connect 10s
    timeout client 60s
    timeout server 60s
    timeout http-keep-alive 60s
    timeout check %dms
frontend fe
    bind %s
    default_backend be
backend be
    balance roundrobin
    option httpchk GET /health
%s`, hs.timeout.Milliseconds(), listen, servers.String())
	path := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, bin, "-db", "-q", "-f", path)
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("haproxy: %w", err)
	}
	stop = func() { cmd.Process.Kill(); cmd.Wait() }
	if err := waitServing(ctx, listen); err != nil {
		stop()
		return nil, fmt.Errorf("haproxy: %w", err)
	}
	return stop, nil
}

// startGantryLB runs this binary in -serve-lb mode: the lb package in its own process, as
// haproxy is.
func startGantryLB(ctx context.Context, listen netip.AddrPort, bs []*backend, hs healthSettings, gogc string) (stop func(), err error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	var targets []string
	for _, b := range bs {
		targets = append(targets, b.addr.String())
	}
	cmd := exec.CommandContext(ctx, self, "-serve-lb", listen.String(), "-targets", strings.Join(targets, ","),
		"-interval", hs.interval.String(), "-timeout", hs.timeout.String(),
		"-rise", fmt.Sprint(hs.rise), "-fall", fmt.Sprint(hs.fall))
	cmd.Stderr = os.Stderr
	if gogc != "" {
		cmd.Env = append(os.Environ(), "GOGC="+gogc)
	}
	stdin, err := cmd.StdinPipe() // the child exits when this closes
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	stop = func() { stdin.Close(); cmd.Wait() }
	if err := waitServing(ctx, listen); err != nil {
		stop()
		return nil, fmt.Errorf("gantry lb: %w", err)
	}
	return stop, nil
}

// waitServing waits until a GET through addr answers 200 from both... any backend.
func waitServing(ctx context.Context, addr netip.AddrPort) error {
	c := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		resp, err := c.Get("http://" + addr.String() + "/")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return errors.New("not serving after 15s")
}

// serveLB is the child mode: one load balancer, one HTTP listener, one target group.
func serveLB() error {
	fs := flag.NewFlagSet("serve-lb", flag.ExitOnError)
	listen := fs.String("serve-lb", "", "")
	targets := fs.String("targets", "", "")
	interval := fs.Duration("interval", time.Second, "")
	timeout := fs.Duration("timeout", 500*time.Millisecond, "")
	rise := fs.Int("rise", 2, "")
	fall := fs.Int("fall", 2, "")
	profile := fs.String("cpuprofile", os.Getenv("GANTRY_LB_CPUPROFILE"), "")
	fs.Parse(os.Args[1:])
	if *profile != "" {
		f, err := os.Create(*profile)
		if err != nil {
			return err
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	tg := lb.TargetGroup{
		ID: "tg", Protocol: lb.HTTP, Port: 80, DeregistrationDelay: 30 * time.Second,
		HealthCheck: lb.HealthCheck{Enabled: true, Protocol: lb.HTTP, Path: "/health", Interval: *interval,
			Timeout: *timeout, HealthyThreshold: *rise, UnhealthyThreshold: *fall, Matcher: "200"},
	}
	for _, t := range strings.Split(*targets, ",") {
		ap, err := netip.ParseAddrPort(t)
		if err != nil {
			return err
		}
		tg.Targets = append(tg.Targets, lb.Target{IP: ap.Addr(), Port: int(ap.Port())})
	}
	l := lb.New(lb.Options{})
	defer l.Close()
	err := l.Apply(lb.Config{
		LoadBalancers: []lb.LoadBalancer{{ID: "bench", HTTP2: true, Listeners: []lb.Listener{{
			ID: "http", Addr: netip.MustParseAddrPort(*listen), Protocol: lb.HTTP,
			Rules: []lb.Rule{{Default: true, Action: lb.Action{Type: lb.Forward, Forward: &lb.ForwardAction{
				TargetGroups: []lb.WeightedGroup{{ID: "tg", Weight: 1}},
			}}}},
		}}}},
		TargetGroups: []lb.TargetGroup{tg},
	})
	if err != nil {
		return err
	}
	io.Copy(io.Discard, bufio.NewReader(os.Stdin))
	return nil
}
