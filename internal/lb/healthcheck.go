package lb

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// checkResult is one health check's outcome.
type checkResult struct {
	ok     bool
	reason string // when !ok
	desc   string
}

// startCheckLocked (re)starts t's health checks with the group's current settings.
func (g *group) startCheckLocked(t *target) {
	if t.stopCheck != nil {
		t.stopCheck()
		t.stopCheck = nil
	}
	hc := g.cfg.HealthCheck
	if !hc.Enabled || g.closed {
		return
	}
	ctx, cancel := context.WithCancel(g.lb.ctx)
	t.stopCheck = cancel
	port := hc.Port
	if port == 0 {
		port = int(t.addr.Port())
	}
	c := &checker{
		hc:   hc,
		addr: netip.AddrPortFrom(t.addr.Addr(), uint16(port)),
		vpc:  g.cfg.VPC,
		dial: g.lb.opts.Dial,
	}
	c.codes, _ = parseMatcher(hc.Matcher) // validated
	go c.run(ctx, func(r checkResult) { g.record(t, r) })
}

// record applies one check result to t's state machine. AWS: a newly registered target
// needs one passing check to turn healthy; an unhealthy one needs HealthyThreshold in a row;
// UnhealthyThreshold failures in a row make an initial or healthy target unhealthy.
func (g *group) record(t *target, r checkResult) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if t.draining.Load() || g.closed {
		return
	}
	hc := g.cfg.HealthCheck
	if r.ok {
		t.okRun++
		t.failRun = 0
	} else {
		t.failRun++
		t.okRun = 0
	}
	switch {
	case r.ok && t.state == HealthInitial:
		g.setHealthLocked(t, HealthHealthy, "", "")
	case r.ok && t.state == HealthUnhealthy && t.okRun >= hc.HealthyThreshold:
		g.setHealthLocked(t, HealthHealthy, "", "")
	case !r.ok && t.state != HealthUnhealthy && t.failRun >= hc.UnhealthyThreshold:
		g.setHealthLocked(t, HealthUnhealthy, r.reason, r.desc)
	case !r.ok && t.state == HealthUnhealthy:
		g.setHealthLocked(t, HealthUnhealthy, r.reason, r.desc) // the cause may change
	case !r.ok && t.state == HealthInitial:
		g.setHealthLocked(t, HealthInitial, ReasonInitialHealthChecking, "Initial health checks in progress")
	}
	g.rebuildLocked()
}

type checker struct {
	hc    HealthCheck
	addr  netip.AddrPort
	vpc   string
	dial  func(ctx context.Context, vpc string, addr netip.AddrPort) (net.Conn, error)
	codes []codeRange
}

// run checks at once, then every Interval, until ctx ends.
func (c *checker) run(ctx context.Context, report func(checkResult)) {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return c.dial(ctx, c.vpc, c.addr)
		},
		DisableKeepAlives:  true, // AWS closes each health check's connection
		DisableCompression: true,
		TLSClientConfig:    &tls.Config{InsecureSkipVerify: true},
	}
	defer tr.CloseIdleConnections()
	scheme := "http"
	if c.hc.Protocol == HTTPS {
		scheme = "https"
	}
	path := c.hc.Path
	if path == "" {
		path = "/"
	}
	url := scheme + "://" + c.addr.String() + path
	tick := time.NewTicker(c.hc.Interval)
	defer tick.Stop()
	for {
		r := c.check(ctx, tr, url)
		if ctx.Err() != nil {
			return
		}
		report(r)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (c *checker) check(ctx context.Context, tr *http.Transport, url string) checkResult {
	ctx, cancel := context.WithTimeout(ctx, c.hc.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return checkResult{reason: ReasonFailedHealthChecks, desc: "Health checks failed"}
	}
	req.Header.Set("User-Agent", "ELB-HealthChecker/2.0")
	resp, err := tr.RoundTrip(req)
	if err != nil {
		var ne net.Error
		if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
			return checkResult{reason: ReasonTimeout, desc: "Request timed out"}
		}
		return checkResult{reason: ReasonFailedHealthChecks, desc: "Health checks failed"}
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if matchCode(c.codes, resp.StatusCode) {
		return checkResult{ok: true}
	}
	return checkResult{
		reason: ReasonResponseCodeMismatch,
		desc:   fmt.Sprintf("Health checks failed with these codes: [%d]", resp.StatusCode),
	}
}

type codeRange struct{ lo, hi int }

// parseMatcher parses an HTTP code matcher: "200", "200,202", "200-299"; "" is "200".
func parseMatcher(m string) ([]codeRange, error) {
	if m == "" {
		m = "200"
	}
	var out []codeRange
	for part := range strings.SplitSeq(m, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, err1 := strconv.Atoi(lo)
		b := a
		var err2 error
		if isRange {
			b, err2 = strconv.Atoi(hi)
		}
		if err1 != nil || err2 != nil || a < 100 || b > 599 || a > b {
			return nil, fmt.Errorf("health check matcher %q is not codes (100-599) like 200, 200,202 or 200-299", m)
		}
		out = append(out, codeRange{a, b})
	}
	return out, nil
}

func matchCode(rs []codeRange, code int) bool {
	for _, r := range rs {
		if code >= r.lo && code <= r.hi {
			return true
		}
	}
	return false
}
