package ops

import (
	"context"
	"time"

	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/scheduler"
	"github.com/gantry-dev/gantry/internal/store"
)

// HostTTL is how long a host counts as up after its last heartbeat: RunTask places nothing on
// a host that has been quiet longer.
const HostTTL = 30 * time.Second

// HostCapacity is one host's capacity as the health endpoint shows it: what it offers, what
// its tasks reserve, the most it may reserve under the overcommit, and what is left.
type HostCapacity struct {
	ID          string
	Status      string
	Runtime     string
	HeartbeatAt time.Time
	// Live says the host heartbeated within HostTTL; RunTask places only on live ACTIVE hosts.
	Live     bool
	Capacity scheduler.Resources
	Reserved scheduler.Resources
	Limit    scheduler.Resources
	Free     scheduler.Resources
	// Full says the host cannot take even the smallest task (scheduler.SmallestTask).
	Full bool
}

// Hosts returns every registered host's capacity under the configured overcommit.
func (e *ECS) Hosts(ctx context.Context) ([]HostCapacity, error) {
	hosts, err := e.store.Hosts().List(ctx)
	if err != nil {
		return nil, err
	}
	now, oc := e.now(), e.overcommit()
	out := make([]HostCapacity, 0, len(hosts))
	for _, v := range hosts {
		h := v.Value
		sh := schedulerHost(h)
		out = append(out, HostCapacity{ID: h.ID, Status: h.Status, Runtime: h.Runtime, HeartbeatAt: h.HeartbeatAt,
			Live: hostLive(h, now), Capacity: sh.Capacity, Reserved: sh.Reserved, Limit: sh.Limit(oc), Free: sh.Free(oc),
			Full: sh.Full(oc)})
	}
	return out, nil
}

// hostLive reports whether h heartbeated within HostTTL of now.
func hostLive(h model.Host, now time.Time) bool {
	return now.Sub(h.HeartbeatAt) < HostTTL
}

// schedulerHosts is what the scheduler may place on: live hosts, with those not ACTIVE draining.
func schedulerHosts(hosts []store.Versioned[model.Host], now time.Time) []scheduler.Host {
	out := make([]scheduler.Host, 0, len(hosts))
	for _, v := range hosts {
		if hostLive(v.Value, now) {
			out = append(out, schedulerHost(v.Value))
		}
	}
	return out
}

func schedulerHost(h model.Host) scheduler.Host {
	return scheduler.Host{
		ID:       h.ID,
		Capacity: scheduler.Resources{CPU: h.CapacityCPU, Memory: h.CapacityMemory},
		Reserved: scheduler.Resources{CPU: h.ReservedCPU, Memory: h.ReservedMemory},
		Draining: h.Status != model.HostActive,
	}
}
