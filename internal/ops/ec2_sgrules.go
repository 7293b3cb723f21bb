package ops

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/store"
)

// IPPermission is EC2's grouping of rules: one protocol and port range, and the peers it
// allows. Ports are nil when not given.
type IPPermission struct {
	Protocol string // tcp, udp, icmp, -1, or a protocol number
	FromPort *int32
	ToPort   *int32
	IPRanges []IPRange
	Groups   []GroupPair
}

// IPRange is a CIDR peer of a permission.
type IPRange struct {
	CidrIP      string
	Description string
}

// GroupPair is a security group peer of a permission, by id or by name in the same VPC.
type GroupPair struct {
	GroupID     string
	GroupName   string
	UserID      string
	Description string
}

// RuleChange names a group, by id or by name in the default VPC, and the rules to add to it or
// remove from it: by permission, or (revoke only) by rule id.
type RuleChange struct {
	GroupID     string
	GroupName   string
	Permissions []IPPermission
	RuleIDs     []string
}

// ProtocolName is how EC2 answers a stored protocol: tcp, udp, icmp, -1, or the number.
func ProtocolName(p string) string {
	switch p {
	case model.ProtocolTCP:
		return "tcp"
	case model.ProtocolUDP:
		return "udp"
	case model.ProtocolICMP:
		return "icmp"
	}
	return p
}

// protocolNumber normalises a protocol as given (tcp, TCP, 6, -1, all ...) to its stored form.
func protocolNumber(p string) (string, error) {
	switch strings.ToLower(p) {
	case "tcp", "6":
		return model.ProtocolTCP, nil
	case "udp", "17":
		return model.ProtocolUDP, nil
	case "icmp", "1":
		return model.ProtocolICMP, nil
	case "-1", "all":
		return model.ProtocolAll, nil
	case "":
		return "", missingParameter("IpProtocol")
	}
	if n, err := strconv.Atoi(p); err == nil && n >= 0 && n <= 255 {
		return strconv.Itoa(n), nil
	}
	return "", invalidValue("Invalid value '%s' for IP protocol. Unknown protocol.", p)
}

// portRange checks a permission's ports for its protocol and returns them as stored.
func portRange(proto string, from, to *int32) (int32, int32, error) {
	switch proto {
	case model.ProtocolTCP, model.ProtocolUDP:
		if from == nil || to == nil {
			return 0, 0, invalidValue("Invalid value for portRange. Must specify both from and to ports with TCP/UDP.")
		}
		if *from < 0 || *to > 65535 || *from > *to {
			return 0, 0, invalidValue("Invalid port range (%d, %d): ports must be 0 to 65535, from port not above to port.", *from, *to)
		}
		return *from, *to, nil
	case model.ProtocolICMP:
		f, t := int32(-1), int32(-1)
		if from != nil {
			f = *from
		}
		if to != nil {
			t = *to
		}
		if f < -1 || f > 255 || t < -1 || t > 255 {
			return 0, 0, invalidValue("Invalid ICMP type (%d) or code (%d): each must be -1 (all) or 0 to 255.", f, t)
		}
		return f, t, nil
	}
	return -1, -1, nil
}

// rulesFrom expands permissions into one rule per peer, checking each.
func (e *EC2) rulesFrom(ctx context.Context, g model.SecurityGroup, egress bool, perms []IPPermission) ([]model.SecurityGroupRule, error) {
	if len(perms) == 0 {
		return nil, missingParameter("IpPermissions")
	}
	var rules []model.SecurityGroupRule
	for _, p := range perms {
		proto, err := protocolNumber(p.Protocol)
		if err != nil {
			return nil, err
		}
		from, to, err := portRange(proto, p.FromPort, p.ToPort)
		if err != nil {
			return nil, err
		}
		if len(p.IPRanges) == 0 && len(p.Groups) == 0 {
			return nil, invalidValue("Invalid IP permissions: each permission needs at least one of IpRanges and UserIdGroupPairs.")
		}
		base := model.SecurityGroupRule{Egress: egress, Protocol: proto, FromPort: from, ToPort: to}
		for _, r := range p.IPRanges {
			c, err := netip.ParsePrefix(r.CidrIP)
			if err != nil || !c.Addr().Is4() || c.Masked() != c {
				return nil, invalidValue("CIDR block %s is malformed", r.CidrIP)
			}
			rule := base
			rule.CidrIPv4, rule.Description = c.String(), r.Description
			rules = append(rules, rule)
		}
		for _, pair := range p.Groups {
			peer, err := e.peerGroup(ctx, g, pair)
			if err != nil {
				return nil, err
			}
			rule := base
			rule.GroupID, rule.Description = peer, pair.Description
			rules = append(rules, rule)
		}
	}
	return rules, nil
}

// peerGroup resolves a rule's group peer, which must be in g's VPC.
func (e *EC2) peerGroup(ctx context.Context, g model.SecurityGroup, pair GroupPair) (string, error) {
	if pair.GroupID == "" {
		if pair.GroupName == "" {
			return "", missingParameter("GroupId")
		}
		peer, ok, err := e.groupByName(ctx, g.Scope, g.VpcID, pair.GroupName)
		if err == nil && !ok {
			err = ec2Errorf(apierr.NotFound, CodeGroupNotFound, "The security group '%s' does not exist in VPC '%s'", pair.GroupName, g.VpcID)
		}
		return peer.Value.ID, err
	}
	if pair.GroupID == g.ID {
		return g.ID, nil
	}
	peer, err := e.group(ctx, g.Scope, pair.GroupID)
	if err != nil {
		return "", err
	}
	if peer.Value.VpcID != g.VpcID {
		return "", ec2Errorf(apierr.NotFound, CodeGroupNotFound, "The security group '%s' does not exist in VPC '%s'", pair.GroupID, g.VpcID)
	}
	return peer.Value.ID, nil
}

// describeRule words a rule as EC2's duplicate-rule message does.
func describeRule(r model.SecurityGroupRule) string {
	peer := r.CidrIPv4 + r.GroupID
	switch r.Protocol {
	case model.ProtocolAll:
		return fmt.Sprintf("peer: %s, ALL, ALLOW", peer)
	case model.ProtocolTCP, model.ProtocolUDP:
		return fmt.Sprintf("peer: %s, %s, from port: %d, to port: %d, ALLOW", peer, strings.ToUpper(ProtocolName(r.Protocol)), r.FromPort, r.ToPort)
	case model.ProtocolICMP:
		return fmt.Sprintf("peer: %s, ICMP, type: %d, code: %d, ALLOW", peer, r.FromPort, r.ToPort)
	}
	return fmt.Sprintf("peer: %s, protocol: %s, ALLOW", peer, r.Protocol)
}

// AuthorizeSecurityGroupRules adds ingress (or egress) rules to a group and returns them with
// their new ids; a rule the group already has, or one given twice, is InvalidPermission.Duplicate
// and nothing is added.
func (e *EC2) AuthorizeSecurityGroupRules(ctx context.Context, sc model.Scope, egress bool, rc RuleChange) ([]SecurityGroupRuleView, error) {
	if err := e.EnsureDefaultVPC(ctx, sc); err != nil {
		return nil, err
	}
	var added []SecurityGroupRuleView
	err := e.changeRules(ctx, sc, rc, func(g *model.SecurityGroup) error {
		rules, err := e.rulesFrom(ctx, *g, egress, rc.Permissions)
		if err != nil {
			return err
		}
		added = nil
		for _, r := range rules {
			for _, have := range g.Rules {
				if have.SameTraffic(r) {
					return ec2Errorf(apierr.InvalidParameter, CodePermissionDuplicate, "the specified rule \"%s\" already exists", describeRule(r))
				}
			}
			r.ID = newEC2ID(model.PrefixSecurityRule)
			g.Rules = append(g.Rules, r)
			added = append(added, SecurityGroupRuleView{GroupID: g.ID, OwnerID: sc.Account, SecurityGroupRule: r})
		}
		return nil
	})
	return added, err
}

// RevokeSecurityGroupRules removes ingress (or egress) rules from a group, named by permission
// or by rule id, and returns them; a rule the group does not have is InvalidPermission.NotFound
// (InvalidSecurityGroupRuleId.NotFound by id) and nothing is removed.
func (e *EC2) RevokeSecurityGroupRules(ctx context.Context, sc model.Scope, egress bool, rc RuleChange) ([]SecurityGroupRuleView, error) {
	if err := e.EnsureDefaultVPC(ctx, sc); err != nil {
		return nil, err
	}
	if len(rc.Permissions) == 0 && len(rc.RuleIDs) == 0 {
		return nil, missingParameter("IpPermissions")
	}
	var removed []SecurityGroupRuleView
	err := e.changeRules(ctx, sc, rc, func(g *model.SecurityGroup) error {
		var want []model.SecurityGroupRule
		if len(rc.Permissions) > 0 {
			rules, err := e.rulesFrom(ctx, *g, egress, rc.Permissions)
			if err != nil {
				return err
			}
			want = rules
		}
		removed = nil
		keep := g.Rules[:0:0]
		for _, have := range g.Rules {
			if have.Egress == egress && (slices.ContainsFunc(want, have.SameTraffic) || slices.Contains(rc.RuleIDs, have.ID)) {
				removed = append(removed, SecurityGroupRuleView{GroupID: g.ID, OwnerID: sc.Account, SecurityGroupRule: have})
				continue
			}
			keep = append(keep, have)
		}
		for _, w := range want {
			if !slices.ContainsFunc(removed, func(r SecurityGroupRuleView) bool { return r.SameTraffic(w) }) {
				return ec2Errorf(apierr.NotFound, CodePermissionNotFound, "The specified rule does not exist in this security group.")
			}
		}
		for _, id := range rc.RuleIDs {
			if !slices.ContainsFunc(removed, func(r SecurityGroupRuleView) bool { return r.ID == id }) {
				return ec2Errorf(apierr.NotFound, CodeRuleNotFound, "The security group rule ID '%s' does not exist", id)
			}
		}
		g.Rules = keep
		return nil
	})
	return removed, err
}

// changeRules applies fn to a group's rules, fenced by its VPC, so a group a new rule references
// cannot be deleted in between.
func (e *EC2) changeRules(ctx context.Context, sc model.Scope, rc RuleChange, fn func(*model.SecurityGroup) error) error {
	return fenced(ctx, func() error {
		g, err := e.groupRef(ctx, sc, rc.GroupID, rc.GroupName)
		if err != nil {
			return err
		}
		vpc, err := e.vpc(ctx, sc, g.Value.VpcID)
		if err != nil {
			return err
		}
		if err := fn(&g.Value); err != nil {
			return err
		}
		w := &store.Write{}
		if err := errors.Join(e.fence(w, vpc), e.store.SecurityGroups().PutIn(w, g.Value, g.Revision)); err != nil {
			return err
		}
		_, err = e.store.Commit(ctx, w)
		return err
	})
}

// Permissions groups a group's ingress (or egress) rules as EC2 answers them: one permission per
// protocol and port range, in the order rules were added.
func Permissions(rules []model.SecurityGroupRule, egress bool) []IPPermission {
	var out []IPPermission
	for _, r := range rules {
		if r.Egress != egress {
			continue
		}
		i := slices.IndexFunc(out, func(p IPPermission) bool {
			pr, _ := protocolNumber(p.Protocol)
			return pr == r.Protocol && portsOf(p) == [2]int32{r.FromPort, r.ToPort}
		})
		if i < 0 {
			p := IPPermission{Protocol: ProtocolName(r.Protocol)}
			if r.Protocol != model.ProtocolAll {
				p.FromPort, p.ToPort = &r.FromPort, &r.ToPort
			}
			out = append(out, p)
			i = len(out) - 1
		}
		if r.CidrIPv4 != "" {
			out[i].IPRanges = append(out[i].IPRanges, IPRange{CidrIP: r.CidrIPv4, Description: r.Description})
		} else {
			out[i].Groups = append(out[i].Groups, GroupPair{GroupID: r.GroupID, Description: r.Description})
		}
	}
	return out
}

func portsOf(p IPPermission) [2]int32 {
	if p.FromPort == nil {
		return [2]int32{-1, -1}
	}
	return [2]int32{*p.FromPort, *p.ToPort}
}

func sortRules(rules []SecurityGroupRuleView) {
	slices.SortFunc(rules, func(a, b SecurityGroupRuleView) int { return cmp.Compare(a.ID, b.ID) })
}
