package dns

import (
	"net/netip"
	"slices"
	"testing"
)

// TestNames checks the extra names (load balancers') in both modes: a VPC's resolver answers
// them before its zone and forwards the rest; the host's names-only resolver refuses the rest.
func TestNames(t *testing.T) {
	lb := []netip.Addr{netip.MustParseAddr("10.1.1.9"), netip.MustParseAddr("10.1.2.9")}
	names := func(name string) ([]netip.Addr, bool) {
		if name == "internal-web-1.us-east-1.elb.amazonaws.com" {
			return lb, true
		}
		return nil, false
	}
	vpcSrv := &Server{VPC: vpc, Names: names} // no upstreams: forwarded names get SERVFAIL
	hostSrv := &Server{Names: names, NamesOnly: true}
	for _, tc := range []struct {
		name  string
		srv   *Server
		q     string
		qtype uint16
		rcode int
		addrs []netip.Addr
	}{
		{"vpc lb name", vpcSrv, "Internal-Web-1.us-east-1.elb.amazonaws.com.", TypeA, RcodeSuccess, lb},
		{"vpc lb name aaaa", vpcSrv, "internal-web-1.us-east-1.elb.amazonaws.com", TypeAAAA, RcodeSuccess, nil},
		{"vpc private zone still", vpcSrv, "ip-10-1-0-5.ec2.internal", TypeA, RcodeSuccess, []netip.Addr{netip.MustParseAddr("10.1.0.5")}},
		{"vpc other name forwarded", vpcSrv, "example.com", TypeA, RcodeServFail, nil},
		{"host lb name", hostSrv, "internal-web-1.us-east-1.elb.amazonaws.com", TypeA, RcodeSuccess, lb},
		{"host other name refused", hostSrv, "example.com", TypeA, RcodeRefused, nil},
		{"host private zone refused", hostSrv, "ip-10-1-0-5.ec2.internal", TypeA, RcodeRefused, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := parseAnswer(t, tc.srv.Answer(t.Context(), "udp", query(tc.q, tc.qtype)))
			if a.rcode != tc.rcode || !slices.Equal(a.addrs, tc.addrs) || a.id != 0x1234 {
				t.Fatalf("rcode %d addrs %v id %#x; want rcode %d addrs %v", a.rcode, a.addrs, a.id, tc.rcode, tc.addrs)
			}
		})
	}
}

func TestTable(t *testing.T) {
	var tb Table
	if _, ok := tb.Lookup("a.example"); ok {
		t.Fatal("empty table knows a name")
	}
	a := netip.MustParseAddr("127.77.0.5")
	tb.Set(map[string][]netip.Addr{"Web-1.us-east-1.ELB.amazonaws.com.": {a}})
	if got, ok := tb.Lookup("web-1.us-east-1.elb.amazonaws.com"); !ok || !slices.Equal(got, []netip.Addr{a}) {
		t.Fatalf("lookup: %v %v", got, ok)
	}
	tb.Set(nil)
	if _, ok := tb.Lookup("web-1.us-east-1.elb.amazonaws.com"); ok {
		t.Fatal("name kept after Set(nil)")
	}
}
