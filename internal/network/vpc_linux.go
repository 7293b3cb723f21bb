package network

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"

	"github.com/gantry-dev/gantry/internal/network/netns"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// EnsureVPC creates the VPC's router namespace, its uplink to the host, its subnets' gateways
// and its rules, or brings an existing one in line with vpc (subnets added or removed, their
// egress changed). Calling it again with the same VPC changes nothing.
func (p *Plane) EnsureVPC(ctx context.Context, vpc VPC) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	vpc, err := validateVPC(vpc)
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	rt, ok := p.vpcs[vpc.ID]
	if !ok {
		idx, err := p.freeUplinkLocked()
		if err != nil {
			return err
		}
		rt = &vpcRuntime{nsPath: p.vpcNetns(vpc.ID), rec: vpcRecord{UplinkIndex: idx, HostLink: p.hostLinkName(vpc.ID)}}
	} else if rt.rec.VPC.CIDR != vpc.CIDR {
		return fmt.Errorf("vpc %s cidr is %s, not %s: %w", vpc.ID, rt.rec.VPC.CIDR, vpc.CIDR, ErrConflict)
	}
	rt.rec.VPC = vpc
	// The record goes down first: whatever a crash leaves behind, DeleteVPC can find.
	if err := p.writeRecordLocked(p.vpcFile(vpc.ID), rt.rec); err != nil {
		return err
	}
	p.vpcs[vpc.ID] = rt
	if err := p.ensureRouterLocked(rt); err != nil {
		return fmt.Errorf("vpc %s: %w", vpc.ID, err)
	}
	if len(rt.spares) == 0 {
		p.refillLater(vpc.ID)
	}
	return nil
}

// freeUplinkLocked returns the lowest /31 of the uplink prefix no VPC uses.
func (p *Plane) freeUplinkLocked() (int, error) {
	used := map[int]bool{}
	for _, rt := range p.vpcs {
		used[rt.rec.UplinkIndex] = true
	}
	for i := range 1 << (31 - p.uplinks.Bits()) {
		if !used[i] {
			return i, nil
		}
	}
	return 0, fmt.Errorf("%s: %w", p.uplinks, ErrUplinksFull)
}

// uplinkAddrs returns the host's and the router's ends of the VPC's uplink /31.
func (p *Plane) uplinkAddrs(idx int) (host, router netip.Addr) {
	b := p.uplinks.Addr().As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]) + 2*uint32(idx)
	host = netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
	return host, host.Next()
}

func ipNet(a netip.Addr, bits int) *net.IPNet {
	return &net.IPNet{IP: a.AsSlice(), Mask: net.CIDRMask(bits, a.BitLen())}
}

func initRouter() error {
	if err := sysctls(
		"net/ipv4/ip_forward", "1",
		// Strict reverse-path filtering: a task cannot send with another task's address.
		"net/ipv4/conf/all/rp_filter", "1",
		"net/ipv4/conf/default/rp_filter", "1",
		"net/ipv6/conf/all/disable_ipv6", "1",
		"net/ipv6/conf/default/disable_ipv6", "1",
	); err != nil {
		return err
	}
	return linkUp("lo")
}

func linkUp(name string) error {
	l, err := netlink.LinkByName(name)
	if err != nil {
		return err
	}
	return netlink.LinkSetUp(l)
}

// ensureRouterLocked creates or repairs every piece of the router; each step is idempotent.
func (p *Plane) ensureRouterLocked(rt *vpcRuntime) error {
	if _, err := netns.Create(rt.nsPath, initRouter); err != nil {
		return err
	}
	if err := rt.open(); err != nil {
		return err
	}
	if err := p.ensureUplinkLocked(rt); err != nil {
		return fmt.Errorf("uplink: %w", err)
	}
	if err := ensureGateways(rt); err != nil {
		return fmt.Errorf("gateways: %w", err)
	}
	// Addresses of the VPC with no interface behind them are unreachable, not sent to the host.
	if err := rt.nl.RouteReplace(&netlink.Route{Dst: ipNet(rt.rec.VPC.CIDR.Addr(), rt.rec.VPC.CIDR.Bits()),
		Type: unix.RTN_UNREACHABLE}); err != nil {
		return fmt.Errorf("unreachable route: %w", err)
	}
	rt.applied = nil // EnsureVPC repairs: apply the rules whole
	if err := p.applyRulesLocked(rt); err != nil {
		return err
	}
	return p.ensureResolverLocked(rt)
}

func (p *Plane) ensureUplinkLocked(rt *vpcRuntime) error {
	hostAddr, routerAddr := p.uplinkAddrs(rt.rec.UplinkIndex)
	host, err := netlink.LinkByName(rt.rec.HostLink)
	if isNotFound(err) {
		veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: rt.rec.HostLink},
			PeerName: routerUplink, PeerNamespace: netlink.NsFd(int(rt.nsFile.Fd()))}
		if err := netlink.LinkAdd(veth); err != nil {
			return fmt.Errorf("add %s: %w", rt.rec.HostLink, err)
		}
		// The host side needs no IPv6; ignore hosts without it.
		_ = os.WriteFile(filepath.Join("/proc/sys/net/ipv6/conf", rt.rec.HostLink, "disable_ipv6"), []byte("1"), 0o644)
		host, err = netlink.LinkByName(rt.rec.HostLink)
	}
	if err != nil {
		return err
	}
	if err := netlink.AddrReplace(host, &netlink.Addr{IPNet: ipNet(hostAddr, 31)}); err != nil {
		return err
	}
	if err := netlink.LinkSetUp(host); err != nil {
		return err
	}
	up, err := rt.nl.LinkByName(routerUplink)
	if err != nil {
		return err
	}
	if err := rt.nl.AddrReplace(up, &netlink.Addr{IPNet: ipNet(routerAddr, 31)}); err != nil {
		return err
	}
	if err := rt.nl.LinkSetUp(up); err != nil {
		return err
	}
	return rt.nl.RouteReplace(&netlink.Route{LinkIndex: up.Attrs().Index, Gw: hostAddr.AsSlice(),
		Dst: ipNet(netip.IPv4Unspecified(), 0)})
}

// ensureGateways puts the VPC resolver's and each subnet's gateway address on the router's lo (the kernel answers ARP
// for a local address on any interface, so every task veth gets an answer) and removes gateways
// of subnets that are gone.
func ensureGateways(rt *vpcRuntime) error {
	lo, err := rt.nl.LinkByName("lo")
	if err != nil {
		return err
	}
	// The VPC's resolver (base + 2) lives there too.
	resolver := ResolverAddr(rt.rec.VPC.CIDR)
	want := map[netip.Addr]bool{resolver: true}
	if err := rt.nl.AddrReplace(lo, &netlink.Addr{IPNet: ipNet(resolver, 32)}); err != nil {
		return fmt.Errorf("resolver %s: %w", resolver, err)
	}
	for a := range rt.rec.LocalAddrs {
		want[a] = true
		if err := rt.nl.AddrReplace(lo, &netlink.Addr{IPNet: ipNet(a, 32)}); err != nil {
			return fmt.Errorf("local address %s: %w", a, err)
		}
	}
	for _, s := range rt.rec.VPC.Subnets {
		want[s.Gateway] = true
		if err := rt.nl.AddrReplace(lo, &netlink.Addr{IPNet: ipNet(s.Gateway, 32)}); err != nil {
			return fmt.Errorf("%s: %w", s.Gateway, err)
		}
	}
	addrs, err := dumpAgain(func() ([]netlink.Addr, error) { return rt.nl.AddrList(lo, netlink.FAMILY_V4) })
	if err != nil {
		return err
	}
	for _, a := range addrs {
		ip, _ := netip.AddrFromSlice(a.IP)
		if ip.Unmap().IsLoopback() || want[ip.Unmap()] {
			continue
		}
		if err := rt.nl.AddrDel(lo, &a); err != nil {
			return err
		}
	}
	return nil
}

// DeleteVPC removes the VPC's router, uplink and state. It fails with ErrVPCInUse while
// interfaces are attached or local addresses set; deleting a missing VPC is not an error.
func (p *Plane) DeleteVPC(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkID("vpc", id); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, e := range p.enis {
		if e.ENI.VPCID == id {
			return fmt.Errorf("vpc %s: interface %s: %w", id, e.ENI.ID, ErrVPCInUse)
		}
	}
	hostLink := p.hostLinkName(id)
	if rt, ok := p.vpcs[id]; ok && len(rt.rec.LocalAddrs) > 0 {
		return fmt.Errorf("vpc %s: %d local addresses (load balancer nodes): %w", id, len(rt.rec.LocalAddrs), ErrVPCInUse)
	}
	var errs []error
	if rt, ok := p.vpcs[id]; ok {
		hostLink = rt.rec.HostLink
		errs = append(errs, p.dropSparesLocked(rt))
		rt.stopResolver()
		rt.close()
	}
	// Deleting one end of a veth deletes both.
	if l, err := netlink.LinkByName(hostLink); err == nil {
		errs = append(errs, netlink.LinkDel(l))
	} else if !isNotFound(err) {
		errs = append(errs, err)
	}
	errs = append(errs, netns.Delete(p.vpcNetns(id)))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("delete vpc %s: %w", id, err)
	}
	delete(p.vpcs, id)
	return p.removeRecordLocked(p.vpcFile(id))
}
