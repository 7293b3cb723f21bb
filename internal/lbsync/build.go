package lbsync

import (
	"cmp"
	"crypto/tls"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gantry-dev/gantry/internal/lb"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/store"
)

// desired is what one ELB snapshot asks of the data plane and the network.
type desired struct {
	cfg lb.Config
	// nodes are the load balancer nodes of each VPC: address -> security groups.
	nodes map[string]map[netip.Addr][]string
	// vpcNames are the DNS names each VPC's resolver answers (DNSName -> node addresses);
	// hostNames those the host's resolver answers (DNSName -> HostAddress).
	vpcNames  map[string]map[string][]netip.Addr
	hostNames map[string][]netip.Addr
	// listeners are each load balancer's listening addresses (by ARN), for its state;
	// nodeAddrs the node addresses (whose listeners open inside the VPC).
	listeners map[string][]netip.AddrPort
	nodeAddrs map[netip.Addr]bool
	// sources picks the node a target is dialed from: (VPC, target IP) -> node address.
	sources map[sourceKey]netip.Addr
	// unused are the targets of groups no listener or rule forwards to.
	unused []model.Target
	// problems are records left out (unreadable addresses, missing certificates).
	problems []error
}

type sourceKey struct {
	vpc string
	ip  netip.Addr
}

// certSource returns a listener certificate by ARN.
type certSource func(arn string) (tls.Certificate, error)

// build turns an ELB snapshot into the data plane's config and the network's nodes and names.
// subnets gives each node's subnet CIDR (for choosing the node a target is dialed from); a
// missing one only makes that choice less exact.
func build(snap store.ELBSnapshot, subnets map[string]netip.Prefix, certs certSource) desired {
	d := desired{
		nodes:     map[string]map[netip.Addr][]string{},
		vpcNames:  map[string]map[string][]netip.Addr{},
		hostNames: map[string][]netip.Addr{},
		listeners: map[string][]netip.AddrPort{},
		nodeAddrs: map[netip.Addr]bool{},
		sources:   map[sourceKey]netip.Addr{},
	}
	listenersOf := map[string][]model.Listener{}
	for _, l := range snap.Listeners {
		listenersOf[l.LoadBalancerARN] = append(listenersOf[l.LoadBalancerARN], l)
	}
	rulesOf := map[string][]model.Rule{}
	for _, r := range snap.Rules {
		rulesOf[r.ListenerARN] = append(rulesOf[r.ListenerARN], r)
	}
	groups := map[string]model.TargetGroup{}
	for _, g := range snap.TargetGroups {
		groups[g.ARN] = g
	}
	// usedBy: target group -> the load balancers forwarding to it.
	usedBy := map[string][]string{}
	type lbNodes struct {
		vpc   string
		nodes []nodeAddr
	}
	nodesOf := map[string]lbNodes{}

	for _, m := range slices.SortedFunc(slices.Values(snap.LoadBalancers), func(a, b model.LoadBalancer) int { return cmp.Compare(a.ARN, b.ARN) }) {
		out := lb.LoadBalancer{ID: m.ARN, VPC: m.VpcID, IdleTimeout: secondsAttr(m.Attributes, model.AttrIdleTimeout, 60*time.Second),
			HTTP2: m.Attributes[model.AttrHTTP2Enabled] != "false"}
		var addrs []netip.Addr
		if h, err := netip.ParseAddr(m.HostAddress); err == nil && h.Is4() {
			addrs = append(addrs, h)
			if m.DNSName != "" {
				d.hostNames[strings.ToLower(m.DNSName)] = []netip.Addr{h}
			}
		} else if m.HostAddress != "" {
			d.problems = append(d.problems, fmt.Errorf("load balancer %s host address %q: not IPv4", m.ARN, m.HostAddress))
		}
		var ns []nodeAddr
		for _, n := range m.Nodes {
			a, err := netip.ParseAddr(n.PrivateIP)
			if err != nil || !a.Is4() {
				d.problems = append(d.problems, fmt.Errorf("load balancer %s node in %s: address %q not IPv4", m.ARN, n.SubnetID, n.PrivateIP))
				continue
			}
			ns = append(ns, nodeAddr{addr: a, subnet: subnets[n.SubnetID]})
			addrs = append(addrs, a)
			d.nodeAddrs[a] = true
			if d.nodes[m.VpcID] == nil {
				d.nodes[m.VpcID] = map[netip.Addr][]string{}
			}
			d.nodes[m.VpcID][a] = slices.Clone(m.SecurityGroups)
		}
		nodesOf[m.ARN] = lbNodes{vpc: m.VpcID, nodes: ns}
		if m.DNSName != "" && len(ns) > 0 {
			if d.vpcNames[m.VpcID] == nil {
				d.vpcNames[m.VpcID] = map[string][]netip.Addr{}
			}
			for _, n := range ns {
				d.vpcNames[m.VpcID][strings.ToLower(m.DNSName)] = append(d.vpcNames[m.VpcID][strings.ToLower(m.DNSName)], n.addr)
			}
		}
		d.listeners[m.ARN] = []netip.AddrPort{}
		for _, l := range slices.SortedFunc(slices.Values(listenersOf[m.ARN]), func(a, b model.Listener) int { return cmp.Compare(a.Port, b.Port) }) {
			cl, used, err := buildListener(l, rulesOf[l.ARN], certs)
			if err != nil {
				d.problems = append(d.problems, err)
				continue
			}
			for _, g := range used {
				if !slices.Contains(usedBy[g], m.ARN) {
					usedBy[g] = append(usedBy[g], m.ARN)
				}
			}
			for _, a := range addrs {
				c := cl
				c.Addr = netip.AddrPortFrom(a, uint16(l.Port))
				out.Listeners = append(out.Listeners, c)
				d.listeners[m.ARN] = append(d.listeners[m.ARN], c.Addr)
			}
		}
		d.cfg.LoadBalancers = append(d.cfg.LoadBalancers, out)
	}

	targetsOf := map[string][]model.Target{}
	for _, t := range snap.Targets {
		targetsOf[t.TargetGroupARN] = append(targetsOf[t.TargetGroupARN], t)
	}
	for _, arn := range slices.Sorted(maps.Keys(groups)) {
		g := groups[arn]
		if len(usedBy[arn]) == 0 {
			d.unused = append(d.unused, targetsOf[arn]...)
			continue
		}
		tg := buildGroup(g)
		for _, t := range targetsOf[arn] {
			ip, err := netip.ParseAddr(t.ID)
			if err != nil || !ip.Is4() {
				d.problems = append(d.problems, fmt.Errorf("target group %s target %q: not an IPv4 address", arn, t.ID))
				continue
			}
			tg.Targets = append(tg.Targets, lb.Target{IP: ip, Port: int(t.Port), Draining: t.State == model.TargetDraining})
			// The node a target is dialed from: the first load balancer's (by ARN) that
			// forwards to the group, in the target's subnet if it has one there.
			k := sourceKey{vpc: g.VpcID, ip: ip}
			if _, ok := d.sources[k]; ok {
				continue
			}
			for _, lbARN := range slices.Sorted(slices.Values(usedBy[arn])) {
				n := nodesOf[lbARN]
				if n.vpc != g.VpcID || len(n.nodes) == 0 {
					continue
				}
				src := n.nodes[0].addr
				for _, x := range n.nodes {
					if x.subnet.IsValid() && x.subnet.Contains(ip) {
						src = x.addr
						break
					}
				}
				d.sources[k] = src
				break
			}
		}
		d.cfg.TargetGroups = append(d.cfg.TargetGroups, tg)
	}
	return d
}

type nodeAddr struct {
	addr   netip.Addr
	subnet netip.Prefix
}

// buildListener converts a listener and its rules (Addr left for the caller) and returns the
// target groups they forward to.
func buildListener(l model.Listener, rules []model.Rule, certs certSource) (lb.Listener, []string, error) {
	out := lb.Listener{ID: l.ARN, Protocol: lb.Protocol(l.Protocol)}
	var used []string
	if out.Protocol == lb.HTTPS {
		// The default certificate first.
		cs := slices.Clone(l.Certificates)
		slices.SortStableFunc(cs, func(a, b model.ListenerCertificate) int {
			switch {
			case a.IsDefault && !b.IsDefault:
				return -1
			case b.IsDefault && !a.IsDefault:
				return 1
			}
			return 0
		})
		for _, c := range cs {
			if certs == nil {
				return out, nil, fmt.Errorf("listener %s: certificate %s: no certificate source", l.ARN, c.CertificateARN)
			}
			cert, err := certs(c.CertificateARN)
			if err != nil {
				return out, nil, fmt.Errorf("listener %s: certificate %s: %w", l.ARN, c.CertificateARN, err)
			}
			out.Certificates = append(out.Certificates, cert)
		}
		if len(out.Certificates) == 0 {
			return out, nil, fmt.Errorf("listener %s: HTTPS without a certificate", l.ARN)
		}
	}
	def, ok := terminal(l.DefaultActions)
	if !ok {
		return out, nil, fmt.Errorf("listener %s: no default action", l.ARN)
	}
	a, gs, err := buildAction(def)
	if err != nil {
		return out, nil, fmt.Errorf("listener %s default action: %w", l.ARN, err)
	}
	used = append(used, gs...)
	out.Rules = append(out.Rules, lb.Rule{ID: model.DefaultRuleARN(l.ARN), Default: true, Action: a})
	for _, r := range rules {
		if r.IsDefault {
			continue
		}
		act, ok := terminal(r.Actions)
		if !ok {
			return out, nil, fmt.Errorf("rule %s: no action", r.ARN)
		}
		a, gs, err := buildAction(act)
		if err != nil {
			return out, nil, fmt.Errorf("rule %s: %w", r.ARN, err)
		}
		conds, err := buildConditions(r.Conditions)
		if err != nil {
			return out, nil, fmt.Errorf("rule %s: %w", r.ARN, err)
		}
		used = append(used, gs...)
		out.Rules = append(out.Rules, lb.Rule{ID: r.ARN, Priority: int(r.Priority), Conditions: conds, Action: a})
	}
	return out, used, nil
}

// terminal returns the action that answers: the last by Order (gantry has no authenticate
// actions, which are the only ones that may come before it).
func terminal(actions []model.Action) (model.Action, bool) {
	if len(actions) == 0 {
		return model.Action{}, false
	}
	return slices.MaxFunc(actions, func(a, b model.Action) int { return cmp.Compare(a.Order, b.Order) }), true
}

func buildAction(a model.Action) (lb.Action, []string, error) {
	switch a.Type {
	case model.ActionForward:
		f := &lb.ForwardAction{}
		var used []string
		if a.ForwardConfig != nil {
			for _, g := range a.ForwardConfig.TargetGroups {
				f.TargetGroups = append(f.TargetGroups, lb.WeightedGroup{ID: g.TargetGroupARN, Weight: int(g.Weight)})
				used = append(used, g.TargetGroupARN)
			}
			if a.ForwardConfig.StickinessEnabled {
				f.Stickiness, f.StickinessDuration = true, time.Duration(a.ForwardConfig.StickinessDuration)*time.Second
			}
		}
		if len(f.TargetGroups) == 0 && a.TargetGroupARN != "" {
			f.TargetGroups = []lb.WeightedGroup{{ID: a.TargetGroupARN, Weight: 1}}
			used = append(used, a.TargetGroupARN)
		}
		if len(f.TargetGroups) == 0 {
			return lb.Action{}, nil, fmt.Errorf("forward without a target group")
		}
		return lb.Action{Type: lb.Forward, Forward: f}, used, nil
	case model.ActionRedirect:
		r := a.RedirectConfig
		if r == nil {
			return lb.Action{}, nil, fmt.Errorf("redirect without a configuration")
		}
		code := 301
		if r.StatusCode == "HTTP_302" {
			code = 302
		}
		return lb.Action{Type: lb.Redirect, Redirect: &lb.RedirectAction{Protocol: r.Protocol, Host: r.Host, Port: r.Port,
			Path: r.Path, Query: r.Query, StatusCode: code}}, nil, nil
	case model.ActionFixedResponse:
		f := a.FixedResponseConfig
		if f == nil {
			return lb.Action{}, nil, fmt.Errorf("fixed-response without a configuration")
		}
		code, err := strconv.Atoi(f.StatusCode)
		if err != nil {
			return lb.Action{}, nil, fmt.Errorf("fixed-response status %q: not a number", f.StatusCode)
		}
		return lb.Action{Type: lb.FixedResponse, FixedResponse: &lb.FixedResponseAction{StatusCode: code,
			ContentType: f.ContentType, Body: f.MessageBody}}, nil, nil
	}
	return lb.Action{}, nil, fmt.Errorf("action type %q: want forward, redirect or fixed-response", a.Type)
}

func buildConditions(cs []model.RuleCondition) ([]lb.Condition, error) {
	var out []lb.Condition
	for _, c := range cs {
		lc := lb.Condition{Field: lb.ConditionField(c.Field), Values: slices.Clone(c.Values), HeaderName: c.HTTPHeaderName}
		switch c.Field {
		case model.ConditionQueryString:
			for _, q := range c.QueryStrings {
				lc.QueryValues = append(lc.QueryValues, lb.QueryValue{Key: q.Key, Value: q.Value})
			}
		case model.ConditionSourceIP:
			lc.Values = nil
			for _, v := range c.Values {
				p, err := netip.ParsePrefix(v)
				if err != nil {
					return nil, fmt.Errorf("source-ip %q: not a CIDR", v)
				}
				lc.SourceIPs = append(lc.SourceIPs, p.Masked())
			}
		}
		out = append(out, lc)
	}
	return out, nil
}

func buildGroup(g model.TargetGroup) lb.TargetGroup {
	hc := g.HealthCheck
	port := 0
	if hc.Port != "" && hc.Port != model.HealthCheckTrafficPort {
		port, _ = strconv.Atoi(hc.Port)
	}
	a := g.Attributes
	out := lb.TargetGroup{ID: g.ARN, VPC: g.VpcID, Protocol: lb.Protocol(g.Protocol), Port: int(g.Port),
		HealthCheck: lb.HealthCheck{Enabled: hc.Enabled, Protocol: lb.Protocol(cmp.Or(hc.Protocol, g.Protocol)), Port: port,
			Path: hc.Path, Interval: time.Duration(hc.IntervalSeconds) * time.Second, Timeout: time.Duration(hc.TimeoutSeconds) * time.Second,
			HealthyThreshold: int(hc.HealthyThresholdCount), UnhealthyThreshold: int(hc.UnhealthyThresholdCount), Matcher: g.Matcher.HTTPCode},
		DeregistrationDelay: secondsAttr(a, model.AttrDeregistrationDelay, 300*time.Second),
		SlowStart:           secondsAttr(a, model.AttrSlowStart, 0),
		Algorithm:           lb.Algorithm(a[model.AttrLBAlgorithm]),
	}
	if a[model.AttrStickinessEnabled] == "true" {
		out.Stickiness = lb.Stickiness{Enabled: true, Type: lb.StickinessType(cmp.Or(a[model.AttrStickinessType], string(lb.LBCookie)))}
		if out.Stickiness.Type == lb.AppCookie {
			out.Stickiness.Duration = secondsAttr(a, model.AttrStickinessAppCookieDur, 86400*time.Second)
			out.Stickiness.CookieName = a[model.AttrStickinessAppCookieName]
		} else {
			out.Stickiness.Duration = secondsAttr(a, model.AttrStickinessLBCookie, 86400*time.Second)
		}
	}
	return out
}

// secondsAttr reads an attribute in whole seconds, def when absent or unreadable.
func secondsAttr(attrs map[string]string, key string, def time.Duration) time.Duration {
	n, err := strconv.Atoi(attrs[key])
	if err != nil || n < 0 {
		return def
	}
	return time.Duration(n) * time.Second
}
