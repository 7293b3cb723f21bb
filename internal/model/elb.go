package model

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// Elastic Load Balancing (v2) domain types: Application Load Balancers, their listeners and
// rules, target groups and targets. Names and values are AWS's (botocore elbv2 2015-12-01).

// Load balancer types, schemes and states as ELBv2 reports them.
const (
	LoadBalancerTypeApplication = "application"

	SchemeInternetFacing = "internet-facing"
	SchemeInternal       = "internal"

	LoadBalancerProvisioning = "provisioning"
	LoadBalancerActive       = "active"
	LoadBalancerFailed       = "failed"

	IPAddressTypeIPv4 = "ipv4"
)

// Load balancer attribute keys (the ones gantry honours or shows; AWS's names).
const (
	AttrIdleTimeout          = "idle_timeout.timeout_seconds"
	AttrDeletionProtection   = "deletion_protection.enabled"
	AttrHTTP2Enabled         = "routing.http2.enabled"
	AttrDropInvalidHeaders   = "routing.http.drop_invalid_header_fields.enabled"
	AttrXFFHeaderProcessing  = "routing.http.xff_header_processing.mode"
	AttrPreserveHostHeader   = "routing.http.preserve_host_header.enabled"
	AttrXAmznTLSHeaders      = "routing.http.x_amzn_tls_version_and_cipher_suite.enabled"
	AttrXFFClientPort        = "routing.http.xff_client_port.enabled"
	AttrDesyncMitigationMode = "routing.http.desync_mitigation_mode"
	AttrWAFFailOpen          = "waf.fail_open.enabled"
	AttrAccessLogsEnabled    = "access_logs.s3.enabled"
	AttrAccessLogsBucket     = "access_logs.s3.bucket"
	AttrAccessLogsPrefix     = "access_logs.s3.prefix"
	AttrClientKeepAlive      = "client_keep_alive.seconds"
)

// Target group attribute keys.
const (
	AttrDeregistrationDelay     = "deregistration_delay.timeout_seconds"
	AttrSlowStart               = "slow_start.duration_seconds"
	AttrStickinessEnabled       = "stickiness.enabled"
	AttrStickinessType          = "stickiness.type"
	AttrStickinessLBCookie      = "stickiness.lb_cookie.duration_seconds"
	AttrStickinessAppCookieName = "stickiness.app_cookie.cookie_name"
	AttrStickinessAppCookieDur  = "stickiness.app_cookie.duration_seconds"
	AttrLBAlgorithm             = "load_balancing.algorithm.type"
	AttrCrossZone               = "load_balancing.cross_zone.enabled"
)

// LoadBalancer is an Application Load Balancer: one node (a requester-managed ENI) in each of
// its subnets, and one address on the host (HostAddress) on which the data plane listens for it.
type LoadBalancer struct {
	Scope                 Scope
	ARN                   string
	Name                  string
	Type                  string // application
	Scheme                string // internet-facing | internal
	VpcID                 string
	Nodes                 []LoadBalancerNode
	SecurityGroups        []string
	DNSName               string
	CanonicalHostedZoneID string
	State                 string // provisioning | active | failed
	StateReason           string
	IPAddressType         string // ipv4
	// HostAddress is the address on the host the data plane listens on for this load balancer,
	// allocated from --lb-address-pool.
	HostAddress string
	// Attributes hold every attribute with its current value (defaults filled in), AWS's keys.
	Attributes map[string]string
	Tags       []Tag
	CreatedAt  time.Time
}

// LoadBalancerNode is a load balancer's presence in one subnet: its ENI there and its address.
type LoadBalancerNode struct {
	SubnetID         string
	AvailabilityZone string
	ENIID            string
	PrivateIP        string
}

// ID returns the load balancer's id, the last part of its ARN.
func (lb LoadBalancer) ID() string { return lastPart(lb.ARN) }

// Target types and protocols.
const (
	TargetTypeIP       = "ip"
	TargetTypeInstance = "instance"
	TargetTypeLambda   = "lambda"
	TargetTypeALB      = "alb"

	ProtocolHTTP  = "HTTP"
	ProtocolHTTPS = "HTTPS"

	ProtocolVersionHTTP1 = "HTTP1"
	ProtocolVersionHTTP2 = "HTTP2"
	ProtocolVersionGRPC  = "GRPC"

	// HealthCheckTrafficPort is the HealthCheckPort that means "the target's own port".
	HealthCheckTrafficPort = "traffic-port"
)

// TargetGroup routes requests to registered targets (IP addresses of its VPC).
type TargetGroup struct {
	Scope           Scope
	ARN             string
	Name            string
	Protocol        string // HTTP | HTTPS
	ProtocolVersion string // HTTP1 | HTTP2 | GRPC
	Port            int32
	VpcID           string
	TargetType      string // ip
	IPAddressType   string // ipv4
	HealthCheck     TargetGroupHealthCheck
	Matcher         Matcher
	// Attributes hold every attribute with its current value (defaults filled in), AWS's keys.
	Attributes map[string]string
	Tags       []Tag
	CreatedAt  time.Time
}

// TargetGroupHealthCheck is a target group's active health check.
type TargetGroupHealthCheck struct {
	Enabled                 bool
	Protocol                string // HTTP | HTTPS
	Port                    string // "traffic-port" or a port number
	Path                    string
	IntervalSeconds         int32
	TimeoutSeconds          int32
	HealthyThresholdCount   int32
	UnhealthyThresholdCount int32
}

// Matcher says which response codes of a health check mean healthy: HTTPCode like "200",
// "200,202" or "200-299" (GRPCCode for GRPC target groups).
type Matcher struct {
	HTTPCode string
	GRPCCode string
}

// Listener accepts connections on a port of its load balancer.
type Listener struct {
	Scope           Scope
	ARN             string
	LoadBalancerARN string
	Port            int32
	Protocol        string // HTTP | HTTPS
	SslPolicy       string
	Certificates    []ListenerCertificate
	DefaultActions  []Action
	AlpnPolicy      []string
	Tags            []Tag
}

// ListenerCertificate is an ACM certificate of an HTTPS listener.
type ListenerCertificate struct {
	CertificateARN string
	IsDefault      bool
}

// Rule is a listener's routing rule; the default rule (IsDefault) holds the default actions
// and has no conditions.
type Rule struct {
	Scope       Scope
	ARN         string
	ListenerARN string
	Priority    int32 // 1-50000; 0 for the default rule
	IsDefault   bool
	Conditions  []RuleCondition
	Actions     []Action
	Tags        []Tag
}

// PriorityString is the rule's priority as ELBv2 shows it: a number, or "default".
func (r Rule) PriorityString() string {
	if r.IsDefault {
		return "default"
	}
	return fmt.Sprint(r.Priority)
}

// Rule condition fields.
const (
	ConditionHostHeader        = "host-header"
	ConditionPathPattern       = "path-pattern"
	ConditionHTTPHeader        = "http-header"
	ConditionHTTPRequestMethod = "http-request-method"
	ConditionQueryString       = "query-string"
	ConditionSourceIP          = "source-ip"
)

// RuleCondition is one condition of a rule. Values are the patterns of every field but
// query-string (host names, paths, header values, methods, CIDRs); HTTPHeaderName names the
// header of http-header; QueryStrings are the pairs of query-string (an empty Key matches any
// key). Patterns use * and ? wildcards as AWS's do.
type RuleCondition struct {
	Field          string
	Values         []string
	HTTPHeaderName string
	QueryStrings   []QueryStringKeyValue
}

// QueryStringKeyValue is one key=value pattern of a query-string condition.
type QueryStringKeyValue struct {
	Key   string
	Value string
}

// Action types.
const (
	ActionForward       = "forward"
	ActionRedirect      = "redirect"
	ActionFixedResponse = "fixed-response"
)

// Action is what a rule or a listener's default does with a request. Forward actions always
// carry a ForwardConfig (a single TargetGroupARN is normalised into one with weight 1).
type Action struct {
	Type                string
	Order               int32 // 1-50000; the last action of a list is the terminal one
	TargetGroupARN      string
	ForwardConfig       *ForwardConfig
	RedirectConfig      *RedirectConfig
	FixedResponseConfig *FixedResponseConfig
}

// ForwardConfig spreads requests over target groups by weight (0-999).
type ForwardConfig struct {
	TargetGroups []WeightedTargetGroup
	// Stickiness binds a client to a target group for DurationSeconds (1-604800).
	StickinessEnabled  bool
	StickinessDuration int32
}

// WeightedTargetGroup is one target group of a forward action.
type WeightedTargetGroup struct {
	TargetGroupARN string
	Weight         int32
}

// RedirectConfig answers a redirect. Each part may use #{protocol}, #{host}, #{port}, #{path}
// and #{query}; StatusCode is HTTP_301 or HTTP_302.
type RedirectConfig struct {
	Protocol   string
	Port       string
	Host       string
	Path       string
	Query      string
	StatusCode string
}

// FixedResponseConfig answers with a fixed status, type and body.
type FixedResponseConfig struct {
	StatusCode  string
	ContentType string
	MessageBody string
}

// Target health states and reason codes as DescribeTargetHealth reports them.
const (
	TargetInitial     = "initial"
	TargetHealthy     = "healthy"
	TargetUnhealthy   = "unhealthy"
	TargetUnused      = "unused"
	TargetDraining    = "draining"
	TargetUnavailable = "unavailable"

	ReasonRegistrationInProgress   = "Elb.RegistrationInProgress"
	ReasonInitialHealthChecking    = "Elb.InitialHealthChecking"
	ReasonResponseCodeMismatch     = "Target.ResponseCodeMismatch"
	ReasonTimeout                  = "Target.Timeout"
	ReasonFailedHealthChecks       = "Target.FailedHealthChecks"
	ReasonNotRegistered            = "Target.NotRegistered"
	ReasonNotInUse                 = "Target.NotInUse"
	ReasonDeregistrationInProgress = "Target.DeregistrationInProgress"
	ReasonInvalidState             = "Target.InvalidState"
	ReasonIPUnusable               = "Target.IpUnusable"
	ReasonHealthCheckDisabled      = "Target.HealthCheckDisabled"
	ReasonInternalError            = "Elb.InternalError"
)

// Target is an address and port registered with a target group, with its health.
type Target struct {
	TargetGroupARN   string
	ID               string // an IPv4 address (target type ip)
	Port             int32
	AvailabilityZone string
	State            string
	Reason           string
	Description      string
	RegisteredAt     time.Time
	// DeregisteredAt is when DeregisterTargets moved it to draining; zero otherwise.
	DeregisteredAt time.Time
}

// ELB ARNs.

// LoadBalancerARN is the ARN of application load balancer name with id (16 hex digits).
func LoadBalancerARN(sc Scope, name, id string) string {
	return fmt.Sprintf("arn:aws:elasticloadbalancing:%s:%s:loadbalancer/app/%s/%s", sc.Region, sc.Account, name, id)
}

// TargetGroupARN is the ARN of target group name with id.
func TargetGroupARN(sc Scope, name, id string) string {
	return fmt.Sprintf("arn:aws:elasticloadbalancing:%s:%s:targetgroup/%s/%s", sc.Region, sc.Account, name, id)
}

// ListenerARN is the ARN of listener id of the load balancer lbARN.
func ListenerARN(lbARN, id string) string {
	return strings.Replace(lbARN, ":loadbalancer/", ":listener/", 1) + "/" + id
}

// RuleARN is the ARN of rule id of the listener listenerARN.
func RuleARN(listenerARN, id string) string {
	return strings.Replace(listenerARN, ":listener/", ":listener-rule/", 1) + "/" + id
}

// ELBARN is a parsed ELBv2 ARN.
type ELBARN struct {
	Scope Scope
	// Kind is loadbalancer, targetgroup, listener or listener-rule.
	Kind string
	// Name is the load balancer's (or target group's) name; ID its id.
	Name, ID string
	// ListenerID and RuleID are set for listeners and rules.
	ListenerID, RuleID string
}

// ParseELBARN parses a load balancer, target group, listener or rule ARN.
func ParseELBARN(arn string) (ELBARN, bool) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "elasticloadbalancing" || parts[3] == "" || parts[4] == "" {
		return ELBARN{}, false
	}
	out := ELBARN{Scope: Scope{Region: parts[3], Account: parts[4]}}
	res := strings.Split(parts[5], "/")
	switch {
	case res[0] == "targetgroup" && len(res) == 3:
		out.Kind, out.Name, out.ID = res[0], res[1], res[2]
	case res[0] == "loadbalancer" && len(res) == 4 && res[1] == "app":
		out.Kind, out.Name, out.ID = res[0], res[2], res[3]
	case res[0] == "listener" && len(res) == 5 && res[1] == "app":
		out.Kind, out.Name, out.ID, out.ListenerID = res[0], res[2], res[3], res[4]
	case res[0] == "listener-rule" && len(res) == 6 && res[1] == "app":
		out.Kind, out.Name, out.ID, out.ListenerID, out.RuleID = res[0], res[2], res[3], res[4], res[5]
	default:
		return ELBARN{}, false
	}
	for _, s := range []string{out.Name, out.ID} {
		if s == "" {
			return ELBARN{}, false
		}
	}
	return out, true
}

// LoadBalancerARN returns the ARN of the load balancer a listener or rule ARN belongs to.
func (a ELBARN) LoadBalancerARN() string { return LoadBalancerARN(a.Scope, a.Name, a.ID) }

func lastPart(arn string) string {
	return arn[strings.LastIndex(arn, "/")+1:]
}

// CanonicalHostedZoneIDs are the Route 53 hosted zones of Application Load Balancers per
// region (AWS's "Elastic Load Balancing endpoints and quotas" table).
var CanonicalHostedZoneIDs = map[string]string{
	"us-east-1":      "Z35SXDOTRQ7X7K",
	"us-east-2":      "Z3AADJGX6KTTL2",
	"us-west-1":      "Z368ELLRRE2KJ0",
	"us-west-2":      "Z1H1FL5HABSF5",
	"af-south-1":     "Z268VQBMOI5EKX",
	"ap-east-1":      "Z3DQVH9N71FHZ0",
	"ap-south-1":     "ZP97RAFLXTNZK",
	"ap-northeast-1": "Z14GRHDCWA56QT",
	"ap-northeast-2": "ZWKZPGTI48KDX",
	"ap-northeast-3": "Z5LXEXXYW11ES",
	"ap-southeast-1": "Z1LMS91P8CMLE5",
	"ap-southeast-2": "Z1GM3OXH4ZPM65",
	"ca-central-1":   "ZQSVJUPU6J1EY",
	"eu-central-1":   "Z215JYRZR1TBD5",
	"eu-west-1":      "Z32O12XQLNTSW2",
	"eu-west-2":      "ZHURV8PSTC4K8",
	"eu-west-3":      "Z3Q77PNBQS71R4",
	"eu-north-1":     "Z23TAZ7KNGTRAX",
	"eu-south-1":     "Z3ULH7SSC9OV64",
	"me-south-1":     "ZS929ML54UICD",
	"sa-east-1":      "Z2P70J7HTTTPLU",
}

// CanonicalHostedZoneID returns the region's ALB hosted zone, us-east-1's for a region not in
// the table.
func CanonicalHostedZoneID(region string) string {
	if z, ok := CanonicalHostedZoneIDs[region]; ok {
		return z
	}
	return CanonicalHostedZoneIDs[DefaultRegion]
}

// DefaultRuleARN is the ARN of a listener's default rule: stable, derived from the listener's.
func DefaultRuleARN(listenerARN string) string {
	h := sha256.Sum256([]byte(listenerARN + "#default"))
	return RuleARN(listenerARN, hex.EncodeToString(h[:8]))
}
