package ops

import (
	"context"
	"errors"
	"net/netip"
	"strconv"
	"time"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/store"
)

// Targets. RegisterTargets writes each target with the state AWS gives a new registration
// (initial while a listener or rule forwards to the group, unused otherwise), comparing the
// target group's revision so a group deleted meanwhile takes no targets. DeregisterTargets
// moves them to draining; lbsync removes them (store.RemoveTarget) once the data plane has
// drained them. A group no listener uses, or whose deregistration delay is 0, has nothing to
// drain: its targets go at once.

// Descriptions of target states, as AWS words them.
const (
	descRegistrationInProgress   = "Target registration is in progress"
	descNotInUse                 = "Target group is not configured to receive traffic from the load balancer"
	descDeregistrationInProgress = "Target deregistration is in progress"
	descNotRegistered            = "Target is not registered to the target group"
)

// TargetHealth is one answer of DescribeTargetHealth: the target, its health and the port its
// health is checked on.
type TargetHealth struct {
	model.Target
	HealthCheckPort string
}

// checkTarget resolves t against tg: an IPv4 address in a subnet of the group's VPC, a port
// in 1-65535 (the group's when 0); the zone is the subnet's.
func (e *ELBv2) checkTarget(tg model.TargetGroup, vpc model.Vpc, subnets []model.Subnet, t model.Target) (model.Target, error) {
	addr, err := netip.ParseAddr(t.ID)
	if err != nil || !addr.Is4() {
		return t, elbErrorf(CodeInvalidTarget, "The IP address '%s' is not a valid IPv4 address", t.ID)
	}
	if t.Port == 0 {
		t.Port = tg.Port
	}
	if t.Port < 1 || t.Port > 65535 {
		return t, elbValidation("Target port '%d' must be between 1 and 65535", t.Port)
	}
	if cidr, err := netip.ParsePrefix(vpc.CidrBlock); err != nil || !cidr.Contains(addr) {
		return t, elbErrorf(CodeInvalidTarget, "The IP address '%s' is not within the CIDR block of VPC '%s' (%s)", t.ID, vpc.ID, vpc.CidrBlock)
	}
	zone := ""
	for _, s := range subnets {
		if p, err := netip.ParsePrefix(s.CidrBlock); err == nil && s.VpcID == vpc.ID && p.Contains(addr) {
			zone = s.AvailabilityZone
		}
	}
	if zone == "" {
		return t, elbErrorf(CodeInvalidTarget, "The IP address '%s' is not in any subnet of VPC '%s'", t.ID, vpc.ID)
	}
	if t.AvailabilityZone != "" && t.AvailabilityZone != "all" && t.AvailabilityZone != zone {
		return t, elbErrorf(CodeInvalidTarget, "The IP address '%s' is in Availability Zone '%s', not '%s'", t.ID, zone, t.AvailabilityZone)
	}
	t.AvailabilityZone = zone
	t.TargetGroupARN = tg.ARN
	return t, nil
}

// targetContext reads what checkTarget needs.
func (e *ELBv2) targetContext(ctx context.Context, sc model.Scope, tg model.TargetGroup) (model.Vpc, []model.Subnet, error) {
	vpc, err := e.store.Vpcs().Get(ctx, sc, tg.VpcID)
	if err != nil {
		return model.Vpc{}, nil, err
	}
	subnets, err := e.store.Subnets().List(ctx, sc)
	return vpc.Value, values(subnets), err
}

// RegisterTargets registers targets (ID: an IP address; Port 0: the group's port;
// AvailabilityZone optional) with the target group tgARN. A target registered already keeps
// its state, unless it was draining: then it starts again.
func (e *ELBv2) RegisterTargets(ctx context.Context, sc model.Scope, tgARN string, targets []model.Target) error {
	if len(targets) == 0 {
		return elbValidation("Targets cannot be empty")
	}
	return inBatches(targets, func(batch []model.Target) error { return e.registerTargets(ctx, sc, tgARN, batch) })
}

// targetBatch bounds the targets one transaction writes: etcd refuses transactions of more
// than 128 operations by default.
const targetBatch = 100

// inBatches calls fn with successive slices of at most targetBatch targets.
func inBatches(targets []model.Target, fn func([]model.Target) error) error {
	for len(targets) > 0 {
		n := min(len(targets), targetBatch)
		if err := fn(targets[:n]); err != nil {
			return err
		}
		targets = targets[n:]
	}
	return nil
}

func (e *ELBv2) registerTargets(ctx context.Context, sc model.Scope, tgARN string, targets []model.Target) error {
	return commitOrRetry(ctx, func() error {
		tg, err := e.targetGroup(ctx, sc, tgARN)
		if err != nil {
			return err
		}
		vpc, subnets, err := e.targetContext(ctx, sc, tg.Value)
		if err != nil {
			return err
		}
		inUse, err := e.targetGroupInUse(ctx, sc, tgARN)
		if err != nil {
			return err
		}
		existing, err := e.store.Targets().ListOf(ctx, tgARN)
		if err != nil {
			return err
		}
		count := len(existing)
		now := e.now().UTC()
		w := &store.Write{}
		e.store.TargetGroups().CheckIn(w, tg.Value, tg.Revision)
		written := map[string]bool{}
		for _, in := range targets {
			t, err := e.checkTarget(tg.Value, vpc, subnets, in)
			if err != nil {
				return err
			}
			key := t.ID + ":" + strconv.Itoa(int(t.Port))
			if written[key] {
				continue
			}
			written[key] = true
			cur, err := e.store.Targets().Get(ctx, tgARN, t.ID, t.Port)
			var rev int64
			switch {
			case err == nil && cur.Value.State != model.TargetDraining:
				continue // registered already
			case err == nil:
				rev = cur.Revision
			case errors.Is(err, apierr.NotFound):
				count++
			default:
				return err
			}
			t.RegisteredAt, t.DeregisteredAt = now, time.Time{}
			t.State, t.Reason, t.Description = model.TargetInitial, model.ReasonRegistrationInProgress, descRegistrationInProgress
			if !inUse {
				t.State, t.Reason, t.Description = model.TargetUnused, model.ReasonNotInUse, descNotInUse
			}
			if err := e.store.Targets().PutIn(w, t, rev); err != nil {
				return err
			}
		}
		if count > maxTargetsPerGroup {
			return elbErrorf(CodeTooManyTargets, "You've reached the limit on the number of targets registered to a target group (%d)", maxTargetsPerGroup)
		}
		_, err = e.store.Commit(ctx, w)
		return err
	})
}

// DeregisterTargets deregisters targets (Port 0: the group's port) from tgARN: they drain, or
// go at once when the group has nothing to drain (no listener uses it, or its deregistration
// delay is 0). A target that is not registered is InvalidTarget.
func (e *ELBv2) DeregisterTargets(ctx context.Context, sc model.Scope, tgARN string, targets []model.Target) error {
	if len(targets) == 0 {
		return elbValidation("Targets cannot be empty")
	}
	return inBatches(targets, func(batch []model.Target) error { return e.deregisterTargets(ctx, sc, tgARN, batch) })
}

func (e *ELBv2) deregisterTargets(ctx context.Context, sc model.Scope, tgARN string, targets []model.Target) error {
	return commitOrRetry(ctx, func() error {
		tg, err := e.targetGroup(ctx, sc, tgARN)
		if err != nil {
			return err
		}
		inUse, err := e.targetGroupInUse(ctx, sc, tgARN)
		if err != nil {
			return err
		}
		immediate := !inUse || tg.Value.Attributes[model.AttrDeregistrationDelay] == "0"
		now := e.now().UTC()
		w := &store.Write{}
		seen := map[string]bool{}
		for _, in := range targets {
			port := in.Port
			if port == 0 {
				port = tg.Value.Port
			}
			key := in.ID + ":" + strconv.Itoa(int(port))
			if seen[key] {
				continue
			}
			seen[key] = true
			cur, err := e.store.Targets().Get(ctx, tgARN, in.ID, port)
			if errors.Is(err, apierr.NotFound) {
				return elbErrorf(CodeInvalidTarget, "The following targets are not registered in target group '%s': '%s'", tgARN, key)
			}
			if err != nil {
				return err
			}
			switch {
			case immediate:
				e.store.Targets().DeleteIn(w, cur.Value, cur.Revision)
			case cur.Value.State == model.TargetDraining:
			default:
				t := cur.Value
				t.State, t.Reason, t.Description, t.DeregisteredAt = model.TargetDraining, model.ReasonDeregistrationInProgress, descDeregistrationInProgress, now
				if err := e.store.Targets().PutIn(w, t, cur.Revision); err != nil {
					return err
				}
			}
		}
		_, err = e.store.Commit(ctx, w)
		return err
	})
}

// DescribeTargetHealth returns the health of the targets of tgARN, or of those asked for (Port
// 0: the group's port); a target asked for that is not registered is unused
// (Target.NotRegistered).
func (e *ELBv2) DescribeTargetHealth(ctx context.Context, sc model.Scope, tgARN string, targets []model.Target) ([]TargetHealth, error) {
	tg, err := e.targetGroup(ctx, sc, tgARN)
	if err != nil {
		return nil, err
	}
	hcPort := func(t model.Target) string {
		if tg.Value.HealthCheck.Port == model.HealthCheckTrafficPort {
			return strconv.Itoa(int(t.Port))
		}
		return tg.Value.HealthCheck.Port
	}
	if len(targets) == 0 {
		all, err := e.store.Targets().ListOf(ctx, tgARN)
		if err != nil {
			return nil, err
		}
		out := make([]TargetHealth, len(all))
		for i, t := range all {
			out[i] = TargetHealth{Target: t.Value, HealthCheckPort: hcPort(t.Value)}
		}
		return out, nil
	}
	out := make([]TargetHealth, 0, len(targets))
	for _, in := range targets {
		if a, err := netip.ParseAddr(in.ID); err != nil || !a.Is4() {
			return nil, elbErrorf(CodeInvalidTarget, "The IP address '%s' is not a valid IPv4 address", in.ID)
		}
		if in.Port == 0 {
			in.Port = tg.Value.Port
		}
		cur, err := e.store.Targets().Get(ctx, tgARN, in.ID, in.Port)
		switch {
		case err == nil:
			out = append(out, TargetHealth{Target: cur.Value, HealthCheckPort: hcPort(cur.Value)})
		case errors.Is(err, apierr.NotFound):
			t := model.Target{TargetGroupARN: tgARN, ID: in.ID, Port: in.Port, AvailabilityZone: in.AvailabilityZone,
				State: model.TargetUnused, Reason: model.ReasonNotRegistered, Description: descNotRegistered}
			out = append(out, TargetHealth{Target: t, HealthCheckPort: hcPort(t)})
		default:
			return nil, err
		}
	}
	return out, nil
}
