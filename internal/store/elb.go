package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/model"
)

// Key schema of Elastic Load Balancing (v2); every key is under elb/:
//
//	elb/loadbalancers/<account>/<region>/<name>                      (names are unique per scope)
//	elb/targetgroups/<account>/<region>/<name>
//	elb/listeners/<account>/<region>/<lb name>/<listener id>
//	elb/rules/<account>/<region>/<lb name>/<listener id>/<rule id>   (not the default rule: it is the
//	                                                                  listener's DefaultActions)
//	elb/targets/<account>/<region>/<tg name>/<ip>/<port>
//	elb/hostaddrs/<address>                                          the load balancer holding a host address
//
// A record found by name whose ARN differs from the one asked for is a different (recreated)
// resource: lookups by ARN treat it as missing.

// ELBSnapshot is every load balancer, listener, rule, target group and target of every scope,
// read at one store revision.
type ELBSnapshot struct {
	LoadBalancers []model.LoadBalancer
	Listeners     []model.Listener
	// Rules are the listeners' non-default rules; a listener's default rule is its DefaultActions.
	Rules        []model.Rule
	TargetGroups []model.TargetGroup
	Targets      []model.Target
	// Revision is the store revision everything was read at; pass it to WatchELB.
	Revision int64
}

// ELBSnapshot reads every ELB record of every scope at one store revision.
func (s *Store) ELBSnapshot(ctx context.Context) (ELBSnapshot, error) {
	lbs, rev, err := listAt(ctx, s.LoadBalancers().t, "", 0)
	if err != nil {
		return ELBSnapshot{}, err
	}
	out := ELBSnapshot{LoadBalancers: lbs, Revision: rev}
	if out.Listeners, _, err = listAt(ctx, s.Listeners().t, "", rev); err != nil {
		return ELBSnapshot{}, err
	}
	if out.Rules, _, err = listAt(ctx, s.Rules().t, "", rev); err != nil {
		return ELBSnapshot{}, err
	}
	if out.TargetGroups, _, err = listAt(ctx, s.TargetGroups().t, "", rev); err != nil {
		return ELBSnapshot{}, err
	}
	if out.Targets, _, err = listAt(ctx, s.Targets().t, "", rev); err != nil {
		return ELBSnapshot{}, err
	}
	return out, nil
}

// WatchELB signals every change under the ELB keys made after store revision rev (an
// ELBSnapshot's Revision): the channel (capacity 1) receives a value after each change, several
// changes in a row coalescing into one signal, so the receiver should take a fresh ELBSnapshot.
// The channel closes when ctx ends or the watch fails (a compacted revision, a lost leader):
// the receiver then takes a snapshot and watches again from its revision.
func (s *Store) WatchELB(ctx context.Context, rev int64) <-chan struct{} {
	out := make(chan struct{}, 1)
	wch := s.cli.Watch(clientv3.WithRequireLeader(ctx), s.prefix+"/elb/", clientv3.WithPrefix(), clientv3.WithRev(rev+1))
	go func() {
		defer close(out)
		for resp := range wch {
			if resp.Err() != nil || resp.Canceled {
				return
			}
			if len(resp.Events) == 0 {
				continue
			}
			select {
			case out <- struct{}{}:
			default: // a signal is pending already
			}
		}
	}()
	return out
}

// SetTargetHealth records the health of target id:port of the target group tgARN as the data
// plane saw it: state (initial, healthy, unhealthy, unavailable ...), AWS's reason code ("" for
// healthy) and description. It is a read-modify-write (Mutate), so a concurrent
// RegisterTargets or DeregisterTargets is never lost. It does nothing when the target is not
// registered (any more), and never changes a draining target: only RemoveTarget (once drained)
// or a new RegisterTargets does.
func (s *Store) SetTargetHealth(ctx context.Context, tgARN, id string, port int32, state, reason, description string) error {
	key, ok := targetKeyOf(tgARN, id, port)
	if !ok {
		return nil
	}
	_, err := s.Targets().t.Mutate(ctx, key, func(t *model.Target) error {
		if t.TargetGroupARN != tgARN || t.State == model.TargetDraining {
			return nil
		}
		t.State, t.Reason, t.Description = state, reason, description
		return nil
	})
	if errors.Is(err, apierr.NotFound) {
		return nil
	}
	return err
}

// RemoveTarget deletes target id:port of tgARN once the data plane has drained it, only if it
// is still draining (a target registered again meanwhile stays). A target that is gone is
// fine.
func (s *Store) RemoveTarget(ctx context.Context, tgARN, id string, port int32) error {
	key, ok := targetKeyOf(tgARN, id, port)
	if !ok {
		return nil
	}
	tbl := s.Targets().t
	for attempt := 0; ; attempt++ {
		cur, err := tbl.Get(ctx, key)
		if errors.Is(err, apierr.NotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if cur.Value.TargetGroupARN != tgARN || cur.Value.State != model.TargetDraining {
			return nil
		}
		err = tbl.Delete(ctx, key, cur.Revision)
		if apierr.KindOf(err) != apierr.Conflict || attempt >= maxMutateAttempts {
			return err
		}
		if err := backoff(ctx, attempt); err != nil {
			return err
		}
	}
}

// SetLoadBalancerState moves the load balancer arn to state (provisioning, active, failed).
// A load balancer that is gone (or was recreated under another ARN) is apierr.NotFound.
func (s *Store) SetLoadBalancerState(ctx context.Context, arn, state string) error {
	a, ok := model.ParseELBARN(arn)
	if !ok || a.Kind != "loadbalancer" {
		return fmt.Errorf("load balancer %q: %w", arn, apierr.NotFound)
	}
	_, err := s.LoadBalancers().t.Mutate(ctx, ScopeKey(a.Scope)+a.Name, func(lb *model.LoadBalancer) error {
		if lb.ARN != arn {
			return fmt.Errorf("load balancer %q: %w", arn, apierr.NotFound)
		}
		lb.State = state
		return nil
	})
	return err
}

// The repositories.

// elbTable is a table of one ELB resource whose key is derived from the value.
type elbTable[T, R any] struct {
	t   *table[T, R]
	key func(T) string
}

// Get reads the record at key (relative to the table).
func (e elbTable[T, R]) get(ctx context.Context, key string) (Versioned[T], error) {
	return e.t.Get(ctx, key)
}

// PutIn adds a write of v to w: rev 0 creates it, otherwise it must still be at rev.
func (e elbTable[T, R]) PutIn(w *Write, v T, rev int64) error { return e.t.PutIn(w, e.key(v), v, rev) }

// DeleteIn adds the deletion of v, read at rev, to w.
func (e elbTable[T, R]) DeleteIn(w *Write, v T, rev int64) { e.t.DeleteIn(w, e.key(v), rev) }

// CheckIn adds to w the condition that v is still at rev (0: still absent), without writing it.
func (e elbTable[T, R]) CheckIn(w *Write, v T, rev int64) {
	w.cmps = append(w.cmps, clientv3.Compare(clientv3.ModRevision(e.t.key(e.key(v))), "=", rev))
}

func (e elbTable[T, R]) list(ctx context.Context, prefix string) ([]Versioned[T], error) {
	page, err := e.t.List(ctx, prefix, "", 0)
	return page.Items, err
}

// deletePrefixIn adds to w the deletion of every record under prefix.
func (e elbTable[T, R]) deletePrefixIn(w *Write, prefix string) {
	w.ops = append(w.ops, clientv3.OpDelete(e.t.key(prefix), clientv3.WithPrefix()))
}

func newELBTable[T, R any](s *Store, dir string, to func(T) R, from func(R) T, key func(T) string) elbTable[T, R] {
	return elbTable[T, R]{t: &table[T, R]{s: s, dir: "elb/" + dir, version: 1, toRecord: to, fromRecord: from}, key: key}
}

// LoadBalancers is the repository of load balancers, keyed by scope and name.
type LoadBalancers struct {
	elbTable[model.LoadBalancer, loadBalancerRecord]
}

// LoadBalancers returns the load balancer repository.
func (s *Store) LoadBalancers() LoadBalancers {
	return LoadBalancers{newELBTable(s, "loadbalancers", recordFromLoadBalancer, loadBalancerFromRecord,
		func(v model.LoadBalancer) string { return ScopeKey(v.Scope) + v.Name })}
}

// Get reads the load balancer name of sc.
func (r LoadBalancers) Get(ctx context.Context, sc model.Scope, name string) (Versioned[model.LoadBalancer], error) {
	return r.get(ctx, ScopeKey(sc)+name)
}

// List reads every load balancer of sc, in name order.
func (r LoadBalancers) List(ctx context.Context, sc model.Scope) ([]Versioned[model.LoadBalancer], error) {
	return r.list(ctx, ScopeKey(sc))
}

// Mutate applies fn to the load balancer name with optimistic retries; fn may run several times.
func (r LoadBalancers) Mutate(ctx context.Context, sc model.Scope, name string, fn func(*model.LoadBalancer) error) (Versioned[model.LoadBalancer], error) {
	return r.t.Mutate(ctx, ScopeKey(sc)+name, fn)
}

// TargetGroups is the repository of target groups, keyed by scope and name.
type TargetGroups struct {
	elbTable[model.TargetGroup, targetGroupRecord]
}

// TargetGroups returns the target group repository.
func (s *Store) TargetGroups() TargetGroups {
	return TargetGroups{newELBTable(s, "targetgroups", recordFromTargetGroup, targetGroupFromRecord,
		func(v model.TargetGroup) string { return ScopeKey(v.Scope) + v.Name })}
}

// Get reads the target group name of sc.
func (r TargetGroups) Get(ctx context.Context, sc model.Scope, name string) (Versioned[model.TargetGroup], error) {
	return r.get(ctx, ScopeKey(sc)+name)
}

// List reads every target group of sc, in name order.
func (r TargetGroups) List(ctx context.Context, sc model.Scope) ([]Versioned[model.TargetGroup], error) {
	return r.list(ctx, ScopeKey(sc))
}

// Mutate applies fn to the target group name with optimistic retries.
func (r TargetGroups) Mutate(ctx context.Context, sc model.Scope, name string, fn func(*model.TargetGroup) error) (Versioned[model.TargetGroup], error) {
	return r.t.Mutate(ctx, ScopeKey(sc)+name, fn)
}

// Listeners is the repository of listeners, keyed by scope, load balancer name and id.
type Listeners struct {
	elbTable[model.Listener, listenerRecord]
}

// Listeners returns the listener repository.
func (s *Store) Listeners() Listeners {
	return Listeners{newELBTable(s, "listeners", recordFromListener, listenerFromRecord,
		func(v model.Listener) string {
			a, _ := model.ParseELBARN(v.ARN)
			return ScopeKey(v.Scope) + a.Name + "/" + a.ListenerID
		})}
}

// Get reads listener id of load balancer lbName.
func (r Listeners) Get(ctx context.Context, sc model.Scope, lbName, id string) (Versioned[model.Listener], error) {
	return r.get(ctx, ScopeKey(sc)+lbName+"/"+id)
}

// ListOf reads the listeners of load balancer lbName.
func (r Listeners) ListOf(ctx context.Context, sc model.Scope, lbName string) ([]Versioned[model.Listener], error) {
	return r.list(ctx, ScopeKey(sc)+lbName+"/")
}

// List reads every listener of sc.
func (r Listeners) List(ctx context.Context, sc model.Scope) ([]Versioned[model.Listener], error) {
	return r.list(ctx, ScopeKey(sc))
}

// Mutate applies fn to listener id of load balancer lbName with optimistic retries.
func (r Listeners) Mutate(ctx context.Context, sc model.Scope, lbName, id string, fn func(*model.Listener) error) (Versioned[model.Listener], error) {
	return r.t.Mutate(ctx, ScopeKey(sc)+lbName+"/"+id, fn)
}

// DeleteAllOfIn adds to w the deletion of every listener of load balancer lbName.
func (r Listeners) DeleteAllOfIn(w *Write, sc model.Scope, lbName string) {
	r.deletePrefixIn(w, ScopeKey(sc)+lbName+"/")
}

// Rules is the repository of listener rules, keyed by scope, load balancer name, listener id
// and rule id.
type Rules struct {
	elbTable[model.Rule, ruleRecord]
}

// Rules returns the rule repository.
func (s *Store) Rules() Rules {
	return Rules{newELBTable(s, "rules", recordFromRule, ruleFromRecord,
		func(v model.Rule) string {
			a, _ := model.ParseELBARN(v.ARN)
			return ScopeKey(v.Scope) + a.Name + "/" + a.ListenerID + "/" + a.RuleID
		})}
}

// Get reads rule id of listener lid of load balancer lbName.
func (r Rules) Get(ctx context.Context, sc model.Scope, lbName, lid, id string) (Versioned[model.Rule], error) {
	return r.get(ctx, ScopeKey(sc)+lbName+"/"+lid+"/"+id)
}

// ListOf reads the rules of listener lid of load balancer lbName.
func (r Rules) ListOf(ctx context.Context, sc model.Scope, lbName, lid string) ([]Versioned[model.Rule], error) {
	return r.list(ctx, ScopeKey(sc)+lbName+"/"+lid+"/")
}

// List reads every rule of sc.
func (r Rules) List(ctx context.Context, sc model.Scope) ([]Versioned[model.Rule], error) {
	return r.list(ctx, ScopeKey(sc))
}

// Mutate applies fn to rule id of listener lid of load balancer lbName with optimistic retries.
func (r Rules) Mutate(ctx context.Context, sc model.Scope, lbName, lid, id string, fn func(*model.Rule) error) (Versioned[model.Rule], error) {
	return r.t.Mutate(ctx, ScopeKey(sc)+lbName+"/"+lid+"/"+id, fn)
}

// DeleteAllOfIn adds to w the deletion of every rule of listener lid ("": of every listener)
// of load balancer lbName.
func (r Rules) DeleteAllOfIn(w *Write, sc model.Scope, lbName, lid string) {
	p := ScopeKey(sc) + lbName + "/"
	if lid != "" {
		p += lid + "/"
	}
	r.deletePrefixIn(w, p)
}

// Targets is the repository of registered targets, keyed by scope, target group name, IP and
// port.
type Targets struct {
	elbTable[model.Target, targetRecord]
}

// Targets returns the target repository.
func (s *Store) Targets() Targets {
	return Targets{newELBTable(s, "targets", recordFromTarget, targetFromRecord,
		func(v model.Target) string { k, _ := targetKeyOf(v.TargetGroupARN, v.ID, v.Port); return k })}
}

// targetKeyOf is the key of target id:port of tgARN; false for an ARN that is not a target
// group's.
func targetKeyOf(tgARN, id string, port int32) (string, bool) {
	a, ok := model.ParseELBARN(tgARN)
	if !ok || a.Kind != "targetgroup" {
		return "", false
	}
	return ScopeKey(a.Scope) + a.Name + "/" + id + "/" + strconv.Itoa(int(port)), true
}

// Get reads target id:port of tgARN.
func (r Targets) Get(ctx context.Context, tgARN, id string, port int32) (Versioned[model.Target], error) {
	k, ok := targetKeyOf(tgARN, id, port)
	if !ok {
		return Versioned[model.Target]{}, fmt.Errorf("target group %q: %w", tgARN, apierr.NotFound)
	}
	v, err := r.get(ctx, k)
	if err == nil && v.Value.TargetGroupARN != tgARN {
		return Versioned[model.Target]{}, fmt.Errorf("target %s:%d: %w", id, port, apierr.NotFound)
	}
	return v, err
}

// ListOf reads the targets of target group tgARN.
func (r Targets) ListOf(ctx context.Context, tgARN string) ([]Versioned[model.Target], error) {
	a, ok := model.ParseELBARN(tgARN)
	if !ok {
		return nil, nil
	}
	all, err := r.list(ctx, ScopeKey(a.Scope)+a.Name+"/")
	return keep(all, func(v Versioned[model.Target]) bool { return v.Value.TargetGroupARN == tgARN }), err
}

// Mutate applies fn to target id:port of tgARN with optimistic retries.
func (r Targets) Mutate(ctx context.Context, tgARN, id string, port int32, fn func(*model.Target) error) (Versioned[model.Target], error) {
	k, ok := targetKeyOf(tgARN, id, port)
	if !ok {
		return Versioned[model.Target]{}, fmt.Errorf("target group %q: %w", tgARN, apierr.NotFound)
	}
	return r.t.Mutate(ctx, k, fn)
}

// DeleteAllOfIn adds to w the deletion of every target of the target group name.
func (r Targets) DeleteAllOfIn(w *Write, sc model.Scope, tgName string) {
	r.deletePrefixIn(w, ScopeKey(sc)+tgName+"/")
}

// HostAddresses records which load balancer holds each address of --lb-address-pool.
type HostAddresses struct {
	t *table[hostAddress, hostAddressRecord]
}

type hostAddress struct{ Address, LoadBalancerARN string }

type hostAddressRecord struct {
	LoadBalancerARN string `json:"lb"`
}

// HostAddresses returns the host address repository.
func (s *Store) HostAddresses() HostAddresses {
	return HostAddresses{&table[hostAddress, hostAddressRecord]{s: s, dir: "elb/hostaddrs", version: 1,
		toRecord:   func(h hostAddress) hostAddressRecord { return hostAddressRecord{LoadBalancerARN: h.LoadBalancerARN} },
		fromRecord: func(r hostAddressRecord) hostAddress { return hostAddress{LoadBalancerARN: r.LoadBalancerARN} }}}
}

// InUse returns every held address and the ARN of its holder.
func (h HostAddresses) InUse(ctx context.Context) (map[string]string, error) {
	page, err := h.t.List(ctx, "", "", 0)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(page.Items))
	for i, v := range page.Items {
		out[page.Keys[i]] = v.Value.LoadBalancerARN
	}
	return out, nil
}

// ClaimIn adds to w the claim of addr for lbARN; the commit fails with apierr.Conflict when
// another load balancer holds it.
func (h HostAddresses) ClaimIn(w *Write, addr, lbARN string) error {
	return h.t.PutIn(w, addr, hostAddress{Address: addr, LoadBalancerARN: lbARN}, 0)
}

// ReleaseIn adds to w the release of addr, whoever holds it.
func (h HostAddresses) ReleaseIn(w *Write, addr string) {
	w.ops = append(w.ops, clientv3.OpDelete(h.t.key(addr)))
}
