package store

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/network/ipam"
)

// Key schema of task networking:
//
//	ec2/ippools/<account>/<region>/<subnet id>   the subnet's addresses that ENIs hold (ipam.Pool)
//
// RunTask writes a task's ENI record, its subnet's pool with the address marked used, and the
// unchanged VPC record at the revision it read (the fence that DeleteSubnet and
// DeleteSecurityGroup also write) in the same transaction as the task (Launch). The transaction
// that first writes the task STOPPED (Tasks.Mutate) gives the address back and deletes the ENI,
// so both happen exactly once.

// SubnetPool is the allocation state of one subnet's addresses.
type SubnetPool struct {
	Scope    model.Scope
	SubnetID string
	Pool     ipam.Pool
}

// IPPools is the repository of subnet address pools. A subnet without a record has no address
// in use: the first allocation creates it (PutIn at revision 0).
type IPPools struct {
	ec2Table[SubnetPool, ipPoolRecord]
}

// IPPools returns the address pool repository.
func (s *Store) IPPools() IPPools {
	return IPPools{newEC2Table(s, "ippools", recordFromPool, poolFromRecord,
		func(p SubnetPool) (model.Scope, string) { return p.Scope, p.SubnetID })}
}

// PoolFor reads the pool of sub, or returns an empty one at revision 0 when it has none yet.
func (p IPPools) PoolFor(ctx context.Context, sub model.Subnet) (Versioned[SubnetPool], error) {
	v, err := p.Get(ctx, sub.Scope, sub.ID)
	if err == nil || !errors.Is(err, apierr.NotFound) {
		return v, err
	}
	prefix, err := netip.ParsePrefix(sub.CidrBlock)
	if err != nil {
		return Versioned[SubnetPool]{}, fmt.Errorf("subnet %s cidr %q: %w", sub.ID, sub.CidrBlock, err)
	}
	pool, err := ipam.NewPool(prefix)
	if err != nil {
		return Versioned[SubnetPool]{}, fmt.Errorf("subnet %s: %w", sub.ID, err)
	}
	return Versioned[SubnetPool]{Value: SubnetPool{Scope: sub.Scope, SubnetID: sub.ID, Pool: pool}}, nil
}

type ipPoolRecord struct {
	Account  string   `json:"account"`
	Region   string   `json:"region"`
	SubnetID string   `json:"subnetId"`
	Prefix   string   `json:"prefix"`
	Used     []string `json:"used,omitempty"`
}

func recordFromPool(p SubnetPool) ipPoolRecord {
	r := ipPoolRecord{Account: p.Scope.Account, Region: p.Scope.Region, SubnetID: p.SubnetID, Prefix: p.Pool.Prefix.String()}
	for _, a := range p.Pool.Used {
		r.Used = append(r.Used, a.String())
	}
	return r
}

func poolFromRecord(r ipPoolRecord) SubnetPool {
	p := SubnetPool{Scope: model.Scope{Account: r.Account, Region: r.Region}, SubnetID: r.SubnetID}
	p.Pool.Prefix, _ = netip.ParsePrefix(r.Prefix) // written by recordFromPool: always valid
	for _, s := range r.Used {
		if a, err := netip.ParseAddr(s); err == nil {
			p.Pool.Used = append(p.Pool.Used, a)
		}
	}
	return p
}

// releaseNetworkIn adds to w the release of t's ENI: its address back into its subnet's pool
// and the deletion of its record. Either may be gone already (a deleted subnet, a crash
// repaired by hand): what is gone has nothing to release.
func (r Tasks) releaseNetworkIn(ctx context.Context, w *Write, t model.Task) error {
	n := t.TaskNetwork
	if n == nil {
		return nil
	}
	if a, err := netip.ParseAddr(n.PrivateIP); err == nil && n.Subnet.ID != "" {
		p, err := r.s.IPPools().Get(ctx, t.Scope, n.Subnet.ID)
		switch {
		case err == nil:
			p.Value.Pool = p.Value.Pool.Release(a)
			if err := r.s.IPPools().PutIn(w, p.Value, p.Revision); err != nil {
				return err
			}
		case !errors.Is(err, apierr.NotFound):
			return err
		}
	}
	if n.ENIID != "" {
		eni, err := r.s.NetworkInterfaces().Get(ctx, t.Scope, n.ENIID)
		switch {
		case err == nil:
			r.s.NetworkInterfaces().DeleteIn(w, eni.Value, eni.Revision)
		case !errors.Is(err, apierr.NotFound):
			return err
		}
	}
	return nil
}

// ENI attachment statuses as ECS shows them.
const (
	attachmentPrecreated = "PRECREATED"
	attachmentAttached   = "ATTACHED"
	attachmentDeleted    = "DELETED"
	attachmentTypeENI    = "ElasticNetworkInterface"
)

// syncAttachment moves the status of the ENI attachment of a task that has an ENI with the
// task: PRECREATED until RUNNING, ATTACHED from RUNNING on, DELETED once STOPPED.
func syncAttachment(t *model.Task) {
	if t.TaskNetwork == nil {
		return
	}
	status := attachmentPrecreated
	switch {
	case t.LastStatus == model.TaskStopped:
		status = attachmentDeleted
	case model.TaskRunning.CanMoveTo(t.LastStatus):
		status = attachmentAttached
	}
	for i, a := range t.Attachments {
		if a.Type == attachmentTypeENI && a.Status != status {
			t.Attachments = append(t.Attachments[:0:0], t.Attachments...)
			t.Attachments[i].Status = status
		}
	}
}

// SubnetRouteOf says how sub is routed by tables (its VPC's route tables): by the table
// explicitly associated with it, or else the VPC's main table. It is Public when that table
// has an active route to an internet gateway (igw-) and NAT when it has one to a NAT gateway
// (nat-). A blackhole route (its internet gateway detached from the VPC, its NAT gateway
// deleted: the operations that change a gateway mark its routes in the same transaction)
// gives no way out.
func SubnetRouteOf(sub model.Subnet, tables []model.RouteTable) model.SubnetRoute {
	out := model.SubnetRoute{ID: sub.ID, Cidr: sub.CidrBlock}
	table := routeTableOf(sub, tables)
	if table == nil {
		return out
	}
	for _, r := range table.Routes {
		if r.Blackhole {
			continue
		}
		if strings.HasPrefix(r.GatewayID, model.PrefixInternetGateway) {
			out.Public = true
		}
		if strings.HasPrefix(r.NatGatewayID, model.PrefixNatGateway) || strings.HasPrefix(r.GatewayID, model.PrefixNatGateway) {
			out.NAT = true
		}
	}
	return out
}

func routeTableOf(sub model.Subnet, tables []model.RouteTable) *model.RouteTable {
	var main *model.RouteTable
	for i, t := range tables {
		if t.VpcID != sub.VpcID {
			continue
		}
		for _, a := range t.Associations {
			if a.SubnetID == sub.ID {
				return &tables[i]
			}
		}
		if t.Main {
			main = &tables[i]
		}
	}
	return main
}

// VpcState is everything of one VPC that its hosts need to route and filter it, read at one
// store revision.
type VpcState struct {
	Vpc         model.Vpc
	Subnets     []model.Subnet
	Groups      []model.SecurityGroup
	RouteTables []model.RouteTable
	ENIs        []model.NetworkInterface
	Revision    int64
}

// VpcState reads the VPC vpcID (in whichever scope holds it) and its subnets, security groups,
// route tables and network interfaces, all at one store revision. A missing VPC is
// apierr.NotFound.
func (s *Store) VpcState(ctx context.Context, vpcID string) (VpcState, error) {
	return s.vpcState(ctx, vpcID, true)
}

// VpcRouting is VpcState without the network interfaces (ENIs is nil): what a VPC's routing
// needs, read without the cost of every interface of the account's scope.
func (s *Store) VpcRouting(ctx context.Context, vpcID string) (VpcState, error) {
	return s.vpcState(ctx, vpcID, false)
}

func (s *Store) vpcState(ctx context.Context, vpcID string, withENIs bool) (VpcState, error) {
	vpcs := s.Vpcs().t
	all, rev, err := listAt(ctx, vpcs, "", 0)
	if err != nil {
		return VpcState{}, err
	}
	out := VpcState{Revision: rev}
	found := false
	for _, v := range all {
		if v.ID == vpcID {
			out.Vpc, found = v, true
		}
	}
	if !found {
		return VpcState{}, fmt.Errorf("vpc %s: %w", vpcID, apierr.NotFound)
	}
	sk := ScopeKey(out.Vpc.Scope)
	subnets, _, err := listAt(ctx, s.Subnets().t, sk, rev)
	if err != nil {
		return VpcState{}, err
	}
	groups, _, err := listAt(ctx, s.SecurityGroups().t, sk, rev)
	if err != nil {
		return VpcState{}, err
	}
	tables, _, err := listAt(ctx, s.RouteTables().t, sk, rev)
	if err != nil {
		return VpcState{}, err
	}
	out.Subnets = keep(subnets, func(v model.Subnet) bool { return v.VpcID == vpcID })
	out.Groups = keep(groups, func(v model.SecurityGroup) bool { return v.VpcID == vpcID })
	out.RouteTables = keep(tables, func(v model.RouteTable) bool { return v.VpcID == vpcID })
	if !withENIs {
		return out, nil
	}
	enis, _, err := listAt(ctx, s.NetworkInterfaces().t, sk, rev)
	if err != nil {
		return VpcState{}, err
	}
	out.ENIs = keep(enis, func(v model.NetworkInterface) bool { return v.VpcID == vpcID })
	return out, nil
}

// listAt reads every value under prefix at store revision rev (0: the latest) and returns
// them with the revision read.
func listAt[T, R any](ctx context.Context, t *table[T, R], prefix string, rev int64) ([]T, int64, error) {
	opts := []clientv3.OpOption{clientv3.WithPrefix()}
	if rev > 0 {
		opts = append(opts, clientv3.WithRev(rev))
	}
	resp, err := t.s.get(ctx, t.key(prefix), opts...)
	if err != nil {
		return nil, 0, fmt.Errorf("list %s: %w", t.dir, err)
	}
	out := make([]T, 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		v, err := t.decodeKV(kv.Key, kv.Value)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, v)
	}
	return out, resp.Header.Revision, nil
}

func keep[T any](in []T, f func(T) bool) []T {
	var out []T
	for _, v := range in {
		if f(v) {
			out = append(out, v)
		}
	}
	return out
}
