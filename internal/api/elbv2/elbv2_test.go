package elbv2_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gantry-dev/gantry/internal/api"
	"github.com/gantry-dev/gantry/internal/api/elbv2"
	"github.com/gantry-dev/gantry/internal/logx"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/ops"
	"github.com/gantry-dev/gantry/internal/store"
	"github.com/gantry-dev/gantry/internal/testutil"
)

var scope = model.Scope{Account: model.DefaultAccount, Region: model.DefaultRegion}

// newELBAPI serves the ELBv2 service over a fresh store with its default VPC, and returns its
// URL and the default VPC's subnets and id.
func newELBAPI(t *testing.T) (string, []model.Subnet, string) {
	t.Helper()
	cli, prefix := testutil.Etcd(t)
	st := store.New(cli, prefix)
	ec2 := ops.NewEC2(st, logx.Discard())
	if err := ec2.EnsureDefaultVPC(context.Background(), scope); err != nil {
		t.Fatal(err)
	}
	subs, err := st.Subnets().List(t.Context(), scope)
	if err != nil {
		t.Fatal(err)
	}
	var out []model.Subnet
	for _, s := range subs {
		out = append(out, s.Value)
	}
	srv := httptest.NewServer(api.New(logx.Discard(), elbv2.Service(ops.NewELBv2(st, ec2, ops.DefaultLBAddressPool, logx.Discard()))))
	t.Cleanup(srv.Close)
	return srv.URL, out, out[0].VpcID
}

// call posts a query form, unsigned, routed by Version, and returns the status and body.
func call(t *testing.T, base, action string, params ...string) (int, string) {
	t.Helper()
	form := url.Values{"Action": {action}, "Version": {elbv2.APIVersion}}
	for i := 0; i+1 < len(params); i += 2 {
		form.Add(params[i], params[i+1])
	}
	resp, err := http.PostForm(base, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func first(body, name string) string {
	m := regexp.MustCompile("<" + name + ">([^<]*)</" + name + ">").FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return m[1]
}

func TestELBv2Wire(t *testing.T) {
	base, subs, vpc := newELBAPI(t)
	// An empty list is an empty element, so clients show [].
	code, body := call(t, base, "DescribeLoadBalancers")
	if code != 200 || !strings.Contains(body, "<LoadBalancers></LoadBalancers>") ||
		!strings.Contains(body, `<DescribeLoadBalancersResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/">`) {
		t.Fatalf("empty describe: %d %s", code, body)
	}
	// Missing required members and bad values are ValidationError, naming the member.
	code, body = call(t, base, "CreateLoadBalancer")
	if code != 400 || first(body, "Code") != "ValidationError" || !strings.Contains(body, "Name") {
		t.Errorf("no name: %d %s", code, body)
	}
	code, body = call(t, base, "CreateTargetGroup", "Name", "x", "Port", "eighty")
	if code != 400 || first(body, "Code") != "ValidationError" || !strings.Contains(body, "Port") {
		t.Errorf("bad port: %d %s", code, body)
	}
	code, body = call(t, base, "DescribeLoadBalancers", "Names.member.1", "nope")
	if code != 400 || first(body, "Code") != "LoadBalancerNotFound" || first(body, "Type") != "Sender" {
		t.Errorf("not found: %d %s", code, body)
	}
	code, body = call(t, base, "CreateLoadBalancer", "Name", "web", "Subnets.member.1", subs[0].ID, "Subnets.member.2", subs[1].ID,
		"Tags.member.1.Key", "k", "Tags.member.1.Value", "v")
	lbARN := first(body, "LoadBalancerArn")
	if code != 200 || lbARN == "" || first(body, "Code") != "provisioning" || strings.Count(body, "<member><ZoneName>") != 2 {
		t.Fatalf("create: %d %s", code, body)
	}
	code, body = call(t, base, "CreateTargetGroup", "Name", "api", "Protocol", "HTTP", "Port", "8080", "VpcId", vpc, "TargetType", "ip",
		"HealthCheckIntervalSeconds", "10", "Matcher.HttpCode", "200,204")
	tgARN := first(body, "TargetGroupArn")
	if code != 200 || first(body, "HealthCheckIntervalSeconds") != "10" || first(body, "HttpCode") != "200,204" || first(body, "HealthCheckPath") != "/" {
		t.Fatalf("target group: %d %s", code, body)
	}
	code, body = call(t, base, "CreateListener", "LoadBalancerArn", lbARN, "Protocol", "HTTP", "Port", "80",
		"DefaultActions.member.1.Type", "forward",
		"DefaultActions.member.1.ForwardConfig.TargetGroups.member.1.TargetGroupArn", tgARN,
		"DefaultActions.member.1.ForwardConfig.TargetGroups.member.1.Weight", "7",
		"DefaultActions.member.1.ForwardConfig.TargetGroupStickinessConfig.Enabled", "true",
		"DefaultActions.member.1.ForwardConfig.TargetGroupStickinessConfig.DurationSeconds", "120")
	listenerARN := first(body, "ListenerArn")
	if code != 200 || first(body, "Weight") != "7" || first(body, "DurationSeconds") != "120" || first(body, "Enabled") != "true" {
		t.Fatalf("listener: %d %s", code, body)
	}
	code, body = call(t, base, "CreateRule", "ListenerArn", listenerARN, "Priority", "3",
		"Conditions.member.1.Field", "http-header",
		"Conditions.member.1.HttpHeaderConfig.HttpHeaderName", "X-Env",
		"Conditions.member.1.HttpHeaderConfig.Values.member.1", "beta",
		"Conditions.member.2.Field", "query-string",
		"Conditions.member.2.QueryStringConfig.Values.member.1.Key", "v",
		"Conditions.member.2.QueryStringConfig.Values.member.1.Value", "2",
		"Conditions.member.3.Field", "host-header",
		"Conditions.member.3.Values.member.1", "api.example.com",
		"Actions.member.1.Type", "redirect",
		"Actions.member.1.RedirectConfig.Protocol", "HTTPS",
		"Actions.member.1.RedirectConfig.StatusCode", "HTTP_301")
	if code != 200 || first(body, "HttpHeaderName") != "X-Env" || first(body, "Key") != "v" || first(body, "Priority") != "3" ||
		!strings.Contains(body, "<HostHeaderConfig><Values><member>api.example.com</member></Values></HostHeaderConfig>") ||
		first(body, "Path") != "/#{path}" || first(body, "StatusCode") != "HTTP_301" {
		t.Fatalf("rule: %d %s", code, body)
	}
	code, body = call(t, base, "DescribeRules", "ListenerArn", listenerARN)
	if code != 200 || strings.Count(body, "<RuleArn>") != 2 || !strings.Contains(body, "<Priority>default</Priority>") ||
		!strings.Contains(body, "<IsDefault>true</IsDefault>") {
		t.Errorf("rules: %d %s", code, body)
	}
	ip := netip.MustParsePrefix(subs[0].CidrBlock).Addr().Next().Next().Next().Next().Next().String()
	code, body = call(t, base, "RegisterTargets", "TargetGroupArn", tgARN, "Targets.member.1.Id", ip)
	if code != 200 || !strings.Contains(body, "<RegisterTargetsResult></RegisterTargetsResult>") {
		t.Errorf("register: %d %s", code, body)
	}
	code, body = call(t, base, "DescribeTargetHealth", "TargetGroupArn", tgARN)
	if code != 200 || first(body, "Id") != ip || first(body, "State") != "initial" || first(body, "Reason") != "Elb.RegistrationInProgress" ||
		first(body, "HealthCheckPort") != "8080" || first(body, "Port") != "8080" {
		t.Errorf("health: %d %s", code, body)
	}
	code, body = call(t, base, "DescribeTargetGroupAttributes", "TargetGroupArn", tgARN)
	if code != 200 || !strings.Contains(body, "<member><Key>deregistration_delay.timeout_seconds</Key><Value>300</Value></member>") {
		t.Errorf("attributes: %d %s", code, body)
	}
	code, body = call(t, base, "DescribeSSLPolicies", "Names.member.1", "ELBSecurityPolicy-TLS13-1-3-2021-06")
	if code != 200 || !strings.Contains(body, "<Ciphers><member><Name>TLS_AES_128_GCM_SHA256</Name><Priority>1</Priority></member>") ||
		!strings.Contains(body, "<SupportedLoadBalancerTypes><member>application</member></SupportedLoadBalancerTypes>") {
		t.Errorf("ssl policies: %d %s", code, body)
	}
	code, body = call(t, base, "DescribeTags", "ResourceArns.member.1", lbARN)
	if code != 200 || !strings.Contains(body, "<Tags><member><Key>k</Key><Value>v</Value></member></Tags>") {
		t.Errorf("tags: %d %s", code, body)
	}
	code, body = call(t, base, "CreateLoadBalancer", "Name", "n", "SubnetMappings.member.1.SubnetId", subs[0].ID,
		"SubnetMappings.member.1.AllocationId", "eipalloc-1", "SubnetMappings.member.2.SubnetId", subs[1].ID)
	if code != 400 || first(body, "Code") != "ValidationError" || !strings.Contains(body, "AllocationId") {
		t.Errorf("subnet mapping with allocation: %d %s", code, body)
	}
}
