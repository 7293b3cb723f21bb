// Package controller is a small reconcile runtime: a keyed queue that never runs one key twice
// at once, per-key backoff after errors, and workers that call a level-based Reconciler.
package controller

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Result says when to look at a key again even if nothing changes (0: only on changes).
type Result struct {
	RequeueAfter time.Duration
}

// Reconciler brings one key's observed state towards its desired state. It reads both afresh
// on every call, so a call may be repeated or skipped safely.
type Reconciler interface {
	Reconcile(ctx context.Context, key string) (Result, error)
}

// ReconcileFunc adapts a function to a Reconciler.
type ReconcileFunc func(ctx context.Context, key string) (Result, error)

// Reconcile calls f.
func (f ReconcileFunc) Reconcile(ctx context.Context, key string) (Result, error) { return f(ctx, key) }

// Backoff bounds the delay before a key that failed is tried again: it doubles from Min per
// consecutive failure up to Max.
type Backoff struct {
	Min, Max time.Duration
}

// DefaultBackoff is the backoff of a queue made with a zero Backoff.
var DefaultBackoff = Backoff{Min: 50 * time.Millisecond, Max: 30 * time.Second}

func (b Backoff) delay(failures int) time.Duration {
	d := b.Min
	for i := 1; i < failures && d < b.Max; i++ {
		d *= 2
	}
	return min(d, b.Max)
}

// Queue is a set of keys waiting to be reconciled. A key added while it is being reconciled is
// reconciled again afterwards, never concurrently; a key added many times while waiting is
// reconciled once.
type Queue struct {
	mu         sync.Mutex
	cond       *sync.Cond
	order      []string
	waiting    map[string]bool
	processing map[string]bool
	dirty      map[string]bool // added while processing
	timers     map[string]delayed
	failures   map[string]int
	backoff    Backoff
	closed     bool
}

// NewQueue returns an empty queue; a zero b means DefaultBackoff.
func NewQueue(b Backoff) *Queue {
	if b == (Backoff{}) {
		b = DefaultBackoff
	}
	q := &Queue{waiting: map[string]bool{}, processing: map[string]bool{}, dirty: map[string]bool{},
		timers: map[string]delayed{}, failures: map[string]int{}, backoff: b}
	q.cond = sync.NewCond(&q.mu)
	return q
}

// Add queues key now.
func (q *Queue) Add(key string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.addLocked(key)
}

func (q *Queue) addLocked(key string) {
	if q.closed {
		return
	}
	if q.processing[key] {
		q.dirty[key] = true
		return
	}
	if q.waiting[key] {
		return
	}
	q.waiting[key] = true
	q.order = append(q.order, key)
	q.cond.Signal()
}

// AddAfter queues key after d, unless it is already due sooner.
func (q *Queue) AddAfter(key string, d time.Duration) {
	if d <= 0 {
		q.Add(key)
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return
	}
	at := time.Now().Add(d)
	if t, ok := q.timers[key]; ok {
		if !t.at.After(at) {
			return // an earlier retry is already set
		}
		t.timer.Stop()
	}
	q.timers[key] = delayed{at: at, timer: time.AfterFunc(d, func() {
		q.mu.Lock()
		defer q.mu.Unlock()
		if t, ok := q.timers[key]; ok && t.at.Equal(at) {
			delete(q.timers, key)
		}
		q.addLocked(key)
	})}
}

type delayed struct {
	at    time.Time
	timer *time.Timer
}

// Len is the number of keys waiting.
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.order)
}

// get blocks for the next key; ok is false once the queue is closed.
func (q *Queue) get() (string, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.order) == 0 && !q.closed {
		q.cond.Wait()
	}
	if q.closed {
		return "", false
	}
	key := q.order[0]
	q.order = q.order[1:]
	delete(q.waiting, key)
	q.processing[key] = true
	return key, true
}

// done ends key's processing; a key added meanwhile is queued again.
func (q *Queue) done(key string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.processing, key)
	if q.dirty[key] {
		delete(q.dirty, key)
		q.addLocked(key)
	}
}

// failed counts a failure of key and returns the delay before its retry.
func (q *Queue) failed(key string) time.Duration {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.failures[key]++
	return q.backoff.delay(q.failures[key])
}

// forget resets key's failures after a success.
func (q *Queue) forget(key string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.failures, key)
}

// Close stops the queue: waiting workers return, timers are cancelled.
func (q *Queue) Close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	for k, t := range q.timers {
		t.timer.Stop()
		delete(q.timers, k)
	}
	q.cond.Broadcast()
}

// Run reconciles keys from q with workers goroutines until ctx ends, then closes q and waits
// for the reconciles under way.
func Run(ctx context.Context, q *Queue, r Reconciler, workers int, logger *slog.Logger) {
	var wg sync.WaitGroup
	for range max(workers, 1) {
		wg.Go(func() {
			for {
				key, ok := q.get()
				if !ok {
					return
				}
				res, err := r.Reconcile(ctx, key)
				switch {
				case ctx.Err() != nil:
				case err != nil:
					d := q.failed(key)
					logger.Warn("reconcile failed", "key", key, "retry_in", d, "err", err)
					q.AddAfter(key, d)
				default:
					q.forget(key)
					if res.RequeueAfter > 0 {
						q.AddAfter(key, res.RequeueAfter)
					}
				}
				q.done(key)
			}
		})
	}
	<-ctx.Done()
	q.Close()
	wg.Wait()
}
