package ec2

import (
	"context"

	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/ops"
)

// Subnet is EC2's subnet shape.
type Subnet struct {
	SubnetID                    string `xml:"subnetId"`
	SubnetArn                   string `xml:"subnetArn"`
	OwnerID                     string `xml:"ownerId"`
	VpcID                       string `xml:"vpcId"`
	State                       string `xml:"state"`
	CidrBlock                   string `xml:"cidrBlock"`
	AvailableIPAddressCount     int    `xml:"availableIpAddressCount"`
	AvailabilityZone            string `xml:"availabilityZone"`
	AvailabilityZoneID          string `xml:"availabilityZoneId"`
	DefaultForAz                bool   `xml:"defaultForAz"`
	MapPublicIPOnLaunch         bool   `xml:"mapPublicIpOnLaunch"`
	AssignIpv6AddressOnCreation bool   `xml:"assignIpv6AddressOnCreation"`
	Tags                        []Tag  `xml:"tagSet>item"`
}

func subnetToWire(s ops.SubnetView) Subnet {
	return Subnet{SubnetID: s.ID, OwnerID: s.Scope.Account, VpcID: s.VpcID, State: s.State, CidrBlock: s.CidrBlock,
		SubnetArn:               model.EC2ARN(s.Scope, "subnet/"+s.ID),
		AvailableIPAddressCount: s.AvailableIPAddressCount, AvailabilityZone: s.AvailabilityZone,
		AvailabilityZoneID: s.AvailabilityZoneID, DefaultForAz: s.DefaultForAz, MapPublicIPOnLaunch: s.MapPublicIPOnLaunch,
		Tags: tagsToWire(s.Tags)}
}

type createSubnetInput struct {
	VpcID              string             `query:"VpcId,required"`
	CidrBlock          string             `query:"CidrBlock"`
	AvailabilityZone   string             `query:"AvailabilityZone"`
	AvailabilityZoneID string             `query:"AvailabilityZoneId"`
	TagSpecifications  []tagSpecification `query:"TagSpecification"`
}

type createSubnetOutput struct {
	Subnet Subnet `xml:"subnet"`
}

func (h *handler) createSubnet(ctx context.Context, sc model.Scope, in *createSubnetInput) (*createSubnetOutput, error) {
	s, err := h.ops.CreateSubnet(ctx, sc, ops.CreateSubnetInput{VpcID: in.VpcID, CidrBlock: in.CidrBlock,
		AvailabilityZone: in.AvailabilityZone, AvailabilityZoneID: in.AvailabilityZoneID, Tags: specsFromWire(in.TagSpecifications)})
	if err != nil {
		return nil, err
	}
	return &createSubnetOutput{Subnet: subnetToWire(ops.SubnetView{Subnet: s, AvailableIPAddressCount: s.Size() - model.SubnetReservedIPs})}, nil
}

type describeSubnetsInput struct {
	SubnetIDs  []string `query:"SubnetId"`
	Filters    []filter `query:"Filter"`
	MaxResults *int32   `query:"MaxResults"`
	NextToken  string   `query:"NextToken"`
}

type describeSubnetsOutput struct {
	Subnets   []Subnet `xml:"subnetSet>item"`
	NextToken string   `xml:"nextToken,omitempty"`
}

func (h *handler) describeSubnets(ctx context.Context, sc model.Scope, in *describeSubnetsInput) (*describeSubnetsOutput, error) {
	subnets, next, err := h.ops.DescribeSubnets(ctx, sc, in.SubnetIDs, filtersFromWire(in.Filters), paging(in.MaxResults, in.NextToken))
	if err != nil {
		return nil, err
	}
	out := &describeSubnetsOutput{NextToken: next, Subnets: make([]Subnet, len(subnets))}
	for i, s := range subnets {
		out.Subnets[i] = subnetToWire(s)
	}
	return out, nil
}

type subnetIDInput struct {
	SubnetID string `query:"SubnetId,required"`
}

func (h *handler) deleteSubnet(ctx context.Context, sc model.Scope, in *subnetIDInput) (*returnOutput, error) {
	if err := h.ops.DeleteSubnet(ctx, sc, in.SubnetID); err != nil {
		return nil, err
	}
	return ok, nil
}

type modifySubnetAttributeInput struct {
	SubnetID            string                 `query:"SubnetId,required"`
	MapPublicIPOnLaunch *AttributeBooleanValue `query:"MapPublicIpOnLaunch"`
}

func (h *handler) modifySubnetAttribute(ctx context.Context, sc model.Scope, in *modifySubnetAttributeInput) (*returnOutput, error) {
	if err := h.ops.ModifySubnetAttribute(ctx, sc, in.SubnetID, boolOf(in.MapPublicIPOnLaunch)); err != nil {
		return nil, err
	}
	return ok, nil
}
