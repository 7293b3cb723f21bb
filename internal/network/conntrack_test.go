package network

import (
	"net/netip"
	"testing"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// routerConnections lists the addresses in the router's connection tracking table.
func routerConnections(t *testing.T, p *Plane, vpcID string) map[netip.Addr]int {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	rt, err := p.vpcLocked(vpcID)
	if err != nil {
		t.Fatal(err)
	}
	flows, err := rt.nl.ConntrackTableList(netlink.ConntrackTable, unix.AF_INET)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[netip.Addr]int{}
	for _, f := range flows {
		for _, a := range []netip.Addr{addrOf(f.Forward.SrcIP), addrOf(f.Forward.DstIP)} {
			seen[a]++
		}
	}
	return seen
}

func addrOf(b []byte) netip.Addr {
	a, _ := netip.AddrFromSlice(b)
	return a.Unmap()
}

// TestDetachForgetsConnections checks that an interface's connections leave the router's
// connection tracking table with it (an address handed to the next task must not inherit an
// established flow past its groups), and that other interfaces' connections stay. A detach
// from a router that tracks nothing, which skips the table, works too.
func TestDetachForgetsConnections(t *testing.T) {
	t.Parallel()
	p, _ := newPlane(t)
	vpc := VPC{ID: "vpc-conntrack", CIDR: prefix("10.8.0.0/16"), Subnets: []Subnet{{ID: "subnet-a", CIDR: prefix("10.8.1.0/24")}}}
	mustEnsure(t, p, vpc)
	sg := []string{"sg-all"}
	ns := map[string]string{}
	addrs := map[string]netip.Addr{"client": ip("10.8.1.4"), "gone": ip("10.8.1.5"), "stays": ip("10.8.1.6")}
	members := map[string][]netip.Addr{}
	eniGroups := map[netip.Addr][]string{}
	for name, a := range addrs {
		ns[name] = mustAttach(t, p, ENI{ID: "eni-" + name, VPCID: vpc.ID, SubnetID: "subnet-a", IP: a, SecurityGroups: sg})
		members["sg-all"] = append(members["sg-all"], a)
		eniGroups[a] = sg
	}
	all := SecurityGroup{ID: "sg-all", Ingress: []Permission{{Protocol: "-1", Groups: sg}}, Egress: []Permission{allEgress}}
	if err := p.ApplySecurityGroups(t.Context(), vpc.ID, []SecurityGroup{all}, members, eniGroups); err != nil {
		t.Fatal(err)
	}
	if n := routerConnections(t, p, vpc.ID); len(n) != 0 {
		t.Fatalf("connections before any traffic: %v", n)
	}
	// Detaching an interface from a router that tracks nothing.
	mustAttach(t, p, ENI{ID: "eni-idle", VPCID: vpc.ID, SubnetID: "subnet-a", IP: ip("10.8.1.7"), SecurityGroups: sg})
	if err := p.Detach(t.Context(), "eni-idle"); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"gone", "stays"} {
		serveTCP(t, ns[name], netip.AddrPortFrom(addrs[name], 7100).String(), name)
		s, err := dialTCP(ns["client"], netip.AddrPortFrom(addrs[name], 7100).String(), allowWait)
		if err != nil {
			t.Fatalf("client -> %s: %v", name, err)
		}
		t.Cleanup(func() { s.conn.Close() })
	}
	if n := routerConnections(t, p, vpc.ID); n[addrs["gone"]] == 0 || n[addrs["stays"]] == 0 {
		t.Fatalf("the router tracks %v, want both connections", n)
	}
	if err := p.Detach(t.Context(), "eni-gone"); err != nil {
		t.Fatal(err)
	}
	n := routerConnections(t, p, vpc.ID)
	if n[addrs["gone"]] != 0 {
		t.Errorf("after the detach the router still tracks %d flows of %s", n[addrs["gone"]], addrs["gone"])
	}
	if n[addrs["stays"]] == 0 {
		t.Errorf("the detach dropped another interface's connection: %v", n)
	}
}
