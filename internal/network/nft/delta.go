package nft

import (
	"net/netip"
	"slices"
)

// Delta is a change that only adds elements to existing sets and maps. Adding is cheap for the
// kernel; anything that deletes (rules, chains, sets or elements) makes the transaction wait
// for an RCU grace period, ~10 ms here. Attaching a task whose groups the VPC already uses is
// such a change.
type Delta struct {
	Table string
	Sets  []Set  // only the added elements
	Maps  []VMap // only the added elements
}

// Empty says whether the delta adds nothing.
func (d Delta) Empty() bool { return len(d.Sets) == 0 && len(d.Maps) == 0 }

// Additions returns what next adds to prev, and false when next differs from prev in any other
// way: then next must be applied whole.
func Additions(prev, next *Ruleset) (Delta, bool) {
	d := Delta{Table: next.Table}
	if prev == nil || prev.Table != next.Table || len(prev.Sets) != len(next.Sets) || len(prev.Maps) != len(next.Maps) ||
		skeleton(prev).Render() != skeleton(next).Render() {
		return d, false
	}
	for i, ns := range next.Sets {
		ps := prev.Sets[i]
		var added []netip.Addr
		for _, a := range ns.Elements {
			if !slices.Contains(ps.Elements, a) {
				added = append(added, a)
			}
		}
		for _, a := range ps.Elements {
			if !slices.Contains(ns.Elements, a) {
				return d, false // a removal
			}
		}
		if len(added) > 0 {
			d.Sets = append(d.Sets, Set{Name: ns.Name, Elements: added})
		}
	}
	for i, nm := range next.Maps {
		pm := prev.Maps[i]
		var added []VMapElement
		for _, e := range nm.Elements {
			if !slices.Contains(pm.Elements, e) {
				added = append(added, e)
			}
		}
		for _, e := range pm.Elements {
			if !slices.Contains(nm.Elements, e) {
				return d, false // a removal, or a key now mapped elsewhere
			}
		}
		if len(added) > 0 {
			d.Maps = append(d.Maps, VMap{Name: nm.Name, Elements: added})
		}
	}
	return d, true
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
