package ops_test

import (
	"errors"
	"sync"
	"testing"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/logx"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/ops"
	"github.com/gantry-dev/gantry/internal/store"
	"github.com/gantry-dev/gantry/internal/testutil"
)

var ec2Scope = model.Scope{Account: model.DefaultAccount, Region: "us-east-1"}

func newEC2(t *testing.T) (*ops.EC2, *store.Store) {
	t.Helper()
	cli, prefix := testutil.Etcd(t)
	st := store.New(cli, prefix)
	return ops.NewEC2(st, logx.Discard()), st
}

// wantEC2Code checks err carries EC2's code, and the generic kind for callers in-process.
func wantEC2Code(t *testing.T, err error, code string, kind apierr.Kind) {
	t.Helper()
	var e *ops.EC2Error
	if !errors.As(err, &e) || e.Code != code {
		t.Fatalf("error %v, want code %s", err, code)
	}
	if kind != "" && apierr.KindOf(err) != kind {
		t.Errorf("kind %q, want %q", apierr.KindOf(err), kind)
	}
}

func TestDefaultVPCOnceUnderConcurrency(t *testing.T) {
	cli, prefix := testutil.Etcd(t)
	st := store.New(cli, prefix)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			// separate EC2 values: no shared in-memory cache, only etcd decides
			if err := ops.NewEC2(st, logx.Discard()).EnsureDefaultVPC(t.Context(), ec2Scope); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	e := ops.NewEC2(st, logx.Discard())
	vpcs, _, err := e.DescribeVpcs(t.Context(), ec2Scope, nil, nil, ops.Paging{})
	if err != nil || len(vpcs) != 1 || !vpcs[0].IsDefault || vpcs[0].CidrBlock != model.DefaultVpcCIDR {
		t.Fatalf("vpcs %+v %v", vpcs, err)
	}
	subnets, _, err := e.DescribeSubnets(t.Context(), ec2Scope, nil, []ops.Filter{{Name: "default-for-az", Values: []string{"true"}}}, ops.Paging{})
	if err != nil || len(subnets) != 6 {
		t.Fatalf("subnets %d %v", len(subnets), err)
	}
	want := map[string]string{"us-east-1a": "172.31.0.0/20", "us-east-1b": "172.31.16.0/20", "us-east-1c": "172.31.32.0/20"}
	for _, s := range subnets {
		if c, ok := want[s.AvailabilityZone]; ok && c != s.CidrBlock || !s.MapPublicIPOnLaunch || s.AvailableIPAddressCount != 4091 {
			t.Errorf("subnet %+v", s)
		}
	}
	groups, _, err := e.DescribeSecurityGroups(t.Context(), ec2Scope, nil, []string{"default"}, nil, ops.Paging{})
	if err != nil || len(groups) != 1 {
		t.Fatalf("default group %+v %v", groups, err)
	}
	g := groups[0]
	in, out := ops.Permissions(g.Rules, false), ops.Permissions(g.Rules, true)
	if len(in) != 1 || len(in[0].Groups) != 1 || in[0].Groups[0].GroupID != g.ID || len(out) != 1 || out[0].IPRanges[0].CidrIP != "0.0.0.0/0" {
		t.Errorf("default group rules in %+v out %+v", in, out)
	}
	tables, _, err := e.DescribeRouteTables(t.Context(), ec2Scope, nil, []ops.Filter{{Name: "association.main", Values: []string{"true"}}}, ops.Paging{})
	if err != nil || len(tables) != 1 || len(tables[0].Routes) != 2 || tables[0].Routes[1].DestinationCidrBlock != "0.0.0.0/0" {
		t.Fatalf("main table %+v %v", tables, err)
	}
	igws, _, err := e.DescribeInternetGateways(t.Context(), ec2Scope, nil, []ops.Filter{{Name: "attachment.vpc-id", Values: []string{vpcs[0].ID}}}, ops.Paging{})
	if err != nil || len(igws) != 1 || igws[0].ID != tables[0].Routes[1].GatewayID {
		t.Fatalf("igw %+v %v", igws, err)
	}
	attrs, err := e.DescribeAccountAttributes(t.Context(), ec2Scope, []string{"default-vpc"})
	if err != nil || attrs[0].Values[0] != vpcs[0].ID {
		t.Errorf("default-vpc attribute %+v %v", attrs, err)
	}
}

func TestCreateVpcValidation(t *testing.T) {
	e, _ := newEC2(t)
	tests := []struct {
		name string
		in   ops.CreateVpcInput
		code string
	}{
		{"missing cidr", ops.CreateVpcInput{}, ops.CodeMissingParameter},
		{"not a cidr", ops.CreateVpcInput{CidrBlock: "10.0.0.0"}, ops.CodeInvalidParameterValue},
		{"host bits set", ops.CreateVpcInput{CidrBlock: "10.0.0.1/16"}, ops.CodeInvalidParameterValue},
		{"too big", ops.CreateVpcInput{CidrBlock: "10.0.0.0/15"}, ops.CodeVpcRange},
		{"too small", ops.CreateVpcInput{CidrBlock: "10.0.0.0/29"}, ops.CodeVpcRange},
		{"bad tenancy", ops.CreateVpcInput{CidrBlock: "10.0.0.0/16", InstanceTenancy: "shared"}, ops.CodeInvalidParameterValue},
		{"wrong tag type", ops.CreateVpcInput{CidrBlock: "10.0.0.0/16", Tags: []ops.TagSpecification{{ResourceType: "subnet"}}}, ops.CodeInvalidParameterValue},
		{"reserved tag", ops.CreateVpcInput{CidrBlock: "10.0.0.0/16", Tags: []ops.TagSpecification{{ResourceType: "vpc", Tags: []model.Tag{{Key: "aws:x"}}}}}, ops.CodeInvalidParameterValue},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.CreateVpc(t.Context(), ec2Scope, tc.in)
			wantEC2Code(t, err, tc.code, "")
		})
	}
	for _, cidr := range []string{"10.0.0.0/16", "192.168.0.0/28"} {
		if v, err := e.CreateVpc(t.Context(), ec2Scope, ops.CreateVpcInput{CidrBlock: cidr}); err != nil || v.CidrBlock != cidr {
			t.Errorf("CreateVpc %s: %+v %v", cidr, v, err)
		}
	}
}

func TestCreateSubnetValidation(t *testing.T) {
	e, _ := newEC2(t)
	ctx := t.Context()
	vpc, err := e.CreateVpc(ctx, ec2Scope, ops.CreateVpcInput{CidrBlock: "10.0.0.0/16"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.CreateSubnet(ctx, ec2Scope, ops.CreateSubnetInput{VpcID: vpc.ID, CidrBlock: "10.0.1.0/24"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		in   ops.CreateSubnetInput
		code string
		kind apierr.Kind
	}{
		{"missing vpc", ops.CreateSubnetInput{CidrBlock: "10.0.2.0/24"}, ops.CodeMissingParameter, apierr.MissingParameter},
		{"unknown vpc", ops.CreateSubnetInput{VpcID: "vpc-00000000000000000", CidrBlock: "10.0.2.0/24"}, ops.CodeVpcNotFound, apierr.NotFound},
		{"missing cidr", ops.CreateSubnetInput{VpcID: vpc.ID}, ops.CodeMissingParameter, apierr.MissingParameter},
		{"outside vpc", ops.CreateSubnetInput{VpcID: vpc.ID, CidrBlock: "10.1.0.0/24"}, ops.CodeSubnetRange, apierr.InvalidParameter},
		{"larger than vpc", ops.CreateSubnetInput{VpcID: vpc.ID, CidrBlock: "10.0.0.0/15"}, ops.CodeSubnetRange, apierr.InvalidParameter},
		{"too small", ops.CreateSubnetInput{VpcID: vpc.ID, CidrBlock: "10.0.2.0/29"}, ops.CodeSubnetRange, apierr.InvalidParameter},
		{"same cidr", ops.CreateSubnetInput{VpcID: vpc.ID, CidrBlock: "10.0.1.0/24"}, ops.CodeSubnetConflict, apierr.InvalidParameter},
		{"inside another", ops.CreateSubnetInput{VpcID: vpc.ID, CidrBlock: "10.0.1.64/26"}, ops.CodeSubnetConflict, apierr.InvalidParameter},
		{"around another", ops.CreateSubnetInput{VpcID: vpc.ID, CidrBlock: "10.0.0.0/22"}, ops.CodeSubnetConflict, apierr.InvalidParameter},
		{"unknown zone", ops.CreateSubnetInput{VpcID: vpc.ID, CidrBlock: "10.0.2.0/24", AvailabilityZone: "us-west-2a"}, ops.CodeInvalidParameterValue, apierr.InvalidParameter},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.CreateSubnet(ctx, ec2Scope, tc.in)
			wantEC2Code(t, err, tc.code, tc.kind)
		})
	}
	if s, err := e.CreateSubnet(ctx, ec2Scope, ops.CreateSubnetInput{VpcID: vpc.ID, CidrBlock: "10.0.2.0/28", AvailabilityZoneID: "use1-az3"}); err != nil || s.AvailabilityZone != "us-east-1c" {
		t.Errorf("subnet by zone id: %+v %v", s, err)
	}
}

func TestConcurrentSubnetsNeverOverlap(t *testing.T) {
	e, _ := newEC2(t)
	ctx := t.Context()
	vpc, err := e.CreateVpc(ctx, ec2Scope, ops.CreateVpcInput{CidrBlock: "10.0.0.0/16"})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	created := 0
	for range 6 {
		wg.Go(func() {
			_, err := e.CreateSubnet(ctx, ec2Scope, ops.CreateSubnetInput{VpcID: vpc.ID, CidrBlock: "10.0.5.0/24"})
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				created++
			} else if e := new(*ops.EC2Error); !errors.As(err, e) || (*e).Code != ops.CodeSubnetConflict {
				t.Errorf("unexpected %v", err)
			}
		})
	}
	wg.Wait()
	if created != 1 {
		t.Errorf("%d subnets created for one CIDR", created)
	}
}

func TestSecurityGroupRules(t *testing.T) {
	e, _ := newEC2(t)
	ctx := t.Context()
	g, err := e.CreateSecurityGroup(ctx, ec2Scope, ops.CreateSecurityGroupInput{GroupName: "web", Description: "web"})
	if err != nil {
		t.Fatal(err)
	}
	peer, err := e.CreateSecurityGroup(ctx, ec2Scope, ops.CreateSecurityGroupInput{GroupName: "lb", Description: "lb"})
	if err != nil {
		t.Fatal(err)
	}
	p := func(v int32) *int32 { return &v }
	cidr := func(proto string, from, to *int32, c string) []ops.IPPermission {
		return []ops.IPPermission{{Protocol: proto, FromPort: from, ToPort: to, IPRanges: []ops.IPRange{{CidrIP: c}}}}
	}
	tests := []struct {
		name   string
		egress bool
		perms  []ops.IPPermission
		code   string // "" means success
	}{
		{"tcp", false, cidr("tcp", p(22), p(22), "10.0.0.0/8"), ""},
		{"tcp again by number", false, cidr("6", p(22), p(22), "10.0.0.0/8"), ops.CodePermissionDuplicate},
		{"udp range", false, cidr("udp", p(1000), p(2000), "0.0.0.0/0"), ""},
		{"icmp all", false, cidr("icmp", p(-1), p(-1), "0.0.0.0/0"), ""},
		{"all protocols", false, cidr("-1", nil, nil, "192.168.0.0/16"), ""},
		{"other protocol number", false, cidr("50", nil, nil, "192.168.0.0/16"), ""},
		{"group peer", false, []ops.IPPermission{{Protocol: "tcp", FromPort: p(80), ToPort: p(80), Groups: []ops.GroupPair{{GroupID: peer.ID}}}}, ""},
		{"missing group peer", false, []ops.IPPermission{{Protocol: "tcp", FromPort: p(80), ToPort: p(80), Groups: []ops.GroupPair{{GroupID: "sg-00000000000000000"}}}}, ops.CodeGroupNotFound},
		{"malformed group peer", false, []ops.IPPermission{{Protocol: "tcp", FromPort: p(80), ToPort: p(80), Groups: []ops.GroupPair{{GroupID: "web"}}}}, ops.CodeGroupIDMalformed},
		{"tcp without ports", false, cidr("tcp", nil, nil, "10.0.0.0/8"), ops.CodeInvalidParameterValue},
		{"ports reversed", false, cidr("tcp", p(90), p(80), "10.0.0.0/8"), ops.CodeInvalidParameterValue},
		{"port too high", false, cidr("udp", p(1), p(70000), "10.0.0.0/8"), ops.CodeInvalidParameterValue},
		{"unknown protocol", false, cidr("sctpx", nil, nil, "10.0.0.0/8"), ops.CodeInvalidParameterValue},
		{"bad cidr", false, cidr("tcp", p(1), p(2), "10.0.0.1/8"), ops.CodeInvalidParameterValue},
		{"no peer", false, []ops.IPPermission{{Protocol: "tcp", FromPort: p(1), ToPort: p(2)}}, ops.CodeInvalidParameterValue},
		{"default egress duplicate", true, cidr("-1", nil, nil, "0.0.0.0/0"), ops.CodePermissionDuplicate},
		{"egress tcp", true, cidr("tcp", p(443), p(443), "0.0.0.0/0"), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			added, err := e.AuthorizeSecurityGroupRules(ctx, ec2Scope, tc.egress, ops.RuleChange{GroupID: g.ID, Permissions: tc.perms})
			if tc.code == "" {
				if err != nil || len(added) != 1 || added[0].Egress != tc.egress {
					t.Fatalf("added %+v %v", added, err)
				}
				return
			}
			wantEC2Code(t, err, tc.code, "")
		})
	}
	_, err = e.DeleteSecurityGroup(ctx, ec2Scope, peer.ID, "")
	wantEC2Code(t, err, ops.CodeDependencyViolation, apierr.ResourceInUse)
	_, err = e.RevokeSecurityGroupRules(ctx, ec2Scope, false, ops.RuleChange{GroupID: g.ID, Permissions: cidr("tcp", p(23), p(23), "10.0.0.0/8")})
	wantEC2Code(t, err, ops.CodePermissionNotFound, apierr.NotFound)
	_, err = e.RevokeSecurityGroupRules(ctx, ec2Scope, false, ops.RuleChange{GroupID: g.ID, RuleIDs: []string{"sgr-00000000000000000"}})
	wantEC2Code(t, err, ops.CodeRuleNotFound, apierr.NotFound)
	rules, _, err := e.DescribeSecurityGroupRules(ctx, ec2Scope, nil, []ops.Filter{{Name: "group-id", Values: []string{g.ID}}}, ops.Paging{})
	if err != nil || len(rules) != 8 {
		t.Fatalf("rules %d %v", len(rules), err)
	}
	var groupRule string
	for _, r := range rules {
		if r.SecurityGroupRule.GroupID == peer.ID {
			groupRule = r.ID
		}
	}
	removed, err := e.RevokeSecurityGroupRules(ctx, ec2Scope, false, ops.RuleChange{GroupID: g.ID, RuleIDs: []string{groupRule}})
	if err != nil || len(removed) != 1 {
		t.Fatalf("revoke by id %+v %v", removed, err)
	}
	if _, err := e.DeleteSecurityGroup(ctx, ec2Scope, "", "lb"); err != nil {
		t.Errorf("delete by name: %v", err)
	}
	perms := ops.Permissions(nil, false)
	if len(perms) != 0 {
		t.Errorf("no rules: %+v", perms)
	}
}

func TestSecurityGroupErrors(t *testing.T) {
	e, _ := newEC2(t)
	ctx := t.Context()
	tests := []struct {
		name string
		in   ops.CreateSecurityGroupInput
		code string
	}{
		{"missing name", ops.CreateSecurityGroupInput{Description: "d"}, ops.CodeMissingParameter},
		{"missing description", ops.CreateSecurityGroupInput{GroupName: "n"}, ops.CodeMissingParameter},
		{"reserved", ops.CreateSecurityGroupInput{GroupName: "default", Description: "d"}, ops.CodeGroupReserved},
		{"sg- name", ops.CreateSecurityGroupInput{GroupName: "sg-abc", Description: "d"}, ops.CodeInvalidParameterValue},
		{"unknown vpc", ops.CreateSecurityGroupInput{GroupName: "n", Description: "d", VpcID: "vpc-00000000000000000"}, ops.CodeVpcNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.CreateSecurityGroup(ctx, ec2Scope, tc.in)
			wantEC2Code(t, err, tc.code, "")
		})
	}
	if _, err := e.CreateSecurityGroup(ctx, ec2Scope, ops.CreateSecurityGroupInput{GroupName: "n", Description: "d"}); err != nil {
		t.Fatal(err)
	}
	_, err := e.CreateSecurityGroup(ctx, ec2Scope, ops.CreateSecurityGroupInput{GroupName: "n", Description: "d"})
	wantEC2Code(t, err, ops.CodeGroupDuplicate, apierr.AlreadyExists)
	_, err = e.DeleteSecurityGroup(ctx, ec2Scope, "", "default")
	wantEC2Code(t, err, ops.CodeCannotDelete, "")
	_, err = e.DeleteSecurityGroup(ctx, ec2Scope, "sg-00000000000000000", "")
	wantEC2Code(t, err, ops.CodeGroupNotFound, apierr.NotFound)
	_, err = e.DeleteSecurityGroup(ctx, ec2Scope, "", "")
	wantEC2Code(t, err, ops.CodeMissingParameter, "")
	_, _, err = e.DescribeSecurityGroups(ctx, ec2Scope, []string{"nope"}, nil, nil, ops.Paging{})
	wantEC2Code(t, err, ops.CodeGroupIDMalformed, "")
}

func TestDeleteVpcAndGateways(t *testing.T) {
	e, _ := newEC2(t)
	ctx := t.Context()
	vpc, err := e.CreateVpc(ctx, ec2Scope, ops.CreateVpcInput{CidrBlock: "10.0.0.0/16"})
	if err != nil {
		t.Fatal(err)
	}
	igw, err := e.CreateInternetGateway(ctx, ec2Scope, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.AttachInternetGateway(ctx, ec2Scope, igw.ID, vpc.ID); err != nil {
		t.Fatal(err)
	}
	wantEC2Code(t, e.AttachInternetGateway(ctx, ec2Scope, igw.ID, vpc.ID), ops.CodeAlreadyAssociated, "")
	wantEC2Code(t, e.DeleteVpc(ctx, ec2Scope, vpc.ID), ops.CodeDependencyViolation, apierr.ResourceInUse)
	wantEC2Code(t, e.DetachInternetGateway(ctx, ec2Scope, "igw-00000000000000000", vpc.ID), ops.CodeInternetGatewayNotFound, "")
	if err := e.DetachInternetGateway(ctx, ec2Scope, igw.ID, vpc.ID); err != nil {
		t.Fatal(err)
	}
	wantEC2Code(t, e.DetachInternetGateway(ctx, ec2Scope, igw.ID, vpc.ID), ops.CodeGatewayNotAttached, "")
	rtb, err := e.CreateRouteTable(ctx, ec2Scope, vpc.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	wantEC2Code(t, e.CreateRoute(ctx, ec2Scope, ops.RouteInput{RouteTableID: rtb.ID, DestinationCidrBlock: "0.0.0.0/0", GatewayID: "igw-00000000000000000"}), ops.CodeGatewayNotFound, "")
	wantEC2Code(t, e.CreateRoute(ctx, ec2Scope, ops.RouteInput{RouteTableID: rtb.ID, DestinationCidrBlock: "10.0.0.0/16", GatewayID: igw.ID}), ops.CodeInvalidParameterValue, "")
	wantEC2Code(t, e.DeleteVpc(ctx, ec2Scope, vpc.ID), ops.CodeDependencyViolation, "")
	wantEC2Code(t, e.DeleteVpc(ctx, ec2Scope, "vpc-00000000000000000"), ops.CodeVpcNotFound, apierr.NotFound)
	sub, err := e.CreateSubnet(ctx, ec2Scope, ops.CreateSubnetInput{VpcID: vpc.ID, CidrBlock: "10.0.1.0/24"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.AssociateRouteTable(ctx, ec2Scope, rtb.ID, sub.ID); err != nil {
		t.Fatal(err)
	}
	_, err = e.AssociateRouteTable(ctx, ec2Scope, rtb.ID, sub.ID)
	wantEC2Code(t, err, ops.CodeAlreadyAssociated, "")
	if err := e.DeleteSubnet(ctx, ec2Scope, sub.ID); err != nil {
		t.Fatal(err)
	}
	wantEC2Code(t, e.DeleteSubnet(ctx, ec2Scope, sub.ID), ops.CodeSubnetNotFound, apierr.NotFound)
}

func TestEC2Tags(t *testing.T) {
	e, _ := newEC2(t)
	ctx := t.Context()
	vpc, err := e.CreateVpc(ctx, ec2Scope, ops.CreateVpcInput{CidrBlock: "10.0.0.0/16"})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.CreateTags(ctx, ec2Scope, []string{vpc.ID}, []model.Tag{{Key: "a", Value: "1"}, {Key: "b", Value: "2"}}); err != nil {
		t.Fatal(err)
	}
	wantEC2Code(t, e.CreateTags(ctx, ec2Scope, []string{"bogus-1"}, []model.Tag{{Key: "a"}}), ops.CodeInvalidID, "")
	wantEC2Code(t, e.CreateTags(ctx, ec2Scope, []string{"subnet-00000000000000000"}, []model.Tag{{Key: "a"}}), ops.CodeSubnetNotFound, apierr.NotFound)
	one := "1"
	if err := e.DeleteTags(ctx, ec2Scope, []string{vpc.ID}, []ops.DeleteTag{{Key: "a", Value: &one}, {Key: "b", Value: new(string)}}); err != nil {
		t.Fatal(err)
	}
	tags, _, err := e.DescribeTags(ctx, ec2Scope, []ops.Filter{{Name: "resource-id", Values: []string{vpc.ID}}}, ops.Paging{})
	if err != nil || len(tags) != 1 || tags[0].Key != "b" || tags[0].ResourceType != "vpc" {
		t.Errorf("tags %+v %v", tags, err)
	}
	vpcs, _, err := e.DescribeVpcs(ctx, ec2Scope, nil, []ops.Filter{{Name: "tag-key", Values: []string{"b"}}}, ops.Paging{})
	if err != nil || len(vpcs) != 1 {
		t.Errorf("by tag-key %+v %v", vpcs, err)
	}
}

func TestDescribeVpcsPaging(t *testing.T) {
	e, _ := newEC2(t)
	ctx := t.Context()
	for i := range 6 {
		if _, err := e.CreateVpc(ctx, ec2Scope, ops.CreateVpcInput{CidrBlock: "10." + string(rune('0'+i)) + ".0.0/16"}); err != nil {
			t.Fatal(err)
		}
	}
	five := int32(5)
	seen := map[string]bool{}
	token := ""
	for page := 0; page < 3; page++ {
		vpcs, next, err := e.DescribeVpcs(ctx, ec2Scope, nil, nil, ops.Paging{MaxResults: &five, NextToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range vpcs {
			seen[v.ID] = true
		}
		if token = next; token == "" {
			break
		}
	}
	if len(seen) != 7 || token != "" {
		t.Errorf("paged %d VPCs, token %q", len(seen), token)
	}
	one := int32(1)
	_, _, err := e.DescribeVpcs(ctx, ec2Scope, nil, nil, ops.Paging{MaxResults: &one})
	wantEC2Code(t, err, ops.CodeInvalidParameterValue, "")
}

func TestValidateAwsVpc(t *testing.T) {
	e, st := newEC2(t)
	ctx := t.Context()
	subs, _, err := e.DescribeSubnets(ctx, ec2Scope, nil, []ops.Filter{{Name: "default-for-az", Values: []string{"true"}}}, ops.Paging{})
	if err != nil || len(subs) < 2 {
		t.Fatal(subs, err)
	}
	vpc, err := e.CreateVpc(ctx, ec2Scope, ops.CreateVpcInput{CidrBlock: "10.0.0.0/16"})
	if err != nil {
		t.Fatal(err)
	}
	other, err := e.CreateSubnet(ctx, ec2Scope, ops.CreateSubnetInput{VpcID: vpc.ID, CidrBlock: "10.0.1.0/24"})
	if err != nil {
		t.Fatal(err)
	}
	otherGroup, _ := e.CreateSecurityGroup(ctx, ec2Scope, ops.CreateSecurityGroupInput{GroupName: "x", Description: "x", VpcID: vpc.ID})
	defVpc, _, _ := e.DescribeVpcs(ctx, ec2Scope, nil, []ops.Filter{{Name: "is-default", Values: []string{"true"}}}, ops.Paging{})
	gotVpc, groups, err := e.ValidateAwsVpc(ctx, ec2Scope, []string{subs[0].ID, subs[1].ID}, nil)
	if err != nil || gotVpc != defVpc[0].ID || len(groups) != 1 || groups[0] != defVpc[0].DefaultGroupID {
		t.Errorf("default group: %s %v %v", gotVpc, groups, err)
	}
	many := make([]string, 17)
	six := []string{"sg-1", "sg-2", "sg-3", "sg-4", "sg-5", "sg-6"}
	tests := []struct {
		name    string
		subnets []string
		groups  []string
		code    string
	}{
		{"no subnets", nil, nil, ops.CodeMissingParameter},
		{"17 subnets", many, nil, ops.CodeInvalidParameterValue},
		{"6 groups", []string{subs[0].ID}, six, ops.CodeInvalidParameterValue},
		{"unknown subnet", []string{"subnet-00000000000000000"}, nil, ops.CodeSubnetNotFound},
		{"two vpcs", []string{subs[0].ID, other.ID}, nil, ops.CodeInvalidParameterValue},
		{"group of another vpc", []string{subs[0].ID}, []string{otherGroup.ID}, ops.CodeInvalidParameterValue},
		{"unknown group", []string{subs[0].ID}, []string{"sg-00000000000000000"}, ops.CodeGroupNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := e.ValidateAwsVpc(ctx, ec2Scope, tc.subnets, tc.groups)
			wantEC2Code(t, err, tc.code, "")
		})
	}
	// ENIs written by the task networking code show up in DescribeNetworkInterfaces and block
	// the deletion of their groups.
	eni := model.NetworkInterface{Scope: ec2Scope, ID: "eni-0123456789abcdef0", SubnetID: other.ID, VpcID: vpc.ID,
		GroupIDs: []string{otherGroup.ID}, PrivateIP: "10.0.1.5", Status: model.StateInUse, InterfaceType: "interface"}
	if _, err := st.NetworkInterfaces().Create(ctx, eni); err != nil {
		t.Fatal(err)
	}
	enis, _, err := e.DescribeNetworkInterfaces(ctx, ec2Scope, nil, []ops.Filter{{Name: "addresses.private-ip-address", Values: []string{"10.0.1.5"}}, {Name: "group-id", Values: []string{otherGroup.ID}}}, ops.Paging{})
	if err != nil || len(enis) != 1 {
		t.Errorf("enis %+v %v", enis, err)
	}
	_, err = e.DeleteSecurityGroup(ctx, ec2Scope, otherGroup.ID, "")
	wantEC2Code(t, err, ops.CodeDependencyViolation, "")
	wantEC2Code(t, e.DeleteSubnet(ctx, ec2Scope, other.ID), ops.CodeDependencyViolation, "")
	if got := model.PrivateDNSName("10.0.1.5", "us-east-1"); got != "ip-10-0-1-5.ec2.internal" {
		t.Errorf("dns name %s", got)
	}
}
