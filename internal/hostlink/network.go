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
// whole, as the store held it at one revision (its Revision, which only grows), so a host
// applies it in place of the one before; a slow reader skips to the newest. The VPC is read
// once and then kept up to date from the store's changes in their order (store.VpcState.Apply),
// so a change costs what it changes, not the VPC's size. The channel closes when ctx ends or
// the VPC is deleted. A VPC that does not exist is apierr.NotFound.
func (l *Link) WatchNetwork(ctx context.Context, vpcID string) (<-chan model.NetworkSnapshot, error) {
	st, err := l.st.VpcState(ctx, vpcID)
	if err != nil {
		return nil, fmt.Errorf("watch network of %s: %w", vpcID, err)
	}
	out := make(chan model.NetworkSnapshot, 1)
	out <- SnapshotOf(st)
	go l.followNetwork(ctx, st, out)
	return out, nil
}

// followNetwork keeps st up to date and sends its snapshots until ctx ends or the VPC is gone.
// After a failed watch it reads the VPC again, whole, and follows on from there.
func (l *Link) followNetwork(ctx context.Context, st store.VpcState, out chan model.NetworkSnapshot) {
	defer close(out)
	sent := st.Revision
	for ctx.Err() == nil {
		err := l.follow(ctx, &st, &sent, out)
		if ctx.Err() != nil || errors.Is(err, apierr.NotFound) {
			return
		}
		l.logger.Warn("network watch failed; reading again", "vpc_id", st.Vpc.ID, logx.KeyError, err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(l.backoff):
		}
		fresh, err := l.st.VpcState(ctx, st.Vpc.ID)
		switch {
		case errors.Is(err, apierr.NotFound):
			return
		case err != nil:
			continue // the watch from st's revision fails too if it is gone; then read again
		}
		st = fresh
		if err := sendSnapshot(ctx, SnapshotOf(st), &sent, out); err != nil {
			return
		}
	}
}

// follow applies the store's changes after st's revision to st and sends a snapshot
// networkCoalesce after the first change of a burst. It returns the watch's error, or
// apierr.NotFound when the VPC is deleted.
func (l *Link) follow(ctx context.Context, st *store.VpcState, sent *int64, out chan model.NetworkSnapshot) error {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	changes := l.st.WatchVpcStates(wctx, st.Revision)
	var timer <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case c, open := <-changes:
			if !open {
				return errors.New("watch closed")
			}
			changed, err := st.Apply(c)
			if err != nil {
				return err
			}
			if changed && timer == nil {
				timer = time.After(networkCoalesce)
			}
		case <-timer:
			timer = nil
			if err := sendSnapshot(ctx, SnapshotOf(*st), sent, out); err != nil {
				return err
			}
		}
	}
}

// sendSnapshot sends s if it is newer than the last sent, replacing one the reader has not
// taken yet.
func sendSnapshot(ctx context.Context, s model.NetworkSnapshot, sent *int64, out chan model.NetworkSnapshot) error {
	if s.Revision <= *sent {
		return nil
	}
	select {
	case <-out: // stale: the reader only needs the newest
	default:
	}
	select {
	case out <- s:
		*sent = s.Revision
		return nil
	case <-ctx.Done():
		return ctx.Err()
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
