package ops

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/store"
)

// Target groups. A target group is keyed by name; its record is the fence of everything that
// refers to it: listeners and rules that forward to it write it back unchanged (so a concurrent
// DeleteTargetGroup fails its compare), target registrations compare it.

// CreateTargetGroupInput is CreateTargetGroup's request; nil pointers and "" take AWS's
// defaults.
type CreateTargetGroupInput struct {
	Name            string
	Protocol        string
	ProtocolVersion string
	Port            *int32
	VpcID           string
	TargetType      string
	IPAddressType   string
	HealthCheck     HealthCheckInput
	Tags            []model.Tag
}

// HealthCheckInput are the health-check members of CreateTargetGroup and ModifyTargetGroup.
type HealthCheckInput struct {
	Protocol        string
	Port            string
	Enabled         *bool
	Path            string
	Interval        *int32
	Timeout         *int32
	HealthyCount    *int32
	UnhealthyCount  *int32
	MatcherHTTPCode string
	MatcherGRPCCode string
	MatcherGiven    bool
}

// TargetGroupView is a target group with the load balancers whose listeners or rules forward to
// it.
type TargetGroupView struct {
	model.TargetGroup
	LoadBalancerARNs []string
}

// CreateTargetGroup creates an ip target group in a VPC. Creating one again with the same name
// and settings returns it.
func (e *ELBv2) CreateTargetGroup(ctx context.Context, sc model.Scope, in CreateTargetGroupInput) (TargetGroupView, error) {
	if err := checkName("Target group", in.Name); err != nil {
		return TargetGroupView{}, err
	}
	switch in.TargetType {
	case model.TargetTypeIP:
	case "", model.TargetTypeInstance:
		return TargetGroupView{}, elbValidation("Target type 'instance' (the default) is not supported by gantry: it has no EC2 instances. Use target type 'ip', as Fargate tasks do")
	case model.TargetTypeLambda, model.TargetTypeALB:
		return TargetGroupView{}, elbValidation("Target type '%s' is not supported by gantry: use target type 'ip'", in.TargetType)
	default:
		return TargetGroupView{}, elbValidation("Target type '%s' is not valid. Valid values are: instance, ip, lambda, alb", in.TargetType)
	}
	switch {
	case in.Protocol == "":
		return TargetGroupView{}, elbValidation("A protocol must be specified")
	case in.Protocol != model.ProtocolHTTP && in.Protocol != model.ProtocolHTTPS:
		return TargetGroupView{}, elbValidation("Protocol '%s' is not supported by gantry: Application Load Balancer target groups use HTTP or HTTPS", in.Protocol)
	case in.Port == nil:
		return TargetGroupView{}, elbValidation("A port must be specified")
	case *in.Port < 1 || *in.Port > 65535:
		return TargetGroupView{}, elbValidation("Port '%d' must be between 1 and 65535", *in.Port)
	case in.VpcID == "":
		return TargetGroupView{}, elbValidation("A VPC ID must be specified")
	}
	switch in.IPAddressType {
	case "", model.IPAddressTypeIPv4:
	default:
		return TargetGroupView{}, elbValidation("IP address type '%s' is not supported by gantry: only 'ipv4' is", in.IPAddressType)
	}
	version := in.ProtocolVersion
	switch strings.ToUpper(version) {
	case "":
		version = model.ProtocolVersionHTTP1
	case model.ProtocolVersionHTTP1, model.ProtocolVersionHTTP2, model.ProtocolVersionGRPC:
		version = strings.ToUpper(version)
	default:
		return TargetGroupView{}, elbValidation("Protocol version '%s' is not valid. Valid values are: HTTP1, HTTP2, GRPC", in.ProtocolVersion)
	}
	hc, m, err := healthCheckOf(defaultHealthCheck(in.Protocol, version), in.HealthCheck, version)
	if err != nil {
		return TargetGroupView{}, err
	}
	if err := checkELBTags(in.Tags); err != nil {
		return TargetGroupView{}, err
	}
	if err := e.ec2.EnsureDefaultVPC(ctx, sc); err != nil {
		return TargetGroupView{}, err
	}
	if _, err := e.store.Vpcs().Get(ctx, sc, in.VpcID); err != nil {
		if errors.Is(err, apierr.NotFound) {
			return TargetGroupView{}, elbValidation("The VPC ID '%s' is not found", in.VpcID)
		}
		return TargetGroupView{}, err
	}
	tg := model.TargetGroup{Scope: sc, ARN: model.TargetGroupARN(sc, in.Name, newELBID()), Name: in.Name,
		Protocol: in.Protocol, ProtocolVersion: version, Port: *in.Port, VpcID: in.VpcID, TargetType: model.TargetTypeIP,
		IPAddressType: model.IPAddressTypeIPv4, HealthCheck: hc, Matcher: m, Attributes: defaultTGAttributes(),
		Tags: in.Tags, CreatedAt: e.now().UTC()}
	for attempt := 0; ; attempt++ {
		cur, err := e.store.TargetGroups().Get(ctx, sc, in.Name)
		switch {
		case err == nil:
			if !sameTargetGroup(cur.Value, tg) {
				return TargetGroupView{}, elbErrorf(CodeDuplicateTargetGroupName, "A target group with the same name '%s' exists, but with different settings", in.Name)
			}
			return e.viewTargetGroup(ctx, sc, cur.Value)
		case !errors.Is(err, apierr.NotFound):
			return TargetGroupView{}, err
		}
		all, err := e.store.TargetGroups().List(ctx, sc)
		if err != nil {
			return TargetGroupView{}, err
		}
		if len(all) >= maxTargetGroups {
			return TargetGroupView{}, elbErrorf(CodeTooManyTargetGroups, "The maximum number of target groups (%d) has been reached", maxTargetGroups)
		}
		w := &store.Write{}
		if err := e.store.TargetGroups().PutIn(w, tg, 0); err != nil {
			return TargetGroupView{}, err
		}
		_, err = e.store.Commit(ctx, w)
		if err == nil || !isConflict(err) || attempt > 5 {
			return TargetGroupView{TargetGroup: tg}, err
		}
	}
}

// sameTargetGroup says whether a and b were made with the same settings.
func sameTargetGroup(a, b model.TargetGroup) bool {
	return a.Protocol == b.Protocol && a.ProtocolVersion == b.ProtocolVersion && a.Port == b.Port && a.VpcID == b.VpcID &&
		a.TargetType == b.TargetType && a.HealthCheck == b.HealthCheck && a.Matcher == b.Matcher
}

// defaultHealthCheck is AWS's health check of an HTTP(S) target group.
func defaultHealthCheck(protocol, version string) model.TargetGroupHealthCheck {
	hc := model.TargetGroupHealthCheck{Enabled: true, Protocol: protocol, Port: model.HealthCheckTrafficPort, Path: "/",
		IntervalSeconds: 30, TimeoutSeconds: 5, HealthyThresholdCount: 5, UnhealthyThresholdCount: 2}
	if version == model.ProtocolVersionGRPC {
		hc.Path = "/AWS.ALB/healthcheck"
	}
	return hc
}

// healthCheckOf applies in to hc (and the matcher) with AWS's ranges.
func healthCheckOf(hc model.TargetGroupHealthCheck, in HealthCheckInput, version string) (model.TargetGroupHealthCheck, model.Matcher, error) {
	m := model.Matcher{HTTPCode: "200"}
	if version == model.ProtocolVersionGRPC {
		m = model.Matcher{GRPCCode: "12"}
	}
	if in.Protocol != "" {
		if in.Protocol != model.ProtocolHTTP && in.Protocol != model.ProtocolHTTPS {
			return hc, m, elbValidation("Health check protocol '%s' is not supported for target groups with the HTTP or HTTPS protocol. Valid values are: HTTP, HTTPS", in.Protocol)
		}
		hc.Protocol = in.Protocol
	}
	if in.Port != "" {
		if in.Port != model.HealthCheckTrafficPort {
			if n, err := strconv.Atoi(in.Port); err != nil || n < 1 || n > 65535 {
				return hc, m, elbValidation("Health check port '%s' must be 'traffic-port' or a number between 1 and 65535", in.Port)
			}
		}
		hc.Port = in.Port
	}
	if in.Enabled != nil {
		hc.Enabled = *in.Enabled
	}
	if in.Path != "" {
		if len(in.Path) > 1024 || !strings.HasPrefix(in.Path, "/") {
			return hc, m, elbValidation("Health check path '%s' must begin with '/' and be at most 1024 characters", in.Path)
		}
		hc.Path = in.Path
	}
	for _, r := range []struct {
		name   string
		v      *int32
		lo, hi int32
		dst    *int32
	}{
		{"HealthCheckIntervalSeconds", in.Interval, 5, 300, &hc.IntervalSeconds},
		{"HealthCheckTimeoutSeconds", in.Timeout, 2, 120, &hc.TimeoutSeconds},
		{"HealthyThresholdCount", in.HealthyCount, 2, 10, &hc.HealthyThresholdCount},
		{"UnhealthyThresholdCount", in.UnhealthyCount, 2, 10, &hc.UnhealthyThresholdCount},
	} {
		if r.v == nil {
			continue
		}
		if *r.v < r.lo || *r.v > r.hi {
			return hc, m, elbValidation("1 validation error detected: Value '%d' at '%s' failed to satisfy constraint: Member must have value between %d and %d",
				*r.v, lowerFirst(r.name), r.lo, r.hi)
		}
		*r.dst = *r.v
	}
	if hc.TimeoutSeconds >= hc.IntervalSeconds {
		return hc, m, elbValidation("Health check timeout '%d' must be smaller than the interval '%d'", hc.TimeoutSeconds, hc.IntervalSeconds)
	}
	if in.MatcherGiven {
		switch {
		case version == model.ProtocolVersionGRPC:
			if in.MatcherGRPCCode == "" || !codesIn(in.MatcherGRPCCode, 0, 99) {
				return hc, m, elbValidation("Health check matcher gRPC code '%s' must be a code, list or range of codes between 0 and 99", in.MatcherGRPCCode)
			}
			m = model.Matcher{GRPCCode: in.MatcherGRPCCode}
		default:
			if in.MatcherHTTPCode == "" || !codesIn(in.MatcherHTTPCode, 200, 499) {
				return hc, m, elbValidation("Health check matcher HTTP code '%s' must be a code, list (200,202) or range (200-299) of codes between 200 and 499", in.MatcherHTTPCode)
			}
			m = model.Matcher{HTTPCode: in.MatcherHTTPCode}
		}
	}
	return hc, m, nil
}

// codesIn says whether s is a code, a comma-separated list or a lo-hi range of codes in [lo, hi].
func codesIn(s string, lo, hi int) bool {
	in := func(v string) (int, bool) {
		n, err := strconv.Atoi(v)
		return n, err == nil && n >= lo && n <= hi
	}
	if a, b, ok := strings.Cut(s, "-"); ok {
		x, ok1 := in(a)
		y, ok2 := in(b)
		return ok1 && ok2 && x <= y
	}
	for part := range strings.SplitSeq(s, ",") {
		if _, ok := in(part); !ok {
			return false
		}
	}
	return true
}

func lowerFirst(s string) string { return strings.ToLower(s[:1]) + s[1:] }

// DescribeTargetGroupsInput is DescribeTargetGroups' request; at most one of LoadBalancerARN,
// ARNs and Names.
type DescribeTargetGroupsInput struct {
	LoadBalancerARN string
	ARNs            []string
	Names           []string
	Marker          string
	PageSize        *int32
}

// DescribeTargetGroups lists the scope's target groups, those named, or those a load
// balancer forwards to.
func (e *ELBv2) DescribeTargetGroups(ctx context.Context, sc model.Scope, in DescribeTargetGroupsInput) ([]TargetGroupView, string, error) {
	given := 0
	for _, b := range []bool{in.LoadBalancerARN != "", len(in.ARNs) > 0, len(in.Names) > 0} {
		if b {
			given++
		}
	}
	if given > 1 {
		return nil, "", elbValidation("Only one of LoadBalancerArn, TargetGroupArns and Names can be specified")
	}
	all, err := e.store.TargetGroups().List(ctx, sc)
	if err != nil {
		return nil, "", err
	}
	uses, err := e.targetGroupUses(ctx, sc)
	if err != nil {
		return nil, "", err
	}
	views := make([]TargetGroupView, len(all))
	for i, v := range all {
		views[i] = TargetGroupView{TargetGroup: v.Value, LoadBalancerARNs: uses[v.Value.ARN]}
	}
	switch {
	case in.LoadBalancerARN != "":
		if _, err := e.loadBalancer(ctx, sc, in.LoadBalancerARN); err != nil {
			return nil, "", err
		}
		views = keepIf(views, func(v TargetGroupView) bool { return slices.Contains(v.LoadBalancerARNs, in.LoadBalancerARN) })
	case len(in.ARNs) > 0:
		for _, a := range in.ARNs {
			if p, ok := model.ParseELBARN(a); !ok || p.Kind != "targetgroup" {
				return nil, "", elbValidation("'%s' is not a valid target group ARN", a)
			}
		}
		if views, err = pick(views, in.ARNs, func(v TargetGroupView) string { return v.ARN }); err != nil {
			return nil, "", elbErrorf(CodeTargetGroupNotFound, "Target groups '%s' not found", err.Error())
		}
	case len(in.Names) > 0:
		if views, err = pick(views, in.Names, func(v TargetGroupView) string { return v.Name }); err != nil {
			return nil, "", elbErrorf(CodeTargetGroupNotFound, "One or more target groups not found")
		}
	}
	return pageOf(views, in.Marker, in.PageSize)
}

func keepIf[T any](in []T, f func(T) bool) []T {
	out := in[:0:0]
	for _, v := range in {
		if f(v) {
			out = append(out, v)
		}
	}
	return out
}

// targetGroupUses maps each target group ARN of sc to the load balancers that forward to it.
func (e *ELBv2) targetGroupUses(ctx context.Context, sc model.Scope) (map[string][]string, error) {
	listeners, err := e.store.Listeners().List(ctx, sc)
	if err != nil {
		return nil, err
	}
	rules, err := e.store.Rules().List(ctx, sc)
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	add := func(lbARN string, actions []model.Action) {
		for _, tg := range actionGroups(actions) {
			if !slices.Contains(out[tg], lbARN) {
				out[tg] = append(out[tg], lbARN)
			}
		}
	}
	for _, l := range listeners {
		add(l.Value.LoadBalancerARN, l.Value.DefaultActions)
	}
	for _, r := range rules {
		a, _ := model.ParseELBARN(r.Value.ARN)
		add(a.LoadBalancerARN(), r.Value.Actions)
	}
	return out, nil
}

// TargetGroupInUse says whether a listener or rule forwards to the target group arn.
func (e *ELBv2) targetGroupInUse(ctx context.Context, sc model.Scope, arn string) (bool, error) {
	uses, err := e.targetGroupUses(ctx, sc)
	return len(uses[arn]) > 0, err
}

func (e *ELBv2) viewTargetGroup(ctx context.Context, sc model.Scope, tg model.TargetGroup) (TargetGroupView, error) {
	uses, err := e.targetGroupUses(ctx, sc)
	return TargetGroupView{TargetGroup: tg, LoadBalancerARNs: uses[tg.ARN]}, err
}

// TargetGroup returns the target group arn (its port, protocol and VPC), or TargetGroupNotFound;
// for CreateService's loadBalancers.
func (e *ELBv2) TargetGroup(ctx context.Context, sc model.Scope, arn string) (TargetGroupView, error) {
	tg, err := e.targetGroup(ctx, sc, arn)
	if err != nil {
		return TargetGroupView{}, err
	}
	return e.viewTargetGroup(ctx, sc, tg.Value)
}

// ModifyTargetGroup changes the health check of the target group arn.
func (e *ELBv2) ModifyTargetGroup(ctx context.Context, sc model.Scope, arn string, in HealthCheckInput) (TargetGroupView, error) {
	tg, err := e.targetGroup(ctx, sc, arn)
	if err != nil {
		return TargetGroupView{}, err
	}
	v, err := e.store.TargetGroups().Mutate(ctx, sc, tg.Value.Name, func(g *model.TargetGroup) error {
		if g.ARN != arn {
			return elbErrorf(CodeTargetGroupNotFound, "Target groups '%s' not found", arn)
		}
		hc, m, err := healthCheckOf(g.HealthCheck, in, g.ProtocolVersion)
		if err != nil {
			return err
		}
		if !in.MatcherGiven {
			m = g.Matcher
		}
		g.HealthCheck, g.Matcher = hc, m
		return nil
	})
	if err != nil {
		return TargetGroupView{}, err
	}
	return e.viewTargetGroup(ctx, sc, v.Value)
}

// DeleteTargetGroup deletes the target group arn and its targets; a group a listener or rule
// forwards to is ResourceInUse. A group that does not exist is no error.
func (e *ELBv2) DeleteTargetGroup(ctx context.Context, sc model.Scope, arn string) error {
	return commitOrRetry(ctx, func() error {
		tg, err := e.targetGroup(ctx, sc, arn)
		if apierr.KindOf(err) == apierr.NotFound {
			return nil
		}
		if err != nil {
			return err
		}
		inUse, err := e.targetGroupInUse(ctx, sc, arn)
		if err != nil {
			return err
		}
		if inUse {
			return elbErrorf(CodeELBResourceInUse, "Target group '%s' is currently in use by a listener or a rule", arn)
		}
		w := &store.Write{}
		e.store.TargetGroups().DeleteIn(w, tg.Value, tg.Revision)
		e.store.Targets().DeleteAllOfIn(w, sc, tg.Value.Name)
		_, err = e.store.Commit(ctx, w)
		return err
	})
}

// defaultTGAttributes are an ip target group's attributes as AWS creates them.
func defaultTGAttributes() map[string]string {
	return map[string]string{
		model.AttrDeregistrationDelay:     "300",
		model.AttrSlowStart:               "0",
		model.AttrStickinessEnabled:       "false",
		model.AttrStickinessType:          "lb_cookie",
		model.AttrStickinessLBCookie:      "86400",
		model.AttrStickinessAppCookieName: "",
		model.AttrStickinessAppCookieDur:  "86400",
		model.AttrLBAlgorithm:             "round_robin",
		model.AttrCrossZone:               "use_load_balancer_configuration",
	}
}

// checkTGAttribute checks one target group attribute as AWS does.
func checkTGAttribute(k, v string) error {
	switch k {
	case model.AttrDeregistrationDelay:
		return intAttr(k, v, 0, 3600)
	case model.AttrSlowStart:
		if v == "0" {
			return nil
		}
		if err := intAttr(k, v, 30, 900); err != nil {
			return elbValidation("The value of '%s' must be 0 (off) or between '30' and '900'", k)
		}
		return nil
	case model.AttrStickinessEnabled:
		return boolAttr(k, v)
	case model.AttrStickinessType:
		return enumAttr(k, v, "lb_cookie", "app_cookie")
	case model.AttrStickinessLBCookie, model.AttrStickinessAppCookieDur:
		return intAttr(k, v, 1, 604800)
	case model.AttrStickinessAppCookieName:
		for _, p := range []string{"AWSALB", "AWSALBAPP", "AWSALBTG"} {
			if strings.HasPrefix(v, p) {
				return elbValidation("The value of '%s' cannot start with 'AWSALB', 'AWSALBAPP' or 'AWSALBTG'", k)
			}
		}
		return nil
	case model.AttrLBAlgorithm:
		return enumAttr(k, v, "round_robin", "least_outstanding_requests")
	case model.AttrCrossZone:
		return enumAttr(k, v, "true", "false", "use_load_balancer_configuration")
	}
	return elbValidation("Target group attribute key '%s' is not recognized", k)
}

// TargetGroupAttributes returns the attributes of the target group arn.
func (e *ELBv2) TargetGroupAttributes(ctx context.Context, sc model.Scope, arn string) (map[string]string, error) {
	tg, err := e.targetGroup(ctx, sc, arn)
	return tg.Value.Attributes, err
}

// ModifyTargetGroupAttributes sets attrs on the target group arn and returns all of them.
func (e *ELBv2) ModifyTargetGroupAttributes(ctx context.Context, sc model.Scope, arn string, attrs []model.Tag) (map[string]string, error) {
	if len(attrs) == 0 {
		return nil, elbValidation("Attributes cannot be empty")
	}
	for _, a := range attrs {
		if err := checkTGAttribute(a.Key, a.Value); err != nil {
			return nil, err
		}
	}
	tg, err := e.targetGroup(ctx, sc, arn)
	if err != nil {
		return nil, err
	}
	v, err := e.store.TargetGroups().Mutate(ctx, sc, tg.Value.Name, func(g *model.TargetGroup) error {
		if g.ARN != arn {
			return elbErrorf(CodeTargetGroupNotFound, "Target groups '%s' not found", arn)
		}
		next := defaultTGAttributes()
		for k, v := range g.Attributes {
			next[k] = v
		}
		for _, a := range attrs {
			next[a.Key] = a.Value
		}
		if next[model.AttrStickinessEnabled] == "true" && next[model.AttrStickinessType] == "app_cookie" && next[model.AttrStickinessAppCookieName] == "" {
			return elbValidation("The value of '%s' must be set when app_cookie stickiness is enabled", model.AttrStickinessAppCookieName)
		}
		if next[model.AttrLBAlgorithm] == "least_outstanding_requests" && next[model.AttrSlowStart] != "0" {
			return elbErrorf(CodeInvalidConfigurationRequest, "Slow start mode is not supported with the least outstanding requests algorithm")
		}
		g.Attributes = next
		return nil
	})
	return v.Value.Attributes, err
}
