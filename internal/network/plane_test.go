package network

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/network/netns"
	"github.com/vishvananda/netlink"
)

var allEgress = Permission{Protocol: "-1", CIDRs: []netip.Prefix{prefix("0.0.0.0/0")}}

func matrixVPC(id string) VPC {
	return VPC{ID: id, CIDR: prefix("10.0.0.0/16"), Subnets: []Subnet{
		{ID: "subnet-a", CIDR: prefix("10.0.1.0/24")},
		{ID: "subnet-b", CIDR: prefix("10.0.2.0/24")},
	}}
}

func matrixGroups(withDB bool) []SecurityGroup {
	web := SecurityGroup{ID: "sg-web", Ingress: []Permission{
		{Protocol: "tcp", FromPort: 8080, ToPort: 8080, CIDRs: []netip.Prefix{prefix("10.0.1.0/24")}},
		{Protocol: "tcp", FromPort: 8081, ToPort: 8081, CIDRs: []netip.Prefix{prefix("10.0.0.0/16")}},
		{Protocol: "udp", FromPort: 5353, ToPort: 5353, CIDRs: []netip.Prefix{prefix("10.0.1.0/24")}},
	}, Egress: []Permission{allEgress}}
	db := SecurityGroup{ID: "sg-db", Egress: []Permission{allEgress}}
	if withDB {
		db.Ingress = []Permission{{Protocol: "tcp", FromPort: 5432, ToPort: 5432, Groups: []string{"sg-web"}}}
	}
	client := SecurityGroup{ID: "sg-client", Egress: []Permission{{Protocol: "tcp", FromPort: 8080, ToPort: 8080, CIDRs: []netip.Prefix{prefix("0.0.0.0/0")}}}}
	return []SecurityGroup{web, db, client}
}

// TestReachabilityMatrix runs real tasks (namespaces from Attach with listeners and clients in
// them) and checks who reaches whom under the groups' rules, then revokes one rule.
func TestReachabilityMatrix(t *testing.T) {
	t.Parallel()
	p, _ := newPlane(t)
	ctx := t.Context()
	vpc := matrixVPC("vpc-matrix")
	mustEnsure(t, p, vpc)
	tasks := map[string]ENI{
		"web":    {ID: "eni-web", SubnetID: "subnet-a", IP: ip("10.0.1.10"), SecurityGroups: []string{"sg-web"}},
		"web2":   {ID: "eni-web2", SubnetID: "subnet-a", IP: ip("10.0.1.13"), SecurityGroups: []string{"sg-web"}},
		"db":     {ID: "eni-db", SubnetID: "subnet-a", IP: ip("10.0.1.11"), SecurityGroups: []string{"sg-db"}},
		"client": {ID: "eni-client", SubnetID: "subnet-b", IP: ip("10.0.2.12"), SecurityGroups: []string{"sg-client"}},
	}
	ns := map[string]string{}
	for name, e := range tasks {
		e.VPCID = vpc.ID
		ns[name] = mustAttach(t, p, e)
	}
	// The controller's view: groups, their members, each interface's groups.
	members := map[string][]netip.Addr{"sg-web": {ip("10.0.1.10"), ip("10.0.1.13")}, "sg-db": {ip("10.0.1.11")}, "sg-client": {ip("10.0.2.12")}}
	eniGroups := map[netip.Addr][]string{}
	for _, e := range tasks {
		eniGroups[e.IP] = e.SecurityGroups
	}
	if err := p.ApplySecurityGroups(ctx, vpc.ID, matrixGroups(true), members, eniGroups); err != nil {
		t.Fatal(err)
	}
	for _, port := range []string{"7000", "8080", "8081"} {
		serveTCP(t, ns["web"], "10.0.1.10:"+port, "web")
	}
	serveUDP(t, ns["web"], "10.0.1.10:5353", "web-udp")
	serveTCP(t, ns["db"], "10.0.1.11:5432", "db")
	serveTCP(t, ns["db"], "10.0.1.11:8080", "db")
	serveTCP(t, ns["client"], "10.0.2.12:9000", "client")

	tests := []struct {
		name, from, to string
		allowed        bool
	}{
		{"cidr rule, same subnet", "web2", "10.0.1.10:8080", true},
		{"cidr rule excludes other subnet", "client", "10.0.1.10:8080", false},
		{"ingress allows, client egress does not", "client", "10.0.1.10:8081", false},
		{"group reference", "web", "10.0.1.11:5432", true},
		{"group reference excludes non-member", "client", "10.0.1.11:5432", false},
		{"port without rule", "web", "10.0.1.11:8080", false},
		{"no ingress rules at all", "web", "10.0.2.12:9000", false},
		{"reverse of an allowed flow", "db", "10.0.1.10:7000", false},
	}
	var wg sync.WaitGroup
	for _, tt := range tests {
		wg.Add(1)
		go func() {
			defer wg.Done()
			wait := allowWait
			if !tt.allowed {
				wait = denyWait
			}
			hello, err := reach(ns[tt.from], tt.to, wait)
			switch {
			case tt.allowed && err != nil:
				t.Errorf("%s: %s -> %s: %v, want connected", tt.name, tt.from, tt.to, err)
			case !tt.allowed && err == nil:
				t.Errorf("%s: %s -> %s connected (%q), want denied", tt.name, tt.from, tt.to, hello)
			case !tt.allowed && !isTimeout(err):
				t.Errorf("%s: %s -> %s: %v, want a timeout (silent drop)", tt.name, tt.from, tt.to, err)
			}
		}()
	}
	wg.Wait()

	// The server saw the client's real address: no NAT inside the VPC.
	if hello, err := reach(ns["web"], "10.0.1.11:5432", allowWait); err != nil || !strings.HasPrefix(hello, "db 10.0.1.10:") {
		t.Errorf("web -> db greeting %q, %v", hello, err)
	}
	if got, err := askUDP(ns["web2"], "10.0.1.10:5353", allowWait); err != nil || got != "web-udp" {
		t.Errorf("udp web2 -> web: %q, %v", got, err)
	}
	if got, err := askUDP(ns["client"], "10.0.1.10:5353", denyWait); err == nil {
		t.Errorf("udp client -> web answered %q, want denied", got)
	}

	// Revoking db's rule cuts new connections; the established one carries on (stateful).
	open, err := dialTCP(ns["web"], "10.0.1.11:5432", allowWait)
	if err != nil {
		t.Fatal(err)
	}
	defer open.conn.Close()
	start := time.Now()
	if err := p.ApplySecurityGroups(ctx, vpc.ID, matrixGroups(false), members, eniGroups); err != nil {
		t.Fatal(err)
	}
	t.Logf("rule change applied in %v", time.Since(start))
	if _, err := reach(ns["web"], "10.0.1.11:5432", denyWait); err == nil {
		t.Error("new connection after revoke succeeded")
	}
	if err := open.echo("still there", allowWait); err != nil {
		t.Errorf("established connection after revoke: %v", err)
	}
	// And granting again lets new connections through.
	if err := p.ApplySecurityGroups(ctx, vpc.ID, matrixGroups(true), members, eniGroups); err != nil {
		t.Fatal(err)
	}
	if _, err := reach(ns["web"], "10.0.1.11:5432", allowWait); err != nil {
		t.Errorf("after re-authorizing: %v", err)
	}
}

// TestAttachGivesTaskItsInterface checks what a task sees: eth0 with its address, subnet prefix
// and MAC, a default route via the gateway, lo shared by all its containers.
func TestAttachGivesTaskItsInterface(t *testing.T) {
	t.Parallel()
	p, _ := newPlane(t)
	vpc := matrixVPC("vpc-iface")
	mustEnsure(t, p, vpc)
	mac, _ := net.ParseMAC("02:aa:bb:cc:dd:ee")
	promised := p.NetnsPath("eni-1")
	path := mustAttach(t, p, ENI{ID: "eni-1", VPCID: vpc.ID, SubnetID: "subnet-a", IP: ip("10.0.1.20"), MAC: mac})
	if path != promised {
		t.Errorf("Attach put the namespace at %s; NetnsPath said %s", path, promised)
	}
	if again, err := p.Attach(t.Context(), ENI{ID: "eni-1", VPCID: vpc.ID, SubnetID: "subnet-a", IP: ip("10.0.1.20"), MAC: mac}); err != nil || again != path {
		t.Fatalf("second Attach = %q, %v; want %q", again, err, path)
	}
	if _, err := p.Attach(t.Context(), ENI{ID: "eni-1", VPCID: vpc.ID, SubnetID: "subnet-a", IP: ip("10.0.1.21")}); !errors.Is(err, ErrConflict) {
		t.Fatalf("Attach with another address: %v, want ErrConflict", err)
	}
	if _, err := p.Attach(t.Context(), ENI{ID: "eni-2", VPCID: vpc.ID, SubnetID: "subnet-a", IP: ip("10.0.1.20")}); !errors.Is(err, ErrConflict) {
		t.Fatalf("Attach of a taken address: %v, want ErrConflict", err)
	}
	if _, err := p.Attach(t.Context(), ENI{ID: "eni-3", VPCID: vpc.ID, SubnetID: "subnet-zz", IP: ip("10.0.1.22")}); !errors.Is(err, ErrSubnetNotFound) {
		t.Fatalf("Attach to an unknown subnet: %v", err)
	}
	err := netns.Do(path, func() error {
		l, err := netlink.LinkByName("eth0")
		if err != nil {
			return err
		}
		if l.Attrs().HardwareAddr.String() != mac.String() {
			t.Errorf("MAC %s, want %s", l.Attrs().HardwareAddr, mac)
		}
		checkAddressing(t, l, "10.0.1.20/24", "10.0.1.1")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Two "containers" of the task share its network namespace and so its localhost.
	serveTCP(t, path, "127.0.0.1:9999", "sidecar")
	if hello, err := reach(path, "127.0.0.1:9999", allowWait); err != nil || !strings.HasPrefix(hello, "sidecar") {
		t.Fatalf("localhost inside the task: %q, %v", hello, err)
	}
	// The gateway answers (the router's input accepts icmp; tcp to it is refused or dropped).
	if err := p.DeleteVPC(t.Context(), vpc.ID); !errors.Is(err, ErrVPCInUse) {
		t.Fatalf("DeleteVPC with an attached ENI: %v, want ErrVPCInUse", err)
	}
	for range 2 {
		if err := p.Detach(t.Context(), "eni-1"); err != nil {
			t.Fatal(err)
		}
	}
	if netns.Exists(path) {
		t.Fatal("task namespace still there after Detach")
	}
	for range 2 {
		if err := p.DeleteVPC(t.Context(), vpc.ID); err != nil {
			t.Fatal(err)
		}
	}
}

// TestOverlappingVPCs runs two VPCs with the same CIDR and the same task addresses: each works
// and neither sees the other.
func TestOverlappingVPCs(t *testing.T) {
	t.Parallel()
	p, _ := newPlane(t)
	ns := map[string]map[string]string{}
	for _, id := range []string{"vpc-red", "vpc-blue"} {
		vpc := VPC{ID: id, CIDR: prefix("10.0.0.0/16"), Subnets: []Subnet{{ID: "subnet-1", CIDR: prefix("10.0.1.0/24"), Public: true}}}
		mustEnsure(t, p, vpc)
		mustEnsure(t, p, vpc) // idempotent
		ns[id] = map[string]string{}
		for _, a := range []string{"10.0.1.5", "10.0.1.6"} {
			ns[id][a] = mustAttach(t, p, ENI{ID: "eni-" + id + "-" + strings.ReplaceAll(a, ".", "-"), VPCID: id,
				SubnetID: "subnet-1", IP: ip(a), SecurityGroups: []string{"sg-open"}})
		}
		open := SecurityGroup{ID: "sg-open", Ingress: []Permission{{Protocol: "-1", CIDRs: []netip.Prefix{prefix("10.0.0.0/16")}}}, Egress: []Permission{allEgress}}
		eniGroups := map[netip.Addr][]string{ip("10.0.1.5"): {"sg-open"}, ip("10.0.1.6"): {"sg-open"}}
		if err := p.ApplySecurityGroups(t.Context(), id, []SecurityGroup{open}, nil, eniGroups); err != nil {
			t.Fatal(err)
		}
		serveTCP(t, ns[id]["10.0.1.6"], "10.0.1.6:80", id)
	}
	// Only blue has 10.0.1.7.
	blue7 := mustAttach(t, p, ENI{ID: "eni-blue-7", VPCID: "vpc-blue", SubnetID: "subnet-1", IP: ip("10.0.1.7"), SecurityGroups: []string{"sg-open"}})
	serveTCP(t, blue7, "10.0.1.7:80", "blue-7")
	for _, id := range []string{"vpc-red", "vpc-blue"} {
		hello, err := reach(ns[id]["10.0.1.5"], "10.0.1.6:80", allowWait)
		if err != nil || !strings.HasPrefix(hello, id+" 10.0.1.5:") {
			t.Errorf("%s: 10.0.1.5 -> 10.0.1.6 greeting %q, %v", id, hello, err)
		}
	}
	if hello, err := reach(ns["vpc-red"]["10.0.1.5"], "10.0.1.7:80", denyWait); err == nil {
		t.Errorf("red reached blue's 10.0.1.7: %q", hello)
	}
	if hello, err := reach(ns["vpc-blue"]["10.0.1.5"], "10.0.1.7:80", allowWait); err != nil {
		t.Errorf("blue -> its own 10.0.1.7: %q, %v", hello, err)
	}
	// The host routes neither VPC's CIDR.
	if routes, err := netlink.RouteGet(net.ParseIP("10.0.1.6")); err == nil {
		for _, r := range routes {
			l, _ := netlink.LinkByIndex(r.LinkIndex)
			if l != nil && strings.HasPrefix(l.Attrs().Name, "gv") {
				t.Errorf("host routes 10.0.1.6 into a VPC: %v", r)
			}
		}
	}
}

// TestEgress checks subnets' routes to the outside: an ENI with a public IP in a public subnet
// and any ENI of a NAT subnet reach a server on the host side of the uplink (standing in for
// the internet), masqueraded; an ENI without a public IP in a public subnet and a private
// subnet's do not, as on AWS.
func TestEgress(t *testing.T) {
	t.Parallel()
	p, _ := newPlane(t)
	vpc := VPC{ID: "vpc-egress", CIDR: prefix("10.1.0.0/16"), Subnets: []Subnet{
		{ID: "subnet-pub", CIDR: prefix("10.1.1.0/24"), Public: true},
		{ID: "subnet-priv", CIDR: prefix("10.1.2.0/24")},
		{ID: "subnet-nat", CIDR: prefix("10.1.3.0/24"), NAT: true},
	}}
	mustEnsure(t, p, vpc)
	sg := []string{"sg-default"}
	pub := mustAttach(t, p, ENI{ID: "eni-pub", VPCID: vpc.ID, SubnetID: "subnet-pub", IP: ip("10.1.1.5"), SecurityGroups: sg,
		PublicIP: ip("198.51.100.7")})
	noPublicIP := mustAttach(t, p, ENI{ID: "eni-pub-nopip", VPCID: vpc.ID, SubnetID: "subnet-pub", IP: ip("10.1.1.6"), SecurityGroups: sg})
	priv := mustAttach(t, p, ENI{ID: "eni-priv", VPCID: vpc.ID, SubnetID: "subnet-priv", IP: ip("10.1.2.5"), SecurityGroups: sg})
	nat := mustAttach(t, p, ENI{ID: "eni-nat", VPCID: vpc.ID, SubnetID: "subnet-nat", IP: ip("10.1.3.5"), SecurityGroups: sg})
	// AWS's default group: all egress, ingress only from itself.
	def := SecurityGroup{ID: "sg-default", Ingress: []Permission{{Protocol: "-1", Groups: sg}}, Egress: []Permission{allEgress}}
	members := map[string][]netip.Addr{"sg-default": {ip("10.1.1.5"), ip("10.1.1.6"), ip("10.1.2.5"), ip("10.1.3.5")}}
	eniGroups := map[netip.Addr][]string{ip("10.1.1.5"): sg, ip("10.1.1.6"): sg, ip("10.1.2.5"): sg, ip("10.1.3.5"): sg}
	if err := p.ApplySecurityGroups(t.Context(), vpc.ID, []SecurityGroup{def}, members, eniGroups); err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	hostAddr, routerAddr := p.uplinkAddrs(p.vpcs[vpc.ID].rec.UplinkIndex)
	p.mu.Unlock()
	// A host-namespace listener bound to the uplink's host address only.
	internet := netip.AddrPortFrom(hostAddr, 18080).String()
	serveTCP(t, "", internet, "internet")
	for name, ns := range map[string]string{"public": pub, "nat": nat} {
		hello, err := reach(ns, internet, allowWait)
		if err != nil || !strings.HasPrefix(hello, "internet "+routerAddr.String()+":") {
			t.Errorf("%s subnet -> host: %q, %v; want seen from the router's uplink address %s", name, hello, err, routerAddr)
		}
	}
	if hello, err := reach(priv, internet, denyWait); err == nil {
		t.Errorf("private subnet reached the host: %q", hello)
	}
	if hello, err := reach(noPublicIP, internet, denyWait); err == nil {
		t.Errorf("public subnet without a public IP reached the host: %q", hello)
	}
	// Inside the VPC the private task is reachable through the default group's self rule.
	serveTCP(t, priv, "10.1.2.5:80", "priv")
	if _, err := reach(pub, "10.1.2.5:80", allowWait); err != nil {
		t.Errorf("public -> private task inside the VPC: %v", err)
	}
	// The host cannot open connections into the VPC (no route, and the router drops them).
	if _, err := reach("", "10.1.2.5:80", denyWait); err == nil {
		t.Error("host reached a task")
	}
	// Routing the private subnet to a NAT gateway (a route table change) lets it out.
	vpc.Subnets[1].NAT = true
	mustEnsure(t, p, vpc)
	if _, err := reach(priv, internet, allowWait); err != nil {
		t.Errorf("after the route change: %v", err)
	}
	// A detached public ENI leaves the egress set.
	if err := p.Detach(t.Context(), "eni-pub"); err != nil {
		t.Fatal(err)
	}
	if rules := nftList(t, p.vpcNetns(vpc.ID)); strings.Contains(rules, "10.1.1.5") {
		t.Errorf("detached public ENI still in the rules:\n%s", rules)
	}
}

// TestDialFromVPC dials a task from inside its VPC's router, as the load balancer will; the
// task's groups must allow the gateway's address like any other peer.
func TestDialFromVPC(t *testing.T) {
	t.Parallel()
	p, _ := newPlane(t)
	vpc := matrixVPC("vpc-dial")
	mustEnsure(t, p, vpc)
	task := mustAttach(t, p, ENI{ID: "eni-t", VPCID: vpc.ID, SubnetID: "subnet-a", IP: ip("10.0.1.30"), SecurityGroups: []string{"sg-t"}})
	serveTCP(t, task, "10.0.1.30:8080", "target")
	dial := func() error {
		ctx, cancel := context.WithTimeout(t.Context(), denyWait)
		defer cancel()
		c, err := p.DialContext(ctx, vpc.ID, "tcp", "10.0.1.30:8080")
		if err == nil {
			c.Close()
		}
		return err
	}
	if err := dial(); err == nil {
		t.Fatal("router reached a task whose groups allow nothing")
	}
	allow := SecurityGroup{ID: "sg-t", Ingress: []Permission{{Protocol: "tcp", FromPort: 8080, ToPort: 8080, CIDRs: []netip.Prefix{prefix("10.0.1.1/32")}}}}
	if err := p.ApplySecurityGroups(t.Context(), vpc.ID, []SecurityGroup{allow}, nil, map[netip.Addr][]string{ip("10.0.1.30"): {"sg-t"}}); err != nil {
		t.Fatal(err)
	}
	if err := dial(); err != nil {
		t.Fatalf("dial after allowing the gateway: %v", err)
	}
}

// TestNoLeaks attaches and detaches 200 tasks and checks nothing is left: no veth, namespace,
// route, nftables rule or set element, or state file.
func TestNoLeaks(t *testing.T) {
	t.Parallel()
	p, cfg := newPlane(t)
	ctx := t.Context()
	vpc := matrixVPC("vpc-leak")
	mustEnsure(t, p, vpc)
	def := SecurityGroup{ID: "sg-a", Ingress: []Permission{{Protocol: "-1", Groups: []string{"sg-a"}}}, Egress: []Permission{allEgress}}
	if err := p.ApplySecurityGroups(ctx, vpc.ID, []SecurityGroup{def}, nil, nil); err != nil {
		t.Fatal(err)
	}
	// A resident task in the same group, as in a service: attaching its peers only adds
	// elements to the rules.
	mustAttach(t, p, ENI{ID: "eni-resident", VPCID: vpc.ID, SubnetID: "subnet-a", IP: ip("10.0.1.49"), SecurityGroups: []string{"sg-a"}})
	before := routerSnapshot(t, p, vpc.ID)
	var attachTotal time.Duration
	const cycles = 200
	for i := range cycles {
		e := ENI{ID: "eni-leak", VPCID: vpc.ID, SubnetID: "subnet-a", IP: ip("10.0.1.50"), SecurityGroups: []string{"sg-a"}}
		if i%2 == 1 {
			e.ID, e.IP = "eni-leak-odd", ip("10.0.1.51")
		}
		start := time.Now()
		path, err := p.Attach(ctx, e)
		attachTotal += time.Since(start)
		if err != nil {
			t.Fatalf("cycle %d: %v", i, err)
		}
		if i == 0 {
			// The task is really plumbed: it answers the router.
			serveTCP(t, path, "10.0.1.50:80", "leak")
		}
		if err := p.Detach(ctx, e.ID); err != nil {
			t.Fatalf("cycle %d: %v", i, err)
		}
	}
	t.Logf("Attach: %v per task on average over %d (namespace, veth, addresses, routes, rules)", attachTotal/cycles, cycles)
	if after := routerSnapshot(t, p, vpc.ID); after != before {
		t.Errorf("router changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	// Other tests add and remove host links in parallel, so look for ours by name.
	for _, id := range []string{"eni-leak", "eni-leak-odd"} {
		if _, err := netlink.LinkByName(routerLinkName(id)); err == nil {
			t.Errorf("veth %s left in the host namespace", routerLinkName(id))
		}
	}
	for dir, want := range map[string]string{"netns/eni": "eni-resident", "enis": "eni-resident.json"} {
		left, _ := os.ReadDir(filepath.Join(cfg.StateDir, dir))
		if len(left) != 1 || left[0].Name() != want {
			t.Errorf("%s holds %v, want only %s", dir, left, want)
		}
	}
}

// routerSnapshot describes the router namespace: links, routes, the ruleset.
func routerSnapshot(t *testing.T, p *Plane, vpcID string) string {
	t.Helper()
	p.mu.Lock()
	rt := p.vpcs[vpcID]
	p.mu.Unlock()
	var b strings.Builder
	links, err := dumpAgain(rt.nl.LinkList)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range links {
		if strings.HasPrefix(l.Attrs().Name, spareLinkPrefix) {
			continue // made ahead for the next task, whenever spareDelay has passed
		}
		b.WriteString("link " + l.Attrs().Name + "\n")
	}
	routes, err := dumpAgain(func() ([]netlink.Route, error) { return rt.nl.RouteList(nil, netlink.FAMILY_V4) })
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range routes {
		b.WriteString("route " + r.String() + "\n")
	}
	b.WriteString(nftList(t, rt.nsPath))
	return b.String()
}

// TestKeptGroupChains attaches an interface whose group combination no attached interface has
// any more: the router kept that combination's chains (so the attach only adds elements), and
// the new interface meets its groups' rules through them.
func TestKeptGroupChains(t *testing.T) {
	t.Parallel()
	p, _ := newPlane(t)
	vpc := matrixVPC("vpc-kept")
	mustEnsure(t, p, vpc)
	client := ENI{ID: "eni-client", VPCID: vpc.ID, SubnetID: "subnet-b", IP: ip("10.0.2.12"), SecurityGroups: []string{"sg-client"}}
	web := ENI{ID: "eni-web", VPCID: vpc.ID, SubnetID: "subnet-a", IP: ip("10.0.1.10"), SecurityGroups: []string{"sg-web"}}
	clientNS := mustAttach(t, p, client)
	mustAttach(t, p, web)
	members := map[string][]netip.Addr{"sg-web": {web.IP}, "sg-client": {client.IP}}
	eniGroups := map[netip.Addr][]string{web.IP: web.SecurityGroups, client.IP: client.SecurityGroups}
	if err := p.ApplySecurityGroups(t.Context(), vpc.ID, matrixGroups(true), members, eniGroups); err != nil {
		t.Fatal(err)
	}
	if err := p.Detach(t.Context(), web.ID); err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	_, kept := p.vpcs[vpc.ID].combos["sg-web"]
	p.mu.Unlock()
	if !kept {
		t.Fatal("the router did not keep sg-web's chains after its last interface left")
	}
	web3 := ENI{ID: "eni-web3", VPCID: vpc.ID, SubnetID: "subnet-a", IP: ip("10.0.1.14"), SecurityGroups: []string{"sg-web"}}
	web2 := ENI{ID: "eni-web2", VPCID: vpc.ID, SubnetID: "subnet-a", IP: ip("10.0.1.13"), SecurityGroups: []string{"sg-web"}}
	web3NS := mustAttach(t, p, web3)
	web2NS := mustAttach(t, p, web2)
	serveTCP(t, web3NS, "10.0.1.14:8080", "web3")
	if _, err := reach(web2NS, "10.0.1.14:8080", allowWait); err != nil {
		t.Errorf("web2 -> web3:8080 (sg-web allows its subnet): %v", err)
	}
	if hello, err := reach(clientNS, "10.0.1.14:8080", denyWait); err == nil {
		t.Errorf("client -> web3:8080 connected (%q): sg-web allows only 10.0.1.0/24", hello)
	}
}
