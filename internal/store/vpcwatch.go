package store

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/model"
)

// VpcChange is one change to a record of the kinds a VpcState is made of, as WatchVpcStates
// streams it: exactly one of the record fields is set, to the new value or, for a deletion,
// the last one. Err is set on the last change of a watch that failed, and on a record that
// could not be decoded; the watcher reads the VPC again (VpcState).
type VpcChange struct {
	Revision   int64
	Deleted    bool
	Vpc        *model.Vpc
	Subnet     *model.Subnet
	Group      *model.SecurityGroup
	RouteTable *model.RouteTable
	ENI        *model.NetworkInterface
	Err        error
}

// vpcDecoders decode a value of each table a VpcState reads, by the table's directory under
// ec2/. The other EC2 tables (address pools, gateways, addresses) are not decoded.
func (s *Store) vpcDecoders() map[string]func(key, raw []byte, c *VpcChange) error {
	return map[string]func(key, raw []byte, c *VpcChange) error{
		"vpcs":              vpcDecoder(s.Vpcs().t, func(c *VpcChange, v *model.Vpc) { c.Vpc = v }),
		"subnets":           vpcDecoder(s.Subnets().t, func(c *VpcChange, v *model.Subnet) { c.Subnet = v }),
		"securitygroups":    vpcDecoder(s.SecurityGroups().t, func(c *VpcChange, v *model.SecurityGroup) { c.Group = v }),
		"routetables":       vpcDecoder(s.RouteTables().t, func(c *VpcChange, v *model.RouteTable) { c.RouteTable = v }),
		"networkinterfaces": vpcDecoder(s.NetworkInterfaces().t, func(c *VpcChange, v *model.NetworkInterface) { c.ENI = v }),
	}
}

func vpcDecoder[T, R any](t *table[T, R], set func(*VpcChange, *T)) func(key, raw []byte, c *VpcChange) error {
	return func(key, raw []byte, c *VpcChange) error {
		v, err := t.decodeKV(key, raw)
		if err != nil {
			return err
		}
		set(c, &v)
		return nil
	}
}

// WatchVpcStates streams the changes after store revision rev (a VpcState's Revision) to the
// records VpcState reads, of every VPC, in the order the store made them: one watch over one
// range of the EC2 directory, so that a VpcState kept up to date with Apply is always one the
// store held.
// The channel closes when ctx ends; a failed watch sends one change with Err set, then closes.
func (s *Store) WatchVpcStates(ctx context.Context, rev int64) <-chan VpcChange {
	out := make(chan VpcChange, 64)
	base := s.prefix + "/ec2/"
	decoders := s.vpcDecoders()
	// The watch spans the directories from the first to the last decoded one ("/" is followed
	// by "0"), so it skips the address pools that every launch writes.
	dirs := slices.Sorted(maps.Keys(decoders))
	from, to := base+dirs[0]+"/", base+dirs[len(dirs)-1]+"0"
	wch := s.cli.Watch(clientv3.WithRequireLeader(ctx), from, clientv3.WithRange(to), clientv3.WithRev(rev+1), clientv3.WithPrevKV())
	go func() {
		defer close(out)
		for resp := range wch {
			if err := resp.Err(); err != nil {
				sendEvent(ctx, out, VpcChange{Err: fmt.Errorf("watch vpc records: %w", err)})
				return
			}
			for _, ev := range resp.Events {
				dir, _, _ := strings.Cut(strings.TrimPrefix(string(ev.Kv.Key), base), "/")
				decode, ok := decoders[dir]
				if !ok {
					continue
				}
				c := VpcChange{Revision: ev.Kv.ModRevision, Deleted: ev.Type == clientv3.EventTypeDelete}
				raw := ev.Kv.Value
				if c.Deleted {
					raw = nil
					if ev.PrevKv != nil {
						raw = ev.PrevKv.Value
					}
				}
				switch {
				case raw == nil:
					c.Err = fmt.Errorf("deletion of %s without its last value", bytes.TrimPrefix(ev.Kv.Key, []byte(base)))
				default:
					c.Err = decode(ev.Kv.Key, raw, &c)
				}
				if !sendEvent(ctx, out, c) {
					return
				}
			}
		}
	}()
	return out
}

// Apply brings st up to date with c, a change WatchVpcStates streamed after st's Revision, and
// says whether st's records changed (a record of another VPC, or written again unchanged, does
// not change them). The deletion of st's VPC is apierr.NotFound; a change with Err set is that
// error. Records stay in id order, as VpcState reads them. A record is replaced whole, never
// modified inside, so a copy of it taken before (SnapshotOf copies st's records) keeps what it
// held; st's slices themselves change in place.
func (st *VpcState) Apply(c VpcChange) (bool, error) {
	if c.Err != nil {
		return false, c.Err
	}
	if c.Revision > st.Revision {
		st.Revision = c.Revision
	}
	if c.Vpc != nil {
		if c.Vpc.Scope != st.Vpc.Scope || c.Vpc.ID != st.Vpc.ID {
			return false, nil
		}
		if c.Deleted {
			return false, fmt.Errorf("vpc %s: %w", st.Vpc.ID, apierr.NotFound)
		}
		changed := !reflect.DeepEqual(st.Vpc, *c.Vpc)
		st.Vpc = *c.Vpc
		return changed, nil
	}
	var changed bool
	switch {
	case c.Subnet != nil:
		st.Subnets, changed = applyRecord(st, st.Subnets, *c.Subnet, c.Deleted, c.Subnet.VpcID, subnetKey)
	case c.Group != nil:
		st.Groups, changed = applyRecord(st, st.Groups, *c.Group, c.Deleted, c.Group.VpcID, securityGroupKey)
	case c.RouteTable != nil:
		st.RouteTables, changed = applyRecord(st, st.RouteTables, *c.RouteTable, c.Deleted, c.RouteTable.VpcID, routeTableKey)
	case c.ENI != nil:
		st.ENIs, changed = applyRecord(st, st.ENIs, *c.ENI, c.Deleted, c.ENI.VpcID, networkInterfaceKey)
	}
	return changed, nil
}

// applyRecord puts v, a record of vpcID whose scope and id key gives, into list, kept in id
// order, or takes it out when it is deleted or not st's VPC's. A record of another scope is
// left alone: ids are unique within a scope only. It says whether list changed.
func applyRecord[T any](st *VpcState, list []T, v T, deleted bool, vpcID string, key func(T) (model.Scope, string)) ([]T, bool) {
	sc, id := key(v)
	if sc != st.Vpc.Scope {
		return list, false
	}
	i, found := slices.BinarySearchFunc(list, id, func(e T, target string) int {
		_, eid := key(e)
		return strings.Compare(eid, target)
	})
	switch {
	case deleted || vpcID != st.Vpc.ID:
		if !found {
			return list, false
		}
		return slices.Delete(list, i, i+1), true
	case found && reflect.DeepEqual(list[i], v):
		return list, false
	case found:
		list[i] = v
		return list, true
	default:
		return slices.Insert(list, i, v), true
	}
}
