package ops

import (
	"context"
	"errors"
	"fmt"
	mathrand "math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/store"
)

// Load balancers. CreateLoadBalancer checks the subnets (at least two, each in its own zone, one
// VPC) and security groups (the VPC's default group when none is given), then, in one
// transaction fenced by the VPC record: the load balancer record (created by name, so a name is
// taken once), one requester-managed ENI per subnet with an address from the subnet's pool (as a
// task's ENI gets one), the pools, and a claim on a host address from --lb-address-pool.
// DeleteLoadBalancer gives all of it back and deletes the listeners and rules with it.

// CreateLoadBalancerInput is CreateLoadBalancer's request.
type CreateLoadBalancerInput struct {
	Name string
	// Subnets are the subnet ids of Subnets and of SubnetMappings (only one may be given).
	Subnets        []string
	SubnetMappings []string
	SecurityGroups []string
	Scheme         string
	Type           string
	IPAddressType  string
	Tags           []model.Tag
}

// ELB ENI values as AWS shows them.
const elbENIOwner = "amazon-elb"

// CreateLoadBalancer creates an Application Load Balancer, provisioning until the data plane
// listens (lbsync sets it active). Creating one again with the same name and settings returns it.
func (e *ELBv2) CreateLoadBalancer(ctx context.Context, sc model.Scope, in CreateLoadBalancerInput) (model.LoadBalancer, error) {
	if err := checkName("Load balancer", in.Name); err != nil {
		return model.LoadBalancer{}, err
	}
	if strings.HasPrefix(in.Name, "internal-") {
		return model.LoadBalancer{}, elbValidation("Load balancer name '%s' cannot begin with 'internal-'", in.Name)
	}
	switch in.Type {
	case "", model.LoadBalancerTypeApplication:
	case "network", "gateway":
		return model.LoadBalancer{}, elbValidation("Load balancer type '%s' is not supported by gantry: only 'application' load balancers are", in.Type)
	default:
		return model.LoadBalancer{}, elbValidation("Load balancer type '%s' is not valid. Valid values are: application, network, gateway", in.Type)
	}
	scheme := in.Scheme
	switch scheme {
	case "":
		scheme = model.SchemeInternetFacing
	case model.SchemeInternetFacing, model.SchemeInternal:
	default:
		return model.LoadBalancer{}, elbValidation("Scheme '%s' is not valid. Valid values are: internet-facing, internal", in.Scheme)
	}
	switch in.IPAddressType {
	case "", model.IPAddressTypeIPv4:
	case "dualstack", "dualstack-without-public-ipv4":
		return model.LoadBalancer{}, elbValidation("IP address type '%s' is not supported by gantry: only 'ipv4' is", in.IPAddressType)
	default:
		return model.LoadBalancer{}, elbValidation("IP address type '%s' is not valid. Valid values are: ipv4, dualstack, dualstack-without-public-ipv4", in.IPAddressType)
	}
	if err := checkELBTags(in.Tags); err != nil {
		return model.LoadBalancer{}, err
	}
	subnetIDs := in.Subnets
	if len(in.SubnetMappings) > 0 {
		if len(in.Subnets) > 0 {
			return model.LoadBalancer{}, elbValidation("You can specify subnets or subnet mappings, not both")
		}
		subnetIDs = in.SubnetMappings
	}
	if err := e.ec2.EnsureDefaultVPC(ctx, sc); err != nil {
		return model.LoadBalancer{}, err
	}
	var out model.LoadBalancer
	err := commitOrRetry(ctx, func() error {
		lb, err := e.createLoadBalancer(ctx, sc, in, scheme, uniq(subnetIDs))
		out = lb
		return err
	})
	return out, err
}

func (e *ELBv2) createLoadBalancer(ctx context.Context, sc model.Scope, in CreateLoadBalancerInput, scheme string, subnetIDs []string) (model.LoadBalancer, error) {
	subnets, vpc, err := e.lbSubnets(ctx, sc, subnetIDs)
	if err != nil {
		return model.LoadBalancer{}, err
	}
	groups, err := e.lbGroups(ctx, sc, vpc.Value, in.SecurityGroups)
	if err != nil {
		return model.LoadBalancer{}, err
	}
	if scheme == model.SchemeInternetFacing {
		if err := e.needInternetGateway(ctx, sc, vpc.Value.ID); err != nil {
			return model.LoadBalancer{}, err
		}
	}
	existing, err := e.store.LoadBalancers().Get(ctx, sc, in.Name)
	switch {
	case err == nil:
		return sameLoadBalancer(existing.Value, scheme, subnets, groups)
	case !errors.Is(err, apierr.NotFound):
		return model.LoadBalancer{}, err
	}
	all, err := e.store.LoadBalancers().List(ctx, sc)
	if err != nil {
		return model.LoadBalancer{}, err
	}
	if len(all) >= maxLoadBalancers {
		return model.LoadBalancer{}, elbErrorf(CodeTooManyLoadBalancers, "The maximum number of load balancers (%d) has been reached", maxLoadBalancers)
	}
	hostAddr, err := e.freeHostAddress(ctx)
	if err != nil {
		return model.LoadBalancer{}, err
	}
	now := e.now().UTC()
	id := newELBID()
	lb := model.LoadBalancer{Scope: sc, ARN: model.LoadBalancerARN(sc, in.Name, id), Name: in.Name,
		Type: model.LoadBalancerTypeApplication, Scheme: scheme, VpcID: vpc.Value.ID, SecurityGroups: groups,
		DNSName: dnsName(sc, in.Name, scheme), CanonicalHostedZoneID: model.CanonicalHostedZoneID(sc.Region),
		State: model.LoadBalancerProvisioning, IPAddressType: model.IPAddressTypeIPv4, HostAddress: hostAddr,
		Attributes: defaultLBAttributes(), Tags: in.Tags, CreatedAt: now}
	w := &store.Write{}
	for _, sub := range subnets {
		pool, err := e.store.IPPools().PoolFor(ctx, sub)
		if err != nil {
			return model.LoadBalancer{}, err
		}
		addr, p, err := pool.Value.Pool.Allocate()
		if err != nil {
			return model.LoadBalancer{}, elbErrorf(CodeInvalidSubnet, "Not enough IP space available in %s. ELB requires at least 8 free IP addresses in each subnet.", sub.ID)
		}
		pool.Value.Pool = p
		eni := newELBENI(sc, sub, lb, addr.String(), now)
		lb.Nodes = append(lb.Nodes, model.LoadBalancerNode{SubnetID: sub.ID, AvailabilityZone: sub.AvailabilityZone,
			ENIID: eni.ID, PrivateIP: eni.PrivateIP})
		if err := errors.Join(e.store.IPPools().PutIn(w, pool.Value, pool.Revision),
			e.store.NetworkInterfaces().PutIn(w, eni, 0)); err != nil {
			return model.LoadBalancer{}, err
		}
	}
	if err := errors.Join(e.store.LoadBalancers().PutIn(w, lb, 0), e.store.HostAddresses().ClaimIn(w, hostAddr, lb.ARN),
		e.store.Vpcs().PutIn(w, vpc.Value, vpc.Revision)); err != nil {
		return model.LoadBalancer{}, err
	}
	if _, err := e.store.Commit(ctx, w); err != nil {
		return model.LoadBalancer{}, err
	}
	e.logger.Info("created load balancer", "arn", lb.ARN, "hostAddress", hostAddr)
	return lb, nil
}

// sameLoadBalancer returns lb when it was made with the same settings (CreateLoadBalancer is
// idempotent), DuplicateLoadBalancerName otherwise.
func sameLoadBalancer(lb model.LoadBalancer, scheme string, subnets []model.Subnet, groups []string) (model.LoadBalancer, error) {
	have := make([]string, len(lb.Nodes))
	for i, n := range lb.Nodes {
		have[i] = n.SubnetID
	}
	want := make([]string, len(subnets))
	for i, s := range subnets {
		want[i] = s.ID
	}
	slices.Sort(have)
	slices.Sort(want)
	g1, g2 := slices.Clone(lb.SecurityGroups), slices.Clone(groups)
	slices.Sort(g1)
	slices.Sort(g2)
	if lb.Scheme == scheme && slices.Equal(have, want) && slices.Equal(g1, g2) {
		return lb, nil
	}
	return model.LoadBalancer{}, elbErrorf(CodeDuplicateLoadBalancerName, "A load balancer with the same name '%s' exists, but with different settings", lb.Name)
}

// lbSubnets reads the subnets and their VPC (the fence): at least two, in distinct zones, in
// one VPC.
func (e *ELBv2) lbSubnets(ctx context.Context, sc model.Scope, ids []string) ([]model.Subnet, store.Versioned[model.Vpc], error) {
	var none store.Versioned[model.Vpc]
	subnets := make([]model.Subnet, 0, len(ids))
	zones := map[string]string{}
	for _, id := range ids {
		s, err := e.store.Subnets().Get(ctx, sc, id)
		if errors.Is(err, apierr.NotFound) {
			return nil, none, elbErrorf(CodeELBSubnetNotFound, "The subnet ID '%s' is not valid", id)
		}
		if err != nil {
			return nil, none, err
		}
		if len(subnets) > 0 && s.Value.VpcID != subnets[0].VpcID {
			return nil, none, elbErrorf(CodeInvalidSubnet, "Subnets '%s' and '%s' are in different VPCs; a load balancer's subnets must be in one VPC", subnets[0].ID, id)
		}
		if other, ok := zones[s.Value.AvailabilityZone]; ok {
			return nil, none, elbErrorf(CodeInvalidConfigurationRequest, "A load balancer cannot be attached to multiple subnets in the same Availability Zone (%s and %s are both in %s)", other, id, s.Value.AvailabilityZone)
		}
		zones[s.Value.AvailabilityZone] = id
		subnets = append(subnets, s.Value)
	}
	if len(zones) < 2 {
		return nil, none, elbValidation("At least two subnets in two different Availability Zones must be specified")
	}
	vpc, err := e.store.Vpcs().Get(ctx, sc, subnets[0].VpcID)
	if err != nil {
		return nil, none, err
	}
	// Checked again after the fence was read: a subnet deleted after it fails the commit.
	for _, s := range subnets {
		if _, err := e.store.Subnets().Get(ctx, sc, s.ID); err != nil {
			return nil, none, fmt.Errorf("subnet %s went away: %w", s.ID, apierr.Conflict)
		}
	}
	return subnets, vpc, nil
}

// lbGroups checks the security groups of a load balancer in vpc, the VPC's default group when
// none is given.
func (e *ELBv2) lbGroups(ctx context.Context, sc model.Scope, vpc model.Vpc, ids []string) ([]string, error) {
	if len(ids) == 0 {
		return []string{vpc.DefaultGroupID}, nil
	}
	if len(ids) > 5 {
		return nil, elbValidation("A load balancer can have at most 5 security groups")
	}
	for _, id := range ids {
		g, err := e.store.SecurityGroups().Get(ctx, sc, id)
		if errors.Is(err, apierr.NotFound) {
			return nil, elbErrorf(CodeInvalidSecurityGroup, "Security group '%s' does not exist", id)
		}
		if err != nil {
			return nil, err
		}
		if g.Value.VpcID != vpc.ID {
			return nil, elbErrorf(CodeInvalidSecurityGroup, "Security group '%s' does not belong to VPC '%s'", id, vpc.ID)
		}
	}
	return uniq(ids), nil
}

// needInternetGateway refuses an internet-facing load balancer in a VPC without an internet
// gateway, as AWS does.
func (e *ELBv2) needInternetGateway(ctx context.Context, sc model.Scope, vpcID string) error {
	igws, err := e.store.InternetGateways().List(ctx, sc)
	if err != nil {
		return err
	}
	for _, g := range igws {
		if g.Value.VpcID == vpcID {
			return nil
		}
	}
	return elbErrorf(CodeInvalidSubnet, "VPC %s has no internet gateway", vpcID)
}

// freeHostAddress picks an address of the pool no load balancer holds: the network and
// broadcast addresses are skipped, the claim in the creating transaction settles races.
func (e *ELBv2) freeHostAddress(ctx context.Context) (string, error) {
	used, err := e.store.HostAddresses().InUse(ctx)
	if err != nil {
		return "", err
	}
	for a := e.pool.Addr().Next(); e.pool.Contains(a); a = a.Next() {
		if !e.pool.Contains(a.Next()) && e.pool.Bits() < 31 {
			break // the broadcast address
		}
		if _, taken := used[a.String()]; !taken {
			return a.String(), nil
		}
	}
	return "", elbErrorf(CodeTooManyLoadBalancers, "No free address is left in the load balancer address pool %s", e.pool)
}

// dnsName is the load balancer's DNS name: <name>-<10 digits>.<region>.elb.amazonaws.com,
// with internal- in front for internal ones.
func dnsName(sc model.Scope, name, scheme string) string {
	n := fmt.Sprintf("%s-%d.%s.elb.amazonaws.com", name, 1_000_000_000+mathrand.Int64N(9_000_000_000), sc.Region)
	if scheme == model.SchemeInternal {
		n = "internal-" + n
	}
	return strings.ToLower(n)
}

// newELBENI is a load balancer node's ENI in sub: requester-managed, in use, described as AWS
// describes ELB ENIs.
func newELBENI(sc model.Scope, sub model.Subnet, lb model.LoadBalancer, ip string, now time.Time) model.NetworkInterface {
	id := newEC2ID(model.PrefixNetworkInterface)
	return model.NetworkInterface{
		Scope: sc, ID: id, SubnetID: sub.ID, VpcID: sub.VpcID, AvailabilityZone: sub.AvailabilityZone,
		Description: "ELB app/" + lb.Name + "/" + lb.ID(), GroupIDs: slices.Clone(lb.SecurityGroups),
		InterfaceType: eniInterfaceType, MacAddress: macOf(id), PrivateIP: ip, Status: model.StateInUse,
		RequesterManaged: true, CreatedAt: now,
		Attachment: &model.EniAttachment{ID: newEC2ID(model.PrefixEniAttachment), Status: model.StateAttached,
			AttachTime: now, DeviceIndex: eniDeviceIndex, InstanceOwnerID: elbENIOwner},
	}
}

// DescribeLoadBalancersInput is DescribeLoadBalancers' request.
type DescribeLoadBalancersInput struct {
	ARNs     []string
	Names    []string
	Marker   string
	PageSize *int32
}

// DescribeLoadBalancers lists the scope's load balancers, or those named, a page at a time.
func (e *ELBv2) DescribeLoadBalancers(ctx context.Context, sc model.Scope, in DescribeLoadBalancersInput) ([]model.LoadBalancer, string, error) {
	if len(in.ARNs) > 0 && len(in.Names) > 0 {
		return nil, "", elbValidation("Load balancer names and load balancer ARNs cannot be specified at the same time")
	}
	all, err := e.store.LoadBalancers().List(ctx, sc)
	if err != nil {
		return nil, "", err
	}
	lbs := values(all)
	switch {
	case len(in.ARNs) > 0:
		if lbs, err = pick(lbs, in.ARNs, func(l model.LoadBalancer) string { return l.ARN }); err != nil {
			for _, a := range in.ARNs {
				if _, perr := lbARNRef(sc, a); perr != nil && apierr.KindOf(perr) != apierr.NotFound {
					return nil, "", perr
				}
			}
			return nil, "", elbErrorf(CodeLoadBalancerNotFound, "Load balancers '%s' not found", err.Error())
		}
	case len(in.Names) > 0:
		if lbs, err = pick(lbs, in.Names, func(l model.LoadBalancer) string { return l.Name }); err != nil {
			return nil, "", elbErrorf(CodeLoadBalancerNotFound, "Load balancers '%s' not found", err.Error())
		}
	}
	return pageOf(lbs, in.Marker, in.PageSize)
}

// pick returns the items whose key is one of keys, in the order of keys; an error naming the
// missing keys when some are not there.
func pick[T any](items []T, keys []string, key func(T) string) ([]T, error) {
	var out []T
	var missing []string
	for _, k := range uniq(keys) {
		i := slices.IndexFunc(items, func(v T) bool { return key(v) == k })
		if i < 0 {
			missing = append(missing, k)
			continue
		}
		out = append(out, items[i])
	}
	if len(missing) > 0 {
		return nil, errors.New("[" + strings.Join(missing, ", ") + "]")
	}
	return out, nil
}

// DeleteLoadBalancer deletes the load balancer arn with its listeners and rules, and gives its
// ENIs, addresses and host address back. A load balancer that does not exist is no error, as on
// AWS; deletion protection is OperationNotPermitted.
func (e *ELBv2) DeleteLoadBalancer(ctx context.Context, sc model.Scope, arn string) error {
	var used []string
	err := commitOrRetry(ctx, func() error {
		lb, err := e.loadBalancer(ctx, sc, arn)
		if apierr.KindOf(err) == apierr.NotFound {
			return nil
		}
		if err != nil {
			return err
		}
		if lb.Value.Attributes[model.AttrDeletionProtection] == "true" {
			return elbErrorf(CodeOperationNotPermitted, "Load balancer '%s' cannot be deleted because deletion protection is enabled", arn)
		}
		listeners, err := e.store.Listeners().ListOf(ctx, sc, lb.Value.Name)
		if err != nil {
			return err
		}
		used = used[:0]
		for _, l := range listeners {
			used = append(used, actionGroups(l.Value.DefaultActions)...)
		}
		rules, err := e.store.Rules().List(ctx, sc)
		if err != nil {
			return err
		}
		for _, r := range rules {
			if a, _ := model.ParseELBARN(r.Value.ARN); a.Name == lb.Value.Name {
				used = append(used, actionGroups(r.Value.Actions)...)
			}
		}
		w := &store.Write{}
		e.store.LoadBalancers().DeleteIn(w, lb.Value, lb.Revision)
		e.store.Listeners().DeleteAllOfIn(w, sc, lb.Value.Name)
		e.store.Rules().DeleteAllOfIn(w, sc, lb.Value.Name, "")
		e.store.HostAddresses().ReleaseIn(w, lb.Value.HostAddress)
		if err := e.releaseNodesIn(ctx, w, lb.Value); err != nil {
			return err
		}
		_, err = e.store.Commit(ctx, w)
		return err
	})
	if err != nil {
		return err
	}
	return e.syncTargetUse(ctx, sc, used)
}

// releaseNodesIn adds to w the deletion of lb's ENIs and the return of their addresses.
func (e *ELBv2) releaseNodesIn(ctx context.Context, w *store.Write, lb model.LoadBalancer) error {
	for _, n := range lb.Nodes {
		eni, err := e.store.NetworkInterfaces().Get(ctx, lb.Scope, n.ENIID)
		switch {
		case err == nil:
			e.store.NetworkInterfaces().DeleteIn(w, eni.Value, eni.Revision)
		case !errors.Is(err, apierr.NotFound):
			return err
		}
		addr, perr := netip.ParseAddr(n.PrivateIP)
		pool, err := e.store.IPPools().Get(ctx, lb.Scope, n.SubnetID)
		switch {
		case err == nil && perr == nil:
			pool.Value.Pool = pool.Value.Pool.Release(addr)
			if err := e.store.IPPools().PutIn(w, pool.Value, pool.Revision); err != nil {
				return err
			}
		case err != nil && !errors.Is(err, apierr.NotFound):
			return err
		}
	}
	return nil
}

// defaultLBAttributes are an Application Load Balancer's attributes as AWS creates them.
func defaultLBAttributes() map[string]string {
	return map[string]string{
		model.AttrAccessLogsEnabled:    "false",
		model.AttrAccessLogsBucket:     "",
		model.AttrAccessLogsPrefix:     "",
		model.AttrDeletionProtection:   "false",
		model.AttrIdleTimeout:          "60",
		model.AttrClientKeepAlive:      "3600",
		model.AttrDesyncMitigationMode: "defensive",
		model.AttrDropInvalidHeaders:   "false",
		model.AttrPreserveHostHeader:   "false",
		model.AttrXAmznTLSHeaders:      "false",
		model.AttrXFFClientPort:        "false",
		model.AttrXFFHeaderProcessing:  "append",
		model.AttrHTTP2Enabled:         "true",
		model.AttrWAFFailOpen:          "false",
	}
}

// checkLBAttribute checks one load balancer attribute as AWS does.
func checkLBAttribute(k, v string) error {
	switch k {
	case model.AttrIdleTimeout:
		return intAttr(k, v, 1, 4000)
	case model.AttrClientKeepAlive:
		return intAttr(k, v, 60, 604800)
	case model.AttrDesyncMitigationMode:
		return enumAttr(k, v, "monitor", "defensive", "strictest")
	case model.AttrXFFHeaderProcessing:
		return enumAttr(k, v, "append", "preserve", "remove")
	case model.AttrDeletionProtection, model.AttrDropInvalidHeaders, model.AttrPreserveHostHeader, model.AttrXAmznTLSHeaders,
		model.AttrXFFClientPort, model.AttrHTTP2Enabled, model.AttrWAFFailOpen, model.AttrAccessLogsEnabled:
		return boolAttr(k, v)
	case model.AttrAccessLogsBucket, model.AttrAccessLogsPrefix:
		return nil
	}
	return elbValidation("Load balancer attribute key '%s' is not recognized", k)
}

// LoadBalancerAttributes returns the attributes of the load balancer arn.
func (e *ELBv2) LoadBalancerAttributes(ctx context.Context, sc model.Scope, arn string) (map[string]string, error) {
	lb, err := e.loadBalancer(ctx, sc, arn)
	return lb.Value.Attributes, err
}

// ModifyLoadBalancerAttributes sets attrs on the load balancer arn and returns all of them.
func (e *ELBv2) ModifyLoadBalancerAttributes(ctx context.Context, sc model.Scope, arn string, attrs []model.Tag) (map[string]string, error) {
	if len(attrs) == 0 {
		return nil, elbValidation("Attributes cannot be empty")
	}
	if len(attrs) > 20 {
		return nil, elbValidation("At most 20 attributes can be modified at once")
	}
	for _, a := range attrs {
		if err := checkLBAttribute(a.Key, a.Value); err != nil {
			return nil, err
		}
	}
	lb, err := e.loadBalancer(ctx, sc, arn)
	if err != nil {
		return nil, err
	}
	v, err := e.store.LoadBalancers().Mutate(ctx, sc, lb.Value.Name, func(l *model.LoadBalancer) error {
		if l.ARN != arn {
			return elbErrorf(CodeLoadBalancerNotFound, "Load balancer '%s' not found", arn)
		}
		next := defaultLBAttributes()
		for k, v := range l.Attributes {
			next[k] = v
		}
		for _, a := range attrs {
			next[a.Key] = a.Value
		}
		if next[model.AttrAccessLogsEnabled] == "true" && next[model.AttrAccessLogsBucket] == "" {
			return elbValidation("The value of '%s' cannot be empty when '%s' is true", model.AttrAccessLogsBucket, model.AttrAccessLogsEnabled)
		}
		l.Attributes = next
		return nil
	})
	return v.Value.Attributes, err
}
