package nft

import (
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// SecurityGroup is one group's rules, in AWS's terms.
type SecurityGroup struct {
	ID      string
	Ingress []Permission
	Egress  []Permission
}

// Permission is one AWS IpPermission: a protocol, a port range, and the peers it allows (by CIDR
// or by security group membership).
type Permission struct {
	// Protocol is "-1" (all), "tcp", "udp", "icmp" or an IP protocol number.
	Protocol string
	// FromPort and ToPort bound the tcp/udp destination port range (-1 or 0..65535 for all);
	// for icmp they are the type and the code, -1 meaning any.
	FromPort, ToPort int
	CIDRs            []netip.Prefix
	Groups           []string
}

// Spec is everything the router of one VPC enforces.
type Spec struct {
	// Uplink is the router's interface towards the host.
	Uplink string
	// EgressSubnets may leave through the uplink whatever the interface (subnets behind a NAT
	// gateway); EgressENIs may leave on their own account (interfaces with a public IP in a
	// subnet routed to an internet gateway). Their traffic is masqueraded to the uplink's
	// address. Everything else stays inside the VPC.
	EgressSubnets []netip.Prefix
	EgressENIs    []netip.Addr
	// Resolver, when valid, is the VPC's DNS resolver on the router (the VPC's base + 2):
	// udp and tcp 53 to it from addresses of VPC are accepted whatever the security groups.
	Resolver netip.Addr
	VPC      netip.Prefix
	Groups   []SecurityGroup
	// Members holds each group's member addresses, for rules that name a group as the peer.
	Members map[string][]netip.Addr
	// ENIGroups holds each attached interface's groups.
	ENIGroups map[netip.Addr][]string
	// Combos are group combinations that get chains even while no interface has them: a router
	// keeps the chains of the combinations its interfaces had, so that attaching another
	// interface with one only adds set and map elements (see Delta).
	Combos [][]string
}

// TableName is the table Build produces; the router namespace belongs to us, so one name will do.
const TableName = "gantry"

// Names used in the ruleset.
const (
	mapIngress = "eni_in"
	mapEgress  = "eni_out"
	chainDst   = "deliver"
	chainDeny  = "eni_deny"
	// setEgress holds EgressENIs. Its name has an underscore, which no group id has.
	setEgress = "eni_egress"
)

var idPattern = regexp.MustCompile(`^[A-Za-z0-9-]{1,100}$`)

// Build returns the ruleset for spec. Packet path for a new connection from a task:
//
//	forward: ip saddr vmap @eni_out -> eni_out_<groups>: jump sg_out_<g>... ; drop
//	         sg_out_<g>: <peer> <proto> goto deliver  (an allowing egress rule)
//	deliver: ip daddr vmap @eni_in  -> eni_in_<groups>: jump sg_in_<g>... ; drop
//	         sg_in_<g>: <peer> <proto> accept
//	         then, for destinations outside the VPC: oifname <uplink> ip saddr <egress subnet> accept;
//	         oifname <uplink> ip saddr @eni_egress accept; drop
//	input:   (the router's own services) ip saddr <vpc> ip daddr <resolver> udp|tcp dport 53 accept;
//	         iifname <uplink> drop; ip saddr vmap @eni_out (a task to a local interface address)
//	output:  ip saddr vmap @eni_out (a local interface address: a load balancer node);
//	         ip daddr vmap @eni_in
//
// Established and related packets are accepted first, so replies always pass and rule changes
// cut only new connections. The router's own traffic to a task (RunInVPC) meets the task's
// ingress rules too, in the output hook.
func Build(spec Spec) (*Ruleset, error) {
	if spec.Uplink == "" {
		return nil, errors.New("uplink interface name is required")
	}
	groups := map[string]SecurityGroup{}
	for _, g := range spec.Groups {
		if !idPattern.MatchString(g.ID) {
			return nil, fmt.Errorf("security group id %q: must match %s", g.ID, idPattern)
		}
		groups[g.ID] = g
	}
	// Every group an interface uses gets chains, defined or not (an undefined group allows nothing).
	combos := map[string][]string{}
	addCombo := func(combo []string) error {
		key, gs := Combo(combo)
		for _, id := range gs {
			if !idPattern.MatchString(id) {
				return fmt.Errorf("security group id %q: must match %s", id, idPattern)
			}
			if _, ok := groups[id]; !ok {
				groups[id] = SecurityGroup{ID: id}
			}
		}
		combos[key] = gs
		return nil
	}
	for ip, gs := range spec.ENIGroups {
		if !ip.Is4() {
			return nil, fmt.Errorf("interface address %s: only IPv4 is supported", ip)
		}
		if err := addCombo(gs); err != nil {
			return nil, err
		}
	}
	for _, gs := range spec.Combos {
		if err := addCombo(gs); err != nil {
			return nil, err
		}
	}
	rs := &Ruleset{Table: TableName}
	rs.Chains = baseChains(spec)
	referenced := map[string]bool{}
	for _, id := range slices.Sorted(maps.Keys(groups)) {
		in, out, err := groupChains(groups[id], referenced)
		if err != nil {
			return nil, fmt.Errorf("security group %s: %w", id, err)
		}
		rs.Chains = append(rs.Chains, in, out)
	}
	for _, key := range slices.Sorted(maps.Keys(combos)) {
		if key == "" {
			continue
		}
		in := Chain{Name: comboChain("in", key)}
		out := Chain{Name: comboChain("out", key)}
		for _, id := range combos[key] {
			in.Rules = append(in.Rules, Rule{Verdict: jump{"sg_in_" + id}})
			out.Rules = append(out.Rules, Rule{Verdict: jump{"sg_out_" + id}})
		}
		in.Rules = append(in.Rules, Rule{Verdict: drop{}})
		out.Rules = append(out.Rules, Rule{Verdict: drop{}})
		rs.Chains = append(rs.Chains, in, out)
	}
	rs.Chains = append(rs.Chains, Chain{Name: chainDeny, Rules: []Rule{{Verdict: drop{}}}})
	for _, ip := range spec.EgressENIs {
		if !ip.Is4() {
			return nil, fmt.Errorf("egress interface address %s: only IPv4 is supported", ip)
		}
	}
	rs.Sets = append(rs.Sets, Set{Name: setEgress,
		Elements: slices.Compact(slices.SortedFunc(slices.Values(spec.EgressENIs), netip.Addr.Compare))})
	for _, id := range slices.Sorted(maps.Keys(referenced)) {
		members := slices.Compact(slices.SortedFunc(slices.Values(spec.Members[id]), netip.Addr.Compare))
		rs.Sets = append(rs.Sets, Set{Name: id, Elements: members})
	}
	rs.Maps = interfaceMaps(spec.ENIGroups)
	return rs, nil
}

// Combo is a combination of security groups in its one spelling: the sorted, distinct ids, and
// the key that names its chains.
func Combo(groups []string) (key string, ids []string) {
	ids = slices.Compact(slices.Sorted(slices.Values(groups)))
	return strings.Join(ids, "_"), ids
}

func comboChain(dir, key string) string {
	if key == "" {
		return chainDeny
	}
	return "eni_" + dir + "_" + key
}

func interfaceMaps(eniGroups map[netip.Addr][]string) []VMap {
	in, out := VMap{Name: mapIngress}, VMap{Name: mapEgress}
	for _, ip := range slices.SortedFunc(maps.Keys(eniGroups), netip.Addr.Compare) {
		key, _ := Combo(eniGroups[ip])
		in.Elements = append(in.Elements, VMapElement{Key: ip, Chain: comboChain("in", key)})
		out.Elements = append(out.Elements, VMapElement{Key: ip, Chain: comboChain("out", key)})
	}
	return []VMap{in, out}
}

func baseChains(spec Spec) []Chain {
	established := Rule{Matches: []Match{ctState{ctEstablished | ctRelated}}, Verdict: accept{}}
	invalid := Rule{Matches: []Match{ctState{ctInvalid}}, Verdict: drop{}}
	fromUplink := ifName{name: spec.Uplink}
	toUplink := ifName{out: true, name: spec.Uplink}
	dst := Chain{Name: chainDst, Rules: []Rule{{Verdict: vmap{dst: true, m: mapIngress}}}}
	nat := Chain{Name: "postrouting", Hook: &Hook{Type: "nat", Hook: "postrouting", Priority: 100, Policy: "accept"}}
	for _, p := range slices.SortedFunc(slices.Values(spec.EgressSubnets), netip.Prefix.Compare) {
		src := addr{prefix: p.Masked()}
		dst.Rules = append(dst.Rules, Rule{Matches: []Match{toUplink, src}, Verdict: accept{}})
		nat.Rules = append(nat.Rules, Rule{Matches: []Match{toUplink, src}, Verdict: masquerade{}})
	}
	egress := addrSet{set: setEgress}
	dst.Rules = append(dst.Rules, Rule{Matches: []Match{toUplink, egress}, Verdict: accept{}}, Rule{Verdict: drop{}})
	nat.Rules = append(nat.Rules, Rule{Matches: []Match{toUplink, egress}, Verdict: masquerade{}})
	input := []Rule{
		established, invalid,
		{Matches: []Match{ifName{name: "lo"}}, Verdict: accept{}},
		{Matches: []Match{l4proto{1}}, Verdict: accept{}},
	}
	if spec.Resolver.Is4() && spec.VPC.IsValid() {
		for _, proto := range []uint8{17, 6} {
			input = append(input, Rule{Matches: []Match{addr{prefix: spec.VPC.Masked()},
				addr{dst: true, prefix: netip.PrefixFrom(spec.Resolver, 32)}, portRange{proto: proto, from: 53, to: 53}},
				Verdict: accept{}})
		}
	}
	// Anything else for the router itself comes from a task to a local interface address (a load
	// balancer node's): the task's egress rules, then the node's ingress rules, as if forwarded.
	// Addresses that are no interface's (the gateways) meet no ingress map entry and are dropped.
	input = append(input, Rule{Matches: []Match{fromUplink}, Verdict: drop{}}, Rule{Verdict: vmap{m: mapEgress}})
	return []Chain{
		{Name: "forward", Hook: &Hook{Type: "filter", Hook: "forward", Policy: "drop"}, Rules: []Rule{
			established, invalid,
			{Matches: []Match{fromUplink}, Verdict: drop{}},
			{Verdict: vmap{m: mapEgress}},
		}},
		// The router's own services: the VPC's resolver (the task metadata endpoint will join),
		// and local interface addresses (load balancer nodes).
		{Name: "input", Hook: &Hook{Type: "filter", Hook: "input", Policy: "drop"}, Rules: input},
		// The router's own connections: from a local interface address (a load balancer node
		// dialing a target) they meet that interface's egress rules and then the destination's
		// ingress rules; from other addresses (the gateways), the destination's ingress rules.
		{Name: "output", Hook: &Hook{Type: "filter", Hook: "output", Policy: "accept"}, Rules: []Rule{
			established,
			{Verdict: vmap{m: mapEgress}},
			{Verdict: vmap{dst: true, m: mapIngress}},
		}},
		nat,
		dst,
	}
}

// groupChains returns sg_in_<id> and sg_out_<id>, noting the groups its rules name as peers.
func groupChains(g SecurityGroup, referenced map[string]bool) (in, out Chain, err error) {
	in, out = Chain{Name: "sg_in_" + g.ID}, Chain{Name: "sg_out_" + g.ID}
	for i, p := range g.Ingress {
		rules, err := permissionRules(p, false, accept{}, referenced)
		if err != nil {
			return in, out, fmt.Errorf("ingress rule %d: %w", i, err)
		}
		in.Rules = append(in.Rules, rules...)
	}
	for i, p := range g.Egress {
		rules, err := permissionRules(p, true, goTo{chainDst}, referenced)
		if err != nil {
			return in, out, fmt.Errorf("egress rule %d: %w", i, err)
		}
		out.Rules = append(out.Rules, rules...)
	}
	return in, out, nil
}

// permissionRules returns one rule per peer of p; peers are sources for ingress (dst false)
// and destinations for egress.
func permissionRules(p Permission, dst bool, v Verdict, referenced map[string]bool) ([]Rule, error) {
	proto, err := protoMatches(p)
	if err != nil {
		return nil, err
	}
	var rules []Rule
	for _, c := range p.CIDRs {
		if !c.IsValid() || !c.Addr().Is4() {
			return nil, fmt.Errorf("cidr %s: only IPv4 is supported", c)
		}
		rules = append(rules, Rule{Matches: append([]Match{addr{dst: dst, prefix: c.Masked()}}, proto...), Verdict: v})
	}
	for _, id := range p.Groups {
		if !idPattern.MatchString(id) {
			return nil, fmt.Errorf("security group id %q: must match %s", id, idPattern)
		}
		referenced[id] = true
		rules = append(rules, Rule{Matches: append([]Match{addrSet{dst: dst, set: id}}, proto...), Verdict: v})
	}
	return rules, nil
}

func protoMatches(p Permission) ([]Match, error) {
	var n int
	switch strings.ToLower(p.Protocol) {
	case "-1", "all", "":
		return nil, nil
	case "tcp":
		n = 6
	case "udp":
		n = 17
	case "icmp":
		n = 1
	default:
		var err error
		if n, err = strconv.Atoi(p.Protocol); err != nil || n < 0 || n > 255 {
			return nil, fmt.Errorf("protocol %q: want -1, tcp, udp, icmp or a number 0-255", p.Protocol)
		}
	}
	switch n {
	case 6, 17:
		from, to := p.FromPort, p.ToPort
		if from == -1 && to == -1 || from == 0 && to == 65535 {
			return []Match{l4proto{uint8(n)}}, nil
		}
		if from < 0 || to > 65535 || from > to {
			return nil, fmt.Errorf("port range %d-%d: want 0 <= from <= to <= 65535", from, to)
		}
		return []Match{portRange{proto: uint8(n), from: uint16(from), to: uint16(to)}}, nil
	case 1:
		if p.FromPort == -1 {
			return []Match{l4proto{1}}, nil
		}
		if p.FromPort < 0 || p.FromPort > 255 || p.ToPort < -1 || p.ToPort > 255 {
			return nil, fmt.Errorf("icmp type %d code %d: want 0-255 (or -1 for any)", p.FromPort, p.ToPort)
		}
		return []Match{icmpType{typ: p.FromPort, code: p.ToPort}}, nil
	}
	return []Match{l4proto{uint8(n)}}, nil
}
