package lb

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

// freeAddr returns a loopback address with a port nothing listens on right now.
func freeAddr(t *testing.T) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return netip.MustParseAddrPort(ln.Addr().String())
}

// backend is an httptest server that answers with its name and counts requests.
type backend struct {
	name string
	srv  *httptest.Server
	addr netip.AddrPort
	mu   sync.Mutex
	hits int
}

func newBackend(t *testing.T, name string, h http.HandlerFunc) *backend {
	t.Helper()
	b := &backend{name: name}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/health" {
			b.mu.Lock()
			b.hits++
			b.mu.Unlock()
		}
		w.Header().Set("X-Backend", name)
		if h != nil {
			h(w, r)
			return
		}
		io.WriteString(w, name)
	}))
	t.Cleanup(b.srv.Close)
	b.addr = netip.MustParseAddrPort(b.srv.Listener.Addr().String())
	return b
}

func (b *backend) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.hits
}

func (b *backend) target() Target { return Target{IP: b.addr.Addr(), Port: int(b.addr.Port())} }

// events records health events and drained targets.
type events struct {
	mu      sync.Mutex
	health  []HealthEvent
	drained []Target
	changed chan struct{}
}

func newEvents() *events { return &events{changed: make(chan struct{}, 1000)} }

func (e *events) onHealth(ev HealthEvent) {
	e.mu.Lock()
	e.health = append(e.health, ev)
	e.mu.Unlock()
	e.changed <- struct{}{}
}

func (e *events) onDrained(_ string, t Target) {
	e.mu.Lock()
	e.drained = append(e.drained, t)
	e.mu.Unlock()
	e.changed <- struct{}{}
}

// waitFor waits until cond (called under the lock) holds.
func (e *events) waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(d)
	for {
		e.mu.Lock()
		ok := cond()
		e.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-e.changed:
		case <-deadline:
			e.mu.Lock()
			defer e.mu.Unlock()
			t.Fatalf("timed out waiting for %s; health events %+v, drained %v", what, e.health, e.drained)
		}
	}
}

// lastHealth returns the last event for target tg, zero if none.
func (e *events) lastHealth(tg Target) HealthEvent {
	for i := len(e.health) - 1; i >= 0; i-- {
		if e.health[i].Target == tg {
			return e.health[i]
		}
	}
	return HealthEvent{}
}

func newLB(t *testing.T, ev *events) *LB {
	t.Helper()
	o := Options{Logger: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	if ev != nil {
		o.OnHealth, o.OnDrained = ev.onHealth, ev.onDrained
	}
	l := New(o)
	t.Cleanup(func() { l.Close() })
	return l
}

// simple returns a config of one HTTP load balancer listening on addr forwarding to one
// group with the given targets; health checks off unless hc is given.
func simple(addr netip.AddrPort, hc *HealthCheck, targets ...Target) Config {
	tg := TargetGroup{ID: "tg", Protocol: HTTP, Port: 80, Targets: targets, DeregistrationDelay: 5 * time.Second}
	if hc != nil {
		tg.HealthCheck = *hc
	}
	return Config{
		LoadBalancers: []LoadBalancer{{
			ID: "lb", VPC: "vpc-1",
			Listeners: []Listener{{ID: "l", Addr: addr, Protocol: HTTP, Rules: []Rule{
				{Default: true, Action: forwardTo("tg")},
			}}},
		}},
		TargetGroups: []TargetGroup{tg},
	}
}

func forwardTo(ids ...string) Action {
	f := &ForwardAction{}
	for _, id := range ids {
		f.TargetGroups = append(f.TargetGroups, WeightedGroup{ID: id, Weight: 1})
	}
	return Action{Type: Forward, Forward: f}
}

func fastCheck() *HealthCheck {
	return &HealthCheck{Enabled: true, Protocol: HTTP, Path: "/health", Interval: 50 * time.Millisecond,
		Timeout: 40 * time.Millisecond, HealthyThreshold: 2, UnhealthyThreshold: 2, Matcher: "200"}
}

func get(t *testing.T, c *http.Client, url string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s body: %v", url, err)
	}
	return resp, string(b)
}

func mustApply(t *testing.T, l *LB, cfg Config) {
	t.Helper()
	if err := l.Apply(cfg); err != nil {
		t.Fatalf("Apply: %v", err)
	}
}

func lbURL(a netip.AddrPort, path string) string { return "http://" + a.String() + path }

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func mustAddr(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

// testWriter sends log lines to the test's log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
