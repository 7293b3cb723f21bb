package dns

import (
	"context"
	"encoding/binary"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// query builds a query for name and qtype with id 0x1234 and RD set.
func query(name string, qtype uint16) []byte {
	b := []byte{0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0}
	for _, l := range strings.Split(strings.TrimSuffix(name, "."), ".") {
		if l == "" {
			continue
		}
		b = append(b, byte(len(l)))
		b = append(b, l...)
	}
	b = append(b, 0)
	b = binary.BigEndian.AppendUint16(b, qtype)
	return binary.BigEndian.AppendUint16(b, ClassIN)
}

// answer is a parsed response: rcode, flags and A records.
type answer struct {
	id    uint16
	flags uint16
	rcode int
	addrs []netip.Addr
	name  string
}

func parseAnswer(t *testing.T, b []byte) answer {
	t.Helper()
	if len(b) < headerLen {
		t.Fatalf("response of %d bytes", len(b))
	}
	a := answer{id: binary.BigEndian.Uint16(b), flags: binary.BigEndian.Uint16(b[2:])}
	a.rcode = int(a.flags & 0xF)
	qd, an := binary.BigEndian.Uint16(b[4:]), binary.BigEndian.Uint16(b[6:])
	off := headerLen
	if qd == 1 {
		name, end, err := readName(b, off)
		if err != nil {
			t.Fatal(err)
		}
		a.name, off = name, end+4
	}
	for range an {
		_, end, err := readName(b, off)
		if err != nil {
			t.Fatal(err)
		}
		typ, rdlen := binary.BigEndian.Uint16(b[end:]), int(binary.BigEndian.Uint16(b[end+8:]))
		rd := b[end+10 : end+10+rdlen]
		if typ == TypeA && rdlen == 4 {
			a.addrs = append(a.addrs, netip.AddrFrom4([4]byte(rd)))
		}
		off = end + 10 + rdlen
	}
	if off != len(b) {
		t.Fatalf("response has %d trailing bytes", len(b)-off)
	}
	return a
}

var vpc = netip.MustParsePrefix("10.1.0.0/16")

func TestLookup(t *testing.T) {
	tests := []struct {
		name string
		want Zone
	}{
		{"ip-10-1-0-5.ec2.internal", Zone{Local: true, Addr: netip.MustParseAddr("10.1.0.5")}},
		{"ip-10-1-255-254.eu-west-1.compute.internal", Zone{Local: true, Addr: netip.MustParseAddr("10.1.255.254")}},
		{"ip-10-2-0-5.ec2.internal", Zone{Local: true}},               // outside the vpc
		{"ip-10-1-0-256.ec2.internal", Zone{Local: true}},             // not an address
		{"ip-10-1-0-05.ec2.internal", Zone{Local: true}},              // not canonical
		{"ip-10-1-0.ec2.internal", Zone{Local: true}},                 // three parts
		{"web.ec2.internal", Zone{Local: true}},                       // no such host
		{"a.ip-10-1-0-5.ec2.internal", Zone{Local: true}},             // deeper
		{"ec2.internal", Zone{Local: true, Apex: true}},               // the zone
		{"us-west-2.compute.internal", Zone{Local: true, Apex: true}}, // a zone
		{"ip-10-1-0-5.a.b.compute.internal", Zone{Local: true}},
		{"example.com", Zone{}},
		{"ip-10-1-0-5.example.com", Zone{}},
		{"", Zone{}},
	}
	for _, tt := range tests {
		if got := Lookup(tt.name, vpc); got != tt.want {
			t.Errorf("Lookup(%q) = %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

func TestParseQuery(t *testing.T) {
	q, err := ParseQuery(query("IP-10-1-0-5.EC2.Internal.", TypeA))
	if err != nil {
		t.Fatal(err)
	}
	if q.ID != 0x1234 || !q.RD() || q.Name != "ip-10-1-0-5.ec2.internal" || q.Type != TypeA || q.Class != ClassIN {
		t.Fatalf("ParseQuery = %+v", q)
	}
	// A question whose name ends in a pointer (legal, if odd, in a query).
	b := []byte{0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 'x', 0xC0, 20, 0, 1, 0, 1, 3, 'c', 'o', 'm', 0}
	if q, err := ParseQuery(b); err != nil || q.Name != "x.com" {
		t.Fatalf("compressed: %+v, %v", q, err)
	}
	bad := map[string][]byte{
		"short":       {1, 2, 3},
		"response":    append([]byte{0x12, 0x34, 0x80, 0}, query("a.b", TypeA)[4:]...),
		"two":         append([]byte{0x12, 0x34, 0x01, 0, 0, 2}, query("a.b", TypeA)[6:]...),
		"truncated":   query("a.b", TypeA)[:16],
		"loop":        {0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 12, 0, 1, 0, 1},
		"label type":  {0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0x80, 0, 0, 1, 0, 1},
		"no qtype":    {0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0},
		"status op":   append([]byte{0x12, 0x34, 0x10, 0}, query("a.b", TypeA)[4:]...),
		"label short": {0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 9, 'a'},
	}
	for name, b := range bad {
		if _, err := ParseQuery(b); err == nil {
			t.Errorf("%s: ParseQuery succeeded", name)
		}
	}
}

func TestAnswerLocal(t *testing.T) {
	s := &Server{VPC: vpc}
	ctx := context.Background()
	tests := []struct {
		name  string
		qtype uint16
		rcode int
		addrs []string
	}{
		{"ip-10-1-0-5.ec2.internal", TypeA, RcodeSuccess, []string{"10.1.0.5"}},
		{"ip-10-1-0-5.ec2.internal.", TypeANY, RcodeSuccess, []string{"10.1.0.5"}},
		{"ip-10-1-3-9.us-west-2.compute.internal", TypeA, RcodeSuccess, []string{"10.1.3.9"}},
		{"ip-10-1-0-5.ec2.internal", TypeAAAA, RcodeSuccess, nil}, // exists, no AAAA
		{"ip-10-9-0-5.ec2.internal", TypeA, RcodeNXDomain, nil},   // outside the vpc
		{"nothing.ec2.internal", TypeA, RcodeNXDomain, nil},
		{"ec2.internal", TypeA, RcodeSuccess, nil},
	}
	for _, tt := range tests {
		a := parseAnswer(t, s.Answer(ctx, "udp", query(tt.name, tt.qtype)))
		var want []netip.Addr
		for _, s := range tt.addrs {
			want = append(want, netip.MustParseAddr(s))
		}
		if a.id != 0x1234 || a.rcode != tt.rcode || !slices.Equal(a.addrs, want) || a.flags&flagQR == 0 ||
			a.flags&flagAA == 0 || a.flags&flagRD == 0 || a.name != strings.ToLower(strings.TrimSuffix(tt.name, ".")) {
			t.Errorf("%s type %d: %+v, want rcode %d addrs %v", tt.name, tt.qtype, a, tt.rcode, want)
		}
	}
	if a := parseAnswer(t, s.Answer(ctx, "udp", []byte{0xAB, 0xCD, 1, 0, 0, 1})); a.rcode != RcodeFormErr || a.id != 0xABCD {
		t.Errorf("malformed: %+v, want FORMERR", a)
	}
	if resp := s.Answer(ctx, "udp", append([]byte{0x12, 0x34, 0x80, 0}, query("a.b", TypeA)[4:]...)); resp != nil {
		t.Errorf("a response was answered: %v", resp)
	}
}

// upstream is a fake resolver on 127.0.0.1 that answers every A query with 192.0.2.1, or
// (silent) never answers.
func upstream(t *testing.T, silent bool) string {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			q, err := ParseQuery(buf[:n])
			if err != nil || silent {
				continue
			}
			pc.WriteTo(Response(q, RcodeSuccess, false, 30, netip.MustParseAddr("192.0.2.1")), from)
		}
	}()
	return pc.LocalAddr().String()
}

func TestForward(t *testing.T) {
	ctx := context.Background()
	s := &Server{VPC: vpc, Upstreams: []string{upstream(t, false)}}
	a := parseAnswer(t, s.Answer(ctx, "udp", query("example.com", TypeA)))
	if a.rcode != RcodeSuccess || len(a.addrs) != 1 || a.addrs[0] != netip.MustParseAddr("192.0.2.1") || a.flags&flagAA != 0 {
		t.Fatalf("forwarded: %+v", a)
	}
	// A silent upstream first, then a good one: each gets its share of the timeout, so the
	// answer still comes.
	s = &Server{VPC: vpc, Timeout: time.Second, Upstreams: []string{upstream(t, true), upstream(t, false)}}
	if a := parseAnswer(t, s.Answer(ctx, "udp", query("example.com", TypeA))); a.rcode != RcodeSuccess || len(a.addrs) != 1 {
		t.Fatalf("silent then good upstream: %+v", a)
	}

	for name, ups := range map[string][]string{"silent": {upstream(t, true)}, "none": nil} {
		s := &Server{VPC: vpc, Timeout: 300 * time.Millisecond, Upstreams: ups}
		start := time.Now()
		a := parseAnswer(t, s.Answer(ctx, "udp", query("example.com", TypeA)))
		if a.rcode != RcodeServFail || a.id != 0x1234 {
			t.Errorf("%s upstream: %+v, want SERVFAIL", name, a)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("%s upstream: answered after %s, want about the 300ms timeout", name, d)
		}
	}
}

func TestServeUDPAndTCP(t *testing.T) {
	s := &Server{VPC: vpc, Upstreams: []string{upstream(t, false)}}
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.ServeUDP(pc) }()
	c, err := net.Dial("udp4", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	for _, name := range []string{"ip-10-1-2-3.ec2.internal", "example.com"} {
		c.Write(query(name, TypeA))
		buf := make([]byte, 1500)
		n, err := c.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		if a := parseAnswer(t, buf[:n]); a.rcode != 0 || len(a.addrs) != 1 {
			t.Errorf("udp %s: %+v", name, a)
		}
	}
	pc.Close()
	if err := <-done; err != nil {
		t.Fatalf("ServeUDP after close: %v", err)
	}

	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go s.ServeTCP(ln)
	tc, err := net.Dial("tcp4", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	tc.SetDeadline(time.Now().Add(5 * time.Second))
	q := query("ip-10-1-2-3.ec2.internal", TypeA)
	tc.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(q))), q...))
	resp, err := readTCP(tc)
	if err != nil {
		t.Fatal(err)
	}
	if a := parseAnswer(t, resp); a.rcode != 0 || len(a.addrs) != 1 || a.addrs[0] != netip.MustParseAddr("10.1.2.3") {
		t.Errorf("tcp: %+v", a)
	}
}

func TestTruncate(t *testing.T) {
	q, _ := ParseQuery(query("example.com", TypeA))
	var addrs []netip.Addr
	for i := range 40 {
		addrs = append(addrs, netip.AddrFrom4([4]byte{192, 0, 2, byte(i)}))
	}
	big := Response(q, RcodeSuccess, false, 30, addrs...)
	if len(big) <= maxUDP {
		t.Fatalf("response of %d bytes is not big", len(big))
	}
	a := parseAnswer(t, truncate(big))
	if a.flags&flagTC == 0 || len(a.addrs) != 0 || a.name != "example.com" || a.id != 0x1234 {
		t.Fatalf("truncated: %+v", a)
	}
}

func TestUpstreams(t *testing.T) {
	path := filepath.Join(t.TempDir(), "resolv.conf")
	os.WriteFile(path, []byte("# comment\nsearch example.com\nnameserver 10.255.255.53\nnameserver 10.1.0.2\nnameserver fe80::1%eth0\nnameserver bogus\n"), 0o644)
	got := Upstreams(path, func(a netip.Addr) bool { return a == netip.MustParseAddr("10.1.0.2") })
	if want := []string{"10.255.255.53:53", "[fe80::1]:53"}; !slices.Equal(got, want) {
		t.Fatalf("Upstreams = %v, want %v", got, want)
	}
	if got := Upstreams(filepath.Join(t.TempDir(), "missing"), nil); got != nil {
		t.Fatalf("missing file: %v", got)
	}
}
