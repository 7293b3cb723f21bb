package ec2

import (
	"context"

	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/ops"
)

type deleteRouteInput struct {
	RouteTableID         string `query:"RouteTableId,required"`
	DestinationCidrBlock string `query:"DestinationCidrBlock"`
}

func (h *handler) deleteRoute(ctx context.Context, sc model.Scope, in *deleteRouteInput) (*returnOutput, error) {
	if err := h.ops.DeleteRoute(ctx, sc, in.RouteTableID, in.DestinationCidrBlock); err != nil {
		return nil, err
	}
	return ok, nil
}

func (h *handler) replaceRoute(ctx context.Context, sc model.Scope, in *createRouteInput) (*returnOutput, error) {
	if err := h.ops.ReplaceRoute(ctx, sc, ops.RouteInput(*in)); err != nil {
		return nil, err
	}
	return ok, nil
}

type disassociateRouteTableInput struct {
	AssociationID string `query:"AssociationId,required"`
}

func (h *handler) disassociateRouteTable(ctx context.Context, sc model.Scope, in *disassociateRouteTableInput) (*returnOutput, error) {
	if err := h.ops.DisassociateRouteTable(ctx, sc, in.AssociationID); err != nil {
		return nil, err
	}
	return ok, nil
}

type deleteInternetGatewayInput struct {
	InternetGatewayID string `query:"InternetGatewayId,required"`
}

func (h *handler) deleteInternetGateway(ctx context.Context, sc model.Scope, in *deleteInternetGatewayInput) (*returnOutput, error) {
	if err := h.ops.DeleteInternetGateway(ctx, sc, in.InternetGatewayID); err != nil {
		return nil, err
	}
	return ok, nil
}

// Address is EC2's elastic IP shape.
type Address struct {
	AllocationID            string `xml:"allocationId"`
	PublicIP                string `xml:"publicIp"`
	Domain                  string `xml:"domain"`
	PublicIpv4Pool          string `xml:"publicIpv4Pool"`
	NetworkBorderGroup      string `xml:"networkBorderGroup"`
	NetworkInterfaceOwnerID string `xml:"networkInterfaceOwnerId,omitempty"`
	Tags                    []Tag  `xml:"tagSet>item"`
}

func addressToWire(a model.ElasticIP) Address {
	w := Address{AllocationID: a.AllocationID, PublicIP: a.PublicIP, Domain: a.Domain, PublicIpv4Pool: "amazon",
		NetworkBorderGroup: a.Scope.Region, Tags: tagsToWire(a.Tags)}
	if a.AssociatedWith != "" { // a NAT gateway's, in this account
		w.NetworkInterfaceOwnerID = a.Scope.Account
	}
	return w
}

type describeAddressesInput struct {
	AllocationIDs []string `query:"AllocationId"`
	PublicIPs     []string `query:"PublicIp"`
	Filters       []filter `query:"Filter"`
}

type describeAddressesOutput struct {
	Addresses []Address `xml:"addressesSet>item"`
}

func (h *handler) describeAddresses(ctx context.Context, sc model.Scope, in *describeAddressesInput) (*describeAddressesOutput, error) {
	addrs, err := h.ops.DescribeAddresses(ctx, sc, in.AllocationIDs, in.PublicIPs, filtersFromWire(in.Filters))
	if err != nil {
		return nil, err
	}
	out := &describeAddressesOutput{Addresses: make([]Address, len(addrs))}
	for i, a := range addrs {
		out.Addresses[i] = addressToWire(a)
	}
	return out, nil
}
