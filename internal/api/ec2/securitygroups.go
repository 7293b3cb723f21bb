package ec2

import (
	"context"

	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/ops"
)

// SecurityGroup is EC2's security group shape.
type SecurityGroup struct {
	GroupID             string         `xml:"groupId"`
	GroupName           string         `xml:"groupName"`
	Description         string         `xml:"groupDescription"`
	OwnerID             string         `xml:"ownerId"`
	VpcID               string         `xml:"vpcId"`
	SecurityGroupArn    string         `xml:"securityGroupArn"`
	IPPermissions       []IPPermission `xml:"ipPermissions>item"`
	IPPermissionsEgress []IPPermission `xml:"ipPermissionsEgress>item"`
	Tags                []Tag          `xml:"tagSet>item"`
}

// IPPermission is EC2's permission shape, in requests and answers.
type IPPermission struct {
	IPProtocol       string            `xml:"ipProtocol" query:"IpProtocol"`
	FromPort         *int32            `xml:"fromPort,omitempty" query:"FromPort"`
	ToPort           *int32            `xml:"toPort,omitempty" query:"ToPort"`
	UserIDGroupPairs []UserIDGroupPair `xml:"groups>item" query:"Groups"`
	IPRanges         []IPRange         `xml:"ipRanges>item" query:"IpRanges"`
}

// IPRange is a CIDR peer.
type IPRange struct {
	CidrIP      string `xml:"cidrIp" query:"CidrIp"`
	Description string `xml:"description,omitempty" query:"Description"`
}

// UserIDGroupPair is a security group peer.
type UserIDGroupPair struct {
	GroupID     string `xml:"groupId" query:"GroupId"`
	GroupName   string `xml:"groupName,omitempty" query:"GroupName"`
	UserID      string `xml:"userId,omitempty" query:"UserId"`
	Description string `xml:"description,omitempty" query:"Description"`
}

func permissionsToWire(ps []ops.IPPermission, account string) []IPPermission {
	out := make([]IPPermission, len(ps))
	for i, p := range ps {
		w := IPPermission{IPProtocol: p.Protocol, FromPort: p.FromPort, ToPort: p.ToPort}
		for _, r := range p.IPRanges {
			w.IPRanges = append(w.IPRanges, IPRange(r))
		}
		for _, g := range p.Groups {
			w.UserIDGroupPairs = append(w.UserIDGroupPairs, UserIDGroupPair{GroupID: g.GroupID, UserID: account, Description: g.Description})
		}
		out[i] = w
	}
	return out
}

func permissionsFromWire(ps []IPPermission) []ops.IPPermission {
	out := make([]ops.IPPermission, len(ps))
	for i, p := range ps {
		o := ops.IPPermission{Protocol: p.IPProtocol, FromPort: p.FromPort, ToPort: p.ToPort}
		for _, r := range p.IPRanges {
			o.IPRanges = append(o.IPRanges, ops.IPRange(r))
		}
		for _, g := range p.UserIDGroupPairs {
			o.Groups = append(o.Groups, ops.GroupPair{GroupID: g.GroupID, GroupName: g.GroupName, UserID: g.UserID, Description: g.Description})
		}
		out[i] = o
	}
	return out
}

func groupToWire(g model.SecurityGroup) SecurityGroup {
	return SecurityGroup{GroupID: g.ID, GroupName: g.Name, Description: g.Description, OwnerID: g.Scope.Account, VpcID: g.VpcID,
		SecurityGroupArn:    model.EC2ARN(g.Scope, "security-group/"+g.ID),
		IPPermissions:       permissionsToWire(ops.Permissions(g.Rules, false), g.Scope.Account),
		IPPermissionsEgress: permissionsToWire(ops.Permissions(g.Rules, true), g.Scope.Account),
		Tags:                tagsToWire(g.Tags)}
}

type createSecurityGroupInput struct {
	GroupName         string             `query:"GroupName"`
	Description       string             `query:"GroupDescription"`
	VpcID             string             `query:"VpcId"`
	TagSpecifications []tagSpecification `query:"TagSpecification"`
}

type createSecurityGroupOutput struct {
	Return           bool   `xml:"return"`
	GroupID          string `xml:"groupId"`
	SecurityGroupArn string `xml:"securityGroupArn"`
	Tags             []Tag  `xml:"tagSet>item"`
}

func (h *handler) createSecurityGroup(ctx context.Context, sc model.Scope, in *createSecurityGroupInput) (*createSecurityGroupOutput, error) {
	g, err := h.ops.CreateSecurityGroup(ctx, sc, ops.CreateSecurityGroupInput{GroupName: in.GroupName, Description: in.Description,
		VpcID: in.VpcID, Tags: specsFromWire(in.TagSpecifications)})
	if err != nil {
		return nil, err
	}
	return &createSecurityGroupOutput{Return: true, GroupID: g.ID, SecurityGroupArn: model.EC2ARN(sc, "security-group/"+g.ID),
		Tags: tagsToWire(g.Tags)}, nil
}

type describeSecurityGroupsInput struct {
	GroupIDs   []string `query:"GroupId"`
	GroupNames []string `query:"GroupName"`
	Filters    []filter `query:"Filter"`
	MaxResults *int32   `query:"MaxResults"`
	NextToken  string   `query:"NextToken"`
}

type describeSecurityGroupsOutput struct {
	SecurityGroups []SecurityGroup `xml:"securityGroupInfo>item"`
	NextToken      string          `xml:"nextToken,omitempty"`
}

func (h *handler) describeSecurityGroups(ctx context.Context, sc model.Scope, in *describeSecurityGroupsInput) (*describeSecurityGroupsOutput, error) {
	groups, next, err := h.ops.DescribeSecurityGroups(ctx, sc, in.GroupIDs, in.GroupNames, filtersFromWire(in.Filters), paging(in.MaxResults, in.NextToken))
	if err != nil {
		return nil, err
	}
	out := &describeSecurityGroupsOutput{NextToken: next, SecurityGroups: make([]SecurityGroup, len(groups))}
	for i, g := range groups {
		out.SecurityGroups[i] = groupToWire(g)
	}
	return out, nil
}

type deleteSecurityGroupInput struct {
	GroupID   string `query:"GroupId"`
	GroupName string `query:"GroupName"`
}

type deleteSecurityGroupOutput struct {
	Return  bool   `xml:"return"`
	GroupID string `xml:"groupId"`
}

func (h *handler) deleteSecurityGroup(ctx context.Context, sc model.Scope, in *deleteSecurityGroupInput) (*deleteSecurityGroupOutput, error) {
	id, err := h.ops.DeleteSecurityGroup(ctx, sc, in.GroupID, in.GroupName)
	if err != nil {
		return nil, err
	}
	return &deleteSecurityGroupOutput{Return: true, GroupID: id}, nil
}

// SecurityGroupRule is EC2's rule shape.
type SecurityGroupRule struct {
	SecurityGroupRuleID  string           `xml:"securityGroupRuleId"`
	GroupID              string           `xml:"groupId"`
	GroupOwnerID         string           `xml:"groupOwnerId"`
	IsEgress             bool             `xml:"isEgress"`
	IPProtocol           string           `xml:"ipProtocol"`
	FromPort             int32            `xml:"fromPort"`
	ToPort               int32            `xml:"toPort"`
	CidrIPv4             string           `xml:"cidrIpv4,omitempty"`
	ReferencedGroupInfo  *ReferencedGroup `xml:"referencedGroupInfo,omitempty"`
	Description          string           `xml:"description,omitempty"`
	SecurityGroupRuleArn string           `xml:"securityGroupRuleArn"`
	Tags                 []Tag            `xml:"tagSet>item"`
}

// ReferencedGroup is the group a rule allows.
type ReferencedGroup struct {
	GroupID string `xml:"groupId"`
	UserID  string `xml:"userId"`
}

func ruleToWire(sc model.Scope, r ops.SecurityGroupRuleView) SecurityGroupRule {
	w := SecurityGroupRule{SecurityGroupRuleID: r.ID, GroupID: r.GroupID, GroupOwnerID: r.OwnerID, IsEgress: r.Egress,
		IPProtocol: ops.ProtocolName(r.Protocol), FromPort: r.FromPort, ToPort: r.ToPort, CidrIPv4: r.CidrIPv4,
		Description: r.Description, SecurityGroupRuleArn: model.EC2ARN(sc, "security-group-rule/"+r.ID)}
	if r.SecurityGroupRule.GroupID != "" {
		w.ReferencedGroupInfo = &ReferencedGroup{GroupID: r.SecurityGroupRule.GroupID, UserID: r.OwnerID}
	}
	return w
}

func rulesToWire(sc model.Scope, rules []ops.SecurityGroupRuleView) []SecurityGroupRule {
	out := make([]SecurityGroupRule, len(rules))
	for i, r := range rules {
		out[i] = ruleToWire(sc, r)
	}
	return out
}

// ruleChangeInput is the members of Authorize/Revoke SecurityGroup Ingress/Egress; the flat
// members (IpProtocol, FromPort, ToPort, CidrIp, SourceSecurityGroupName) are the old form of
// one permission.
type ruleChangeInput struct {
	GroupID                 string         `query:"GroupId"`
	GroupName               string         `query:"GroupName"`
	IPPermissions           []IPPermission `query:"IpPermissions"`
	SecurityGroupRuleIDs    []string       `query:"SecurityGroupRuleId"`
	IPProtocol              string         `query:"IpProtocol"`
	FromPort                *int32         `query:"FromPort"`
	ToPort                  *int32         `query:"ToPort"`
	CidrIP                  string         `query:"CidrIp"`
	SourceSecurityGroupName string         `query:"SourceSecurityGroupName"`
}

func (in *ruleChangeInput) change() ops.RuleChange {
	perms := permissionsFromWire(in.IPPermissions)
	if in.IPProtocol != "" || in.CidrIP != "" || in.SourceSecurityGroupName != "" {
		p := ops.IPPermission{Protocol: in.IPProtocol, FromPort: in.FromPort, ToPort: in.ToPort}
		if in.CidrIP != "" {
			p.IPRanges = []ops.IPRange{{CidrIP: in.CidrIP}}
		}
		if in.SourceSecurityGroupName != "" {
			p.Groups = []ops.GroupPair{{GroupName: in.SourceSecurityGroupName}}
		}
		if p.Protocol == "" {
			p.Protocol = "-1"
		}
		perms = append(perms, p)
	}
	return ops.RuleChange{GroupID: in.GroupID, GroupName: in.GroupName, Permissions: perms, RuleIDs: in.SecurityGroupRuleIDs}
}

type authorizeOutput struct {
	Return             bool                `xml:"return"`
	SecurityGroupRules []SecurityGroupRule `xml:"securityGroupRuleSet>item"`
}

func (h *handler) authorize(egress bool) func(context.Context, model.Scope, *ruleChangeInput) (*authorizeOutput, error) {
	return func(ctx context.Context, sc model.Scope, in *ruleChangeInput) (*authorizeOutput, error) {
		rules, err := h.ops.AuthorizeSecurityGroupRules(ctx, sc, egress, in.change())
		if err != nil {
			return nil, err
		}
		return &authorizeOutput{Return: true, SecurityGroupRules: rulesToWire(sc, rules)}, nil
	}
}

// RevokedSecurityGroupRule is a rule a Revoke call removed.
type RevokedSecurityGroupRule struct {
	SecurityGroupRuleID string `xml:"securityGroupRuleId"`
	GroupID             string `xml:"groupId"`
	IsEgress            bool   `xml:"isEgress"`
	IPProtocol          string `xml:"ipProtocol"`
	FromPort            int32  `xml:"fromPort"`
	ToPort              int32  `xml:"toPort"`
	CidrIPv4            string `xml:"cidrIpv4,omitempty"`
	ReferencedGroupID   string `xml:"referencedGroupId,omitempty"`
	Description         string `xml:"description,omitempty"`
}

type revokeOutput struct {
	Return       bool                       `xml:"return"`
	RevokedRules []RevokedSecurityGroupRule `xml:"revokedSecurityGroupRuleSet>item"`
}

func (h *handler) revoke(egress bool) func(context.Context, model.Scope, *ruleChangeInput) (*revokeOutput, error) {
	return func(ctx context.Context, sc model.Scope, in *ruleChangeInput) (*revokeOutput, error) {
		rules, err := h.ops.RevokeSecurityGroupRules(ctx, sc, egress, in.change())
		if err != nil {
			return nil, err
		}
		out := &revokeOutput{Return: true}
		for _, r := range rules {
			out.RevokedRules = append(out.RevokedRules, RevokedSecurityGroupRule{SecurityGroupRuleID: r.ID, GroupID: r.GroupID,
				IsEgress: r.Egress, IPProtocol: ops.ProtocolName(r.Protocol), FromPort: r.FromPort, ToPort: r.ToPort,
				CidrIPv4: r.CidrIPv4, ReferencedGroupID: r.SecurityGroupRule.GroupID, Description: r.Description})
		}
		return out, nil
	}
}

type describeSecurityGroupRulesInput struct {
	RuleIDs    []string `query:"SecurityGroupRuleId"`
	Filters    []filter `query:"Filter"`
	MaxResults *int32   `query:"MaxResults"`
	NextToken  string   `query:"NextToken"`
}

type describeSecurityGroupRulesOutput struct {
	SecurityGroupRules []SecurityGroupRule `xml:"securityGroupRuleSet>item"`
	NextToken          string              `xml:"nextToken,omitempty"`
}

func (h *handler) describeSecurityGroupRules(ctx context.Context, sc model.Scope, in *describeSecurityGroupRulesInput) (*describeSecurityGroupRulesOutput, error) {
	rules, next, err := h.ops.DescribeSecurityGroupRules(ctx, sc, in.RuleIDs, filtersFromWire(in.Filters), paging(in.MaxResults, in.NextToken))
	if err != nil {
		return nil, err
	}
	return &describeSecurityGroupRulesOutput{SecurityGroupRules: rulesToWire(sc, rules), NextToken: next}, nil
}
