package lb

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// load runs n clients against url until stop, counting successes and failures.
type load struct {
	ok, failed atomic.Int64
	mu         sync.Mutex
	errs       []string
	wg         sync.WaitGroup
	stop       chan struct{}
}

func startLoad(t *testing.T, n int, url string) *load {
	ld := &load{stop: make(chan struct{})}
	for range n {
		c := &http.Client{Transport: &http.Transport{}, Timeout: 30 * time.Second}
		ld.wg.Go(func() {
			for {
				select {
				case <-ld.stop:
					return
				default:
				}
				resp, err := c.Get(url)
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if err == nil && resp.StatusCode != 200 {
						err = fmt.Errorf("status %d", resp.StatusCode)
					}
				}
				if err != nil {
					ld.failed.Add(1)
					ld.mu.Lock()
					if len(ld.errs) < 5 {
						ld.errs = append(ld.errs, err.Error())
					}
					ld.mu.Unlock()
					continue
				}
				ld.ok.Add(1)
			}
		})
	}
	t.Cleanup(ld.finish)
	return ld
}

func (ld *load) finish() {
	select {
	case <-ld.stop:
	default:
		close(ld.stop)
	}
	ld.wg.Wait()
}

func (ld *load) check(t *testing.T) {
	t.Helper()
	ld.finish()
	if ld.failed.Load() != 0 || ld.ok.Load() == 0 {
		t.Errorf("%d requests ok, %d failed (%v)", ld.ok.Load(), ld.failed.Load(), ld.errs)
	}
}

// TestApplyUnderLoad: rules, groups, weights and targets change under load; nothing fails.
func TestApplyUnderLoad(t *testing.T) {
	bs := []*backend{newBackend(t, "a", nil), newBackend(t, "b", nil), newBackend(t, "c", nil)}
	addr := freeAddr(t)
	l := newLB(t, nil)
	mustApply(t, l, simple(addr, nil, bs[0].target()))
	ld := startLoad(t, 4, lbURL(addr, "/x"))
	for i := range 30 {
		time.Sleep(20 * time.Millisecond)
		cfg := twoGroups(addr.String(), bs[i%3], bs[(i+1)%3], i%4, 1+i%3)
		if i%2 == 0 {
			cfg.TargetGroups[0].Targets = append(cfg.TargetGroups[0].Targets, bs[(i+2)%3].target())
			cfg.LoadBalancers[0].Listeners[0].Rules = append(cfg.LoadBalancers[0].Listeners[0].Rules,
				Rule{Priority: 1 + i, Conditions: []Condition{{Field: PathPattern, Values: []string{"/x*"}}}, Action: forwardTo("B")})
		}
		mustApply(t, l, cfg)
	}
	time.Sleep(50 * time.Millisecond)
	ld.check(t)
	t.Logf("%d requests across 30 Applies", ld.ok.Load())
}

// drainBackend is a backend whose open connections are counted.
type drainBackend struct {
	*backend
	open atomic.Int32
}

func newDrainBackend(t *testing.T, name string, h http.HandlerFunc) *drainBackend {
	db := &drainBackend{backend: &backend{name: name}}
	db.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		db.mu.Lock()
		db.hits++
		db.mu.Unlock()
		if h != nil {
			h(w, r)
			return
		}
		io.WriteString(w, name)
	}))
	db.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			db.open.Add(1)
		case http.StateClosed, http.StateHijacked:
			db.open.Add(-1)
		}
	}
	db.srv.Start()
	t.Cleanup(db.srv.Close)
	db.addr = netip.MustParseAddrPort(db.srv.Listener.Addr().String())
	return db
}

// TestDrainUnderLoad: a target set Draining under load: no request fails, it gets no new
// requests, its idle connections close, and OnDrained fires long before the delay.
func TestDrainUnderLoad(t *testing.T) {
	a, b := newDrainBackend(t, "a", nil), newDrainBackend(t, "b", nil)
	ev := newEvents()
	l := newLB(t, ev)
	addr := freeAddr(t)
	cfg := simple(addr, nil, a.target(), b.target())
	cfg.TargetGroups[0].DeregistrationDelay = 30 * time.Second
	mustApply(t, l, cfg)
	ld := startLoad(t, 4, lbURL(addr, "/"))
	time.Sleep(200 * time.Millisecond)
	drainAt := time.Now()
	cfg.TargetGroups[0].Targets[0].Draining = true
	mustApply(t, l, cfg)
	ev.waitFor(t, 5*time.Second, "a drained", func() bool { return len(ev.drained) == 1 })
	if took := time.Since(drainAt); took > 2*time.Second {
		t.Errorf("OnDrained after %v with fast requests, want it early (delay 30s)", took)
	}
	if got := ev.drained[0]; got != a.target() {
		t.Errorf("drained %v, want %v", got, a.target())
	}
	time.Sleep(100 * time.Millisecond)
	hitsA := a.count()
	time.Sleep(300 * time.Millisecond)
	ld.check(t)
	if a.count() != hitsA {
		t.Errorf("draining target got %d new requests", a.count()-hitsA)
	}
	if b.count() == 0 {
		t.Error("the other target got nothing")
	}
	deadline := time.Now().Add(2 * time.Second)
	for a.open.Load() != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := a.open.Load(); n != 0 {
		t.Errorf("drained target still has %d connections from the LB", n)
	}
	// Listed Draining again: no second OnDrained. Removed: nothing either.
	mustApply(t, l, cfg)
	cfg.TargetGroups[0].Targets = cfg.TargetGroups[0].Targets[1:]
	mustApply(t, l, cfg)
	time.Sleep(100 * time.Millisecond)
	ev.mu.Lock()
	if len(ev.drained) != 1 {
		t.Errorf("OnDrained fired %d times", len(ev.drained))
	}
	ev.mu.Unlock()
}

// TestDrainInFlight: a slow request in flight finishes; OnDrained fires when it ends.
func TestDrainInFlight(t *testing.T) {
	a := newDrainBackend(t, "a", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			time.Sleep(time.Second)
		}
		io.WriteString(w, "a")
	})
	ev := newEvents()
	l := newLB(t, ev)
	addr := freeAddr(t)
	cfg := simple(addr, nil, a.target())
	cfg.TargetGroups[0].DeregistrationDelay = 10 * time.Second
	mustApply(t, l, cfg)
	done := make(chan error, 1)
	go func() {
		resp, err := http.Get(lbURL(addr, "/slow"))
		if err == nil {
			var b []byte
			b, err = io.ReadAll(resp.Body)
			resp.Body.Close()
			if err == nil && (resp.StatusCode != 200 || string(b) != "a") {
				err = fmt.Errorf("%d %q", resp.StatusCode, b)
			}
		}
		done <- err
	}()
	for a.count() == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	start := time.Now()
	cfg.TargetGroups[0].Targets[0].Draining = true
	mustApply(t, l, cfg)
	// New requests: the only target drains, so 503.
	if resp, body := get(t, http.DefaultClient, lbURL(addr, "/")); !isALBPage(resp, body, 503) {
		t.Errorf("request to a group with only a draining target: %d", resp.StatusCode)
	}
	if err := <-done; err != nil {
		t.Fatalf("in-flight request: %v", err)
	}
	ev.waitFor(t, 3*time.Second, "drained", func() bool { return len(ev.drained) == 1 })
	if took := time.Since(start); took < 500*time.Millisecond || took > 3*time.Second {
		t.Errorf("OnDrained after %v, want when the 1s request ended", took)
	}
}

// TestDrainDelay: a request still in flight when the delay passes is cut; OnDrained fires then.
func TestDrainDelay(t *testing.T) {
	a := newDrainBackend(t, "a", func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	})
	ev := newEvents()
	l := newLB(t, ev)
	addr := freeAddr(t)
	cfg := simple(addr, nil, a.target())
	cfg.TargetGroups[0].DeregistrationDelay = 500 * time.Millisecond
	mustApply(t, l, cfg)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	done := make(chan int, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, "GET", lbURL(addr, "/hang"), nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	for a.count() == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	start := time.Now()
	cfg.TargetGroups[0].Targets[0].Draining = true
	mustApply(t, l, cfg)
	ev.waitFor(t, 3*time.Second, "drained", func() bool { return len(ev.drained) == 1 })
	if took := time.Since(start); took < 450*time.Millisecond || took > 1500*time.Millisecond {
		t.Errorf("OnDrained after %v, want at the 500ms delay", took)
	}
	select {
	case code := <-done:
		if code == 200 {
			t.Errorf("cut request answered 200")
		}
	case <-time.After(3 * time.Second):
		t.Fatal("in-flight request not cut at the deregistration delay")
	}
}

// TestDrainClosesPinnedClients: a client connection whose last request went to a target
// that is draining gets Connection: close on its next response.
func TestDrainClosesPinnedClients(t *testing.T) {
	a, b := newDrainBackend(t, "a", nil), newDrainBackend(t, "b", nil)
	ev := newEvents()
	l := newLB(t, ev)
	addr := freeAddr(t)
	cfg := simple(addr, nil, a.target())
	mustApply(t, l, cfg)
	c := &http.Client{Transport: &http.Transport{}}
	if resp, body := get(t, c, lbURL(addr, "/")); body != "a" || resp.Close {
		t.Fatalf("first: %q close=%v", body, resp.Close)
	}
	cfg.TargetGroups[0].Targets = []Target{{IP: a.addr.Addr(), Port: int(a.addr.Port()), Draining: true}, b.target()}
	mustApply(t, l, cfg)
	resp, body := get(t, c, lbURL(addr, "/"))
	if body != "b" || !resp.Close {
		t.Errorf("after drain: %q Connection: close=%v, want b and close", body, resp.Close)
	}
	if resp, _ := get(t, c, lbURL(addr, "/")); resp.Close {
		t.Error("a new connection pinned to a healthy target was closed")
	}
}
