package lb

import (
	"cmp"
	"crypto/tls"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gantry-dev/gantry/internal/apierr"
)

const defaultIdleTimeout = 60 * time.Second

// snapshot is a Config compiled for serving: listeners by key, rules sorted and compiled,
// target groups resolved to their runtime state.
type snapshot struct {
	listeners map[listenerKey]*compiledListener
	groups    map[string]*group
}

type listenerKey struct {
	lbID string
	addr netip.AddrPort
}

type compiledListener struct {
	key      listenerKey
	id       string
	vpc      string
	protocol Protocol
	idle     time.Duration
	port     string          // for X-Forwarded-Port
	rules    []*compiledRule // by priority, default last
	tls      *tls.Config     // HTTPS only
}

type compiledRule struct {
	id       string
	priority int
	conds    []compiledCondition
	action   Action
	forward  *compiledForward
}

type compiledForward struct {
	groups      []*group
	weights     []int
	total       int
	sticky      bool
	stickyFor   time.Duration
	stickyByKey map[string]*group
}

// validate checks cfg without side effects; every problem is reported, joined.
func validate(cfg Config) error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, apierr.Errorf(apierr.InvalidParameter, format, args...))
	}
	groups := map[string]bool{}
	for _, tg := range cfg.TargetGroups {
		if tg.ID == "" || groups[tg.ID] {
			bad("target group ID %q is empty or repeated", tg.ID)
		}
		groups[tg.ID] = true
		for _, err := range validateGroup(tg) {
			bad("target group %q: %v", tg.ID, err)
		}
	}
	lbs := map[string]bool{}
	for _, b := range cfg.LoadBalancers {
		if b.ID == "" || lbs[b.ID] {
			bad("load balancer ID %q is empty or repeated", b.ID)
		}
		lbs[b.ID] = true
		if b.IdleTimeout < 0 {
			bad("load balancer %q: idle timeout %v is negative", b.ID, b.IdleTimeout)
		}
		addrs := map[netip.AddrPort]bool{}
		for _, ls := range b.Listeners {
			if !ls.Addr.IsValid() || addrs[ls.Addr] {
				bad("load balancer %q: listener %q address %v is invalid or repeated", b.ID, ls.ID, ls.Addr)
			}
			addrs[ls.Addr] = true
			for _, err := range validateListener(ls, groups) {
				bad("load balancer %q listener %q: %v", b.ID, ls.ID, err)
			}
		}
	}
	return errors.Join(errs...)
}

func validateGroup(tg TargetGroup) []error {
	var errs []error
	if tg.Protocol != HTTP && tg.Protocol != HTTPS {
		errs = append(errs, fmt.Errorf("protocol %q is not one of HTTP, HTTPS", tg.Protocol))
	}
	if tg.Algorithm != "" && tg.Algorithm != RoundRobin && tg.Algorithm != LeastOutstandingRequests {
		errs = append(errs, fmt.Errorf("algorithm %q is not one of round_robin, least_outstanding_requests", tg.Algorithm))
	}
	if s := tg.Stickiness; s.Enabled {
		if s.Type != LBCookie && s.Type != AppCookie {
			errs = append(errs, fmt.Errorf("stickiness type %q is not one of lb_cookie, app_cookie", s.Type))
		}
		if s.Type == AppCookie && s.CookieName == "" {
			errs = append(errs, errors.New("app_cookie stickiness needs a cookie name"))
		}
	}
	if hc := tg.HealthCheck; hc.Enabled {
		if hc.Protocol != HTTP && hc.Protocol != HTTPS {
			errs = append(errs, fmt.Errorf("health check protocol %q is not one of HTTP, HTTPS", hc.Protocol))
		}
		if hc.Interval <= 0 || hc.Timeout <= 0 || hc.HealthyThreshold < 1 || hc.UnhealthyThreshold < 1 {
			errs = append(errs, errors.New("health check interval, timeout and thresholds must be positive"))
		}
		if hc.Port < 0 || hc.Port > 65535 {
			errs = append(errs, fmt.Errorf("health check port %d is not in 0..65535", hc.Port))
		}
		if _, err := parseMatcher(hc.Matcher); err != nil {
			errs = append(errs, err)
		}
	}
	for _, t := range tg.Targets {
		p := t.Port
		if p == 0 {
			p = tg.Port
		}
		if !t.IP.IsValid() || p < 1 || p > 65535 {
			errs = append(errs, fmt.Errorf("target %v port %d is invalid", t.IP, p))
		}
	}
	return errs
}

func validateListener(ls Listener, groups map[string]bool) []error {
	var errs []error
	switch ls.Protocol {
	case HTTP:
	case HTTPS:
		if len(ls.Certificates) == 0 {
			errs = append(errs, errors.New("HTTPS needs at least one certificate"))
		}
	default:
		errs = append(errs, fmt.Errorf("protocol %q is not one of HTTP, HTTPS", ls.Protocol))
	}
	defaults := 0
	prios := map[int]bool{}
	for _, r := range ls.Rules {
		if r.Default {
			defaults++
		} else {
			if r.Priority < 1 || r.Priority > 50000 || prios[r.Priority] {
				errs = append(errs, fmt.Errorf("rule %q priority %d is repeated or not in 1..50000", r.ID, r.Priority))
			}
			prios[r.Priority] = true
			for _, c := range r.Conditions {
				if _, err := compileCondition(c); err != nil {
					errs = append(errs, fmt.Errorf("rule %q: %w", r.ID, err))
				}
			}
		}
		if err := validateAction(r.Action, groups); err != nil {
			errs = append(errs, fmt.Errorf("rule %q: %w", r.ID, err))
		}
	}
	if defaults > 1 {
		errs = append(errs, fmt.Errorf("%d default rules, at most 1", defaults))
	}
	return errs
}

func validateAction(a Action, groups map[string]bool) error {
	switch a.Type {
	case Forward:
		f := a.Forward
		if f == nil || len(f.TargetGroups) == 0 {
			return errors.New("forward action needs target groups")
		}
		for _, wg := range f.TargetGroups {
			if !groups[wg.ID] {
				return fmt.Errorf("forward to unknown target group %q", wg.ID)
			}
			if wg.Weight < 0 || wg.Weight > 999 {
				return fmt.Errorf("target group %q weight %d is not in 0..999", wg.ID, wg.Weight)
			}
		}
	case Redirect:
		r := a.Redirect
		if r == nil || (r.StatusCode != 301 && r.StatusCode != 302) {
			return errors.New("redirect action needs status code 301 or 302")
		}
		switch strings.ToUpper(r.Protocol) {
		case "", "HTTP", "HTTPS", "#{PROTOCOL}":
		default:
			return fmt.Errorf("redirect protocol %q is not one of HTTP, HTTPS, #{protocol}", r.Protocol)
		}
		if r.Path != "" && !strings.HasPrefix(r.Path, "/") {
			return fmt.Errorf("redirect path %q must start with /", r.Path)
		}
	case FixedResponse:
		f := a.FixedResponse
		if f == nil {
			return errors.New("fixed-response action needs a response")
		}
		if c := f.StatusCode / 100; c != 2 && c != 4 && c != 5 {
			return fmt.Errorf("fixed-response status code %d is not 2XX, 4XX or 5XX", f.StatusCode)
		}
		if len(f.Body) > 1024 {
			return fmt.Errorf("fixed-response body of %d bytes exceeds 1024", len(f.Body))
		}
	default:
		return fmt.Errorf("action type %q is not one of forward, redirect, fixed-response", a.Type)
	}
	return nil
}

// compile turns a validated cfg into a snapshot over the runtime groups.
func compile(cfg Config, groups map[string]*group) *snapshot {
	s := &snapshot{listeners: map[listenerKey]*compiledListener{}, groups: groups}
	for _, b := range cfg.LoadBalancers {
		idle := b.IdleTimeout
		if idle == 0 {
			idle = defaultIdleTimeout
		}
		for _, ls := range b.Listeners {
			cl := &compiledListener{
				key:      listenerKey{lbID: b.ID, addr: ls.Addr},
				id:       ls.ID,
				vpc:      b.VPC,
				protocol: ls.Protocol,
				idle:     idle,
				port:     strconv.Itoa(int(ls.Addr.Port())),
			}
			for _, r := range ls.Rules {
				cl.rules = append(cl.rules, compileRule(r, groups))
			}
			slices.SortStableFunc(cl.rules, func(a, b *compiledRule) int { return cmp.Compare(a.priority, b.priority) })
			if ls.Protocol == HTTPS {
				cl.tls = tlsConfig(ls.Certificates, b.HTTP2)
			}
			s.listeners[cl.key] = cl
		}
	}
	return s
}

func compileRule(r Rule, groups map[string]*group) *compiledRule {
	cr := &compiledRule{id: r.ID, priority: r.Priority, action: r.Action}
	if r.Default {
		cr.priority = 1 << 30
	} else {
		for _, c := range r.Conditions {
			cc, _ := compileCondition(c) // validated
			cr.conds = append(cr.conds, cc)
		}
	}
	if f := r.Action.Forward; r.Action.Type == Forward {
		cf := &compiledForward{sticky: f.Stickiness, stickyFor: f.StickinessDuration, stickyByKey: map[string]*group{}}
		for _, wg := range f.TargetGroups {
			g := groups[wg.ID]
			cf.groups = append(cf.groups, g)
			cf.weights = append(cf.weights, wg.Weight)
			cf.total += wg.Weight
			cf.stickyByKey[wg.ID] = g
		}
		cr.forward = cf
	}
	return cr
}

func tlsConfig(certs []tls.Certificate, h2 bool) *tls.Config {
	protos := []string{"http/1.1"}
	if h2 {
		protos = []string{"h2", "http/1.1"}
	}
	return &tls.Config{Certificates: certs, NextProtos: protos, MinVersion: tls.VersionTLS12}
}
