package agent

import (
	"context"
	"fmt"
	"time"

	"github.com/gantry-dev/gantry/internal/agent/taskrunner"
	"github.com/gantry-dev/gantry/internal/logx"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/scratch"
)

// The tasks' filesystems are thin: each is as large as its task's ephemeral storage, but takes
// host disk only for what the task writes, so together they may promise more than the host
// has. The disk guard keeps DiskReserveMiB of the host's filesystem free for gantry's own state
// (etcd, images, logs) and for the tasks already running: while less is free, no task gets a
// new filesystem (it fails to start, scratch.ErrDiskPressure), and the task using the most
// ephemeral storage is stopped, as the kubelet evicts pods under disk pressure. Fargate itself
// never runs short: its hosts are provisioned for the sum.

// DefaultDiskReserveMiB is the host disk the guard keeps free by default.
const DefaultDiskReserveMiB = 2048

// defaultDiskCheck is how often the guard looks at the host's free space.
const defaultDiskCheck = time.Second

// diskUse is one running task's share of the host's disk.
type diskUse struct {
	ID   string
	Used int64 // bytes written to its filesystem
	// Evicted says the guard asked it to stop already; its space comes back when it has.
	Evicted bool
}

// evictionFor picks the task to stop when the host's filesystem has free bytes free: none
// unless that is under reserve, none while a task evicted earlier is still stopping, else the
// task using the most. A task that wrote nothing is never picked: stopping it frees nothing.
func evictionFor(free, reserve int64, tasks []diskUse) (diskUse, bool) {
	if free >= reserve {
		return diskUse{}, false
	}
	var victim diskUse
	for _, t := range tasks {
		if t.Evicted {
			return diskUse{}, false
		}
		if t.Used > victim.Used || (t.Used == victim.Used && t.ID < victim.ID) {
			victim = t
		}
	}
	return victim, victim.Used > 0
}

// guardDisk evicts tasks while the host's filesystem is under its reserve, until ctx ends.
func (a *Agent) guardDisk(ctx context.Context, reserve int64) {
	evicted := map[string]bool{}
	for {
		sleep(ctx, a.cfg.DiskCheckInterval)
		if ctx.Err() != nil {
			return
		}
		free, err := a.scratch.Free()
		if err != nil {
			a.log.Warn("disk guard", logx.KeyError, err)
			continue
		}
		a.mu.Lock()
		runners := make(map[string]*taskrunner.Runner, len(a.runners))
		for id, e := range a.runners {
			runners[id] = e.r
		}
		a.mu.Unlock()
		for id := range evicted {
			if r, ok := runners[id]; !ok || r.Finished() {
				delete(evicted, id)
			}
		}
		if free >= reserve {
			continue // no eviction, whatever the tasks use: their usage is read under pressure only
		}
		var uses []diskUse
		for id, r := range runners {
			if r.Finished() {
				continue
			}
			if used, _, ok := scratch.Usage(taskrunner.ScratchDir(a.taskDir(id))); ok {
				uses = append(uses, diskUse{ID: id, Used: used, Evicted: evicted[id]})
			}
		}
		victim, ok := evictionFor(free, reserve, uses)
		if !ok {
			continue
		}
		reason := fmt.Sprintf("Task stopped: the host's disk has %d MiB free, under its reserve of %d MiB, and this task used the most ephemeral storage (%d MiB)",
			free>>20, reserve>>20, victim.Used>>20)
		if runners[victim.ID].Evict(model.StopTerminationNotice, reason) {
			evicted[victim.ID] = true
			a.log.Warn("host disk under its reserve: stopping the task using the most ephemeral storage",
				"task_id", victim.ID, "used_mib", victim.Used>>20, "free_mib", free>>20, "reserve_mib", reserve>>20)
		}
	}
}
