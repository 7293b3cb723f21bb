package network

import (
	"net/netip"
	"testing"

	"github.com/gantry-dev/gantry/internal/network/netns"
)

// TestRecover drops a Plane with tasks running and picks them up with a new one: traffic keeps
// flowing (established and new connections), and the new Plane detaches and deletes.
func TestRecover(t *testing.T) {
	t.Parallel()
	p, cfg := newPlane(t)
	vpc := matrixVPC("vpc-recover")
	mustEnsure(t, p, vpc)
	sg := []string{"sg-r"}
	a := mustAttach(t, p, ENI{ID: "eni-ra", VPCID: vpc.ID, SubnetID: "subnet-a", IP: ip("10.0.1.40"), SecurityGroups: sg})
	b := mustAttach(t, p, ENI{ID: "eni-rb", VPCID: vpc.ID, SubnetID: "subnet-b", IP: ip("10.0.2.40"), SecurityGroups: sg})
	group := SecurityGroup{ID: "sg-r", Ingress: []Permission{{Protocol: "tcp", FromPort: 80, ToPort: 80, Groups: sg}}, Egress: []Permission{allEgress}}
	members := map[string][]netip.Addr{"sg-r": {ip("10.0.1.40"), ip("10.0.2.40")}}
	eniGroups := map[netip.Addr][]string{ip("10.0.1.40"): sg, ip("10.0.2.40"): sg}
	if err := p.ApplySecurityGroups(t.Context(), vpc.ID, []SecurityGroup{group}, members, eniGroups); err != nil {
		t.Fatal(err)
	}
	serveTCP(t, b, "10.0.2.40:80", "b")
	open, err := dialTCP(a, "10.0.2.40:80", allowWait)
	if err != nil {
		t.Fatal(err)
	}
	defer open.conn.Close()
	rulesBefore := nftList(t, p.vpcNetns(vpc.ID))
	p.Close() // the agent goes away; the kernel state stays

	q, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if err := q.Recover(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := nftList(t, q.vpcNetns(vpc.ID)); got != rulesBefore {
		t.Errorf("Recover changed the rules:\n%s\nwas\n%s", got, rulesBefore)
	}
	if err := open.echo("across the restart", allowWait); err != nil {
		t.Errorf("established connection: %v", err)
	}
	if _, err := reach(a, "10.0.2.40:80", allowWait); err != nil {
		t.Errorf("new connection after Recover: %v", err)
	}
	// The VPC's resolver lived in the dropped Plane's goroutines; Recover serves it again.
	resolver := ResolverAddr(vpc.CIDR).String() + ":53"
	if rcode, addrs, err := lookupA(a, "udp", resolver, "ip-10-0-2-40.ec2.internal", allowWait); err != nil || rcode != 0 || len(addrs) != 1 || addrs[0] != ip("10.0.2.40") {
		t.Errorf("resolver after Recover: rcode %d %v, %v; want 10.0.2.40", rcode, addrs, err)
	}
	// The recovered Plane knows the rules: EnsureVPC rebuilds them identically.
	mustEnsure(t, q, vpc)
	if got := nftList(t, q.vpcNetns(vpc.ID)); got != rulesBefore {
		t.Errorf("EnsureVPC after Recover changed the rules:\n%s\nwas\n%s", got, rulesBefore)
	}
	if path, err := q.Attach(t.Context(), ENI{ID: "eni-ra", VPCID: vpc.ID, SubnetID: "subnet-a", IP: ip("10.0.1.40"), SecurityGroups: sg}); err != nil || path != a {
		t.Errorf("re-Attach after Recover = %q, %v", path, err)
	}
	for _, id := range []string{"eni-ra", "eni-rb"} {
		if err := q.Detach(t.Context(), id); err != nil {
			t.Fatal(err)
		}
	}
	if netns.Exists(a) || netns.Exists(b) {
		t.Error("namespaces left after Detach")
	}
	if err := q.DeleteVPC(t.Context(), vpc.ID); err != nil {
		t.Fatal(err)
	}
}
