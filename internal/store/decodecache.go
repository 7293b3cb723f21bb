package store

import (
	"hash/maphash"
	"reflect"
	"sync"
)

// decodeCacheSize bounds how many decoded records a store keeps: about 5 KiB each for a task.
const decodeCacheSize = 4096

// decodeCache keeps the last decoded value of each key with a hash of the bytes it was decoded
// from, so that reading a record that has not changed since costs a deep copy instead of a JSON
// parse (a task's record: about 50 µs to parse). It is keyed by content, not by etcd revision,
// so a store restored under a running server cannot hand back a value it no longer holds.
type decodeCache struct {
	seed maphash.Seed
	mu   sync.Mutex
	m    map[string]cachedValue
	max  int
}

type cachedValue struct {
	sum uint64
	v   any // a private copy: handed out only through a clone
}

func newDecodeCache(max int) *decodeCache {
	return &decodeCache{seed: maphash.MakeSeed(), m: map[string]cachedValue{}, max: max}
}

func (c *decodeCache) sum(raw []byte) uint64 { return maphash.Bytes(c.seed, raw) }

// get returns the value decoded from the bytes whose hash is sum at key, if it is cached.
func (c *decodeCache) get(key []byte, sum uint64) (any, bool) {
	c.mu.Lock()
	e, ok := c.m[string(key)]
	c.mu.Unlock()
	if !ok || e.sum != sum {
		return nil, false
	}
	return e.v, true
}

// put keeps v, which nobody else may hold, as key's value decoded from bytes whose hash is sum.
// When the cache is full it forgets a quarter of its entries, whichever the map gives first.
func (c *decodeCache) put(key []byte, sum uint64, v any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[string(key)]; !ok && len(c.m) >= c.max {
		drop := max(c.max/4, 1)
		for k := range c.m {
			if drop == 0 {
				break
			}
			delete(c.m, k)
			drop--
		}
	}
	c.m[string(key)] = cachedValue{sum: sum, v: v}
}

// decodeKV decodes raw, the value stored at key, through the store's cache when T can be
// cloned; callers own what it returns.
func (t *table[T, R]) decodeKV(key, raw []byte) (T, error) {
	c, err := clonerFor[T]()
	if err != nil || t.s.decoded == nil {
		return t.decode(raw)
	}
	sum := t.s.decoded.sum(raw)
	// The type is checked too: two tables of different types never share a directory, but a
	// mistake there must cost a parse, not a panic.
	if v, ok := t.s.decoded.get(key, sum); ok && reflect.TypeOf(v) == c.t {
		return c.clone(v).(T), nil
	}
	v, err := t.decode(raw)
	if err != nil {
		return v, err
	}
	t.s.decoded.put(key, sum, c.clone(v))
	return v, nil
}
