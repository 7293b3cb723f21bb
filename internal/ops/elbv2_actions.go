package ops

import (
	"context"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/store"
)

// Actions of listeners and rules: forward (one target group, or up to five weighted), redirect
// and fixed-response. Authentication actions are refused as unsupported.

// ActionInput is one action as a request gives it; nil pointers take AWS's defaults.
type ActionInput struct {
	Type           string
	Order          *int32
	TargetGroupARN string
	Forward        *ForwardInput
	Redirect       *RedirectInput
	FixedResponse  *FixedResponseInput
}

// ForwardInput is a forward action's ForwardConfig.
type ForwardInput struct {
	TargetGroups       []WeightedInput
	StickinessEnabled  *bool
	StickinessDuration *int32
}

// WeightedInput is one target group of a ForwardConfig.
type WeightedInput struct {
	TargetGroupARN string
	Weight         *int32
}

// RedirectInput is a redirect action's RedirectConfig; "" parts keep the request's.
type RedirectInput struct {
	Protocol, Port, Host, Path, Query string
	QueryGiven                        bool
	StatusCode                        string
}

// FixedResponseInput is a fixed-response action's FixedResponseConfig.
type FixedResponseInput struct {
	StatusCode, ContentType, MessageBody string
}

var fixedStatusRe = regexp.MustCompile(`^[245]\d\d$`)

// fixedContentTypes are the content types a fixed response may have.
var fixedContentTypes = []string{"text/plain", "text/css", "text/html", "application/javascript", "application/json"}

// checkActions validates actions and returns them in order with their defaults. The target
// groups they forward to are read and returned at their revisions, for the caller to fence its
// write with; lb is the load balancer they belong to (a target group serves one load balancer,
// in its VPC).
func (e *ELBv2) checkActions(ctx context.Context, sc model.Scope, lb model.LoadBalancer, in []ActionInput) ([]model.Action, []store.Versioned[model.TargetGroup], error) {
	if len(in) == 0 {
		return nil, nil, elbValidation("At least one action must be specified")
	}
	withOrder := 0
	for _, a := range in {
		if a.Order != nil {
			withOrder++
		}
	}
	if withOrder != 0 && withOrder != len(in) {
		return nil, nil, elbValidation("Either all or none of the actions must have an order")
	}
	out := make([]model.Action, 0, len(in))
	var groups []store.Versioned[model.TargetGroup]
	for i, a := range in {
		act := model.Action{Type: a.Type, Order: int32(i + 1)}
		if a.Order != nil {
			if *a.Order < 1 || *a.Order > 50000 {
				return nil, nil, elbValidation("Action order '%d' must be between 1 and 50000", *a.Order)
			}
			act.Order = *a.Order
		}
		switch a.Type {
		case model.ActionForward:
			fc, tgs, err := e.checkForward(ctx, sc, lb, a)
			if err != nil {
				return nil, nil, err
			}
			act.ForwardConfig = fc
			if len(fc.TargetGroups) == 1 {
				act.TargetGroupARN = fc.TargetGroups[0].TargetGroupARN
			}
			for _, g := range tgs {
				if !slices.ContainsFunc(groups, func(v store.Versioned[model.TargetGroup]) bool { return v.Value.ARN == g.Value.ARN }) {
					groups = append(groups, g)
				}
			}
		case model.ActionRedirect:
			rc, err := checkRedirect(a.Redirect)
			if err != nil {
				return nil, nil, err
			}
			act.RedirectConfig = rc
		case model.ActionFixedResponse:
			fr, err := checkFixedResponse(a.FixedResponse)
			if err != nil {
				return nil, nil, err
			}
			act.FixedResponseConfig = fr
		case "authenticate-oidc", "authenticate-cognito", "jwt-validation":
			return nil, nil, elbValidation("Action type '%s' is not supported by gantry. Supported types are: forward, redirect, fixed-response", a.Type)
		case "":
			return nil, nil, elbValidation("An action type must be specified")
		default:
			return nil, nil, elbValidation("Action type '%s' is not valid. Valid values are: forward, redirect, fixed-response, authenticate-oidc, authenticate-cognito, jwt-validation", a.Type)
		}
		out = append(out, act)
	}
	slices.SortStableFunc(out, func(a, b model.Action) int { return int(a.Order - b.Order) })
	for i := 1; i < len(out); i++ {
		if out[i].Order == out[i-1].Order {
			return nil, nil, elbValidation("Action order '%d' is used by more than one action", out[i].Order)
		}
	}
	if len(out) > 1 {
		return nil, nil, elbErrorf(CodeInvalidLoadBalancerAction, "Only one terminal action (forward, redirect or fixed-response) can be specified, and it must be the last action")
	}
	return out, groups, nil
}

// checkForward checks a forward action: TargetGroupArn, or a ForwardConfig of 1-5 distinct
// target groups weighted 0-999 (both only when they name the same single group).
func (e *ELBv2) checkForward(ctx context.Context, sc model.Scope, lb model.LoadBalancer, a ActionInput) (*model.ForwardConfig, []store.Versioned[model.TargetGroup], error) {
	fc := &model.ForwardConfig{}
	switch {
	case a.Forward == nil && a.TargetGroupARN == "":
		return nil, nil, elbValidation("A target group ARN must be specified for a forward action")
	case a.Forward == nil:
		fc.TargetGroups = []model.WeightedTargetGroup{{TargetGroupARN: a.TargetGroupARN, Weight: 1}}
	default:
		if len(a.Forward.TargetGroups) == 0 {
			return nil, nil, elbValidation("A forward action's ForwardConfig must have at least one target group")
		}
		if len(a.Forward.TargetGroups) > maxForwardTargetGroups {
			return nil, nil, elbValidation("A forward action can have at most %d target groups", maxForwardTargetGroups)
		}
		if a.TargetGroupARN != "" && (len(a.Forward.TargetGroups) != 1 || a.Forward.TargetGroups[0].TargetGroupARN != a.TargetGroupARN) {
			return nil, nil, elbValidation("You cannot specify both a target group ARN and a ForwardConfig with other target groups")
		}
		for _, t := range a.Forward.TargetGroups {
			w := int32(1)
			if t.Weight != nil {
				w = *t.Weight
			}
			if w < 0 || w > maxTargetGroupWeight {
				return nil, nil, elbValidation("Target group weight '%d' must be between 0 and %d", w, maxTargetGroupWeight)
			}
			if t.TargetGroupARN == "" {
				return nil, nil, elbValidation("A target group ARN must be specified for each target group of a ForwardConfig")
			}
			if slices.ContainsFunc(fc.TargetGroups, func(o model.WeightedTargetGroup) bool { return o.TargetGroupARN == t.TargetGroupARN }) {
				return nil, nil, elbValidation("Target group '%s' is specified more than once in the ForwardConfig", t.TargetGroupARN)
			}
			fc.TargetGroups = append(fc.TargetGroups, model.WeightedTargetGroup{TargetGroupARN: t.TargetGroupARN, Weight: w})
		}
		if a.Forward.StickinessEnabled != nil && *a.Forward.StickinessEnabled {
			fc.StickinessEnabled, fc.StickinessDuration = true, 3600
			if d := a.Forward.StickinessDuration; d != nil {
				if *d < 1 || *d > 604800 {
					return nil, nil, elbValidation("Target group stickiness duration '%d' must be between 1 and 604800 seconds", *d)
				}
				fc.StickinessDuration = *d
			}
		}
	}
	uses, err := e.targetGroupUses(ctx, sc)
	if err != nil {
		return nil, nil, err
	}
	var groups []store.Versioned[model.TargetGroup]
	for _, t := range fc.TargetGroups {
		g, err := e.targetGroup(ctx, sc, t.TargetGroupARN)
		if err != nil {
			return nil, nil, err
		}
		if g.Value.VpcID != lb.VpcID {
			return nil, nil, elbErrorf(CodeInvalidConfigurationRequest, "The target group '%s' is in VPC '%s', not in the load balancer's VPC '%s'", g.Value.ARN, g.Value.VpcID, lb.VpcID)
		}
		for _, other := range uses[g.Value.ARN] {
			if other != lb.ARN {
				return nil, nil, elbErrorf(CodeTargetGroupAssociationLimit, "The following target groups cannot be associated with more than one load balancer: %s", g.Value.ARN)
			}
		}
		groups = append(groups, g)
	}
	return fc, groups, nil
}

func checkRedirect(in *RedirectInput) (*model.RedirectConfig, error) {
	if in == nil {
		return nil, elbValidation("A redirect action must have a RedirectConfig")
	}
	rc := &model.RedirectConfig{Protocol: "#{protocol}", Port: "#{port}", Host: "#{host}", Path: "/#{path}", Query: "#{query}", StatusCode: in.StatusCode}
	switch in.StatusCode {
	case "HTTP_301", "HTTP_302":
	case "":
		return nil, elbValidation("A redirect status code must be specified")
	default:
		return nil, elbValidation("Redirect status code '%s' is not valid. Valid values are: HTTP_301, HTTP_302", in.StatusCode)
	}
	if in.Protocol != "" {
		if p := strings.ToUpper(in.Protocol); p != "HTTP" && p != "HTTPS" && in.Protocol != "#{protocol}" {
			return nil, elbValidation("Redirect protocol '%s' must be HTTP, HTTPS or #{protocol}", in.Protocol)
		}
		rc.Protocol = in.Protocol
	}
	if in.Port != "" {
		if in.Port != "#{port}" {
			if n, err := strconv.Atoi(in.Port); err != nil || n < 1 || n > 65535 {
				return nil, elbValidation("Redirect port '%s' must be a number between 1 and 65535 or #{port}", in.Port)
			}
		}
		rc.Port = in.Port
	}
	if in.Host != "" {
		if len(in.Host) > 128 {
			return nil, elbValidation("Redirect host '%s' must be at most 128 characters", in.Host)
		}
		rc.Host = in.Host
	}
	if in.Path != "" {
		if len(in.Path) > 128 || !strings.HasPrefix(in.Path, "/") {
			return nil, elbValidation("Redirect path '%s' must begin with '/' and be at most 128 characters", in.Path)
		}
		rc.Path = in.Path
	}
	if in.QueryGiven {
		if len(in.Query) > 128 || strings.HasPrefix(in.Query, "?") {
			return nil, elbValidation("Redirect query '%s' must be at most 128 characters and must not begin with '?'", in.Query)
		}
		rc.Query = in.Query
	}
	if rc.Protocol == "#{protocol}" && rc.Port == "#{port}" && rc.Host == "#{host}" && rc.Path == "/#{path}" {
		return nil, elbErrorf(CodeInvalidLoadBalancerAction, "The redirect would redirect to itself: change at least one of protocol, port, host and path")
	}
	return rc, nil
}

func checkFixedResponse(in *FixedResponseInput) (*model.FixedResponseConfig, error) {
	if in == nil {
		return nil, elbValidation("A fixed-response action must have a FixedResponseConfig")
	}
	switch {
	case in.StatusCode == "":
		return nil, elbValidation("A fixed response status code must be specified")
	case !fixedStatusRe.MatchString(in.StatusCode):
		return nil, elbValidation("Fixed response status code '%s' must be a 2XX, 4XX or 5XX code", in.StatusCode)
	case in.ContentType != "" && !slices.Contains(fixedContentTypes, in.ContentType):
		return nil, elbValidation("Fixed response content type '%s' is not valid. Valid values are: %s", in.ContentType, strings.Join(fixedContentTypes, ", "))
	case len(in.MessageBody) > 1024:
		return nil, elbValidation("A fixed response message body must be at most 1024 characters")
	}
	return &model.FixedResponseConfig{StatusCode: in.StatusCode, ContentType: in.ContentType, MessageBody: in.MessageBody}, nil
}

// actionGroups returns the target groups actions forward to.
func actionGroups(actions []model.Action) []string {
	var out []string
	for _, a := range actions {
		if a.ForwardConfig != nil {
			for _, t := range a.ForwardConfig.TargetGroups {
				out = append(out, t.TargetGroupARN)
			}
		} else if a.TargetGroupARN != "" {
			out = append(out, a.TargetGroupARN)
		}
	}
	return out
}
