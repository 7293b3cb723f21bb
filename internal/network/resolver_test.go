package network

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/network/netns"
)

// lookupA asks the resolver at server (from inside ns, over network) for name's A record and
// returns the rcode and addresses.
func lookupA(ns, network, server, name string, timeout time.Duration) (int, []netip.Addr, error) {
	q := []byte{0xBE, 0xEF, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0}
	for _, l := range strings.Split(name, ".") {
		q = append(append(q, byte(len(l))), l...)
	}
	q = append(q, 0, 0, 1, 0, 1)
	var c net.Conn
	if err := netns.Do(ns, func() error {
		var err error
		c, err = net.DialTimeout(network, server, timeout)
		return err
	}); err != nil {
		return 0, nil, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	if network == "tcp" {
		q = append(binary.BigEndian.AppendUint16(nil, uint16(len(q))), q...)
	}
	if _, err := c.Write(q); err != nil {
		return 0, nil, err
	}
	buf := make([]byte, 1500)
	n, err := c.Read(buf)
	if err != nil {
		return 0, nil, err
	}
	b := buf[:n]
	if network == "tcp" {
		b = b[2:]
	}
	if len(b) < 12 || binary.BigEndian.Uint16(b) != 0xBEEF {
		return 0, nil, fmt.Errorf("bad answer %x", b)
	}
	rcode := int(b[3] & 0xF)
	// The answers follow the echoed question; each is a 2-byte name pointer, type, class, ttl,
	// rdlength and rdata.
	off := 12 + len(q) - 12
	if network == "tcp" {
		off -= 2
	}
	var addrs []netip.Addr
	for range binary.BigEndian.Uint16(b[6:]) {
		if off+16 > len(b) {
			return rcode, addrs, fmt.Errorf("short answer %x", b)
		}
		addrs = append(addrs, netip.AddrFrom4([4]byte(b[off+12:off+16])))
		off += 16
	}
	return rcode, addrs, nil
}

// TestResolver: every task of a VPC reaches the resolver at the VPC's base + 2, whatever its
// groups, over UDP and TCP; it answers the VPC's private names with their addresses and nothing
// for addresses outside the VPC; forwarding to an upstream nobody answers fails within the
// timeout; two VPCs with the same CIDR each have their own; DeleteVPC stops it and a new
// EnsureVPC starts it again.
func TestResolver(t *testing.T) {
	t.Parallel()
	p, _ := newPlane(t)
	conf := filepath.Join(t.TempDir(), "resolv.conf")
	if err := os.WriteFile(conf, []byte("nameserver 192.0.2.1\n"), 0o644); err != nil { // TEST-NET: nobody answers
		t.Fatal(err)
	}
	p.resolvConf = conf
	vpcA := VPC{ID: "vpc-dns-a", CIDR: prefix("10.1.0.0/16"), Subnets: []Subnet{{ID: "subnet-a", CIDR: prefix("10.1.1.0/24")}}}
	vpcB := VPC{ID: "vpc-dns-b", CIDR: prefix("10.1.0.0/16"), Subnets: []Subnet{{ID: "subnet-b", CIDR: prefix("10.1.1.0/24")}}}
	mustEnsure(t, p, vpcA)
	mustEnsure(t, p, vpcB)
	// A group with no rules at all: no egress, no ingress. The resolver is still reachable.
	a := mustAttach(t, p, ENI{ID: "eni-dns-a", VPCID: vpcA.ID, SubnetID: "subnet-a", IP: ip("10.1.1.5"), SecurityGroups: []string{"sg-none"}})
	b := mustAttach(t, p, ENI{ID: "eni-dns-b", VPCID: vpcB.ID, SubnetID: "subnet-b", IP: ip("10.1.1.9")})
	const server = "10.1.0.2:53"
	for _, network := range []string{"udp", "tcp"} {
		for _, tt := range []struct {
			ns, name string
			rcode    int
			want     string
		}{
			{a, "ip-10-1-1-5.ec2.internal", 0, "10.1.1.5"},
			{a, "ip-10-1-1-9.us-west-2.compute.internal", 0, "10.1.1.9"},
			{a, "ip-10-2-0-1.ec2.internal", 3, ""},
			{b, "ip-10-1-1-9.ec2.internal", 0, "10.1.1.9"},
		} {
			rcode, addrs, err := lookupA(tt.ns, network, server, tt.name, allowWait)
			if err != nil || rcode != tt.rcode || (tt.want != "" && (len(addrs) != 1 || addrs[0] != ip(tt.want))) || (tt.want == "" && len(addrs) != 0) {
				t.Errorf("%s %s: rcode %d %v, %v; want rcode %d %s", network, tt.name, rcode, addrs, err, tt.rcode, tt.want)
			}
		}
	}
	start := time.Now()
	rcode, _, err := lookupA(a, "udp", server, "example.com", 5*time.Second)
	if err != nil || rcode != 2 {
		t.Errorf("forwarded to a dead upstream: rcode %d, %v; want SERVFAIL", rcode, err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("SERVFAIL after %s, want about 2s", d)
	}

	if err := p.Detach(t.Context(), "eni-dns-b"); err != nil {
		t.Fatal(err)
	}
	if err := p.DeleteVPC(t.Context(), vpcB.ID); err != nil {
		t.Fatal(err)
	}
	mustEnsure(t, p, vpcB)
	b = mustAttach(t, p, ENI{ID: "eni-dns-b2", VPCID: vpcB.ID, SubnetID: "subnet-b", IP: ip("10.1.1.10")})
	if rcode, addrs, err := lookupA(b, "udp", server, "ip-10-1-1-10.ec2.internal", allowWait); err != nil || rcode != 0 || len(addrs) != 1 {
		t.Errorf("after re-creating the vpc: rcode %d %v, %v", rcode, addrs, err)
	}
	// EnsureVPC again changes nothing and keeps the resolver.
	mustEnsure(t, p, vpcB)
	if rcode, _, err := lookupA(b, "udp", server, "ip-10-1-1-10.ec2.internal", allowWait); err != nil || rcode != 0 {
		t.Errorf("after a second EnsureVPC: rcode %d, %v", rcode, err)
	}
}
