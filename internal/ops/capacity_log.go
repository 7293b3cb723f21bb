package ops

import (
	"context"
	"time"

	"github.com/gantry-dev/gantry/internal/logx"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/store"
)

// The capacity log writes one line each time a host becomes full: when it can no longer take
// the smallest Fargate task under the overcommit. It follows the host records rather than
// RunTask, because a reservation changes in two places (RunTask takes it, the agent's STOPPED
// report gives it back) and possibly in another server sharing the store.

// capacityRelistDelay is how long the capacity log waits before listing the hosts again, after
// a failed watch or while no host has registered yet.
const capacityRelistDelay = time.Second

// fullness is what the capacity log last knew of one host.
type fullness struct {
	// rev is the store revision of the host record it was judged from.
	rev  int64
	full bool
}

// nextFullness judges a host record of store revision rev, full or not, against what was last
// known of the host (the zero fullness when nothing was). It returns what is known now and
// whether the host has just become full, which is when to log. A record no newer than the
// last one judged changes nothing, so a replayed or late view never logs a host twice.
func nextFullness(prev fullness, rev int64, full bool) (fullness, bool) {
	if rev <= prev.rev {
		return prev, false
	}
	return fullness{rev: rev, full: full}, full && !prev.full
}

// WatchCapacity follows the hosts until ctx ends and logs one line each time a host becomes
// full; the host counts as not full again once a task stops and gives back its reservation.
// A host already full when the watch starts is logged once.
func (e *ECS) WatchCapacity(ctx context.Context) error {
	known := map[string]fullness{}
	for {
		err := e.followHosts(ctx, known)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			e.logger.Warn("watch hosts for capacity; listing again", logx.KeyError, err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(capacityRelistDelay):
		}
	}
}

// followHosts judges every host, then every change to one, until the watch ends. It returns
// nil without watching while no host is registered: with nothing listed there is no revision
// to watch from that is sure not to be compacted.
func (e *ECS) followHosts(ctx context.Context, known map[string]fullness) error {
	hosts, err := e.store.Hosts().List(ctx)
	if err != nil || len(hosts) == 0 {
		return err
	}
	// No host changed between the newest record listed and the listing, so watching after it
	// misses nothing; what it replays is no newer than what was judged.
	var rev int64
	for _, v := range hosts {
		e.judgeHost(known, v.Value, v.Revision)
		rev = max(rev, v.Revision)
	}
	for ev := range e.store.Hosts().Watch(ctx, rev) {
		switch {
		case ev.Err != nil:
			return ev.Err
		case ev.Type == store.Delete:
			delete(known, ev.Key)
		default:
			e.judgeHost(known, ev.Value, ev.Revision)
		}
	}
	return nil
}

// judgeHost records what h, read at store revision rev, says of its host, and logs when the
// host has just become full.
func (e *ECS) judgeHost(known map[string]fullness, h model.Host, rev int64) {
	oc := e.overcommit()
	sh := schedulerHost(h)
	next, becameFull := nextFullness(known[h.ID], rev, sh.Full(oc))
	known[h.ID] = next
	if !becameFull {
		return
	}
	free := sh.Free(oc)
	e.logger.Warn("host full: no room for the smallest task (256 cpu, 512 MiB) until one of its tasks stops",
		logx.KeyHostID, h.ID,
		"capacity_cpu", sh.Capacity.CPU, "capacity_memory", sh.Capacity.Memory,
		"reserved_cpu", sh.Reserved.CPU, "reserved_memory", sh.Reserved.Memory,
		"free_cpu", free.CPU, "free_memory", free.Memory,
		"cpu_overcommit", oc.CPU, "memory_overcommit", oc.Memory)
}
