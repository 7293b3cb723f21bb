package network

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/gantry-dev/gantry/internal/network/netns"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Attach gives a task its interface: a new namespace with lo up and eth0 (the ENI's address
// with its subnet's prefix length, its MAC, a default route via the subnet's gateway), and the
// router's end of the veth with a /32 route to the task. If the ENI has security groups and the
// VPC's current rules do not mention its address yet, the rules are extended to cover it, so the
// task is reachable as its groups say from the start. It returns the namespace's path, for the
// runtime. Attaching an attached ENI again returns the same path and changes nothing.
func (p *Plane) Attach(ctx context.Context, eni ENI) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if err := checkID("eni", eni.ID); err != nil {
		return "", err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	rt, err := p.vpcLocked(eni.VPCID)
	if err != nil {
		return "", err
	}
	subnet, ok := rt.rec.VPC.subnet(eni.SubnetID)
	if !ok {
		return "", fmt.Errorf("eni %s subnet %s in vpc %s: %w", eni.ID, eni.SubnetID, eni.VPCID, ErrSubnetNotFound)
	}
	if eni.SubnetCIDR.IsValid() && eni.SubnetCIDR.Masked() != subnet.CIDR {
		return "", fmt.Errorf("eni %s subnet cidr %s, but subnet %s is %s: %w", eni.ID, eni.SubnetCIDR, subnet.ID, subnet.CIDR, ErrInvalid)
	}
	eni.SubnetCIDR = subnet.CIDR
	if !subnet.CIDR.Contains(eni.IP) || eni.IP == subnet.Gateway || eni.IP == subnet.CIDR.Addr() {
		return "", fmt.Errorf("eni %s address %s not usable in %s: %w", eni.ID, eni.IP, subnet.CIDR, ErrInvalid)
	}
	if len(eni.MAC) == 0 {
		eni.MAC = derivedMAC(eni.ID)
	}
	if old, ok := p.enis[eni.ID]; ok {
		return p.reattachLocked(rt, old, eni)
	}
	for _, o := range p.enis {
		if o.ENI.VPCID == eni.VPCID && o.ENI.IP == eni.IP {
			return "", fmt.Errorf("eni %s address %s is eni %s's: %w", eni.ID, eni.IP, o.ENI.ID, ErrConflict)
		}
	}
	rec := &eniRecord{ENI: eni, Gateway: subnet.Gateway, NetnsPath: p.eniNetns(eni.ID), RouterLink: routerLinkName(eni.ID)}
	// The record goes down first, so Detach can undo a half-done Attach after a crash.
	if err := p.writeRecordLocked(p.eniFile(eni.ID), rec); err != nil {
		return "", err
	}
	p.enis[eni.ID] = rec
	if err := p.plumbLocked(rt, rec); err != nil {
		return "", errors.Join(fmt.Errorf("attach eni %s: %w", eni.ID, err), p.detachLocked(eni.ID))
	}
	return rec.NetnsPath, nil
}

// reattachLocked handles Attach of an ENI this Plane already has.
func (p *Plane) reattachLocked(rt *vpcRuntime, old *eniRecord, eni ENI) (string, error) {
	if old.ENI.VPCID != eni.VPCID || old.ENI.IP != eni.IP || old.ENI.SubnetID != eni.SubnetID || !bytes.Equal(old.ENI.MAC, eni.MAC) {
		return "", fmt.Errorf("eni %s is attached with %s in %s: %w", eni.ID, old.ENI.IP, old.ENI.SubnetID, ErrConflict)
	}
	if _, err := rt.nl.LinkByName(old.RouterLink); err == nil && netns.Exists(old.NetnsPath) {
		return old.NetnsPath, nil
	}
	// Half there (a crash mid-attach): start again.
	if err := p.detachLocked(eni.ID); err != nil {
		return "", err
	}
	rec := &eniRecord{ENI: eni, Gateway: old.Gateway, NetnsPath: old.NetnsPath, RouterLink: old.RouterLink}
	if err := p.writeRecordLocked(p.eniFile(eni.ID), rec); err != nil {
		return "", err
	}
	p.enis[eni.ID] = rec
	if err := p.plumbLocked(rt, rec); err != nil {
		return "", errors.Join(fmt.Errorf("attach eni %s: %w", eni.ID, err), p.detachLocked(eni.ID))
	}
	return rec.NetnsPath, nil
}

// plumbLocked gives rec its namespace, veth and routes: a spare's (takeSpareLocked), or made
// now. All of the task side happens on one thread inside the namespace.
func (p *Plane) plumbLocked(rt *vpcRuntime, rec *eniRecord) error {
	eni := rec.ENI
	if !p.takeSpareLocked(rt, rec) {
		routerFd := int(rt.nsFile.Fd())
		initTask := func() error {
			if err := initTaskNamespace(&netlink.Veth{
				LinkAttrs: netlink.LinkAttrs{Name: taskLink, HardwareAddr: eni.MAC, Flags: net.FlagUp},
				PeerName:  rec.RouterLink, PeerNamespace: netlink.NsFd(routerFd),
			}); err != nil {
				return err
			}
			eth0, err := netlink.LinkByName(taskLink)
			if err != nil {
				return err
			}
			return addressTaskLink(eth0, eni, rec.Gateway.AsSlice())
		}
		if _, err := netns.Create(rec.NetnsPath, initTask); err != nil {
			return err
		}
	}
	link, err := rt.nl.LinkByName(rec.RouterLink)
	if err != nil {
		return err
	}
	if err := rt.nl.LinkSetUp(link); err != nil {
		return err
	}
	if err := rt.nl.RouteReplace(&netlink.Route{LinkIndex: link.Attrs().Index, Dst: ipNet(eni.IP, 32),
		Scope: netlink.SCOPE_LINK, Src: rec.Gateway.AsSlice()}); err != nil {
		return fmt.Errorf("route: %w", err)
	}
	egress := rt.rec.VPC.egressENI(eni)
	if _, known := rt.rec.ENIGroups[eni.IP]; known || len(eni.SecurityGroups) == 0 {
		if !egress {
			return nil
		}
		// Only the egress set changes: a cheap addition.
		return p.applyRulesLocked(rt)
	}
	if rt.rec.ENIGroups == nil {
		rt.rec.ENIGroups = map[netip.Addr][]string{}
	}
	if rt.rec.Members == nil {
		rt.rec.Members = map[string][]netip.Addr{}
	}
	rt.rec.ENIGroups[eni.IP] = slices.Clone(eni.SecurityGroups)
	for _, g := range eni.SecurityGroups {
		if !slices.Contains(rt.rec.Members[g], eni.IP) {
			rt.rec.Members[g] = append(rt.rec.Members[g], eni.IP)
		}
	}
	if err := p.applyRulesLocked(rt); err != nil {
		return err
	}
	return p.writeRecordLocked(p.vpcFile(rt.rec.VPC.ID), rt.rec)
}

// initTaskNamespace sets up a new task namespace from inside it: IPv6 off before eth0 exists,
// lo up, and veth, eth0 with its other end in the router.
func initTaskNamespace(veth *netlink.Veth) error {
	if err := sysctls("net/ipv6/conf/all/disable_ipv6", "1", "net/ipv6/conf/default/disable_ipv6", "1"); err != nil {
		return err
	}
	if err := linkUp("lo"); err != nil {
		return err
	}
	if err := netlink.LinkAdd(veth); err != nil {
		return fmt.Errorf("add veth: %w", err)
	}
	return nil
}

// addressTaskLink gives a task's eth0 (up) the ENI's address with its subnet's prefix length, as
// on AWS, but no on-link route for it: everything, neighbours included, goes through the
// gateway, the only address the task ever ARPs for. Filtering happens there, and the router
// needs no proxy ARP. The default route is onlink: the gateway is reachable before the router's
// end comes up.
func addressTaskLink(eth0 netlink.Link, eni ENI, gateway net.IP) error {
	addr := &netlink.Addr{IPNet: ipNet(eni.IP, eni.SubnetCIDR.Bits()), Flags: unix.IFA_F_NOPREFIXROUTE}
	if err := netlink.AddrAdd(eth0, addr); err != nil {
		return fmt.Errorf("address: %w", err)
	}
	return netlink.RouteAdd(&netlink.Route{LinkIndex: eth0.Attrs().Index, Gw: gateway, Flags: int(netlink.FLAG_ONLINK)})
}

// Detach removes the task's veth, routes, namespace, connection tracking entries and its
// address from the VPC's rules. Detaching an unknown ENI is not an error.
func (p *Plane) Detach(ctx context.Context, eniID string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkID("eni", eniID); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.detachLocked(eniID)
}

func (p *Plane) detachLocked(eniID string) error {
	rec, ok := p.enis[eniID]
	if !ok {
		// Nothing recorded: still remove a namespace a crashed Plane may have left.
		return netns.Delete(p.eniNetns(eniID))
	}
	var errs []error
	rec.detaching = true
	if rt, err := p.vpcLocked(rec.ENI.VPCID); err == nil {
		if l, err := rt.nl.LinkByName(rec.RouterLink); err == nil {
			errs = append(errs, rt.nl.LinkDel(l)) // the /32 route goes with it
		} else if !isNotFound(err) {
			errs = append(errs, err)
		}
		errs = append(errs, p.forgetAddrLocked(rt, rec.ENI.IP, rt.rec.VPC.egressENI(rec.ENI)))
	} else if !errors.Is(err, ErrVPCNotFound) {
		errs = append(errs, err)
	}
	errs = append(errs, netns.Delete(rec.NetnsPath))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("detach eni %s: %w", eniID, err)
	}
	delete(p.enis, eniID)
	return p.removeRecordLocked(p.eniFile(eniID))
}

// forgetAddrLocked drops ip from the VPC's rules and its connection tracking entries, so an
// address handed to a new task starts clean.
func (p *Plane) forgetAddrLocked(rt *vpcRuntime, ip netip.Addr, egress bool) error {
	changed := egress
	if _, ok := rt.rec.ENIGroups[ip]; ok {
		delete(rt.rec.ENIGroups, ip)
		changed = true
	}
	for g, ms := range rt.rec.Members {
		if i := slices.Index(ms, ip); i >= 0 {
			rt.rec.Members[g] = slices.Delete(slices.Clone(ms), i, i+1)
			changed = true
		}
	}
	var errs []error
	if changed {
		errs = append(errs, p.applyRulesLocked(rt), p.writeRecordLocked(p.vpcFile(rt.rec.VPC.ID), rt.rec))
	}
	// Deleting by address means dumping the table, which walks every bucket of the host's hash
	// table whatever the router holds (9.3 ms for 262,144 buckets, with the Plane locked). A
	// router that tracks no connection has none to drop.
	if n, err := trackedConnections(rt.nsPath); err != nil || n > 0 {
		src, dst := &netlink.ConntrackFilter{}, &netlink.ConntrackFilter{}
		_ = src.AddIP(netlink.ConntrackOrigSrcIP, ip.AsSlice())
		_ = dst.AddIP(netlink.ConntrackOrigDstIP, ip.AsSlice())
		if _, err := rt.nl.ConntrackDeleteFilters(netlink.ConntrackTable, unix.AF_INET, src, dst); err != nil && !errors.Is(err, unix.ENOENT) {
			errs = append(errs, fmt.Errorf("conntrack: %w", err))
		}
	}
	return errors.Join(errs...)
}

// trackedConnections is the number of connections the namespace at nsPath tracks.
func trackedConnections(nsPath string) (int, error) {
	var n int
	err := netns.Do(nsPath, func() error {
		b, err := os.ReadFile("/proc/sys/net/netfilter/nf_conntrack_count")
		if err != nil {
			return err
		}
		n, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err
	})
	return n, err
}
