package network

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/network/netns"
	"github.com/vishvananda/netlink"
)

// routerHasAddr says whether the VPC's router has a on its lo.
func routerHasAddr(t *testing.T, p *Plane, vpcID string, a netip.Addr) bool {
	t.Helper()
	var found bool
	if err := netns.Do(p.vpcNetns(vpcID), func() error {
		lo, err := netlink.LinkByName("lo")
		if err != nil {
			return err
		}
		addrs, err := dumpAgain(func() ([]netlink.Addr, error) { return netlink.AddrList(lo, netlink.FAMILY_V4) })
		for _, x := range addrs {
			if y, _ := netip.AddrFromSlice(x.IP); y.Unmap() == a {
				found = true
			}
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return found
}

// TestLoadBalancerNode runs a load balancer node (a local address of the router with groups) in
// a VPC built for it before any task: it dials a task from its own address, which the task's
// groups must allow by the node's group; tasks reach a listener on it as its groups (and their
// own egress rules) allow, and nothing else local; the VPC's resolver answers the names set;
// the node survives EnsureVPC and keeps DeleteVPC away until it is removed.
func TestLoadBalancerNode(t *testing.T) {
	t.Parallel()
	p, _ := newPlane(t)
	ctx := t.Context()
	vpc := matrixVPC("vpc-lb")
	node := ip("10.0.1.200")
	lbGroups := map[netip.Addr][]string{node: {"sg-lb"}}
	// No task yet: SetLocalAddrs builds the router.
	if err := p.SetLocalAddrs(ctx, vpc, lbGroups); err != nil {
		t.Fatal(err)
	}
	if !routerHasAddr(t, p, vpc.ID, node) {
		t.Fatal("node address not on the router's lo")
	}
	mustEnsure(t, p, vpc) // the agent arrives with the VPC: the node stays
	if !routerHasAddr(t, p, vpc.ID, node) {
		t.Fatal("EnsureVPC removed the node address")
	}
	target := mustAttach(t, p, ENI{ID: "eni-target", VPCID: vpc.ID, SubnetID: "subnet-a", IP: ip("10.0.1.30"), SecurityGroups: []string{"sg-t"}})
	client := mustAttach(t, p, ENI{ID: "eni-client", VPCID: vpc.ID, SubnetID: "subnet-b", IP: ip("10.0.2.40"), SecurityGroups: []string{"sg-c"}})
	narrow := mustAttach(t, p, ENI{ID: "eni-narrow", VPCID: vpc.ID, SubnetID: "subnet-b", IP: ip("10.0.2.41"), SecurityGroups: []string{"sg-narrow"}})
	serveTCP(t, target, "10.0.1.30:8080", "target")

	lb := SecurityGroup{ID: "sg-lb", Ingress: []Permission{{Protocol: "tcp", FromPort: 80, ToPort: 80, CIDRs: []netip.Prefix{prefix("0.0.0.0/0")}}},
		Egress: []Permission{allEgress}}
	clientSG := SecurityGroup{ID: "sg-c", Egress: []Permission{allEgress}}
	narrowSG := SecurityGroup{ID: "sg-narrow", Egress: []Permission{{Protocol: "tcp", FromPort: 8080, ToPort: 8080, CIDRs: []netip.Prefix{prefix("0.0.0.0/0")}}}}
	// The agent's view: only its tasks' interfaces; the node's entries come from SetLocalAddrs.
	eniGroups := map[netip.Addr][]string{ip("10.0.1.30"): {"sg-t"}, ip("10.0.2.40"): {"sg-c"}, ip("10.0.2.41"): {"sg-narrow"}}
	apply := func(targetSG SecurityGroup) {
		t.Helper()
		if err := p.ApplySecurityGroups(ctx, vpc.ID, []SecurityGroup{lb, targetSG, clientSG, narrowSG}, nil, eniGroups); err != nil {
			t.Fatal(err)
		}
	}
	dial := func() (string, error) {
		c, err := p.DialFrom(ctxTimeout(t, denyWait), vpc.ID, node, netip.MustParseAddrPort("10.0.1.30:8080"))
		if err != nil {
			return "", err
		}
		defer c.Close()
		buf := make([]byte, 64)
		n, err := c.Read(buf)
		return strings.TrimSpace(string(buf[:n])), err
	}

	// The classic mistake: the target's group does not allow the load balancer's.
	apply(SecurityGroup{ID: "sg-t", Ingress: []Permission{{Protocol: "tcp", FromPort: 8080, ToPort: 8080, Groups: []string{"sg-c"}}}})
	if hello, err := dial(); err == nil {
		t.Fatalf("node reached a target that does not allow its group: %q", hello)
	}
	apply(SecurityGroup{ID: "sg-t", Ingress: []Permission{{Protocol: "tcp", FromPort: 8080, ToPort: 8080, Groups: []string{"sg-lb"}}}})
	if hello, err := dial(); err != nil || !strings.HasPrefix(hello, "target 10.0.1.200:") {
		t.Fatalf("dial from the node after allowing its group: %q, %v; want the target seeing 10.0.1.200", hello, err)
	}

	// The node's own egress rules apply to its connections too.
	lb.Egress = []Permission{{Protocol: "tcp", FromPort: 9999, ToPort: 9999, CIDRs: []netip.Prefix{prefix("0.0.0.0/0")}}}
	apply(SecurityGroup{ID: "sg-t", Ingress: []Permission{{Protocol: "tcp", FromPort: 8080, ToPort: 8080, Groups: []string{"sg-lb"}}}})
	if hello, err := dial(); err == nil {
		t.Fatalf("node reached a target its own egress rules do not allow: %q", hello)
	}
	lb.Egress = []Permission{allEgress}
	apply(SecurityGroup{ID: "sg-t", Ingress: []Permission{{Protocol: "tcp", FromPort: 8080, ToPort: 8080, Groups: []string{"sg-lb"}}}})

	// Listeners on the node: port 80 is in the node's ingress rules, 81 is not; a listener on
	// the gateway is nobody's interface.
	for _, a := range []string{"10.0.1.200:80", "10.0.1.200:81", "10.0.1.1:80"} {
		ln, err := p.ListenInVPC(ctx, vpc.ID, a)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		go acceptHello(ln, "lb")
	}
	for _, tt := range []struct {
		name, ns, addr string
		ok             bool
	}{
		{"client to node:80", client, "10.0.1.200:80", true},
		{"target to node:80 (sg-t has no egress rules)", target, "10.0.1.200:80", false},
		{"client to node:81 (not in the node's ingress)", client, "10.0.1.200:81", false},
		{"narrow client (egress 8080 only) to node:80", narrow, "10.0.1.200:80", false},
		{"client to the gateway:80", client, "10.0.1.1:80", false},
	} {
		wait := denyWait
		if tt.ok {
			wait = allowWait
		}
		s, err := dialTCP(tt.ns, tt.addr, wait)
		if s != nil {
			s.conn.Close()
		}
		if (err == nil) != tt.ok {
			t.Errorf("%s: err %v, want reachable %v", tt.name, err, tt.ok)
		}
	}

	// DNS: the VPC's resolver answers the load balancer's name with its node.
	p.SetDNSNames(vpc.ID, map[string][]netip.Addr{"Internal-web-1.us-east-1.elb.amazonaws.com.": {node}})
	if rcode, addrs, err := lookupA(client, "udp", "10.0.0.2:53", "internal-web-1.us-east-1.elb.amazonaws.com", allowWait); err != nil || rcode != 0 || len(addrs) != 1 || addrs[0] != node {
		t.Errorf("lb name: rcode %d %v, %v; want %s", rcode, addrs, err, node)
	}

	// The node keeps the VPC: the agent's DeleteVPC after its last task says in use.
	for _, id := range []string{"eni-target", "eni-client", "eni-narrow"} {
		if err := p.Detach(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.DeleteVPC(ctx, vpc.ID); !errors.Is(err, ErrVPCInUse) {
		t.Fatalf("DeleteVPC with a node: %v, want ErrVPCInUse", err)
	}
	if got := p.LocalAddrs()[vpc.ID]; len(got) != 1 || got[0] != node {
		t.Fatalf("LocalAddrs: %v", got)
	}
	if err := p.SetLocalAddrs(ctx, vpc, nil); err != nil {
		t.Fatal(err)
	}
	if routerHasAddr(t, p, vpc.ID, node) {
		t.Fatal("node address still on lo after removal")
	}
	if len(p.LocalAddrs()) != 0 {
		t.Fatalf("LocalAddrs after removal: %v", p.LocalAddrs())
	}
	if err := p.DeleteVPC(ctx, vpc.ID); err != nil {
		t.Fatal(err)
	}
	// None for an unknown VPC is nothing to do.
	if err := p.SetLocalAddrs(ctx, VPC{ID: "vpc-none"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := p.SetLocalAddrs(ctx, vpc, map[netip.Addr][]string{ip("10.9.0.1"): {"sg-lb"}}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("address outside the vpc: %v, want ErrInvalid", err)
	}
}

func ctxTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}

// acceptHello greets each connection ln accepts with "<name> <remote address>" and closes it.
func acceptHello(ln net.Listener, name string) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		fmt.Fprintf(c, "%s %s\n", name, c.RemoteAddr())
		c.Close()
	}
}
