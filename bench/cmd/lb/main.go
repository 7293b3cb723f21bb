// Command lb measures gantry's load balancer data plane (internal/lb) against HAProxy in front
// of the same in-process Go backends, same run: requests per second and p50/p99 latency with
// keep-alive on and off (saturated by closed-loop clients), the p99 each proxy adds over going
// direct at the same offered rate, and how long each keeps sending requests to a backend that
// was killed (same health-check interval and thresholds). GANTRY_LB_CPUPROFILE=file profiles
// gantry's side.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"
)

// The goals of issue 5.
const (
	throughputGoal = 0.8 // gantry rps / haproxy rps, at least
	addedP99Goal   = 1.2 // gantry added p99 / haproxy added p99, at most
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "-serve-lb" {
		if err := serveLB(); err != nil {
			fmt.Fprintln(os.Stderr, "serve-lb:", err)
			os.Exit(1)
		}
		return
	}
	haproxy := flag.String("haproxy", "haproxy", "the haproxy command (the peer)")
	clients := flag.Int("c", 32, "concurrent clients")
	dur := flag.Duration("d", 2*time.Second, "measured duration of each run")
	nrounds := flag.Int("rounds", 5, "rounds of interleaved runs; each figure is the median round's")
	flag.IntVar(&failovers, "failovers", 3, "failover runs per proxy")
	flag.StringVar(&phases, "phases", "saturated,latency,failover", "which measurements to run")
	backends := flag.Int("backends", 2, "backends behind each proxy")
	bodySize := flag.Int("body", 128, "response body bytes")
	gogc = flag.String("lb-gogc", "", "GOGC for gantry's load balancer process (empty: Go's default, 100)")
	rate := flag.Int("rate", 2000, "requests per second offered to each peer in the latency runs")
	flag.Parse()
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	if err := run(ctx, *haproxy, *clients, *dur, *nrounds, *backends, *bodySize, *rate); err != nil {
		fmt.Fprintln(os.Stderr, "bench lb:", err)
		os.Exit(1)
	}
}

var (
	gogc      *string
	failovers int
	phases    string
)

func phase(name string) bool { return slices.Contains(strings.Split(phases, ","), name) }

func freePort() (netip.AddrPort, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return netip.AddrPort{}, err
	}
	defer ln.Close()
	return netip.MustParseAddrPort(ln.Addr().String()), nil
}

type peer struct {
	name string
	url  string
}

func run(ctx context.Context, haproxyBin string, clients int, dur time.Duration, rounds, nb, bodySize, rate int) error {
	var bs []*backend
	for range nb {
		b, err := startBackend(bodySize)
		if err != nil {
			return err
		}
		bs = append(bs, b)
	}
	hs := healthSettings{interval: time.Second, timeout: 500 * time.Millisecond, rise: 2, fall: 2}
	haAddr, err := freePort()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "bench-lb-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	stopHA, err := startHAProxy(ctx, haproxyBin, dir, haAddr, bs, hs)
	if err != nil {
		return err
	}
	defer stopHA()
	gAddr, err := freePort()
	if err != nil {
		return err
	}
	stopG, err := startGantryLB(ctx, gAddr, bs, hs, *gogc)
	if err != nil {
		return err
	}
	defer stopG()
	time.Sleep(3 * time.Second) // both see every backend healthy

	fmt.Printf("lb: %d clients, %d backends (%d-byte bodies), %s per run, median of %d rounds (peers rotate each round); %s\n",
		clients, nb, bodySize, dur, rounds, loadAverage())
	peers := []peer{
		{"direct", "http://" + bs[0].addr.String() + "/"},
		{"haproxy", "http://" + haAddr.String() + "/"},
		{"gantry", "http://" + gAddr.String() + "/"},
	}
	for _, keepAlive := range []bool{true, false} {
		if !phase("saturated") {
			break
		}
		rs := measure(peers, rounds, func(p peer) result { return runLoad(ctx, p.url, clients, keepAlive, dur) })
		report(keepAlive, rs)
	}
	if phase("latency") {
		rs := measure(peers, rounds, func(p peer) result { return runPaced(ctx, p.url, 16, rate, dur) })
		reportLatency(rate, rs)
	}

	if phase("failover") {
		if err := measureFailover(ctx, peers[1:], clients, bs[len(bs)-1], hs); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// measureFailover kills victim under load through each proxy, failovers times, and prints
// the median time from the kill to the last request sent to it.
func measureFailover(ctx context.Context, peers []peer, clients int, victim *backend, hs healthSettings) error {
	fmt.Printf("\nfailover: a backend killed under load (%d clients, keep-alive); check every %s, timeout %s, fall %d; median of %d\n",
		clients, hs.interval, hs.timeout, hs.fall, failovers)
	fmt.Printf("  %-8s %24s %10s\n", "", "last request to it sent", "failures")
	var fo [2]time.Duration
	for i, p := range peers {
		var ds []time.Duration
		var ns []int
		for range failovers {
			d, n := failover(ctx, p.url, clients, victim, 4*time.Second)
			ds, ns = append(ds, d), append(ns, n)
			if err := victim.restart(); err != nil {
				return err
			}
			time.Sleep(hs.interval*time.Duration(hs.rise+1) + time.Second) // healthy again everywhere
		}
		fo[i] = median(ds)
		fmt.Printf("  %-8s %21.0f ms %10d   (runs: %v)\n", p.name, ms(fo[i]), median(ns), ds)
	}
	if fo[0] > 0 {
		fmt.Printf("  gantry/haproxy %.2fx\n", float64(fo[1])/float64(fo[0]))
	}
	return nil
}

// loadAverage describes the machine's load (the run shares it with whatever else runs).
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if err != nil || len(f) < 3 {
		return "load average unknown"
	}
	return fmt.Sprintf("load average %s %s %s on %d CPUs", f[0], f[1], f[2], runtime.NumCPU())
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// rounds holds each peer's result per round.
type rounds map[string][]result

// measure runs f for every peer, rounds times, rotating the order each round so that drift
// in the machine's load falls on every peer alike.
func measure(peers []peer, n int, f func(peer) result) rounds {
	rs := rounds{}
	for i := range n {
		for j := range peers {
			p := peers[(i+j)%len(peers)]
			rs[p.name] = append(rs[p.name], f(p))
		}
	}
	return rs
}

func median[T int | float64 | time.Duration](xs []T) T {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// med returns a figure's median over the rounds.
func (rs rounds) med(name string, fig func(result) float64) float64 {
	var xs []float64
	for _, r := range rs[name] {
		xs = append(xs, fig(r))
	}
	return median(xs)
}

// ratio returns the median over the rounds of fig(a)/fig(b), each round's pair measured
// back to back.
func (rs rounds) ratio(a, b string, fig func(result) float64) float64 {
	var xs []float64
	for i := range rs[a] {
		xs = append(xs, fig(rs[a][i])/fig(rs[b][i]))
	}
	return median(xs)
}

func failedSum(r []result) int {
	n := 0
	for _, x := range r {
		n += x.failed
	}
	return n
}

func report(keepAlive bool, rs rounds) {
	mode := "keep-alive"
	if !keepAlive {
		mode = "new connection per request"
	}
	rps := func(r result) float64 { return r.rps() }
	p50 := func(r result) float64 { return ms(r.p50) }
	p99 := func(r result) float64 { return ms(r.p99) }
	fmt.Printf("\nsaturated, %s\n  %-24s %9s %9s %9s %8s\n", mode, "", "req/s", "p50 ms", "p99 ms", "failed")
	for _, name := range []string{"direct", "haproxy", "gantry"} {
		fmt.Printf("  %-24s %9.0f %9.3f %9.3f %8d\n", name, rs.med(name, rps), rs.med(name, p50), rs.med(name, p99), failedSum(rs[name]))
	}
	fmt.Printf("  gantry/haproxy throughput %.2fx (goal >= %.1fx)\n", rs.ratio("gantry", "haproxy", rps), throughputGoal)
}

func reportLatency(rate int, rs rounds) {
	p50 := func(r result) float64 { return ms(r.p50) }
	p99 := func(r result) float64 { return ms(r.p99) }
	fmt.Printf("\nlatency at %d req/s offered to each (16 keep-alive clients)\n  %-24s %9s %9s %13s %8s\n",
		rate, "", "p50 ms", "p99 ms", "added p99 ms", "failed")
	// added p99 per round: the proxy's p99 less the direct run's of the same round.
	added := func(name string) []float64 {
		var xs []float64
		for i, r := range rs[name] {
			xs = append(xs, ms(r.p99-rs["direct"][i].p99))
		}
		return xs
	}
	for _, name := range []string{"direct", "haproxy", "gantry"} {
		a := "-"
		if name != "direct" {
			a = fmt.Sprintf("%.3f", median(added(name)))
		}
		fmt.Printf("  %-24s %9.3f %9.3f %13s %8d\n", name, rs.med(name, p50), rs.med(name, p99), a, failedSum(rs[name]))
	}
	ga, ha := median(added("gantry")), median(added("haproxy"))
	if ha > 0 {
		fmt.Printf("  gantry/haproxy added p99 %.2fx (goal <= %.1fx); p50 %.2fx\n", ga/ha, addedP99Goal, rs.ratio("gantry", "haproxy", p50))
	} else {
		fmt.Printf("  gantry/haproxy added p99: haproxy adds none measurable (gantry adds %.3f ms)\n", ga)
	}
}
