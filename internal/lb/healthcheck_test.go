package lb

import (
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

// healthBackend answers /health with a settable code after a settable delay.
type healthBackend struct {
	*backend
	code  atomic.Int32
	delay atomic.Int64
}

func newHealthBackend(t *testing.T, name string) *healthBackend {
	hb := &healthBackend{}
	hb.code.Store(200)
	hb.backend = newBackend(t, name, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" {
			if r.Header.Get("User-Agent") != "ELB-HealthChecker/2.0" {
				w.WriteHeader(400)
				return
			}
			select {
			case <-time.After(time.Duration(hb.delay.Load())):
			case <-r.Context().Done():
				return
			}
			w.WriteHeader(int(hb.code.Load()))
			return
		}
		w.Write([]byte(name))
	})
	return hb
}

func TestHealthTransitions(t *testing.T) {
	hb := newHealthBackend(t, "b1")
	ev := newEvents()
	l := newLB(t, ev)
	addr := freeAddr(t)
	mustApply(t, l, simple(addr, fastCheck(), hb.target()))
	tg := hb.target()
	waitState := func(state HealthState, reason, desc string) {
		t.Helper()
		ev.waitFor(t, 5*time.Second, string(state)+" "+reason, func() bool {
			e := ev.lastHealth(tg)
			return e.State == state && e.Reason == reason && e.Description == desc
		})
	}
	waitState(HealthHealthy, "", "")
	if first := ev.health[0]; first.State != HealthInitial || first.Reason != ReasonRegistrationInProgress || first.Group != "tg" {
		t.Errorf("first event %+v, want initial %s", first, ReasonRegistrationInProgress)
	}

	hb.code.Store(404)
	waitState(HealthUnhealthy, ReasonResponseCodeMismatch, "Health checks failed with these codes: [404]")

	hb.code.Store(200)
	hb.delay.Store(int64(200 * time.Millisecond))
	waitState(HealthUnhealthy, ReasonTimeout, "Request timed out")

	hb.delay.Store(0)
	start := time.Now()
	waitState(HealthHealthy, "", "")
	// HealthyThreshold 2 at a 50ms interval: at least one interval after the first success.
	if d := time.Since(start); d < 40*time.Millisecond {
		t.Errorf("unhealthy target healthy after %v: one check, want HealthyThreshold (2)", d)
	}

	hb.srv.Close()
	waitState(HealthUnhealthy, ReasonFailedHealthChecks, "Health checks failed")
}

func TestHealthInitialFailing(t *testing.T) {
	hb := newHealthBackend(t, "b1")
	hb.code.Store(500)
	ev := newEvents()
	l := newLB(t, ev)
	mustApply(t, l, simple(freeAddr(t), fastCheck(), hb.target()))
	ev.waitFor(t, 5*time.Second, "unhealthy", func() bool { return ev.lastHealth(hb.target()).State == HealthUnhealthy })
	ev.mu.Lock()
	defer ev.mu.Unlock()
	var reasons []string
	for _, e := range ev.health {
		reasons = append(reasons, string(e.State)+"/"+e.Reason)
	}
	want := []string{"initial/" + ReasonRegistrationInProgress, "initial/" + ReasonInitialHealthChecking, "unhealthy/" + ReasonResponseCodeMismatch}
	if len(reasons) != 3 || reasons[0] != want[0] || reasons[1] != want[1] || reasons[2] != want[2] {
		t.Errorf("events %v, want %v", reasons, want)
	}
}

func TestHealthDisabledAndMatcher(t *testing.T) {
	hb := newHealthBackend(t, "b1")
	hb.code.Store(202)
	ev := newEvents()
	l := newLB(t, ev)
	hc := fastCheck()
	hc.Matcher = "200-201,202"
	cfg := simple(freeAddr(t), hc, hb.target())
	mustApply(t, l, cfg)
	ev.waitFor(t, 5*time.Second, "healthy with 202", func() bool { return ev.lastHealth(hb.target()).State == HealthHealthy })

	cfg = simple(freeAddr(t), nil, hb.target())
	l2 := newLB(t, ev)
	mustApply(t, l2, cfg)
	ev.waitFor(t, 5*time.Second, "unavailable", func() bool {
		return ev.lastHealth(hb.target()).Reason == ReasonHealthCheckDisabled
	})
}

// TestHealthRouting: unhealthy targets get no traffic while one is healthy; when all are
// unhealthy the group fails open; targets still initial are used when none is healthy.
func TestHealthRouting(t *testing.T) {
	a, b := newHealthBackend(t, "a"), newHealthBackend(t, "b")
	b.code.Store(500)
	ev := newEvents()
	l := newLB(t, ev)
	addr := freeAddr(t)
	mustApply(t, l, simple(addr, fastCheck(), a.target(), b.target()))
	ev.waitFor(t, 5*time.Second, "a healthy, b unhealthy", func() bool {
		return ev.lastHealth(a.target()).State == HealthHealthy && ev.lastHealth(b.target()).State == HealthUnhealthy
	})
	for range 20 {
		if _, body := get(t, http.DefaultClient, lbURL(addr, "/")); body != "a" {
			t.Fatalf("request went to unhealthy %q", body)
		}
	}
	a.code.Store(500)
	ev.waitFor(t, 5*time.Second, "both unhealthy", func() bool { return ev.lastHealth(a.target()).State == HealthUnhealthy })
	seen := map[string]int{}
	for range 20 {
		resp, body := get(t, http.DefaultClient, lbURL(addr, "/"))
		if resp.StatusCode != 200 {
			t.Fatalf("fail open: status %d", resp.StatusCode)
		}
		seen[body]++
	}
	if seen["a"] == 0 || seen["b"] == 0 {
		t.Errorf("fail open: %v, want both targets", seen)
	}

	// Initial targets with no healthy peer take traffic (checks far apart stay initial).
	slow := *fastCheck()
	slow.Interval, slow.Timeout = time.Hour, time.Second
	c := newHealthBackend(t, "c")
	c.delay.Store(int64(time.Hour)) // the first check never answers
	l3 := newLB(t, nil)
	addr3 := freeAddr(t)
	mustApply(t, l3, simple(addr3, &slow, c.target()))
	if _, body := get(t, http.DefaultClient, lbURL(addr3, "/")); body != "c" {
		t.Errorf("initial target: got %q", body)
	}
}
