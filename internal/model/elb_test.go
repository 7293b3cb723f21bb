package model

import (
	"strings"
	"testing"
)

func TestELBARNs(t *testing.T) {
	sc := Scope{Account: "123456789012", Region: "eu-west-1"}
	lb := LoadBalancerARN(sc, "web", "50dc6c495c0c9188")
	if lb != "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/web/50dc6c495c0c9188" {
		t.Errorf("lb %s", lb)
	}
	l := ListenerARN(lb, "f2f7dc8efc522ab2")
	if l != "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2" {
		t.Errorf("listener %s", l)
	}
	r := RuleARN(l, "9683b2d02a6cabee")
	if r != "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener-rule/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee" {
		t.Errorf("rule %s", r)
	}
	tg := TargetGroupARN(sc, "api", "73e2d6bc24d8a067")
	if tg != "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/api/73e2d6bc24d8a067" {
		t.Errorf("tg %s", tg)
	}
	for _, c := range []struct {
		arn  string
		want ELBARN
	}{
		{lb, ELBARN{Scope: sc, Kind: "loadbalancer", Name: "web", ID: "50dc6c495c0c9188"}},
		{l, ELBARN{Scope: sc, Kind: "listener", Name: "web", ID: "50dc6c495c0c9188", ListenerID: "f2f7dc8efc522ab2"}},
		{r, ELBARN{Scope: sc, Kind: "listener-rule", Name: "web", ID: "50dc6c495c0c9188", ListenerID: "f2f7dc8efc522ab2", RuleID: "9683b2d02a6cabee"}},
		{tg, ELBARN{Scope: sc, Kind: "targetgroup", Name: "api", ID: "73e2d6bc24d8a067"}},
	} {
		got, ok := ParseELBARN(c.arn)
		if !ok || got != c.want {
			t.Errorf("parse %s = %+v %v", c.arn, got, ok)
		}
		if c.want.Kind != "targetgroup" && got.LoadBalancerARN() != lb {
			t.Errorf("load balancer of %s = %s", c.arn, got.LoadBalancerARN())
		}
	}
	for _, bad := range []string{"", "arn:aws:ecs:eu-west-1:1:cluster/x", "arn:aws:elasticloadbalancing:eu-west-1:1:loadbalancer/net/x/1",
		"arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/x", "arn:aws:elasticloadbalancing::1:targetgroup/x/1",
		"arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup//1"} {
		if a, ok := ParseELBARN(bad); ok {
			t.Errorf("parsed %q as %+v", bad, a)
		}
	}
	d := DefaultRuleARN(l)
	if d != DefaultRuleARN(l) || !strings.HasPrefix(d, strings.Replace(l, ":listener/", ":listener-rule/", 1)+"/") || len(d[strings.LastIndex(d, "/")+1:]) != 16 {
		t.Errorf("default rule %s", d)
	}
	if (LoadBalancer{ARN: lb}).ID() != "50dc6c495c0c9188" {
		t.Error("ID")
	}
}

func TestRulePriorityAndZones(t *testing.T) {
	if (Rule{Priority: 7}).PriorityString() != "7" || (Rule{IsDefault: true}).PriorityString() != "default" {
		t.Error("priority strings")
	}
	if CanonicalHostedZoneID("us-east-1") != "Z35SXDOTRQ7X7K" || CanonicalHostedZoneID("eu-west-1") != "Z32O12XQLNTSW2" ||
		CanonicalHostedZoneID("xx-nowhere-1") != "Z35SXDOTRQ7X7K" {
		t.Error("hosted zones")
	}
}
