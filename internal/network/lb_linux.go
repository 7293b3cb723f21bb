package network

import (
	"context"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"slices"
	"strings"
)

// A load balancer node is an address of the VPC's router itself (a /32 on its lo) with security
// groups, like an interface's: tasks reach it by local delivery in the router (the input chain
// applies the task's egress rules, then the node's ingress rules), and the router's connections
// from it (DialFrom) meet the node's egress rules and the target's ingress rules, where the
// node's address is a member of its groups.

// SetLocalAddrs makes addrs, each with its security groups, the VPC's local addresses (the
// load balancer nodes in it), replacing the ones set before: new ones go on the router's lo and
// into the rules, dropped ones out. When the VPC has no router on this host yet, one is built
// from vpc (a VPC with no task here); an existing router keeps its subnets, which the hosts'
// agents manage. Setting none for a VPC this Plane does not know does nothing.
func (p *Plane) SetLocalAddrs(ctx context.Context, vpc VPC, addrs map[netip.Addr][]string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	for a, gs := range addrs {
		if !a.Is4() {
			return fmt.Errorf("local address %s: want IPv4: %w", a, ErrInvalid)
		}
		for _, g := range gs {
			if !idPattern.MatchString(g) {
				return fmt.Errorf("local address %s group %q: %w", a, g, ErrInvalid)
			}
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	rt, ok := p.vpcs[vpc.ID]
	cidr := vpc.CIDR.Masked()
	if ok {
		cidr = rt.rec.VPC.CIDR
	}
	for a := range addrs {
		if !cidr.Contains(a) {
			return fmt.Errorf("local address %s outside vpc %s %s: %w", a, vpc.ID, cidr, ErrInvalid)
		}
	}
	existed := ok
	if !ok {
		if len(addrs) == 0 {
			return nil
		}
		v, err := validateVPC(vpc)
		if err != nil {
			return err
		}
		idx, err := p.freeUplinkLocked()
		if err != nil {
			return err
		}
		rt = &vpcRuntime{nsPath: p.vpcNetns(v.ID), rec: vpcRecord{VPC: v, UplinkIndex: idx, HostLink: p.hostLinkName(v.ID)}}
		p.vpcs[v.ID] = rt
	}
	if ok && sameLocalAddrs(rt.rec.LocalAddrs, addrs) && rt.open() == nil {
		return nil // as set: the router is there and holds them (callers set them every few seconds)
	}
	prev := rt.rec.LocalAddrs
	rt.rec.LocalAddrs = copyENIGroups(addrs)
	if len(addrs) == 0 {
		rt.rec.LocalAddrs = nil
	}
	if err := p.writeRecordLocked(p.vpcFile(vpc.ID), rt.rec); err != nil {
		rt.rec.LocalAddrs = prev
		return err
	}
	var err error
	if !existed || rt.open() != nil {
		// A VPC with no task here, or a router gone (a reboot): build it whole.
		err = p.ensureRouterLocked(rt)
	} else if err = ensureGateways(rt); err == nil {
		// An existing router: the addresses on lo (dropped ones removed), then the rules.
		err = p.applyRulesLocked(rt)
	}
	if err != nil {
		// Not as asked: the next call with the same addresses tries again.
		rt.rec.LocalAddrs = prev
		return fmt.Errorf("vpc %s local addresses: %w", vpc.ID, err)
	}
	return nil
}

func sameLocalAddrs(a, b map[netip.Addr][]string) bool {
	return maps.EqualFunc(a, b, func(x, y []string) bool {
		return slices.Equal(slices.Compact(slices.Sorted(slices.Values(x))), slices.Compact(slices.Sorted(slices.Values(y))))
	})
}

// LocalAddrs returns each VPC's local addresses (SetLocalAddrs), for a caller that rebuilds
// its view after a restart and clears the ones it no longer wants.
func (p *Plane) LocalAddrs() map[string][]netip.Addr {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string][]netip.Addr{}
	for id, rt := range p.vpcs {
		if len(rt.rec.LocalAddrs) > 0 {
			out[id] = slices.SortedFunc(maps.Keys(rt.rec.LocalAddrs), netip.Addr.Compare)
		}
	}
	return out
}

// withLocalAddrs returns the record's group members and interface groups with the local
// addresses added (members of their groups, and filtered by them like interfaces).
func (r vpcRecord) withLocalAddrs() (map[string][]netip.Addr, map[netip.Addr][]string) {
	if len(r.LocalAddrs) == 0 {
		return r.Members, r.ENIGroups
	}
	members, eniGroups := copyMembers(r.Members), copyENIGroups(r.ENIGroups)
	for _, a := range slices.SortedFunc(maps.Keys(r.LocalAddrs), netip.Addr.Compare) {
		gs := r.LocalAddrs[a]
		eniGroups[a] = slices.Clone(gs)
		for _, g := range gs {
			if !slices.Contains(members[g], a) {
				members[g] = append(members[g], a)
			}
		}
	}
	return members, eniGroups
}

// ListenInVPC opens a TCP listener on addr ("ip:port") inside the VPC's router namespace: a
// load balancer's listener on one of its nodes (an address SetLocalAddrs put there). The
// socket stays in the VPC; Accept and Close work from any goroutine.
func (p *Plane) ListenInVPC(ctx context.Context, vpcID, addr string) (net.Listener, error) {
	var ln net.Listener
	err := p.RunInVPC(ctx, vpcID, func() error {
		var err error
		ln, err = (&net.ListenConfig{}).Listen(ctx, "tcp4", addr)
		return err
	})
	return ln, err
}

// DialFrom connects to dst from src, an address of the VPC's router (a load balancer node),
// inside the VPC: the target's ingress rules see src, a member of the node's groups. A src
// that is not (or no longer) the router's fails (EADDRNOTAVAIL).
func (p *Plane) DialFrom(ctx context.Context, vpcID string, src netip.Addr, dst netip.AddrPort) (net.Conn, error) {
	var conn net.Conn
	err := p.RunInVPC(ctx, vpcID, func() error {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: src.AsSlice()}}
		var err error
		conn, err = d.DialContext(ctx, "tcp4", dst.String())
		return err
	})
	return conn, err
}

// SetDNSNames makes names (lower case, without the trailing dot) the extra names the VPC's
// resolver answers with their addresses, replacing the ones set before: the load balancers'
// DNS names. Nothing is stored: the caller sets them again after a restart.
func (p *Plane) SetDNSNames(vpcID string, names map[string][]netip.Addr) {
	p.namesMu.Lock()
	defer p.namesMu.Unlock()
	if p.names == nil {
		p.names = map[string]map[string][]netip.Addr{}
	}
	if len(names) == 0 {
		delete(p.names, vpcID)
		return
	}
	m := make(map[string][]netip.Addr, len(names))
	for n, a := range names {
		m[strings.ToLower(strings.TrimSuffix(n, "."))] = slices.Clone(a)
	}
	p.names[vpcID] = m
}

func (p *Plane) lookupName(vpcID, name string) ([]netip.Addr, bool) {
	p.namesMu.RLock()
	defer p.namesMu.RUnlock()
	a, ok := p.names[vpcID][name]
	return a, ok
}
