package network

import (
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/network/netns"
	"github.com/vishvananda/netlink"
)

// spares returns the VPC's spares as the Plane holds them, and the spare files on disk.
func spares(t *testing.T, p *Plane, vpcID string) ([]spare, []string) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	var held []spare
	if rt, ok := p.vpcs[vpcID]; ok {
		held = append(held, rt.spares...)
	}
	files, _ := filepath.Glob(filepath.Join(p.spareDir(), "*"))
	return held, files
}

// awaitSpare waits until the VPC has a spare made ahead and returns it.
func awaitSpare(t *testing.T, p *Plane, vpcID string) spare {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if held, _ := spares(t, p, vpcID); len(held) == 1 {
			return held[0]
		}
		if time.Now().After(deadline) {
			t.Fatal("no spare made for the VPC")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// routerLinks names the links of the VPC's router.
func routerLinks(t *testing.T, p *Plane, vpcID string) []string {
	t.Helper()
	var names []string
	if err := netns.Do(p.vpcNetns(vpcID), func() error {
		links, err := dumpAgain(netlink.LinkList)
		for _, l := range links {
			names = append(names, l.Attrs().Name)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return names
}

// TestSpareInterfaces: a VPC's router gets a task namespace made ahead; Attach takes it and gives
// it the ENI's MAC, address, routes and router link, and the task is reachable as one made on
// the spot; another is made a moment later; a restart and DeleteVPC leave none behind.
func TestSpareInterfaces(t *testing.T) {
	t.Parallel()
	p, cfg := newPlane(t)
	vpc := matrixVPC("vpc-spare")
	mustEnsure(t, p, vpc)
	sp := awaitSpare(t, p, vpc.ID)
	if !netns.Exists(sp.netns) || !strings.HasPrefix(sp.netns, p.spareDir()+"/") {
		t.Fatalf("spare namespace %s missing or outside %s", sp.netns, p.spareDir())
	}
	// Down and unaddressed on the router: nothing can cross it before a task takes it.
	if err := netns.Do(p.vpcNetns(vpc.ID), func() error {
		l, err := netlink.LinkByName(sp.link)
		if err != nil {
			return err
		}
		if l.Attrs().Flags&net.FlagUp != 0 {
			t.Errorf("the spare's router end %s is up", sp.link)
		}
		addrs, err := dumpAgain(func() ([]netlink.Addr, error) { return netlink.AddrList(l, netlink.FAMILY_V4) })
		if len(addrs) != 0 {
			t.Errorf("the spare's router end has addresses %v", addrs)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}

	mac, _ := net.ParseMAC("02:aa:bb:cc:dd:01")
	sg := []string{"sg-s"}
	spared := mustAttach(t, p, ENI{ID: "eni-spared", VPCID: vpc.ID, SubnetID: "subnet-a", IP: ip("10.0.1.30"), MAC: mac, SecurityGroups: sg})
	if held, files := spares(t, p, vpc.ID); len(held) != 0 || netns.Exists(sp.netns) || len(files) != 0 {
		t.Fatalf("after Attach: spares %v, files %v; want the spare taken", held, files)
	}
	fresh := mustAttach(t, p, ENI{ID: "eni-fresh", VPCID: vpc.ID, SubnetID: "subnet-b", IP: ip("10.0.2.30"), SecurityGroups: sg})
	group := SecurityGroup{ID: "sg-s", Ingress: []Permission{{Protocol: "tcp", FromPort: 80, ToPort: 80, Groups: sg}}, Egress: []Permission{allEgress}}
	if err := p.ApplySecurityGroups(t.Context(), vpc.ID, []SecurityGroup{group},
		map[string][]netip.Addr{"sg-s": {ip("10.0.1.30"), ip("10.0.2.30")}},
		map[netip.Addr][]string{ip("10.0.1.30"): sg, ip("10.0.2.30"): sg}); err != nil {
		t.Fatal(err)
	}
	if err := netns.Do(spared, func() error {
		l, err := netlink.LinkByName(taskLink)
		if err != nil {
			return err
		}
		if l.Attrs().HardwareAddr.String() != mac.String() || l.Attrs().Flags&net.FlagUp == 0 {
			t.Errorf("eth0 MAC %s up %v, want %s and up", l.Attrs().HardwareAddr, l.Attrs().Flags&net.FlagUp != 0, mac)
		}
		checkAddressing(t, l, "10.0.1.30/24", "10.0.1.1")
		ipv6, _ := os.ReadFile("/proc/sys/net/ipv6/conf/eth0/disable_ipv6")
		if strings.TrimSpace(string(ipv6)) != "1" {
			t.Errorf("IPv6 on eth0: disable_ipv6 %q", ipv6)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	links := routerLinks(t, p, vpc.ID)
	if !slices.Contains(links, routerLinkName("eni-spared")) || slices.Contains(links, sp.link) {
		t.Errorf("router links %v: want %s, not the spare's %s", links, routerLinkName("eni-spared"), sp.link)
	}
	// Both ways, between the taken spare and an interface made on the spot, as their group says.
	serveTCP(t, spared, "10.0.1.30:80", "spared")
	serveTCP(t, fresh, "10.0.2.30:80", "fresh")
	if hello, err := reach(fresh, "10.0.1.30:80", allowWait); err != nil || !strings.HasPrefix(hello, "spared") {
		t.Errorf("fresh -> spared: %q, %v", hello, err)
	}
	if hello, err := reach(spared, "10.0.2.30:80", allowWait); err != nil || !strings.HasPrefix(hello, "fresh") {
		t.Errorf("spared -> fresh: %q, %v", hello, err)
	}

	// The next spare comes a moment later; a Detach of the taken one leaves nothing of it.
	next := awaitSpare(t, p, vpc.ID)
	if err := p.Detach(t.Context(), "eni-spared"); err != nil {
		t.Fatal(err)
	}
	if netns.Exists(spared) || slices.Contains(routerLinks(t, p, vpc.ID), routerLinkName("eni-spared")) {
		t.Error("the taken spare's namespace or router link outlived Detach")
	}

	// A killed agent's spare is nobody's: the next Plane's Recover removes it, link and all.
	q, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if err := q.Recover(t.Context()); err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	p.closed = true // p plays the killed agent: it makes nothing more
	p.mu.Unlock()
	if netns.Exists(next.netns) {
		t.Error("Recover left the last process's spare namespace")
	}
	deadline := time.Now().Add(allowWait)
	for slices.Contains(routerLinks(t, q, vpc.ID), next.link) {
		if time.Now().After(deadline) {
			t.Fatal("the removed spare's router end is still there")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// A spare that cannot be taken (its pair was deleted behind the Plane's back) is removed,
	// and the interface is made on the spot.
	broken := awaitSpare(t, q, vpc.ID)
	if err := netns.Do(q.vpcNetns(vpc.ID), func() error {
		l, err := netlink.LinkByName(broken.link)
		if err != nil {
			return err
		}
		return netlink.LinkDel(l)
	}); err != nil {
		t.Fatal(err)
	}
	late := mustAttach(t, q, ENI{ID: "eni-late", VPCID: vpc.ID, SubnetID: "subnet-a", IP: ip("10.0.1.31"), MAC: mac, SecurityGroups: sg})
	if netns.Exists(broken.netns) {
		t.Error("the broken spare's namespace is still there")
	}
	if err := netns.Do(late, func() error {
		l, err := netlink.LinkByName(taskLink)
		if err == nil && l.Attrs().HardwareAddr.String() != mac.String() {
			t.Errorf("eth0 MAC %s, want %s", l.Attrs().HardwareAddr, mac)
		}
		return err
	}); err != nil {
		t.Fatalf("the interface made instead of the broken spare: %v", err)
	}
	// DeleteVPC removes the VPC's spares with its router.
	awaitSpare(t, q, vpc.ID)
	for _, id := range []string{"eni-fresh", "eni-late"} {
		if err := q.Detach(t.Context(), id); err != nil {
			t.Fatal(err)
		}
	}
	if err := q.DeleteVPC(t.Context(), vpc.ID); err != nil {
		t.Fatal(err)
	}
	if held, files := spares(t, q, vpc.ID); len(held) != 0 || len(files) != 0 {
		t.Errorf("after DeleteVPC: spares %v, files %v", held, files)
	}
}
