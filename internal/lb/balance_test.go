package lb

import (
	"net/http"
	"net/http/cookiejar"
	"sync"
	"testing"
	"time"
)

func TestRoundRobin(t *testing.T) {
	bs := []*backend{newBackend(t, "a", nil), newBackend(t, "b", nil), newBackend(t, "c", nil)}
	addr := freeAddr(t)
	l := newLB(t, nil)
	mustApply(t, l, simple(addr, nil, bs[0].target(), bs[1].target(), bs[2].target()))
	for range 30 {
		get(t, http.DefaultClient, lbURL(addr, "/"))
	}
	for _, b := range bs {
		if b.count() != 10 {
			t.Errorf("%s got %d of 30 requests, want 10", b.name, b.count())
		}
	}
}

func twoGroups(addr string, a, b *backend, wa, wb int) Config {
	cfg := simple(mustAddr(addr), nil)
	cfg.TargetGroups = []TargetGroup{
		{ID: "A", Protocol: HTTP, Port: 80, Targets: []Target{a.target()}, DeregistrationDelay: 5 * time.Second},
		{ID: "B", Protocol: HTTP, Port: 80, Targets: []Target{b.target()}, DeregistrationDelay: 5 * time.Second},
	}
	cfg.LoadBalancers[0].Listeners[0].Rules[0].Action = Action{Type: Forward, Forward: &ForwardAction{
		TargetGroups: []WeightedGroup{{ID: "A", Weight: wa}, {ID: "B", Weight: wb}},
	}}
	return cfg
}

func TestWeightedForward(t *testing.T) {
	a, b := newBackend(t, "a", nil), newBackend(t, "b", nil)
	addr := freeAddr(t)
	l := newLB(t, nil)
	mustApply(t, l, twoGroups(addr.String(), a, b, 3, 1))
	const n = 1000
	for range n {
		get(t, http.DefaultClient, lbURL(addr, "/"))
	}
	if share := float64(a.count()) / n; share < 0.70 || share > 0.80 {
		t.Errorf("weight 3:1 gave group A %.2f of requests, want about 0.75", share)
	}
	// Weight 0 gets nothing while another group has weight.
	mustApply(t, l, twoGroups(addr.String(), a, b, 0, 5))
	before := a.count()
	for range 50 {
		get(t, http.DefaultClient, lbURL(addr, "/"))
	}
	if a.count() != before {
		t.Errorf("group of weight 0 got %d requests", a.count()-before)
	}
}

func jarClient() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar}
}

func TestStickiness(t *testing.T) {
	a, b := newBackend(t, "a", nil), newBackend(t, "b", nil)
	addr := freeAddr(t)
	l := newLB(t, nil)
	cfg := simple(addr, nil, a.target(), b.target())
	cfg.TargetGroups[0].Stickiness = Stickiness{Enabled: true, Type: LBCookie, Duration: time.Hour}
	mustApply(t, l, cfg)
	c := jarClient()
	resp, first := get(t, c, lbURL(addr, "/"))
	if len(resp.Cookies()) != 2 || resp.Cookies()[0].Name != "AWSALB" || resp.Cookies()[1].Name != "AWSALBCORS" {
		t.Fatalf("cookies %v, want AWSALB and AWSALBCORS", resp.Cookies())
	}
	for range 20 {
		if _, body := get(t, c, lbURL(addr, "/")); body != first {
			t.Fatalf("sticky client moved from %s to %s", first, body)
		}
	}
	// Without the cookie, round robin.
	_, x := get(t, http.DefaultClient, lbURL(addr, "/"))
	_, y := get(t, http.DefaultClient, lbURL(addr, "/"))
	if x == y {
		t.Errorf("cookie-less requests both went to %s", x)
	}
}

func TestAppCookieStickiness(t *testing.T) {
	h := func(name string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if _, err := r.Cookie("SESSION"); err != nil {
				http.SetCookie(w, &http.Cookie{Name: "SESSION", Value: name, Path: "/"})
			}
			w.Write([]byte(name))
		}
	}
	a, b := newBackend(t, "a", h("a")), newBackend(t, "b", h("b"))
	addr := freeAddr(t)
	l := newLB(t, nil)
	cfg := simple(addr, nil, a.target(), b.target())
	cfg.TargetGroups[0].Stickiness = Stickiness{Enabled: true, Type: AppCookie, CookieName: "SESSION", Duration: time.Hour}
	mustApply(t, l, cfg)
	c := jarClient()
	resp, first := get(t, c, lbURL(addr, "/"))
	found := false
	for _, ck := range resp.Cookies() {
		found = found || ck.Name == "AWSALBAPP-0"
	}
	if !found {
		t.Fatalf("no AWSALBAPP-0 cookie in %v", resp.Cookies())
	}
	for range 10 {
		if _, body := get(t, c, lbURL(addr, "/")); body != first {
			t.Fatalf("app-cookie sticky client moved from %s to %s", first, body)
		}
	}
}

func TestGroupStickiness(t *testing.T) {
	a, b := newBackend(t, "a", nil), newBackend(t, "b", nil)
	addr := freeAddr(t)
	l := newLB(t, nil)
	cfg := twoGroups(addr.String(), a, b, 1, 1)
	cfg.LoadBalancers[0].Listeners[0].Rules[0].Action.Forward.Stickiness = true
	cfg.LoadBalancers[0].Listeners[0].Rules[0].Action.Forward.StickinessDuration = time.Hour
	mustApply(t, l, cfg)
	c := jarClient()
	_, first := get(t, c, lbURL(addr, "/"))
	for range 20 {
		if _, body := get(t, c, lbURL(addr, "/")); body != first {
			t.Fatalf("group-sticky client moved from %s to %s", first, body)
		}
	}
}

func TestLeastOutstanding(t *testing.T) {
	release := make(chan struct{})
	h := func(name string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/block" {
				<-release
			}
			w.Write([]byte(name))
		}
	}
	a, b := newBackend(t, "a", h("a")), newBackend(t, "b", h("b"))
	addr := freeAddr(t)
	l := newLB(t, nil)
	cfg := simple(addr, nil, a.target(), b.target())
	cfg.TargetGroups[0].Algorithm = LeastOutstandingRequests
	mustApply(t, l, cfg)

	var wg sync.WaitGroup
	blocked := make(chan string, 1)
	wg.Go(func() {
		_, body := get(t, http.DefaultClient, lbURL(addr, "/block"))
		blocked <- body
	})
	// Wait until the blocking request is counted on its target.
	deadline := time.Now().Add(5 * time.Second)
	for a.count()+b.count() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	busy := "a"
	if b.count() == 1 {
		busy = "b"
	}
	for range 10 {
		if _, body := get(t, http.DefaultClient, lbURL(addr, "/")); body == busy {
			t.Errorf("request went to %s with a request outstanding while the other target was idle", busy)
		}
	}
	close(release)
	wg.Wait()
	if got := <-blocked; got != busy {
		t.Errorf("blocked request answered by %s, want %s", got, busy)
	}
}

func TestSlowStart(t *testing.T) {
	a, b := newHealthBackend(t, "a"), newHealthBackend(t, "b")
	ev := newEvents()
	l := newLB(t, ev)
	addr := freeAddr(t)
	cfg := simple(addr, fastCheck(), a.target())
	cfg.TargetGroups[0].SlowStart = 3 * time.Second
	mustApply(t, l, cfg)
	ev.waitFor(t, 5*time.Second, "a healthy", func() bool { return ev.lastHealth(a.target()).State == HealthHealthy })
	cfg.TargetGroups[0].Targets = append(cfg.TargetGroups[0].Targets, b.target())
	mustApply(t, l, cfg)
	ev.waitFor(t, 5*time.Second, "b healthy", func() bool { return ev.lastHealth(b.target()).State == HealthHealthy })
	share := func(d time.Duration) float64 {
		a0, b0 := a.count(), b.count()
		end := time.Now().Add(d)
		for time.Now().Before(end) {
			get(t, http.DefaultClient, lbURL(addr, "/"))
		}
		return float64(b.count()-b0) / float64(a.count()-a0+b.count()-b0)
	}
	early := share(500 * time.Millisecond) // b at 0..1/6 of its window: about 8% of requests
	time.Sleep(3 * time.Second)
	late := share(500 * time.Millisecond) // ramp over: half
	if early > 0.25 || late < 0.4 || late > 0.6 {
		t.Errorf("slow start: new target's share %.2f in its first 500ms, %.2f after the window; want < 0.25 then about 0.5", early, late)
	}
}
