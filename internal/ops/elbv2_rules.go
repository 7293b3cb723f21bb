package ops

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/store"
)

// Listener rules. A rule write also writes its listener back unchanged: the fence that keeps
// priorities unique per listener and stops a rule from outliving its listener.

// ConditionInput is one rule condition as a request gives it: the legacy Values, or the
// field's own config (HostHeaderConfig.Values ...: ConfigValues, with ConfigGiven), the header
// name of http-header and the pairs of query-string.
type ConditionInput struct {
	Field          string
	Values         []string
	ConfigValues   []string
	ConfigGiven    bool
	HTTPHeaderName string
	QueryStrings   []model.QueryStringKeyValue
}

// RuleInput is CreateRule's request; ModifyRule uses Conditions and Actions (nil keeps them).
type RuleInput struct {
	ListenerARN string
	Priority    *int32
	Conditions  []ConditionInput
	Actions     []ActionInput
	Tags        []model.Tag
}

// Limits of rule conditions (AWS's quotas for Application Load Balancers).
const (
	maxConditionValuesPerRule = 5
	maxWildcardsPerRule       = 5
)

var (
	hostHeaderRe  = regexp.MustCompile(`^[A-Za-z0-9.*?-]{1,128}$`)
	pathPatternRe = regexp.MustCompile(`^[A-Za-z0-9_\-.$/~"'@:+&*?]{1,128}$`)
	headerNameRe  = regexp.MustCompile("^[A-Za-z0-9^_`|~!#$%&'*+.-]{1,40}$")
	methodRe      = regexp.MustCompile(`^[A-Z_-]{1,40}$`)
)

// checkConditions validates a rule's conditions with AWS's limits: at most one each of
// host-header, path-pattern, http-request-method and source-ip, five values and five wildcards
// in all.
func checkConditions(in []ConditionInput) ([]model.RuleCondition, error) {
	if len(in) == 0 {
		return nil, elbValidation("A rule must have at least one condition")
	}
	out := make([]model.RuleCondition, 0, len(in))
	seen := map[string]bool{}
	values, wildcards := 0, 0
	for _, c := range in {
		rc := model.RuleCondition{Field: c.Field}
		vals := c.ConfigValues
		switch c.Field {
		case model.ConditionHostHeader, model.ConditionPathPattern:
			if len(c.Values) > 0 && c.ConfigGiven {
				return nil, elbValidation("You cannot specify both Values and the %s condition's config", c.Field)
			}
			if !c.ConfigGiven {
				vals = c.Values
			}
		case model.ConditionHTTPHeader, model.ConditionHTTPRequestMethod, model.ConditionQueryString, model.ConditionSourceIP:
			if len(c.Values) > 0 {
				return nil, elbValidation("Values cannot be specified for a '%s' condition: use its config", c.Field)
			}
		case "":
			return nil, elbValidation("A condition field must be specified")
		default:
			return nil, elbValidation("Condition field '%s' is not valid. Valid values are: host-header, path-pattern, http-header, http-request-method, query-string, source-ip", c.Field)
		}
		if c.Field != model.ConditionHTTPHeader && c.Field != model.ConditionQueryString {
			if seen[c.Field] {
				return nil, elbValidation("A rule can have only one '%s' condition", c.Field)
			}
			seen[c.Field] = true
		}
		if c.Field == model.ConditionQueryString {
			if len(c.QueryStrings) == 0 {
				return nil, elbValidation("A 'query-string' condition must have at least one key/value pair")
			}
			for _, q := range c.QueryStrings {
				if q.Value == "" || len(q.Value) > 128 || len(q.Key) > 128 {
					return nil, elbValidation("Query string key/value pair '%s=%s' must have a value, and keys and values must be at most 128 characters", q.Key, q.Value)
				}
				wildcards += strings.Count(q.Key+q.Value, "*") + strings.Count(q.Key+q.Value, "?")
			}
			values += len(c.QueryStrings)
			rc.QueryStrings = slices.Clone(c.QueryStrings)
			out = append(out, rc)
			continue
		}
		if len(vals) == 0 {
			return nil, elbValidation("A '%s' condition must have at least one value", c.Field)
		}
		if c.Field == model.ConditionHTTPHeader {
			if !headerNameRe.MatchString(c.HTTPHeaderName) {
				return nil, elbValidation("HTTP header name '%s' is not valid: 1-40 characters, letters, digits and ^_`|~!#$%%&'*+.-", c.HTTPHeaderName)
			}
			rc.HTTPHeaderName = c.HTTPHeaderName
		}
		for _, v := range vals {
			if err := checkConditionValue(c.Field, v); err != nil {
				return nil, err
			}
			wildcards += strings.Count(v, "*") + strings.Count(v, "?")
		}
		values += len(vals)
		rc.Values = slices.Clone(vals)
		out = append(out, rc)
	}
	if values > maxConditionValuesPerRule {
		return nil, elbValidation("A rule can only have '%d' condition values", maxConditionValuesPerRule)
	}
	if wildcards > maxWildcardsPerRule {
		return nil, elbValidation("A rule can only have '%d' wildcards", maxWildcardsPerRule)
	}
	return out, nil
}

func checkConditionValue(field, v string) error {
	switch field {
	case model.ConditionHostHeader:
		if !hostHeaderRe.MatchString(v) {
			return elbValidation("Host header value '%s' is not valid: 1-128 characters, letters, digits, '-', '.', and the wildcards '*' and '?'", v)
		}
	case model.ConditionPathPattern:
		if !pathPatternRe.MatchString(v) {
			return elbValidation("Path pattern '%s' is not valid: 1-128 characters, letters, digits, _-.$/~\"'@:+&, and the wildcards '*' and '?'", v)
		}
	case model.ConditionHTTPHeader:
		if v == "" || len(v) > 128 {
			return elbValidation("HTTP header value '%s' must be 1-128 characters", v)
		}
	case model.ConditionHTTPRequestMethod:
		if !methodRe.MatchString(v) {
			return elbValidation("HTTP request method '%s' is not valid: 1-40 uppercase letters, '_' and '-', no wildcards", v)
		}
	case model.ConditionSourceIP:
		if _, err := netip.ParsePrefix(v); err != nil {
			return elbValidation("Source IP '%s' is not a valid CIDR block (wildcards are not allowed)", v)
		}
	}
	return nil
}

// CreateRule adds a rule to a listener.
func (e *ELBv2) CreateRule(ctx context.Context, sc model.Scope, in RuleInput) (model.Rule, error) {
	if in.Priority == nil {
		return model.Rule{}, elbValidation("A rule priority must be specified")
	}
	if *in.Priority < 1 || *in.Priority > maxRulePriority {
		return model.Rule{}, elbValidation("Priority '%d' must be between 1 and %d", *in.Priority, maxRulePriority)
	}
	conds, err := checkConditions(in.Conditions)
	if err != nil {
		return model.Rule{}, err
	}
	if err := checkELBTags(in.Tags); err != nil {
		return model.Rule{}, err
	}
	var out model.Rule
	err = commitOrRetry(ctx, func() error {
		l, err := e.listener(ctx, sc, in.ListenerARN)
		if err != nil {
			return err
		}
		lb, err := e.loadBalancer(ctx, sc, l.Value.LoadBalancerARN)
		if err != nil {
			return err
		}
		actions, groups, err := e.checkActions(ctx, sc, lb.Value, in.Actions)
		if err != nil {
			return err
		}
		a, _ := model.ParseELBARN(l.Value.ARN)
		siblings, err := e.store.Rules().ListOf(ctx, sc, a.Name, a.ListenerID)
		if err != nil {
			return err
		}
		for _, s := range siblings {
			if s.Value.Priority == *in.Priority {
				return elbErrorf(CodePriorityInUse, "Priority '%d' is currently in use", *in.Priority)
			}
		}
		if len(siblings) >= maxRulesPerListener {
			return elbErrorf(CodeTooManyRules, "A listener can have at most %d rules", maxRulesPerListener)
		}
		r := model.Rule{Scope: sc, ARN: model.RuleARN(l.Value.ARN, newELBID()), ListenerARN: l.Value.ARN,
			Priority: *in.Priority, Conditions: conds, Actions: actions, Tags: in.Tags}
		if err := e.commitRule(ctx, r, 0, l, groups); err != nil {
			return err
		}
		out = r
		return nil
	})
	if err != nil {
		return model.Rule{}, err
	}
	return out, e.syncTargetUse(ctx, sc, actionGroups(out.Actions))
}

// commitRule writes r (read at rev; 0 creates it) with its listener and target groups as
// fences.
func (e *ELBv2) commitRule(ctx context.Context, r model.Rule, rev int64, l store.Versioned[model.Listener], groups []store.Versioned[model.TargetGroup]) error {
	w := &store.Write{}
	errs := []error{e.store.Rules().PutIn(w, r, rev), e.store.Listeners().PutIn(w, l.Value, l.Revision)}
	for _, g := range groups {
		errs = append(errs, e.store.TargetGroups().PutIn(w, g.Value, g.Revision))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	_, err := e.store.Commit(ctx, w)
	return err
}

// ModifyRule replaces a rule's conditions or actions; the default rule's actions are its
// listener's default actions, and it has no conditions.
func (e *ELBv2) ModifyRule(ctx context.Context, sc model.Scope, arn string, in RuleInput) (model.Rule, error) {
	var conds []model.RuleCondition
	if in.Conditions != nil {
		var err error
		if conds, err = checkConditions(in.Conditions); err != nil {
			return model.Rule{}, err
		}
	}
	cur, err := e.rule(ctx, sc, arn)
	if err != nil {
		return model.Rule{}, err
	}
	if cur.Value.IsDefault {
		if in.Conditions != nil {
			return model.Rule{}, elbErrorf(CodeOperationNotPermitted, "The default rule cannot have conditions")
		}
		if in.Actions == nil {
			return cur.Value, nil
		}
		l, err := e.ModifyListener(ctx, sc, cur.Value.ListenerARN, ListenerInput{DefaultActions: in.Actions})
		if err != nil {
			return model.Rule{}, err
		}
		return defaultRule(l), nil
	}
	var out model.Rule
	var before []string
	err = commitOrRetry(ctx, func() error {
		cur, err := e.rule(ctx, sc, arn)
		if err != nil {
			return err
		}
		before = actionGroups(cur.Value.Actions)
		l, err := e.listener(ctx, sc, cur.Value.ListenerARN)
		if err != nil {
			return err
		}
		r := cur.Value
		if conds != nil {
			r.Conditions = conds
		}
		groups, err := e.currentGroups(ctx, sc, r.Actions)
		if err != nil {
			return err
		}
		if in.Actions != nil {
			lb, err := e.loadBalancer(ctx, sc, l.Value.LoadBalancerARN)
			if err != nil {
				return err
			}
			if r.Actions, groups, err = e.checkActions(ctx, sc, lb.Value, in.Actions); err != nil {
				return err
			}
		}
		if err := e.commitRule(ctx, r, cur.Revision, l, groups); err != nil {
			return err
		}
		out = r
		return nil
	})
	if err != nil {
		return model.Rule{}, err
	}
	return out, e.syncTargetUse(ctx, sc, append(before, actionGroups(out.Actions)...))
}

// DescribeRulesInput is DescribeRules' request: a listener's rules, or those named.
type DescribeRulesInput struct {
	ListenerARN string
	ARNs        []string
	Marker      string
	PageSize    *int32
}

// DescribeRules lists a listener's rules by priority, the default rule last, or the rules named.
func (e *ELBv2) DescribeRules(ctx context.Context, sc model.Scope, in DescribeRulesInput) ([]model.Rule, string, error) {
	var out []model.Rule
	switch {
	case in.ListenerARN != "" && len(in.ARNs) > 0:
		return nil, "", elbValidation("Rule ARNs and a listener ARN cannot be specified at the same time")
	case in.ListenerARN != "":
		l, err := e.listener(ctx, sc, in.ListenerARN)
		if err != nil {
			return nil, "", err
		}
		a, _ := model.ParseELBARN(l.Value.ARN)
		rules, err := e.store.Rules().ListOf(ctx, sc, a.Name, a.ListenerID)
		if err != nil {
			return nil, "", err
		}
		out = keepIf(values(rules), func(r model.Rule) bool { return r.ListenerARN == l.Value.ARN })
		slices.SortFunc(out, func(a, b model.Rule) int { return int(a.Priority - b.Priority) })
		out = append(out, defaultRule(l.Value))
	case len(in.ARNs) > 0:
		for _, arn := range uniq(in.ARNs) {
			r, err := e.rule(ctx, sc, arn)
			if err != nil {
				return nil, "", err
			}
			out = append(out, r.Value)
		}
	default:
		return nil, "", elbValidation("You must specify either listener ARN or rule ARNs")
	}
	return pageOf(out, in.Marker, in.PageSize)
}

// DeleteRule deletes a rule; the default rule cannot be deleted.
func (e *ELBv2) DeleteRule(ctx context.Context, sc model.Scope, arn string) error {
	var used []string
	err := commitOrRetry(ctx, func() error {
		r, err := e.rule(ctx, sc, arn)
		if err != nil {
			return err
		}
		if r.Value.IsDefault {
			return elbErrorf(CodeOperationNotPermitted, "Default rule '%s' cannot be deleted", arn)
		}
		used = actionGroups(r.Value.Actions)
		w := &store.Write{}
		e.store.Rules().DeleteIn(w, r.Value, r.Revision)
		_, err = e.store.Commit(ctx, w)
		return err
	})
	if err != nil {
		return err
	}
	return e.syncTargetUse(ctx, sc, used)
}

// RulePriority is one pair of SetRulePriorities.
type RulePriority struct {
	RuleARN  string
	Priority int32
}

// SetRulePriorities changes the priorities of rules at once; no two rules of a listener may end
// with the same priority (PriorityInUse).
func (e *ELBv2) SetRulePriorities(ctx context.Context, sc model.Scope, pairs []RulePriority) ([]model.Rule, error) {
	if len(pairs) == 0 {
		return nil, elbValidation("Rule priorities cannot be empty")
	}
	want := map[string]int32{}
	for _, p := range pairs {
		if p.Priority < 1 || p.Priority > maxRulePriority {
			return nil, elbValidation("Priority '%d' must be between 1 and %d", p.Priority, maxRulePriority)
		}
		if _, dup := want[p.RuleARN]; dup {
			return nil, elbValidation("Rule '%s' is specified more than once", p.RuleARN)
		}
		want[p.RuleARN] = p.Priority
	}
	var out []model.Rule
	err := commitOrRetry(ctx, func() error {
		out = out[:0]
		w := &store.Write{}
		fenced := map[string]bool{}
		for _, p := range pairs {
			r, err := e.rule(ctx, sc, p.RuleARN)
			if err != nil {
				return err
			}
			if r.Value.IsDefault {
				return elbErrorf(CodeOperationNotPermitted, "The priority of default rule '%s' cannot be changed", p.RuleARN)
			}
			if fenced[r.Value.ListenerARN] {
				continue
			}
			fenced[r.Value.ListenerARN] = true
			l, err := e.listener(ctx, sc, r.Value.ListenerARN)
			if err != nil {
				return err
			}
			a, _ := model.ParseELBARN(l.Value.ARN)
			siblings, err := e.store.Rules().ListOf(ctx, sc, a.Name, a.ListenerID)
			if err != nil {
				return err
			}
			taken := map[int32]string{}
			for _, s := range siblings {
				prio := s.Value.Priority
				if np, ok := want[s.Value.ARN]; ok {
					prio = np
				}
				if other, ok := taken[prio]; ok {
					return elbErrorf(CodePriorityInUse, "Priority '%d' is currently in use (rules '%s' and '%s')", prio, other, s.Value.ARN)
				}
				taken[prio] = s.Value.ARN
				if np, ok := want[s.Value.ARN]; ok {
					next := s.Value
					next.Priority = np
					if err := e.store.Rules().PutIn(w, next, s.Revision); err != nil {
						return err
					}
					out = append(out, next)
				}
			}
			if err := e.store.Listeners().PutIn(w, l.Value, l.Revision); err != nil {
				return err
			}
		}
		if len(out) != len(pairs) {
			return fmt.Errorf("rules moved while their priorities were set: %w", apierr.Conflict)
		}
		_, err := e.store.Commit(ctx, w)
		return err
	})
	return out, err
}
