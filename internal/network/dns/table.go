package dns

import (
	"net/netip"
	"slices"
	"strings"
	"sync"
)

// Table is a set of names and their addresses that a Server answers (its Names func is
// Table.Lookup), replaced whole by Set while the server runs: the load balancers' names.
type Table struct {
	mu sync.RWMutex
	m  map[string][]netip.Addr
}

// Set makes names (any case, with or without the trailing dot) the table's names.
func (t *Table) Set(names map[string][]netip.Addr) {
	m := make(map[string][]netip.Addr, len(names))
	for n, a := range names {
		m[strings.ToLower(strings.TrimSuffix(n, "."))] = slices.Clone(a)
	}
	t.mu.Lock()
	t.m = m
	t.mu.Unlock()
}

// Lookup returns name's addresses; name is lower case without the trailing dot, as a Server
// passes it.
func (t *Table) Lookup(name string) ([]netip.Addr, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	a, ok := t.m[name]
	return a, ok
}
