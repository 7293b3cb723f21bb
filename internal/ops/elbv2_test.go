package ops_test

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/logx"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/ops"
	"github.com/gantry-dev/gantry/internal/store"
	"github.com/gantry-dev/gantry/internal/testutil"
)

// elbEnv is the ELBv2 operations over a fresh store, with the default VPC's id and subnets
// (one per zone, in zone order).
type elbEnv struct {
	elb     *ops.ELBv2
	ec2     *ops.EC2
	st      *store.Store
	vpc     model.Vpc
	subnets []model.Subnet
}

func newELBEnv(t *testing.T) *elbEnv {
	t.Helper()
	cli, prefix := testutil.Etcd(t)
	st := store.New(cli, prefix)
	ec2 := ops.NewEC2(st, logx.Discard())
	if err := ec2.EnsureDefaultVPC(t.Context(), ec2Scope); err != nil {
		t.Fatal(err)
	}
	vpcs, err := st.Vpcs().List(t.Context(), ec2Scope)
	if err != nil || len(vpcs) != 1 {
		t.Fatalf("vpcs %v %v", vpcs, err)
	}
	subs, err := st.Subnets().List(t.Context(), ec2Scope)
	if err != nil {
		t.Fatal(err)
	}
	env := &elbEnv{elb: ops.NewELBv2(st, ec2, netip.MustParsePrefix("127.77.0.0/30"), logx.Discard()), ec2: ec2, st: st, vpc: vpcs[0].Value}
	for _, s := range subs {
		env.subnets = append(env.subnets, s.Value)
	}
	slices.SortFunc(env.subnets, func(a, b model.Subnet) int { return strings.Compare(a.AvailabilityZone, b.AvailabilityZone) })
	return env
}

func (e *elbEnv) subnetIDs(n int) []string {
	var out []string
	for _, s := range e.subnets[:n] {
		out = append(out, s.ID)
	}
	return out
}

func (e *elbEnv) lb(t *testing.T, name string) model.LoadBalancer {
	t.Helper()
	lb, err := e.elb.CreateLoadBalancer(t.Context(), ec2Scope, ops.CreateLoadBalancerInput{Name: name, Subnets: e.subnetIDs(2)})
	if err != nil {
		t.Fatal(err)
	}
	return lb
}

func (e *elbEnv) tg(t *testing.T, name string) model.TargetGroup {
	t.Helper()
	tg, err := e.elb.CreateTargetGroup(t.Context(), ec2Scope, ops.CreateTargetGroupInput{Name: name, Protocol: "HTTP",
		Port: ptr[int32](8080), VpcID: e.vpc.ID, TargetType: "ip"})
	if err != nil {
		t.Fatal(err)
	}
	return tg.TargetGroup
}

func (e *elbEnv) listener(t *testing.T, lb model.LoadBalancer, port int32, tg string) model.Listener {
	t.Helper()
	l, err := e.elb.CreateListener(t.Context(), ec2Scope, ops.ListenerInput{LoadBalancerARN: lb.ARN, Protocol: "HTTP", Port: &port,
		DefaultActions: []ops.ActionInput{{Type: "forward", TargetGroupARN: tg}}})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// wantELBCode checks err carries ELBv2's code and a message containing msg.
func wantELBCode(t *testing.T, err error, code, msg string) {
	t.Helper()
	var e *ops.ELBError
	if !errors.As(err, &e) || e.Code != code {
		t.Fatalf("error %v, want code %s", err, code)
	}
	if !strings.Contains(e.Err.Message, msg) {
		t.Errorf("message %q does not contain %q", e.Err.Message, msg)
	}
}

func TestELBCreateLoadBalancerValidation(t *testing.T) {
	env := newELBEnv(t)
	ctx := t.Context()
	sameZone, err := env.ec2.CreateSubnet(ctx, ec2Scope, ops.CreateSubnetInput{VpcID: env.vpc.ID, CidrBlock: "172.31.200.0/24",
		AvailabilityZone: env.subnets[0].AvailabilityZone})
	if err != nil {
		t.Fatal(err)
	}
	two := env.subnetIDs(2)
	for _, c := range []struct {
		name     string
		in       ops.CreateLoadBalancerInput
		code     string
		contains string
	}{
		{"empty name", ops.CreateLoadBalancerInput{Subnets: two}, "ValidationError", "cannot be empty"},
		{"long name", ops.CreateLoadBalancerInput{Name: strings.Repeat("a", 33), Subnets: two}, "ValidationError", "cannot be longer than '32'"},
		{"bad chars", ops.CreateLoadBalancerInput{Name: "a_b", Subnets: two}, "ValidationError", "alphanumeric"},
		{"hyphen end", ops.CreateLoadBalancerInput{Name: "ab-", Subnets: two}, "ValidationError", "cannot begin or end with '-'"},
		{"internal prefix", ops.CreateLoadBalancerInput{Name: "internal-x", Subnets: two}, "ValidationError", "cannot begin with 'internal-'"},
		{"network type", ops.CreateLoadBalancerInput{Name: "a", Type: "network", Subnets: two}, "ValidationError", "only 'application'"},
		{"bad scheme", ops.CreateLoadBalancerInput{Name: "a", Scheme: "public", Subnets: two}, "ValidationError", "internet-facing, internal"},
		{"dualstack", ops.CreateLoadBalancerInput{Name: "a", IPAddressType: "dualstack", Subnets: two}, "ValidationError", "only 'ipv4'"},
		{"no subnets", ops.CreateLoadBalancerInput{Name: "a"}, "ValidationError", "At least two subnets in two different Availability Zones"},
		{"one subnet", ops.CreateLoadBalancerInput{Name: "a", Subnets: two[:1]}, "ValidationError", "At least two subnets"},
		{"same zone", ops.CreateLoadBalancerInput{Name: "a", Subnets: []string{two[0], sameZone.ID}}, "InvalidConfigurationRequest", "multiple subnets in the same Availability Zone"},
		{"missing subnet", ops.CreateLoadBalancerInput{Name: "a", Subnets: []string{two[0], "subnet-0123456789abcdef0"}}, "SubnetNotFound", "subnet-0123456789abcdef0"},
		{"both forms", ops.CreateLoadBalancerInput{Name: "a", Subnets: two, SubnetMappings: two}, "ValidationError", "not both"},
		{"missing group", ops.CreateLoadBalancerInput{Name: "a", Subnets: two, SecurityGroups: []string{"sg-0123456789abcdef0"}}, "InvalidSecurityGroup", "sg-0123456789abcdef0"},
		{"tag aws:", ops.CreateLoadBalancerInput{Name: "a", Subnets: two, Tags: []model.Tag{{Key: "aws:x"}}}, "ValidationError", "aws:"},
		{"tag twice", ops.CreateLoadBalancerInput{Name: "a", Subnets: two, Tags: []model.Tag{{Key: "k"}, {Key: "k"}}}, "DuplicateTagKeys", "'k'"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := env.elb.CreateLoadBalancer(ctx, ec2Scope, c.in)
			wantELBCode(t, err, c.code, c.contains)
		})
	}
	all, err := env.st.LoadBalancers().List(ctx, ec2Scope)
	if err != nil || len(all) != 0 {
		t.Errorf("failed creates left load balancers: %v %v", all, err)
	}
}

func TestELBLoadBalancerLifecycle(t *testing.T) {
	env := newELBEnv(t)
	ctx := t.Context()
	lb := env.lb(t, "web")
	a, ok := model.ParseELBARN(lb.ARN)
	if !ok || a.Name != "web" || len(a.ID) != 16 || lb.State != model.LoadBalancerProvisioning || lb.Scheme != model.SchemeInternetFacing {
		t.Errorf("load balancer %+v", lb)
	}
	if !strings.HasPrefix(lb.DNSName, "web-") || !strings.HasSuffix(lb.DNSName, ".us-east-1.elb.amazonaws.com") ||
		len(strings.TrimSuffix(strings.TrimPrefix(lb.DNSName, "web-"), ".us-east-1.elb.amazonaws.com")) != 10 {
		t.Errorf("DNS name %q", lb.DNSName)
	}
	if lb.CanonicalHostedZoneID != "Z35SXDOTRQ7X7K" || lb.HostAddress != "127.77.0.1" || !slices.Equal(lb.SecurityGroups, []string{env.vpc.DefaultGroupID}) {
		t.Errorf("zone %s host %s groups %v", lb.CanonicalHostedZoneID, lb.HostAddress, lb.SecurityGroups)
	}
	if lb.Attributes[model.AttrIdleTimeout] != "60" || lb.Attributes[model.AttrHTTP2Enabled] != "true" {
		t.Errorf("attributes %v", lb.Attributes)
	}
	// One ENI per subnet, with an address of the subnet's pool, in the load balancer's groups.
	if len(lb.Nodes) != 2 {
		t.Fatalf("nodes %+v", lb.Nodes)
	}
	for i, n := range lb.Nodes {
		eni, err := env.st.NetworkInterfaces().Get(ctx, ec2Scope, n.ENIID)
		if err != nil {
			t.Fatal(err)
		}
		v := eni.Value
		if v.Description != "ELB app/web/"+a.ID || v.Status != "in-use" || !v.RequesterManaged || v.InterfaceType != "interface" ||
			v.PrivateIP != n.PrivateIP || v.SubnetID != env.subnets[i].ID || !slices.Equal(v.GroupIDs, lb.SecurityGroups) {
			t.Errorf("eni %+v", v)
		}
		pool, err := env.st.IPPools().Get(ctx, ec2Scope, n.SubnetID)
		if err != nil || !slices.Contains(pool.Value.Pool.Used, netip.MustParseAddr(n.PrivateIP)) {
			t.Errorf("pool of %s: %+v %v", n.SubnetID, pool.Value.Pool.Used, err)
		}
	}
	// Same name and settings: the same load balancer; other settings: a duplicate.
	again, err := env.elb.CreateLoadBalancer(ctx, ec2Scope, ops.CreateLoadBalancerInput{Name: "web", Subnets: env.subnetIDs(2)})
	if err != nil || again.ARN != lb.ARN {
		t.Errorf("create again: %v %v", again.ARN, err)
	}
	_, err = env.elb.CreateLoadBalancer(ctx, ec2Scope, ops.CreateLoadBalancerInput{Name: "web", Subnets: env.subnetIDs(3)})
	wantELBCode(t, err, "DuplicateLoadBalancerName", "'web'")
	// The pool (a /30) has two host addresses: the third load balancer finds none.
	internal, err := env.elb.CreateLoadBalancer(ctx, ec2Scope, ops.CreateLoadBalancerInput{Name: "in", Scheme: "internal", Subnets: env.subnetIDs(3)})
	if err != nil || internal.HostAddress != "127.77.0.2" || !strings.HasPrefix(internal.DNSName, "internal-in-") {
		t.Fatalf("internal: %+v %v", internal, err)
	}
	_, err = env.elb.CreateLoadBalancer(ctx, ec2Scope, ops.CreateLoadBalancerInput{Name: "third", Subnets: env.subnetIDs(2)})
	wantELBCode(t, err, "TooManyLoadBalancers", "127.77.0.0/30")

	// Describe: names, ARNs, paging, not found.
	lbs, next, err := env.elb.DescribeLoadBalancers(ctx, ec2Scope, ops.DescribeLoadBalancersInput{PageSize: ptr[int32](1)})
	if err != nil || len(lbs) != 1 || lbs[0].Name != "in" || next == "" {
		t.Fatalf("page 1: %v %q %v", lbs, next, err)
	}
	lbs, next, err = env.elb.DescribeLoadBalancers(ctx, ec2Scope, ops.DescribeLoadBalancersInput{PageSize: ptr[int32](1), Marker: next})
	if err != nil || len(lbs) != 1 || lbs[0].Name != "web" || next != "" {
		t.Fatalf("page 2: %v %q %v", lbs, next, err)
	}
	_, _, err = env.elb.DescribeLoadBalancers(ctx, ec2Scope, ops.DescribeLoadBalancersInput{Names: []string{"web", "nope"}})
	wantELBCode(t, err, "LoadBalancerNotFound", "nope")
	_, _, err = env.elb.DescribeLoadBalancers(ctx, ec2Scope, ops.DescribeLoadBalancersInput{PageSize: ptr[int32](401)})
	wantELBCode(t, err, "ValidationError", "between 1 and 400")

	// The data plane's side: state active.
	if err := env.st.SetLoadBalancerState(ctx, lb.ARN, model.LoadBalancerActive); err != nil {
		t.Fatal(err)
	}
	lbs, _, err = env.elb.DescribeLoadBalancers(ctx, ec2Scope, ops.DescribeLoadBalancersInput{ARNs: []string{lb.ARN}})
	if err != nil || lbs[0].State != model.LoadBalancerActive {
		t.Errorf("after SetLoadBalancerState: %+v %v", lbs, err)
	}

	// Deletion protection, then delete: ENIs, addresses and the host address come back.
	if _, err := env.elb.ModifyLoadBalancerAttributes(ctx, ec2Scope, lb.ARN, []model.Tag{{Key: model.AttrDeletionProtection, Value: "true"}}); err != nil {
		t.Fatal(err)
	}
	wantELBCode(t, env.elb.DeleteLoadBalancer(ctx, ec2Scope, lb.ARN), "OperationNotPermitted", "deletion protection")
	if _, err := env.elb.ModifyLoadBalancerAttributes(ctx, ec2Scope, lb.ARN, []model.Tag{{Key: model.AttrDeletionProtection, Value: "false"}}); err != nil {
		t.Fatal(err)
	}
	tg := env.tg(t, "api")
	env.listener(t, lb, 80, tg.ARN)
	if err := env.elb.DeleteLoadBalancer(ctx, ec2Scope, lb.ARN); err != nil {
		t.Fatal(err)
	}
	for _, n := range lb.Nodes {
		if _, err := env.st.NetworkInterfaces().Get(ctx, ec2Scope, n.ENIID); !errors.Is(err, apierr.NotFound) {
			t.Errorf("eni %s after delete: %v", n.ENIID, err)
		}
		pool, err := env.st.IPPools().Get(ctx, ec2Scope, n.SubnetID)
		if err == nil && slices.Contains(pool.Value.Pool.Used, netip.MustParseAddr(n.PrivateIP)) {
			t.Errorf("address %s still used", n.PrivateIP)
		}
	}
	snap, err := env.st.ELBSnapshot(ctx)
	if err != nil || len(snap.Listeners) != 0 || len(snap.LoadBalancers) != 1 {
		t.Errorf("after delete: %+v %v", snap, err)
	}
	if err := env.elb.DeleteLoadBalancer(ctx, ec2Scope, lb.ARN); err != nil {
		t.Errorf("deleting again: %v", err)
	}
	// Its host address is free again.
	third, err := env.elb.CreateLoadBalancer(ctx, ec2Scope, ops.CreateLoadBalancerInput{Name: "third", Subnets: env.subnetIDs(2)})
	if err != nil || third.HostAddress != "127.77.0.1" {
		t.Errorf("third: %v %v", third.HostAddress, err)
	}
}

func TestELBLoadBalancerAttributes(t *testing.T) {
	env := newELBEnv(t)
	lb := env.lb(t, "web")
	for _, c := range []struct {
		key, value, code string
	}{
		{model.AttrIdleTimeout, "4000", ""},
		{model.AttrIdleTimeout, "0", "ValidationError"},
		{model.AttrIdleTimeout, "4001", "ValidationError"},
		{model.AttrIdleTimeout, "x", "ValidationError"},
		{model.AttrDeletionProtection, "yes", "ValidationError"},
		{model.AttrHTTP2Enabled, "false", ""},
		{model.AttrDesyncMitigationMode, "strictest", ""},
		{model.AttrDesyncMitigationMode, "lenient", "ValidationError"},
		{model.AttrXFFHeaderProcessing, "remove", ""},
		{"routing.bogus", "1", "ValidationError"},
		{model.AttrAccessLogsEnabled, "true", "ValidationError"},
	} {
		attrs, err := env.elb.ModifyLoadBalancerAttributes(t.Context(), ec2Scope, lb.ARN, []model.Tag{{Key: c.key, Value: c.value}})
		if c.code != "" {
			var e *ops.ELBError
			if !errors.As(err, &e) || e.Code != c.code || !strings.Contains(e.Err.Message, c.key) {
				t.Errorf("%s=%s: %v, want %s naming the key", c.key, c.value, err, c.code)
			}
			continue
		}
		if err != nil || attrs[c.key] != c.value {
			t.Errorf("%s=%s: %v %v", c.key, c.value, attrs[c.key], err)
		}
	}
	attrs, err := env.elb.LoadBalancerAttributes(t.Context(), ec2Scope, lb.ARN)
	if err != nil || attrs[model.AttrIdleTimeout] != "4000" || attrs[model.AttrHTTP2Enabled] != "false" || len(attrs) != 14 {
		t.Errorf("attributes %v %v", attrs, err)
	}
}

func TestELBTargetGroupValidation(t *testing.T) {
	env := newELBEnv(t)
	ctx := t.Context()
	base := func(mod func(*ops.CreateTargetGroupInput)) ops.CreateTargetGroupInput {
		in := ops.CreateTargetGroupInput{Name: "tg", Protocol: "HTTP", Port: ptr[int32](80), VpcID: env.vpc.ID, TargetType: "ip"}
		mod(&in)
		return in
	}
	for _, c := range []struct {
		name     string
		in       ops.CreateTargetGroupInput
		contains string
	}{
		{"instance default", base(func(i *ops.CreateTargetGroupInput) { i.TargetType = "" }), "'instance'"},
		{"lambda", base(func(i *ops.CreateTargetGroupInput) { i.TargetType = "lambda" }), "'lambda' is not supported"},
		{"no protocol", base(func(i *ops.CreateTargetGroupInput) { i.Protocol = "" }), "A protocol must be specified"},
		{"tcp", base(func(i *ops.CreateTargetGroupInput) { i.Protocol = "TCP" }), "HTTP or HTTPS"},
		{"no port", base(func(i *ops.CreateTargetGroupInput) { i.Port = nil }), "A port must be specified"},
		{"port 0", base(func(i *ops.CreateTargetGroupInput) { i.Port = ptr[int32](0) }), "between 1 and 65535"},
		{"no vpc", base(func(i *ops.CreateTargetGroupInput) { i.VpcID = "" }), "A VPC ID must be specified"},
		{"missing vpc", base(func(i *ops.CreateTargetGroupInput) { i.VpcID = "vpc-0123456789abcdef0" }), "vpc-0123456789abcdef0"},
		{"interval 4", base(func(i *ops.CreateTargetGroupInput) { i.HealthCheck.Interval = ptr[int32](4) }), "healthCheckIntervalSeconds"},
		{"interval 301", base(func(i *ops.CreateTargetGroupInput) { i.HealthCheck.Interval = ptr[int32](301) }), "between 5 and 300"},
		{"timeout 1", base(func(i *ops.CreateTargetGroupInput) { i.HealthCheck.Timeout = ptr[int32](1) }), "between 2 and 120"},
		{"timeout >= interval", base(func(i *ops.CreateTargetGroupInput) { i.HealthCheck.Timeout = ptr[int32](30) }), "must be smaller than the interval"},
		{"healthy 11", base(func(i *ops.CreateTargetGroupInput) { i.HealthCheck.HealthyCount = ptr[int32](11) }), "healthyThresholdCount"},
		{"unhealthy 1", base(func(i *ops.CreateTargetGroupInput) { i.HealthCheck.UnhealthyCount = ptr[int32](1) }), "unhealthyThresholdCount"},
		{"path", base(func(i *ops.CreateTargetGroupInput) { i.HealthCheck.Path = "health" }), "must begin with '/'"},
		{"hc port", base(func(i *ops.CreateTargetGroupInput) { i.HealthCheck.Port = "70000" }), "traffic-port"},
		{"hc protocol", base(func(i *ops.CreateTargetGroupInput) { i.HealthCheck.Protocol = "TCP" }), "Valid values are: HTTP, HTTPS"},
		{"matcher", base(func(i *ops.CreateTargetGroupInput) {
			i.HealthCheck.MatcherGiven, i.HealthCheck.MatcherHTTPCode = true, "600"
		}), "between 200 and 499"},
		{"matcher range", base(func(i *ops.CreateTargetGroupInput) {
			i.HealthCheck.MatcherGiven, i.HealthCheck.MatcherHTTPCode = true, "300-200"
		}), "range"},
		{"version", base(func(i *ops.CreateTargetGroupInput) { i.ProtocolVersion = "HTTP3" }), "HTTP1, HTTP2, GRPC"},
		{"name", base(func(i *ops.CreateTargetGroupInput) { i.Name = "-x" }), "cannot begin or end with '-'"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := env.elb.CreateTargetGroup(ctx, ec2Scope, c.in)
			wantELBCode(t, err, "ValidationError", c.contains)
		})
	}
	// Defaults, as AWS's.
	tg, err := env.elb.CreateTargetGroup(ctx, ec2Scope, base(func(*ops.CreateTargetGroupInput) {}))
	if err != nil {
		t.Fatal(err)
	}
	want := model.TargetGroupHealthCheck{Enabled: true, Protocol: "HTTP", Port: "traffic-port", Path: "/", IntervalSeconds: 30,
		TimeoutSeconds: 5, HealthyThresholdCount: 5, UnhealthyThresholdCount: 2}
	if tg.HealthCheck != want || tg.Matcher.HTTPCode != "200" || tg.ProtocolVersion != "HTTP1" || tg.Attributes[model.AttrDeregistrationDelay] != "300" {
		t.Errorf("defaults: %+v %+v %s %v", tg.HealthCheck, tg.Matcher, tg.ProtocolVersion, tg.Attributes)
	}
	// Idempotent with the same settings; a duplicate with others.
	again, err := env.elb.CreateTargetGroup(ctx, ec2Scope, base(func(*ops.CreateTargetGroupInput) {}))
	if err != nil || again.ARN != tg.ARN {
		t.Errorf("again: %v %v", again.ARN, err)
	}
	_, err = env.elb.CreateTargetGroup(ctx, ec2Scope, base(func(i *ops.CreateTargetGroupInput) { i.Port = ptr[int32](81) }))
	wantELBCode(t, err, "DuplicateTargetGroupName", "'tg'")
	grpc, err := env.elb.CreateTargetGroup(ctx, ec2Scope, base(func(i *ops.CreateTargetGroupInput) { i.Name, i.ProtocolVersion = "g", "GRPC" }))
	if err != nil || grpc.Matcher.GRPCCode != "12" || grpc.HealthCheck.Path != "/AWS.ALB/healthcheck" {
		t.Errorf("grpc: %+v %v", grpc, err)
	}
	// Modify: ranges again, against the stored values.
	_, err = env.elb.ModifyTargetGroup(ctx, ec2Scope, tg.ARN, ops.HealthCheckInput{Interval: ptr[int32](5)})
	wantELBCode(t, err, "ValidationError", "must be smaller than the interval")
	m, err := env.elb.ModifyTargetGroup(ctx, ec2Scope, tg.ARN, ops.HealthCheckInput{Interval: ptr[int32](10), Path: "/health",
		MatcherGiven: true, MatcherHTTPCode: "200-299"})
	if err != nil || m.HealthCheck.IntervalSeconds != 10 || m.HealthCheck.Path != "/health" || m.Matcher.HTTPCode != "200-299" {
		t.Errorf("modify: %+v %v", m, err)
	}
	_, err = env.elb.ModifyTargetGroup(ctx, ec2Scope, model.TargetGroupARN(ec2Scope, "tg", "0000000000000000"), ops.HealthCheckInput{})
	wantELBCode(t, err, "TargetGroupNotFound", "")
}

func TestELBTargetGroupAttributes(t *testing.T) {
	env := newELBEnv(t)
	tg := env.tg(t, "api")
	for _, c := range []struct {
		attrs []model.Tag
		code  string
	}{
		{[]model.Tag{{Key: model.AttrDeregistrationDelay, Value: "0"}}, ""},
		{[]model.Tag{{Key: model.AttrDeregistrationDelay, Value: "3601"}}, "ValidationError"},
		{[]model.Tag{{Key: model.AttrSlowStart, Value: "29"}}, "ValidationError"},
		{[]model.Tag{{Key: model.AttrSlowStart, Value: "30"}}, ""},
		{[]model.Tag{{Key: model.AttrLBAlgorithm, Value: "least_outstanding_requests"}}, "InvalidConfigurationRequest"}, // slow start is on
		{[]model.Tag{{Key: model.AttrSlowStart, Value: "0"}, {Key: model.AttrLBAlgorithm, Value: "least_outstanding_requests"}}, ""},
		{[]model.Tag{{Key: model.AttrLBAlgorithm, Value: "random"}}, "ValidationError"},
		{[]model.Tag{{Key: model.AttrStickinessType, Value: "source_ip"}}, "ValidationError"},
		{[]model.Tag{{Key: model.AttrStickinessEnabled, Value: "true"}, {Key: model.AttrStickinessType, Value: "app_cookie"}}, "ValidationError"},
		{[]model.Tag{{Key: model.AttrStickinessEnabled, Value: "true"}, {Key: model.AttrStickinessType, Value: "app_cookie"},
			{Key: model.AttrStickinessAppCookieName, Value: "AWSALBX"}}, "ValidationError"},
		{[]model.Tag{{Key: model.AttrStickinessEnabled, Value: "true"}, {Key: model.AttrStickinessType, Value: "app_cookie"},
			{Key: model.AttrStickinessAppCookieName, Value: "session"}}, ""},
		{[]model.Tag{{Key: model.AttrStickinessLBCookie, Value: "604801"}}, "ValidationError"},
		{[]model.Tag{{Key: "bogus", Value: "1"}}, "ValidationError"},
	} {
		got, err := env.elb.ModifyTargetGroupAttributes(t.Context(), ec2Scope, tg.ARN, c.attrs)
		if c.code != "" {
			var e *ops.ELBError
			if !errors.As(err, &e) || e.Code != c.code {
				t.Errorf("%v: %v, want %s", c.attrs, err, c.code)
			}
			continue
		}
		for _, a := range c.attrs {
			if err != nil || got[a.Key] != a.Value {
				t.Errorf("%v: %v %v", c.attrs, got, err)
			}
		}
	}
}

func TestELBListenersAndActions(t *testing.T) {
	env := newELBEnv(t)
	ctx := t.Context()
	lb := env.lb(t, "web")
	tg, tg2 := env.tg(t, "a"), env.tg(t, "b")
	port := func(p int32) *int32 { return &p }
	create := func(in ops.ListenerInput) (model.Listener, error) {
		in.LoadBalancerARN = lb.ARN
		if in.Port == nil {
			in.Port = port(8000)
		}
		if in.Protocol == "" {
			in.Protocol = "HTTP"
		}
		return env.elb.CreateListener(ctx, ec2Scope, in)
	}
	fwd := func(arn string) []ops.ActionInput { return []ops.ActionInput{{Type: "forward", TargetGroupARN: arn}} }
	for _, c := range []struct {
		name, code, contains string
		in                   ops.ListenerInput
	}{
		{"no actions", "ValidationError", "At least one action", ops.ListenerInput{DefaultActions: []ops.ActionInput{}}},
		{"tcp", "UnsupportedProtocol", "'TCP'", ops.ListenerInput{Protocol: "TCP", DefaultActions: fwd(tg.ARN)}},
		{"port", "ValidationError", "between 1 and 65535", ops.ListenerInput{Port: port(0), DefaultActions: fwd(tg.ARN)}},
		{"https no cert", "ValidationError", "A certificate must be specified", ops.ListenerInput{Protocol: "HTTPS", DefaultActions: fwd(tg.ARN)}},
		{"ssl policy", "SSLPolicyNotFound", "'Nope'", ops.ListenerInput{Protocol: "HTTPS", SslPolicy: "Nope", DefaultActions: fwd(tg.ARN)}},
		{"http cert", "ValidationError", "only be specified for HTTPS", ops.ListenerInput{Certificates: []model.ListenerCertificate{{CertificateARN: "arn:c"}}, DefaultActions: fwd(tg.ARN)}},
		{"alpn", "ValidationError", "ALPN", ops.ListenerInput{AlpnPolicy: []string{"HTTP2Only"}, DefaultActions: fwd(tg.ARN)}},
		{"missing tg", "TargetGroupNotFound", "", ops.ListenerInput{DefaultActions: fwd(model.TargetGroupARN(ec2Scope, "zz", "0000000000000000"))}},
		{"bad tg arn", "ValidationError", "not a valid target group ARN", ops.ListenerInput{DefaultActions: fwd("arn:nope")}},
		{"no tg", "ValidationError", "A target group ARN must be specified", ops.ListenerInput{DefaultActions: []ops.ActionInput{{Type: "forward"}}}},
		{"weight", "ValidationError", "between 0 and 999", ops.ListenerInput{DefaultActions: []ops.ActionInput{{Type: "forward",
			Forward: &ops.ForwardInput{TargetGroups: []ops.WeightedInput{{TargetGroupARN: tg.ARN, Weight: port(1000)}}}}}}},
		{"tg twice", "ValidationError", "more than once", ops.ListenerInput{DefaultActions: []ops.ActionInput{{Type: "forward",
			Forward: &ops.ForwardInput{TargetGroups: []ops.WeightedInput{{TargetGroupARN: tg.ARN}, {TargetGroupARN: tg.ARN}}}}}}},
		{"stickiness", "ValidationError", "between 1 and 604800", ops.ListenerInput{DefaultActions: []ops.ActionInput{{Type: "forward",
			Forward: &ops.ForwardInput{TargetGroups: []ops.WeightedInput{{TargetGroupARN: tg.ARN}}, StickinessEnabled: ptr(true), StickinessDuration: port(0)}}}}},
		{"oidc", "ValidationError", "not supported by gantry", ops.ListenerInput{DefaultActions: []ops.ActionInput{{Type: "authenticate-oidc"}}}},
		{"redirect loop", "InvalidLoadBalancerAction", "redirect to itself", ops.ListenerInput{DefaultActions: []ops.ActionInput{{Type: "redirect",
			Redirect: &ops.RedirectInput{StatusCode: "HTTP_301"}}}}},
		{"redirect code", "ValidationError", "HTTP_301, HTTP_302", ops.ListenerInput{DefaultActions: []ops.ActionInput{{Type: "redirect",
			Redirect: &ops.RedirectInput{Protocol: "HTTPS", StatusCode: "HTTP_307"}}}}},
		{"fixed code", "ValidationError", "2XX, 4XX or 5XX", ops.ListenerInput{DefaultActions: []ops.ActionInput{{Type: "fixed-response",
			FixedResponse: &ops.FixedResponseInput{StatusCode: "302"}}}}},
		{"fixed type", "ValidationError", "text/plain", ops.ListenerInput{DefaultActions: []ops.ActionInput{{Type: "fixed-response",
			FixedResponse: &ops.FixedResponseInput{StatusCode: "200", ContentType: "image/png"}}}}},
		{"two terminal", "InvalidLoadBalancerAction", "one terminal action", ops.ListenerInput{DefaultActions: []ops.ActionInput{
			{Type: "forward", TargetGroupARN: tg.ARN, Order: port(1)}, {Type: "forward", TargetGroupARN: tg2.ARN, Order: port(2)}}}},
		{"order mix", "ValidationError", "all or none", ops.ListenerInput{DefaultActions: []ops.ActionInput{
			{Type: "forward", TargetGroupARN: tg.ARN, Order: port(1)}, {Type: "forward", TargetGroupARN: tg2.ARN}}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := create(c.in)
			wantELBCode(t, err, c.code, c.contains)
		})
	}
	// A weighted forward, normalised; the same again is the same listener; another on the port
	// is a duplicate.
	in := ops.ListenerInput{Port: port(80), DefaultActions: []ops.ActionInput{{Type: "forward", Forward: &ops.ForwardInput{
		TargetGroups: []ops.WeightedInput{{TargetGroupARN: tg.ARN, Weight: port(3)}, {TargetGroupARN: tg2.ARN}}}}}}
	l, err := create(in)
	if err != nil {
		t.Fatal(err)
	}
	fc := l.DefaultActions[0].ForwardConfig
	if l.DefaultActions[0].Order != 1 || len(fc.TargetGroups) != 2 || fc.TargetGroups[0].Weight != 3 || fc.TargetGroups[1].Weight != 1 || l.DefaultActions[0].TargetGroupARN != "" {
		t.Errorf("actions %+v %+v", l.DefaultActions, fc)
	}
	again, err := create(in)
	if err != nil || again.ARN != l.ARN {
		t.Errorf("again %v %v", again.ARN, err)
	}
	_, err = create(ops.ListenerInput{Port: port(80), DefaultActions: fwd(tg.ARN)})
	wantELBCode(t, err, "DuplicateListener", lb.ARN)
	// HTTPS: the certificate is checked, the policy defaults.
	env.elb.SetCertificateChecker(fakeCerts{"arn:aws:acm:us-east-1:000000000000:certificate/good": true})
	_, err = create(ops.ListenerInput{Protocol: "HTTPS", Port: port(443), Certificates: []model.ListenerCertificate{{CertificateARN: "arn:aws:acm:us-east-1:000000000000:certificate/bad"}}, DefaultActions: fwd(tg.ARN)})
	wantELBCode(t, err, "CertificateNotFound", "certificate/bad")
	https, err := create(ops.ListenerInput{Protocol: "HTTPS", Port: port(443), Certificates: []model.ListenerCertificate{{CertificateARN: "arn:aws:acm:us-east-1:000000000000:certificate/good"}}, DefaultActions: fwd(tg.ARN)})
	if err != nil || https.SslPolicy != "ELBSecurityPolicy-2016-08" {
		t.Fatalf("https: %+v %v", https, err)
	}
	users, err := env.elb.CertificateUsers(ctx, ec2Scope, "arn:aws:acm:us-east-1:000000000000:certificate/good")
	if err != nil || !slices.Equal(users, []string{lb.ARN}) {
		t.Errorf("certificate users %v %v", users, err)
	}
	// Modify: to HTTP drops the TLS settings; moving onto a used port is a duplicate.
	m, err := env.elb.ModifyListener(ctx, ec2Scope, https.ARN, ops.ListenerInput{Protocol: "HTTP", Port: port(8443)})
	if err != nil || m.Protocol != "HTTP" || m.SslPolicy != "" || m.Certificates != nil || m.Port != 8443 {
		t.Errorf("modify: %+v %v", m, err)
	}
	_, err = env.elb.ModifyListener(ctx, ec2Scope, https.ARN, ops.ListenerInput{Port: port(80)})
	wantELBCode(t, err, "DuplicateListener", "")
	// A target group serves one load balancer.
	other := env.lb(t, "other")
	o := int32(80)
	_, err = env.elb.CreateListener(ctx, ec2Scope, ops.ListenerInput{LoadBalancerARN: other.ARN, Protocol: "HTTP", Port: &o, DefaultActions: fwd(tg.ARN)})
	wantELBCode(t, err, "TargetGroupAssociationLimit", tg.ARN)
	// In use: the group cannot go; describe shows who uses it.
	wantELBCode(t, env.elb.DeleteTargetGroup(ctx, ec2Scope, tg.ARN), "ResourceInUse", "in use")
	views, _, err := env.elb.DescribeTargetGroups(ctx, ec2Scope, ops.DescribeTargetGroupsInput{LoadBalancerARN: lb.ARN})
	if err != nil || len(views) != 2 || !slices.Equal(views[0].LoadBalancerARNs, []string{lb.ARN}) {
		t.Errorf("groups of lb: %+v %v", views, err)
	}
	ls, _, err := env.elb.DescribeListeners(ctx, ec2Scope, ops.DescribeListenersInput{LoadBalancerARN: lb.ARN})
	if err != nil || len(ls) != 2 || ls[0].Port != 80 || ls[1].Port != 8443 {
		t.Errorf("listeners %+v %v", ls, err)
	}
	_, _, err = env.elb.DescribeListeners(ctx, ec2Scope, ops.DescribeListenersInput{})
	wantELBCode(t, err, "ValidationError", "either listener ARNs or a load balancer ARN")
	for _, x := range ls {
		if err := env.elb.DeleteListener(ctx, ec2Scope, x.ARN); err != nil {
			t.Fatal(err)
		}
	}
	wantELBCode(t, env.elb.DeleteListener(ctx, ec2Scope, ls[0].ARN), "ListenerNotFound", "")
	if err := env.elb.DeleteTargetGroup(ctx, ec2Scope, tg.ARN); err != nil {
		t.Errorf("delete unused group: %v", err)
	}
	if err := env.elb.DeleteTargetGroup(ctx, ec2Scope, tg.ARN); err != nil {
		t.Errorf("delete it again: %v", err)
	}
}

type fakeCerts map[string]bool

func (f fakeCerts) CertificateExists(_ context.Context, _ model.Scope, arn string) error {
	if f[arn] {
		return nil
	}
	return apierr.New(apierr.NotFound, "no such certificate")
}
