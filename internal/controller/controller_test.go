package controller

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// TestQueueNeverRunsAKeyTwiceAtOnce adds the same keys from many goroutines while workers
// reconcile them: no key is ever reconciled concurrently, and every key added after its last
// reconcile started is reconciled again.
func TestQueueNeverRunsAKeyTwiceAtOnce(t *testing.T) {
	q := NewQueue(Backoff{})
	var mu sync.Mutex
	inFlight := map[string]bool{}
	calls := map[string]int{}
	var overlap atomic.Bool
	r := ReconcileFunc(func(ctx context.Context, key string) (Result, error) {
		mu.Lock()
		if inFlight[key] {
			overlap.Store(true)
		}
		inFlight[key] = true
		calls[key]++
		mu.Unlock()
		time.Sleep(time.Millisecond)
		mu.Lock()
		inFlight[key] = false
		mu.Unlock()
		return Result{}, nil
	})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { Run(ctx, q, r, 8, quiet); close(done) }()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := range 200 {
				q.Add([]string{"a", "b", "c"}[i%3])
			}
		})
	}
	wg.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for q.Len() > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	cancel()
	<-done
	if overlap.Load() {
		t.Error("a key was reconciled twice at once")
	}
	mu.Lock()
	defer mu.Unlock()
	for _, k := range []string{"a", "b", "c"} {
		if calls[k] == 0 || calls[k] > 400 {
			t.Errorf("key %s reconciled %d times; want at least once and fewer than it was added (deduplicated)", k, calls[k])
		}
	}
}

// TestRunRetriesWithBackoffAndRequeues: an error retries after the backoff, doubling; a
// RequeueAfter comes back after its delay.
func TestRunRetriesWithBackoffAndRequeues(t *testing.T) {
	q := NewQueue(Backoff{Min: 20 * time.Millisecond, Max: time.Second})
	var mu sync.Mutex
	var times []time.Time
	r := ReconcileFunc(func(ctx context.Context, key string) (Result, error) {
		mu.Lock()
		defer mu.Unlock()
		times = append(times, time.Now())
		switch len(times) {
		case 1, 2, 3:
			return Result{}, errors.New("not yet")
		case 4:
			return Result{RequeueAfter: 30 * time.Millisecond}, nil
		}
		return Result{}, nil
	})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { Run(ctx, q, r, 2, quiet); close(done) }()
	q.Add("k")
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		n := len(times)
		mu.Unlock()
		if n >= 5 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	if len(times) != 5 {
		t.Fatalf("%d reconciles, want 5", len(times))
	}
	for i, min := range []time.Duration{20, 40, 80, 30} {
		if gap := times[i+1].Sub(times[i]); gap < min*time.Millisecond {
			t.Errorf("gap %d = %v, want at least %v", i, gap, min*time.Millisecond)
		}
	}
}

func TestAddAfterKeepsTheEarlierDeadline(t *testing.T) {
	q := NewQueue(Backoff{})
	defer q.Close()
	q.AddAfter("k", 20*time.Millisecond)
	q.AddAfter("k", time.Hour)
	time.Sleep(100 * time.Millisecond)
	if q.Len() != 1 {
		t.Fatalf("queue length %d, want the key due after 20ms", q.Len())
	}
	key, ok := q.get()
	if !ok || key != "k" {
		t.Fatalf("get = %q %v", key, ok)
	}
	q.done(key)
}
