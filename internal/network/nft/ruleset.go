// Package nft builds a VPC router's nftables ruleset (security groups, egress masquerade) as a
// plain value, renders it as `nft -f` text and applies it in one atomic netlink transaction.
package nft

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Ruleset is one inet table, described completely: applying it replaces whatever table of the
// same name existed, in a single transaction, so a reader never sees half of a change.
type Ruleset struct {
	Table  string
	Sets   []Set
	Maps   []VMap
	Chains []Chain
}

// Set is a named set of IPv4 addresses (the members of a security group).
type Set struct {
	Name     string
	Elements []netip.Addr
}

// VMap is a named verdict map from an IPv4 address to a chain to jump to.
type VMap struct {
	Name     string
	Elements []VMapElement
}

// VMapElement maps Key to "jump Chain".
type VMapElement struct {
	Key   netip.Addr
	Chain string
}

// Hook makes a chain a base chain.
type Hook struct {
	Type     string // "filter" or "nat"
	Hook     string // "forward", "input", "output", "postrouting"
	Priority int
	Policy   string // "accept" or "drop"
}

// Chain is a base chain (Hook set) or a regular one.
type Chain struct {
	Name  string
	Hook  *Hook
	Rules []Rule
}

// Rule is a list of matches, all of which must hold, and a verdict.
type Rule struct {
	Matches []Match
	Verdict Verdict
}

// Match is one condition of a rule. The concrete types are this package's own.
type Match interface{ text() string }

// Verdict is what happens when a rule matches.
type Verdict interface{ text() string }

type (
	// ctState matches the connection tracking state against a set of state bits.
	ctState struct{ bits uint32 }
	// ifName matches the input or output interface name, or its negation.
	ifName struct {
		out, neq bool
		name     string
	}
	// addr matches the IPv4 source or destination against a prefix; /0 matches any IPv4 packet.
	addr struct {
		dst    bool
		prefix netip.Prefix
	}
	// addrSet matches the IPv4 source or destination against a named set.
	addrSet struct {
		dst bool
		set string
	}
	// l4proto matches the transport protocol number.
	l4proto struct{ proto uint8 }
	// portRange matches a tcp or udp destination port range (and implies the protocol).
	portRange struct {
		proto    uint8
		from, to uint16
	}
	// icmpType matches an ICMP type and, when code >= 0, code (and implies the protocol).
	icmpType struct{ typ, code int }
)

const (
	ctEstablished = 2
	ctRelated     = 4
	ctInvalid     = 1
)

type (
	accept     struct{}
	drop       struct{}
	masquerade struct{}
	jump       struct{ chain string }
	goTo       struct{ chain string }
	// vmap looks the IPv4 source or destination up in a verdict map; no verdict if absent.
	vmap struct {
		dst bool
		m   string
	}
)

func (c ctState) text() string {
	var names []string
	for _, s := range []struct {
		bit  uint32
		name string
	}{{ctInvalid, "invalid"}, {ctEstablished, "established"}, {ctRelated, "related"}} {
		if c.bits&s.bit != 0 {
			names = append(names, s.name)
		}
	}
	return "ct state " + strings.Join(names, ",")
}

func (m ifName) text() string {
	s := "iifname "
	if m.out {
		s = "oifname "
	}
	if m.neq {
		s += "!= "
	}
	return s + strconv.Quote(m.name)
}

func field(dst bool) string {
	if dst {
		return "ip daddr "
	}
	return "ip saddr "
}

func (m addr) text() string {
	switch m.prefix.Bits() {
	case 0:
		return "meta nfproto ipv4"
	case 32:
		return field(m.dst) + m.prefix.Addr().String()
	}
	return field(m.dst) + m.prefix.String()
}

func (m addrSet) text() string { return field(m.dst) + "@" + m.set }

var protoNames = map[uint8]string{1: "icmp", 6: "tcp", 17: "udp"}

func protoName(p uint8) string {
	if n, ok := protoNames[p]; ok {
		return n
	}
	return strconv.Itoa(int(p))
}

func (m l4proto) text() string { return "meta l4proto " + protoName(m.proto) }

func (m portRange) text() string {
	if m.from == m.to {
		return fmt.Sprintf("%s dport %d", protoName(m.proto), m.from)
	}
	return fmt.Sprintf("%s dport %d-%d", protoName(m.proto), m.from, m.to)
}

func (m icmpType) text() string {
	s := fmt.Sprintf("icmp type %d", m.typ)
	if m.code >= 0 {
		s += fmt.Sprintf(" icmp code %d", m.code)
	}
	return s
}

func (accept) text() string     { return "accept" }
func (drop) text() string       { return "drop" }
func (masquerade) text() string { return "masquerade" }
func (v jump) text() string     { return "jump " + v.chain }
func (v goTo) text() string     { return "goto " + v.chain }
func (v vmap) text() string     { return field(v.dst) + "vmap @" + v.m }

// Text returns the rule as nft writes it.
func (r Rule) Text() string {
	parts := make([]string, 0, len(r.Matches)+1)
	for _, m := range r.Matches {
		parts = append(parts, m.text())
	}
	if r.Verdict != nil {
		parts = append(parts, r.Verdict.text())
	}
	return strings.Join(parts, " ")
}

func priorityName(h *Hook) string {
	switch {
	case h.Type == "nat" && h.Priority == 100:
		return "srcnat"
	case h.Type == "nat" && h.Priority == -100:
		return "dstnat"
	case h.Priority == 0:
		return "filter"
	}
	return strconv.Itoa(h.Priority)
}

// Render returns the ruleset as an `nft -f` script: loading it with nft gives the same table
// Apply creates (a test checks this against the kernel).
func (rs *Ruleset) Render() string {
	var b strings.Builder
	fmt.Fprintf(&b, "table inet %s {\n", rs.Table)
	for _, s := range rs.Sets {
		fmt.Fprintf(&b, "\tset %s {\n\t\ttype ipv4_addr\n", s.Name)
		if len(s.Elements) > 0 {
			els := make([]string, len(s.Elements))
			for i, e := range s.Elements {
				els[i] = e.String()
			}
			fmt.Fprintf(&b, "\t\telements = { %s }\n", strings.Join(els, ", "))
		}
		b.WriteString("\t}\n\n")
	}
	for _, m := range rs.Maps {
		fmt.Fprintf(&b, "\tmap %s {\n\t\ttype ipv4_addr : verdict\n", m.Name)
		if len(m.Elements) > 0 {
			els := make([]string, len(m.Elements))
			for i, e := range m.Elements {
				els[i] = e.Key.String() + " : jump " + e.Chain
			}
			fmt.Fprintf(&b, "\t\telements = { %s }\n", strings.Join(els, ", "))
		}
		b.WriteString("\t}\n\n")
	}
	for i, c := range rs.Chains {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "\tchain %s {\n", c.Name)
		if h := c.Hook; h != nil {
			fmt.Fprintf(&b, "\t\ttype %s hook %s priority %s; policy %s;\n", h.Type, h.Hook, priorityName(h), h.Policy)
		}
		for _, r := range c.Rules {
			fmt.Fprintf(&b, "\t\t%s\n", r.Text())
		}
		b.WriteString("\t}\n")
	}
	b.WriteString("}\n")
	return b.String()
}
