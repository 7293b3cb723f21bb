// Package elbv2 is the Elastic Load Balancing (v2) service on the front door: query-protocol shapes with AWS's member names, and handlers that convert them to and from the ops layer.
package elbv2

import (
	"context"
	"errors"
	"strings"

	"github.com/gantry-dev/gantry/internal/api"
	"github.com/gantry-dev/gantry/internal/api/awsquery"
	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/ops"
)

// APIVersion is the ELBv2 API version clients send as Version=.
const APIVersion = "2015-12-01"

// XMLNamespace is the namespace of ELBv2's answers.
const XMLNamespace = "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"

type handler struct{ ops *ops.ELBv2 }

// Service returns the ELBv2 service for the front door.
func Service(o *ops.ELBv2) *api.Service {
	h := &handler{ops: o}
	return &api.Service{
		SigningName:  "elasticloadbalancing",
		Protocol:     api.Query,
		APIVersion:   APIVersion,
		XMLNamespace: XMLNamespace,
		ErrorCode:    errorCode,
		Operations: map[string]api.Operation{
			"CreateLoadBalancer":             op(h.createLoadBalancer),
			"DescribeLoadBalancers":          op(h.describeLoadBalancers),
			"DeleteLoadBalancer":             op(h.deleteLoadBalancer),
			"DescribeLoadBalancerAttributes": op(h.describeLoadBalancerAttributes),
			"ModifyLoadBalancerAttributes":   op(h.modifyLoadBalancerAttributes),
			"CreateTargetGroup":              op(h.createTargetGroup),
			"DescribeTargetGroups":           op(h.describeTargetGroups),
			"ModifyTargetGroup":              op(h.modifyTargetGroup),
			"DeleteTargetGroup":              op(h.deleteTargetGroup),
			"DescribeTargetGroupAttributes":  op(h.describeTargetGroupAttributes),
			"ModifyTargetGroupAttributes":    op(h.modifyTargetGroupAttributes),
			"CreateListener":                 op(h.createListener),
			"DescribeListeners":              op(h.describeListeners),
			"ModifyListener":                 op(h.modifyListener),
			"DeleteListener":                 op(h.deleteListener),
			"CreateRule":                     op(h.createRule),
			"DescribeRules":                  op(h.describeRules),
			"ModifyRule":                     op(h.modifyRule),
			"DeleteRule":                     op(h.deleteRule),
			"SetRulePriorities":              op(h.setRulePriorities),
			"RegisterTargets":                op(h.registerTargets),
			"DeregisterTargets":              op(h.deregisterTargets),
			"DescribeTargetHealth":           op(h.describeTargetHealth),
			"AddTags":                        op(h.addTags),
			"RemoveTags":                     op(h.removeTags),
			"DescribeTags":                   op(h.describeTags),
			"DescribeSSLPolicies":            op(h.describeSSLPolicies),
		},
	}
}

// op adapts a typed handler to an api.Operation: it decodes the form into In and turns an
// ops.ELBError into the kind errorCode answers with its exact code.
func op[In any, Out any](fn func(ctx context.Context, sc model.Scope, in *In) (*Out, error)) api.Operation {
	return func(ctx context.Context, r *api.Request) (any, error) {
		var in In
		if err := awsquery.Decode(r.Form, &in); err != nil {
			return nil, err
		}
		out, err := fn(ctx, r.Scope, &in)
		if err != nil {
			return nil, withCode(err)
		}
		return out, nil
	}
}

// codeKind prefixes the kinds withCode makes from an ELBv2 code.
const codeKind = "elbv2:"

// withCode carries an ops.ELBError's exact code to errorCode as a kind of its own, made here
// at the top and nowhere else.
func withCode(err error) error {
	var e *ops.ELBError
	if !errors.As(err, &e) {
		return err
	}
	return &apierr.Error{Kind: apierr.Kind(codeKind + e.Code), Message: e.Err.Message}
}

// errorCode names error kinds as ELBv2 does.
func errorCode(k apierr.Kind) string {
	if code, ok := strings.CutPrefix(string(k), codeKind); ok {
		return code
	}
	switch k {
	case apierr.InvalidParameter, apierr.MissingParameter, apierr.Client:
		return ops.CodeELBValidation
	case apierr.UnknownOperation:
		return "InvalidAction"
	case apierr.Throttled:
		return "Throttling"
	case apierr.AccessDenied:
		return "AccessDenied"
	case apierr.Conflict:
		return "PriorRequestNotComplete"
	case apierr.Internal:
		return "InternalFailure"
	}
	return ""
}

// list is a wire list: <Name><member>..</member></Name>, with an empty element for an empty
// list (botocore then shows []).
type list[T any] struct {
	Members []T `xml:"member"`
}

func listOf[T any](items []T) list[T] {
	if items == nil {
		items = []T{}
	}
	return list[T]{Members: items}
}

// Tag is ELBv2's tag shape.
type Tag struct {
	Key   string `xml:"Key" query:"Key"`
	Value string `xml:"Value" query:"Value"`
}

func tagsToWire(tags []model.Tag) list[Tag] {
	out := make([]Tag, len(tags))
	for i, t := range tags {
		out[i] = Tag(t)
	}
	return listOf(out)
}

func tagsFromWire(tags []Tag) []model.Tag {
	out := make([]model.Tag, len(tags))
	for i, t := range tags {
		out[i] = model.Tag(t)
	}
	return out
}

// attribute is a load balancer's or target group's attribute.
type attribute struct {
	Key   string `xml:"Key" query:"Key"`
	Value string `xml:"Value" query:"Value"`
}

func attributesToWire(m map[string]string, order []string) list[attribute] {
	out := make([]attribute, 0, len(m))
	for _, k := range order {
		if v, ok := m[k]; ok {
			out = append(out, attribute{Key: k, Value: v})
		}
	}
	return listOf(out)
}

func attributesFromWire(in []attribute) []model.Tag {
	out := make([]model.Tag, len(in))
	for i, a := range in {
		out[i] = model.Tag(a)
	}
	return out
}

// empty is the answer of calls that answer nothing but success.
type empty struct{}
