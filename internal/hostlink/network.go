package hostlink

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/logx"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/store"
)

// networkCoalesce is how long a VPC's watch waits after a change for more before it builds a
// snapshot: a burst (a RunTask of ten tasks, a script authorizing rules) makes one snapshot.
const networkCoalesce = 20 * time.Millisecond

// WatchNetwork streams snapshots of the VPC vpcID's security and routing state (model.
// NetworkSnapshot): one at once, then a new one after every change to the VPC's security
// groups, network interfaces, subnets or route tables, bursts coalesced. Each snapshot is
// whole, read at one store revision (its Revision, which only grows), so a host applies it in
// place of the one before; a slow reader skips to the newest. The channel closes when ctx ends
// or the VPC is deleted. A VPC that does not exist is apierr.NotFound.
func (l *Link) WatchNetwork(ctx context.Context, vpcID string) (<-chan model.NetworkSnapshot, error) {
	st, err := l.st.VpcState(ctx, vpcID)
	if err != nil {
		return nil, fmt.Errorf("watch network of %s: %w", vpcID, err)
	}
	out := make(chan model.NetworkSnapshot, 1)
	out <- SnapshotOf(st)
	go l.followNetwork(ctx, vpcID, st.Revision, out)
	return out, nil
}

// followNetwork builds and sends snapshots after the changes it sees after rev, until ctx ends
// or the VPC is gone.
func (l *Link) followNetwork(ctx context.Context, vpcID string, rev int64, out chan model.NetworkSnapshot) {
	defer close(out)
	sent := rev
	for ctx.Err() == nil {
		wctx, cancel := context.WithCancel(ctx)
		changes := l.vpcChanges(wctx, vpcID, rev)
		err := l.coalesce(ctx, vpcID, changes, &sent, out)
		cancel()
		if ctx.Err() != nil || errors.Is(err, apierr.NotFound) {
			return
		}
		l.logger.Warn("network watch failed; reading again", "vpc_id", vpcID, logx.KeyError, err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(l.backoff):
		}
		// Whatever changed while the watch was down is in the next snapshot.
		if err := l.sendSnapshot(ctx, vpcID, &sent, out); errors.Is(err, apierr.NotFound) {
			return
		}
		rev = sent
	}
}

// coalesce waits for changes and sends a snapshot networkCoalesce after the first of a burst.
// It returns the watch's error, or the snapshot's.
func (l *Link) coalesce(ctx context.Context, vpcID string, changes <-chan error, sent *int64, out chan model.NetworkSnapshot) error {
	var timer <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-changes:
			if err != nil {
				return err
			}
			if timer == nil {
				timer = time.After(networkCoalesce)
			}
		case <-timer:
			timer = nil
			if err := l.sendSnapshot(ctx, vpcID, sent, out); err != nil {
				return err
			}
		}
	}
}

// sendSnapshot reads the VPC and sends its snapshot if it is newer than the last sent,
// replacing one the reader has not taken yet.
func (l *Link) sendSnapshot(ctx context.Context, vpcID string, sent *int64, out chan model.NetworkSnapshot) error {
	st, err := l.st.VpcState(ctx, vpcID)
	if err != nil {
		return err
	}
	if st.Revision <= *sent {
		return nil
	}
	select {
	case <-out: // stale: the reader only needs the newest
	default:
	}
	select {
	case out <- SnapshotOf(st):
		*sent = st.Revision
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// vpcChanges merges the watches of the records a snapshot is made of into one channel that
// carries nil for a change of vpcID's records and the error of a failed watch.
func (l *Link) vpcChanges(ctx context.Context, vpcID string, rev int64) <-chan error {
	out := make(chan error, 1)
	go forward(ctx, l.st.SecurityGroups().Watch(ctx, rev), func(g model.SecurityGroup) bool { return g.VpcID == vpcID }, out)
	go forward(ctx, l.st.NetworkInterfaces().Watch(ctx, rev), func(n model.NetworkInterface) bool { return n.VpcID == vpcID }, out)
	go forward(ctx, l.st.RouteTables().Watch(ctx, rev), func(t model.RouteTable) bool { return t.VpcID == vpcID }, out)
	go forward(ctx, l.st.Subnets().Watch(ctx, rev), func(s model.Subnet) bool { return s.VpcID == vpcID }, out)
	go forward(ctx, l.st.Vpcs().Watch(ctx, rev), func(v model.Vpc) bool { return v.ID == vpcID }, out)
	return out
}

// forward signals on out each event of in that mine accepts, and in's error, until ctx ends.
// Signals of changes are dropped while one is pending: the reader reads everything anyway.
func forward[T any](ctx context.Context, in <-chan store.Event[T], mine func(T) bool, out chan<- error) {
	for ev := range in {
		switch {
		case ev.Err != nil:
			select {
			case out <- ev.Err:
			case <-ctx.Done():
			}
			return
		case mine(ev.Value):
			select {
			case out <- nil:
			default:
			}
		}
	}
	if ctx.Err() == nil {
		select {
		case out <- errors.New("watch closed"):
		case <-ctx.Done():
		}
	}
}

// SnapshotOf is the security and routing state of st's VPC as its hosts apply it: the groups
// with their rules, every subnet's routing facts, and the private IPs of the in-use ENIs by
// group (Members, every group present) and the groups of each (ENIGroups).
func SnapshotOf(st store.VpcState) model.NetworkSnapshot {
	s := model.NetworkSnapshot{VpcID: st.Vpc.ID, VpcCidr: st.Vpc.CidrBlock, Revision: st.Revision,
		Subnets: []model.SubnetRoute{}, Groups: []model.SecurityGroup{}, Members: map[string][]string{}, ENIGroups: map[string][]string{}}
	for _, sub := range st.Subnets {
		s.Subnets = append(s.Subnets, store.SubnetRouteOf(sub, st.RouteTables))
	}
	for _, g := range st.Groups {
		s.Groups = append(s.Groups, g)
		s.Members[g.ID] = []string{}
	}
	for _, n := range st.ENIs {
		if n.Status != model.StateInUse || n.PrivateIP == "" {
			continue
		}
		s.ENIGroups[n.PrivateIP] = slices.Clone(n.GroupIDs)
		for _, g := range n.GroupIDs {
			s.Members[g] = append(s.Members[g], n.PrivateIP)
		}
	}
	for g := range s.Members {
		slices.Sort(s.Members[g])
	}
	return s
}
