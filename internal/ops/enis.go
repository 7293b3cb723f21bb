package ops

import (
	"context"
	"crypto/sha256"
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

// A task's ENI. RunTask checks the awsvpcConfiguration with the EC2 operations, then, in every
// launch attempt, reads the VPC record (the fence), checks the subnets and groups again, and
// gives each placed task an ENI in one of the subnets: the one with the most free addresses,
// the first given on a tie, so the tasks of one call and of successive calls spread across the
// subnets (and so across zones) and a full subnet is skipped while another has room. The ENI
// record, the subnet pools with the addresses marked used and the unchanged VPC record at the
// revision read are written in the launch transaction itself (store.Launch). A task for which
// no given subnet has a free address is a failure (RESOURCE:ENI) and takes no host capacity.

// ENI values as Fargate shows them.
const (
	eniInterfaceType   = "interface"
	eniOwnerAmazon     = "amazon-aws"
	eniDeviceIndex     = 1
	failureENI         = "RESOURCE:ENI"
	attachmentDetailSn = "subnetId"
)

// ec2 returns the EC2 operations RunTask checks networks with, over the same store and clock.
func (e *ECS) ec2() *EC2 {
	e.placement.ec2Once.Do(func() {
		x := NewEC2(e.store, e.logger)
		x.SetClock(func() time.Time { return e.now() })
		e.placement.ec2 = x
	})
	return e.placement.ec2
}

// netRequest is a checked awsvpcConfiguration.
type netRequest struct {
	vpcID   string
	subnets []string // as given, without repeats
	asked   []string // the groups given
	groups  []string // the groups to use: those given, or the VPC's default group
	public  bool
}

// checkAwsVpc checks n against the EC2 resources: subnets and groups that exist, in one VPC.
// Errors are InvalidParameterException, worded as ECS words them.
func (e *ECS) checkAwsVpc(ctx context.Context, sc model.Scope, n model.AwsVpcConfiguration) (netRequest, error) {
	req := netRequest{subnets: uniq(n.Subnets), asked: n.SecurityGroups, public: n.AssignPublicIP == assignPublicEnabled}
	vpcID, groups, err := e.ec2().ValidateAwsVpc(ctx, sc, req.subnets, req.asked)
	if err != nil {
		return netRequest{}, e.awsVpcError(ctx, sc, req, err)
	}
	req.vpcID, req.groups = vpcID, groups
	return req, nil
}

// awsVpcError words an EC2 error about an awsvpcConfiguration as ECS does: an
// InvalidParameterException that quotes EC2's message and code.
func (e *ECS) awsVpcError(ctx context.Context, sc model.Scope, req netRequest, err error) error {
	var ee *EC2Error
	if !errors.As(err, &ee) {
		return err
	}
	switch ee.Code {
	case CodeSubnetNotFound:
		id := firstMissing(req.subnets, func(id string) error { _, err := e.ec2().Subnet(ctx, sc, id); return err })
		return apierr.Errorf(apierr.InvalidParameter, "Error retrieving subnet information for [%s]: %s (ErrorCode: %s)", id, ee.Err.Message, ee.Code)
	case CodeGroupNotFound, CodeGroupIDMalformed:
		id := firstMissing(req.asked, func(id string) error { _, err := e.ec2().SecurityGroup(ctx, sc, id); return err })
		return apierr.Errorf(apierr.InvalidParameter, "Error retrieving security group information for [%s]: %s (ErrorCode: %s)", id, ee.Err.Message, ee.Code)
	}
	return apierr.New(apierr.InvalidParameter, ee.Err.Message)
}

// firstMissing returns the first id that get fails for with a NotFound or InvalidParameter
// error, or all of them joined when none does (a race: it was deleted and is back).
func firstMissing(ids []string, get func(string) error) string {
	for _, id := range ids {
		if k := apierr.KindOf(get(id)); k == apierr.NotFound || k == apierr.InvalidParameter {
			return id
		}
	}
	return strings.Join(ids, ", ")
}

func uniq(in []string) []string {
	out := make([]string, 0, len(in))
	for _, s := range in {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// planNetwork gives every task of l an ENI from req's subnets and adds the ENIs, pools and VPC
// fence to l. Tasks no subnet has room for leave l (and give their host reservation back) and
// become failures.
func (e *ECS) planNetwork(ctx context.Context, sc model.Scope, req netRequest, l *store.Launch, tdARN string) ([]TaskFailure, error) {
	vpc, err := e.store.Vpcs().Get(ctx, sc, req.vpcID)
	if errors.Is(err, apierr.NotFound) {
		return nil, apierr.Errorf(apierr.InvalidParameter, "The vpc ID '%s' of the subnets does not exist.", req.vpcID)
	}
	if err != nil {
		return nil, err
	}
	// Checked again after the fence was read: what is deleted after it fails the commit.
	vpcID, groups, err := e.ec2().ValidateAwsVpc(ctx, sc, req.subnets, req.asked)
	if err != nil {
		return nil, e.awsVpcError(ctx, sc, req, err)
	}
	if vpcID != req.vpcID {
		return nil, fmt.Errorf("subnets moved from %s to %s: %w", req.vpcID, vpcID, apierr.Conflict)
	}
	stored, err := e.store.RouteTables().List(ctx, sc)
	if err != nil {
		return nil, err
	}
	tables := values(stored)
	subnets := make([]model.Subnet, len(req.subnets))
	pools := make([]store.Versioned[store.SubnetPool], len(req.subnets))
	for i, id := range req.subnets {
		s, err := e.store.Subnets().Get(ctx, sc, id)
		if err != nil {
			return nil, err
		}
		subnets[i] = s.Value
		if pools[i], err = e.store.IPPools().PoolFor(ctx, s.Value); err != nil {
			return nil, err
		}
	}
	var usedPublic map[string]bool
	if req.public {
		if usedPublic, err = e.publicIPsInUse(ctx, sc); err != nil {
			return nil, err
		}
	}
	touched := make([]bool, len(subnets))
	var failures []TaskFailure
	placed := l.Tasks[:0:0]
	now := e.now().UTC()
	for _, t := range l.Tasks {
		i := roomiest(pools)
		if i < 0 {
			unreserve(l, t)
			failures = append(failures, TaskFailure{ARN: tdARN, Reason: failureENI,
				Detail: fmt.Sprintf("No free IP address in subnets [%s].", strings.Join(req.subnets, ", "))})
			continue
		}
		addr, pool, err := pools[i].Value.Pool.Allocate()
		if err != nil {
			return nil, err // roomiest saw a free address
		}
		pools[i].Value.Pool, touched[i] = pool, true
		sub := subnets[i]
		attID := newUUID()
		eni := newTaskENI(sc, sub, groups, addr.String(), attID, now)
		if req.public {
			eni.PublicIP = pickPublicIP(usedPublic)
		}
		route := store.SubnetRouteOf(sub, tables)
		t.AvailabilityZone = sub.AvailabilityZone
		t.TaskNetwork = &model.TaskNetwork{VpcID: vpc.Value.ID, VpcCidr: vpc.Value.CidrBlock, Subnet: route, ENIID: eni.ID,
			PrivateIP: eni.PrivateIP, MacAddress: eni.MacAddress, SecurityGroups: slices.Clone(groups),
			PrivateDNSName: model.PrivateDNSName(eni.PrivateIP, sc.Region), PublicIP: eni.PublicIP}
		t.Attachments = []model.Attachment{{ID: attID, Type: attachmentENI,
			Status: attachmentPrecreated, Details: []model.KeyValue{
				{Name: attachmentDetailSn, Value: sub.ID},
				{Name: "networkInterfaceId", Value: eni.ID},
				{Name: "macAddress", Value: eni.MacAddress},
				{Name: "privateDnsName", Value: t.TaskNetwork.PrivateDNSName},
				{Name: "privateIPv4Address", Value: eni.PrivateIP},
			}}}
		placed = append(placed, t)
		l.ENIs = append(l.ENIs, eni)
	}
	l.Tasks = placed
	if len(placed) == 0 {
		return failures, nil
	}
	for i, p := range pools {
		if touched[i] {
			l.Pools = append(l.Pools, p)
		}
	}
	l.Vpcs = append(l.Vpcs, vpc)
	return failures, nil
}

// roomiest returns the index of the pool with the most free addresses (the first on a tie), or
// -1 when all are full.
func roomiest(pools []store.Versioned[store.SubnetPool]) int {
	best := -1
	for i, p := range pools {
		if p.Value.Pool.Free() > 0 && (best < 0 || p.Value.Pool.Free() > pools[best].Value.Pool.Free()) {
			best = i
		}
	}
	return best
}

// unreserve gives t's size back to its host in l: the task is not launched after all.
func unreserve(l *store.Launch, t model.Task) {
	cpu, mem := store.TaskSize(t)
	for i := range l.Hosts {
		if l.Hosts[i].Value.ID == t.HostID {
			l.Hosts[i].Value.ReservedCPU -= cpu
			l.Hosts[i].Value.ReservedMemory -= mem
		}
	}
}

// attachmentARNPrefix is the ARN of the scope's ECS attachments, less the attachment id.
func attachmentARNPrefix(sc model.Scope) string {
	return "arn:aws:ecs:" + sc.Region + ":" + sc.Account + ":attachment/"
}

// newTaskENI is the ENI of a Fargate task with address ip in sub: requester-managed, in use,
// attached by amazon-aws, described by the ARN of the task's attachment.
func newTaskENI(sc model.Scope, sub model.Subnet, groups []string, ip, attachmentID string, now time.Time) model.NetworkInterface {
	id := newEC2ID(model.PrefixNetworkInterface)
	return model.NetworkInterface{
		Scope: sc, ID: id, SubnetID: sub.ID, VpcID: sub.VpcID, AvailabilityZone: sub.AvailabilityZone,
		Description: attachmentARNPrefix(sc) + attachmentID, GroupIDs: slices.Clone(groups),
		InterfaceType: eniInterfaceType, MacAddress: macOf(id), PrivateIP: ip, Status: model.StateInUse,
		RequesterManaged: true, CreatedAt: now,
		Attachment: &model.EniAttachment{ID: newEC2ID(model.PrefixEniAttachment), Status: model.StateAttached,
			AttachTime: now, DeviceIndex: eniDeviceIndex, InstanceOwnerID: eniOwnerAmazon},
	}
}

// macOf derives an ENI's MAC address from its id: 0e (locally administered, unicast, as EC2's
// MACs are) and five bytes of the id's SHA-256.
func macOf(eniID string) string {
	h := sha256.Sum256([]byte(eniID))
	return fmt.Sprintf("0e:%02x:%02x:%02x:%02x:%02x", h[0], h[1], h[2], h[3], h[4])
}

// publicIPsInUse lists the public addresses of the scope's elastic IPs and ENIs.
func (e *ECS) publicIPsInUse(ctx context.Context, sc model.Scope) (map[string]bool, error) {
	used := map[string]bool{}
	eips, err := e.store.ElasticIPs().List(ctx, sc)
	if err != nil {
		return nil, err
	}
	for _, a := range eips {
		used[a.Value.PublicIP] = true
	}
	enis, err := e.store.NetworkInterfaces().List(ctx, sc)
	if err != nil {
		return nil, err
	}
	for _, n := range enis {
		if n.Value.PublicIP != "" {
			used[n.Value.PublicIP] = true
		}
	}
	return used, nil
}

// pickPublicIP takes an address of the elastic IP ranges not in used, from a random point, and
// marks it used; "" when every one is taken. Auto-assigned public IPs are not elastic IPs (they
// are not in DescribeAddresses), so nothing but the ENI records them.
func pickPublicIP(used map[string]bool) string {
	var all []netip.Addr
	for _, p := range publicPools {
		for a := p.Addr().Next(); p.Contains(a) && a.As4()[3] != 255; a = a.Next() {
			all = append(all, a)
		}
	}
	start := mathrand.N(len(all))
	for i := range all {
		a := all[(start+i)%len(all)].String()
		if !used[a] {
			used[a] = true
			return a
		}
	}
	return ""
}
