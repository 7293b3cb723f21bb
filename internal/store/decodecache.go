package store

import (
	"hash/maphash"
	"reflect"
	"sync"
)

// decodeCacheBytes bounds the records a store keeps decoded, by the size of their stored bytes
// (a decoded value takes about as much again): 16 MiB is some 3,000 task records of 5 KiB.
const decodeCacheBytes = 16 << 20

// decodeCache keeps the last decoded value of each key with a hash of the bytes it was decoded
// from, so that reading a record that has not changed since costs a deep copy instead of a JSON
// parse (a task's record: about 50 µs to parse). It is keyed by content, not by etcd revision,
// so a store restored under a running server cannot hand back a value it no longer holds.
type decodeCache struct {
	seed  maphash.Seed
	mu    sync.Mutex
	m     map[string]cachedValue
	bytes int // the stored size of what m holds
	max   int
}

type cachedValue struct {
	sum  uint64
	size int // the stored bytes' length
	v    any // a private copy: handed out only through a clone
}

func newDecodeCache(maxBytes int) *decodeCache {
	return &decodeCache{seed: maphash.MakeSeed(), m: map[string]cachedValue{}, max: maxBytes}
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

// put keeps v, which nobody else may hold, as key's value decoded from size bytes whose hash is
// sum. When that would take the cache over its bound it first forgets entries, whichever the map
// gives first, until a quarter of the bound is free; a value larger than that is not kept.
func (c *decodeCache) put(key []byte, sum uint64, size int, v any) {
	if size > c.max/4 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.m[string(key)]; ok {
		c.bytes -= old.size
		delete(c.m, string(key))
	}
	if c.bytes+size > c.max {
		for k, e := range c.m {
			if c.bytes+size <= c.max-c.max/4 {
				break
			}
			delete(c.m, k)
			c.bytes -= e.size
		}
	}
	c.m[string(key)] = cachedValue{sum: sum, size: size, v: v}
	c.bytes += size
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
	t.s.decoded.put(key, sum, len(raw), c.clone(v))
	return v, nil
}
