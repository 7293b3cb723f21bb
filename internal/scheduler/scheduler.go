// Package scheduler places pending tasks on hosts by cpu and memory, as a pure function.
package scheduler

import (
	"cmp"
	"math"
	"slices"
)

// Resources are cpu units (1024 to a core) and memory in MiB.
type Resources struct {
	CPU    int64
	Memory int64
}

func (r Resources) add(o Resources) Resources { return Resources{r.CPU + o.CPU, r.Memory + o.Memory} }

// Host is what the scheduler knows of one host: what it offers and what is already reserved.
type Host struct {
	ID string
	// Capacity is the host's offer: its cores and memory less the reserve for gantry and the system.
	Capacity Resources
	// Reserved is the sum of the sizes of the tasks placed on the host and not yet stopped.
	Reserved Resources
	// Draining hosts take no new tasks.
	Draining bool
}

// Overcommit says how far reservations may exceed a host's capacity: 1 means not at all. cpu is
// compressible (tasks share time under their own quotas), memory is not.
type Overcommit struct {
	CPU    float64
	Memory float64
}

// DefaultOvercommit lets a small host run dozens of small tasks (cpu) and never promises memory
// it does not have.
var DefaultOvercommit = Overcommit{CPU: 8, Memory: 1}

// Limit is the most a host may have reserved under oc.
func (h Host) Limit(oc Overcommit) Resources {
	return Resources{
		CPU:    int64(math.Floor(float64(h.Capacity.CPU) * max(oc.CPU, 1))),
		Memory: int64(math.Floor(float64(h.Capacity.Memory) * max(oc.Memory, 1))),
	}
}

// Free is what a host can still take under oc.
func (h Host) Free(oc Overcommit) Resources {
	l := h.Limit(oc)
	return Resources{CPU: l.CPU - h.Reserved.CPU, Memory: l.Memory - h.Reserved.Memory}
}

// SmallestTask is the smallest Fargate task size: 0.25 vCPU and 512 MiB. A host that cannot
// take it is full.
var SmallestTask = Resources{CPU: 256, Memory: 512}

// Full reports whether h cannot take even the smallest task under oc.
func (h Host) Full(oc Overcommit) bool {
	f := h.Free(oc)
	return f.CPU < SmallestTask.CPU || f.Memory < SmallestTask.Memory
}

// Request is one task to place.
type Request struct {
	TaskID string
	Need   Resources
}

// Strategy chooses among hosts that fit.
type Strategy int

// Strategies.
const (
	// BinPack fills the fullest host that fits, keeping others free for large tasks.
	BinPack Strategy = iota
	// Spread takes the emptiest host.
	Spread
)

// Failure reasons, in ECS's words.
const (
	ReasonCPU     = "RESOURCE:CPU"
	ReasonMemory  = "RESOURCE:MEMORY"
	ReasonNoHosts = "AGENT"
)

// Placement assigns a task to a host.
type Placement struct {
	TaskID string
	HostID string
}

// Failure says why a task could not be placed.
type Failure struct {
	TaskID string
	Reason string
}

// Plan is the outcome of one pass: every request is in exactly one of the two lists.
type Plan struct {
	Placements []Placement
	Failures   []Failure
}

// Place assigns requests, in order, to hosts. It mutates nothing: the hosts' reservations in
// the plan's view grow as tasks are placed, so later requests see earlier ones.
func Place(hosts []Host, reqs []Request, oc Overcommit, strategy Strategy) Plan {
	view := slices.Clone(hosts)
	slices.SortFunc(view, func(a, b Host) int { return cmp.Compare(a.ID, b.ID) })
	var plan Plan
	for _, req := range reqs {
		i, reason := choose(view, req.Need, oc, strategy)
		if i < 0 {
			plan.Failures = append(plan.Failures, Failure{TaskID: req.TaskID, Reason: reason})
			continue
		}
		view[i].Reserved = view[i].Reserved.add(req.Need)
		plan.Placements = append(plan.Placements, Placement{TaskID: req.TaskID, HostID: view[i].ID})
	}
	return plan
}

// choose returns the index of the best host for need, or -1 and the reason none fits: the
// resource that turned away the most hosts (cpu on a tie, as ECS lists it first).
func choose(hosts []Host, need Resources, oc Overcommit, strategy Strategy) (int, string) {
	best, cpuShort, memShort, candidates := -1, 0, 0, 0
	var bestLeft int64
	for i, h := range hosts {
		if h.Draining {
			continue
		}
		candidates++
		free := h.Free(oc)
		fitsCPU, fitsMem := need.CPU <= free.CPU, need.Memory <= free.Memory
		if !fitsCPU {
			cpuShort++
		}
		if !fitsMem {
			memShort++
		}
		if !fitsCPU || !fitsMem {
			continue
		}
		left := free.Memory - need.Memory
		if best < 0 || (strategy == BinPack && left < bestLeft) || (strategy == Spread && left > bestLeft) {
			best, bestLeft = i, left
		}
	}
	switch {
	case best >= 0:
		return best, ""
	case candidates == 0:
		return -1, ReasonNoHosts
	case memShort > cpuShort:
		return -1, ReasonMemory
	}
	return -1, ReasonCPU
}
