package ec2

import (
	"context"

	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/ops"
)

// RouteTable is EC2's route table shape.
type RouteTable struct {
	RouteTableID string                  `xml:"routeTableId"`
	VpcID        string                  `xml:"vpcId"`
	OwnerID      string                  `xml:"ownerId"`
	Routes       []Route                 `xml:"routeSet>item"`
	Associations []RouteTableAssociation `xml:"associationSet>item"`
	Tags         []Tag                   `xml:"tagSet>item"`
}

// Route is one route of a table.
type Route struct {
	DestinationCidrBlock string `xml:"destinationCidrBlock"`
	GatewayID            string `xml:"gatewayId,omitempty"`
	NatGatewayID         string `xml:"natGatewayId,omitempty"`
	Origin               string `xml:"origin"`
	State                string `xml:"state"`
}

// RouteTableAssociation ties a subnet, or the VPC as its main table, to a route table.
type RouteTableAssociation struct {
	Main                    bool             `xml:"main"`
	RouteTableAssociationID string           `xml:"routeTableAssociationId"`
	RouteTableID            string           `xml:"routeTableId"`
	SubnetID                string           `xml:"subnetId,omitempty"`
	AssociationState        AssociationState `xml:"associationState"`
}

// AssociationState is the state of a route table association.
type AssociationState struct {
	State string `xml:"state"`
}

func routeTableToWire(t model.RouteTable) RouteTable {
	w := RouteTable{RouteTableID: t.ID, VpcID: t.VpcID, OwnerID: t.Scope.Account, Tags: tagsToWire(t.Tags)}
	for _, r := range t.Routes {
		w.Routes = append(w.Routes, Route{DestinationCidrBlock: r.DestinationCidrBlock, GatewayID: r.GatewayID,
			NatGatewayID: r.NatGatewayID, Origin: r.Origin, State: r.State()})
	}
	for _, a := range t.Associations {
		w.Associations = append(w.Associations, RouteTableAssociation{Main: a.Main, RouteTableAssociationID: a.ID,
			RouteTableID: t.ID, SubnetID: a.SubnetID, AssociationState: AssociationState{State: "associated"}})
	}
	return w
}

type createRouteTableInput struct {
	VpcID             string             `query:"VpcId,required"`
	ClientToken       string             `query:"ClientToken"`
	TagSpecifications []tagSpecification `query:"TagSpecification"`
}

type createRouteTableOutput struct {
	RouteTable  RouteTable `xml:"routeTable"`
	ClientToken string     `xml:"clientToken,omitempty"`
}

func (h *handler) createRouteTable(ctx context.Context, sc model.Scope, in *createRouteTableInput) (*createRouteTableOutput, error) {
	t, err := h.ops.CreateRouteTable(ctx, sc, in.VpcID, specsFromWire(in.TagSpecifications))
	if err != nil {
		return nil, err
	}
	return &createRouteTableOutput{RouteTable: routeTableToWire(t), ClientToken: in.ClientToken}, nil
}

type createRouteInput struct {
	RouteTableID         string `query:"RouteTableId,required"`
	DestinationCidrBlock string `query:"DestinationCidrBlock"`
	GatewayID            string `query:"GatewayId"`
	NatGatewayID         string `query:"NatGatewayId"`
}

func (h *handler) createRoute(ctx context.Context, sc model.Scope, in *createRouteInput) (*returnOutput, error) {
	if err := h.ops.CreateRoute(ctx, sc, ops.RouteInput(*in)); err != nil {
		return nil, err
	}
	return ok, nil
}

type associateRouteTableInput struct {
	RouteTableID string `query:"RouteTableId,required"`
	SubnetID     string `query:"SubnetId,required"`
}

type associateRouteTableOutput struct {
	AssociationID    string           `xml:"associationId"`
	AssociationState AssociationState `xml:"associationState"`
}

func (h *handler) associateRouteTable(ctx context.Context, sc model.Scope, in *associateRouteTableInput) (*associateRouteTableOutput, error) {
	id, err := h.ops.AssociateRouteTable(ctx, sc, in.RouteTableID, in.SubnetID)
	if err != nil {
		return nil, err
	}
	return &associateRouteTableOutput{AssociationID: id, AssociationState: AssociationState{State: "associated"}}, nil
}

type describeRouteTablesInput struct {
	RouteTableIDs []string `query:"RouteTableId"`
	Filters       []filter `query:"Filter"`
	MaxResults    *int32   `query:"MaxResults"`
	NextToken     string   `query:"NextToken"`
}

type describeRouteTablesOutput struct {
	RouteTables []RouteTable `xml:"routeTableSet>item"`
	NextToken   string       `xml:"nextToken,omitempty"`
}

func (h *handler) describeRouteTables(ctx context.Context, sc model.Scope, in *describeRouteTablesInput) (*describeRouteTablesOutput, error) {
	tables, next, err := h.ops.DescribeRouteTables(ctx, sc, in.RouteTableIDs, filtersFromWire(in.Filters), paging(in.MaxResults, in.NextToken))
	if err != nil {
		return nil, err
	}
	out := &describeRouteTablesOutput{NextToken: next, RouteTables: make([]RouteTable, len(tables))}
	for i, t := range tables {
		out.RouteTables[i] = routeTableToWire(t)
	}
	return out, nil
}

type deleteRouteTableInput struct {
	RouteTableID string `query:"RouteTableId,required"`
}

func (h *handler) deleteRouteTable(ctx context.Context, sc model.Scope, in *deleteRouteTableInput) (*returnOutput, error) {
	if err := h.ops.DeleteRouteTable(ctx, sc, in.RouteTableID); err != nil {
		return nil, err
	}
	return ok, nil
}
