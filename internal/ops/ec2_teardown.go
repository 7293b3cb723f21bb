package ops

import (
	"context"
	"slices"
	"strings"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/store"
)

// The operations a VPC's teardown needs (terraform destroy, a script's cleanup), beside those
// that build it. Route changes reach running tasks as any route change does: hosts follow their
// VPC's routing, so a deleted default route takes a subnet's way out at once.

// Codes of the teardown operations' failures.
const (
	CodeRouteNotFound       = "InvalidRoute.NotFound"
	CodeAssociationNotFound = "InvalidAssociationID.NotFound"
)

// DeleteRoute deletes the route to a destination from a route table. The VPC's local route
// cannot go; a destination the table does not route is InvalidRoute.NotFound.
func (e *EC2) DeleteRoute(ctx context.Context, sc model.Scope, rtbID, destination string) error {
	if err := e.EnsureDefaultVPC(ctx, sc); err != nil {
		return err
	}
	dest, err := parseDestination(destination)
	if err != nil {
		return err
	}
	return e.changeRoutes(ctx, sc, rtbID, func(rt *model.RouteTable) error {
		i := routeTo(*rt, dest)
		if i < 0 {
			return ec2Errorf(apierr.NotFound, CodeRouteNotFound, "no route with destination-cidr-block %s in route table %s", dest, rtbID)
		}
		if rt.Routes[i].GatewayID == model.RouteTargetLocal {
			return invalidValue("cannot remove local route %s in route table %s", dest, rtbID)
		}
		rt.Routes = slices.Delete(slices.Clone(rt.Routes), i, i+1)
		return nil
	})
}

// ReplaceRoute points an existing route at another target: an internet gateway attached to the
// table's VPC, or a NAT gateway in it. The local route cannot be replaced; a destination the
// table does not route is InvalidParameterValue, as on AWS ("Use CreateRoute instead").
func (e *EC2) ReplaceRoute(ctx context.Context, sc model.Scope, in RouteInput) error {
	if err := e.EnsureDefaultVPC(ctx, sc); err != nil {
		return err
	}
	dest, err := in.destination()
	if err != nil {
		return err
	}
	return e.changeRoutes(ctx, sc, in.RouteTableID, func(rt *model.RouteTable) error {
		i := routeTo(*rt, dest)
		if i < 0 {
			return invalidValue("There is no route defined for '%s' in the route table. Use CreateRoute instead.", dest)
		}
		if rt.Routes[i].GatewayID == model.RouteTargetLocal {
			return invalidValue("cannot replace local route %s in route table %s", dest, rt.ID)
		}
		if err := e.checkTarget(ctx, sc, *rt, in); err != nil {
			return err
		}
		rt.Routes = slices.Clone(rt.Routes)
		rt.Routes[i] = in.route(dest)
		return nil
	})
}

// DisassociateRouteTable removes a subnet's association with a route table: the subnet falls
// back to its VPC's main table. The main table's own association cannot be removed.
func (e *EC2) DisassociateRouteTable(ctx context.Context, sc model.Scope, associationID string) error {
	if err := e.EnsureDefaultVPC(ctx, sc); err != nil {
		return err
	}
	if associationID == "" {
		return missingParameter("AssociationId")
	}
	notFound := ec2Errorf(apierr.NotFound, CodeAssociationNotFound, "The association ID '%s' does not exist", associationID)
	tables, err := e.store.RouteTables().List(ctx, sc)
	if err != nil {
		return err
	}
	for _, t := range tables {
		i := slices.IndexFunc(t.Value.Associations, func(a model.RouteTableAssociation) bool { return a.ID == associationID })
		if i < 0 {
			continue
		}
		if t.Value.Associations[i].Main {
			return invalidValue("cannot disassociate the main route table association %s", associationID)
		}
		// An association never moves to another table: the fenced write re-reads this one.
		return e.changeRoutes(ctx, sc, t.Value.ID, func(rt *model.RouteTable) error {
			j := slices.IndexFunc(rt.Associations, func(a model.RouteTableAssociation) bool { return a.ID == associationID })
			if j < 0 {
				return notFound
			}
			rt.Associations = slices.Delete(slices.Clone(rt.Associations), j, j+1)
			return nil
		})
	}
	return notFound
}

// DeleteInternetGateway deletes a detached internet gateway; an attached one is
// DependencyViolation. Routes to it stay, as blackholes (they became so when it was detached).
func (e *EC2) DeleteInternetGateway(ctx context.Context, sc model.Scope, igwID string) error {
	if err := e.EnsureDefaultVPC(ctx, sc); err != nil {
		return err
	}
	if igwID == "" {
		return missingParameter("InternetGatewayId")
	}
	g, err := e.internetGateway(ctx, sc, igwID)
	if err != nil {
		return err
	}
	if g.Value.VpcID != "" {
		return ec2Errorf(apierr.ResourceInUse, CodeDependencyViolation, "The internetGateway '%s' has dependencies and cannot be deleted.", igwID)
	}
	w := &store.Write{}
	e.store.InternetGateways().DeleteIn(w, g.Value, g.Revision)
	_, err = e.store.Commit(ctx, w)
	return err
}

var addressFilters = filterSpec[model.ElasticIP]{
	"allocation-id":        func(a model.ElasticIP) []string { return []string{a.AllocationID} },
	"public-ip":            func(a model.ElasticIP) []string { return []string{a.PublicIP} },
	"domain":               func(a model.ElasticIP) []string { return []string{a.Domain} },
	"network-border-group": func(a model.ElasticIP) []string { return []string{a.Scope.Region} },
}

// DescribeAddresses lists the elastic IPs named by allocation ids or public IPs (all when both
// are empty) that match filters. An unknown id is InvalidAllocationID.NotFound, an unknown
// address InvalidAddress.NotFound.
func (e *EC2) DescribeAddresses(ctx context.Context, sc model.Scope, allocationIDs, publicIPs []string, filters []Filter) ([]model.ElasticIP, error) {
	if err := e.EnsureDefaultVPC(ctx, sc); err != nil {
		return nil, err
	}
	all, err := e.store.ElasticIPs().List(ctx, sc)
	if err != nil {
		return nil, err
	}
	addrs := values(all)
	if len(allocationIDs) > 0 {
		if addrs, err = byIDs(addrs, func(a model.ElasticIP) string { return a.AllocationID }, allocationIDs, func(i string) error {
			return ec2Errorf(apierr.NotFound, CodeAllocationNotFound, "The allocation ID '%s' does not exist", i)
		}); err != nil {
			return nil, err
		}
	}
	if len(publicIPs) > 0 {
		if addrs, err = byIDs(addrs, func(a model.ElasticIP) string { return a.PublicIP }, publicIPs, func(i string) error {
			return ec2Errorf(apierr.NotFound, CodeAddressNotFound, "Address '%s' not found.", i)
		}); err != nil {
			return nil, err
		}
	}
	addrs, err = applyFilters(addressFilters, func(a model.ElasticIP) []model.Tag { return a.Tags }, filters, addrs)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(addrs, func(a, b model.ElasticIP) int { return strings.Compare(a.AllocationID, b.AllocationID) })
	return addrs, nil
}
