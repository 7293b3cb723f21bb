// Package ec2 is the EC2 service (its VPC subset) on the front door: EC2 query-protocol shapes
// with AWS's member and XML names, and handlers that convert them to and from the ops layer.
package ec2

import (
	"github.com/gantry-dev/gantry/internal/api"
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
			"CreateVpc":                     api.QueryOp(h.createVpc),
			"DescribeVpcs":                  api.QueryOp(h.describeVpcs),
			"DeleteVpc":                     api.QueryOp(h.deleteVpc),
			"ModifyVpcAttribute":            api.QueryOp(h.modifyVpcAttribute),
			"DescribeVpcAttribute":          api.QueryOp(h.describeVpcAttribute),
			"CreateSubnet":                  api.QueryOp(h.createSubnet),
			"DescribeSubnets":               api.QueryOp(h.describeSubnets),
			"DeleteSubnet":                  api.QueryOp(h.deleteSubnet),
			"ModifySubnetAttribute":         api.QueryOp(h.modifySubnetAttribute),
			"CreateSecurityGroup":           api.QueryOp(h.createSecurityGroup),
			"DescribeSecurityGroups":        api.QueryOp(h.describeSecurityGroups),
			"DeleteSecurityGroup":           api.QueryOp(h.deleteSecurityGroup),
			"AuthorizeSecurityGroupIngress": api.QueryOp(h.authorize(false)),
			"AuthorizeSecurityGroupEgress":  api.QueryOp(h.authorize(true)),
			"RevokeSecurityGroupIngress":    api.QueryOp(h.revoke(false)),
			"RevokeSecurityGroupEgress":     api.QueryOp(h.revoke(true)),
			"DescribeSecurityGroupRules":    api.QueryOp(h.describeSecurityGroupRules),
			"CreateInternetGateway":         api.QueryOp(h.createInternetGateway),
			"AttachInternetGateway":         api.QueryOp(h.attachInternetGateway),
			"DetachInternetGateway":         api.QueryOp(h.detachInternetGateway),
			"DescribeInternetGateways":      api.QueryOp(h.describeInternetGateways),
			"AllocateAddress":               api.QueryOp(h.allocateAddress),
			"CreateNatGateway":              api.QueryOp(h.createNatGateway),
			"DescribeNatGateways":           api.QueryOp(h.describeNatGateways),
			"DeleteNatGateway":              api.QueryOp(h.deleteNatGateway),
			"ReleaseAddress":                api.QueryOp(h.releaseAddress),
			"DeleteRouteTable":              api.QueryOp(h.deleteRouteTable),
			"CreateRouteTable":              api.QueryOp(h.createRouteTable),
			"CreateRoute":                   api.QueryOp(h.createRoute),
			"AssociateRouteTable":           api.QueryOp(h.associateRouteTable),
			"DescribeRouteTables":           api.QueryOp(h.describeRouteTables),
			"DeleteRoute":                   api.QueryOp(h.deleteRoute),
			"ReplaceRoute":                  api.QueryOp(h.replaceRoute),
			"DisassociateRouteTable":        api.QueryOp(h.disassociateRouteTable),
			"DeleteInternetGateway":         api.QueryOp(h.deleteInternetGateway),
			"DescribeAddresses":             api.QueryOp(h.describeAddresses),
			"DescribeNetworkInterfaces":     api.QueryOp(h.describeNetworkInterfaces),
			"DescribeAvailabilityZones":     api.QueryOp(h.describeAvailabilityZones),
			"DescribeAccountAttributes":     api.QueryOp(h.describeAccountAttributes),
			"CreateTags":                    api.QueryOp(h.createTags),
			"DeleteTags":                    api.QueryOp(h.deleteTags),
			"DescribeTags":                  api.QueryOp(h.describeTags),
		},
	}
}

// errorCode names error kinds as EC2 does.
func errorCode(k apierr.Kind) string {
	if code, ok := api.CodedKind(k); ok {
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
