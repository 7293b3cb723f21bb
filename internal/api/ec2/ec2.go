// Package ec2 is the EC2 service (its VPC subset) on the front door: EC2 query-protocol shapes
// with AWS's member and XML names, and handlers that convert them to and from the ops layer.
package ec2

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

// APIVersion is the EC2 API version clients send as Version=.
const APIVersion = "2016-11-15"

// XMLNamespace is the namespace of EC2's answers.
const XMLNamespace = "http://ec2.amazonaws.com/doc/2016-11-15/"

type handler struct{ ops *ops.EC2 }

// Service returns the EC2 service for the front door.
func Service(o *ops.EC2) *api.Service {
	h := &handler{ops: o}
	return &api.Service{
		SigningName:  "ec2",
		Protocol:     api.EC2Query,
		APIVersion:   APIVersion,
		XMLNamespace: XMLNamespace,
		ErrorCode:    errorCode,
		Operations: map[string]api.Operation{
			"CreateVpc":                     op(h.createVpc),
			"DescribeVpcs":                  op(h.describeVpcs),
			"DeleteVpc":                     op(h.deleteVpc),
			"ModifyVpcAttribute":            op(h.modifyVpcAttribute),
			"DescribeVpcAttribute":          op(h.describeVpcAttribute),
			"CreateSubnet":                  op(h.createSubnet),
			"DescribeSubnets":               op(h.describeSubnets),
			"DeleteSubnet":                  op(h.deleteSubnet),
			"ModifySubnetAttribute":         op(h.modifySubnetAttribute),
			"CreateSecurityGroup":           op(h.createSecurityGroup),
			"DescribeSecurityGroups":        op(h.describeSecurityGroups),
			"DeleteSecurityGroup":           op(h.deleteSecurityGroup),
			"AuthorizeSecurityGroupIngress": op(h.authorize(false)),
			"AuthorizeSecurityGroupEgress":  op(h.authorize(true)),
			"RevokeSecurityGroupIngress":    op(h.revoke(false)),
			"RevokeSecurityGroupEgress":     op(h.revoke(true)),
			"DescribeSecurityGroupRules":    op(h.describeSecurityGroupRules),
			"CreateInternetGateway":         op(h.createInternetGateway),
			"AttachInternetGateway":         op(h.attachInternetGateway),
			"DetachInternetGateway":         op(h.detachInternetGateway),
			"DescribeInternetGateways":      op(h.describeInternetGateways),
			"AllocateAddress":               op(h.allocateAddress),
			"CreateNatGateway":              op(h.createNatGateway),
			"DescribeNatGateways":           op(h.describeNatGateways),
			"DeleteNatGateway":              op(h.deleteNatGateway),
			"ReleaseAddress":                op(h.releaseAddress),
			"DeleteRouteTable":              op(h.deleteRouteTable),
			"CreateRouteTable":              op(h.createRouteTable),
			"CreateRoute":                   op(h.createRoute),
			"AssociateRouteTable":           op(h.associateRouteTable),
			"DescribeRouteTables":           op(h.describeRouteTables),
			"DescribeNetworkInterfaces":     op(h.describeNetworkInterfaces),
			"DescribeAvailabilityZones":     op(h.describeAvailabilityZones),
			"DescribeAccountAttributes":     op(h.describeAccountAttributes),
			"CreateTags":                    op(h.createTags),
			"DeleteTags":                    op(h.deleteTags),
			"DescribeTags":                  op(h.describeTags),
		},
	}
}

// op adapts a typed handler to an api.Operation: it decodes the form into In and turns an
// ops.EC2Error into the kind errorCode answers with its exact EC2 code.
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

// codeKind prefixes the kinds withCode makes from an EC2 code, so errorCode can tell them from
// apierr's own.
const codeKind = "ec2:"

// withCode carries an ops.EC2Error's exact code to errorCode. api.Service.ErrorCode sees only a
// kind, so the code travels as a kind of its own, made here at the top and nowhere else.
func withCode(err error) error {
	var e *ops.EC2Error
	if !errors.As(err, &e) {
		return err
	}
	return &apierr.Error{Kind: apierr.Kind(codeKind + e.Code), Message: e.Err.Message}
}

// errorCode names error kinds as EC2 does.
func errorCode(k apierr.Kind) string {
	if code, ok := strings.CutPrefix(string(k), codeKind); ok {
		return code
	}
	switch k {
	case apierr.InvalidParameter, apierr.Client:
		return ops.CodeInvalidParameterValue
	case apierr.MissingParameter:
		return ops.CodeMissingParameter
	case apierr.UnknownOperation:
		return "InvalidAction"
	case apierr.Unsupported:
		return "UnsupportedOperation"
	case apierr.Conflict:
		return "IncorrectState"
	case apierr.Throttled:
		return "RequestLimitExceeded"
	case apierr.AccessDenied:
		return "UnauthorizedOperation"
	case apierr.Internal:
		return "InternalError"
	}
	return ""
}

// Tag is EC2's tag shape.
type Tag struct {
	Key   string `xml:"key" query:"Key"`
	Value string `xml:"value" query:"Value"`
}

type tagSpecification struct {
	ResourceType string `query:"ResourceType"`
	Tags         []Tag  `query:"Tag"`
}

type filter struct {
	Name   string   `query:"Name"`
	Values []string `query:"Value"`
}

func tagsToWire(tags []model.Tag) []Tag {
	out := make([]Tag, len(tags))
	for i, t := range tags {
		out[i] = Tag(t)
	}
	return out
}

func tagsFromWire(tags []Tag) []model.Tag {
	out := make([]model.Tag, len(tags))
	for i, t := range tags {
		out[i] = model.Tag(t)
	}
	return out
}

func specsFromWire(specs []tagSpecification) []ops.TagSpecification {
	out := make([]ops.TagSpecification, len(specs))
	for i, s := range specs {
		out[i] = ops.TagSpecification{ResourceType: s.ResourceType, Tags: tagsFromWire(s.Tags)}
	}
	return out
}

func filtersFromWire(fs []filter) []ops.Filter {
	out := make([]ops.Filter, len(fs))
	for i, f := range fs {
		out[i] = ops.Filter(f)
	}
	return out
}

// returnOutput is the answer of calls that answer only that they succeeded.
type returnOutput struct {
	Return bool `xml:"return"`
}

var ok = &returnOutput{Return: true}
