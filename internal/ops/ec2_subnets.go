package ops

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/store"
)

// fence adds to w a rewrite of vpc, unchanged, at the revision it was read: the commit then
// fails with apierr.Conflict if anything else in the VPC changed since (see store/vpcs.go).
func (e *EC2) fence(w *store.Write, vpc store.Versioned[model.Vpc]) error {
	return e.store.Vpcs().PutIn(w, vpc.Value, vpc.Revision)
}

// CreateSubnetInput is CreateSubnet's parameters.
type CreateSubnetInput struct {
	VpcID              string
	CidrBlock          string
	AvailabilityZone   string
	AvailabilityZoneID string
	Tags               []TagSpecification
}

// CreateSubnet creates a subnet in a VPC: its CIDR must lie inside the VPC's (InvalidSubnet.Range)
// and overlap no other subnet of the VPC (InvalidSubnet.Conflict).
func (e *EC2) CreateSubnet(ctx context.Context, sc model.Scope, in CreateSubnetInput) (model.Subnet, error) {
	if err := e.EnsureDefaultVPC(ctx, sc); err != nil {
		return model.Subnet{}, err
	}
	if in.VpcID == "" {
		return model.Subnet{}, missingParameter("VpcId")
	}
	if in.CidrBlock == "" {
		return model.Subnet{}, missingParameter("CidrBlock")
	}
	p, err := parseCIDR(in.CidrBlock, "cidrBlock")
	if err != nil {
		return model.Subnet{}, err
	}
	zone, err := subnetZone(sc.Region, in.AvailabilityZone, in.AvailabilityZoneID)
	if err != nil {
		return model.Subnet{}, err
	}
	tags, err := tagsFor(in.Tags, "subnet")
	if err != nil {
		return model.Subnet{}, err
	}
	sub := model.Subnet{Scope: sc, ID: newEC2ID(model.PrefixSubnet), VpcID: in.VpcID, CidrBlock: p.String(),
		AvailabilityZone: zone.Name, AvailabilityZoneID: zone.ZoneID, State: model.StateAvailable, Tags: tags, CreatedAt: e.now()}
	err = fenced(ctx, func() error {
		vpc, err := e.vpc(ctx, sc, in.VpcID)
		if err != nil {
			return err
		}
		vp := netip.MustParsePrefix(vpc.Value.CidrBlock)
		if p.Bits() < max(minPrefixLen, vp.Bits()) || p.Bits() > maxPrefixLen || !vp.Contains(p.Addr()) {
			return ec2Errorf(apierr.InvalidParameter, CodeSubnetRange, "The CIDR '%s' is invalid.", in.CidrBlock)
		}
		subnets, err := e.store.Subnets().List(ctx, sc)
		if err != nil {
			return err
		}
		for _, s := range subnets {
			if s.Value.VpcID == in.VpcID && netip.MustParsePrefix(s.Value.CidrBlock).Overlaps(p) {
				return ec2Errorf(apierr.InvalidParameter, CodeSubnetConflict, "The CIDR '%s' conflicts with another subnet", in.CidrBlock)
			}
		}
		w := &store.Write{}
		if err := errors.Join(e.fence(w, vpc), e.store.Subnets().PutIn(w, sub, 0)); err != nil {
			return err
		}
		_, err = e.store.Commit(ctx, w)
		return err
	})
	return sub, err
}

// subnetZone resolves a subnet's zone by name or id; neither is the region's first zone.
func subnetZone(region, name, id string) (model.AvailabilityZone, error) {
	zones := zonesOf(region)
	if name == "" && id == "" {
		return zones[0], nil
	}
	if name != "" && id != "" {
		return model.AvailabilityZone{}, ec2Errorf(apierr.InvalidParameter, CodeInvalidParameterCombination,
			"Only one of availabilityZone and availabilityZoneId may be specified")
	}
	names := make([]string, len(zones))
	for i, z := range zones {
		names[i] = z.Name
		if z.Name == name || z.ZoneID == id {
			return z, nil
		}
	}
	return model.AvailabilityZone{}, invalidValue("Value (%s) for parameter availabilityZone is invalid. Subnets can currently only be created in the following availability zones: %s.",
		name+id, strings.Join(names, ", "))
}

// availableIPs returns how many addresses of the subnet are free: its size less the five AWS
// reserves, less those the subnet's network interfaces and NAT gateways hold.
func availableIPs(s model.Subnet, used int) int {
	return max(0, s.Size()-model.SubnetReservedIPs-used)
}

// SubnetView is a subnet with its free address count.
type SubnetView struct {
	model.Subnet
	AvailableIPAddressCount int
}

var subnetFilters = filterSpec[SubnetView]{
	"subnet-id":                  func(s SubnetView) []string { return []string{s.ID} },
	"vpc-id":                     func(s SubnetView) []string { return []string{s.VpcID} },
	"availability-zone":          func(s SubnetView) []string { return []string{s.AvailabilityZone} },
	"availability-zone-id":       func(s SubnetView) []string { return []string{s.AvailabilityZoneID} },
	"availabilityZone":           func(s SubnetView) []string { return []string{s.AvailabilityZone} },
	"default-for-az":             func(s SubnetView) []string { return boolValues(s.DefaultForAz) },
	"defaultForAz":               func(s SubnetView) []string { return boolValues(s.DefaultForAz) },
	"cidr-block":                 func(s SubnetView) []string { return []string{s.CidrBlock} },
	"cidr":                       func(s SubnetView) []string { return []string{s.CidrBlock} },
	"cidrBlock":                  func(s SubnetView) []string { return []string{s.CidrBlock} },
	"state":                      func(s SubnetView) []string { return []string{s.State} },
	"map-public-ip-on-launch":    func(s SubnetView) []string { return boolValues(s.MapPublicIPOnLaunch) },
	"owner-id":                   func(s SubnetView) []string { return []string{s.Scope.Account} },
	"available-ip-address-count": func(s SubnetView) []string { return []string{strconv.Itoa(s.AvailableIPAddressCount)} },
	"subnet-arn":                 func(s SubnetView) []string { return []string{model.EC2ARN(s.Scope, "subnet/"+s.ID)} },
	// gantry's subnets are IPv4 only.
	"ipv6-native":  func(SubnetView) []string { return []string{"false"} },
	"enable-dns64": func(SubnetView) []string { return []string{"false"} },
}

// DescribeSubnets lists the subnets named by ids (all when empty) that match filters.
func (e *EC2) DescribeSubnets(ctx context.Context, sc model.Scope, ids []string, filters []Filter, p Paging) ([]SubnetView, string, error) {
	if err := e.EnsureDefaultVPC(ctx, sc); err != nil {
		return nil, "", err
	}
	all, err := e.store.Subnets().List(ctx, sc)
	if err != nil {
		return nil, "", err
	}
	used, err := e.usedIPs(ctx, sc)
	if err != nil {
		return nil, "", err
	}
	views := make([]SubnetView, len(all))
	for i, s := range all {
		views[i] = SubnetView{Subnet: s.Value, AvailableIPAddressCount: availableIPs(s.Value, used[s.Value.ID])}
	}
	id := func(s SubnetView) string { return s.ID }
	views, err = byIDs(views, id, ids, func(i string) error {
		return ec2Errorf(apierr.NotFound, CodeSubnetNotFound, "The subnet ID '%s' does not exist", i)
	})
	if err != nil {
		return nil, "", err
	}
	if views, err = applyFilters(subnetFilters, func(s SubnetView) []model.Tag { return s.Tags }, filters, views); err != nil {
		return nil, "", err
	}
	return paginate(views, id, p)
}

// usedIPs counts the addresses each subnet's network interfaces and NAT gateways hold.
func (e *EC2) usedIPs(ctx context.Context, sc model.Scope) (map[string]int, error) {
	used := map[string]int{}
	enis, err := e.store.NetworkInterfaces().List(ctx, sc)
	if err != nil {
		return nil, err
	}
	for _, n := range enis {
		used[n.Value.SubnetID]++
	}
	nats, err := e.store.NatGateways().List(ctx, sc)
	if err != nil {
		return nil, err
	}
	for _, n := range nats {
		if n.Value.PrivateIP != "" {
			used[n.Value.SubnetID]++
		}
	}
	return used, nil
}

// DeleteSubnet deletes a subnet no network interface or NAT gateway uses (DependencyViolation
// otherwise), and its route table association.
func (e *EC2) DeleteSubnet(ctx context.Context, sc model.Scope, id string) error {
	if err := e.EnsureDefaultVPC(ctx, sc); err != nil {
		return err
	}
	return fenced(ctx, func() error {
		sub, err := e.subnet(ctx, sc, id)
		if err != nil {
			return err
		}
		vpc, err := e.vpc(ctx, sc, sub.Value.VpcID)
		if err != nil {
			return err
		}
		used, err := e.usedIPs(ctx, sc)
		if err != nil {
			return err
		}
		nats, err := e.store.NatGateways().List(ctx, sc)
		if err != nil {
			return err
		}
		// A NAT gateway is in its subnet whether or not it holds one of its addresses, until it
		// is deleted (DeleteNatGateway).
		hasNAT := slices.ContainsFunc(nats, func(n store.Versioned[model.NatGateway]) bool {
			return n.Value.SubnetID == id && n.Value.State != model.StateDeleted
		})
		if used[id] > 0 || hasNAT {
			return ec2Errorf(apierr.ResourceInUse, CodeDependencyViolation, "The subnet '%s' has dependencies and cannot be deleted.", id)
		}
		w := &store.Write{}
		if err := e.fence(w, vpc); err != nil {
			return err
		}
		e.store.Subnets().DeleteIn(w, sub.Value, sub.Revision)
		if err := e.disassociateIn(ctx, w, sc, id); err != nil {
			return err
		}
		_, err = e.store.Commit(ctx, w)
		return err
	})
}

// disassociateIn adds to w the removal of subnetID's route table association, if it has one.
func (e *EC2) disassociateIn(ctx context.Context, w *store.Write, sc model.Scope, subnetID string) error {
	tables, err := e.store.RouteTables().List(ctx, sc)
	if err != nil {
		return err
	}
	for _, t := range tables {
		rt := t.Value
		keep := rt.Associations[:0:0]
		for _, a := range rt.Associations {
			if a.SubnetID != subnetID {
				keep = append(keep, a)
			}
		}
		if len(keep) != len(rt.Associations) {
			rt.Associations = keep
			return e.store.RouteTables().PutIn(w, rt, t.Revision)
		}
	}
	return nil
}

// ModifySubnetAttribute sets a subnet's MapPublicIpOnLaunch.
func (e *EC2) ModifySubnetAttribute(ctx context.Context, sc model.Scope, id string, mapPublicIP *bool) error {
	if err := e.EnsureDefaultVPC(ctx, sc); err != nil {
		return err
	}
	if _, err := e.subnet(ctx, sc, id); err != nil {
		return err
	}
	if mapPublicIP == nil {
		return missingParameter("MapPublicIpOnLaunch")
	}
	_, err := e.store.Subnets().Mutate(ctx, sc, id, func(s *model.Subnet) error {
		s.MapPublicIPOnLaunch = *mapPublicIP
		return nil
	})
	return err
}
