package ops

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/store"
)

// CreateSecurityGroupInput is CreateSecurityGroup's parameters.
type CreateSecurityGroupInput struct {
	GroupName   string
	Description string
	VpcID       string // the default VPC when empty
	Tags        []TagSpecification
}

// EC2's limits on group names and descriptions.
const maxGroupNameLen = 255

// CreateSecurityGroup creates a group with EC2's default rule, all egress to 0.0.0.0/0. Names
// are unique within a VPC (InvalidGroup.Duplicate).
func (e *EC2) CreateSecurityGroup(ctx context.Context, sc model.Scope, in CreateSecurityGroupInput) (model.SecurityGroup, error) {
	if err := e.EnsureDefaultVPC(ctx, sc); err != nil {
		return model.SecurityGroup{}, err
	}
	switch {
	case in.GroupName == "":
		return model.SecurityGroup{}, missingParameter("GroupName")
	case in.Description == "":
		return model.SecurityGroup{}, missingParameter("GroupDescription")
	case len(in.GroupName) > maxGroupNameLen || len(in.Description) > maxGroupNameLen:
		return model.SecurityGroup{}, invalidValue("Value for parameter groupName or groupDescription is too long; at most %d characters are allowed", maxGroupNameLen)
	case in.GroupName == model.DefaultGroupName:
		return model.SecurityGroup{}, ec2Errorf(apierr.InvalidParameter, CodeGroupReserved, "The security group 'default' is reserved")
	case strings.HasPrefix(in.GroupName, model.PrefixSecurityGroup):
		return model.SecurityGroup{}, invalidValue("Group names may not be in the format sg-*.")
	}
	tags, err := tagsFor(in.Tags, "security-group")
	if err != nil {
		return model.SecurityGroup{}, err
	}
	vpcID := in.VpcID
	if vpcID == "" {
		if vpcID, err = e.defaultVpcID(ctx, sc); err != nil {
			return model.SecurityGroup{}, err
		}
	}
	g := model.SecurityGroup{Scope: sc, ID: newEC2ID(model.PrefixSecurityGroup), Name: in.GroupName, Description: in.Description,
		VpcID: vpcID, Rules: []model.SecurityGroupRule{allEgress()}, Tags: tags, CreatedAt: e.now()}
	err = fenced(ctx, func() error {
		vpc, err := e.vpc(ctx, sc, vpcID)
		if err != nil {
			return err
		}
		groups, err := e.store.SecurityGroups().List(ctx, sc)
		if err != nil {
			return err
		}
		for _, o := range groups {
			if o.Value.VpcID == vpcID && o.Value.Name == in.GroupName {
				return ec2Errorf(apierr.AlreadyExists, CodeGroupDuplicate, "The security group '%s' already exists for VPC '%s'", in.GroupName, vpcID)
			}
		}
		w := &store.Write{}
		if err := errors.Join(e.fence(w, vpc), e.store.SecurityGroups().PutIn(w, g, 0)); err != nil {
			return err
		}
		_, err = e.store.Commit(ctx, w)
		return err
	})
	return g, err
}

// defaultVpcID returns the scope's default VPC, or an error when it was deleted.
func (e *EC2) defaultVpcID(ctx context.Context, sc model.Scope) (string, error) {
	id, _, err := e.store.DefaultVpcs().Get(ctx, sc)
	if err == nil && id == "" {
		return "", ec2Errorf(apierr.InvalidParameter, "VPCIdNotSpecified", "No default VPC for this user")
	}
	return id, err
}

// groupRef resolves a group named by id, or by name in the default VPC.
func (e *EC2) groupRef(ctx context.Context, sc model.Scope, id, name string) (store.Versioned[model.SecurityGroup], error) {
	if id != "" {
		return e.group(ctx, sc, id)
	}
	if name == "" {
		return store.Versioned[model.SecurityGroup]{}, ec2Errorf(apierr.MissingParameter, CodeMissingParameter,
			"The request must contain the parameter groupName or groupId")
	}
	vpcID, err := e.defaultVpcID(ctx, sc)
	if err != nil {
		return store.Versioned[model.SecurityGroup]{}, err
	}
	g, ok, err := e.groupByName(ctx, sc, vpcID, name)
	if err == nil && !ok {
		err = ec2Errorf(apierr.NotFound, CodeGroupNotFound, "The security group '%s' does not exist in default VPC '%s'", name, vpcID)
	}
	return g, err
}

func (e *EC2) groupByName(ctx context.Context, sc model.Scope, vpcID, name string) (store.Versioned[model.SecurityGroup], bool, error) {
	groups, err := e.store.SecurityGroups().List(ctx, sc)
	for _, g := range groups {
		if g.Value.VpcID == vpcID && g.Value.Name == name {
			return g, true, nil
		}
	}
	return store.Versioned[model.SecurityGroup]{}, false, err
}

var groupFilters = filterSpec[model.SecurityGroup]{
	"group-id":    func(g model.SecurityGroup) []string { return []string{g.ID} },
	"group-name":  func(g model.SecurityGroup) []string { return []string{g.Name} },
	"vpc-id":      func(g model.SecurityGroup) []string { return []string{g.VpcID} },
	"description": func(g model.SecurityGroup) []string { return []string{g.Description} },
	"owner-id":    func(g model.SecurityGroup) []string { return []string{g.Scope.Account} },
	"ip-permission.cidr": func(g model.SecurityGroup) []string {
		return ruleValues(g, false, func(r model.SecurityGroupRule) string { return r.CidrIPv4 })
	},
	"ip-permission.group-id": func(g model.SecurityGroup) []string {
		return ruleValues(g, false, func(r model.SecurityGroupRule) string { return r.GroupID })
	},
	"ip-permission.protocol": func(g model.SecurityGroup) []string {
		return ruleValues(g, false, func(r model.SecurityGroupRule) string { return ProtocolName(r.Protocol) })
	},
	"egress.ip-permission.cidr": func(g model.SecurityGroup) []string {
		return ruleValues(g, true, func(r model.SecurityGroupRule) string { return r.CidrIPv4 })
	},
	"egress.ip-permission.group-id": func(g model.SecurityGroup) []string {
		return ruleValues(g, true, func(r model.SecurityGroupRule) string { return r.GroupID })
	},
	"egress.ip-permission.protocol": func(g model.SecurityGroup) []string {
		return ruleValues(g, true, func(r model.SecurityGroupRule) string { return ProtocolName(r.Protocol) })
	},
	"ip-permission.from-port":        portFilter(false, func(r model.SecurityGroupRule) int32 { return r.FromPort }),
	"ip-permission.to-port":          portFilter(false, func(r model.SecurityGroupRule) int32 { return r.ToPort }),
	"egress.ip-permission.from-port": portFilter(true, func(r model.SecurityGroupRule) int32 { return r.FromPort }),
	"egress.ip-permission.to-port":   portFilter(true, func(r model.SecurityGroupRule) int32 { return r.ToPort }),
	"ip-permission.user-id":          referenceOwner(false),
	"egress.ip-permission.user-id":   referenceOwner(true),
	// Matched by nothing here: gantry has no IPv6 and no prefix lists.
	"ip-permission.ipv6-cidr":             func(model.SecurityGroup) []string { return nil },
	"egress.ip-permission.ipv6-cidr":      func(model.SecurityGroup) []string { return nil },
	"ip-permission.prefix-list-id":        func(model.SecurityGroup) []string { return nil },
	"egress.ip-permission.prefix-list-id": func(model.SecurityGroup) []string { return nil },
}

// groupNameFilters are the filters that need the names of the groups rules reference.
func groupNameFilters(names map[string]string) filterSpec[model.SecurityGroup] {
	return filterSpec[model.SecurityGroup]{
		"ip-permission.group-name": func(g model.SecurityGroup) []string {
			return ruleValues(g, false, func(r model.SecurityGroupRule) string { return names[r.GroupID] })
		},
		"egress.ip-permission.group-name": func(g model.SecurityGroup) []string {
			return ruleValues(g, true, func(r model.SecurityGroupRule) string { return names[r.GroupID] })
		},
	}
}

// portFilter gives a rule's port (or icmp type and code) as the filters match it; rules of all
// protocols have none.
func portFilter(egress bool, port func(model.SecurityGroupRule) int32) func(model.SecurityGroup) []string {
	return func(g model.SecurityGroup) []string {
		return ruleValues(g, egress, func(r model.SecurityGroupRule) string {
			if r.Protocol == model.ProtocolAll {
				return ""
			}
			return strconv.Itoa(int(port(r)))
		})
	}
}

// referenceOwner gives the account of the groups rules reference (the group's own account).
func referenceOwner(egress bool) func(model.SecurityGroup) []string {
	return func(g model.SecurityGroup) []string {
		return ruleValues(g, egress, func(r model.SecurityGroupRule) string {
			if r.GroupID == "" {
				return ""
			}
			return g.Scope.Account
		})
	}
}

// groupNames maps the scope's group ids to their names.
func (e *EC2) groupNames(ctx context.Context, sc model.Scope) (map[string]string, error) {
	all, err := e.store.SecurityGroups().List(ctx, sc)
	if err != nil {
		return nil, err
	}
	names := make(map[string]string, len(all))
	for _, g := range all {
		names[g.Value.ID] = g.Value.Name
	}
	return names, nil
}

// withNames returns spec with more, when filters use one of more's names; names is read only then.
func withNames[T any](ctx context.Context, e *EC2, sc model.Scope, filters []Filter, spec filterSpec[T], more func(map[string]string) filterSpec[T]) (filterSpec[T], error) {
	extra := more(nil)
	if !slices.ContainsFunc(filters, func(f Filter) bool { return extra[f.Name] != nil }) {
		return spec, nil
	}
	names, err := e.groupNames(ctx, sc)
	if err != nil {
		return nil, err
	}
	out := maps.Clone(spec)
	maps.Copy(out, more(names))
	return out, nil
}

func ruleValues(g model.SecurityGroup, egress bool, f func(model.SecurityGroupRule) string) []string {
	var out []string
	for _, r := range g.Rules {
		if v := f(r); r.Egress == egress && v != "" {
			out = append(out, v)
		}
	}
	return out
}

// DescribeSecurityGroups lists the groups named by ids, or by names in the default VPC (all
// when both are empty), that match filters.
func (e *EC2) DescribeSecurityGroups(ctx context.Context, sc model.Scope, ids, names []string, filters []Filter, p Paging) ([]model.SecurityGroup, string, error) {
	if err := e.EnsureDefaultVPC(ctx, sc); err != nil {
		return nil, "", err
	}
	for _, id := range ids {
		if !validID(id, model.PrefixSecurityGroup) {
			return nil, "", ec2Errorf(apierr.InvalidParameter, CodeGroupIDMalformed, "Invalid id: \"%s\" (expecting \"sg-...\")", id)
		}
	}
	all, err := e.store.SecurityGroups().List(ctx, sc)
	if err != nil {
		return nil, "", err
	}
	id := func(g model.SecurityGroup) string { return g.ID }
	groups, err := byIDs(values(all), id, ids, func(i string) error {
		return ec2Errorf(apierr.NotFound, CodeGroupNotFound, "The security group '%s' does not exist", i)
	})
	if err != nil {
		return nil, "", err
	}
	if len(names) > 0 {
		def, err := e.defaultVpcID(ctx, sc)
		if err != nil {
			return nil, "", err
		}
		inDefault := groups[:0:0]
		for _, g := range groups {
			if g.VpcID == def {
				inDefault = append(inDefault, g)
			}
		}
		if groups, err = byIDs(inDefault, func(g model.SecurityGroup) string { return g.Name }, names, func(n string) error {
			return ec2Errorf(apierr.NotFound, CodeGroupNotFound, "The security group '%s' does not exist in default VPC '%s'", n, def)
		}); err != nil {
			return nil, "", err
		}
	}
	spec, err := withNames(ctx, e, sc, filters, groupFilters, groupNameFilters)
	if err != nil {
		return nil, "", err
	}
	if groups, err = applyFilters(spec, func(g model.SecurityGroup) []model.Tag { return g.Tags }, filters, groups); err != nil {
		return nil, "", err
	}
	return paginate(groups, id, p)
}

// DeleteSecurityGroup deletes a group, named by id or by name in the default VPC. A VPC's
// default group cannot be deleted (CannotDelete); a group another group's rule references, or
// a network interface uses, is DependencyViolation.
func (e *EC2) DeleteSecurityGroup(ctx context.Context, sc model.Scope, id, name string) (string, error) {
	if err := e.EnsureDefaultVPC(ctx, sc); err != nil {
		return "", err
	}
	var deleted string
	err := fenced(ctx, func() error {
		g, err := e.groupRef(ctx, sc, id, name)
		if err != nil {
			return err
		}
		deleted = g.Value.ID
		if g.Value.IsDefault() {
			return ec2Errorf(apierr.InvalidParameter, CodeCannotDelete, "the specified group: \"%s\" name: \"%s\" cannot be deleted by a user", g.Value.ID, g.Value.Name)
		}
		vpc, err := e.vpc(ctx, sc, g.Value.VpcID)
		if err != nil {
			return err
		}
		if err := e.groupDependents(ctx, g.Value); err != nil {
			return err
		}
		w := &store.Write{}
		if err := e.fence(w, vpc); err != nil {
			return err
		}
		e.store.SecurityGroups().DeleteIn(w, g.Value, g.Revision)
		_, err = e.store.Commit(ctx, w)
		return err
	})
	return deleted, err
}

func (e *EC2) groupDependents(ctx context.Context, g model.SecurityGroup) error {
	dependent := ec2Errorf(apierr.ResourceInUse, CodeDependencyViolation, "resource %s has a dependent object", g.ID)
	groups, err := e.store.SecurityGroups().List(ctx, g.Scope)
	if err != nil {
		return err
	}
	for _, o := range groups {
		if o.Value.ID == g.ID {
			continue
		}
		for _, r := range o.Value.Rules {
			if r.GroupID == g.ID {
				return dependent
			}
		}
	}
	enis, err := e.store.NetworkInterfaces().List(ctx, g.Scope)
	if err != nil {
		return err
	}
	for _, n := range enis {
		for _, id := range n.Value.GroupIDs {
			if id == g.ID {
				return dependent
			}
		}
	}
	return nil
}

// SecurityGroupRuleView is a rule with the group that holds it.
type SecurityGroupRuleView struct {
	GroupID string
	OwnerID string
	model.SecurityGroupRule
}

// DescribeSecurityGroupRules lists the rules named by ids (all when empty) that match filters
// (group-id, security-group-rule-id).
func (e *EC2) DescribeSecurityGroupRules(ctx context.Context, sc model.Scope, ids []string, filters []Filter, p Paging) ([]SecurityGroupRuleView, string, error) {
	if err := e.EnsureDefaultVPC(ctx, sc); err != nil {
		return nil, "", err
	}
	groups, err := e.store.SecurityGroups().List(ctx, sc)
	if err != nil {
		return nil, "", err
	}
	var rules []SecurityGroupRuleView
	for _, g := range groups {
		for _, r := range g.Value.Rules {
			rules = append(rules, SecurityGroupRuleView{GroupID: g.Value.ID, OwnerID: sc.Account, SecurityGroupRule: r})
		}
	}
	id := func(r SecurityGroupRuleView) string { return r.ID }
	if rules, err = byIDs(rules, id, ids, func(i string) error {
		return ec2Errorf(apierr.NotFound, CodeRuleNotFound, "The security group rule ID '%s' does not exist", i)
	}); err != nil {
		return nil, "", err
	}
	spec := filterSpec[SecurityGroupRuleView]{
		"group-id":               func(r SecurityGroupRuleView) []string { return []string{r.GroupID} },
		"security-group-rule-id": func(r SecurityGroupRuleView) []string { return []string{r.ID} },
	}
	if rules, err = applyFilters(spec, func(SecurityGroupRuleView) []model.Tag { return nil }, filters, rules); err != nil {
		return nil, "", err
	}
	sortRules(rules)
	return paginate(rules, id, p)
}
