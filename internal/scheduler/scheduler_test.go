package scheduler

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

func TestPlace(t *testing.T) {
	small := Host{ID: "h1", Capacity: Resources{CPU: 2048, Memory: 4096}}
	tests := []struct {
		name     string
		hosts    []Host
		reqs     []Request
		oc       Overcommit
		strategy Strategy
		placed   map[string]string // task -> host
		failed   map[string]string // task -> reason
	}{
		{
			name:   "fits",
			hosts:  []Host{small},
			reqs:   []Request{{"t1", Resources{256, 512}}},
			oc:     Overcommit{1, 1},
			placed: map[string]string{"t1": "h1"},
		},
		{
			name:   "memory full",
			hosts:  []Host{small},
			reqs:   []Request{{"t1", Resources{256, 4096}}, {"t2", Resources{256, 512}}},
			oc:     Overcommit{1, 1},
			placed: map[string]string{"t1": "h1"},
			failed: map[string]string{"t2": ReasonMemory},
		},
		{
			name:   "cpu full without overcommit",
			hosts:  []Host{small},
			reqs:   []Request{{"t1", Resources{2048, 512}}, {"t2", Resources{256, 512}}},
			oc:     Overcommit{1, 1},
			placed: map[string]string{"t1": "h1"},
			failed: map[string]string{"t2": ReasonCPU},
		},
		{
			name:   "cpu overcommit admits more",
			hosts:  []Host{small},
			reqs:   []Request{{"t1", Resources{2048, 512}}, {"t2", Resources{2048, 512}}},
			oc:     Overcommit{2, 1},
			placed: map[string]string{"t1": "h1", "t2": "h1"},
		},
		{
			name:   "no hosts",
			reqs:   []Request{{"t1", Resources{256, 512}}},
			oc:     DefaultOvercommit,
			failed: map[string]string{"t1": ReasonNoHosts},
		},
		{
			name:   "draining host takes nothing",
			hosts:  []Host{{ID: "h1", Capacity: Resources{4096, 8192}, Draining: true}},
			reqs:   []Request{{"t1", Resources{256, 512}}},
			oc:     DefaultOvercommit,
			failed: map[string]string{"t1": ReasonNoHosts},
		},
		{
			name: "binpack fills the fuller host",
			hosts: []Host{
				{ID: "a", Capacity: Resources{4096, 8192}},
				{ID: "b", Capacity: Resources{4096, 8192}, Reserved: Resources{1024, 4096}},
			},
			reqs:   []Request{{"t1", Resources{256, 512}}},
			oc:     Overcommit{1, 1},
			placed: map[string]string{"t1": "b"},
		},
		{
			name: "spread takes the emptier host",
			hosts: []Host{
				{ID: "a", Capacity: Resources{4096, 8192}},
				{ID: "b", Capacity: Resources{4096, 8192}, Reserved: Resources{1024, 4096}},
			},
			reqs:     []Request{{"t1", Resources{256, 512}}},
			oc:       Overcommit{1, 1},
			strategy: Spread,
			placed:   map[string]string{"t1": "a"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan := Place(tt.hosts, tt.reqs, tt.oc, tt.strategy)
			got := map[string]string{}
			for _, p := range plan.Placements {
				got[p.TaskID] = p.HostID
			}
			if fmt.Sprint(got) != fmt.Sprint(orEmpty(tt.placed)) {
				t.Errorf("placements %v, want %v", got, tt.placed)
			}
			gotF := map[string]string{}
			for _, f := range plan.Failures {
				gotF[f.TaskID] = f.Reason
			}
			if fmt.Sprint(gotF) != fmt.Sprint(orEmpty(tt.failed)) {
				t.Errorf("failures %v, want %v", gotF, tt.failed)
			}
		})
	}
}

func orEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// TestPlaceProperties checks, over random inputs, that a plan never exceeds any host's limit,
// accounts for every request exactly once, and fails a request only when no host had room.
func TestPlaceProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	sizes := []Resources{{256, 512}, {512, 1024}, {1024, 2048}, {2048, 4096}, {4096, 8192}}
	for iter := range 2000 {
		var hosts []Host
		for i := range rng.IntN(4) {
			hosts = append(hosts, Host{
				ID:       fmt.Sprintf("h%d", i),
				Capacity: Resources{int64(1024 * (1 + rng.IntN(8))), int64(1024 * (1 + rng.IntN(32)))},
				Reserved: Resources{int64(256 * rng.IntN(4)), int64(512 * rng.IntN(4))},
				Draining: rng.IntN(10) == 0,
			})
		}
		var reqs []Request
		for i := range rng.IntN(20) {
			reqs = append(reqs, Request{TaskID: fmt.Sprintf("t%d", i), Need: sizes[rng.IntN(len(sizes))]})
		}
		oc := Overcommit{CPU: 1 + float64(rng.IntN(8)), Memory: 1 + float64(rng.IntN(2))/2}
		plan := Place(hosts, reqs, oc, Strategy(rng.IntN(2)))

		if len(plan.Placements)+len(plan.Failures) != len(reqs) {
			t.Fatalf("iter %d: %d placements + %d failures for %d requests", iter, len(plan.Placements), len(plan.Failures), len(reqs))
		}
		byID := map[string]*Host{}
		for i := range hosts {
			byID[hosts[i].ID] = &hosts[i]
		}
		need := map[string]Resources{}
		for _, r := range reqs {
			need[r.TaskID] = r.Need
		}
		// Replay in request order: each placement must fit at its turn, each failure must not.
		placedOn := map[string]string{}
		for _, p := range plan.Placements {
			placedOn[p.TaskID] = p.HostID
		}
		for _, r := range reqs {
			if hid, ok := placedOn[r.TaskID]; ok {
				h := byID[hid]
				if h.Draining {
					t.Fatalf("iter %d: placed %s on draining host %s", iter, r.TaskID, hid)
				}
				h.Reserved = h.Reserved.add(r.Need)
				l := h.Limit(oc)
				if h.Reserved.CPU > l.CPU || h.Reserved.Memory > l.Memory {
					t.Fatalf("iter %d: host %s over its limit: reserved %+v, limit %+v", iter, hid, h.Reserved, l)
				}
				continue
			}
			for _, h := range hosts {
				free := h.Free(oc)
				if !h.Draining && r.Need.CPU <= free.CPU && r.Need.Memory <= free.Memory {
					t.Fatalf("iter %d: %s failed although host %s had room %+v for %+v", iter, r.TaskID, h.ID, free, r.Need)
				}
			}
		}
	}
}

func TestHostFull(t *testing.T) {
	tests := []struct {
		name string
		host Host
		oc   Overcommit
		want bool
	}{
		{"empty", Host{Capacity: Resources{1024, 2048}}, Overcommit{1, 1}, false},
		{"room for exactly one more", Host{Capacity: Resources{1024, 2048}, Reserved: Resources{768, 1536}}, Overcommit{1, 1}, false},
		{"cpu short by one unit", Host{Capacity: Resources{1024, 4096}, Reserved: Resources{769, 512}}, Overcommit{1, 1}, true},
		{"memory short by one MiB", Host{Capacity: Resources{4096, 2048}, Reserved: Resources{256, 1537}}, Overcommit{1, 1}, true},
		{"both used up", Host{Capacity: Resources{1024, 2048}, Reserved: Resources{1024, 2048}}, Overcommit{1, 1}, true},
		{"overcommit makes room", Host{Capacity: Resources{1024, 2048}, Reserved: Resources{1024, 2048}}, Overcommit{2, 2}, false},
		{"cpu overcommit alone is not enough", Host{Capacity: Resources{1024, 2048}, Reserved: Resources{1024, 2048}}, Overcommit{8, 1}, true},
		{"smaller than the smallest task", Host{Capacity: Resources{128, 256}}, DefaultOvercommit, true},
		{"over its limit after the overcommit was lowered", Host{Capacity: Resources{1024, 2048}, Reserved: Resources{4096, 1024}}, Overcommit{1, 1}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.host.Full(tt.oc); got != tt.want {
				t.Errorf("Full = %v, want %v (free %+v)", got, tt.want, tt.host.Free(tt.oc))
			}
		})
	}
}

// TestFullMeansSmallestTaskFails checks that Full agrees with Place: a host is full exactly
// when the smallest task cannot be placed on it.
func TestFullMeansSmallestTaskFails(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for iter := range 2000 {
		h := Host{ID: "h",
			Capacity: Resources{int64(rng.IntN(4096)), int64(rng.IntN(8192))},
			Reserved: Resources{int64(rng.IntN(4096)), int64(rng.IntN(8192))}}
		oc := Overcommit{CPU: 1 + float64(rng.IntN(8)), Memory: 1 + float64(rng.IntN(4))/2}
		plan := Place([]Host{h}, []Request{{TaskID: "t", Need: SmallestTask}}, oc, BinPack)
		if failed := len(plan.Failures) == 1; failed != h.Full(oc) {
			t.Fatalf("iter %d: host %+v under %+v: Full %v but placing the smallest task failed=%v", iter, h, oc, h.Full(oc), failed)
		}
	}
}
