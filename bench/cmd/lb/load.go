package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"
)

// result is one load run's outcome.
type result struct {
	requests, failed int
	elapsed          time.Duration
	p50, p99         time.Duration
}

func (r result) rps() float64 { return float64(r.requests) / r.elapsed.Seconds() }

// samples gathers what the load workers measured.
type samples struct {
	mu     sync.Mutex
	all    []time.Duration
	failed int
}

// worker is one load worker's own record, merged into samples when it ends.
type worker struct {
	lat    []time.Duration
	failed int
}

// get sends one request and records it, unless it began before warm (the warm-up).
func (w *worker) get(c *http.Client, url string, warm time.Time) {
	t0 := time.Now()
	ok := get(c, url)
	switch {
	case t0.Before(warm):
	case !ok:
		w.failed++
	default:
		w.lat = append(w.lat, time.Since(t0))
	}
}

func (s *samples) add(w *worker) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.all = append(s.all, w.lat...)
	s.failed += w.failed
}

// result summarises the run that began (after its warm-up) at start.
func (s *samples) result(start time.Time) result {
	res := result{elapsed: time.Since(start), requests: len(s.all), failed: s.failed}
	slices.Sort(s.all)
	if len(s.all) > 0 {
		res.p50 = s.all[len(s.all)/2]
		res.p99 = s.all[len(s.all)*99/100]
	}
	return res
}

// runLoad sends GETs from n clients to url for d (after a short warm-up), each client on its
// own transport: one kept-alive connection, or a new connection per request.
func runLoad(ctx context.Context, url string, n int, keepAlive bool, d time.Duration) result {
	var s samples
	warm := time.Now().Add(300 * time.Millisecond)
	end := warm.Add(d)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			tr := &http.Transport{
				DisableKeepAlives:   !keepAlive,
				MaxIdleConnsPerHost: 1,
				DialContext:         (&net.Dialer{}).DialContext,
			}
			defer tr.CloseIdleConnections()
			c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
			w := &worker{lat: make([]time.Duration, 0, 1<<14)}
			for ctx.Err() == nil && !time.Now().After(end) {
				w.get(c, url, warm)
			}
			s.add(w)
		})
	}
	wg.Wait()
	return s.result(warm)
}

// runPaced sends rate requests per second for d from workers clients (keep-alive), each on a
// fixed schedule, so that every peer is measured under the same offered load: the latency
// figures compare what each path adds, not how each queues when saturated.
func runPaced(ctx context.Context, url string, workers, rate int, d time.Duration) result {
	var s samples
	gap := time.Duration(float64(time.Second) * float64(workers) / float64(rate))
	start := time.Now().Add(300 * time.Millisecond) // warm-up before
	end := start.Add(d)
	var wg sync.WaitGroup
	for i := range workers {
		wg.Go(func() {
			c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}, Timeout: 10 * time.Second}
			next := time.Now().Add(gap * time.Duration(i) / time.Duration(workers))
			w := &worker{}
			for ctx.Err() == nil && next.Before(end) {
				time.Sleep(time.Until(next))
				next = next.Add(gap)
				w.get(c, url, start)
			}
			s.add(w)
		})
	}
	wg.Wait()
	return s.result(start)
}

func get(c *http.Client, url string) bool {
	resp, err := c.Get(url)
	if err != nil {
		return false
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return err == nil && resp.StatusCode == 200
}

// failover kills victim while n clients send requests through url, and returns the time from
// the kill to the sending of the last request that failed (the proxy still sent it to the dead
// target; HAProxy holds such requests for its connect retries before failing them), and how
// many failed.
func failover(ctx context.Context, url string, n int, victim *backend, settle time.Duration) (time.Duration, int) {
	var mu sync.Mutex
	var last time.Time
	failed := 0
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}, Timeout: 10 * time.Second}
			for {
				select {
				case <-stop:
					return
				default:
				}
				sent := time.Now()
				if !get(c, url) {
					mu.Lock()
					failed++
					if sent.After(last) {
						last = sent
					}
					mu.Unlock()
				}
			}
		})
	}
	time.Sleep(500 * time.Millisecond)
	mu.Lock()
	failed, last = 0, time.Time{}
	mu.Unlock()
	killed := time.Now()
	victim.kill()
	time.Sleep(settle)
	close(stop)
	wg.Wait()
	if last.IsZero() {
		return 0, 0
	}
	return last.Sub(killed), failed
}
