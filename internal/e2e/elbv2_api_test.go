package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/smithy-go"
)

// elbAPISDK returns an ELBv2 client of the AWS SDK for Go v2 pointed at s.
func elbAPISDK(t *testing.T, s *Server) *elb.Client {
	t.Helper()
	cfg, err := config.LoadDefaultConfig(t.Context(), config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("test", "test", "")),
		config.WithSharedConfigFiles([]string{}), config.WithSharedCredentialsFiles([]string{}))
	if err != nil {
		t.Fatalf("load SDK config: %v", err)
	}
	return elb.NewFromConfig(cfg, func(o *elb.Options) { o.BaseEndpoint = aws.String(s.URL) })
}

// wantAPIError checks err is the AWS error code.
func wantAPIError(t *testing.T, err error, code string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != code {
		t.Fatalf("error %v, want %s", err, code)
	}
}

// elbCLIOut are the parts of the CLI's answers the test reads.
type elbCLIOut struct {
	LoadBalancers []struct {
		LoadBalancerArn, DNSName, CanonicalHostedZoneId, Scheme, VpcId, Type, IpAddressType string
		State                                                                               struct{ Code string }
		AvailabilityZones                                                                   []struct{ ZoneName, SubnetId string }
		SecurityGroups                                                                      []string
	}
	TargetGroups []struct {
		TargetGroupArn, HealthCheckPath, HealthCheckPort, TargetType string
		HealthCheckIntervalSeconds, HealthCheckTimeoutSeconds        int
		HealthyThresholdCount, UnhealthyThresholdCount               int
		Matcher                                                      struct{ HttpCode string }
		LoadBalancerArns                                             []string
	}
	Listeners []struct {
		ListenerArn, Protocol, SslPolicy string
		Port                             int
	}
	Rules []struct {
		RuleArn, Priority string
		IsDefault         bool
		Conditions        []struct{ Field string }
	}
	Attributes               []struct{ Key, Value string }
	TargetHealthDescriptions []struct {
		Target struct {
			Id               string
			Port             int
			AvailabilityZone string
		}
		TargetHealth struct{ State, Reason string }
	}
	TagDescriptions []struct {
		ResourceArn string
		Tags        []struct{ Key, Value string }
	}
	SslPolicies []struct {
		Name         string
		SslProtocols []string
	}
	CertificateArn string
}

func attrOf(out elbCLIOut, key string) string {
	for _, a := range out.Attributes {
		if a.Key == key {
			return a.Value
		}
	}
	return ""
}

// TestELBv2API drives every ELBv2 operation family through the aws CLI and the Go SDK, bad
// input included. It checks the control plane: the data plane (lbsync) runs in the same
// server and may move load balancers to active and targets through their health states.
func TestELBv2API(t *testing.T) {
	start := time.Now()
	s := startServer(t, "")
	cli, sdk, ec2c := newCLI(t, s), elbAPISDK(t, s), newEC2(t, s)
	ctx := t.Context()

	subs, err := ec2c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: []ec2types.Filter{{Name: aws.String("default-for-az"), Values: []string{"true"}}}})
	if err != nil || len(subs.Subnets) < 3 {
		t.Fatalf("default subnets: %v %v", subs, err)
	}
	sn := subs.Subnets
	slices.SortFunc(sn, func(a, b ec2types.Subnet) int { return strings.Compare(*a.AvailabilityZone, *b.AvailabilityZone) })
	vpc := *sn[0].VpcId

	// Load balancers (CLI).
	var out elbCLIOut
	cli.json(&out, "elbv2", "create-load-balancer", "--name", "web", "--subnets", *sn[0].SubnetId, *sn[1].SubnetId,
		"--tags", "Key=app,Value=shop")
	lb := out.LoadBalancers[0]
	if lb.Scheme != "internet-facing" || lb.Type != "application" || lb.VpcId != vpc || lb.State.Code != "provisioning" ||
		lb.CanonicalHostedZoneId != "Z35SXDOTRQ7X7K" || !strings.HasSuffix(lb.DNSName, ".us-east-1.elb.amazonaws.com") ||
		len(lb.AvailabilityZones) != 2 || len(lb.SecurityGroups) != 1 || lb.IpAddressType != "ipv4" {
		t.Errorf("created %+v", lb)
	}
	lbARN := lb.LoadBalancerArn
	cli.fail("ValidationError", "elbv2", "create-load-balancer", "--name", "one", "--subnets", *sn[0].SubnetId)
	_, err = sdk.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{Name: aws.String("bad_name"), Subnets: []string{*sn[0].SubnetId, *sn[1].SubnetId}})
	wantAPIError(t, err, "ValidationError")
	_, err = sdk.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{Name: aws.String("x"), Subnets: []string{*sn[0].SubnetId, "subnet-0123456789abcdef0"}})
	wantAPIError(t, err, "SubnetNotFound")
	_, err = sdk.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{Name: aws.String("web"), Subnets: []string{*sn[0].SubnetId, *sn[2].SubnetId}})
	wantAPIError(t, err, "DuplicateLoadBalancerName")
	_, err = sdk.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{Names: []string{"nope"}})
	wantAPIError(t, err, "LoadBalancerNotFound")
	// Its nodes are ENIs in its subnets, in its security group.
	enis, err := ec2c.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{})
	if err != nil {
		t.Fatal(err)
	}
	lbID := lbARN[strings.LastIndex(lbARN, "/")+1:]
	var nodes int
	for _, n := range enis.NetworkInterfaces {
		if aws.ToString(n.Description) == "ELB app/web/"+lbID {
			nodes++
			if n.Status != ec2types.NetworkInterfaceStatusInUse || !aws.ToBool(n.RequesterManaged) || len(n.Groups) != 1 ||
				*n.Groups[0].GroupId != lb.SecurityGroups[0] || !netip.MustParsePrefix(subnetCIDR(sn, *n.SubnetId)).Contains(netip.MustParseAddr(*n.PrivateIpAddress)) {
				t.Errorf("node ENI %+v", n)
			}
		}
	}
	if nodes != 2 {
		t.Errorf("%d node ENIs, want 2", nodes)
	}
	if _, err := sdk.ModifyLoadBalancerAttributes(ctx, &elb.ModifyLoadBalancerAttributesInput{LoadBalancerArn: aws.String(lbARN),
		Attributes: []elbtypes.LoadBalancerAttribute{{Key: aws.String("idle_timeout.timeout_seconds"), Value: aws.String("120")}}}); err != nil {
		t.Fatal(err)
	}
	lbAttrs, err := sdk.DescribeLoadBalancerAttributes(ctx, &elb.DescribeLoadBalancerAttributesInput{LoadBalancerArn: aws.String(lbARN)})
	if err != nil || len(lbAttrs.Attributes) < 10 {
		t.Fatalf("describe attributes: %+v %v", lbAttrs, err)
	}
	for _, a := range lbAttrs.Attributes {
		if (*a.Key == "idle_timeout.timeout_seconds" && *a.Value != "120") || (*a.Key == "routing.http2.enabled" && *a.Value != "true") {
			t.Errorf("attribute %s = %s", *a.Key, *a.Value)
		}
	}
	for _, bad := range []elbtypes.LoadBalancerAttribute{{Key: aws.String("idle_timeout.timeout_seconds"), Value: aws.String("4001")}, {Key: aws.String("nope"), Value: aws.String("1")}} {
		_, err = sdk.ModifyLoadBalancerAttributes(ctx, &elb.ModifyLoadBalancerAttributesInput{LoadBalancerArn: aws.String(lbARN), Attributes: []elbtypes.LoadBalancerAttribute{bad}})
		wantAPIError(t, err, "ValidationError")
	}

	// Target groups (CLI).
	out = elbCLIOut{}
	cli.json(&out, "elbv2", "create-target-group", "--name", "api", "--protocol", "HTTP", "--port", "8080", "--vpc-id", vpc,
		"--target-type", "ip", "--health-check-path", "/health", "--matcher", "HttpCode=200-299")
	tg := out.TargetGroups[0]
	if tg.HealthCheckPath != "/health" || tg.HealthCheckPort != "traffic-port" || tg.HealthCheckIntervalSeconds != 30 || tg.HealthCheckTimeoutSeconds != 5 ||
		tg.HealthyThresholdCount != 5 || tg.UnhealthyThresholdCount != 2 || tg.Matcher.HttpCode != "200-299" || tg.TargetType != "ip" {
		t.Errorf("target group %+v", tg)
	}
	tgARN := tg.TargetGroupArn
	cli.fail("ValidationError", "elbv2", "create-target-group", "--name", "inst", "--protocol", "HTTP", "--port", "80", "--vpc-id", vpc)
	_, err = sdk.CreateTargetGroup(ctx, &elb.CreateTargetGroupInput{Name: aws.String("slow"), Protocol: elbtypes.ProtocolEnumHttp, Port: aws.Int32(80),
		VpcId: aws.String(vpc), TargetType: elbtypes.TargetTypeEnumIp, HealthCheckIntervalSeconds: aws.Int32(301)})
	wantAPIError(t, err, "ValidationError")
	_, err = sdk.CreateTargetGroup(ctx, &elb.CreateTargetGroupInput{Name: aws.String("api"), Protocol: elbtypes.ProtocolEnumHttp, Port: aws.Int32(9090),
		VpcId: aws.String(vpc), TargetType: elbtypes.TargetTypeEnumIp})
	wantAPIError(t, err, "DuplicateTargetGroupName")
	mtg, err := sdk.ModifyTargetGroup(ctx, &elb.ModifyTargetGroupInput{TargetGroupArn: aws.String(tgARN), HealthCheckIntervalSeconds: aws.Int32(10),
		HealthyThresholdCount: aws.Int32(2)})
	if err != nil || *mtg.TargetGroups[0].HealthCheckIntervalSeconds != 10 || *mtg.TargetGroups[0].HealthyThresholdCount != 2 {
		t.Errorf("modified %+v %v", mtg, err)
	}
	_, err = sdk.ModifyTargetGroup(ctx, &elb.ModifyTargetGroupInput{TargetGroupArn: aws.String(tgARN), HealthCheckTimeoutSeconds: aws.Int32(10)})
	wantAPIError(t, err, "ValidationError")
	cli.json(&out, "elbv2", "modify-target-group-attributes", "--target-group-arn", tgARN, "--attributes",
		"Key=deregistration_delay.timeout_seconds,Value=30", "Key=load_balancing.algorithm.type,Value=least_outstanding_requests")
	if attrOf(out, "deregistration_delay.timeout_seconds") != "30" || attrOf(out, "load_balancing.algorithm.type") != "least_outstanding_requests" ||
		attrOf(out, "stickiness.enabled") != "false" {
		t.Errorf("group attributes %+v", out.Attributes)
	}
	tgAttrs, err := sdk.DescribeTargetGroupAttributes(ctx, &elb.DescribeTargetGroupAttributesInput{TargetGroupArn: aws.String(tgARN)})
	if err != nil || len(tgAttrs.Attributes) < 8 {
		t.Errorf("describe group attributes: %+v %v", tgAttrs, err)
	}
	_, err = sdk.ModifyTargetGroupAttributes(ctx, &elb.ModifyTargetGroupAttributesInput{TargetGroupArn: aws.String(tgARN),
		Attributes: []elbtypes.TargetGroupAttribute{{Key: aws.String("deregistration_delay.timeout_seconds"), Value: aws.String("3601")}}})
	wantAPIError(t, err, "ValidationError")

	// Listeners and rules (CLI).
	out = elbCLIOut{}
	cli.json(&out, "elbv2", "create-listener", "--load-balancer-arn", lbARN, "--protocol", "HTTP", "--port", "80",
		"--default-actions", "Type=forward,TargetGroupArn="+tgARN)
	listenerARN := out.Listeners[0].ListenerArn
	fixed404 := []elbtypes.Action{{Type: elbtypes.ActionTypeEnumFixedResponse, FixedResponseConfig: &elbtypes.FixedResponseActionConfig{StatusCode: aws.String("404")}}}
	_, err = sdk.CreateListener(ctx, &elb.CreateListenerInput{LoadBalancerArn: aws.String(lbARN), Protocol: elbtypes.ProtocolEnumHttp, Port: aws.Int32(80), DefaultActions: fixed404})
	wantAPIError(t, err, "DuplicateListener")
	_, err = sdk.CreateListener(ctx, &elb.CreateListenerInput{LoadBalancerArn: aws.String(lbARN), Protocol: elbtypes.ProtocolEnumHttps, Port: aws.Int32(443),
		Certificates:   []elbtypes.Certificate{{CertificateArn: aws.String("arn:aws:acm:us-east-1:000000000000:certificate/00000000-0000-0000-0000-000000000000")}},
		DefaultActions: fixed404})
	wantAPIError(t, err, "CertificateNotFound")
	certARN := importTestCertificate(t, cli)
	cli.json(&out, "elbv2", "create-listener", "--load-balancer-arn", lbARN, "--protocol", "HTTPS", "--port", "443",
		"--certificates", "CertificateArn="+certARN, "--default-actions", "Type=redirect,RedirectConfig={Protocol=HTTP,Port=80,StatusCode=HTTP_302}")
	if out.Listeners[0].SslPolicy != "ELBSecurityPolicy-2016-08" || out.Listeners[0].Protocol != "HTTPS" {
		t.Errorf("https listener %+v", out.Listeners[0])
	}
	httpsARN := out.Listeners[0].ListenerArn
	r10, err := sdk.CreateRule(ctx, &elb.CreateRuleInput{ListenerArn: aws.String(listenerARN), Priority: aws.Int32(10),
		Conditions: []elbtypes.RuleCondition{{Field: aws.String("path-pattern"), Values: []string{"/api/*"}}},
		Actions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumFixedResponse, FixedResponseConfig: &elbtypes.FixedResponseActionConfig{
			StatusCode: aws.String("503"), ContentType: aws.String("text/plain"), MessageBody: aws.String("down")}}}})
	if err != nil {
		t.Fatal(err)
	}
	rule10 := *r10.Rules[0].RuleArn
	cli.json(&out, "elbv2", "create-rule", "--listener-arn", listenerARN, "--priority", "20",
		"--conditions", `[{"Field":"http-header","HttpHeaderConfig":{"HttpHeaderName":"X-Beta","Values":["1"]}},{"Field":"source-ip","SourceIpConfig":{"Values":["10.0.0.0/8"]}}]`,
		"--actions", `[{"Type":"forward","ForwardConfig":{"TargetGroups":[{"TargetGroupArn":"`+tgARN+`","Weight":5}],"TargetGroupStickinessConfig":{"Enabled":true,"DurationSeconds":60}}}]`)
	rule20 := out.Rules[0].RuleArn
	pathIs := func(v ...string) []elbtypes.RuleCondition {
		return []elbtypes.RuleCondition{{Field: aws.String("path-pattern"), PathPatternConfig: &elbtypes.PathPatternConditionConfig{Values: v}}}
	}
	_, err = sdk.CreateRule(ctx, &elb.CreateRuleInput{ListenerArn: aws.String(listenerARN), Priority: aws.Int32(10), Conditions: pathIs("/x"), Actions: fixed404})
	wantAPIError(t, err, "PriorityInUse")
	_, err = sdk.CreateRule(ctx, &elb.CreateRuleInput{ListenerArn: aws.String(listenerARN), Priority: aws.Int32(30), Conditions: pathIs("/a", "/b", "/c", "/d", "/e", "/f"), Actions: fixed404})
	wantAPIError(t, err, "ValidationError")
	_, err = sdk.CreateRule(ctx, &elb.CreateRuleInput{ListenerArn: aws.String(listenerARN), Priority: aws.Int32(50001), Conditions: pathIs("/a"), Actions: fixed404})
	wantAPIError(t, err, "ValidationError")
	_, err = sdk.CreateRule(ctx, &elb.CreateRuleInput{ListenerArn: aws.String(listenerARN), Priority: aws.Int32(31), Actions: fixed404,
		Conditions: []elbtypes.RuleCondition{{Field: aws.String("http-request-method"), HttpRequestMethodConfig: &elbtypes.HttpRequestMethodConditionConfig{Values: []string{"get"}}}}})
	wantAPIError(t, err, "ValidationError")
	if _, err := sdk.SetRulePriorities(ctx, &elb.SetRulePrioritiesInput{RulePriorities: []elbtypes.RulePriorityPair{
		{RuleArn: aws.String(rule10), Priority: aws.Int32(20)}, {RuleArn: aws.String(rule20), Priority: aws.Int32(10)}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := sdk.ModifyRule(ctx, &elb.ModifyRuleInput{RuleArn: aws.String(rule10), Conditions: []elbtypes.RuleCondition{
		{Field: aws.String("host-header"), Values: []string{"api.example.com"}}}}); err != nil {
		t.Fatal(err)
	}
	out = elbCLIOut{}
	cli.json(&out, "elbv2", "describe-rules", "--listener-arn", listenerARN)
	if len(out.Rules) != 3 || out.Rules[0].RuleArn != rule20 || out.Rules[0].Priority != "10" || out.Rules[1].Conditions[0].Field != "host-header" ||
		!out.Rules[2].IsDefault || out.Rules[2].Priority != "default" {
		t.Errorf("rules %+v", out.Rules)
	}
	_, err = sdk.DeleteRule(ctx, &elb.DeleteRuleInput{RuleArn: aws.String(out.Rules[2].RuleArn)})
	wantAPIError(t, err, "OperationNotPermitted")
	_, err = sdk.DeleteTargetGroup(ctx, &elb.DeleteTargetGroupInput{TargetGroupArn: aws.String(tgARN)})
	wantAPIError(t, err, "ResourceInUse")
	groups, err := sdk.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{LoadBalancerArn: aws.String(lbARN)})
	if err != nil || len(groups.TargetGroups) != 1 || !slices.Equal(groups.TargetGroups[0].LoadBalancerArns, []string{lbARN}) {
		t.Errorf("groups of the load balancer %+v %v", groups, err)
	}

	// Targets (CLI): in use, so initial; the data plane may already call them unhealthy.
	a, b := hostIn(t, sn, 0, 10), hostIn(t, sn, 1, 11)
	cli.json(nil, "elbv2", "register-targets", "--target-group-arn", tgARN, "--targets", "Id="+a, "Id="+b+",Port=9000")
	_, err = sdk.RegisterTargets(ctx, &elb.RegisterTargetsInput{TargetGroupArn: aws.String(tgARN), Targets: []elbtypes.TargetDescription{{Id: aws.String("10.9.9.9")}}})
	wantAPIError(t, err, "InvalidTarget")
	out = elbCLIOut{}
	cli.json(&out, "elbv2", "describe-target-health", "--target-group-arn", tgARN)
	if len(out.TargetHealthDescriptions) != 2 {
		t.Fatalf("health %+v", out.TargetHealthDescriptions)
	}
	for _, d := range out.TargetHealthDescriptions {
		if s := d.TargetHealth.State; s != "initial" && s != "unhealthy" {
			t.Errorf("new target %+v", d)
		}
	}
	nr, err := sdk.DescribeTargetHealth(ctx, &elb.DescribeTargetHealthInput{TargetGroupArn: aws.String(tgARN), Targets: []elbtypes.TargetDescription{{Id: aws.String(hostIn(t, sn, 0, 99))}}})
	if err != nil || len(nr.TargetHealthDescriptions) != 1 || nr.TargetHealthDescriptions[0].TargetHealth.State != elbtypes.TargetHealthStateEnumUnused ||
		nr.TargetHealthDescriptions[0].TargetHealth.Reason != elbtypes.TargetHealthReasonEnumNotRegistered {
		t.Errorf("unregistered target %+v %v", nr, err)
	}

	// Tags and SSL policies (CLI).
	if _, err := sdk.AddTags(ctx, &elb.AddTagsInput{ResourceArns: []string{lbARN, tgARN, listenerARN, rule10}, Tags: []elbtypes.Tag{{Key: aws.String("env"), Value: aws.String("test")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := sdk.RemoveTags(ctx, &elb.RemoveTagsInput{ResourceArns: []string{lbARN}, TagKeys: []string{"app"}}); err != nil {
		t.Fatal(err)
	}
	out = elbCLIOut{}
	cli.json(&out, "elbv2", "describe-tags", "--resource-arns", lbARN, tgARN, listenerARN, rule10)
	if len(out.TagDescriptions) != 4 || len(out.TagDescriptions[0].Tags) != 1 || out.TagDescriptions[0].Tags[0].Key != "env" {
		t.Errorf("tags %+v", out.TagDescriptions)
	}
	_, err = sdk.AddTags(ctx, &elb.AddTagsInput{ResourceArns: []string{lbARN}, Tags: []elbtypes.Tag{{Key: aws.String("aws:x"), Value: aws.String("1")}}})
	wantAPIError(t, err, "ValidationError")
	cli.json(&out, "elbv2", "describe-ssl-policies", "--names", "ELBSecurityPolicy-2016-08", "ELBSecurityPolicy-TLS13-1-2-2021-06")
	if len(out.SslPolicies) != 2 || !slices.Contains(out.SslPolicies[1].SslProtocols, "TLSv1.3") {
		t.Errorf("ssl policies %+v", out.SslPolicies)
	}
	_, err = sdk.DescribeSSLPolicies(ctx, &elb.DescribeSSLPoliciesInput{Names: []string{"ELBSecurityPolicy-Nope"}})
	wantAPIError(t, err, "SSLPolicyNotFound")

	// The Go SDK: an internal load balancer in three zones, paging, waiters, typed errors.
	ilb, err := sdk.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{Name: aws.String("inner"), Scheme: elbtypes.LoadBalancerSchemeEnumInternal,
		Subnets: []string{*sn[0].SubnetId, *sn[1].SubnetId, *sn[2].SubnetId}})
	if err != nil {
		t.Fatal(err)
	}
	innerARN := *ilb.LoadBalancers[0].LoadBalancerArn
	if !strings.HasPrefix(*ilb.LoadBalancers[0].DNSName, "internal-inner-") || len(ilb.LoadBalancers[0].AvailabilityZones) != 3 {
		t.Errorf("internal %+v", ilb.LoadBalancers[0])
	}
	_, err = sdk.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{Name: aws.String("nlb"), Type: elbtypes.LoadBalancerTypeEnumNetwork,
		Subnets: []string{*sn[0].SubnetId, *sn[1].SubnetId}})
	wantAPIError(t, err, "ValidationError")
	var names []string
	pages := elb.NewDescribeLoadBalancersPaginator(sdk, &elb.DescribeLoadBalancersInput{PageSize: aws.Int32(1)})
	for pages.HasMorePages() {
		p, err := pages.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range p.LoadBalancers {
			names = append(names, *l.LoadBalancerName)
		}
	}
	if !slices.Equal(names, []string{"inner", "web"}) {
		t.Errorf("paged names %v", names)
	}
	itg, err := sdk.CreateTargetGroup(ctx, &elb.CreateTargetGroupInput{Name: aws.String("inner-tg"), Protocol: elbtypes.ProtocolEnumHttp,
		Port: aws.Int32(80), VpcId: aws.String(vpc), TargetType: elbtypes.TargetTypeEnumIp, HealthCheckTimeoutSeconds: aws.Int32(121)})
	wantAPIError(t, err, "ValidationError")
	itg, err = sdk.CreateTargetGroup(ctx, &elb.CreateTargetGroupInput{Name: aws.String("inner-tg"), Protocol: elbtypes.ProtocolEnumHttp,
		Port: aws.Int32(80), VpcId: aws.String(vpc), TargetType: elbtypes.TargetTypeEnumIp})
	if err != nil {
		t.Fatal(err)
	}
	innerTG := *itg.TargetGroups[0].TargetGroupArn
	_, err = sdk.CreateListener(ctx, &elb.CreateListenerInput{LoadBalancerArn: aws.String(innerARN), Protocol: elbtypes.ProtocolEnumHttp,
		Port: aws.Int32(80), DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String(tgARN)}}})
	wantAPIError(t, err, "TargetGroupAssociationLimit")
	il, err := sdk.CreateListener(ctx, &elb.CreateListenerInput{LoadBalancerArn: aws.String(innerARN), Protocol: elbtypes.ProtocolEnumHttp,
		Port: aws.Int32(80), DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, ForwardConfig: &elbtypes.ForwardActionConfig{
			TargetGroups: []elbtypes.TargetGroupTuple{{TargetGroupArn: aws.String(innerTG), Weight: aws.Int32(1000)}}}}}})
	wantAPIError(t, err, "ValidationError")
	il, err = sdk.CreateListener(ctx, &elb.CreateListenerInput{LoadBalancerArn: aws.String(innerARN), Protocol: elbtypes.ProtocolEnumHttp,
		Port: aws.Int32(80), DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, ForwardConfig: &elbtypes.ForwardActionConfig{
			TargetGroups: []elbtypes.TargetGroupTuple{{TargetGroupArn: aws.String(innerTG), Weight: aws.Int32(3)}}}}}})
	if err != nil {
		t.Fatal(err)
	}
	if fc := il.Listeners[0].DefaultActions[0].ForwardConfig; fc == nil || *fc.TargetGroups[0].Weight != 3 {
		t.Errorf("forward config %+v", il.Listeners[0].DefaultActions[0])
	}
	_, err = sdk.DescribeListeners(ctx, &elb.DescribeListenersInput{ListenerArns: []string{*il.Listeners[0].ListenerArn + "0"}})
	wantAPIError(t, err, "ListenerNotFound")
	_, err = sdk.DescribeRules(ctx, &elb.DescribeRulesInput{RuleArns: []string{rule10 + "f"}})
	wantAPIError(t, err, "RuleNotFound")
	_, err = sdk.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{Names: []string{"nope"}})
	wantAPIError(t, err, "TargetGroupNotFound")
	// The load balancers become available once the data plane listens (the waiter works).
	waiter := elb.NewLoadBalancerAvailableWaiter(sdk, func(o *elb.LoadBalancerAvailableWaiterOptions) { o.MinDelay, o.MaxDelay = time.Second, time.Second })
	if err := waiter.Wait(ctx, &elb.DescribeLoadBalancersInput{LoadBalancerArns: []string{lbARN, innerARN}}, 30*time.Second); err != nil {
		t.Errorf("load-balancer-available: %v", err)
	}

	// Deregistration, and the target-deregistered waiter. With a deregistration delay of 0
	// there is nothing to drain: the target goes at once and the waiter (CLI and SDK) succeeds.
	x := hostIn(t, sn, 2, 12)
	if _, err := sdk.RegisterTargets(ctx, &elb.RegisterTargetsInput{TargetGroupArn: aws.String(innerTG), Targets: []elbtypes.TargetDescription{{Id: aws.String(x)}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := sdk.ModifyTargetGroupAttributes(ctx, &elb.ModifyTargetGroupAttributesInput{TargetGroupArn: aws.String(innerTG),
		Attributes: []elbtypes.TargetGroupAttribute{{Key: aws.String("deregistration_delay.timeout_seconds"), Value: aws.String("0")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := sdk.DeregisterTargets(ctx, &elb.DeregisterTargetsInput{TargetGroupArn: aws.String(innerTG), Targets: []elbtypes.TargetDescription{{Id: aws.String(x)}}}); err != nil {
		t.Fatal(err)
	}
	gone := &elb.DescribeTargetHealthInput{TargetGroupArn: aws.String(innerTG), Targets: []elbtypes.TargetDescription{{Id: aws.String(x)}}}
	deregistered := elb.NewTargetDeregisteredWaiter(sdk, func(o *elb.TargetDeregisteredWaiterOptions) { o.MinDelay, o.MaxDelay = time.Second, time.Second })
	if err := deregistered.Wait(ctx, gone, 5*time.Second); err != nil {
		t.Errorf("target-deregistered after a delay of 0: %v", err)
	}
	cli.json(nil, "elbv2", "wait", "target-deregistered", "--target-group-arn", innerTG, "--targets", "Id="+x)
	_, err = sdk.DeregisterTargets(ctx, &elb.DeregisterTargetsInput{TargetGroupArn: aws.String(innerTG), Targets: []elbtypes.TargetDescription{{Id: aws.String(x)}}})
	wantAPIError(t, err, "InvalidTarget")
	// With a delay (30 s), the target drains first: the waiter succeeds only once the data plane
	// has removed it, and never while it is still draining.
	if _, err := sdk.DeregisterTargets(ctx, &elb.DeregisterTargetsInput{TargetGroupArn: aws.String(tgARN), Targets: []elbtypes.TargetDescription{{Id: aws.String(a)}}}); err != nil {
		t.Fatal(err)
	}
	drainingOne := &elb.DescribeTargetHealthInput{TargetGroupArn: aws.String(tgARN), Targets: []elbtypes.TargetDescription{{Id: aws.String(a)}}}
	h, err := sdk.DescribeTargetHealth(ctx, drainingOne)
	if err != nil {
		t.Fatal(err)
	}
	if st := h.TargetHealthDescriptions[0].TargetHealth; st.State != elbtypes.TargetHealthStateEnumDraining &&
		st.Reason != elbtypes.TargetHealthReasonEnumNotRegistered {
		t.Errorf("just deregistered: %+v", st)
	}
	waitErr := deregistered.Wait(ctx, drainingOne, 5*time.Second)
	h, err = sdk.DescribeTargetHealth(ctx, drainingOne)
	if err != nil {
		t.Fatal(err)
	}
	st := h.TargetHealthDescriptions[0].TargetHealth
	switch {
	case waitErr == nil && st.Reason != elbtypes.TargetHealthReasonEnumNotRegistered:
		t.Errorf("target-deregistered succeeded, but the target is %+v", st)
	case waitErr != nil && st.State != elbtypes.TargetHealthStateEnumDraining:
		t.Errorf("target-deregistered failed (%v), but the target is %+v", waitErr, st)
	}

	// Deletes: listener (and its rules), group, load balancers (and their ENIs).
	if _, err := sdk.DeleteListener(ctx, &elb.DeleteListenerInput{ListenerArn: aws.String(listenerARN)}); err != nil {
		t.Fatal(err)
	}
	_, err = sdk.DescribeRules(ctx, &elb.DescribeRulesInput{RuleArns: []string{rule10}})
	wantAPIError(t, err, "RuleNotFound")
	if _, err := sdk.DeleteListener(ctx, &elb.DeleteListenerInput{ListenerArn: aws.String(httpsARN)}); err != nil {
		t.Fatal(err)
	}
	if _, err := sdk.DeleteTargetGroup(ctx, &elb.DeleteTargetGroupInput{TargetGroupArn: aws.String(tgARN)}); err != nil {
		t.Fatal(err)
	}
	cli.json(nil, "elbv2", "delete-load-balancer", "--load-balancer-arn", lbARN)
	if _, err := sdk.DeleteLoadBalancer(ctx, &elb.DeleteLoadBalancerInput{LoadBalancerArn: aws.String(innerARN)}); err != nil {
		t.Fatal(err)
	}
	deleted := elb.NewLoadBalancersDeletedWaiter(sdk, func(o *elb.LoadBalancersDeletedWaiterOptions) { o.MinDelay, o.MaxDelay = time.Second, time.Second })
	if err := deleted.Wait(ctx, &elb.DescribeLoadBalancersInput{LoadBalancerArns: []string{lbARN, innerARN}}, 10*time.Second); err != nil {
		t.Errorf("load-balancers-deleted: %v", err)
	}
	enis, err = ec2c.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range enis.NetworkInterfaces {
		if strings.HasPrefix(aws.ToString(n.Description), "ELB app/") {
			t.Errorf("ENI left after the load balancers went: %+v", n)
		}
	}
	t.Logf("ELBv2 API end to end in %s", time.Since(start).Round(time.Millisecond))
}

// subnetCIDR returns the CIDR of subnet id among sn.
func subnetCIDR(sn []ec2types.Subnet, id string) string {
	for _, s := range sn {
		if *s.SubnetId == id {
			return *s.CidrBlock
		}
	}
	return "0.0.0.0/32"
}

// hostIn returns address host (last byte) of subnet i's CIDR.
func hostIn(t *testing.T, sn []ec2types.Subnet, i int, host byte) string {
	t.Helper()
	a := netip.MustParsePrefix(*sn[i].CidrBlock).Addr().As4()
	a[3] = host
	return netip.AddrFrom4(a).String()
}

// importTestCertificate imports a fresh self-signed certificate into ACM with the CLI and
// returns its ARN.
func importTestCertificate(t *testing.T, cli *awsCLI) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "elbv2-api.example.com"},
		DNSNames: []string{"elbv2-api.example.com"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	var out elbCLIOut
	cli.json(&out, "acm", "import-certificate", "--certificate", "fileb://"+certFile, "--private-key", "fileb://"+keyFile)
	if out.CertificateArn == "" {
		t.Fatal("import-certificate returned no ARN")
	}
	return out.CertificateArn
}
