package nft

import (
	"maps"
	"net/netip"
	"testing"

	"github.com/google/nftables"
)

// withoutENI is spec with one interface gone from the interface map and the member sets.
func withoutENI(spec Spec, ip netip.Addr) Spec {
	out := spec
	out.ENIGroups = maps.Clone(spec.ENIGroups)
	delete(out.ENIGroups, ip)
	out.Members = map[string][]netip.Addr{}
	for g, ms := range spec.Members {
		for _, m := range ms {
			if m != ip {
				out.Members[g] = append(out.Members[g], m)
			}
		}
	}
	return out
}

func TestAdditions(t *testing.T) {
	full := goldenSpecs["web"]
	// 10.0.1.6 has the same groups as 10.0.1.5: adding it adds elements only.
	smaller := withoutENI(full, netip.MustParseAddr("10.0.1.6"))
	prev, _ := Build(smaller)
	next, _ := Build(full)
	d, ok := Additions(prev, next)
	if !ok {
		t.Fatal("adding an interface with existing groups is not additions-only")
	}
	// nft add element inet gantry sg-web { 10.0.1.6 }
	// nft add element inet gantry eni_in { 10.0.1.6 : jump eni_in_sg-web }
	// nft add element inet gantry eni_out { 10.0.1.6 : jump eni_out_sg-web }
	if len(d.Sets) != 1 || d.Sets[0].Name != "sg-web" || len(d.Sets[0].Elements) != 1 || len(d.Maps) != 2 {
		t.Fatalf("delta = %+v", d)
	}
	if _, ok := Additions(next, prev); ok {
		t.Error("a removal counted as additions")
	}
	// 10.0.1.7 is the only interface with its combination of groups: its chains are new.
	if _, ok := Additions(mustBuild(t, withoutENI(full, netip.MustParseAddr("10.0.1.7"))), next); ok {
		t.Error("new chains counted as additions")
	}
	// Unless the router kept that combination's chains from an earlier interface (Spec.Combos).
	kept := withoutENI(full, netip.MustParseAddr("10.0.1.7"))
	kept.Combos = [][]string{full.ENIGroups[netip.MustParseAddr("10.0.1.7")]}
	withCombos := full
	withCombos.Combos = kept.Combos
	if d, ok := Additions(mustBuild(t, kept), mustBuild(t, withCombos)); !ok || len(d.Maps) != 2 {
		t.Errorf("an interface with a kept combination: delta %+v, additions only %v; want map elements only", d, ok)
	}
	if d, ok := Additions(next, next); !ok || !d.Empty() {
		t.Errorf("no change: %+v, %v", d, ok)
	}
	if _, ok := Additions(nil, next); ok {
		t.Error("nothing before counted as additions")
	}
}

func mustBuild(t *testing.T, s Spec) *Ruleset {
	t.Helper()
	rs, err := Build(s)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// TestDeltaApply checks applying a delta on the kernel ends where applying the whole does.
func TestDeltaApply(t *testing.T) {
	requireRoot(t)
	full := goldenSpecs["web"]
	prev := mustBuild(t, withoutENI(full, netip.MustParseAddr("10.0.1.6")))
	next := mustBuild(t, full)
	d, ok := Additions(prev, next)
	if !ok {
		t.Fatal("not additions-only")
	}
	viaDelta, whole := throwawayNS(t, "delta"), throwawayNS(t, "whole")
	applyIn(t, viaDelta, prev)
	withConn(t, viaDelta, func(c *nftables.Conn) error { return d.Apply(c) })
	applyIn(t, whole, next)
	if got, want := nftIn(t, viaDelta, nil, "list", "ruleset"), nftIn(t, whole, nil, "list", "ruleset"); got != want {
		t.Errorf("after the delta:\n%s\nwhole:\n%s", got, want)
	}
}
