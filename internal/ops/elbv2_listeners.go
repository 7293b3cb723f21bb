package ops

import (
	"context"
	"errors"
	"slices"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/store"
)

// Listeners. A listener write also writes its load balancer back unchanged (the fence: two
// listeners on one port, or a listener and DeleteLoadBalancer, cannot both commit) and every
// target group it forwards to (so DeleteTargetGroup cannot miss it).

// DefaultSSLPolicy is the security policy of an HTTPS listener created without one.
const DefaultSSLPolicy = "ELBSecurityPolicy-2016-08"

// ListenerInput is CreateListener's request, and ModifyListener's (where zero values keep the
// listener's settings).
type ListenerInput struct {
	LoadBalancerARN string
	Protocol        string
	Port            *int32
	SslPolicy       string
	Certificates    []model.ListenerCertificate
	DefaultActions  []ActionInput
	AlpnPolicy      []string
	Tags            []model.Tag
}

// CreateListener adds a listener to a load balancer. Creating one again with the same settings
// returns it.
func (e *ELBv2) CreateListener(ctx context.Context, sc model.Scope, in ListenerInput) (model.Listener, error) {
	if err := checkELBTags(in.Tags); err != nil {
		return model.Listener{}, err
	}
	var out model.Listener
	err := commitOrRetry(ctx, func() error {
		lb, err := e.loadBalancer(ctx, sc, in.LoadBalancerARN)
		if err != nil {
			return err
		}
		l := model.Listener{Scope: sc, ARN: model.ListenerARN(lb.Value.ARN, newELBID()), LoadBalancerARN: lb.Value.ARN, Tags: in.Tags}
		if in.Protocol == "" {
			return elbValidation("A listener protocol must be specified")
		}
		if in.Port == nil {
			return elbValidation("A listener port must be specified")
		}
		groups, err := e.applyListener(ctx, sc, lb.Value, &l, in)
		if err != nil {
			return err
		}
		siblings, err := e.store.Listeners().ListOf(ctx, sc, lb.Value.Name)
		if err != nil {
			return err
		}
		for _, s := range siblings {
			if s.Value.Port == l.Port {
				if sameListener(s.Value, l) {
					out = s.Value
					return nil
				}
				return elbErrorf(CodeDuplicateListener, "A listener already exists on this port for this load balancer '%s'", lb.Value.ARN)
			}
		}
		if len(siblings) >= maxListenersPerLB {
			return elbErrorf(CodeTooManyListeners, "A load balancer can have at most %d listeners", maxListenersPerLB)
		}
		w := &store.Write{}
		errs := []error{e.store.Listeners().PutIn(w, l, 0), e.store.LoadBalancers().PutIn(w, lb.Value, lb.Revision)}
		for _, g := range groups {
			errs = append(errs, e.store.TargetGroups().PutIn(w, g.Value, g.Revision))
		}
		if err := errors.Join(errs...); err != nil {
			return err
		}
		if _, err := e.store.Commit(ctx, w); err != nil {
			return err
		}
		out = l
		return nil
	})
	if err != nil {
		return model.Listener{}, err
	}
	return out, e.syncTargetUse(ctx, sc, actionGroups(out.DefaultActions))
}

// sameListener says whether a and b have the same settings.
func sameListener(a, b model.Listener) bool {
	return a.Port == b.Port && a.Protocol == b.Protocol && a.SslPolicy == b.SslPolicy &&
		slices.Equal(a.Certificates, b.Certificates) && slices.EqualFunc(a.DefaultActions, b.DefaultActions, sameAction)
}

func sameAction(a, b model.Action) bool {
	eq := func(x, y any) bool { return x == y }
	if a.Type != b.Type || a.Order != b.Order || a.TargetGroupARN != b.TargetGroupARN {
		return false
	}
	switch {
	case a.ForwardConfig != nil && b.ForwardConfig != nil:
		return slices.Equal(a.ForwardConfig.TargetGroups, b.ForwardConfig.TargetGroups) &&
			a.ForwardConfig.StickinessEnabled == b.ForwardConfig.StickinessEnabled &&
			a.ForwardConfig.StickinessDuration == b.ForwardConfig.StickinessDuration
	case a.RedirectConfig != nil && b.RedirectConfig != nil:
		return eq(*a.RedirectConfig, *b.RedirectConfig)
	case a.FixedResponseConfig != nil && b.FixedResponseConfig != nil:
		return eq(*a.FixedResponseConfig, *b.FixedResponseConfig)
	}
	return false
}

// applyListener checks in and applies what it sets to l (protocol, port, TLS settings,
// default actions); it returns the target groups the actions forward to.
func (e *ELBv2) applyListener(ctx context.Context, sc model.Scope, lb model.LoadBalancer, l *model.Listener, in ListenerInput) ([]store.Versioned[model.TargetGroup], error) {
	if in.Protocol != "" {
		switch in.Protocol {
		case model.ProtocolHTTP, model.ProtocolHTTPS:
		default:
			return nil, elbErrorf(CodeUnsupportedProtocol, "Protocol '%s' is not supported by load balancers of type 'application'. Valid values are: HTTP, HTTPS", in.Protocol)
		}
		l.Protocol = in.Protocol
	}
	if in.Port != nil {
		if *in.Port < 1 || *in.Port > 65535 {
			return nil, elbValidation("Listener port '%d' must be between 1 and 65535", *in.Port)
		}
		l.Port = *in.Port
	}
	if len(in.AlpnPolicy) > 0 {
		return nil, elbValidation("ALPN policies can only be specified for TLS listeners of Network Load Balancers")
	}
	if in.SslPolicy != "" {
		if _, ok := sslPolicy(in.SslPolicy); !ok {
			return nil, elbErrorf(CodeSSLPolicyNotFound, "SSL policy '%s' not found", in.SslPolicy)
		}
		l.SslPolicy = in.SslPolicy
	}
	if len(in.Certificates) > 0 {
		l.Certificates = nil
		for _, c := range in.Certificates {
			if c.CertificateARN == "" {
				return nil, elbValidation("A certificate ARN must be specified")
			}
			if e.certs != nil {
				if err := e.certs.CertificateExists(ctx, sc, c.CertificateARN); err != nil {
					if apierr.KindOf(err) == apierr.NotFound || apierr.KindOf(err) == apierr.InvalidParameter {
						return nil, elbErrorf(CodeCertificateNotFound, "Certificate '%s' not found", c.CertificateARN)
					}
					return nil, err
				}
			}
			l.Certificates = append(l.Certificates, model.ListenerCertificate{CertificateARN: c.CertificateARN, IsDefault: true})
		}
		if len(l.Certificates) > 1 {
			return nil, elbErrorf(CodeTooManyCertificates, "A listener can have only one default certificate")
		}
	}
	switch l.Protocol {
	case model.ProtocolHTTPS:
		if len(l.Certificates) == 0 {
			return nil, elbValidation("A certificate must be specified for HTTPS listeners")
		}
		if l.SslPolicy == "" {
			l.SslPolicy = DefaultSSLPolicy
		}
	case model.ProtocolHTTP:
		if len(in.Certificates) > 0 || in.SslPolicy != "" {
			return nil, elbValidation("Certificates and SSL policies can only be specified for HTTPS listeners")
		}
		l.Certificates, l.SslPolicy = nil, ""
	}
	if in.DefaultActions == nil {
		return e.currentGroups(ctx, sc, l.DefaultActions)
	}
	actions, groups, err := e.checkActions(ctx, sc, lb, in.DefaultActions)
	if err != nil {
		return nil, err
	}
	l.DefaultActions = actions
	return groups, nil
}

// currentGroups reads the target groups actions forward to (those still there).
func (e *ELBv2) currentGroups(ctx context.Context, sc model.Scope, actions []model.Action) ([]store.Versioned[model.TargetGroup], error) {
	var out []store.Versioned[model.TargetGroup]
	for _, arn := range actionGroups(actions) {
		g, err := e.targetGroup(ctx, sc, arn)
		if apierr.KindOf(err) == apierr.NotFound {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, nil
}

// ModifyListener changes a listener's port, protocol, TLS settings or default actions.
func (e *ELBv2) ModifyListener(ctx context.Context, sc model.Scope, arn string, in ListenerInput) (model.Listener, error) {
	var out model.Listener
	var before []string
	err := commitOrRetry(ctx, func() error {
		cur, err := e.listener(ctx, sc, arn)
		if err != nil {
			return err
		}
		before = actionGroups(cur.Value.DefaultActions)
		lb, err := e.loadBalancer(ctx, sc, cur.Value.LoadBalancerARN)
		if err != nil {
			return err
		}
		l := cur.Value
		l.Certificates = slices.Clone(l.Certificates)
		if in.Protocol == model.ProtocolHTTP && len(in.Certificates) == 0 && in.SslPolicy == "" {
			l.Certificates, l.SslPolicy = nil, ""
		}
		groups, err := e.applyListener(ctx, sc, lb.Value, &l, in)
		if err != nil {
			return err
		}
		if l.Port != cur.Value.Port {
			siblings, err := e.store.Listeners().ListOf(ctx, sc, lb.Value.Name)
			if err != nil {
				return err
			}
			for _, s := range siblings {
				if s.Value.Port == l.Port {
					return elbErrorf(CodeDuplicateListener, "A listener already exists on this port for this load balancer '%s'", lb.Value.ARN)
				}
			}
		}
		w := &store.Write{}
		errs := []error{e.store.Listeners().PutIn(w, l, cur.Revision), e.store.LoadBalancers().PutIn(w, lb.Value, lb.Revision)}
		for _, g := range groups {
			errs = append(errs, e.store.TargetGroups().PutIn(w, g.Value, g.Revision))
		}
		if err := errors.Join(errs...); err != nil {
			return err
		}
		if _, err := e.store.Commit(ctx, w); err != nil {
			return err
		}
		out = l
		return nil
	})
	if err != nil {
		return model.Listener{}, err
	}
	return out, e.syncTargetUse(ctx, sc, append(before, actionGroups(out.DefaultActions)...))
}

// DescribeListenersInput is DescribeListeners' request: a load balancer's listeners, or those
// named.
type DescribeListenersInput struct {
	LoadBalancerARN string
	ARNs            []string
	Marker          string
	PageSize        *int32
}

// DescribeListeners lists a load balancer's listeners, or the listeners named.
func (e *ELBv2) DescribeListeners(ctx context.Context, sc model.Scope, in DescribeListenersInput) ([]model.Listener, string, error) {
	var out []model.Listener
	switch {
	case in.LoadBalancerARN != "" && len(in.ARNs) > 0:
		return nil, "", elbValidation("Listener ARNs and a load balancer ARN cannot be specified at the same time")
	case in.LoadBalancerARN != "":
		lb, err := e.loadBalancer(ctx, sc, in.LoadBalancerARN)
		if err != nil {
			return nil, "", err
		}
		ls, err := e.store.Listeners().ListOf(ctx, sc, lb.Value.Name)
		if err != nil {
			return nil, "", err
		}
		out = keepIf(values(ls), func(l model.Listener) bool { return l.LoadBalancerARN == lb.Value.ARN })
		slices.SortFunc(out, func(a, b model.Listener) int { return int(a.Port - b.Port) })
	case len(in.ARNs) > 0:
		for _, arn := range uniq(in.ARNs) {
			l, err := e.listener(ctx, sc, arn)
			if err != nil {
				return nil, "", err
			}
			out = append(out, l.Value)
		}
	default:
		return nil, "", elbValidation("You must specify either listener ARNs or a load balancer ARN")
	}
	return pageOf(out, in.Marker, in.PageSize)
}

// DeleteListener deletes a listener and its rules.
func (e *ELBv2) DeleteListener(ctx context.Context, sc model.Scope, arn string) error {
	var used []string
	err := commitOrRetry(ctx, func() error {
		l, err := e.listener(ctx, sc, arn)
		if err != nil {
			return err
		}
		a, _ := model.ParseELBARN(arn)
		rules, err := e.store.Rules().ListOf(ctx, sc, a.Name, a.ListenerID)
		if err != nil {
			return err
		}
		used = actionGroups(l.Value.DefaultActions)
		for _, r := range rules {
			used = append(used, actionGroups(r.Value.Actions)...)
		}
		w := &store.Write{}
		e.store.Listeners().DeleteIn(w, l.Value, l.Revision)
		e.store.Rules().DeleteAllOfIn(w, sc, a.Name, a.ListenerID)
		_, err = e.store.Commit(ctx, w)
		return err
	})
	if err != nil {
		return err
	}
	return e.syncTargetUse(ctx, sc, used)
}

// syncTargetUse moves the targets of the target groups arns between unused (no listener or
// rule forwards to the group) and initial (one does, and the data plane will check them).
// Draining targets are left alone.
func (e *ELBv2) syncTargetUse(ctx context.Context, sc model.Scope, arns []string) error {
	if len(arns) == 0 {
		return nil
	}
	uses, err := e.targetGroupUses(ctx, sc)
	if err != nil {
		return err
	}
	for _, arn := range uniq(arns) {
		inUse := len(uses[arn]) > 0
		targets, err := e.store.Targets().ListOf(ctx, arn)
		if err != nil {
			return err
		}
		for _, t := range targets {
			_, err := e.store.Targets().Mutate(ctx, arn, t.Value.ID, t.Value.Port, func(v *model.Target) error {
				switch {
				case v.State == model.TargetDraining:
				case inUse && v.State == model.TargetUnused:
					v.State, v.Reason, v.Description = model.TargetInitial, model.ReasonRegistrationInProgress, descRegistrationInProgress
				case !inUse && v.State != model.TargetUnused:
					v.State, v.Reason, v.Description = model.TargetUnused, model.ReasonNotInUse, descNotInUse
				}
				return nil
			})
			if err != nil && !errors.Is(err, apierr.NotFound) {
				return err
			}
		}
	}
	return nil
}

// CertificateUsers returns the load balancers whose listeners use the certificate arn (ACM's
// InUseBy, and its refusal to delete a certificate in use).
func (e *ELBv2) CertificateUsers(ctx context.Context, sc model.Scope, arn string) ([]string, error) {
	ls, err := e.store.Listeners().List(ctx, sc)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, l := range ls {
		if slices.ContainsFunc(l.Value.Certificates, func(c model.ListenerCertificate) bool { return c.CertificateARN == arn }) &&
			!slices.Contains(out, l.Value.LoadBalancerARN) {
			out = append(out, l.Value.LoadBalancerARN)
		}
	}
	return out, nil
}
