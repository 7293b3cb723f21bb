// Package lbsync keeps the load balancer data plane in line with the store: it rebuilds lb config snapshots from the ELB records, places the load balancers' nodes in their VPCs and reports target health back.
package lbsync

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/netip"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/lb"
	"github.com/gantry-dev/gantry/internal/logx"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/store"
)

// Network is what lbsync needs of the VPC data plane (internal/network's Plane, adapted in
// cmd/gantry).
type Network interface {
	// SetNodes makes nodes (address -> security groups) the VPC's load balancer nodes,
	// replacing those set before; vpc describes the VPC in case its router must be built.
	SetNodes(ctx context.Context, vpc VPC, nodes map[netip.Addr][]string) error
	// NodeVPCs lists the VPCs that have nodes set (after a restart, to clear stale ones).
	NodeVPCs() []string
	// SetDNSNames makes names the VPC's resolver's load balancer names.
	SetDNSNames(vpcID string, names map[string][]netip.Addr)
	// ListenInVPC opens a listener on addr (a node's) inside the VPC.
	ListenInVPC(ctx context.Context, vpcID string, addr netip.AddrPort) (net.Listener, error)
	// DialFrom connects to dst from src (a node's address) inside the VPC.
	DialFrom(ctx context.Context, vpcID string, src netip.Addr, dst netip.AddrPort) (net.Conn, error)
}

// VPC and Subnet describe a VPC for Network.SetNodes.
type (
	VPC struct {
		ID      string
		CIDR    netip.Prefix
		Subnets []Subnet
	}
	Subnet struct {
		ID          string
		CIDR        netip.Prefix
		Public, NAT bool
	}
)

// Certificates returns an ACM certificate, with its private key, for HTTPS listeners.
type Certificates interface {
	Certificate(ctx context.Context, arn string) (tls.Certificate, error)
}

// HostNames receives the names the host's resolver answers: each load balancer's DNSName
// with its HostAddress.
type HostNames interface {
	SetNames(names map[string][]netip.Addr)
}

// Config configures a Syncer. Network, Certificates and HostNames may be nil (no VPC
// presence, no HTTPS, no host names).
type Config struct {
	Store        *store.Store
	Network      Network
	Certificates Certificates
	HostNames    HostNames
	// Resync bounds the time between two rebuilds without a change (5s when zero).
	Resync time.Duration
	// Listen opens a listener in the host's namespace; net.ListenConfig when nil.
	Listen func(ctx context.Context, addr netip.AddrPort) (net.Listener, error)
	Logger *slog.Logger
}

// Syncer runs the data plane (an lb.LB it owns) from the store.
type Syncer struct {
	cfg Config
	log *slog.Logger
	lb  *lb.LB

	mu        sync.Mutex
	nodeAddrs map[netip.Addr]bool
	sources   map[sourceKey]netip.Addr
	anyNode   map[string]netip.Addr    // a node of each VPC, when a target has none picked
	failed    map[netip.AddrPort]error // listeners that could not open, by address
	nodeVPCs  map[string]bool          // VPCs given nodes by this Syncer
	vpcs      map[string]VPC           // last read VPC descriptions
}

// New returns a Syncer; Run starts it.
func New(cfg Config) *Syncer {
	if cfg.Resync <= 0 {
		cfg.Resync = 5 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = logx.Discard()
	}
	if cfg.Listen == nil {
		cfg.Listen = func(ctx context.Context, addr netip.AddrPort) (net.Listener, error) {
			return (&net.ListenConfig{}).Listen(ctx, "tcp4", addr.String())
		}
	}
	s := &Syncer{cfg: cfg, log: cfg.Logger.With(logx.KeyComponent, "lbsync"), nodeAddrs: map[netip.Addr]bool{},
		sources: map[sourceKey]netip.Addr{}, anyNode: map[string]netip.Addr{}, failed: map[netip.AddrPort]error{},
		nodeVPCs: map[string]bool{}, vpcs: map[string]VPC{}}
	s.lb = lb.New(lb.Options{Listen: s.listen, Dial: s.dial, OnHealth: s.onHealth, OnDrained: s.onDrained, Logger: cfg.Logger})
	return s
}

// Close stops every listener and health check.
func (s *Syncer) Close() error { return s.lb.Close() }

// Run rebuilds the data plane after every change of the ELB records, and every Resync, until
// ctx ends.
func (s *Syncer) Run(ctx context.Context) {
	for ctx.Err() == nil {
		snap, err := s.Sync(ctx)
		if err != nil {
			s.log.Warn("load balancer sync", logx.KeyError, err)
			sleep(ctx, time.Second)
			continue
		}
		wctx, cancel := context.WithCancel(ctx)
		changes := s.cfg.Store.WatchELB(wctx, snap.Revision)
		next := s.cfg.Resync
		s.mu.Lock()
		if len(s.failed) > 0 {
			next = min(next, time.Second) // a listener could not open: try again soon
		}
		s.mu.Unlock()
		tick := time.NewTimer(next)
		select {
		case <-ctx.Done():
		case <-changes:
		case <-tick.C:
		}
		tick.Stop()
		cancel()
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// Sync reads the store once and brings the data plane and the network in line with it.
func (s *Syncer) Sync(ctx context.Context) (store.ELBSnapshot, error) {
	snap, err := s.cfg.Store.ELBSnapshot(ctx)
	if err != nil {
		return snap, err
	}
	vpcs, subnets := s.readVPCs(ctx, snap)
	certs := func(arn string) (tls.Certificate, error) {
		if s.cfg.Certificates == nil {
			return tls.Certificate{}, errors.New("no certificate source")
		}
		return s.cfg.Certificates.Certificate(ctx, arn)
	}
	d := build(snap, subnets, certs)
	for _, p := range d.problems {
		s.log.Warn("load balancer configuration left out", logx.KeyError, p)
	}

	s.mu.Lock()
	s.nodeAddrs, s.sources = d.nodeAddrs, d.sources
	s.anyNode = map[string]netip.Addr{}
	for vpc, ns := range d.nodes {
		s.anyNode[vpc] = slices.MinFunc(slices.Collect(maps.Keys(ns)), netip.Addr.Compare)
	}
	s.mu.Unlock()

	var errs []error
	if n := s.cfg.Network; n != nil {
		errs = append(errs, s.syncNodes(ctx, n, d, vpcs))
	}
	if h := s.cfg.HostNames; h != nil {
		h.SetNames(d.hostNames)
	}
	if err := s.lb.Apply(d.cfg); err != nil {
		if apierr.KindOf(err) == apierr.InvalidParameter {
			return snap, fmt.Errorf("data plane rejected the configuration: %w", err)
		}
		s.log.Warn("load balancer listeners", logx.KeyError, err)
	}
	s.updateStates(ctx, snap, d)
	return snap, errors.Join(errs...)
}

// readVPCs reads the VPCs of the load balancers' nodes, and every subnet's CIDR.
func (s *Syncer) readVPCs(ctx context.Context, snap store.ELBSnapshot) (map[string]VPC, map[string]netip.Prefix) {
	vpcs := map[string]VPC{}
	subnets := map[string]netip.Prefix{}
	for _, m := range snap.LoadBalancers {
		if _, ok := vpcs[m.VpcID]; ok || m.VpcID == "" {
			continue
		}
		st, err := s.cfg.Store.VpcRouting(ctx, m.VpcID)
		if err != nil {
			s.log.Warn("load balancer vpc", "vpc", m.VpcID, logx.KeyError, err)
			continue
		}
		v, err := vpcOf(st)
		if err != nil {
			s.log.Warn("load balancer vpc", "vpc", m.VpcID, logx.KeyError, err)
		}
		vpcs[m.VpcID] = v
		for _, sub := range v.Subnets {
			subnets[sub.ID] = sub.CIDR
		}
	}
	return vpcs, subnets
}

func vpcOf(st store.VpcState) (VPC, error) {
	v := VPC{ID: st.Vpc.ID}
	cidr, err := netip.ParsePrefix(st.Vpc.CidrBlock)
	if err != nil {
		return v, fmt.Errorf("vpc %s cidr %q: %w", st.Vpc.ID, st.Vpc.CidrBlock, err)
	}
	v.CIDR = cidr.Masked()
	var errs []error
	for _, sub := range st.Subnets {
		r := store.SubnetRouteOf(sub, st.RouteTables)
		c, err := netip.ParsePrefix(r.Cidr)
		if err != nil {
			errs = append(errs, fmt.Errorf("subnet %s cidr %q: %w", r.ID, r.Cidr, err))
			continue
		}
		v.Subnets = append(v.Subnets, Subnet{ID: r.ID, CIDR: c.Masked(), Public: r.Public, NAT: r.NAT})
	}
	slices.SortFunc(v.Subnets, func(a, b Subnet) int { return a.CIDR.Addr().Compare(b.CIDR.Addr()) })
	return v, errors.Join(errs...)
}

// syncNodes sets every VPC's nodes and names, clearing those of VPCs without load balancers.
func (s *Syncer) syncNodes(ctx context.Context, n Network, d desired, vpcs map[string]VPC) error {
	want := map[string]bool{}
	for id := range d.nodes {
		want[id] = true
	}
	s.mu.Lock()
	old := slices.Collect(maps.Keys(s.nodeVPCs))
	s.mu.Unlock()
	for _, id := range append(old, n.NodeVPCs()...) {
		if _, ok := want[id]; !ok {
			want[id] = false
		}
	}
	var errs []error
	for id := range want {
		v, ok := vpcs[id]
		if !ok {
			s.mu.Lock()
			v, ok = s.vpcs[id]
			s.mu.Unlock()
		}
		if !ok {
			v = VPC{ID: id}
		}
		if err := n.SetNodes(ctx, v, d.nodes[id]); err != nil {
			errs = append(errs, fmt.Errorf("vpc %s load balancer nodes: %w", id, err))
			continue
		}
		n.SetDNSNames(id, d.vpcNames[id])
		s.mu.Lock()
		if len(d.nodes[id]) > 0 {
			s.nodeVPCs[id], s.vpcs[id] = true, v
		} else {
			delete(s.nodeVPCs, id)
			delete(s.vpcs, id)
		}
		s.mu.Unlock()
	}
	return errors.Join(errs...)
}

// updateStates makes load balancers whose listeners are all open active, and marks the
// targets of groups no listener uses unused.
func (s *Syncer) updateStates(ctx context.Context, snap store.ELBSnapshot, d desired) {
	s.mu.Lock()
	for a := range s.failed {
		found := false
		for _, ls := range d.listeners {
			found = found || slices.Contains(ls, a)
		}
		if !found {
			delete(s.failed, a)
		}
	}
	failed := maps.Clone(s.failed)
	s.mu.Unlock()
	for _, m := range snap.LoadBalancers {
		if m.State == model.LoadBalancerActive {
			continue
		}
		up := true
		for _, a := range d.listeners[m.ARN] {
			if _, bad := failed[a]; bad {
				up = false
			}
		}
		if _, ok := d.nodes[m.VpcID]; !ok && len(m.Nodes) > 0 && s.cfg.Network != nil {
			up = false
		}
		if !up {
			continue
		}
		if err := s.cfg.Store.SetLoadBalancerState(ctx, m.ARN, model.LoadBalancerActive); err != nil && apierr.KindOf(err) != apierr.NotFound {
			s.log.Warn("load balancer state", "arn", m.ARN, logx.KeyError, err)
		}
	}
	for _, t := range d.unused {
		if t.State == model.TargetUnused || t.State == model.TargetDraining {
			continue
		}
		if err := s.cfg.Store.SetTargetHealth(ctx, t.TargetGroupARN, t.ID, t.Port, model.TargetUnused, model.ReasonNotInUse,
			"Target group is not configured to receive traffic from the load balancer"); err != nil {
			s.log.Warn("target health", "target_group", t.TargetGroupARN, "target", t.ID, logx.KeyError, err)
		}
	}
}

// listenRetry bounds how long a listener waits for its address to be free.
const listenRetry = 2 * time.Second

// listen opens a listener: on a node's address inside its VPC, on any other (the host
// address) in the host's namespace. Failures are kept for the load balancer's state.
func (s *Syncer) listen(ctx context.Context, lbID, vpc string, addr netip.AddrPort) (net.Listener, error) {
	s.mu.Lock()
	inVPC := s.nodeAddrs[addr.Addr()]
	s.mu.Unlock()
	var ln net.Listener
	var err error
	// A socket reopened on the same address (a changed protocol or idle timeout) may find the
	// old one still closing: try again for a moment.
	for deadline := time.Now().Add(listenRetry); ; {
		if inVPC && s.cfg.Network != nil {
			ln, err = s.cfg.Network.ListenInVPC(ctx, vpc, addr)
		} else {
			ln, err = s.cfg.Listen(ctx, addr)
		}
		if !errors.Is(err, syscall.EADDRINUSE) || time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.mu.Lock()
	if err != nil {
		s.failed[addr] = err
	} else {
		delete(s.failed, addr)
	}
	s.mu.Unlock()
	return ln, err
}

// dial connects to a target from a node of a load balancer forwarding to it (one in the
// target's subnet when there is one), so the target's security groups see the node.
func (s *Syncer) dial(ctx context.Context, vpc string, addr netip.AddrPort) (net.Conn, error) {
	n := s.cfg.Network
	if n == nil {
		return (&net.Dialer{}).DialContext(ctx, "tcp", addr.String())
	}
	s.mu.Lock()
	src, ok := s.sources[sourceKey{vpc: vpc, ip: addr.Addr()}]
	if !ok {
		src, ok = s.anyNode[vpc]
	}
	s.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("vpc %s: no load balancer node to dial %s from", vpc, addr)
	}
	return n.DialFrom(ctx, vpc, src, addr)
}

// storeTimeout bounds one health report's write.
const storeTimeout = 10 * time.Second

func (s *Syncer) onHealth(ev lb.HealthEvent) {
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	if err := s.cfg.Store.SetTargetHealth(ctx, ev.Group, ev.Target.IP.String(), int32(ev.Target.Port), string(ev.State), ev.Reason, ev.Description); err != nil {
		s.log.Warn("target health", "target_group", ev.Group, "target", ev.Target.IP, logx.KeyError, err)
	}
}

func (s *Syncer) onDrained(group string, t lb.Target) {
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	if err := s.cfg.Store.RemoveTarget(ctx, group, t.IP.String(), int32(t.Port)); err != nil {
		s.log.Warn("remove drained target", "target_group", group, "target", t.IP, logx.KeyError, err)
	}
}
