package nft

import (
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func mustAddrs(ss ...string) []netip.Addr {
	out := make([]netip.Addr, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParseAddr(s)
	}
	return out
}

func pfx(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

// allEgress is AWS's default egress rule.
var allEgress = Permission{Protocol: "-1", CIDRs: pfx("0.0.0.0/0")}

// goldenSpecs are the specs whose rulesets live in testdata/<name>.nft. Each golden file is the
// `nft -f` script that builds the same table: `nft -f testdata/<name>.nft` in an empty
// namespace gives what Apply gives (TestApplyMatchesNftScript checks this on the kernel).
var goldenSpecs = map[string]Spec{
	// nft -f testdata/empty.nft: no groups, no interfaces, a private-only VPC: everything
	// forwarded is dropped, nothing is masqueraded.
	"empty": {Uplink: "up0"},
	// nft -f testdata/web.nft: a NAT subnet and two interfaces with a public IP in a public
	// subnet (leaving the VPC), the VPC's resolver at 10.0.0.2; "web" takes tcp 80 and 8000-8100 from anywhere
	// and ssh from 10.0.0.0/16, "app" takes tcp 5432 from members of web and any icmp echo
	// from them, udp 53 out only; one interface with both groups, one with a group nobody
	// defined, one with none.
	"web": {
		Uplink:        "up0",
		EgressSubnets: pfx("10.0.3.0/24", "10.0.0.0/24"),
		EgressENIs:    mustAddrs("10.0.1.6", "10.0.1.5", "10.0.1.6"),
		Resolver:      netip.MustParseAddr("10.0.0.2"),
		VPC:           netip.MustParsePrefix("10.0.0.0/16"),
		Groups: []SecurityGroup{
			{ID: "sg-web", Ingress: []Permission{
				{Protocol: "tcp", FromPort: 80, ToPort: 80, CIDRs: pfx("0.0.0.0/0")},
				{Protocol: "tcp", FromPort: 8000, ToPort: 8100, CIDRs: pfx("0.0.0.0/0")},
				{Protocol: "6", FromPort: 22, ToPort: 22, CIDRs: pfx("10.0.0.0/16", "192.168.1.7/32")},
			}, Egress: []Permission{allEgress}},
			{ID: "sg-app", Ingress: []Permission{
				{Protocol: "tcp", FromPort: 5432, ToPort: 5432, Groups: []string{"sg-web"}},
				{Protocol: "icmp", FromPort: 8, ToPort: -1, Groups: []string{"sg-web", "sg-app"}},
				{Protocol: "udp", FromPort: 0, ToPort: 65535, CIDRs: pfx("10.0.9.0/24")},
			}, Egress: []Permission{{Protocol: "udp", FromPort: 53, ToPort: 53, CIDRs: pfx("10.0.0.2/32")}}},
		},
		Members: map[string][]netip.Addr{
			"sg-web": mustAddrs("10.0.1.6", "10.0.1.5", "10.0.1.5"),
			"sg-app": mustAddrs("10.0.1.7"),
		},
		ENIGroups: map[netip.Addr][]string{
			netip.MustParseAddr("10.0.1.5"): {"sg-web"},
			netip.MustParseAddr("10.0.1.6"): {"sg-web"},
			netip.MustParseAddr("10.0.1.7"): {"sg-app", "sg-web", "sg-app"},
			netip.MustParseAddr("10.0.1.8"): {"sg-ghost"},
			netip.MustParseAddr("10.0.1.9"): nil,
		},
	},
}

func TestBuildGolden(t *testing.T) {
	for name, spec := range goldenSpecs {
		t.Run(name, func(t *testing.T) {
			rs, err := Build(spec)
			if err != nil {
				t.Fatal(err)
			}
			got := rs.Render()
			path := filepath.Join("testdata", name+".nft")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("Build(%s).Render() differs from %s (run with -update to accept):\n%s", name, path, got)
			}
		})
	}
}

func TestBuildDeterministic(t *testing.T) {
	a, _ := Build(goldenSpecs["web"])
	for range 20 {
		b, _ := Build(goldenSpecs["web"])
		if a.Render() != b.Render() {
			t.Fatal("Build is not deterministic")
		}
	}
}

func TestBuildErrors(t *testing.T) {
	tests := []struct {
		name string
		perm Permission
		want string
	}{
		{"ipv6 cidr", Permission{Protocol: "tcp", FromPort: 1, ToPort: 2, CIDRs: pfx("::/0")}, "only IPv4"},
		{"bad protocol", Permission{Protocol: "sctpx", CIDRs: pfx("0.0.0.0/0")}, "protocol"},
		{"reversed ports", Permission{Protocol: "tcp", FromPort: 90, ToPort: 80, CIDRs: pfx("0.0.0.0/0")}, "port range"},
		{"bad icmp type", Permission{Protocol: "icmp", FromPort: 300, ToPort: -1, CIDRs: pfx("0.0.0.0/0")}, "icmp type"},
		{"bad group id", Permission{Protocol: "-1", Groups: []string{"sg x"}}, "security group id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Build(Spec{Uplink: "up0", Groups: []SecurityGroup{{ID: "sg-1", Ingress: []Permission{tt.perm}}}})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

// TestRuleText pins the text of each match and verdict kind, each against the nft syntax it
// stands for.
func TestRuleText(t *testing.T) {
	tests := []struct {
		rule Rule
		want string
	}{
		{Rule{Matches: []Match{ctState{ctEstablished | ctRelated}}, Verdict: accept{}}, "ct state established,related accept"},
		{Rule{Matches: []Match{ifName{out: true, neq: true, name: "up0"}}, Verdict: drop{}}, `oifname != "up0" drop`},
		{Rule{Matches: []Match{addr{dst: true, prefix: netip.MustParsePrefix("10.0.0.5/32")}}, Verdict: goTo{"deliver"}}, "ip daddr 10.0.0.5 goto deliver"},
		{Rule{Matches: []Match{addr{prefix: netip.MustParsePrefix("0.0.0.0/0")}}, Verdict: accept{}}, "meta nfproto ipv4 accept"},
		{Rule{Matches: []Match{portRange{17, 53, 53}}, Verdict: accept{}}, "udp dport 53 accept"},
		{Rule{Matches: []Match{icmpType{3, 4}}, Verdict: accept{}}, "icmp type 3 icmp code 4 accept"},
		{Rule{Matches: []Match{l4proto{47}}, Verdict: jump{"x"}}, "meta l4proto 47 jump x"},
		{Rule{Verdict: vmap{m: "eni_out"}}, "ip saddr vmap @eni_out"},
	}
	for _, tt := range tests {
		if got := tt.rule.Text(); got != tt.want {
			t.Errorf("Text() = %q, want %q", got, tt.want)
		}
	}
}
