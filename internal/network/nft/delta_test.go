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

func TestChanges(t *testing.T) {
	full := goldenSpecs["web"]
	// 10.0.1.6 has the same groups as 10.0.1.5: adding it adds elements only.
	smaller := withoutENI(full, netip.MustParseAddr("10.0.1.6"))
	prev, _ := Build(smaller)
	next, _ := Build(full)
	d, ok := Changes(prev, next)
	if !ok {
		t.Fatal("adding an interface with existing groups is not an element change")
	}
	// nft add element inet gantry sg-web { 10.0.1.6 }
	// nft add element inet gantry eni_in { 10.0.1.6 : jump eni_in_sg-web }
	// nft add element inet gantry eni_out { 10.0.1.6 : jump eni_out_sg-web }
	if len(d.Sets) != 1 || d.Sets[0].Name != "sg-web" || len(d.Sets[0].Elements) != 1 || len(d.Maps) != 2 ||
		len(d.Removed.Sets) != 0 || len(d.Removed.Maps) != 0 {
		t.Fatalf("delta = %+v", d)
	}
	// Removing it deletes the same elements.
	back, ok := Changes(next, prev)
	if !ok || len(back.Sets) != 0 || len(back.Maps) != 0 || len(back.Removed.Sets) != 1 || back.Removed.Sets[0].Name != "sg-web" ||
		len(back.Removed.Sets[0].Elements) != 1 || back.Removed.Sets[0].Elements[0] != netip.MustParseAddr("10.0.1.6") || len(back.Removed.Maps) != 2 {
		t.Fatalf("removal: delta %+v, elements only %v", back, ok)
	}
	// 10.0.1.7 is the only interface with its combination of groups: its chains are new.
	if _, ok := Changes(mustBuild(t, withoutENI(full, netip.MustParseAddr("10.0.1.7"))), next); ok {
		t.Error("new chains counted as an element change")
	}
	// Unless the router kept that combination's chains from an earlier interface (Spec.Combos).
	kept := withoutENI(full, netip.MustParseAddr("10.0.1.7"))
	kept.Combos = [][]string{full.ENIGroups[netip.MustParseAddr("10.0.1.7")]}
	withCombos := full
	withCombos.Combos = kept.Combos
	if d, ok := Changes(mustBuild(t, kept), mustBuild(t, withCombos)); !ok || len(d.Maps) != 2 {
		t.Errorf("an interface with a kept combination: delta %+v, elements only %v; want map elements only", d, ok)
	}
	// An interface whose groups change maps its address to other chains: the table is rebuilt.
	// (Both keep both combinations' chains, so only the maps differ.)
	withCombos.Combos = [][]string{full.ENIGroups[netip.MustParseAddr("10.0.1.7")], full.ENIGroups[netip.MustParseAddr("10.0.1.6")]}
	moved := withCombos
	moved.ENIGroups = maps.Clone(full.ENIGroups)
	moved.ENIGroups[netip.MustParseAddr("10.0.1.6")] = full.ENIGroups[netip.MustParseAddr("10.0.1.7")]
	before, after := mustBuild(t, withCombos), mustBuild(t, moved)
	if skeleton(before).Render() != skeleton(after).Render() {
		t.Fatal("the chains differ: the test would not reach the maps")
	}
	if d, ok := Changes(before, after); ok {
		t.Errorf("a key mapped to another chain counted as an element change: %+v", d)
	}
	if d, ok := Changes(next, next); !ok || !d.Empty() {
		t.Errorf("no change: %+v, %v", d, ok)
	}
	if _, ok := Changes(nil, next); ok {
		t.Error("nothing before counted as an element change")
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

// TestDeltaApply checks applying a delta on the kernel ends where applying the whole does, for
// an interface added and for one removed.
func TestDeltaApply(t *testing.T) {
	requireRoot(t)
	full := goldenSpecs["web"]
	smaller := mustBuild(t, withoutENI(full, netip.MustParseAddr("10.0.1.6")))
	bigger := mustBuild(t, full)
	for name, c := range map[string]struct{ prev, next *Ruleset }{"add": {smaller, bigger}, "remove": {bigger, smaller}} {
		t.Run(name, func(t *testing.T) {
			d, ok := Changes(c.prev, c.next)
			if !ok || d.Empty() {
				t.Fatalf("delta %+v, elements only %v", d, ok)
			}
			viaDelta, whole := throwawayNS(t, "delta"), throwawayNS(t, "whole")
			applyIn(t, viaDelta, c.prev)
			withConn(t, viaDelta, func(conn *nftables.Conn) error { return d.Apply(conn) })
			applyIn(t, whole, c.next)
			if got, want := nftIn(t, viaDelta, nil, "list", "ruleset"), nftIn(t, whole, nil, "list", "ruleset"); got != want {
				t.Errorf("after the delta:\n%s\nwhole:\n%s", got, want)
			}
		})
	}
}
