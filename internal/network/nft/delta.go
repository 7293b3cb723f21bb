package nft

import (
	"net/netip"
)

// Delta is a change of set and map elements only: what a task's start or stop does to its
// VPC's table when the VPC already uses its combination of groups. Applying it costs the kernel
// the elements that change rather than the whole table's, which grows with the tasks the VPC
// runs. A transaction that deletes anything waits for an RCU grace period before its next one
// (~10 ms here); that is wall time, not CPU.
type Delta struct {
	Table   string
	Sets    []Set  // only the added elements
	Maps    []VMap // only the added elements
	Removed Removed
}

// Removed are the elements a Delta deletes.
type Removed struct {
	Sets []Set
	Maps []VMap // the keys; Chain is the one they mapped to
}

// Empty says whether the delta changes nothing.
func (d Delta) Empty() bool {
	return len(d.Sets) == 0 && len(d.Maps) == 0 && len(d.Removed.Sets) == 0 && len(d.Removed.Maps) == 0
}

// Changes returns what turns prev into next, and false when they differ in more than set and
// map elements (chains, rules, the sets themselves, or a key of a map now mapped elsewhere):
// then next must be applied whole.
func Changes(prev, next *Ruleset) (Delta, bool) {
	d := Delta{Table: next.Table}
	if prev == nil || prev.Table != next.Table || len(prev.Sets) != len(next.Sets) || len(prev.Maps) != len(next.Maps) ||
		skeleton(prev).Render() != skeleton(next).Render() {
		return d, false
	}
	for i, ns := range next.Sets {
		added, removed := diff(prev.Sets[i].Elements, ns.Elements)
		if len(added) > 0 {
			d.Sets = append(d.Sets, Set{Name: ns.Name, Elements: added})
		}
		if len(removed) > 0 {
			d.Removed.Sets = append(d.Removed.Sets, Set{Name: ns.Name, Elements: removed})
		}
	}
	for i, nm := range next.Maps {
		added, removed := diff(prev.Maps[i].Elements, nm.Elements)
		// A key in both with another chain is in both lists: that is not an element change.
		if len(added) > 0 && len(removed) > 0 {
			gone := make(map[netip.Addr]bool, len(removed))
			for _, e := range removed {
				gone[e.Key] = true
			}
			for _, e := range added {
				if gone[e.Key] {
					return d, false
				}
			}
		}
		if len(added) > 0 {
			d.Maps = append(d.Maps, VMap{Name: nm.Name, Elements: added})
		}
		if len(removed) > 0 {
			d.Removed.Maps = append(d.Removed.Maps, VMap{Name: nm.Name, Elements: removed})
		}
	}
	return d, true
}

// diff returns the elements of next not in prev and those of prev not in next, in their order.
// A map element counts as the same only with the same key and chain.
func diff[E comparable](prev, next []E) (added, removed []E) {
	in := make(map[E]bool, len(prev))
	for _, e := range prev {
		in[e] = true
	}
	stays := make(map[E]bool, len(next))
	for _, e := range next {
		stays[e] = true
		if !in[e] {
			added = append(added, e)
		}
	}
	for _, e := range prev {
		if !stays[e] {
			removed = append(removed, e)
		}
	}
	return added, removed
}

// skeleton is rs without set and map elements.
func skeleton(rs *Ruleset) *Ruleset {
	s := &Ruleset{Table: rs.Table, Chains: rs.Chains}
	for _, x := range rs.Sets {
		s.Sets = append(s.Sets, Set{Name: x.Name})
	}
	for _, x := range rs.Maps {
		s.Maps = append(s.Maps, VMap{Name: x.Name})
	}
	return s
}
