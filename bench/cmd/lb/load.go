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

// runLoad sends GETs from n clients to url for d (after a short warm-up), each client on its
// own transport: one kept-alive connection, or a new connection per request.
func runLoad(ctx context.Context, url string, n int, keepAlive bool, d time.Duration) result {
	var mu sync.Mutex
	var all []time.Duration
	var res result
	warm := time.Now().Add(300 * time.Millisecond)
	start := warm
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
			lat := make([]time.Duration, 0, 1<<14)
			failed := 0
			for ctx.Err() == nil {
				t0 := time.Now()
				if t0.After(end) {
					break
				}
				ok := get(c, url)
				if t0.Before(warm) {
					continue
				}
				if !ok {
					failed++
					continue
				}
				lat = append(lat, time.Since(t0))
			}
			mu.Lock()
			all = append(all, lat...)
			res.failed += failed
			mu.Unlock()
		})
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	res.requests = len(all)
	slices.Sort(all)
	if len(all) > 0 {
		res.p50 = all[len(all)/2]
		res.p99 = all[len(all)*99/100]
	}
	return res
}

// runPaced sends rate requests per second for d from workers clients (keep-alive), each on a
// fixed schedule, so that every peer is measured under the same offered load: the latency
// figures compare what each path adds, not how each queues when saturated.
func runPaced(ctx context.Context, url string, workers, rate int, d time.Duration) result {
	var mu sync.Mutex
	var all []time.Duration
	var res result
	gap := time.Duration(float64(time.Second) * float64(workers) / float64(rate))
	start := time.Now().Add(300 * time.Millisecond) // warm-up before
	end := start.Add(d)
	var wg sync.WaitGroup
	for i := range workers {
		wg.Go(func() {
			c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}, Timeout: 10 * time.Second}
			next := time.Now().Add(gap * time.Duration(i) / time.Duration(workers))
			var lat []time.Duration
			failed := 0
			for ctx.Err() == nil && next.Before(end) {
				time.Sleep(time.Until(next))
				next = next.Add(gap)
				t0 := time.Now()
				ok := get(c, url)
				if t0.Before(start) {
					continue
				}
				if !ok {
					failed++
					continue
				}
				lat = append(lat, time.Since(t0))
			}
			mu.Lock()
			all = append(all, lat...)
			res.failed += failed
			mu.Unlock()
		})
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	res.requests = len(all)
	slices.Sort(all)
	if len(all) > 0 {
		res.p50 = all[len(all)/2]
		res.p99 = all[len(all)*99/100]
	}
	return res
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
