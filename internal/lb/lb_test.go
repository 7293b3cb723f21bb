package lb

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/apierr"
)

// TestListenersFollowConfig: Apply opens and closes sockets through Options.Listen; a socket
// that cannot be opened is an error while the rest applies; a bad config changes nothing.
func TestListenersFollowConfig(t *testing.T) {
	b := newBackend(t, "b", nil)
	var mu sync.Mutex
	var opened []string
	l := New(Options{Listen: func(ctx context.Context, lbID, vpc string, addr netip.AddrPort) (net.Listener, error) {
		mu.Lock()
		opened = append(opened, lbID+"/"+vpc+"/"+addr.String())
		mu.Unlock()
		return net.Listen("tcp", addr.String())
	}})
	defer l.Close()
	a1, a2 := freeAddr(t), freeAddr(t)
	cfg := simple(a1, nil, b.target())
	mustApply(t, l, cfg)
	if _, body := get(t, http.DefaultClient, lbURL(a1, "/")); body != "b" {
		t.Fatalf("first listener: %q", body)
	}
	cfg.LoadBalancers[0].Listeners[0].Addr = a2
	mustApply(t, l, cfg)
	if _, body := get(t, http.DefaultClient, lbURL(a2, "/")); body != "b" {
		t.Fatalf("second listener: %q", body)
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		c, err := net.Dial("tcp", a1.String())
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("removed listener still accepts connections")
		}
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	if len(opened) != 2 || opened[0] != "lb/vpc-1/"+a1.String() {
		t.Errorf("Listen calls %v", opened)
	}
	mu.Unlock()

	// A port in use: error, and the other listener still serves.
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	cfg.LoadBalancers[0].Listeners = append(cfg.LoadBalancers[0].Listeners,
		Listener{ID: "busy", Addr: netip.MustParseAddrPort(busy.Addr().String()), Protocol: HTTP, Rules: cfg.LoadBalancers[0].Listeners[0].Rules})
	if err := l.Apply(cfg); err == nil {
		t.Error("Apply with a port in use succeeded")
	}
	if _, body := get(t, http.DefaultClient, lbURL(a2, "/")); body != "b" {
		t.Fatalf("listener after a failed open: %q", body)
	}

	// An invalid config is rejected whole, as InvalidParameter.
	bad := cfg
	bad.TargetGroups = nil
	err = l.Apply(bad)
	if !errors.Is(err, apierr.InvalidParameter) {
		t.Fatalf("invalid config: %v, want InvalidParameter", err)
	}
	if _, body := get(t, http.DefaultClient, lbURL(a2, "/")); body != "b" {
		t.Fatalf("after a rejected Apply: %q", body)
	}
}

// TestClientGoneFreesTarget: a client that disconnects while its target has not answered
// ends the request at once, so a draining target is reported drained.
func TestClientGoneFreesTarget(t *testing.T) {
	a := newBackend(t, "a", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	ev := newEvents()
	l := newLB(t, ev)
	addr := freeAddr(t)
	cfg := simple(addr, nil, a.target())
	cfg.TargetGroups[0].DeregistrationDelay = time.Minute
	mustApply(t, l, cfg)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		req, _ := http.NewRequestWithContext(ctx, "GET", lbURL(addr, "/"), nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	for a.count() == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	cfg.TargetGroups[0].Targets[0].Draining = true
	mustApply(t, l, cfg)
	cancel()
	<-done
	ev.waitFor(t, 3*time.Second, "drained after the client left", func() bool { return len(ev.drained) == 1 })
}

// TestHealthCheckPort: checks go to HealthCheck.Port, not the traffic port.
func TestHealthCheckPort(t *testing.T) {
	traffic := newHealthBackend(t, "traffic")
	traffic.code.Store(500) // its /health fails
	side := newHealthBackend(t, "side")
	ev := newEvents()
	l := newLB(t, ev)
	hc := fastCheck()
	hc.Port = int(side.addr.Port())
	mustApply(t, l, simple(freeAddr(t), hc, traffic.target()))
	ev.waitFor(t, 5*time.Second, "healthy by the side port", func() bool {
		return ev.lastHealth(traffic.target()).State == HealthHealthy
	})
}

// TestListenerSettingsChange: a new idle timeout under load keeps the address accepting with
// no failed request; a protocol change takes effect on the same address.
func TestListenerSettingsChange(t *testing.T) {
	b := newBackend(t, "b", nil)
	addr := freeAddr(t)
	l := newLB(t, nil)
	cfg := simple(addr, nil, b.target())
	mustApply(t, l, cfg)
	ld := startLoad(t, 4, lbURL(addr, "/"))
	for i := range 10 {
		time.Sleep(30 * time.Millisecond)
		cfg.LoadBalancers[0].IdleTimeout = time.Duration(10+i) * time.Second
		mustApply(t, l, cfg)
	}
	time.Sleep(50 * time.Millisecond)
	ld.check(t)

	cert, leaf := selfSigned(t, "lb.example.com")
	cfg.LoadBalancers[0].Listeners[0].Protocol = HTTPS
	cfg.LoadBalancers[0].Listeners[0].Certificates = []tls.Certificate{cert}
	mustApply(t, l, cfg)
	roots := x509.NewCertPool()
	roots.AddCert(leaf)
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: "lb.example.com"}}}
	if _, body := get(t, c, "https://"+addr.String()+"/"); body != "b" {
		t.Errorf("after the switch to HTTPS: %q", body)
	}
}
