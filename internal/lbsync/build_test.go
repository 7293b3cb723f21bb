package lbsync

import (
	"crypto/tls"
	"errors"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/lb"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/store"
)

var sc = model.Scope{Account: "000000000000", Region: "us-east-1"}

// TestBuild converts one snapshot: two load balancers in a VPC (one with a node per subnet),
// listeners with rules of every action and condition kind, weighted groups, a group nobody
// uses, an HTTPS listener whose certificate is missing, and bad addresses.
func TestBuild(t *testing.T) {
	lbA := model.LoadBalancerARN(sc, "a", "000000000000000a")
	lbB := model.LoadBalancerARN(sc, "b", "000000000000000b")
	tg1, tg2, tg3 := model.TargetGroupARN(sc, "one", "1"), model.TargetGroupARN(sc, "two", "2"), model.TargetGroupARN(sc, "three", "3")
	l1, l2, l3 := model.ListenerARN(lbA, "l1"), model.ListenerARN(lbA, "l2"), model.ListenerARN(lbB, "l3")
	snap := store.ELBSnapshot{
		LoadBalancers: []model.LoadBalancer{
			{ARN: lbB, VpcID: "vpc-1", HostAddress: "127.77.0.2", DNSName: "B-2.elb", SecurityGroups: []string{"sg-b"},
				Nodes:      []model.LoadBalancerNode{{SubnetID: "subnet-1", PrivateIP: "10.0.1.20"}},
				Attributes: map[string]string{model.AttrIdleTimeout: "2", model.AttrHTTP2Enabled: "false"}},
			{ARN: lbA, VpcID: "vpc-1", HostAddress: "127.77.0.1", DNSName: "a-1.elb", SecurityGroups: []string{"sg-a", "sg-x"},
				Nodes: []model.LoadBalancerNode{{SubnetID: "subnet-1", PrivateIP: "10.0.1.10"}, {SubnetID: "subnet-2", PrivateIP: "10.0.2.10"},
					{SubnetID: "subnet-3", PrivateIP: "bad"}}},
		},
		Listeners: []model.Listener{
			{ARN: l1, LoadBalancerARN: lbA, Port: 80, Protocol: "HTTP", DefaultActions: []model.Action{
				{Type: model.ActionForward, Order: 1, ForwardConfig: &model.ForwardConfig{TargetGroups: []model.WeightedTargetGroup{
					{TargetGroupARN: tg1, Weight: 80}, {TargetGroupARN: tg2, Weight: 20}}, StickinessEnabled: true, StickinessDuration: 30}}}},
			{ARN: l2, LoadBalancerARN: lbA, Port: 443, Protocol: "HTTPS", Certificates: []model.ListenerCertificate{{CertificateARN: "arn:missing", IsDefault: true}},
				DefaultActions: []model.Action{{Type: model.ActionForward, Order: 1, TargetGroupARN: tg3}}},
			{ARN: l3, LoadBalancerARN: lbB, Port: 8000, Protocol: "HTTP", DefaultActions: []model.Action{
				{Type: model.ActionFixedResponse, Order: 1, FixedResponseConfig: &model.FixedResponseConfig{StatusCode: "404", ContentType: "text/plain", MessageBody: "no"}}}},
		},
		Rules: []model.Rule{
			{ARN: "rule-redirect", ListenerARN: l1, Priority: 5, Conditions: []model.RuleCondition{
				{Field: model.ConditionSourceIP, Values: []string{"192.168.1.7/24"}},
				{Field: model.ConditionQueryString, QueryStrings: []model.QueryStringKeyValue{{Key: "v", Value: "2"}}}},
				Actions: []model.Action{{Type: model.ActionRedirect, Order: 1, RedirectConfig: &model.RedirectConfig{Protocol: "HTTPS", Port: "443", StatusCode: "HTTP_302"}}}},
			{ARN: "rule-path", ListenerARN: l1, Priority: 10, Conditions: []model.RuleCondition{{Field: model.ConditionPathPattern, Values: []string{"/b/*"}},
				{Field: model.ConditionHTTPHeader, HTTPHeaderName: "X-Env", Values: []string{"prod"}}},
				Actions: []model.Action{{Type: model.ActionForward, Order: 1, TargetGroupARN: tg2,
					ForwardConfig: &model.ForwardConfig{TargetGroups: []model.WeightedTargetGroup{{TargetGroupARN: tg2, Weight: 1}}}}}},
		},
		TargetGroups: []model.TargetGroup{
			{ARN: tg1, VpcID: "vpc-1", Protocol: "HTTP", Port: 8080, HealthCheck: model.TargetGroupHealthCheck{Enabled: true, Port: "traffic-port", Path: "/h",
				IntervalSeconds: 5, TimeoutSeconds: 2, HealthyThresholdCount: 3, UnhealthyThresholdCount: 4}, Matcher: model.Matcher{HTTPCode: "200-299"},
				Attributes: map[string]string{model.AttrDeregistrationDelay: "7", model.AttrLBAlgorithm: "least_outstanding_requests",
					model.AttrStickinessEnabled: "true", model.AttrStickinessType: "lb_cookie", model.AttrStickinessLBCookie: "60"}},
			{ARN: tg2, VpcID: "vpc-1", Protocol: "HTTP", Port: 8080, HealthCheck: model.TargetGroupHealthCheck{Enabled: true, Protocol: "HTTPS", Port: "9000"}},
			{ARN: tg3, VpcID: "vpc-1", Protocol: "HTTP", Port: 80},
		},
		Targets: []model.Target{
			{TargetGroupARN: tg1, ID: "10.0.2.5", Port: 8080, State: model.TargetHealthy},
			{TargetGroupARN: tg1, ID: "10.0.9.5", State: model.TargetDraining},
			{TargetGroupARN: tg2, ID: "10.0.1.6", Port: 8081},
			{TargetGroupARN: tg2, ID: "nope"},
			{TargetGroupARN: tg3, ID: "10.0.1.7", Port: 80, State: model.TargetInitial},
		},
	}
	subnets := map[string]netip.Prefix{"subnet-1": netip.MustParsePrefix("10.0.1.0/24"), "subnet-2": netip.MustParsePrefix("10.0.2.0/24")}
	certs := func(arn string) (tls.Certificate, error) { return tls.Certificate{}, errors.New("not found") }
	d := build(snap, subnets, certs)

	a := netip.MustParseAddr
	if got := d.nodes["vpc-1"]; len(got) != 3 || !slices.Equal(got[a("10.0.1.10")], []string{"sg-a", "sg-x"}) || !slices.Equal(got[a("10.0.1.20")], []string{"sg-b"}) {
		t.Errorf("nodes %v", got)
	}
	if got := d.vpcNames["vpc-1"]; !slices.Equal(got["a-1.elb"], []netip.Addr{a("10.0.1.10"), a("10.0.2.10")}) || !slices.Equal(got["b-2.elb"], []netip.Addr{a("10.0.1.20")}) {
		t.Errorf("vpc names %v", got)
	}
	if got := d.hostNames; !slices.Equal(got["a-1.elb"], []netip.Addr{a("127.77.0.1")}) || !slices.Equal(got["b-2.elb"], []netip.Addr{a("127.77.0.2")}) {
		t.Errorf("host names %v", got)
	}
	// Problems: the bad node address, the missing certificate, the bad target.
	if len(d.problems) != 3 {
		t.Errorf("problems %v, want 3", d.problems)
	}
	// tg3 is used only by the HTTPS listener, which is left out: its targets are unused.
	if len(d.unused) != 1 || d.unused[0].ID != "10.0.1.7" {
		t.Errorf("unused %+v", d.unused)
	}
	if len(d.cfg.LoadBalancers) != 2 {
		t.Fatalf("load balancers %+v", d.cfg.LoadBalancers)
	}
	la, lbb := d.cfg.LoadBalancers[0], d.cfg.LoadBalancers[1]
	if la.ID != lbA || !la.HTTP2 || la.IdleTimeout != 60*time.Second || lbb.HTTP2 || lbb.IdleTimeout != 2*time.Second {
		t.Errorf("attributes: %+v / %+v", la, lbb)
	}
	var addrs []string
	for _, l := range la.Listeners {
		addrs = append(addrs, l.Addr.String())
	}
	if want := []string{"127.77.0.1:80", "10.0.1.10:80", "10.0.2.10:80"}; !slices.Equal(addrs, want) {
		t.Errorf("listener addresses %v, want %v", addrs, want)
	}
	if !slices.Equal(d.listeners[lbA], []netip.AddrPort{netip.MustParseAddrPort("127.77.0.1:80"), netip.MustParseAddrPort("10.0.1.10:80"), netip.MustParseAddrPort("10.0.2.10:80")}) {
		t.Errorf("listeners of a: %v", d.listeners[lbA])
	}
	rules := la.Listeners[0].Rules
	if len(rules) != 3 || !rules[0].Default || rules[0].Action.Forward == nil || len(rules[0].Action.Forward.TargetGroups) != 2 ||
		rules[0].Action.Forward.TargetGroups[0] != (lb.WeightedGroup{ID: tg1, Weight: 80}) || !rules[0].Action.Forward.Stickiness ||
		rules[0].Action.Forward.StickinessDuration != 30*time.Second {
		t.Fatalf("default rule %+v", rules)
	}
	red := rules[1]
	if red.Priority != 5 || red.Action.Redirect == nil || red.Action.Redirect.StatusCode != 302 || red.Conditions[0].SourceIPs[0] != netip.MustParsePrefix("192.168.1.0/24") ||
		red.Conditions[1].QueryValues[0] != (lb.QueryValue{Key: "v", Value: "2"}) {
		t.Errorf("redirect rule %+v", red)
	}
	if p := rules[2]; p.Conditions[0].Field != lb.PathPattern || p.Conditions[1].HeaderName != "X-Env" || p.Action.Forward.TargetGroups[0].ID != tg2 {
		t.Errorf("path rule %+v", p)
	}
	if f := lbb.Listeners[0].Rules[0].Action.FixedResponse; f == nil || f.StatusCode != 404 || f.Body != "no" {
		t.Errorf("fixed response %+v", lbb.Listeners[0].Rules[0])
	}
	if len(d.cfg.TargetGroups) != 2 {
		t.Fatalf("target groups %+v", d.cfg.TargetGroups)
	}
	g1, g2 := d.cfg.TargetGroups[0], d.cfg.TargetGroups[1]
	if g1.ID != tg1 || g1.HealthCheck.Path != "/h" || g1.HealthCheck.Interval != 5*time.Second || g1.HealthCheck.HealthyThreshold != 3 ||
		g1.HealthCheck.Matcher != "200-299" || g1.DeregistrationDelay != 7*time.Second || g1.Algorithm != lb.LeastOutstandingRequests ||
		!g1.Stickiness.Enabled || g1.Stickiness.Duration != time.Minute || len(g1.Targets) != 2 || !g1.Targets[1].Draining {
		t.Errorf("group one %+v", g1)
	}
	if g2.HealthCheck.Port != 9000 || g2.HealthCheck.Protocol != lb.HTTPS || g2.DeregistrationDelay != 300*time.Second || len(g2.Targets) != 1 {
		t.Errorf("group two %+v", g2)
	}
	// Targets are dialed from a forwarding load balancer's node in their subnet.
	if src := d.sources[sourceKey{"vpc-1", a("10.0.2.5")}]; src != a("10.0.2.10") {
		t.Errorf("source for 10.0.2.5: %v, want the node in its subnet", src)
	}
	if src := d.sources[sourceKey{"vpc-1", a("10.0.9.5")}]; src != a("10.0.1.10") {
		t.Errorf("source for 10.0.9.5 (no node in its subnet): %v, want the first node", src)
	}
}
