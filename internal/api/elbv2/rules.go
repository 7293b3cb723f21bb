package elbv2

import (
	"context"

	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/ops"
)

// Rule is ELBv2's rule shape.
type Rule struct {
	RuleArn    string              `xml:"RuleArn"`
	Priority   string              `xml:"Priority"`
	Conditions list[ruleCondition] `xml:"Conditions"`
	Actions    list[action]        `xml:"Actions"`
	IsDefault  bool                `xml:"IsDefault"`
}

// ruleCondition is ELBv2's RuleCondition, both ways.
type ruleCondition struct {
	Field                   string            `xml:"Field" query:"Field"`
	Values                  *list[string]     `xml:"Values,omitempty" query:"-"`
	ValuesIn                []string          `xml:"-" query:"Values.member"`
	HostHeaderConfig        *valuesConfig     `xml:"HostHeaderConfig,omitempty" query:"HostHeaderConfig"`
	PathPatternConfig       *valuesConfig     `xml:"PathPatternConfig,omitempty" query:"PathPatternConfig"`
	HTTPHeaderConfig        *httpHeaderConfig `xml:"HttpHeaderConfig,omitempty" query:"HttpHeaderConfig"`
	QueryStringConfig       *queryConfig      `xml:"QueryStringConfig,omitempty" query:"QueryStringConfig"`
	HTTPRequestMethodConfig *valuesConfig     `xml:"HttpRequestMethodConfig,omitempty" query:"HttpRequestMethodConfig"`
	SourceIPConfig          *valuesConfig     `xml:"SourceIpConfig,omitempty" query:"SourceIpConfig"`
}

type valuesConfig struct {
	Values []string `xml:"Values>member" query:"Values.member"`
}

type httpHeaderConfig struct {
	HTTPHeaderName string   `xml:"HttpHeaderName" query:"HttpHeaderName"`
	Values         []string `xml:"Values>member" query:"Values.member"`
}

type queryConfig struct {
	Values []queryPair `xml:"Values>member" query:"Values.member"`
}

type queryPair struct {
	Key   string `xml:"Key,omitempty" query:"Key"`
	Value string `xml:"Value" query:"Value"`
}

func conditionsFromWire(in []ruleCondition) []ops.ConditionInput {
	if in == nil {
		return nil
	}
	out := make([]ops.ConditionInput, len(in))
	for i, c := range in {
		o := ops.ConditionInput{Field: c.Field, Values: c.ValuesIn}
		var cfg *valuesConfig
		switch c.Field {
		case model.ConditionHostHeader:
			cfg = c.HostHeaderConfig
		case model.ConditionPathPattern:
			cfg = c.PathPatternConfig
		case model.ConditionHTTPRequestMethod:
			cfg = c.HTTPRequestMethodConfig
		case model.ConditionSourceIP:
			cfg = c.SourceIPConfig
		case model.ConditionHTTPHeader:
			if c.HTTPHeaderConfig != nil {
				o.ConfigGiven, o.ConfigValues, o.HTTPHeaderName = true, c.HTTPHeaderConfig.Values, c.HTTPHeaderConfig.HTTPHeaderName
			}
		case model.ConditionQueryString:
			if c.QueryStringConfig != nil {
				o.ConfigGiven = true
				for _, q := range c.QueryStringConfig.Values {
					o.QueryStrings = append(o.QueryStrings, model.QueryStringKeyValue(q))
				}
			}
		}
		if cfg != nil {
			o.ConfigGiven, o.ConfigValues = true, cfg.Values
		}
		out[i] = o
	}
	return out
}

func conditionsToWire(in []model.RuleCondition) list[ruleCondition] {
	out := make([]ruleCondition, len(in))
	for i, c := range in {
		w := ruleCondition{Field: c.Field}
		vals := append([]string{}, c.Values...)
		switch c.Field {
		case model.ConditionHostHeader:
			l := listOf(vals)
			w.Values, w.HostHeaderConfig = &l, &valuesConfig{Values: vals}
		case model.ConditionPathPattern:
			l := listOf(vals)
			w.Values, w.PathPatternConfig = &l, &valuesConfig{Values: vals}
		case model.ConditionHTTPRequestMethod:
			w.HTTPRequestMethodConfig = &valuesConfig{Values: vals}
		case model.ConditionSourceIP:
			w.SourceIPConfig = &valuesConfig{Values: vals}
		case model.ConditionHTTPHeader:
			w.HTTPHeaderConfig = &httpHeaderConfig{HTTPHeaderName: c.HTTPHeaderName, Values: vals}
		case model.ConditionQueryString:
			q := &queryConfig{Values: []queryPair{}}
			for _, p := range c.QueryStrings {
				q.Values = append(q.Values, queryPair(p))
			}
			w.QueryStringConfig = q
		}
		out[i] = w
	}
	return listOf(out)
}

func ruleToWire(r model.Rule) Rule {
	return Rule{RuleArn: r.ARN, Priority: r.PriorityString(), Conditions: conditionsToWire(r.Conditions),
		Actions: actionsToWire(r.Actions), IsDefault: r.IsDefault}
}

type createRuleInput struct {
	ListenerArn string          `query:"ListenerArn,required"`
	Conditions  []ruleCondition `query:"Conditions.member,required"`
	Priority    *int32          `query:"Priority,required"`
	Actions     []action        `query:"Actions.member,required"`
	Tags        []Tag           `query:"Tags.member"`
}

type rulesOutput struct {
	Rules      list[Rule] `xml:"Rules"`
	NextMarker string     `xml:"NextMarker,omitempty"`
}

func (h *handler) createRule(ctx context.Context, sc model.Scope, in *createRuleInput) (*rulesOutput, error) {
	conds := conditionsFromWire(in.Conditions)
	if conds == nil {
		conds = []ops.ConditionInput{}
	}
	actions := actionsFromWire(in.Actions)
	if actions == nil {
		actions = []ops.ActionInput{}
	}
	r, err := h.ops.CreateRule(ctx, sc, ops.RuleInput{ListenerARN: in.ListenerArn, Priority: in.Priority, Conditions: conds,
		Actions: actions, Tags: tagsFromWire(in.Tags)})
	if err != nil {
		return nil, err
	}
	return &rulesOutput{Rules: listOf([]Rule{ruleToWire(r)})}, nil
}

type modifyRuleInput struct {
	RuleArn    string          `query:"RuleArn,required"`
	Conditions []ruleCondition `query:"Conditions.member"`
	Actions    []action        `query:"Actions.member"`
}

func (h *handler) modifyRule(ctx context.Context, sc model.Scope, in *modifyRuleInput) (*rulesOutput, error) {
	r, err := h.ops.ModifyRule(ctx, sc, in.RuleArn, ops.RuleInput{Conditions: conditionsFromWire(in.Conditions), Actions: actionsFromWire(in.Actions)})
	if err != nil {
		return nil, err
	}
	return &rulesOutput{Rules: listOf([]Rule{ruleToWire(r)})}, nil
}

type describeRulesInput struct {
	ListenerArn string   `query:"ListenerArn"`
	RuleArns    []string `query:"RuleArns.member"`
	Marker      string   `query:"Marker"`
	PageSize    *int32   `query:"PageSize"`
}

func (h *handler) describeRules(ctx context.Context, sc model.Scope, in *describeRulesInput) (*rulesOutput, error) {
	rules, next, err := h.ops.DescribeRules(ctx, sc, ops.DescribeRulesInput{ListenerARN: in.ListenerArn, ARNs: in.RuleArns,
		Marker: in.Marker, PageSize: in.PageSize})
	if err != nil {
		return nil, err
	}
	out := make([]Rule, len(rules))
	for i, r := range rules {
		out[i] = ruleToWire(r)
	}
	return &rulesOutput{Rules: listOf(out), NextMarker: next}, nil
}

type ruleArnInput struct {
	RuleArn string `query:"RuleArn,required"`
}

func (h *handler) deleteRule(ctx context.Context, sc model.Scope, in *ruleArnInput) (*empty, error) {
	return &empty{}, h.ops.DeleteRule(ctx, sc, in.RuleArn)
}

type rulePriorityPair struct {
	RuleArn  string `query:"RuleArn"`
	Priority int32  `query:"Priority"`
}

type setRulePrioritiesInput struct {
	RulePriorities []rulePriorityPair `query:"RulePriorities.member,required"`
}

func (h *handler) setRulePriorities(ctx context.Context, sc model.Scope, in *setRulePrioritiesInput) (*rulesOutput, error) {
	pairs := make([]ops.RulePriority, len(in.RulePriorities))
	for i, p := range in.RulePriorities {
		pairs[i] = ops.RulePriority{RuleARN: p.RuleArn, Priority: p.Priority}
	}
	rules, err := h.ops.SetRulePriorities(ctx, sc, pairs)
	if err != nil {
		return nil, err
	}
	out := make([]Rule, len(rules))
	for i, r := range rules {
		out[i] = ruleToWire(r)
	}
	return &rulesOutput{Rules: listOf(out)}, nil
}
