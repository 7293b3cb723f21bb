package elbv2

import (
	"context"

	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/ops"
)

// TargetGroup is ELBv2's target group shape.
type TargetGroup struct {
	TargetGroupArn             string       `xml:"TargetGroupArn"`
	TargetGroupName            string       `xml:"TargetGroupName"`
	Protocol                   string       `xml:"Protocol"`
	Port                       int32        `xml:"Port"`
	VpcID                      string       `xml:"VpcId"`
	HealthCheckProtocol        string       `xml:"HealthCheckProtocol"`
	HealthCheckPort            string       `xml:"HealthCheckPort"`
	HealthCheckEnabled         bool         `xml:"HealthCheckEnabled"`
	HealthCheckIntervalSeconds int32        `xml:"HealthCheckIntervalSeconds"`
	HealthCheckTimeoutSeconds  int32        `xml:"HealthCheckTimeoutSeconds"`
	HealthyThresholdCount      int32        `xml:"HealthyThresholdCount"`
	UnhealthyThresholdCount    int32        `xml:"UnhealthyThresholdCount"`
	HealthCheckPath            string       `xml:"HealthCheckPath,omitempty"`
	Matcher                    matcher      `xml:"Matcher"`
	LoadBalancerArns           list[string] `xml:"LoadBalancerArns"`
	TargetType                 string       `xml:"TargetType"`
	ProtocolVersion            string       `xml:"ProtocolVersion"`
	IPAddressType              string       `xml:"IpAddressType"`
}

type matcher struct {
	HTTPCode string `xml:"HttpCode,omitempty" query:"HttpCode"`
	GrpcCode string `xml:"GrpcCode,omitempty" query:"GrpcCode"`
}

func targetGroupToWire(v ops.TargetGroupView) TargetGroup {
	hc := v.HealthCheck
	return TargetGroup{TargetGroupArn: v.ARN, TargetGroupName: v.Name, Protocol: v.Protocol, Port: v.Port, VpcID: v.VpcID,
		HealthCheckProtocol: hc.Protocol, HealthCheckPort: hc.Port, HealthCheckEnabled: hc.Enabled,
		HealthCheckIntervalSeconds: hc.IntervalSeconds, HealthCheckTimeoutSeconds: hc.TimeoutSeconds,
		HealthyThresholdCount: hc.HealthyThresholdCount, UnhealthyThresholdCount: hc.UnhealthyThresholdCount,
		HealthCheckPath: hc.Path, Matcher: matcher{HTTPCode: v.Matcher.HTTPCode, GrpcCode: v.Matcher.GRPCCode},
		LoadBalancerArns: listOf(v.LoadBalancerARNs), TargetType: v.TargetType, ProtocolVersion: v.ProtocolVersion,
		IPAddressType: v.IPAddressType}
}

// HealthCheckMembers are the health-check members of CreateTargetGroup and ModifyTargetGroup.
type HealthCheckMembers struct {
	HealthCheckProtocol        string   `query:"HealthCheckProtocol"`
	HealthCheckPort            string   `query:"HealthCheckPort"`
	HealthCheckEnabled         *bool    `query:"HealthCheckEnabled"`
	HealthCheckPath            string   `query:"HealthCheckPath"`
	HealthCheckIntervalSeconds *int32   `query:"HealthCheckIntervalSeconds"`
	HealthCheckTimeoutSeconds  *int32   `query:"HealthCheckTimeoutSeconds"`
	HealthyThresholdCount      *int32   `query:"HealthyThresholdCount"`
	UnhealthyThresholdCount    *int32   `query:"UnhealthyThresholdCount"`
	Matcher                    *matcher `query:"Matcher"`
}

func (m HealthCheckMembers) toOps() ops.HealthCheckInput {
	in := ops.HealthCheckInput{Protocol: m.HealthCheckProtocol, Port: m.HealthCheckPort, Enabled: m.HealthCheckEnabled,
		Path: m.HealthCheckPath, Interval: m.HealthCheckIntervalSeconds, Timeout: m.HealthCheckTimeoutSeconds,
		HealthyCount: m.HealthyThresholdCount, UnhealthyCount: m.UnhealthyThresholdCount}
	if m.Matcher != nil {
		in.MatcherGiven, in.MatcherHTTPCode, in.MatcherGRPCCode = true, m.Matcher.HTTPCode, m.Matcher.GrpcCode
	}
	return in
}

type createTargetGroupInput struct {
	Name               string `query:"Name,required"`
	Protocol           string `query:"Protocol"`
	ProtocolVersion    string `query:"ProtocolVersion"`
	Port               *int32 `query:"Port"`
	VpcID              string `query:"VpcId"`
	TargetType         string `query:"TargetType"`
	IPAddressType      string `query:"IpAddressType"`
	Tags               []Tag  `query:"Tags.member"`
	HealthCheckMembers `query:""`
}

type targetGroupsOutput struct {
	TargetGroups list[TargetGroup] `xml:"TargetGroups"`
	NextMarker   string            `xml:"NextMarker,omitempty"`
}

func (h *handler) createTargetGroup(ctx context.Context, sc model.Scope, in *createTargetGroupInput) (*targetGroupsOutput, error) {
	tg, err := h.ops.CreateTargetGroup(ctx, sc, ops.CreateTargetGroupInput{Name: in.Name, Protocol: in.Protocol,
		ProtocolVersion: in.ProtocolVersion, Port: in.Port, VpcID: in.VpcID, TargetType: in.TargetType,
		IPAddressType: in.IPAddressType, HealthCheck: in.HealthCheckMembers.toOps(), Tags: tagsFromWire(in.Tags)})
	if err != nil {
		return nil, err
	}
	return &targetGroupsOutput{TargetGroups: listOf([]TargetGroup{targetGroupToWire(tg)})}, nil
}

type describeTargetGroupsInput struct {
	LoadBalancerArn string   `query:"LoadBalancerArn"`
	TargetGroupArns []string `query:"TargetGroupArns.member"`
	Names           []string `query:"Names.member"`
	Marker          string   `query:"Marker"`
	PageSize        *int32   `query:"PageSize"`
}

func (h *handler) describeTargetGroups(ctx context.Context, sc model.Scope, in *describeTargetGroupsInput) (*targetGroupsOutput, error) {
	tgs, next, err := h.ops.DescribeTargetGroups(ctx, sc, ops.DescribeTargetGroupsInput{LoadBalancerARN: in.LoadBalancerArn,
		ARNs: in.TargetGroupArns, Names: in.Names, Marker: in.Marker, PageSize: in.PageSize})
	if err != nil {
		return nil, err
	}
	out := make([]TargetGroup, len(tgs))
	for i, tg := range tgs {
		out[i] = targetGroupToWire(tg)
	}
	return &targetGroupsOutput{TargetGroups: listOf(out), NextMarker: next}, nil
}

type modifyTargetGroupInput struct {
	TargetGroupArn     string `query:"TargetGroupArn,required"`
	HealthCheckMembers `query:""`
}

func (h *handler) modifyTargetGroup(ctx context.Context, sc model.Scope, in *modifyTargetGroupInput) (*targetGroupsOutput, error) {
	tg, err := h.ops.ModifyTargetGroup(ctx, sc, in.TargetGroupArn, in.HealthCheckMembers.toOps())
	if err != nil {
		return nil, err
	}
	return &targetGroupsOutput{TargetGroups: listOf([]TargetGroup{targetGroupToWire(tg)})}, nil
}

type targetGroupArnInput struct {
	TargetGroupArn string `query:"TargetGroupArn,required"`
}

func (h *handler) deleteTargetGroup(ctx context.Context, sc model.Scope, in *targetGroupArnInput) (*empty, error) {
	return &empty{}, h.ops.DeleteTargetGroup(ctx, sc, in.TargetGroupArn)
}

// tgAttributeOrder is the order DescribeTargetGroupAttributes lists attributes in.
var tgAttributeOrder = []string{model.AttrStickinessEnabled, model.AttrDeregistrationDelay, model.AttrStickinessType,
	model.AttrStickinessLBCookie, model.AttrStickinessAppCookieName, model.AttrStickinessAppCookieDur,
	model.AttrSlowStart, model.AttrLBAlgorithm, model.AttrCrossZone}

func (h *handler) describeTargetGroupAttributes(ctx context.Context, sc model.Scope, in *targetGroupArnInput) (*attributesOutput, error) {
	attrs, err := h.ops.TargetGroupAttributes(ctx, sc, in.TargetGroupArn)
	if err != nil {
		return nil, err
	}
	return &attributesOutput{Attributes: attributesToWire(attrs, tgAttributeOrder)}, nil
}

type modifyTargetGroupAttributesInput struct {
	TargetGroupArn string      `query:"TargetGroupArn,required"`
	Attributes     []attribute `query:"Attributes.member"`
}

func (h *handler) modifyTargetGroupAttributes(ctx context.Context, sc model.Scope, in *modifyTargetGroupAttributesInput) (*attributesOutput, error) {
	attrs, err := h.ops.ModifyTargetGroupAttributes(ctx, sc, in.TargetGroupArn, attributesFromWire(in.Attributes))
	if err != nil {
		return nil, err
	}
	return &attributesOutput{Attributes: attributesToWire(attrs, tgAttributeOrder)}, nil
}
