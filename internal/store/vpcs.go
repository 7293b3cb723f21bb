package store

import (
	"context"
	"time"

	"github.com/gantry-dev/gantry/internal/model"
)

// Key schema of the EC2 resources, one directory per type, each keyed by scope and id:
//
//	ec2/vpcs/<account>/<region>/<vpc id>
//	ec2/subnets/<account>/<region>/<subnet id>
//	ec2/securitygroups/<account>/<region>/<sg id>          (rules live inside the group)
//	ec2/internetgateways/<account>/<region>/<igw id>
//	ec2/natgateways/<account>/<region>/<nat id>
//	ec2/addresses/<account>/<region>/<public ip>           (keyed by IP: one allocation per IP)
//	ec2/routetables/<account>/<region>/<rtb id>            (routes and associations inside)
//	ec2/networkinterfaces/<account>/<region>/<eni id>
//	ec2/defaultvpc/<account>/<region>                      the default VPC's id, written once
//
// Checks that span records (a subnet's CIDR against its siblings, a group's name in its VPC, a
// VPC's dependencies before it goes) are made by ops against listings read after the VPC
// record, and committed with PutIn of the unchanged VPC at the revision read: the VPC record is
// the fence that serialises every change inside one VPC.

// ec2Table is a repository of one EC2 resource type keyed by scope and id.
type ec2Table[T any, R any] struct {
	t  *table[T, R]
	id func(T) (model.Scope, string)
}

func newEC2Table[T, R any](s *Store, dir string, to func(T) R, from func(R) T, id func(T) (model.Scope, string)) ec2Table[T, R] {
	return ec2Table[T, R]{t: &table[T, R]{s: s, dir: "ec2/" + dir, version: 1, toRecord: to, fromRecord: from}, id: id}
}

func (e ec2Table[T, R]) keyOf(v T) string {
	sc, id := e.id(v)
	return ScopeKey(sc) + id
}

// Get reads one resource; a missing one is apierr.NotFound.
func (e ec2Table[T, R]) Get(ctx context.Context, sc model.Scope, id string) (Versioned[T], error) {
	return e.t.Get(ctx, ScopeKey(sc)+id)
}

// List reads every resource of the scope, in id order.
func (e ec2Table[T, R]) List(ctx context.Context, sc model.Scope) ([]Versioned[T], error) {
	page, err := e.t.List(ctx, ScopeKey(sc), "", 0)
	return page.Items, err
}

// Create stores a new resource; an existing one is apierr.AlreadyExists.
func (e ec2Table[T, R]) Create(ctx context.Context, v T) (int64, error) {
	return e.t.Create(ctx, e.keyOf(v), v)
}

// PutIn adds a write of v to w: rev 0 creates it, otherwise it must still be at rev.
func (e ec2Table[T, R]) PutIn(w *Write, v T, rev int64) error {
	return e.t.PutIn(w, e.keyOf(v), v, rev)
}

// DeleteIn adds the deletion of v, read at rev, to w.
func (e ec2Table[T, R]) DeleteIn(w *Write, v T, rev int64) {
	e.t.DeleteIn(w, e.keyOf(v), rev)
}

// Mutate applies fn to a resource with optimistic retries; fn may run several times.
func (e ec2Table[T, R]) Mutate(ctx context.Context, sc model.Scope, id string, fn func(*T) error) (Versioned[T], error) {
	return e.t.Mutate(ctx, ScopeKey(sc)+id, fn)
}

// Watch streams changes of every scope after rev.
func (e ec2Table[T, R]) Watch(ctx context.Context, rev int64) <-chan Event[T] {
	return e.t.Watch(ctx, "", rev)
}

// Vpcs is the repository of VPCs.
type Vpcs struct{ ec2Table[model.Vpc, vpcRecord] }

// Vpcs returns the VPC repository.
func (s *Store) Vpcs() Vpcs {
	return Vpcs{newEC2Table(s, "vpcs", recordFromVpc, vpcFromRecord, func(v model.Vpc) (model.Scope, string) { return v.Scope, v.ID })}
}

type vpcRecord struct {
	Account            string      `json:"account"`
	Region             string      `json:"region"`
	ID                 string      `json:"id"`
	CidrBlock          string      `json:"cidr"`
	CidrAssociationID  string      `json:"cidrAssoc"`
	State              string      `json:"state"`
	DhcpOptionsID      string      `json:"dhcpOptions"`
	InstanceTenancy    string      `json:"tenancy"`
	IsDefault          bool        `json:"default,omitempty"`
	EnableDNSSupport   bool        `json:"dnsSupport,omitempty"`
	EnableDNSHostnames bool        `json:"dnsHostnames,omitempty"`
	MainRouteTableID   string      `json:"mainRouteTable"`
	DefaultGroupID     string      `json:"defaultGroup"`
	Tags               []tagRecord `json:"tags,omitempty"`
	CreatedAt          time.Time   `json:"createdAt"`
}

func recordFromVpc(v model.Vpc) vpcRecord {
	return vpcRecord{Account: v.Scope.Account, Region: v.Scope.Region, ID: v.ID, CidrBlock: v.CidrBlock,
		CidrAssociationID: v.CidrAssociationID, State: v.State, DhcpOptionsID: v.DhcpOptionsID,
		InstanceTenancy: v.InstanceTenancy, IsDefault: v.IsDefault, EnableDNSSupport: v.EnableDNSSupport,
		EnableDNSHostnames: v.EnableDNSHostnames, MainRouteTableID: v.MainRouteTableID,
		DefaultGroupID: v.DefaultGroupID, Tags: tagsToRecords(v.Tags), CreatedAt: v.CreatedAt}
}

func vpcFromRecord(r vpcRecord) model.Vpc {
	return model.Vpc{Scope: model.Scope{Account: r.Account, Region: r.Region}, ID: r.ID, CidrBlock: r.CidrBlock,
		CidrAssociationID: r.CidrAssociationID, State: r.State, DhcpOptionsID: r.DhcpOptionsID,
		InstanceTenancy: r.InstanceTenancy, IsDefault: r.IsDefault, EnableDNSSupport: r.EnableDNSSupport,
		EnableDNSHostnames: r.EnableDNSHostnames, MainRouteTableID: r.MainRouteTableID,
		DefaultGroupID: r.DefaultGroupID, Tags: tagsFromRecords(r.Tags), CreatedAt: r.CreatedAt}
}

// DefaultVpcs remembers, per scope, which VPC is the default one. The marker is written with
// rev 0 in the same transaction as the default VPC and everything in it, so concurrent first
// requests create it exactly once.
type DefaultVpcs struct {
	t *table[defaultVpc, defaultVpcRecord]
}

type defaultVpc struct {
	Scope model.Scope
	VpcID string
}

type defaultVpcRecord struct {
	VpcID string `json:"vpcId"`
}

// DefaultVpcs returns the default-VPC markers.
func (s *Store) DefaultVpcs() DefaultVpcs {
	return DefaultVpcs{&table[defaultVpc, defaultVpcRecord]{s: s, dir: "ec2/defaultvpc", version: 1,
		toRecord:   func(d defaultVpc) defaultVpcRecord { return defaultVpcRecord{VpcID: d.VpcID} },
		fromRecord: func(r defaultVpcRecord) defaultVpc { return defaultVpc{VpcID: r.VpcID} }}}
}

// Get returns the id of the scope's default VPC ("" once it was deleted) and the marker's
// revision; no marker yet is apierr.NotFound.
func (d DefaultVpcs) Get(ctx context.Context, sc model.Scope) (string, int64, error) {
	v, err := d.t.Get(ctx, sc.Account+"/"+sc.Region)
	return v.Value.VpcID, v.Revision, err
}

// CreateIn adds the marker to w; the commit fails with apierr.Conflict if one exists already.
func (d DefaultVpcs) CreateIn(w *Write, sc model.Scope, vpcID string) error {
	return d.t.PutIn(w, sc.Account+"/"+sc.Region, defaultVpc{Scope: sc, VpcID: vpcID}, 0)
}

// ClearIn adds to w the marker's change, read at rev, to "no default VPC" (DeleteVpc of the
// default VPC): the marker stays, so the default VPC is not created again, as on AWS.
func (d DefaultVpcs) ClearIn(w *Write, sc model.Scope, rev int64) error {
	return d.t.PutIn(w, sc.Account+"/"+sc.Region, defaultVpc{Scope: sc}, rev)
}
