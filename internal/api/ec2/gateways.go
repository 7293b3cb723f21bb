package ec2

import (
	"context"
	"time"

	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/ops"
)

// InternetGateway is EC2's internet gateway shape.
type InternetGateway struct {
	InternetGatewayID string                      `xml:"internetGatewayId"`
	OwnerID           string                      `xml:"ownerId"`
	Attachments       []InternetGatewayAttachment `xml:"attachmentSet>item"`
	Tags              []Tag                       `xml:"tagSet>item"`
}

// InternetGatewayAttachment is a gateway's VPC.
type InternetGatewayAttachment struct {
	State string `xml:"state"`
	VpcID string `xml:"vpcId"`
}

func igwToWire(g model.InternetGateway) InternetGateway {
	w := InternetGateway{InternetGatewayID: g.ID, OwnerID: g.Scope.Account, Tags: tagsToWire(g.Tags)}
	if g.VpcID != "" {
		w.Attachments = []InternetGatewayAttachment{{State: model.StateAvailable, VpcID: g.VpcID}}
	}
	return w
}

type tagSpecsInput struct {
	TagSpecifications []tagSpecification `query:"TagSpecification"`
}

type createInternetGatewayOutput struct {
	InternetGateway InternetGateway `xml:"internetGateway"`
}

func (h *handler) createInternetGateway(ctx context.Context, sc model.Scope, in *tagSpecsInput) (*createInternetGatewayOutput, error) {
	g, err := h.ops.CreateInternetGateway(ctx, sc, specsFromWire(in.TagSpecifications))
	if err != nil {
		return nil, err
	}
	return &createInternetGatewayOutput{InternetGateway: igwToWire(g)}, nil
}

type igwAttachInput struct {
	InternetGatewayID string `query:"InternetGatewayId,required"`
	VpcID             string `query:"VpcId,required"`
}

func (h *handler) attachInternetGateway(ctx context.Context, sc model.Scope, in *igwAttachInput) (*returnOutput, error) {
	if err := h.ops.AttachInternetGateway(ctx, sc, in.InternetGatewayID, in.VpcID); err != nil {
		return nil, err
	}
	return ok, nil
}

func (h *handler) detachInternetGateway(ctx context.Context, sc model.Scope, in *igwAttachInput) (*returnOutput, error) {
	if err := h.ops.DetachInternetGateway(ctx, sc, in.InternetGatewayID, in.VpcID); err != nil {
		return nil, err
	}
	return ok, nil
}

type describeInternetGatewaysInput struct {
	InternetGatewayIDs []string `query:"InternetGatewayId"`
	Filters            []filter `query:"Filter"`
	MaxResults         *int32   `query:"MaxResults"`
	NextToken          string   `query:"NextToken"`
}

type describeInternetGatewaysOutput struct {
	InternetGateways []InternetGateway `xml:"internetGatewaySet>item"`
	NextToken        string            `xml:"nextToken,omitempty"`
}

func (h *handler) describeInternetGateways(ctx context.Context, sc model.Scope, in *describeInternetGatewaysInput) (*describeInternetGatewaysOutput, error) {
	gws, next, err := h.ops.DescribeInternetGateways(ctx, sc, in.InternetGatewayIDs, filtersFromWire(in.Filters), paging(in.MaxResults, in.NextToken))
	if err != nil {
		return nil, err
	}
	out := &describeInternetGatewaysOutput{NextToken: next, InternetGateways: make([]InternetGateway, len(gws))}
	for i, g := range gws {
		out.InternetGateways[i] = igwToWire(g)
	}
	return out, nil
}

type allocateAddressInput struct {
	Domain            string             `query:"Domain"`
	TagSpecifications []tagSpecification `query:"TagSpecification"`
}

type allocateAddressOutput struct {
	PublicIP           string `xml:"publicIp"`
	AllocationID       string `xml:"allocationId"`
	Domain             string `xml:"domain"`
	PublicIpv4Pool     string `xml:"publicIpv4Pool"`
	NetworkBorderGroup string `xml:"networkBorderGroup"`
}

func (h *handler) allocateAddress(ctx context.Context, sc model.Scope, in *allocateAddressInput) (*allocateAddressOutput, error) {
	a, err := h.ops.AllocateAddress(ctx, sc, in.Domain, specsFromWire(in.TagSpecifications))
	if err != nil {
		return nil, err
	}
	return &allocateAddressOutput{PublicIP: a.PublicIP, AllocationID: a.AllocationID, Domain: a.Domain,
		PublicIpv4Pool: "amazon", NetworkBorderGroup: sc.Region}, nil
}

// NatGateway is EC2's NAT gateway shape.
type NatGateway struct {
	NatGatewayID     string              `xml:"natGatewayId"`
	SubnetID         string              `xml:"subnetId"`
	VpcID            string              `xml:"vpcId"`
	State            string              `xml:"state"`
	ConnectivityType string              `xml:"connectivityType"`
	CreateTime       time.Time           `xml:"createTime"`
	DeleteTime       *time.Time          `xml:"deleteTime,omitempty"`
	Addresses        []NatGatewayAddress `xml:"natGatewayAddressSet>item"`
	Tags             []Tag               `xml:"tagSet>item"`
}

// NatGatewayAddress is one address of a NAT gateway.
type NatGatewayAddress struct {
	AllocationID string `xml:"allocationId,omitempty"`
	PublicIP     string `xml:"publicIp,omitempty"`
	PrivateIP    string `xml:"privateIp,omitempty"`
	IsPrimary    bool   `xml:"isPrimary"`
	Status       string `xml:"status"`
}

func natToWire(n model.NatGateway) NatGateway {
	var deleted *time.Time
	if !n.DeletedAt.IsZero() {
		t := n.DeletedAt.UTC()
		deleted = &t
	}
	return NatGateway{DeleteTime: deleted, NatGatewayID: n.ID, SubnetID: n.SubnetID, VpcID: n.VpcID, State: n.State, ConnectivityType: n.ConnectivityType,
		CreateTime: n.CreatedAt.UTC(), Tags: tagsToWire(n.Tags),
		Addresses: []NatGatewayAddress{{AllocationID: n.AllocationID, PublicIP: n.PublicIP, PrivateIP: n.PrivateIP, IsPrimary: true, Status: "succeeded"}}}
}

type createNatGatewayInput struct {
	SubnetID          string             `query:"SubnetId,required"`
	AllocationID      string             `query:"AllocationId"`
	ConnectivityType  string             `query:"ConnectivityType"`
	ClientToken       string             `query:"ClientToken"`
	TagSpecifications []tagSpecification `query:"TagSpecification"`
}

type createNatGatewayOutput struct {
	ClientToken string     `xml:"clientToken,omitempty"`
	NatGateway  NatGateway `xml:"natGateway"`
}

func (h *handler) createNatGateway(ctx context.Context, sc model.Scope, in *createNatGatewayInput) (*createNatGatewayOutput, error) {
	n, err := h.ops.CreateNatGateway(ctx, sc, ops.CreateNatGatewayInput{SubnetID: in.SubnetID, AllocationID: in.AllocationID,
		ConnectivityType: in.ConnectivityType, Tags: specsFromWire(in.TagSpecifications)})
	if err != nil {
		return nil, err
	}
	return &createNatGatewayOutput{ClientToken: in.ClientToken, NatGateway: natToWire(n)}, nil
}

type describeNatGatewaysInput struct {
	NatGatewayIDs []string `query:"NatGatewayId"`
	Filters       []filter `query:"Filter"`
	MaxResults    *int32   `query:"MaxResults"`
	NextToken     string   `query:"NextToken"`
}

type describeNatGatewaysOutput struct {
	NatGateways []NatGateway `xml:"natGatewaySet>item"`
	NextToken   string       `xml:"nextToken,omitempty"`
}

func (h *handler) describeNatGateways(ctx context.Context, sc model.Scope, in *describeNatGatewaysInput) (*describeNatGatewaysOutput, error) {
	nats, next, err := h.ops.DescribeNatGateways(ctx, sc, in.NatGatewayIDs, filtersFromWire(in.Filters), paging(in.MaxResults, in.NextToken))
	if err != nil {
		return nil, err
	}
	out := &describeNatGatewaysOutput{NextToken: next, NatGateways: make([]NatGateway, len(nats))}
	for i, n := range nats {
		out.NatGateways[i] = natToWire(n)
	}
	return out, nil
}

type deleteNatGatewayInput struct {
	NatGatewayID string `query:"NatGatewayId,required"`
}

type deleteNatGatewayOutput struct {
	NatGatewayID string `xml:"natGatewayId"`
}

func (h *handler) deleteNatGateway(ctx context.Context, sc model.Scope, in *deleteNatGatewayInput) (*deleteNatGatewayOutput, error) {
	if err := h.ops.DeleteNatGateway(ctx, sc, in.NatGatewayID); err != nil {
		return nil, err
	}
	return &deleteNatGatewayOutput{NatGatewayID: in.NatGatewayID}, nil
}

type releaseAddressInput struct {
	AllocationID       string `query:"AllocationId"`
	PublicIP           string `query:"PublicIp"`
	NetworkBorderGroup string `query:"NetworkBorderGroup"`
}

func (h *handler) releaseAddress(ctx context.Context, sc model.Scope, in *releaseAddressInput) (*returnOutput, error) {
	if err := h.ops.ReleaseAddress(ctx, sc, in.AllocationID, in.PublicIP); err != nil {
		return nil, err
	}
	return ok, nil
}
