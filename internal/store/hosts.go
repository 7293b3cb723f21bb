package store

import (
	"context"
	"time"

	"github.com/gantry-dev/gantry/internal/model"
)

// Key schema:
//
//	hosts/<host id>   a host whose agent runs tasks
//
// A host's reservation changes only in the transactions that place tasks on it (Tasks.Launch)
// and that first record one of its tasks as STOPPED (Tasks.Mutate), so it always equals the sum
// of the sizes of its tasks that are not yet stopped.

// hostRecord is a host as stored (schema version 1).
type hostRecord struct {
	ID             string    `json:"id"`
	CapacityCPU    int64     `json:"capacityCpu"`
	CapacityMemory int64     `json:"capacityMemory"`
	ReservedCPU    int64     `json:"reservedCpu"`
	ReservedMemory int64     `json:"reservedMemory"`
	Status         string    `json:"status"`
	Runtime        string    `json:"runtime,omitempty"`
	RegisteredAt   time.Time `json:"registeredAt"`
	HeartbeatAt    time.Time `json:"heartbeatAt"`
}

// Hosts is the repository of hosts, keyed by host id.
type Hosts struct {
	t *table[model.Host, hostRecord]
}

// Hosts returns the host repository.
func (s *Store) Hosts() Hosts {
	return Hosts{&table[model.Host, hostRecord]{s: s, dir: "hosts", version: 1,
		toRecord:   func(h model.Host) hostRecord { return hostRecord(h) },
		fromRecord: func(r hostRecord) model.Host { return model.Host(r) }}}
}

// Get reads a host; a missing one is apierr.NotFound.
func (r Hosts) Get(ctx context.Context, id string) (Versioned[model.Host], error) {
	return r.t.Get(ctx, id)
}

// Create stores a new host; an existing one is apierr.AlreadyExists.
func (r Hosts) Create(ctx context.Context, h model.Host) (int64, error) {
	return r.t.Create(ctx, h.ID, h)
}

// Mutate applies fn to a host with optimistic retries.
func (r Hosts) Mutate(ctx context.Context, id string, fn func(*model.Host) error) (Versioned[model.Host], error) {
	return r.t.Mutate(ctx, id, fn)
}

// List reads every host in id order.
func (r Hosts) List(ctx context.Context) ([]Versioned[model.Host], error) {
	page, err := r.t.List(ctx, "", "", 0)
	return page.Items, err
}

// PutIn adds a write of h, read at rev, to w, so a reservation changes in the same transaction
// as the tasks that cause it.
func (r Hosts) PutIn(w *Write, h model.Host, rev int64) error {
	return r.t.PutIn(w, h.ID, h, rev)
}

// Watch streams host changes after store revision rev.
func (r Hosts) Watch(ctx context.Context, rev int64) <-chan Event[model.Host] {
	return r.t.Watch(ctx, "", rev)
}
