package ops

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/store"
)

func (e *EC2) routeTable(ctx context.Context, sc model.Scope, id string) (store.Versioned[model.RouteTable], error) {
	if id == "" {
		return store.Versioned[model.RouteTable]{}, missingParameter("RouteTableId")
	}
	t, err := e.store.RouteTables().Get(ctx, sc, id)
	if apierr.KindOf(err) == apierr.NotFound {
		return t, ec2Errorf(apierr.NotFound, CodeRouteTableNotFound, "The routeTable ID '%s' does not exist", id)
	}
	return t, err
}

// CreateRouteTable creates a route table in a VPC with the VPC's local route.
func (e *EC2) CreateRouteTable(ctx context.Context, sc model.Scope, vpcID string, specs []TagSpecification) (model.RouteTable, error) {
	if err := e.EnsureDefaultVPC(ctx, sc); err != nil {
		return model.RouteTable{}, err
	}
	tags, err := tagsFor(specs, "route-table")
	if err != nil {
		return model.RouteTable{}, err
	}
	var rt model.RouteTable
	err = fenced(ctx, func() error {
		vpc, err := e.vpc(ctx, sc, vpcID)
		if err != nil {
			return err
		}
		rt = model.RouteTable{Scope: sc, ID: newEC2ID(model.PrefixRouteTable), VpcID: vpcID, Tags: tags,
			Routes: []model.Route{{DestinationCidrBlock: vpc.Value.CidrBlock, GatewayID: model.RouteTargetLocal, Origin: model.RouteOriginCreateTable}}}
		w := &store.Write{}
		if err := errors.Join(e.fence(w, vpc), e.store.RouteTables().PutIn(w, rt, 0)); err != nil {
			return err
		}
		_, err = e.store.Commit(ctx, w)
		return err
	})
	return rt, err
}

// RouteInput is CreateRoute's parameters: a destination and one target.
type RouteInput struct {
	RouteTableID         string
	DestinationCidrBlock string
	GatewayID            string
	NatGatewayID         string
}

// CreateRoute adds a route to an internet gateway attached to the table's VPC, or to a NAT
// gateway in it. A destination the table routes already is RouteAlreadyExists.
func (e *EC2) CreateRoute(ctx context.Context, sc model.Scope, in RouteInput) error {
	if err := e.EnsureDefaultVPC(ctx, sc); err != nil {
		return err
	}
	dest, err := in.destination()
	if err != nil {
		return err
	}
	return e.changeRoutes(ctx, sc, in.RouteTableID, func(rt *model.RouteTable) error {
		if err := e.checkTarget(ctx, sc, *rt, in); err != nil {
			return err
		}
		if routeTo(*rt, dest) >= 0 {
			return ec2Errorf(apierr.AlreadyExists, CodeRouteAlreadyExists, "The route identified by %s already exists.", dest)
		}
		rt.Routes = append(slices.Clone(rt.Routes), in.route(dest))
		return nil
	})
}

// destination checks a route's destination and that it names exactly one target, and returns
// the destination as the table writes it.
func (in RouteInput) destination() (string, error) {
	dest, err := parseDestination(in.DestinationCidrBlock)
	if err != nil {
		return "", err
	}
	if (in.GatewayID == "") == (in.NatGatewayID == "") {
		return "", ec2Errorf(apierr.InvalidParameter, CodeInvalidParameterCombination, "The request must contain exactly one of gatewayId, natGatewayId")
	}
	return dest, nil
}

// parseDestination checks a route's destination and returns it as the table writes it.
func parseDestination(s string) (string, error) {
	if s == "" {
		return "", missingParameter("DestinationCidrBlock")
	}
	dest, err := parseCIDR(s, "destinationCidrBlock")
	if err != nil {
		return "", err
	}
	return dest.String(), nil
}

// routeTo is the index of the table's route to dest, or -1.
func routeTo(rt model.RouteTable, dest string) int {
	return slices.IndexFunc(rt.Routes, func(r model.Route) bool { return r.DestinationCidrBlock == dest })
}

// route is the route in asks for, to dest.
func (in RouteInput) route(dest string) model.Route {
	return model.Route{DestinationCidrBlock: dest, GatewayID: in.GatewayID, NatGatewayID: in.NatGatewayID,
		Origin: model.RouteOriginCreateRoute}
}

// checkTarget checks that a route's target exists and belongs to the table's VPC.
func (e *EC2) checkTarget(ctx context.Context, sc model.Scope, rt model.RouteTable, in RouteInput) error {
	otherNetwork := func(target string) error {
		return invalidValue("route table %s and network gateway %s belong to different networks", rt.ID, target)
	}
	if in.NatGatewayID != "" {
		n, err := e.store.NatGateways().Get(ctx, sc, in.NatGatewayID)
		// A deleting or deleted gateway takes no new routes: it is as good as gone.
		if apierr.KindOf(err) == apierr.NotFound || (err == nil && n.Value.State != model.StateAvailable) {
			return ec2Errorf(apierr.NotFound, CodeNatGatewayNotFound, "NAT gateway %s was not found", in.NatGatewayID)
		}
		if err == nil && n.Value.VpcID != rt.VpcID {
			return otherNetwork(in.NatGatewayID)
		}
		return err
	}
	if !strings.HasPrefix(in.GatewayID, model.PrefixInternetGateway) {
		return ec2Errorf(apierr.NotFound, CodeGatewayNotFound, "The gateway ID '%s' does not exist", in.GatewayID)
	}
	g, err := e.store.InternetGateways().Get(ctx, sc, in.GatewayID)
	if apierr.KindOf(err) == apierr.NotFound {
		return ec2Errorf(apierr.NotFound, CodeGatewayNotFound, "The gateway ID '%s' does not exist", in.GatewayID)
	}
	if err == nil && g.Value.VpcID != rt.VpcID {
		return otherNetwork(in.GatewayID)
	}
	return err
}

// AssociateRouteTable associates a subnet of the table's VPC with the table and returns the
// association id; a subnet associated with another table already is Resource.AlreadyAssociated.
func (e *EC2) AssociateRouteTable(ctx context.Context, sc model.Scope, rtbID, subnetID string) (string, error) {
	if err := e.EnsureDefaultVPC(ctx, sc); err != nil {
		return "", err
	}
	assoc := newEC2ID(model.PrefixRouteAssociation)
	err := e.changeRoutes(ctx, sc, rtbID, func(rt *model.RouteTable) error {
		sub, err := e.subnet(ctx, sc, subnetID)
		if err != nil {
			return err
		}
		if sub.Value.VpcID != rt.VpcID {
			return invalidValue("Route table %s and subnet %s belong to different networks", rtbID, subnetID)
		}
		tables, err := e.store.RouteTables().List(ctx, sc)
		if err != nil {
			return err
		}
		for _, t := range tables {
			for _, a := range t.Value.Associations {
				if a.SubnetID == subnetID {
					return ec2Errorf(apierr.ResourceInUse, CodeAlreadyAssociated, "the specified association for route table %s conflicts with an existing association", rtbID)
				}
			}
		}
		rt.Associations = append(slices.Clone(rt.Associations), model.RouteTableAssociation{ID: assoc, SubnetID: subnetID})
		return nil
	})
	return assoc, err
}

// changeRoutes applies fn to a route table and writes it, fenced on its VPC like every change of
// a VPC's routing.
func (e *EC2) changeRoutes(ctx context.Context, sc model.Scope, rtbID string, fn func(*model.RouteTable) error) error {
	return fenced(ctx, func() error {
		rt, err := e.routeTable(ctx, sc, rtbID)
		if err != nil {
			return err
		}
		vpc, err := e.vpc(ctx, sc, rt.Value.VpcID)
		if err != nil {
			return err
		}
		if err := fn(&rt.Value); err != nil {
			return err
		}
		w := &store.Write{}
		if err := errors.Join(e.fence(w, vpc), e.store.RouteTables().PutIn(w, rt.Value, rt.Revision)); err != nil {
			return err
		}
		_, err = e.store.Commit(ctx, w)
		return err
	})
}

func routeValues(t model.RouteTable, f func(model.Route) string) []string {
	var out []string
	for _, r := range t.Routes {
		if v := f(r); v != "" {
			out = append(out, v)
		}
	}
	return out
}

func assocValues(t model.RouteTable, f func(model.RouteTableAssociation) string) []string {
	var out []string
	for _, a := range t.Associations {
		if v := f(a); v != "" {
			out = append(out, v)
		}
	}
	return out
}

var routeTableFilters = filterSpec[model.RouteTable]{
	"route-table-id": func(t model.RouteTable) []string { return []string{t.ID} },
	"vpc-id":         func(t model.RouteTable) []string { return []string{t.VpcID} },
	"owner-id":       func(t model.RouteTable) []string { return []string{t.Scope.Account} },
	"association.subnet-id": func(t model.RouteTable) []string {
		return assocValues(t, func(a model.RouteTableAssociation) string { return a.SubnetID })
	},
	"association.route-table-association-id": func(t model.RouteTable) []string {
		return assocValues(t, func(a model.RouteTableAssociation) string { return a.ID })
	},
	"association.main": func(t model.RouteTable) []string {
		return assocValues(t, func(a model.RouteTableAssociation) string { return boolValues(a.Main)[0] })
	},
	"route.destination-cidr-block": func(t model.RouteTable) []string {
		return routeValues(t, func(r model.Route) string { return r.DestinationCidrBlock })
	},
	"route.gateway-id": func(t model.RouteTable) []string {
		return routeValues(t, func(r model.Route) string { return r.GatewayID })
	},
	"route.nat-gateway-id": func(t model.RouteTable) []string {
		return routeValues(t, func(r model.Route) string { return r.NatGatewayID })
	},
	"route.origin": func(t model.RouteTable) []string {
		return routeValues(t, func(r model.Route) string { return r.Origin })
	},
	"route.state": func(t model.RouteTable) []string {
		return routeValues(t, func(r model.Route) string { return r.State() })
	},
	"association.route-table-id": func(t model.RouteTable) []string {
		return assocValues(t, func(model.RouteTableAssociation) string { return t.ID })
	},
	// Gateway route tables (edge associations) do not exist here.
	"association.gateway-id": func(model.RouteTable) []string { return nil },
}

// DescribeRouteTables lists the route tables named by ids (all when empty) that match filters.
func (e *EC2) DescribeRouteTables(ctx context.Context, sc model.Scope, ids []string, filters []Filter, p Paging) ([]model.RouteTable, string, error) {
	if err := e.EnsureDefaultVPC(ctx, sc); err != nil {
		return nil, "", err
	}
	all, err := e.store.RouteTables().List(ctx, sc)
	if err != nil {
		return nil, "", err
	}
	id := func(t model.RouteTable) string { return t.ID }
	tables, err := byIDs(values(all), id, ids, func(i string) error {
		return ec2Errorf(apierr.NotFound, CodeRouteTableNotFound, "The routeTable ID '%s' does not exist", i)
	})
	if err != nil {
		return nil, "", err
	}
	if tables, err = applyFilters(routeTableFilters, func(t model.RouteTable) []model.Tag { return t.Tags }, filters, tables); err != nil {
		return nil, "", err
	}
	return paginate(tables, id, p)
}

// setRoutesStateIn adds to w the route tables of vpcID whose routes to target (an internet or
// NAT gateway id) change state: blackhole when the gateway stops carrying traffic (detached,
// deleted), active again when it carries it again (attached). The tables change in the same
// transaction as the gateway, so the VPC's hosts, which follow the route tables, see both at once.
func (e *EC2) setRoutesStateIn(ctx context.Context, w *store.Write, sc model.Scope, vpcID, target string, blackhole bool) error {
	tables, err := e.store.RouteTables().List(ctx, sc)
	if err != nil {
		return err
	}
	for _, t := range tables {
		if t.Value.VpcID != vpcID {
			continue
		}
		rt, changed := t.Value, false
		rt.Routes = slices.Clone(rt.Routes)
		for i, r := range rt.Routes {
			if r.Target() == target && r.Blackhole != blackhole {
				rt.Routes[i].Blackhole, changed = blackhole, true
			}
		}
		if !changed {
			continue
		}
		if err := e.store.RouteTables().PutIn(w, rt, t.Revision); err != nil {
			return err
		}
	}
	return nil
}

// DeleteRouteTable deletes a route table that is not its VPC's main table and routes no subnet
// (DependencyViolation otherwise).
func (e *EC2) DeleteRouteTable(ctx context.Context, sc model.Scope, id string) error {
	if err := e.EnsureDefaultVPC(ctx, sc); err != nil {
		return err
	}
	return fenced(ctx, func() error {
		rt, err := e.routeTable(ctx, sc, id)
		if err != nil {
			return err
		}
		if rt.Value.Main || len(rt.Value.Associations) > 0 {
			return ec2Errorf(apierr.ResourceInUse, CodeDependencyViolation, "The routeTable '%s' has dependencies and cannot be deleted.", id)
		}
		vpc, err := e.vpc(ctx, sc, rt.Value.VpcID)
		if err != nil {
			return err
		}
		w := &store.Write{}
		if err := e.fence(w, vpc); err != nil {
			return err
		}
		e.store.RouteTables().DeleteIn(w, rt.Value, rt.Revision)
		_, err = e.store.Commit(ctx, w)
		return err
	})
}
