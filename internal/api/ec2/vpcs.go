package ec2

import (
	"context"

	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/ops"
)

// Vpc is EC2's VPC shape.
type Vpc struct {
	VpcID                   string                    `xml:"vpcId"`
	OwnerID                 string                    `xml:"ownerId"`
	State                   string                    `xml:"state"`
	CidrBlock               string                    `xml:"cidrBlock"`
	CidrBlockAssociationSet []VpcCidrBlockAssociation `xml:"cidrBlockAssociationSet>item"`
	DhcpOptionsID           string                    `xml:"dhcpOptionsId"`
	InstanceTenancy         string                    `xml:"instanceTenancy"`
	IsDefault               bool                      `xml:"isDefault"`
	Tags                    []Tag                     `xml:"tagSet>item"`
}

// VpcCidrBlockAssociation is one IPv4 CIDR of a VPC.
type VpcCidrBlockAssociation struct {
	AssociationID  string         `xml:"associationId"`
	CidrBlock      string         `xml:"cidrBlock"`
	CidrBlockState CidrBlockState `xml:"cidrBlockState"`
}

// CidrBlockState is the state of a CIDR association.
type CidrBlockState struct {
	State string `xml:"state"`
}

func vpcToWire(v model.Vpc) Vpc {
	return Vpc{VpcID: v.ID, OwnerID: v.Scope.Account, State: v.State, CidrBlock: v.CidrBlock,
		CidrBlockAssociationSet: []VpcCidrBlockAssociation{{AssociationID: v.CidrAssociationID, CidrBlock: v.CidrBlock,
			CidrBlockState: CidrBlockState{State: "associated"}}},
		DhcpOptionsID: v.DhcpOptionsID, InstanceTenancy: v.InstanceTenancy, IsDefault: v.IsDefault, Tags: tagsToWire(v.Tags)}
}

type createVpcInput struct {
	CidrBlock         string             `query:"CidrBlock"`
	InstanceTenancy   string             `query:"InstanceTenancy"`
	TagSpecifications []tagSpecification `query:"TagSpecification"`
}

type createVpcOutput struct {
	Vpc Vpc `xml:"vpc"`
}

func (h *handler) createVpc(ctx context.Context, sc model.Scope, in *createVpcInput) (*createVpcOutput, error) {
	v, err := h.ops.CreateVpc(ctx, sc, ops.CreateVpcInput{CidrBlock: in.CidrBlock, InstanceTenancy: in.InstanceTenancy,
		Tags: specsFromWire(in.TagSpecifications)})
	if err != nil {
		return nil, err
	}
	return &createVpcOutput{Vpc: vpcToWire(v)}, nil
}

func paging(maxResults *int32, token string) ops.Paging {
	return ops.Paging{MaxResults: maxResults, NextToken: token}
}

type describeVpcsInput struct {
	VpcIDs     []string `query:"VpcId"`
	Filters    []filter `query:"Filter"`
	MaxResults *int32   `query:"MaxResults"`
	NextToken  string   `query:"NextToken"`
}

type describeVpcsOutput struct {
	Vpcs      []Vpc  `xml:"vpcSet>item"`
	NextToken string `xml:"nextToken,omitempty"`
}

func (h *handler) describeVpcs(ctx context.Context, sc model.Scope, in *describeVpcsInput) (*describeVpcsOutput, error) {
	vpcs, next, err := h.ops.DescribeVpcs(ctx, sc, in.VpcIDs, filtersFromWire(in.Filters), paging(in.MaxResults, in.NextToken))
	if err != nil {
		return nil, err
	}
	out := &describeVpcsOutput{NextToken: next, Vpcs: make([]Vpc, len(vpcs))}
	for i, v := range vpcs {
		out.Vpcs[i] = vpcToWire(v)
	}
	return out, nil
}

type vpcIDInput struct {
	VpcID string `query:"VpcId,required"`
}

func (h *handler) deleteVpc(ctx context.Context, sc model.Scope, in *vpcIDInput) (*returnOutput, error) {
	if err := h.ops.DeleteVpc(ctx, sc, in.VpcID); err != nil {
		return nil, err
	}
	return ok, nil
}

// AttributeBooleanValue is EC2's boxed boolean.
type AttributeBooleanValue struct {
	Value *bool `xml:"value" query:"Value"`
}

type modifyVpcAttributeInput struct {
	VpcID              string                 `query:"VpcId,required"`
	EnableDNSSupport   *AttributeBooleanValue `query:"EnableDnsSupport"`
	EnableDNSHostnames *AttributeBooleanValue `query:"EnableDnsHostnames"`
}

func boolOf(a *AttributeBooleanValue) *bool {
	if a == nil {
		return nil
	}
	return a.Value
}

func (h *handler) modifyVpcAttribute(ctx context.Context, sc model.Scope, in *modifyVpcAttributeInput) (*returnOutput, error) {
	err := h.ops.ModifyVpcAttribute(ctx, sc, in.VpcID, ops.VpcAttributes{
		EnableDNSSupport: boolOf(in.EnableDNSSupport), EnableDNSHostnames: boolOf(in.EnableDNSHostnames)})
	if err != nil {
		return nil, err
	}
	return ok, nil
}

type describeVpcAttributeInput struct {
	VpcID     string `query:"VpcId,required"`
	Attribute string `query:"Attribute,required"`
}

type describeVpcAttributeOutput struct {
	VpcID              string                 `xml:"vpcId"`
	EnableDNSSupport   *AttributeBooleanValue `xml:"enableDnsSupport,omitempty"`
	EnableDNSHostnames *AttributeBooleanValue `xml:"enableDnsHostnames,omitempty"`
	NetworkAddrMetrics *AttributeBooleanValue `xml:"enableNetworkAddressUsageMetrics,omitempty"`
}

func (h *handler) describeVpcAttribute(ctx context.Context, sc model.Scope, in *describeVpcAttributeInput) (*describeVpcAttributeOutput, error) {
	v, err := h.ops.DescribeVpcAttribute(ctx, sc, in.VpcID, in.Attribute)
	if err != nil {
		return nil, err
	}
	out := &describeVpcAttributeOutput{VpcID: in.VpcID}
	val := &AttributeBooleanValue{Value: &v}
	switch in.Attribute {
	case ops.AttrEnableDNSSupport:
		out.EnableDNSSupport = val
	case ops.AttrEnableDNSHostnames:
		out.EnableDNSHostnames = val
	default:
		out.NetworkAddrMetrics = val
	}
	return out, nil
}

// AvailabilityZone is EC2's zone shape.
type AvailabilityZone struct {
	ZoneName           string `xml:"zoneName"`
	ZoneID             string `xml:"zoneId"`
	State              string `xml:"zoneState"`
	RegionName         string `xml:"regionName"`
	GroupName          string `xml:"groupName"`
	NetworkBorderGroup string `xml:"networkBorderGroup"`
	OptInStatus        string `xml:"optInStatus"`
	ZoneType           string `xml:"zoneType"`
}

type describeAvailabilityZonesInput struct {
	ZoneNames []string `query:"ZoneName"`
	ZoneIDs   []string `query:"ZoneId"`
	All       bool     `query:"AllAvailabilityZones"`
	Filters   []filter `query:"Filter"`
}

type describeAvailabilityZonesOutput struct {
	Zones []AvailabilityZone `xml:"availabilityZoneInfo>item"`
}

func (h *handler) describeAvailabilityZones(ctx context.Context, sc model.Scope, in *describeAvailabilityZonesInput) (*describeAvailabilityZonesOutput, error) {
	zones, err := h.ops.DescribeAvailabilityZones(ctx, sc, in.ZoneNames, in.ZoneIDs, filtersFromWire(in.Filters))
	if err != nil {
		return nil, err
	}
	out := &describeAvailabilityZonesOutput{Zones: make([]AvailabilityZone, len(zones))}
	for i, z := range zones {
		out.Zones[i] = AvailabilityZone{ZoneName: z.Name, ZoneID: z.ZoneID, State: model.StateAvailable, RegionName: z.Region,
			GroupName: z.Region, NetworkBorderGroup: z.Region, OptInStatus: "opt-in-not-required", ZoneType: "availability-zone"}
	}
	return out, nil
}

// AccountAttribute is one attribute of DescribeAccountAttributes.
type AccountAttribute struct {
	AttributeName   string           `xml:"attributeName"`
	AttributeValues []AttributeValue `xml:"attributeValueSet>item"`
}

// AttributeValue is one value of an account attribute.
type AttributeValue struct {
	AttributeValue string `xml:"attributeValue"`
}

type describeAccountAttributesInput struct {
	AttributeNames []string `query:"AttributeName"`
}

type describeAccountAttributesOutput struct {
	Attributes []AccountAttribute `xml:"accountAttributeSet>item"`
}

func (h *handler) describeAccountAttributes(ctx context.Context, sc model.Scope, in *describeAccountAttributesInput) (*describeAccountAttributesOutput, error) {
	attrs, err := h.ops.DescribeAccountAttributes(ctx, sc, in.AttributeNames)
	if err != nil {
		return nil, err
	}
	out := &describeAccountAttributesOutput{}
	for _, a := range attrs {
		w := AccountAttribute{AttributeName: a.Name}
		for _, v := range a.Values {
			w.AttributeValues = append(w.AttributeValues, AttributeValue{AttributeValue: v})
		}
		out.Attributes = append(out.Attributes, w)
	}
	return out, nil
}
