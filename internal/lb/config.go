// Package lb is gantry's Application Load Balancer data plane: it serves immutable config snapshots of listeners, rules and target groups.
package lb

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"net/netip"
	"time"
)

// Config is one complete, immutable snapshot of every load balancer and target group this LB
// serves. Apply swaps it in atomically; the LB never modifies it (slices are not copied, so the
// caller must not modify them after Apply either).
type Config struct {
	LoadBalancers []LoadBalancer
	TargetGroups  []TargetGroup
}

// Protocol is a listener's or target group's protocol.
type Protocol string

// Protocols.
const (
	HTTP  Protocol = "HTTP"
	HTTPS Protocol = "HTTPS"
)

// LoadBalancer is one Application Load Balancer.
type LoadBalancer struct {
	ID  string // opaque (lbsync uses the ARN); passed back to Options.Listen
	VPC string // passed to Options.Listen and Options.Dial

	// Listeners: one entry per (listener, address) pair. A listener the LB serves on several
	// addresses appears several times with the same ID, Protocol, Certificates and Rules and a
	// different Addr. (ID, Addr) must be unique within the load balancer.
	Listeners []Listener

	// IdleTimeout is idle_timeout.timeout_seconds: how long a client connection may sit idle,
	// and how long the LB waits for a target's response headers (counted from the last
	// request body byte) before answering 504. Zero means AWS's default, 60s. A change
	// applies to client connections accepted after it; the address keeps accepting.
	IdleTimeout time.Duration

	// HTTP2 is routing.http2.enabled (AWS's default is true; the zero value here is false, so
	// lbsync must set it): offer h2 by ALPN on HTTPS listeners.
	HTTP2 bool
}

// Listener is one listener on one address.
type Listener struct {
	ID       string // opaque (the listener ARN), for logs
	Addr     netip.AddrPort
	Protocol Protocol // HTTP or HTTPS

	// Certificates for HTTPS: the first is the default; SNI picks another whose leaf matches
	// the requested server name (crypto/tls's NameToCertificate rules, wildcards included).
	Certificates []tls.Certificate

	// Rules in any order: the LB evaluates them by ascending Priority, the one with Default
	// set last. A listener without a default rule answers 503 when nothing matches.
	Rules []Rule
}

// Rule is a listener rule: when every condition matches, its action runs.
type Rule struct {
	ID         string // opaque (the rule ARN), for logs
	Priority   int    // 1..50000, lowest first; ignored for the default rule
	Default    bool   // the listener's default action; its Conditions are ignored
	Conditions []Condition
	Action     Action
}

// ConditionField names what a condition tests, as ELBv2 names it.
type ConditionField string

// Condition fields.
const (
	PathPattern       ConditionField = "path-pattern"
	HostHeader        ConditionField = "host-header"
	HTTPHeader        ConditionField = "http-header"
	HTTPRequestMethod ConditionField = "http-request-method"
	QueryString       ConditionField = "query-string"
	SourceIP          ConditionField = "source-ip"
)

// Condition is one rule condition. It matches when any of its values matches (values are
// OR'ed, conditions of a rule are AND'ed, as on AWS). Patterns use * (any run of characters)
// and ? (one character).
type Condition struct {
	Field ConditionField

	// Values: the patterns for path-pattern (case-sensitive, matched against the path without
	// the query), host-header (case-insensitive, matched against the Host without its port),
	// http-header (case-insensitive, against each value of the header HeaderName) and
	// http-request-method (exact, case-sensitive: "GET", "POST", ...).
	Values []string

	HeaderName string // http-header only

	QueryValues []QueryValue // query-string only

	SourceIPs []netip.Prefix // source-ip only: the client's address (not X-Forwarded-For)
}

// QueryValue is one query-string pattern pair: both sides are case-insensitive wildcard
// patterns; an empty Key matches any key (AWS's value-only form).
type QueryValue struct {
	Key   string
	Value string
}

// ActionType is what a rule does.
type ActionType string

// Action types.
const (
	Forward       ActionType = "forward"
	Redirect      ActionType = "redirect"
	FixedResponse ActionType = "fixed-response"
)

// Action is a rule's action; the member named by Type is set.
type Action struct {
	Type          ActionType
	Forward       *ForwardAction
	Redirect      *RedirectAction
	FixedResponse *FixedResponseAction
}

// ForwardAction sends the request to one of its target groups, picked by weighted random.
type ForwardAction struct {
	TargetGroups []WeightedGroup

	// Stickiness is target-group stickiness: the LB sets the AWSALBTG cookie naming the
	// group chosen, and honours it for Duration (1s..7d).
	Stickiness         bool
	StickinessDuration time.Duration
}

// WeightedGroup is a target group with its weight (0..999). A single group with weight 0 still
// receives traffic; with several, groups of weight 0 receive none.
type WeightedGroup struct {
	ID     string
	Weight int
}

// RedirectAction answers with a redirect. Each part may contain #{protocol}, #{host},
// #{port}, #{path} (without its leading slash, as on AWS) and #{query}; an empty part takes
// AWS's default (#{protocol}, #{host}, #{port}, /#{path}, #{query}). Protocol is "HTTP",
// "HTTPS" or "#{protocol}"; Path must start with "/"; Query has no leading "?".
type RedirectAction struct {
	Protocol   string
	Host       string
	Port       string
	Path       string
	Query      string
	StatusCode int // 301 or 302
}

// FixedResponseAction answers with a fixed response.
type FixedResponseAction struct {
	StatusCode  int    // 2XX, 4XX or 5XX
	ContentType string // text/plain, text/css, text/html, application/javascript, application/json; empty: none
	Body        string // at most 1024 bytes
}

// Algorithm is load_balancing.algorithm.type.
type Algorithm string

// Algorithms.
const (
	RoundRobin               Algorithm = "round_robin"
	LeastOutstandingRequests Algorithm = "least_outstanding_requests"
)

// StickinessType is stickiness.type.
type StickinessType string

// Stickiness types.
const (
	LBCookie  StickinessType = "lb_cookie"  // the LB's own AWSALB cookie
	AppCookie StickinessType = "app_cookie" // follows the application's cookie (AWSALBAPP-0 carries the target)
)

// Stickiness is a target group's stickiness.* attributes.
type Stickiness struct {
	Enabled    bool
	Type       StickinessType
	Duration   time.Duration // lb_cookie.duration_seconds / app_cookie.duration_seconds
	CookieName string        // app_cookie.cookie_name
}

// TargetGroup is one target group of type ip.
type TargetGroup struct {
	ID       string // opaque (the ARN); referenced by WeightedGroup.ID and in events
	VPC      string // passed to Options.Dial
	Protocol Protocol
	Port     int // the traffic port for targets registered without one

	HealthCheck HealthCheck

	DeregistrationDelay time.Duration // deregistration_delay.timeout_seconds
	SlowStart           time.Duration // slow_start.duration_seconds; 0 = off
	Algorithm           Algorithm     // empty = round_robin
	Stickiness          Stickiness

	// Targets: registered targets. (IP, Port) identifies a target across Applies. A target
	// that disappears from the list, or turns Draining, drains; OnDrained reports the end.
	Targets []Target
}

// HealthCheck is a target group's health-check settings.
type HealthCheck struct {
	// Enabled false: no checks, targets are routable at once and reported as
	// HealthUnavailable with ReasonHealthCheckDisabled.
	Enabled            bool
	Protocol           Protocol // HTTP or HTTPS (certificates are not verified, as on AWS)
	Port               int      // 0 = the target's traffic port
	Path               string   // "" = "/"
	Interval           time.Duration
	Timeout            time.Duration
	HealthyThreshold   int
	UnhealthyThreshold int
	Matcher            string // HTTP codes: "200", "200-299", "200,202"; "" = "200"
}

// Target is one registered target.
type Target struct {
	IP       netip.Addr
	Port     int // 0 = the group's Port
	Draining bool
}

// HealthState is a target's health as DescribeTargetHealth names it.
type HealthState string

// Health states.
const (
	HealthInitial     HealthState = "initial"
	HealthHealthy     HealthState = "healthy"
	HealthUnhealthy   HealthState = "unhealthy"
	HealthUnavailable HealthState = "unavailable"
)

// Reason codes, as ELBv2 names them.
const (
	ReasonRegistrationInProgress = "Elb.RegistrationInProgress"
	ReasonInitialHealthChecking  = "Elb.InitialHealthChecking"
	ReasonResponseCodeMismatch   = "Target.ResponseCodeMismatch"
	ReasonTimeout                = "Target.Timeout"
	ReasonFailedHealthChecks     = "Target.FailedHealthChecks"
	ReasonHealthCheckDisabled    = "Target.HealthCheckDisabled"
)

// HealthEvent reports a target's health change (state, reason or description). Healthy
// events have empty Reason and Description.
type HealthEvent struct {
	Group       string // TargetGroup.ID
	Target      Target // with Port resolved (never 0) and Draining false
	State       HealthState
	Reason      string // one of the Reason constants, "" when healthy
	Description string // as AWS words it, e.g. "Health checks failed with these codes: [404]"
}

// Options are the LB's dependencies; every member has a default.
type Options struct {
	// Listen opens a listener's socket. Default: net.Listen("tcp", addr).
	Listen func(ctx context.Context, lbID, vpc string, addr netip.AddrPort) (net.Listener, error)

	// Dial connects to a target (traffic and health checks). Default: a net.Dialer.
	Dial func(ctx context.Context, vpc string, addr netip.AddrPort) (net.Conn, error)

	// OnHealth is called, never concurrently for one group, on every health change.
	OnHealth func(HealthEvent)

	// OnDrained is called once a draining (or removed) target has no request in flight,
	// or when the group's DeregistrationDelay has passed (in-flight requests are then cut).
	// Target.Port is resolved. A target removed and drained is forgotten afterwards. A
	// target first seen already Draining (say after a restart) is reported at once, once.
	// It is called for targets of a group that left the config too.
	OnDrained func(group string, t Target)

	Logger *slog.Logger
}
