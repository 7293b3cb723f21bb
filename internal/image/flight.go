package image

import (
	"context"
	"sync"
)

// flight runs one function per key at a time and hands its result to every caller that asked
// while it ran, so concurrent pulls of one layer download and unpack it once.
type flight struct {
	mu sync.Mutex
	// calls holds the work in progress by key.
	calls map[string]*call
}

type call struct {
	done  chan struct{}
	layer Layer
	err   error
}

// do runs fn for key unless a call for key is already running, in which case it waits for that
// call's result or for ctx to end. The running call itself keeps its own caller's context.
func (f *flight) do(ctx context.Context, key string, fn func() (Layer, error)) (Layer, error) {
	f.mu.Lock()
	if c, ok := f.calls[key]; ok {
		f.mu.Unlock()
		select {
		case <-c.done:
			return c.layer, c.err
		case <-ctx.Done():
			return Layer{}, ctx.Err()
		}
	}
	if f.calls == nil {
		f.calls = map[string]*call{}
	}
	c := &call{done: make(chan struct{})}
	f.calls[key] = c
	f.mu.Unlock()

	c.layer, c.err = fn()
	f.mu.Lock()
	delete(f.calls, key)
	f.mu.Unlock()
	close(c.done)
	return c.layer, c.err
}
