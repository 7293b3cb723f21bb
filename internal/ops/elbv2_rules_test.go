package ops_test

import (
	"testing"

	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/ops"
)

func TestELBRules(t *testing.T) {
	env := newELBEnv(t)
	ctx := t.Context()
	lb := env.lb(t, "web")
	tg := env.tg(t, "a")
	l := env.listener(t, lb, 80, tg.ARN)
	fixed := []ops.ActionInput{{Type: "fixed-response", FixedResponse: &ops.FixedResponseInput{StatusCode: "200"}}}
	path := func(v ...string) ops.ConditionInput { return ops.ConditionInput{Field: "path-pattern", Values: v} }
	cfg := func(field string, v ...string) ops.ConditionInput {
		return ops.ConditionInput{Field: field, ConfigValues: v, ConfigGiven: true}
	}
	for _, c := range []struct {
		name, code, contains string
		prio                 *int32
		conds                []ops.ConditionInput
	}{
		{"no priority", "ValidationError", "priority must be specified", nil, []ops.ConditionInput{path("/a")}},
		{"priority 0", "ValidationError", "between 1 and 50000", ptr[int32](0), []ops.ConditionInput{path("/a")}},
		{"priority 50001", "ValidationError", "between 1 and 50000", ptr[int32](50001), []ops.ConditionInput{path("/a")}},
		{"no conditions", "ValidationError", "at least one condition", ptr[int32](1), nil},
		{"bad field", "ValidationError", "Valid values are", ptr[int32](1), []ops.ConditionInput{{Field: "cookie", Values: []string{"a"}}}},
		{"both forms", "ValidationError", "both Values", ptr[int32](1), []ops.ConditionInput{{Field: "path-pattern", Values: []string{"/a"}, ConfigValues: []string{"/b"}, ConfigGiven: true}}},
		{"values on header", "ValidationError", "use its config", ptr[int32](1), []ops.ConditionInput{{Field: "http-header", Values: []string{"a"}}}},
		{"two paths", "ValidationError", "only one 'path-pattern'", ptr[int32](1), []ops.ConditionInput{path("/a"), path("/b")}},
		{"six values", "ValidationError", "'5' condition values", ptr[int32](1), []ops.ConditionInput{path("/a", "/b", "/c"), cfg("host-header", "a.x", "b.x", "c.x")}},
		{"six wildcards", "ValidationError", "'5' wildcards", ptr[int32](1), []ops.ConditionInput{path("/a*", "/b*", "/c*"), cfg("host-header", "*.x", "?.x*")}},
		{"path chars", "ValidationError", "Path pattern", ptr[int32](1), []ops.ConditionInput{path("/a b")}},
		{"host chars", "ValidationError", "Host header", ptr[int32](1), []ops.ConditionInput{cfg("host-header", "a_b.com")}},
		{"method case", "ValidationError", "uppercase", ptr[int32](1), []ops.ConditionInput{cfg("http-request-method", "get")}},
		{"source ip", "ValidationError", "CIDR", ptr[int32](1), []ops.ConditionInput{cfg("source-ip", "10.0.0.*")}},
		{"header name", "ValidationError", "HTTP header name", ptr[int32](1), []ops.ConditionInput{{Field: "http-header", HTTPHeaderName: "a b", ConfigValues: []string{"x"}, ConfigGiven: true}}},
		{"query value", "ValidationError", "must have a value", ptr[int32](1), []ops.ConditionInput{{Field: "query-string", QueryStrings: []model.QueryStringKeyValue{{Key: "a"}}, ConfigGiven: true}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := env.elb.CreateRule(ctx, ec2Scope, ops.RuleInput{ListenerARN: l.ARN, Priority: c.prio, Conditions: c.conds, Actions: fixed})
			wantELBCode(t, err, c.code, c.contains)
		})
	}
	r1, err := env.elb.CreateRule(ctx, ec2Scope, ops.RuleInput{ListenerARN: l.ARN, Priority: ptr[int32](10), Actions: fixed,
		Conditions: []ops.ConditionInput{path("/api/*"), cfg("http-request-method", "GET"), cfg("source-ip", "10.0.0.0/8"),
			{Field: "query-string", QueryStrings: []model.QueryStringKeyValue{{Value: "v*"}}, ConfigGiven: true}}})
	if err != nil {
		t.Fatal(err)
	}
	r2, err := env.elb.CreateRule(ctx, ec2Scope, ops.RuleInput{ListenerARN: l.ARN, Priority: ptr[int32](5), Actions: fixed,
		Conditions: []ops.ConditionInput{{Field: "http-header", HTTPHeaderName: "X-Env", ConfigValues: []string{"beta"}, ConfigGiven: true}}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = env.elb.CreateRule(ctx, ec2Scope, ops.RuleInput{ListenerARN: l.ARN, Priority: ptr[int32](5), Actions: fixed, Conditions: []ops.ConditionInput{path("/x")}})
	wantELBCode(t, err, "PriorityInUse", "'5'")
	rules, _, err := env.elb.DescribeRules(ctx, ec2Scope, ops.DescribeRulesInput{ListenerARN: l.ARN})
	if err != nil || len(rules) != 3 || rules[0].ARN != r2.ARN || rules[1].ARN != r1.ARN || !rules[2].IsDefault ||
		rules[2].ARN != model.DefaultRuleARN(l.ARN) || rules[2].PriorityString() != "default" {
		t.Fatalf("rules %+v %v", rules, err)
	}
	// Swapping priorities at once is fine; ending with two equal is not.
	_, err = env.elb.SetRulePriorities(ctx, ec2Scope, []ops.RulePriority{{RuleARN: r1.ARN, Priority: 5}})
	wantELBCode(t, err, "PriorityInUse", "'5'")
	if _, err := env.elb.SetRulePriorities(ctx, ec2Scope, []ops.RulePriority{{RuleARN: r1.ARN, Priority: 5}, {RuleARN: r2.ARN, Priority: 10}}); err != nil {
		t.Fatal(err)
	}
	rules, _, _ = env.elb.DescribeRules(ctx, ec2Scope, ops.DescribeRulesInput{ListenerARN: l.ARN})
	if rules[0].ARN != r1.ARN || rules[0].Priority != 5 {
		t.Errorf("after swap: %+v", rules)
	}
	_, err = env.elb.SetRulePriorities(ctx, ec2Scope, []ops.RulePriority{{RuleARN: model.DefaultRuleARN(l.ARN), Priority: 1}})
	wantELBCode(t, err, "OperationNotPermitted", "default rule")
	wantELBCode(t, env.elb.DeleteRule(ctx, ec2Scope, model.DefaultRuleARN(l.ARN)), "OperationNotPermitted", "cannot be deleted")
	// The default rule's actions are the listener's.
	d, err := env.elb.ModifyRule(ctx, ec2Scope, model.DefaultRuleARN(l.ARN), ops.RuleInput{Actions: fixed})
	if err != nil || !d.IsDefault || d.Actions[0].Type != "fixed-response" {
		t.Errorf("modify default: %+v %v", d, err)
	}
	ls, _, _ := env.elb.DescribeListeners(ctx, ec2Scope, ops.DescribeListenersInput{ARNs: []string{l.ARN}})
	if ls[0].DefaultActions[0].Type != "fixed-response" {
		t.Errorf("listener after modifying its default rule: %+v", ls[0].DefaultActions)
	}
	// The group is no longer used: its targets become unused.
	m, err := env.elb.ModifyRule(ctx, ec2Scope, r1.ARN, ops.RuleInput{Conditions: []ops.ConditionInput{cfg("host-header", "api.example.com")}})
	if err != nil || len(m.Conditions) != 1 || m.Conditions[0].Values[0] != "api.example.com" || m.Priority != 5 {
		t.Errorf("modify: %+v %v", m, err)
	}
	if err := env.elb.DeleteRule(ctx, ec2Scope, r1.ARN); err != nil {
		t.Fatal(err)
	}
	wantELBCode(t, env.elb.DeleteRule(ctx, ec2Scope, r1.ARN), "RuleNotFound", "")
	// Deleting the listener deletes its rules.
	if err := env.elb.DeleteListener(ctx, ec2Scope, l.ARN); err != nil {
		t.Fatal(err)
	}
	snap, _ := env.st.ELBSnapshot(ctx)
	if len(snap.Rules) != 0 {
		t.Errorf("rules left: %+v", snap.Rules)
	}
}
