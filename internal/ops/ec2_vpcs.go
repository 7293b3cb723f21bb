package ops

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/netip"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/store"
)

// VPC CIDR sizes AWS allows, for VPCs and subnets alike.
const (
	minPrefixLen = 16
	maxPrefixLen = 28
)

// EnsureDefaultVPC creates the scope's default VPC unless it has one (or had one and deleted it):
// 172.31.0.0/16 with a default /20 subnet per availability zone, an internet gateway routed from
// the main route table, and the default security group. Everything, with a marker that says it
// exists, is one etcd transaction, so concurrent first requests create it exactly once. Every
// EC2 operation calls it; the server may call it at start.
func (e *EC2) EnsureDefaultVPC(ctx context.Context, sc model.Scope) error {
	if _, ok := e.defaulted.Load(sc); ok {
		return nil
	}
	_, _, err := e.store.DefaultVpcs().Get(ctx, sc)
	if apierr.KindOf(err) == apierr.NotFound {
		err = e.createDefaultVPC(ctx, sc)
	}
	if err != nil {
		return err
	}
	e.defaulted.Store(sc, struct{}{})
	return nil
}

func (e *EC2) createDefaultVPC(ctx context.Context, sc model.Scope) error {
	now := e.now()
	vpc, rtb, sg := e.newVpc(sc, model.DefaultVpcCIDR, nil)
	vpc.IsDefault, vpc.EnableDNSHostnames = true, true
	igw := model.InternetGateway{Scope: sc, ID: newEC2ID(model.PrefixInternetGateway), VpcID: vpc.ID}
	rtb.Routes = append(rtb.Routes, model.Route{DestinationCidrBlock: "0.0.0.0/0", GatewayID: igw.ID, Origin: model.RouteOriginCreateRoute})
	w := &store.Write{}
	errs := []error{
		e.store.DefaultVpcs().CreateIn(w, sc, vpc.ID),
		e.store.Vpcs().PutIn(w, vpc, 0),
		e.store.RouteTables().PutIn(w, rtb, 0),
		e.store.SecurityGroups().PutIn(w, sg, 0),
		e.store.InternetGateways().PutIn(w, igw, 0),
	}
	base := netip.MustParsePrefix(model.DefaultVpcCIDR).Addr().As4()
	for i, z := range zonesOf(sc.Region) {
		a := base
		a[2] = byte(i * 16)
		errs = append(errs, e.store.Subnets().PutIn(w, model.Subnet{Scope: sc, ID: newEC2ID(model.PrefixSubnet), VpcID: vpc.ID,
			CidrBlock: netip.PrefixFrom(netip.AddrFrom4(a), 20).String(), AvailabilityZone: z.Name,
			AvailabilityZoneID: z.ZoneID, State: model.StateAvailable, DefaultForAz: true,
			MapPublicIPOnLaunch: true, CreatedAt: now}, 0))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	_, err := e.store.Commit(ctx, w)
	if apierr.KindOf(err) == apierr.Conflict {
		return nil // another request created it first
	}
	if err == nil {
		e.logger.Info("created the default VPC", "account", sc.Account, "region", sc.Region, "vpc", vpc.ID)
	}
	return err
}

// zonesOf returns the availability zones of region: six in us-east-1, three elsewhere.
func zonesOf(region string) []model.AvailabilityZone {
	zones := model.AvailabilityZones(region)
	if region != model.DefaultRegion {
		zones = zones[:3]
	}
	return zones
}

// newVpc returns a VPC with its main route table (the local route) and its default security
// group (all egress; all ingress from the group itself), not yet stored.
func (e *EC2) newVpc(sc model.Scope, cidr string, tags []model.Tag) (model.Vpc, model.RouteTable, model.SecurityGroup) {
	vpc := model.Vpc{Scope: sc, ID: newEC2ID(model.PrefixVpc), CidrBlock: cidr,
		CidrAssociationID: newEC2ID(model.PrefixCidrAssociation), State: model.StateAvailable,
		DhcpOptionsID: dhcpOptionsID(sc), InstanceTenancy: "default", EnableDNSSupport: true,
		MainRouteTableID: newEC2ID(model.PrefixRouteTable), DefaultGroupID: newEC2ID(model.PrefixSecurityGroup),
		Tags: tags, CreatedAt: e.now()}
	rtb := model.RouteTable{Scope: sc, ID: vpc.MainRouteTableID, VpcID: vpc.ID, Main: true,
		Routes:       []model.Route{{DestinationCidrBlock: cidr, GatewayID: model.RouteTargetLocal, Origin: model.RouteOriginCreateTable}},
		Associations: []model.RouteTableAssociation{{ID: newEC2ID(model.PrefixRouteAssociation), Main: true}}}
	sg := model.SecurityGroup{Scope: sc, ID: vpc.DefaultGroupID, Name: model.DefaultGroupName,
		Description: "default VPC security group", VpcID: vpc.ID, CreatedAt: vpc.CreatedAt,
		Rules: []model.SecurityGroupRule{
			{ID: newEC2ID(model.PrefixSecurityRule), Protocol: model.ProtocolAll, FromPort: -1, ToPort: -1, GroupID: vpc.DefaultGroupID},
			allEgress(),
		}}
	return vpc, rtb, sg
}

func allEgress() model.SecurityGroupRule {
	return model.SecurityGroupRule{ID: newEC2ID(model.PrefixSecurityRule), Egress: true, Protocol: model.ProtocolAll,
		FromPort: -1, ToPort: -1, CidrIPv4: "0.0.0.0/0"}
}

// dhcpOptionsID is the scope's one DHCP options set, derived from the scope so it is stable.
func dhcpOptionsID(sc model.Scope) string {
	sum := sha256.Sum256([]byte(sc.Account + "/" + sc.Region))
	return model.PrefixDhcpOptions + hex.EncodeToString(sum[:])[:17]
}

// parseCIDR parses an IPv4 CIDR that must be a network address (10.0.0.0/16, not 10.0.0.1/16).
func parseCIDR(s, param string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil || !p.Addr().Is4() || p.Masked() != p {
		return netip.Prefix{}, invalidValue("Value (%s) for parameter %s is invalid. This is not a valid CIDR block.", s, param)
	}
	return p, nil
}

// CreateVpcInput is CreateVpc's parameters.
type CreateVpcInput struct {
	CidrBlock       string
	InstanceTenancy string
	Tags            []TagSpecification
}

// CreateVpc creates a VPC with its main route table and default security group.
func (e *EC2) CreateVpc(ctx context.Context, sc model.Scope, in CreateVpcInput) (model.Vpc, error) {
	if err := e.EnsureDefaultVPC(ctx, sc); err != nil {
		return model.Vpc{}, err
	}
	if in.CidrBlock == "" {
		return model.Vpc{}, ec2Errorf(apierr.MissingParameter, CodeMissingParameter, "Either 'cidrBlock' or 'ipv4IpamPoolId' should be provided.")
	}
	p, err := parseCIDR(in.CidrBlock, "cidrBlock")
	if err != nil {
		return model.Vpc{}, err
	}
	if p.Bits() < minPrefixLen || p.Bits() > maxPrefixLen {
		return model.Vpc{}, ec2Errorf(apierr.InvalidParameter, CodeVpcRange, "The CIDR '%s' is invalid.", in.CidrBlock)
	}
	switch in.InstanceTenancy {
	case "", "default", "dedicated":
	default:
		return model.Vpc{}, invalidValue("Value (%s) for parameter instanceTenancy is invalid. Valid values are default, dedicated.", in.InstanceTenancy)
	}
	tags, err := tagsFor(in.Tags, "vpc")
	if err != nil {
		return model.Vpc{}, err
	}
	vpc, rtb, sg := e.newVpc(sc, p.String(), tags)
	if in.InstanceTenancy != "" {
		vpc.InstanceTenancy = in.InstanceTenancy
	}
	w := &store.Write{}
	if err := errors.Join(e.store.Vpcs().PutIn(w, vpc, 0), e.store.RouteTables().PutIn(w, rtb, 0), e.store.SecurityGroups().PutIn(w, sg, 0)); err != nil {
		return model.Vpc{}, err
	}
	_, err = e.store.Commit(ctx, w)
	return vpc, err
}

var vpcFilters = filterSpec[model.Vpc]{
	"vpc-id":                                func(v model.Vpc) []string { return []string{v.ID} },
	"cidr":                                  func(v model.Vpc) []string { return []string{v.CidrBlock} },
	"cidr-block-association.cidr-block":     func(v model.Vpc) []string { return []string{v.CidrBlock} },
	"cidr-block-association.association-id": func(v model.Vpc) []string { return []string{v.CidrAssociationID} },
	"cidr-block-association.state":          func(model.Vpc) []string { return []string{"associated"} },
	"is-default":                            func(v model.Vpc) []string { return boolValues(v.IsDefault) },
	"state":                                 func(v model.Vpc) []string { return []string{v.State} },
	"dhcp-options-id":                       func(v model.Vpc) []string { return []string{v.DhcpOptionsID} },
	"owner-id":                              func(v model.Vpc) []string { return []string{v.Scope.Account} },
}

// DescribeVpcs lists the VPCs named by ids (all when empty) that match filters.
func (e *EC2) DescribeVpcs(ctx context.Context, sc model.Scope, ids []string, filters []Filter, p Paging) ([]model.Vpc, string, error) {
	if err := e.EnsureDefaultVPC(ctx, sc); err != nil {
		return nil, "", err
	}
	all, err := e.store.Vpcs().List(ctx, sc)
	if err != nil {
		return nil, "", err
	}
	vpcID := func(v model.Vpc) string { return v.ID }
	vpcs, err := byIDs(values(all), vpcID, ids, func(id string) error {
		return ec2Errorf(apierr.NotFound, CodeVpcNotFound, "The vpc ID '%s' does not exist", id)
	})
	if err != nil {
		return nil, "", err
	}
	if vpcs, err = applyFilters(vpcFilters, func(v model.Vpc) []model.Tag { return v.Tags }, filters, vpcs); err != nil {
		return nil, "", err
	}
	return paginate(vpcs, vpcID, p)
}

// DeleteVpc deletes a VPC that holds nothing but its main route table and default security
// group; anything else (subnets, other groups or route tables, an attached internet gateway) is
// DependencyViolation.
func (e *EC2) DeleteVpc(ctx context.Context, sc model.Scope, id string) error {
	if err := e.EnsureDefaultVPC(ctx, sc); err != nil {
		return err
	}
	return fenced(ctx, func() error {
		vpc, err := e.vpc(ctx, sc, id)
		if err != nil {
			return err
		}
		w := &store.Write{}
		if err := e.vpcDependents(ctx, vpc.Value, w); err != nil {
			return err
		}
		e.store.Vpcs().DeleteIn(w, vpc.Value, vpc.Revision)
		if vpc.Value.IsDefault {
			_, rev, err := e.store.DefaultVpcs().Get(ctx, sc)
			if err != nil {
				return err
			}
			if err := e.store.DefaultVpcs().ClearIn(w, sc, rev); err != nil {
				return err
			}
		}
		_, err = e.store.Commit(ctx, w)
		return err
	})
}

// vpcDependents fails with DependencyViolation when vpc holds more than its main route table
// and default group, and otherwise adds their deletion to w.
func (e *EC2) vpcDependents(ctx context.Context, vpc model.Vpc, w *store.Write) error {
	sc := vpc.Scope
	dependent := ec2Errorf(apierr.ResourceInUse, CodeDependencyViolation, "The vpc '%s' has dependencies and cannot be deleted.", vpc.ID)
	subnets, err := e.store.Subnets().List(ctx, sc)
	if err != nil {
		return err
	}
	for _, s := range subnets {
		if s.Value.VpcID == vpc.ID {
			return dependent
		}
	}
	igws, err := e.store.InternetGateways().List(ctx, sc)
	if err != nil {
		return err
	}
	for _, g := range igws {
		if g.Value.VpcID == vpc.ID {
			return dependent
		}
	}
	groups, err := e.store.SecurityGroups().List(ctx, sc)
	if err != nil {
		return err
	}
	for _, g := range groups {
		if g.Value.VpcID != vpc.ID {
			continue
		}
		if !g.Value.IsDefault() {
			return dependent
		}
		e.store.SecurityGroups().DeleteIn(w, g.Value, g.Revision)
	}
	tables, err := e.store.RouteTables().List(ctx, sc)
	if err != nil {
		return err
	}
	for _, t := range tables {
		if t.Value.VpcID != vpc.ID {
			continue
		}
		if !t.Value.Main {
			return dependent
		}
		e.store.RouteTables().DeleteIn(w, t.Value, t.Revision)
	}
	return nil
}

// VPC attributes of DescribeVpcAttribute and ModifyVpcAttribute.
const (
	AttrEnableDNSSupport   = "enableDnsSupport"
	AttrEnableDNSHostnames = "enableDnsHostnames"
	AttrNetworkAddrMetrics = "enableNetworkAddressUsageMetrics"
)

// DescribeVpcAttribute returns one boolean attribute of a VPC.
func (e *EC2) DescribeVpcAttribute(ctx context.Context, sc model.Scope, id, attribute string) (bool, error) {
	if err := e.EnsureDefaultVPC(ctx, sc); err != nil {
		return false, err
	}
	if attribute == "" {
		return false, missingParameter("Attribute")
	}
	vpc, err := e.vpc(ctx, sc, id)
	if err != nil {
		return false, err
	}
	switch attribute {
	case AttrEnableDNSSupport:
		return vpc.Value.EnableDNSSupport, nil
	case AttrEnableDNSHostnames:
		return vpc.Value.EnableDNSHostnames, nil
	case AttrNetworkAddrMetrics:
		return false, nil
	}
	return false, invalidValue("Value (%s) for parameter attribute is invalid. Unknown attribute.", attribute)
}

// VpcAttributes are ModifyVpcAttribute's settings; nil leaves one alone.
type VpcAttributes struct {
	EnableDNSSupport   *bool
	EnableDNSHostnames *bool
}

// ModifyVpcAttribute changes one attribute of a VPC, as EC2 takes one per call.
func (e *EC2) ModifyVpcAttribute(ctx context.Context, sc model.Scope, id string, a VpcAttributes) error {
	if err := e.EnsureDefaultVPC(ctx, sc); err != nil {
		return err
	}
	if _, err := e.vpc(ctx, sc, id); err != nil {
		return err
	}
	switch {
	case a.EnableDNSSupport == nil && a.EnableDNSHostnames == nil:
		return ec2Errorf(apierr.MissingParameter, CodeMissingParameter, "The request must contain the parameter EnableDnsSupport or EnableDnsHostnames")
	case a.EnableDNSSupport != nil && a.EnableDNSHostnames != nil:
		return ec2Errorf(apierr.InvalidParameter, CodeInvalidParameterCombination, "Only one attribute can be modified at a time")
	}
	_, err := e.store.Vpcs().Mutate(ctx, sc, id, func(v *model.Vpc) error {
		if a.EnableDNSSupport != nil {
			v.EnableDNSSupport = *a.EnableDNSSupport
		}
		if a.EnableDNSHostnames != nil {
			v.EnableDNSHostnames = *a.EnableDNSHostnames
		}
		return nil
	})
	return err
}

// DescribeAvailabilityZones lists the region's zones named by names or ids (all when both are
// empty) that match filters.
func (e *EC2) DescribeAvailabilityZones(ctx context.Context, sc model.Scope, names, ids []string, filters []Filter) ([]model.AvailabilityZone, error) {
	zones := zonesOf(sc.Region)
	var err error
	if zones, err = byIDs(zones, func(z model.AvailabilityZone) string { return z.Name }, names, func(n string) error {
		return invalidValue("The zone '%s' does not exist.", n)
	}); err != nil {
		return nil, err
	}
	if zones, err = byIDs(zones, func(z model.AvailabilityZone) string { return z.ZoneID }, ids, func(n string) error {
		return invalidValue("The zone ID '%s' does not exist.", n)
	}); err != nil {
		return nil, err
	}
	spec := filterSpec[model.AvailabilityZone]{
		"zone-name":     func(z model.AvailabilityZone) []string { return []string{z.Name} },
		"zone-id":       func(z model.AvailabilityZone) []string { return []string{z.ZoneID} },
		"region-name":   func(z model.AvailabilityZone) []string { return []string{z.Region} },
		"state":         func(model.AvailabilityZone) []string { return []string{model.StateAvailable} },
		"zone-type":     func(model.AvailabilityZone) []string { return []string{"availability-zone"} },
		"group-name":    func(z model.AvailabilityZone) []string { return []string{z.Region} },
		"opt-in-status": func(model.AvailabilityZone) []string { return []string{"opt-in-not-required"} },
	}
	return applyFilters(spec, func(model.AvailabilityZone) []model.Tag { return nil }, filters, zones)
}

// AccountAttribute is one of DescribeAccountAttributes' answers.
type AccountAttribute struct {
	Name   string
	Values []string
}

// DescribeAccountAttributes answers the account's EC2 attributes named (all when empty).
func (e *EC2) DescribeAccountAttributes(ctx context.Context, sc model.Scope, names []string) ([]AccountAttribute, error) {
	if err := e.EnsureDefaultVPC(ctx, sc); err != nil {
		return nil, err
	}
	def, _, err := e.store.DefaultVpcs().Get(ctx, sc)
	if err != nil {
		return nil, err
	}
	if def == "" {
		def = "none"
	}
	all := []AccountAttribute{
		{Name: "supported-platforms", Values: []string{"VPC"}},
		{Name: "default-vpc", Values: []string{def}},
		{Name: "max-instances", Values: []string{"20"}},
		{Name: "vpc-max-security-groups-per-interface", Values: []string{"5"}},
		{Name: "max-elastic-ips", Values: []string{"5"}},
		{Name: "vpc-max-elastic-ips", Values: []string{"5"}},
	}
	return byIDs(all, func(a AccountAttribute) string { return a.Name }, names, func(n string) error {
		return invalidValue("Value (%s) for parameter attributeName is invalid. Unknown attribute.", n)
	})
}
