// Package elbv2 is the Elastic Load Balancing (v2) service on the front door: query-protocol shapes with AWS's member names, and handlers that convert them to and from the ops layer.
package elbv2

import (
	"github.com/gantry-dev/gantry/internal/api"
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
			"CreateLoadBalancer":             api.QueryOp(h.createLoadBalancer),
			"DescribeLoadBalancers":          api.QueryOp(h.describeLoadBalancers),
			"DeleteLoadBalancer":             api.QueryOp(h.deleteLoadBalancer),
			"DescribeLoadBalancerAttributes": api.QueryOp(h.describeLoadBalancerAttributes),
			"ModifyLoadBalancerAttributes":   api.QueryOp(h.modifyLoadBalancerAttributes),
			"CreateTargetGroup":              api.QueryOp(h.createTargetGroup),
			"DescribeTargetGroups":           api.QueryOp(h.describeTargetGroups),
			"ModifyTargetGroup":              api.QueryOp(h.modifyTargetGroup),
			"DeleteTargetGroup":              api.QueryOp(h.deleteTargetGroup),
			"DescribeTargetGroupAttributes":  api.QueryOp(h.describeTargetGroupAttributes),
			"ModifyTargetGroupAttributes":    api.QueryOp(h.modifyTargetGroupAttributes),
			"CreateListener":                 api.QueryOp(h.createListener),
			"DescribeListeners":              api.QueryOp(h.describeListeners),
			"ModifyListener":                 api.QueryOp(h.modifyListener),
			"DeleteListener":                 api.QueryOp(h.deleteListener),
			"CreateRule":                     api.QueryOp(h.createRule),
			"DescribeRules":                  api.QueryOp(h.describeRules),
			"ModifyRule":                     api.QueryOp(h.modifyRule),
			"DeleteRule":                     api.QueryOp(h.deleteRule),
			"SetRulePriorities":              api.QueryOp(h.setRulePriorities),
			"RegisterTargets":                api.QueryOp(h.registerTargets),
			"DeregisterTargets":              api.QueryOp(h.deregisterTargets),
			"DescribeTargetHealth":           api.QueryOp(h.describeTargetHealth),
			"AddTags":                        api.QueryOp(h.addTags),
			"RemoveTags":                     api.QueryOp(h.removeTags),
			"DescribeTags":                   api.QueryOp(h.describeTags),
			"DescribeSSLPolicies":            api.QueryOp(h.describeSSLPolicies),
		},
	}
}

// errorCode names error kinds as ELBv2 does.
func errorCode(k apierr.Kind) string {
	if code, ok := api.CodedKind(k); ok {
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
