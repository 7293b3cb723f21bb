package elbv2

import (
	"context"
	"slices"
	"time"

	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/ops"
)

// LoadBalancer is ELBv2's load balancer shape.
type LoadBalancer struct {
	LoadBalancerArn       string                 `xml:"LoadBalancerArn"`
	DNSName               string                 `xml:"DNSName"`
	CanonicalHostedZoneID string                 `xml:"CanonicalHostedZoneId"`
	CreatedTime           time.Time              `xml:"CreatedTime"`
	LoadBalancerName      string                 `xml:"LoadBalancerName"`
	Scheme                string                 `xml:"Scheme"`
	VpcID                 string                 `xml:"VpcId"`
	State                 loadBalancerState      `xml:"State"`
	Type                  string                 `xml:"Type"`
	AvailabilityZones     list[availabilityZone] `xml:"AvailabilityZones"`
	SecurityGroups        list[string]           `xml:"SecurityGroups"`
	IPAddressType         string                 `xml:"IpAddressType"`
}

type loadBalancerState struct {
	Code   string `xml:"Code"`
	Reason string `xml:"Reason,omitempty"`
}

type availabilityZone struct {
	ZoneName              string                    `xml:"ZoneName"`
	SubnetID              string                    `xml:"SubnetId"`
	LoadBalancerAddresses list[loadBalancerAddress] `xml:"LoadBalancerAddresses"`
}

type loadBalancerAddress struct {
	PrivateIPv4Address string `xml:"PrivateIPv4Address,omitempty"`
}

func loadBalancerToWire(lb model.LoadBalancer) LoadBalancer {
	zones := make([]availabilityZone, len(lb.Nodes))
	for i, n := range lb.Nodes {
		zones[i] = availabilityZone{ZoneName: n.AvailabilityZone, SubnetID: n.SubnetID, LoadBalancerAddresses: listOf[loadBalancerAddress](nil)}
	}
	return LoadBalancer{LoadBalancerArn: lb.ARN, DNSName: lb.DNSName, CanonicalHostedZoneID: lb.CanonicalHostedZoneID,
		CreatedTime: lb.CreatedAt.Truncate(time.Millisecond), LoadBalancerName: lb.Name, Scheme: lb.Scheme, VpcID: lb.VpcID,
		State: loadBalancerState{Code: lb.State, Reason: lb.StateReason}, Type: lb.Type,
		AvailabilityZones: listOf(zones), SecurityGroups: listOf(slices.Clone(lb.SecurityGroups)), IPAddressType: lb.IPAddressType}
}

type subnetMapping struct {
	SubnetID     string `query:"SubnetId"`
	AllocationID string `query:"AllocationId"`
	PrivateIP    string `query:"PrivateIPv4Address"`
}

type createLoadBalancerInput struct {
	Name           string          `query:"Name,required"`
	Subnets        []string        `query:"Subnets.member"`
	SubnetMappings []subnetMapping `query:"SubnetMappings.member"`
	SecurityGroups []string        `query:"SecurityGroups.member"`
	Scheme         string          `query:"Scheme"`
	Type           string          `query:"Type"`
	IPAddressType  string          `query:"IpAddressType"`
	Tags           []Tag           `query:"Tags.member"`
}

type loadBalancersOutput struct {
	LoadBalancers list[LoadBalancer] `xml:"LoadBalancers"`
	NextMarker    string             `xml:"NextMarker,omitempty"`
}

func (h *handler) createLoadBalancer(ctx context.Context, sc model.Scope, in *createLoadBalancerInput) (*loadBalancersOutput, error) {
	mappings := make([]string, len(in.SubnetMappings))
	for i, m := range in.SubnetMappings {
		if m.AllocationID != "" || m.PrivateIP != "" {
			return nil, ops.ELBValidationError("SubnetMappings with an AllocationId or PrivateIPv4Address are only supported for Network Load Balancers")
		}
		mappings[i] = m.SubnetID
	}
	lb, err := h.ops.CreateLoadBalancer(ctx, sc, ops.CreateLoadBalancerInput{Name: in.Name, Subnets: in.Subnets, SubnetMappings: mappings,
		SecurityGroups: in.SecurityGroups, Scheme: in.Scheme, Type: in.Type, IPAddressType: in.IPAddressType, Tags: tagsFromWire(in.Tags)})
	if err != nil {
		return nil, err
	}
	return &loadBalancersOutput{LoadBalancers: listOf([]LoadBalancer{loadBalancerToWire(lb)})}, nil
}

type describeLoadBalancersInput struct {
	LoadBalancerArns []string `query:"LoadBalancerArns.member"`
	Names            []string `query:"Names.member"`
	Marker           string   `query:"Marker"`
	PageSize         *int32   `query:"PageSize"`
}

func (h *handler) describeLoadBalancers(ctx context.Context, sc model.Scope, in *describeLoadBalancersInput) (*loadBalancersOutput, error) {
	lbs, next, err := h.ops.DescribeLoadBalancers(ctx, sc, ops.DescribeLoadBalancersInput{ARNs: in.LoadBalancerArns, Names: in.Names,
		Marker: in.Marker, PageSize: in.PageSize})
	if err != nil {
		return nil, err
	}
	out := make([]LoadBalancer, len(lbs))
	for i, lb := range lbs {
		out[i] = loadBalancerToWire(lb)
	}
	return &loadBalancersOutput{LoadBalancers: listOf(out), NextMarker: next}, nil
}

type loadBalancerArnInput struct {
	LoadBalancerArn string `query:"LoadBalancerArn,required"`
}

func (h *handler) deleteLoadBalancer(ctx context.Context, sc model.Scope, in *loadBalancerArnInput) (*empty, error) {
	return &empty{}, h.ops.DeleteLoadBalancer(ctx, sc, in.LoadBalancerArn)
}

type attributesOutput struct {
	Attributes list[attribute] `xml:"Attributes"`
}

// lbAttributeOrder is the order DescribeLoadBalancerAttributes lists attributes in.
var lbAttributeOrder = []string{model.AttrAccessLogsEnabled, model.AttrAccessLogsBucket, model.AttrAccessLogsPrefix,
	model.AttrDeletionProtection, model.AttrIdleTimeout, model.AttrClientKeepAlive, model.AttrDesyncMitigationMode,
	model.AttrDropInvalidHeaders, model.AttrPreserveHostHeader, model.AttrXAmznTLSHeaders, model.AttrXFFClientPort,
	model.AttrXFFHeaderProcessing, model.AttrHTTP2Enabled, model.AttrWAFFailOpen}

func (h *handler) describeLoadBalancerAttributes(ctx context.Context, sc model.Scope, in *loadBalancerArnInput) (*attributesOutput, error) {
	attrs, err := h.ops.LoadBalancerAttributes(ctx, sc, in.LoadBalancerArn)
	if err != nil {
		return nil, err
	}
	return &attributesOutput{Attributes: attributesToWire(attrs, lbAttributeOrder)}, nil
}

type modifyLoadBalancerAttributesInput struct {
	LoadBalancerArn string      `query:"LoadBalancerArn,required"`
	Attributes      []attribute `query:"Attributes.member"`
}

func (h *handler) modifyLoadBalancerAttributes(ctx context.Context, sc model.Scope, in *modifyLoadBalancerAttributesInput) (*attributesOutput, error) {
	attrs, err := h.ops.ModifyLoadBalancerAttributes(ctx, sc, in.LoadBalancerArn, attributesFromWire(in.Attributes))
	if err != nil {
		return nil, err
	}
	return &attributesOutput{Attributes: attributesToWire(attrs, lbAttributeOrder)}, nil
}
