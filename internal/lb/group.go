package lb

import (
	"context"
	"crypto/tls"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// dialTimeout is how long the LB tries to connect to a target before answering 504 (AWS: 10s).
const dialTimeout = 10 * time.Second

// group is a target group's runtime state, kept across Applies.
type group struct {
	id string
	lb *LB

	rr   atomic.Uint64
	view atomic.Pointer[groupView]

	mu       sync.Mutex
	cfg      TargetGroup
	targets  map[netip.AddrPort]*target // registered, not draining
	draining map[*target]struct{}
	// drainedSeen: addresses listed as Draining that this LB never served; reported
	// drained once and remembered while the config still lists them.
	drainedSeen map[netip.AddrPort]bool
	notify      []func() // callbacks queued in order, delivered by one goroutine
	notifying   bool
	closed      bool
}

// groupView is what request routing reads, without locks: rebuilt on every change.
type groupView struct {
	cfg        *TargetGroup
	registered []*target // non-draining, in config order
	routable   []*target // healthy ones; all registered ones when none is healthy (fail open)
	slowStart  bool      // some routable target is still ramping up
}

// target is one registered target's runtime state.
type target struct {
	addr      netip.AddrPort
	g         *group
	vpc       string
	https     bool
	pool      upPool
	transport *http.Transport
	inflight  atomic.Int64
	draining  atomic.Bool
	// healthySince is when the target entered slow start (unix nanoseconds), 0 when it is not
	// ramping up.
	healthySince atomic.Int64

	// conns are the open connections to the target, closed at once when the deregistration
	// delay ends (cutting requests in flight) and refused from then on.
	connMu sync.Mutex
	conns  map[*targetConn]struct{}
	cut    bool

	// Guarded by g.mu.
	state      HealthState
	reason     string
	desc       string
	okRun      int
	failRun    int
	stopCheck  context.CancelFunc
	drainTimer *time.Timer
	drainDone  bool
}

func newGroup(l *LB, id string) *group {
	g := &group{id: id, lb: l, targets: map[netip.AddrPort]*target{}, draining: map[*target]struct{}{}, drainedSeen: map[netip.AddrPort]bool{}}
	g.view.Store(&groupView{cfg: &TargetGroup{ID: id}})
	return g
}

// applyGroupsLocked updates the runtime groups to tgs and returns them by ID, and the groups
// no longer configured: the caller retires those after publishing the snapshot without them.
func (l *LB) applyGroupsLocked(tgs []TargetGroup) (map[string]*group, []*group) {
	next := map[string]*group{}
	for _, tg := range tgs {
		g := l.groups[tg.ID]
		if g == nil {
			g = newGroup(l, tg.ID)
		}
		g.update(tg)
		next[tg.ID] = g
	}
	var gone []*group
	for id, g := range l.groups {
		if next[id] == nil {
			gone = append(gone, g)
		}
	}
	l.groups = next
	return next, gone
}

// retire drains all of a removed group's targets.
func (g *group) retire() {
	g.mu.Lock()
	tg := g.cfg // its deregistration delay still applies
	g.mu.Unlock()
	tg.Targets = nil
	g.update(tg)
}

// update applies tg: new targets start health checks, missing or Draining ones drain.
func (g *group) update(tg TargetGroup) {
	g.mu.Lock()
	defer g.mu.Unlock()
	old := g.cfg
	g.cfg = tg
	hcChanged := old.HealthCheck != tg.HealthCheck || old.Port != tg.Port
	var drain []*target
	if old.Protocol != tg.Protocol || old.VPC != tg.VPC {
		// Not modifiable through ELBv2; should it happen, targets start over.
		for addr, t := range g.targets {
			delete(g.targets, addr)
			drain = append(drain, t)
		}
	}
	active := map[netip.AddrPort]bool{}
	listedDraining := map[netip.AddrPort]bool{}
	for _, t := range tg.Targets {
		addr := netip.AddrPortFrom(t.IP, uint16(resolvePort(t.Port, tg.Port)))
		if t.Draining {
			listedDraining[addr] = true
			continue
		}
		active[addr] = true
		if cur := g.targets[addr]; cur != nil {
			if hcChanged {
				g.startCheckLocked(cur)
			}
			continue
		}
		g.targets[addr] = g.newTargetLocked(addr)
	}
	for addr, t := range g.targets {
		if !active[addr] {
			delete(g.targets, addr)
			drain = append(drain, t)
			g.drainedSeen[addr] = true // reported by the drain; do not report again
		}
	}
	for addr := range listedDraining {
		if !g.drainedSeen[addr] && !active[addr] {
			g.drainedSeen[addr] = true
			g.queueLocked(func() { g.lb.opts.OnDrained(g.id, targetOf(addr)) })
		}
	}
	for addr := range g.drainedSeen {
		if !listedDraining[addr] {
			delete(g.drainedSeen, addr)
		}
	}
	// Publish the view without them first: a request that picked one from the old view
	// has counted itself in flight before it sees the target draining.
	g.rebuildLocked()
	for _, t := range drain {
		g.startDrainLocked(t)
	}
}

func resolvePort(p, groupPort int) int {
	if p == 0 {
		return groupPort
	}
	return p
}

func targetOf(addr netip.AddrPort) Target {
	return Target{IP: addr.Addr(), Port: int(addr.Port())}
}

func (g *group) newTargetLocked(addr netip.AddrPort) *target {
	t := &target{addr: addr, g: g, conns: map[*targetConn]struct{}{}, vpc: g.cfg.VPC, https: g.cfg.Protocol == HTTPS}
	t.transport = &http.Transport{ // for upgrades (WebSocket) through httputil.ReverseProxy
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return t.dialRaw(ctx)
		},
		DisableCompression:  true,
		MaxIdleConnsPerHost: 1024,
		IdleConnTimeout:     55 * time.Second,
		TLSClientConfig:     &tls.Config{InsecureSkipVerify: true}, // ALB does not verify target certificates
	}
	if g.cfg.HealthCheck.Enabled {
		g.setHealthLocked(t, HealthInitial, ReasonRegistrationInProgress, "Target registration is in progress")
		g.startCheckLocked(t)
	} else {
		g.setHealthLocked(t, HealthUnavailable, ReasonHealthCheckDisabled, "Health checks are disabled")
	}
	return t
}

// setHealthLocked records a health state and queues the event when anything changed.
func (g *group) setHealthLocked(t *target, s HealthState, reason, desc string) {
	if t.state == s && t.reason == reason && t.desc == desc {
		return
	}
	if s == HealthHealthy && t.state != HealthHealthy && g.cfg.SlowStart > 0 && g.anyHealthyLocked() {
		t.healthySince.Store(time.Now().UnixNano())
	}
	t.state, t.reason, t.desc = s, reason, desc
	ev := HealthEvent{Group: g.id, Target: targetOf(t.addr), State: s, Reason: reason, Description: desc}
	g.queueLocked(func() { g.lb.opts.OnHealth(ev) })
}

func (g *group) anyHealthyLocked() bool {
	for _, t := range g.targets {
		if t.state == HealthHealthy {
			return true
		}
	}
	return false
}

// queueLocked delivers f after the callbacks queued before it, on one goroutine per group,
// so callbacks never run under the LB's locks and never concurrently for one group.
func (g *group) queueLocked(f func()) {
	if g.closed {
		return
	}
	g.notify = append(g.notify, f)
	if g.notifying {
		return
	}
	g.notifying = true
	go func() {
		for {
			g.mu.Lock()
			if len(g.notify) == 0 {
				g.notifying = false
				g.mu.Unlock()
				return
			}
			f := g.notify[0]
			g.notify = g.notify[1:]
			g.mu.Unlock()
			f()
		}
	}()
}

// rebuildLocked publishes a new routing view.
func (g *group) rebuildLocked() {
	cfg := g.cfg
	v := &groupView{cfg: &cfg}
	for _, tt := range cfg.Targets {
		addr := netip.AddrPortFrom(tt.IP, uint16(resolvePort(tt.Port, cfg.Port)))
		if t := g.targets[addr]; t != nil && !tt.Draining {
			v.registered = append(v.registered, t)
		}
	}
	for _, t := range v.registered {
		if t.state == HealthHealthy || t.state == HealthUnavailable {
			v.routable = append(v.routable, t)
			if t.healthySince.Load() != 0 {
				v.slowStart = true
			}
		}
	}
	if len(v.routable) == 0 {
		v.routable = v.registered
		v.slowStart = false
	}
	g.view.Store(v)
}

// startDrainLocked stops sending t new requests and closes its idle connections; OnDrained
// fires when its last request ends or when the deregistration delay has passed.
func (g *group) startDrainLocked(t *target) {
	t.draining.Store(true)
	if t.stopCheck != nil {
		t.stopCheck()
		t.stopCheck = nil
	}
	t.closeIdle()
	g.draining[t] = struct{}{}
	if t.inflight.Load() == 0 {
		g.finishDrainLocked(t)
		return
	}
	t.drainTimer = time.AfterFunc(g.cfg.DeregistrationDelay, func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		t.cutConns()
		g.finishDrainLocked(t)
	})
}

func (g *group) finishDrainLocked(t *target) {
	if t.drainDone {
		return
	}
	t.drainDone = true
	if t.drainTimer != nil {
		t.drainTimer.Stop()
	}
	delete(g.draining, t)
	t.closeIdle()
	addr := t.addr
	g.queueLocked(func() { g.lb.opts.OnDrained(g.id, targetOf(addr)) })
}

// acquire counts a request on t; it fails when t started draining meanwhile.
func (t *target) acquire() bool {
	t.inflight.Add(1)
	if t.draining.Load() {
		t.release()
		return false
	}
	return true
}

func (t *target) release() {
	if t.inflight.Add(-1) == 0 && t.draining.Load() {
		g := t.g
		g.mu.Lock()
		if _, ok := g.draining[t]; ok {
			g.finishDrainLocked(t)
		}
		g.mu.Unlock()
	}
}

// pick chooses a target among the view's routable ones by the group's algorithm.
func (v *groupView) pick(g *group) *target {
	ts := v.routable
	switch {
	case len(ts) == 0:
		return nil
	case len(ts) == 1:
		return ts[0]
	case v.slowStart:
		return pickSlowStart(ts)
	case v.cfg.Algorithm == LeastOutstandingRequests:
		start := int(g.rr.Add(1) % uint64(len(ts)))
		best := ts[start]
		for i := 1; i < len(ts); i++ {
			t := ts[(start+i)%len(ts)]
			if t.inflight.Load() < best.inflight.Load() {
				best = t
			}
		}
		return best
	default:
		return ts[g.rr.Add(1)%uint64(len(ts))]
	}
}

// pickSlowStart picks by weighted random, a ramping target weighing the fraction of its
// slow-start window that has passed (at least 1%), the others 1.
func pickSlowStart(ts []*target) *target {
	now := time.Now().UnixNano()
	weights := make([]float64, len(ts))
	var total float64
	for i, t := range ts {
		w := 1.0
		if since := t.healthySince.Load(); since != 0 {
			window := t.g.view.Load().cfg.SlowStart
			if window > 0 {
				w = float64(now-since) / float64(window)
			}
			if w >= 1 {
				t.healthySince.CompareAndSwap(since, 0)
				w = 1
			}
			w = max(w, 0.01)
		}
		weights[i] = w
		total += w
	}
	x := rand.Float64() * total
	for i, w := range weights {
		if x < w {
			return ts[i]
		}
		x -= w
	}
	return ts[len(ts)-1]
}

// lookup returns the registered target at addr, nil when there is none.
func (v *groupView) lookup(addr netip.AddrPort) *target {
	for _, t := range v.routable {
		if t.addr == addr {
			return t
		}
	}
	return nil
}

// close stops health checks and connections for good (LB.Close).
func (g *group) close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.closed = true
	for _, t := range g.targets {
		if t.stopCheck != nil {
			t.stopCheck()
		}
		t.cutConns()
	}
	for t := range g.draining {
		if t.drainTimer != nil {
			t.drainTimer.Stop()
		}
		t.cutConns()
	}
	g.notify = nil
}

// targetConn is a connection to a target, tracked so that it can be cut.
type targetConn struct {
	net.Conn
	t    *target
	once sync.Once
}

func (c *targetConn) Close() error {
	c.once.Do(func() {
		c.t.connMu.Lock()
		delete(c.t.conns, c)
		c.t.connMu.Unlock()
	})
	return c.Conn.Close()
}

// track registers a new connection; after the cut it refuses it.
func (t *target) track(c net.Conn) (net.Conn, error) {
	tc := &targetConn{Conn: c, t: t}
	t.connMu.Lock()
	defer t.connMu.Unlock()
	if t.cut {
		c.Close()
		return nil, errDrainCut
	}
	t.conns[tc] = struct{}{}
	return tc, nil
}

// cutConns closes every connection to t, in flight or idle, for good.
func (t *target) cutConns() {
	t.connMu.Lock()
	t.cut = true
	conns := t.conns
	t.conns = map[*targetConn]struct{}{}
	t.connMu.Unlock()
	for c := range conns {
		c.Conn.Close()
	}
	t.closeIdle()
}
