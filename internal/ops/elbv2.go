package ops

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/store"
)

// ELBv2 serves the Elastic Load Balancing (v2) operations for Application Load Balancers: load
// balancers with their nodes (ENIs) and host addresses, target groups and targets, listeners,
// rules and tags. The data plane (lb, fed by lbsync) reads what these write.
type ELBv2 struct {
	store  *store.Store
	ec2    *EC2
	now    model.Clock
	logger *slog.Logger
	pool   netip.Prefix
	certs  CertificateChecker
}

// CertificateChecker says whether an ACM certificate exists, for HTTPS listeners. ops.ACM
// satisfies it; without one any ARN is accepted.
type CertificateChecker interface {
	// CertificateExists returns nil when the certificate arn exists in sc, an error of kind
	// apierr.NotFound when it does not.
	CertificateExists(ctx context.Context, sc model.Scope, arn string) error
}

// DefaultLBAddressPool is where load balancers' host addresses come from by default: loopback,
// so every load balancer can listen on :80 of its own address.
var DefaultLBAddressPool = netip.MustParsePrefix("127.77.0.0/16")

// NewELBv2 returns the ELBv2 operations over s, using ec2 for the VPC checks and giving each
// load balancer an address of pool.
func NewELBv2(s *store.Store, ec2 *EC2, pool netip.Prefix, logger *slog.Logger) *ELBv2 {
	return &ELBv2{store: s, ec2: ec2, now: time.Now, logger: logger.With("component", "ops.elbv2"), pool: pool.Masked()}
}

// SetClock replaces the clock, for tests.
func (e *ELBv2) SetClock(c model.Clock) { e.now = c }

// SetCertificateChecker makes HTTPS listeners check their certificates with c.
func (e *ELBv2) SetCertificateChecker(c CertificateChecker) { e.certs = c }

// ELBv2's error codes (botocore's error shapes).
const (
	CodeELBValidation                 = "ValidationError"
	CodeLoadBalancerNotFound          = "LoadBalancerNotFound"
	CodeTargetGroupNotFound           = "TargetGroupNotFound"
	CodeListenerNotFound              = "ListenerNotFound"
	CodeELBRuleNotFound               = "RuleNotFound"
	CodeDuplicateLoadBalancerName     = "DuplicateLoadBalancerName"
	CodeDuplicateTargetGroupName      = "DuplicateTargetGroupName"
	CodeDuplicateListener             = "DuplicateListener"
	CodeDuplicateTagKeys              = "DuplicateTagKeys"
	CodePriorityInUse                 = "PriorityInUse"
	CodeELBResourceInUse              = "ResourceInUse"
	CodeInvalidTarget                 = "InvalidTarget"
	CodeInvalidConfigurationRequest   = "InvalidConfigurationRequest"
	CodeInvalidLoadBalancerAction     = "InvalidLoadBalancerAction"
	CodeInvalidSubnet                 = "InvalidSubnet"
	CodeELBSubnetNotFound             = "SubnetNotFound"
	CodeInvalidSecurityGroup          = "InvalidSecurityGroup"
	CodeInvalidScheme                 = "InvalidScheme"
	CodeCertificateNotFound           = "CertificateNotFound"
	CodeSSLPolicyNotFound             = "SSLPolicyNotFound"
	CodeUnsupportedProtocol           = "UnsupportedProtocol"
	CodeIncompatibleProtocols         = "IncompatibleProtocols"
	CodeOperationNotPermitted         = "OperationNotPermitted"
	CodeTooManyTargets                = "TooManyTargets"
	CodeTooManyTags                   = "TooManyTags"
	CodeTooManyActions                = "TooManyActions"
	CodeTooManyRules                  = "TooManyRules"
	CodeTooManyListeners              = "TooManyListeners"
	CodeTooManyLoadBalancers          = "TooManyLoadBalancers"
	CodeTooManyTargetGroups           = "TooManyTargetGroups"
	CodeTooManyCertificates           = "TooManyCertificates"
	CodeTargetGroupAssociationLimit   = "TargetGroupAssociationLimit"
	CodeALPNPolicyNotFound            = "ALPNPolicyNotFound"
	CodeTooManyRegistrationsForTarget = "TooManyRegistrationsForTargetId"
)

// ELBError is a failure with ELBv2's exact code: an *apierr.Coded, as EC2Error is. It
// unwraps to an *apierr.Error of a generic kind, and the ELBv2 front door (api.QueryOp) reads
// Code.
type ELBError = apierr.Coded

// elbErrorf returns an *ELBError with code and a message worded as ELBv2 words it; its kind
// follows from the code.
func elbErrorf(code, format string, args ...any) error {
	k := apierr.InvalidParameter
	switch {
	case strings.HasSuffix(code, "NotFound"):
		k = apierr.NotFound
	case strings.HasPrefix(code, "Duplicate"), code == CodePriorityInUse:
		k = apierr.AlreadyExists
	case strings.HasPrefix(code, "TooMany"), code == CodeTargetGroupAssociationLimit:
		k = apierr.LimitExceeded
	case code == CodeELBResourceInUse:
		k = apierr.ResourceInUse
	case code == CodeOperationNotPermitted, code == CodeInvalidConfigurationRequest:
		k = apierr.Client
	}
	return apierr.Codedf(k, code, format, args...)
}

func elbValidation(format string, args ...any) error {
	return elbErrorf(CodeELBValidation, format, args...)
}

// Quotas (AWS's defaults for Application Load Balancers).
const (
	maxLoadBalancers       = 50
	maxTargetGroups        = 3000
	maxListenersPerLB      = 50
	maxRulesPerListener    = 100
	maxTargetsPerGroup     = 1000
	maxRulePriority        = 50000
	maxForwardTargetGroups = 5
	maxTargetGroupWeight   = 999
	maxPageSize            = 400
)

// newELBID returns 16 random lowercase hex digits, the last part of ELBv2 ARNs.
func newELBID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

var elbNameRe = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$`)

// checkName checks a load balancer or target group name as ELBv2 does: 1-32 alphanumerics or
// hyphens, not starting or ending with a hyphen.
func checkName(kind, name string) error {
	switch {
	case name == "":
		return elbValidation("%s name cannot be empty", kind)
	case len(name) > 32:
		return elbValidation("%s name '%s' cannot be longer than '32' characters", kind, name)
	case !elbNameRe.MatchString(name):
		if strings.HasPrefix(name, "-") || strings.HasSuffix(name, "-") {
			return elbValidation("%s name '%s' cannot begin or end with '-'", kind, name)
		}
		return elbValidation("%s name '%s' can only contain characters that are alphanumeric characters or hyphens(-)", kind, name)
	}
	return nil
}

// lbARNRef parses a load balancer ARN of sc; anything else is ValidationError (malformed) or
// LoadBalancerNotFound (another scope).
func lbARNRef(sc model.Scope, arn string) (model.ELBARN, error) {
	a, ok := model.ParseELBARN(arn)
	if !ok || a.Kind != "loadbalancer" {
		return a, elbValidation("'%s' is not a valid load balancer ARN", arn)
	}
	if a.Scope != sc {
		return a, elbErrorf(CodeLoadBalancerNotFound, "Load balancer '%s' not found", arn)
	}
	return a, nil
}

// loadBalancer reads the load balancer arn, or answers LoadBalancerNotFound.
func (e *ELBv2) loadBalancer(ctx context.Context, sc model.Scope, arn string) (store.Versioned[model.LoadBalancer], error) {
	a, err := lbARNRef(sc, arn)
	if err != nil {
		return store.Versioned[model.LoadBalancer]{}, err
	}
	v, err := e.store.LoadBalancers().Get(ctx, sc, a.Name)
	if errors.Is(err, apierr.NotFound) || (err == nil && v.Value.ARN != arn) {
		return v, elbErrorf(CodeLoadBalancerNotFound, "Load balancer '%s' not found", arn)
	}
	return v, err
}

// targetGroup reads the target group arn, or answers TargetGroupNotFound.
func (e *ELBv2) targetGroup(ctx context.Context, sc model.Scope, arn string) (store.Versioned[model.TargetGroup], error) {
	a, ok := model.ParseELBARN(arn)
	if !ok || a.Kind != "targetgroup" {
		return store.Versioned[model.TargetGroup]{}, elbValidation("'%s' is not a valid target group ARN", arn)
	}
	notFound := elbErrorf(CodeTargetGroupNotFound, "Target groups '%s' not found", arn)
	if a.Scope != sc {
		return store.Versioned[model.TargetGroup]{}, notFound
	}
	v, err := e.store.TargetGroups().Get(ctx, sc, a.Name)
	if errors.Is(err, apierr.NotFound) || (err == nil && v.Value.ARN != arn) {
		return v, notFound
	}
	return v, err
}

// listener reads the listener arn, or answers ListenerNotFound.
func (e *ELBv2) listener(ctx context.Context, sc model.Scope, arn string) (store.Versioned[model.Listener], error) {
	a, ok := model.ParseELBARN(arn)
	if !ok || a.Kind != "listener" {
		return store.Versioned[model.Listener]{}, elbValidation("'%s' is not a valid listener ARN", arn)
	}
	notFound := elbErrorf(CodeListenerNotFound, "One or more listeners not found")
	if a.Scope != sc {
		return store.Versioned[model.Listener]{}, notFound
	}
	v, err := e.store.Listeners().Get(ctx, sc, a.Name, a.ListenerID)
	if errors.Is(err, apierr.NotFound) || (err == nil && v.Value.ARN != arn) {
		return v, notFound
	}
	return v, err
}

// rule reads the rule arn, or answers RuleNotFound. The default rule is made from its
// listener (revision 0: it has no record of its own).
func (e *ELBv2) rule(ctx context.Context, sc model.Scope, arn string) (store.Versioned[model.Rule], error) {
	a, ok := model.ParseELBARN(arn)
	if !ok || a.Kind != "listener-rule" {
		return store.Versioned[model.Rule]{}, elbValidation("'%s' is not a valid rule ARN", arn)
	}
	notFound := elbErrorf(CodeELBRuleNotFound, "One or more rules not found")
	if a.Scope != sc {
		return store.Versioned[model.Rule]{}, notFound
	}
	v, err := e.store.Rules().Get(ctx, sc, a.Name, a.ListenerID, a.RuleID)
	if err == nil && v.Value.ARN == arn {
		return v, nil
	}
	if err != nil && !errors.Is(err, apierr.NotFound) {
		return v, err
	}
	lisARN := strings.Replace(arn[:strings.LastIndex(arn, "/")], ":listener-rule/", ":listener/", 1)
	l, err := e.listener(ctx, sc, lisARN)
	if err == nil && model.DefaultRuleARN(l.Value.ARN) == arn {
		return store.Versioned[model.Rule]{Value: defaultRule(l.Value)}, nil
	}
	if err != nil && !errors.Is(err, apierr.NotFound) {
		return store.Versioned[model.Rule]{}, err
	}
	return store.Versioned[model.Rule]{}, notFound
}

// defaultRule is the listener's default rule as DescribeRules shows it.
func defaultRule(l model.Listener) model.Rule {
	return model.Rule{Scope: l.Scope, ARN: model.DefaultRuleARN(l.ARN), ListenerARN: l.ARN, IsDefault: true,
		Actions: l.DefaultActions}
}

// pageOf returns the page of items after marker (an opaque position: the index to start at),
// at most size long (0: the default, 400), and the marker of the next page ("" at the end).
func pageOf[T any](items []T, marker string, size *int32) ([]T, string, error) {
	n := int32(maxPageSize)
	if size != nil {
		if *size < 1 || *size > maxPageSize {
			return nil, "", elbValidation("1 validation error detected: Value '%d' at 'pageSize' failed to satisfy constraint: Member must have value between 1 and 400", *size)
		}
		n = *size
	}
	start := 0
	if marker != "" {
		v, err := strconv.Atoi(marker)
		if err != nil || v < 0 || v > len(items) {
			return nil, "", elbValidation("Invalid marker '%s'", marker)
		}
		start = v
	}
	end := min(start+int(n), len(items))
	next := ""
	if end < len(items) {
		next = strconv.Itoa(end)
	}
	return items[start:end], next, nil
}

// checkELBTags checks tags as ELBv2 does: keys 1-128 characters, values up to 256, no aws:
// prefix, no repeated key, at most 50.
func checkELBTags(tags []model.Tag) error {
	seen := map[string]bool{}
	for _, t := range tags {
		switch {
		case t.Key == "" || len(t.Key) > 128:
			return elbValidation("Tag key '%s' must be between 1 and 128 characters", t.Key)
		case len(t.Value) > 256:
			return elbValidation("Tag value for key '%s' cannot be longer than 256 characters", t.Key)
		case strings.HasPrefix(strings.ToLower(t.Key), "aws:"):
			return elbValidation("Tag key '%s' cannot start with 'aws:'", t.Key)
		case seen[t.Key]:
			return elbErrorf(CodeDuplicateTagKeys, "Tag key '%s' is duplicated", t.Key)
		}
		seen[t.Key] = true
	}
	if len(tags) > maxTagsPerResource {
		return elbErrorf(CodeTooManyTags, "A resource can have at most %d tags", maxTagsPerResource)
	}
	return nil
}

// intAttr parses an integer attribute value in [lo, hi].
func intAttr(key, v string, lo, hi int) error {
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return elbValidation("The value of '%s' must be between '%d' and '%d'", key, lo, hi)
	}
	return nil
}

func boolAttr(key, v string) error {
	if v != "true" && v != "false" {
		return elbValidation("The value of '%s' must be 'true' or 'false'", key)
	}
	return nil
}

func enumAttr(key, v string, allowed ...string) error {
	if !slices.Contains(allowed, v) {
		return elbValidation("The value of '%s' must be one of '%s'", key, strings.Join(allowed, "', '"))
	}
	return nil
}

// commitOrRetry runs fn, which reads and commits one fenced write, again while it loses a race
// (apierr.Conflict from the store); ELBErrors stop it.
func commitOrRetry(ctx context.Context, fn func() error) error { return fenced(ctx, fn) }

// isConflict says whether err is a lost optimistic write (not an ELBv2 answer).
func isConflict(err error) bool {
	return apierr.KindOf(err) == apierr.Conflict && !errors.As(err, new(*ELBError))
}

// ELBValidationError is a ValidationError with msg, for the front door's own checks of wire
// members that the operations never see.
func ELBValidationError(msg string) error { return elbValidation("%s", msg) }
