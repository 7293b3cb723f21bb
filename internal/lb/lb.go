package lb

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/gantry-dev/gantry/internal/logx"
)

// LB serves every load balancer of the snapshots given to Apply.
type LB struct {
	opts   Options
	log    *slog.Logger
	ctx    context.Context // canceled by Close; the parent of listens, dials and checks
	cancel context.CancelFunc

	snap atomic.Pointer[snapshot]

	// applyMu serializes Apply and Close.
	applyMu sync.Mutex
	sockets map[listenerKey]*socket
	groups  map[string]*group // runtime state by TargetGroup.ID, kept across Applies
	closed  bool
}

// New returns an LB serving nothing; Apply gives it its configuration.
func New(o Options) *LB {
	if o.Listen == nil {
		o.Listen = func(ctx context.Context, _, _ string, addr netip.AddrPort) (net.Listener, error) {
			var lc net.ListenConfig
			return lc.Listen(ctx, "tcp", addr.String())
		}
	}
	if o.Dial == nil {
		o.Dial = func(ctx context.Context, _ string, addr netip.AddrPort) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "tcp", addr.String())
		}
	}
	if o.OnHealth == nil {
		o.OnHealth = func(HealthEvent) {}
	}
	if o.OnDrained == nil {
		o.OnDrained = func(string, Target) {}
	}
	if o.Logger == nil {
		o.Logger = logx.Discard()
	}
	ctx, cancel := context.WithCancel(context.Background())
	l := &LB{
		opts:    o,
		log:     o.Logger.With(logx.KeyComponent, "lb"),
		ctx:     ctx,
		cancel:  cancel,
		sockets: map[listenerKey]*socket{},
		groups:  map[string]*group{},
	}
	l.snap.Store(&snapshot{listeners: map[listenerKey]*compiledListener{}, groups: map[string]*group{}})
	return l
}

// Apply validates cfg and swaps it in: requests already routed finish as they were; new
// requests see cfg. Listening sockets are opened and closed to match cfg. An invalid cfg
// (apierr.InvalidParameter) changes nothing; a socket that cannot be opened is reported in
// the error while the rest of cfg is applied.
func (l *LB) Apply(cfg Config) error {
	if err := validate(cfg); err != nil {
		return err
	}
	l.applyMu.Lock()
	defer l.applyMu.Unlock()
	if l.closed {
		return errors.New("load balancer closed")
	}
	groups, gone := l.applyGroupsLocked(cfg.TargetGroups)
	snap := compile(cfg, groups)
	l.snap.Store(snap)
	for _, g := range gone {
		g.retire()
	}
	return l.applySocketsLocked(snap)
}

// Close stops every listener and health check and forgets all state. Requests in flight
// are cut.
func (l *LB) Close() error {
	l.applyMu.Lock()
	defer l.applyMu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	l.cancel()
	for k, s := range l.sockets {
		delete(l.sockets, k)
		s.close(false)
	}
	for id, g := range l.groups {
		delete(l.groups, id)
		g.close()
	}
	l.snap.Store(&snapshot{listeners: map[listenerKey]*compiledListener{}, groups: map[string]*group{}})
	return nil
}
