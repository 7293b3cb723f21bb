package ops

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/netip"
	"slices"
	"time"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/store"
)

// CreateInternetGateway creates a detached internet gateway.
func (e *EC2) CreateInternetGateway(ctx context.Context, sc model.Scope, specs []TagSpecification) (model.InternetGateway, error) {
	if err := e.EnsureDefaultVPC(ctx, sc); err != nil {
		return model.InternetGateway{}, err
	}
	tags, err := tagsFor(specs, "internet-gateway")
	if err != nil {
		return model.InternetGateway{}, err
	}
	g := model.InternetGateway{Scope: sc, ID: newEC2ID(model.PrefixInternetGateway), Tags: tags}
	_, err = e.store.InternetGateways().Create(ctx, g)
	return g, err
}

func (e *EC2) internetGateway(ctx context.Context, sc model.Scope, id string) (store.Versioned[model.InternetGateway], error) {
	if id == "" {
		return store.Versioned[model.InternetGateway]{}, missingParameter("InternetGatewayId")
	}
	g, err := e.store.InternetGateways().Get(ctx, sc, id)
	if apierr.KindOf(err) == apierr.NotFound {
		return g, ec2Errorf(apierr.NotFound, CodeInternetGatewayNotFound, "The internetGateway ID '%s' does not exist", id)
	}
	return g, err
}

// AttachInternetGateway attaches a gateway to a VPC. A gateway attached anywhere, or a VPC that
// has one already, is Resource.AlreadyAssociated.
func (e *EC2) AttachInternetGateway(ctx context.Context, sc model.Scope, igwID, vpcID string) error {
	if err := e.EnsureDefaultVPC(ctx, sc); err != nil {
		return err
	}
	return fenced(ctx, func() error {
		g, err := e.internetGateway(ctx, sc, igwID)
		if err != nil {
			return err
		}
		vpc, err := e.vpc(ctx, sc, vpcID)
		if err != nil {
			return err
		}
		if g.Value.VpcID != "" {
			return ec2Errorf(apierr.ResourceInUse, CodeAlreadyAssociated, "resource %s is already attached to network %s", igwID, g.Value.VpcID)
		}
		all, err := e.store.InternetGateways().List(ctx, sc)
		if err != nil {
			return err
		}
		for _, o := range all {
			if o.Value.VpcID == vpcID {
				return ec2Errorf(apierr.ResourceInUse, CodeAlreadyAssociated, "Network %s already has an internet gateway attached", vpcID)
			}
		}
		g.Value.VpcID = vpcID
		w := &store.Write{}
		// Routes of the VPC left to this gateway by an earlier detach come back to life.
		if err := errors.Join(e.fence(w, vpc), e.store.InternetGateways().PutIn(w, g.Value, g.Revision),
			e.setRoutesStateIn(ctx, w, sc, vpcID, igwID, false)); err != nil {
			return err
		}
		_, err = e.store.Commit(ctx, w)
		return err
	})
}

// DetachInternetGateway detaches a gateway from the VPC it is attached to (Gateway.NotAttached
// otherwise).
func (e *EC2) DetachInternetGateway(ctx context.Context, sc model.Scope, igwID, vpcID string) error {
	if err := e.EnsureDefaultVPC(ctx, sc); err != nil {
		return err
	}
	return fenced(ctx, func() error {
		g, err := e.internetGateway(ctx, sc, igwID)
		if err != nil {
			return err
		}
		vpc, err := e.vpc(ctx, sc, vpcID)
		if err != nil {
			return err
		}
		if g.Value.VpcID != vpcID {
			return ec2Errorf(apierr.InvalidParameter, CodeGatewayNotAttached, "resource %s is not attached to network %s", igwID, vpcID)
		}
		// As on AWS: not while an interface of the VPC has a public address.
		enis, err := e.store.NetworkInterfaces().List(ctx, sc)
		if err != nil {
			return err
		}
		if slices.ContainsFunc(enis, func(n store.Versioned[model.NetworkInterface]) bool {
			return n.Value.VpcID == vpcID && n.Value.PublicIP != ""
		}) {
			return ec2Errorf(apierr.ResourceInUse, CodeDependencyViolation,
				"Network %s has some mapped public address(es). Please unmap those public address(es) before detaching the gateway.", vpcID)
		}
		g.Value.VpcID = ""
		w := &store.Write{}
		// As on AWS, the VPC's routes to the gateway stay, as blackholes.
		if err := errors.Join(e.fence(w, vpc), e.store.InternetGateways().PutIn(w, g.Value, g.Revision),
			e.setRoutesStateIn(ctx, w, sc, vpcID, igwID, true)); err != nil {
			return err
		}
		_, err = e.store.Commit(ctx, w)
		return err
	})
}

var igwFilters = filterSpec[model.InternetGateway]{
	"internet-gateway-id": func(g model.InternetGateway) []string { return []string{g.ID} },
	"attachment.vpc-id":   func(g model.InternetGateway) []string { return nonEmpty(g.VpcID) },
	"attachment.state": func(g model.InternetGateway) []string {
		if g.VpcID == "" {
			return nil
		}
		return []string{model.StateAvailable}
	},
	"owner-id": func(g model.InternetGateway) []string { return []string{g.Scope.Account} },
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

// DescribeInternetGateways lists the gateways named by ids (all when empty) that match filters.
func (e *EC2) DescribeInternetGateways(ctx context.Context, sc model.Scope, ids []string, filters []Filter, p Paging) ([]model.InternetGateway, string, error) {
	if err := e.EnsureDefaultVPC(ctx, sc); err != nil {
		return nil, "", err
	}
	all, err := e.store.InternetGateways().List(ctx, sc)
	if err != nil {
		return nil, "", err
	}
	id := func(g model.InternetGateway) string { return g.ID }
	gws, err := byIDs(values(all), id, ids, func(i string) error {
		return ec2Errorf(apierr.NotFound, CodeInternetGatewayNotFound, "The internetGateway ID '%s' does not exist", i)
	})
	if err != nil {
		return nil, "", err
	}
	if gws, err = applyFilters(igwFilters, func(g model.InternetGateway) []model.Tag { return g.Tags }, filters, gws); err != nil {
		return nil, "", err
	}
	return paginate(gws, id, p)
}

// publicPools are where elastic IPs come from: the documentation ranges TEST-NET-2 and
// TEST-NET-3 (RFC 5737), never routed, so an address is only ever an id and a number.
var publicPools = []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24"), netip.MustParsePrefix("203.0.113.0/24")}

// AllocateAddress allocates an elastic IP from the documentation ranges.
func (e *EC2) AllocateAddress(ctx context.Context, sc model.Scope, domain string, specs []TagSpecification) (model.ElasticIP, error) {
	if err := e.EnsureDefaultVPC(ctx, sc); err != nil {
		return model.ElasticIP{}, err
	}
	switch domain {
	case "":
		domain = "vpc"
	case "vpc", "standard":
	default:
		return model.ElasticIP{}, invalidValue("Value (%s) for parameter domain is invalid. Valid values are vpc, standard.", domain)
	}
	tags, err := tagsFor(specs, "elastic-ip")
	if err != nil {
		return model.ElasticIP{}, err
	}
	for range 20 { // another allocation may take the address we picked: pick again
		ip, err := e.freeAddress(ctx, sc)
		if err != nil {
			return model.ElasticIP{}, err
		}
		a := model.ElasticIP{Scope: sc, AllocationID: newEC2ID(model.PrefixAllocation), PublicIP: ip, Domain: domain, Tags: tags}
		_, err = e.store.ElasticIPs().Create(ctx, a)
		if apierr.KindOf(err) != apierr.AlreadyExists {
			return a, err
		}
	}
	return model.ElasticIP{}, ec2Errorf(apierr.LimitExceeded, CodeAddressLimitExceeded, "The maximum number of addresses has been reached.")
}

// freeAddress picks a random unallocated host address of the pools.
func (e *EC2) freeAddress(ctx context.Context, sc model.Scope) (string, error) {
	all, err := e.store.ElasticIPs().List(ctx, sc)
	if err != nil {
		return "", err
	}
	used := map[string]bool{}
	for _, a := range all {
		used[a.Value.PublicIP] = true
	}
	var free []string
	for _, p := range publicPools {
		for a := p.Addr().Next(); p.Contains(a) && a.As4()[3] != 255; a = a.Next() {
			if !used[a.String()] {
				free = append(free, a.String())
			}
		}
	}
	if len(free) == 0 {
		return "", ec2Errorf(apierr.LimitExceeded, CodeAddressLimitExceeded, "The maximum number of addresses has been reached.")
	}
	return free[rand.N(len(free))], nil
}

// address finds an elastic IP by allocation id.
func (e *EC2) address(ctx context.Context, sc model.Scope, allocationID string) (store.Versioned[model.ElasticIP], error) {
	all, err := e.store.ElasticIPs().List(ctx, sc)
	if err != nil {
		return store.Versioned[model.ElasticIP]{}, err
	}
	for _, a := range all {
		if a.Value.AllocationID == allocationID {
			return a, nil
		}
	}
	return store.Versioned[model.ElasticIP]{}, ec2Errorf(apierr.NotFound, CodeAllocationNotFound, "The allocation ID '%s' does not exist", allocationID)
}

// CreateNatGatewayInput is CreateNatGateway's parameters.
type CreateNatGatewayInput struct {
	SubnetID         string
	AllocationID     string
	ConnectivityType string // public (default) or private
	Tags             []TagSpecification
}

// CreateNatGateway creates a NAT gateway in a subnet, available at once; a public one takes an
// unassociated elastic IP.
func (e *EC2) CreateNatGateway(ctx context.Context, sc model.Scope, in CreateNatGatewayInput) (model.NatGateway, error) {
	if err := e.EnsureDefaultVPC(ctx, sc); err != nil {
		return model.NatGateway{}, err
	}
	if in.ConnectivityType == "" {
		in.ConnectivityType = "public"
	}
	switch {
	case in.SubnetID == "":
		return model.NatGateway{}, missingParameter("SubnetId")
	case in.ConnectivityType != "public" && in.ConnectivityType != "private":
		return model.NatGateway{}, invalidValue("Value (%s) for parameter connectivityType is invalid. Valid values are public, private.", in.ConnectivityType)
	case in.ConnectivityType == "public" && in.AllocationID == "":
		return model.NatGateway{}, missingParameter("AllocationId")
	}
	tags, err := tagsFor(in.Tags, "natgateway")
	if err != nil {
		return model.NatGateway{}, err
	}
	nat := model.NatGateway{Scope: sc, ID: newEC2ID(model.PrefixNatGateway), SubnetID: in.SubnetID, AllocationID: in.AllocationID,
		ConnectivityType: in.ConnectivityType, State: model.StateAvailable, Tags: tags, CreatedAt: e.now()}
	err = fenced(ctx, func() error {
		sub, err := e.subnet(ctx, sc, in.SubnetID)
		if err != nil {
			return err
		}
		vpc, err := e.vpc(ctx, sc, sub.Value.VpcID)
		if err != nil {
			return err
		}
		nat.VpcID = vpc.Value.ID
		w := &store.Write{}
		if err := e.fence(w, vpc); err != nil {
			return err
		}
		if in.AllocationID != "" {
			a, err := e.address(ctx, sc, in.AllocationID)
			if err != nil {
				return err
			}
			if a.Value.AssociatedWith != "" {
				return ec2Errorf(apierr.ResourceInUse, CodeAlreadyAssociated, "Elastic IP address [%s] is already associated", in.AllocationID)
			}
			a.Value.AssociatedWith, nat.PublicIP = nat.ID, a.Value.PublicIP
			if err := e.store.ElasticIPs().PutIn(w, a.Value, a.Revision); err != nil {
				return err
			}
		}
		if err := e.store.NatGateways().PutIn(w, nat, 0); err != nil {
			return err
		}
		_, err = e.store.Commit(ctx, w)
		return err
	})
	return nat, err
}

var natFilters = filterSpec[model.NatGateway]{
	"nat-gateway-id": func(n model.NatGateway) []string { return []string{n.ID} },
	"subnet-id":      func(n model.NatGateway) []string { return []string{n.SubnetID} },
	"vpc-id":         func(n model.NatGateway) []string { return []string{n.VpcID} },
	"state":          func(n model.NatGateway) []string { return []string{n.State} },
}

// DescribeNatGateways lists the NAT gateways named by ids (all when empty) that match filters.
func (e *EC2) DescribeNatGateways(ctx context.Context, sc model.Scope, ids []string, filters []Filter, p Paging) ([]model.NatGateway, string, error) {
	if err := e.EnsureDefaultVPC(ctx, sc); err != nil {
		return nil, "", err
	}
	all, err := e.store.NatGateways().List(ctx, sc)
	if err != nil {
		return nil, "", err
	}
	now := e.now()
	all = slices.DeleteFunc(all, func(n store.Versioned[model.NatGateway]) bool { return natExpired(n.Value, now) })
	id := func(n model.NatGateway) string { return n.ID }
	nats, err := byIDs(values(all), id, ids, func(i string) error {
		return ec2Errorf(apierr.NotFound, CodeNatGatewayNotFound, "NAT gateway %s was not found", i)
	})
	if err != nil {
		return nil, "", err
	}
	if nats, err = applyFilters(natFilters, func(n model.NatGateway) []model.Tag { return n.Tags }, filters, nats); err != nil {
		return nil, "", err
	}
	return paginate(nats, id, p)
}

// natDeletedVisible is how long DescribeNatGateways keeps showing a deleted NAT gateway, as
// AWS does (about an hour).
const natDeletedVisible = time.Hour

func natExpired(n model.NatGateway, now time.Time) bool {
	return n.State == model.StateDeleted && !n.DeletedAt.IsZero() && now.Sub(n.DeletedAt) > natDeletedVisible
}

func (e *EC2) natGateway(ctx context.Context, sc model.Scope, id string) (store.Versioned[model.NatGateway], error) {
	if id == "" {
		return store.Versioned[model.NatGateway]{}, missingParameter("NatGatewayId")
	}
	n, err := e.store.NatGateways().Get(ctx, sc, id)
	if apierr.KindOf(err) == apierr.NotFound || (err == nil && natExpired(n.Value, e.now())) {
		return n, ec2Errorf(apierr.NotFound, CodeNatGatewayNotFound, "NAT gateway %s was not found", id)
	}
	return n, err
}

// DeleteNatGateway deletes a NAT gateway: it goes to deleting, and in the same transaction
// gives its elastic IP back (free to associate again) and turns the VPC's routes to it into
// blackholes, so that no task of a subnet routed to it leaves the VPC any more; then it is
// deleted, and DescribeNatGateways shows it so for natDeletedVisible. Deleting a deleted gateway
// again succeeds, as on AWS.
func (e *EC2) DeleteNatGateway(ctx context.Context, sc model.Scope, id string) error {
	if err := e.EnsureDefaultVPC(ctx, sc); err != nil {
		return err
	}
	err := fenced(ctx, func() error {
		n, err := e.natGateway(ctx, sc, id)
		if err != nil || n.Value.State != model.StateAvailable {
			return err // deleting or deleted already: the second step below finishes it
		}
		vpc, err := e.vpc(ctx, sc, n.Value.VpcID)
		if err != nil {
			return err
		}
		w := &store.Write{}
		if err := errors.Join(e.fence(w, vpc), e.setRoutesStateIn(ctx, w, sc, n.Value.VpcID, id, true)); err != nil {
			return err
		}
		if n.Value.AllocationID != "" {
			a, err := e.address(ctx, sc, n.Value.AllocationID)
			switch {
			case apierr.KindOf(err) == apierr.NotFound:
			case err != nil:
				return err
			case a.Value.AssociatedWith == id:
				a.Value.AssociatedWith = ""
				if err := e.store.ElasticIPs().PutIn(w, a.Value, a.Revision); err != nil {
					return err
				}
			}
		}
		n.Value.State = model.StateDeleting
		if err := e.store.NatGateways().PutIn(w, n.Value, n.Revision); err != nil {
			return err
		}
		_, err = e.store.Commit(ctx, w)
		return err
	})
	if err != nil {
		return err
	}
	// Nothing is left to tear down (the data plane follows the route tables): deleting ends at once.
	now := e.now()
	_, err = e.store.NatGateways().Mutate(ctx, sc, id, func(n *model.NatGateway) error {
		if n.State == model.StateDeleting {
			n.State, n.DeletedAt = model.StateDeleted, now
		}
		return nil
	})
	return err
}

// Codes of ReleaseAddress's failures (kept here, beside their only user).
const (
	CodeAddressNotFound = "InvalidAddress.NotFound"
	CodeAddressInUse    = "InvalidIPAddress.InUse"
)

// ReleaseAddress gives an elastic IP back. One still associated (with a NAT gateway) is
// InvalidIPAddress.InUse, as on AWS.
func (e *EC2) ReleaseAddress(ctx context.Context, sc model.Scope, allocationID, publicIP string) error {
	if err := e.EnsureDefaultVPC(ctx, sc); err != nil {
		return err
	}
	var a store.Versioned[model.ElasticIP]
	var err error
	switch {
	case allocationID != "":
		a, err = e.address(ctx, sc, allocationID)
	case publicIP != "":
		a, err = e.store.ElasticIPs().Get(ctx, sc, publicIP)
		if apierr.KindOf(err) == apierr.NotFound {
			err = ec2Errorf(apierr.NotFound, CodeAddressNotFound, "Address '%s' not found.", publicIP)
		}
	default:
		return missingParameter("AllocationId")
	}
	if err != nil {
		return err
	}
	if a.Value.AssociatedWith != "" {
		return ec2Errorf(apierr.ResourceInUse, CodeAddressInUse, "Address %s is in use.", a.Value.PublicIP)
	}
	w := &store.Write{}
	e.store.ElasticIPs().DeleteIn(w, a.Value, a.Revision)
	_, err = e.store.Commit(ctx, w)
	return err
}
