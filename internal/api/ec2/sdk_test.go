package ec2_test

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	ec2sdk "github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
)

func sdkClient(t *testing.T, base string) *ec2sdk.Client {
	t.Helper()
	return ec2sdk.New(ec2sdk.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(base),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != code {
		t.Errorf("%s: error %v, want code %s", what, err, code)
	}
}

// TestSDK drives the EC2 subset with the Go SDK v2, as a user's program would.
func TestSDK(t *testing.T) {
	c := sdkClient(t, newEC2API(t))
	ctx := t.Context()

	def, err := c.DescribeVpcs(ctx, &ec2sdk.DescribeVpcsInput{Filters: []types.Filter{{Name: aws.String("is-default"), Values: []string{"true"}}}})
	if err != nil || len(def.Vpcs) != 1 || aws.ToString(def.Vpcs[0].CidrBlock) != "172.31.0.0/16" || !aws.ToBool(def.Vpcs[0].IsDefault) {
		t.Fatalf("default VPC: %+v %v", def, err)
	}
	defSubnets, err := c.DescribeSubnets(ctx, &ec2sdk.DescribeSubnetsInput{Filters: []types.Filter{
		{Name: aws.String("vpc-id"), Values: []string{aws.ToString(def.Vpcs[0].VpcId)}},
		{Name: aws.String("availability-zone"), Values: []string{"us-east-1b"}}}})
	if err != nil || len(defSubnets.Subnets) != 1 {
		t.Fatalf("default subnets: %+v %v", defSubnets, err)
	}
	if s := defSubnets.Subnets[0]; aws.ToString(s.CidrBlock) != "172.31.16.0/20" || !aws.ToBool(s.DefaultForAz) ||
		!aws.ToBool(s.MapPublicIpOnLaunch) || aws.ToInt32(s.AvailableIpAddressCount) != 4091 {
		t.Errorf("default subnet b: %+v", s)
	}

	vpc, err := c.CreateVpc(ctx, &ec2sdk.CreateVpcInput{CidrBlock: aws.String("10.1.0.0/16"),
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeVpc, Tags: []types.Tag{{Key: aws.String("env"), Value: aws.String("test")}}}}})
	if err != nil {
		t.Fatal(err)
	}
	vpcID := aws.ToString(vpc.Vpc.VpcId)
	if vpc.Vpc.State != types.VpcStateAvailable || vpc.Vpc.InstanceTenancy != types.TenancyDefault || len(vpc.Vpc.CidrBlockAssociationSet) != 1 {
		t.Errorf("vpc %+v", vpc.Vpc)
	}
	sub, err := c.CreateSubnet(ctx, &ec2sdk.CreateSubnetInput{VpcId: aws.String(vpcID), CidrBlock: aws.String("10.1.1.0/24")})
	if err != nil || aws.ToString(sub.Subnet.AvailabilityZone) != "us-east-1a" || aws.ToInt32(sub.Subnet.AvailableIpAddressCount) != 251 {
		t.Fatalf("subnet %+v %v", sub, err)
	}
	_, err = c.CreateSubnet(ctx, &ec2sdk.CreateSubnetInput{VpcId: aws.String(vpcID), CidrBlock: aws.String("10.1.1.0/25")})
	wantCode(t, "overlapping subnet", err, "InvalidSubnet.Conflict")
	_, err = c.CreateSubnet(ctx, &ec2sdk.CreateSubnetInput{VpcId: aws.String("vpc-00000000000000000"), CidrBlock: aws.String("10.1.1.0/25")})
	wantCode(t, "subnet in missing vpc", err, "InvalidVpcID.NotFound")

	sg, err := c.CreateSecurityGroup(ctx, &ec2sdk.CreateSecurityGroupInput{GroupName: aws.String("app"), Description: aws.String("app"), VpcId: aws.String(vpcID)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateSecurityGroup(ctx, &ec2sdk.CreateSecurityGroupInput{GroupName: aws.String("app"), Description: aws.String("again"), VpcId: aws.String(vpcID)})
	wantCode(t, "duplicate group", err, "InvalidGroup.Duplicate")
	peer, err := c.CreateSecurityGroup(ctx, &ec2sdk.CreateSecurityGroupInput{GroupName: aws.String("lb"), Description: aws.String("lb"), VpcId: aws.String(vpcID)})
	if err != nil {
		t.Fatal(err)
	}
	perms := []types.IpPermission{
		{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(80), ToPort: aws.Int32(80),
			UserIdGroupPairs: []types.UserIdGroupPair{{GroupId: peer.GroupId, Description: aws.String("from lb")}}},
		{IpProtocol: aws.String("icmp"), FromPort: aws.Int32(-1), ToPort: aws.Int32(-1), IpRanges: []types.IpRange{{CidrIp: aws.String("10.1.0.0/16")}}},
	}
	auth, err := c.AuthorizeSecurityGroupIngress(ctx, &ec2sdk.AuthorizeSecurityGroupIngressInput{GroupId: sg.GroupId, IpPermissions: perms})
	if err != nil || !aws.ToBool(auth.Return) || len(auth.SecurityGroupRules) != 2 {
		t.Fatalf("authorize %+v %v", auth, err)
	}
	if r := auth.SecurityGroupRules[0]; r.ReferencedGroupInfo == nil || aws.ToString(r.ReferencedGroupInfo.GroupId) != aws.ToString(peer.GroupId) {
		t.Errorf("rule 0 %+v", r)
	}
	_, err = c.AuthorizeSecurityGroupIngress(ctx, &ec2sdk.AuthorizeSecurityGroupIngressInput{GroupId: sg.GroupId, IpPermissions: perms[:1]})
	wantCode(t, "duplicate rule", err, "InvalidPermission.Duplicate")
	_, err = c.DeleteSecurityGroup(ctx, &ec2sdk.DeleteSecurityGroupInput{GroupId: peer.GroupId})
	wantCode(t, "referenced group", err, "DependencyViolation")

	groups, err := c.DescribeSecurityGroups(ctx, &ec2sdk.DescribeSecurityGroupsInput{Filters: []types.Filter{{Name: aws.String("group-name"), Values: []string{"app"}}}})
	if err != nil || len(groups.SecurityGroups) != 1 {
		t.Fatalf("describe groups %+v %v", groups, err)
	}
	g := groups.SecurityGroups[0]
	if len(g.IpPermissions) != 2 || len(g.IpPermissionsEgress) != 1 || aws.ToString(g.IpPermissionsEgress[0].IpProtocol) != "-1" ||
		aws.ToInt32(g.IpPermissions[0].FromPort) != 80 || len(g.IpPermissions[0].UserIdGroupPairs) != 1 {
		t.Errorf("group %+v", g)
	}
	rules, err := c.DescribeSecurityGroupRules(ctx, &ec2sdk.DescribeSecurityGroupRulesInput{Filters: []types.Filter{{Name: aws.String("group-id"), Values: []string{aws.ToString(sg.GroupId)}}}})
	if err != nil || len(rules.SecurityGroupRules) != 3 {
		t.Errorf("rules %+v %v", rules, err)
	}
	rev, err := c.RevokeSecurityGroupIngress(ctx, &ec2sdk.RevokeSecurityGroupIngressInput{GroupId: sg.GroupId, IpPermissions: perms[:1]})
	if err != nil || !aws.ToBool(rev.Return) {
		t.Errorf("revoke %+v %v", rev, err)
	}
	_, err = c.RevokeSecurityGroupIngress(ctx, &ec2sdk.RevokeSecurityGroupIngressInput{GroupId: sg.GroupId, IpPermissions: perms[:1]})
	wantCode(t, "revoke twice", err, "InvalidPermission.NotFound")
	if _, err = c.DeleteSecurityGroup(ctx, &ec2sdk.DeleteSecurityGroupInput{GroupId: peer.GroupId}); err != nil {
		t.Errorf("delete unreferenced group: %v", err)
	}

	igw, err := c.CreateInternetGateway(ctx, &ec2sdk.CreateInternetGatewayInput{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.AttachInternetGateway(ctx, &ec2sdk.AttachInternetGatewayInput{InternetGatewayId: igw.InternetGateway.InternetGatewayId, VpcId: aws.String(vpcID)}); err != nil {
		t.Fatal(err)
	}
	igw2, _ := c.CreateInternetGateway(ctx, &ec2sdk.CreateInternetGatewayInput{})
	_, err = c.AttachInternetGateway(ctx, &ec2sdk.AttachInternetGatewayInput{InternetGatewayId: igw2.InternetGateway.InternetGatewayId, VpcId: aws.String(vpcID)})
	wantCode(t, "second gateway", err, "Resource.AlreadyAssociated")
	eip, err := c.AllocateAddress(ctx, &ec2sdk.AllocateAddressInput{Domain: types.DomainTypeVpc})
	if err != nil || eip.Domain != types.DomainTypeVpc || aws.ToString(eip.PublicIp) == "" {
		t.Fatalf("eip %+v %v", eip, err)
	}
	nat, err := c.CreateNatGateway(ctx, &ec2sdk.CreateNatGatewayInput{SubnetId: sub.Subnet.SubnetId, AllocationId: eip.AllocationId})
	if err != nil || nat.NatGateway.State != types.NatGatewayStateAvailable || aws.ToString(nat.NatGateway.NatGatewayAddresses[0].PublicIp) != aws.ToString(eip.PublicIp) {
		t.Fatalf("nat %+v %v", nat, err)
	}
	rtb, err := c.CreateRouteTable(ctx, &ec2sdk.CreateRouteTableInput{VpcId: aws.String(vpcID)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateRoute(ctx, &ec2sdk.CreateRouteInput{RouteTableId: rtb.RouteTable.RouteTableId, DestinationCidrBlock: aws.String("0.0.0.0/0"),
		NatGatewayId: nat.NatGateway.NatGatewayId}); err != nil {
		t.Fatal(err)
	}
	assoc, err := c.AssociateRouteTable(ctx, &ec2sdk.AssociateRouteTableInput{RouteTableId: rtb.RouteTable.RouteTableId, SubnetId: sub.Subnet.SubnetId})
	if err != nil || aws.ToString(assoc.AssociationId) == "" {
		t.Fatalf("associate %+v %v", assoc, err)
	}
	tables, err := c.DescribeRouteTables(ctx, &ec2sdk.DescribeRouteTablesInput{Filters: []types.Filter{{Name: aws.String("association.subnet-id"), Values: []string{aws.ToString(sub.Subnet.SubnetId)}}}})
	if err != nil || len(tables.RouteTables) != 1 || len(tables.RouteTables[0].Routes) != 2 {
		t.Errorf("route tables %+v %v", tables, err)
	}

	if _, err := c.CreateTags(ctx, &ec2sdk.CreateTagsInput{Resources: []string{aws.ToString(sub.Subnet.SubnetId)}, Tags: []types.Tag{{Key: aws.String("tier"), Value: aws.String("private")}}}); err != nil {
		t.Fatal(err)
	}
	tags, err := c.DescribeTags(ctx, &ec2sdk.DescribeTagsInput{Filters: []types.Filter{{Name: aws.String("key"), Values: []string{"tier"}}}})
	if err != nil || len(tags.Tags) != 1 || tags.Tags[0].ResourceType != types.ResourceTypeSubnet {
		t.Errorf("tags %+v %v", tags, err)
	}
	_, err = c.DeleteVpc(ctx, &ec2sdk.DeleteVpcInput{VpcId: aws.String(vpcID)})
	wantCode(t, "delete busy vpc", err, "DependencyViolation")
	zones, err := c.DescribeAvailabilityZones(ctx, &ec2sdk.DescribeAvailabilityZonesInput{})
	if err != nil || len(zones.AvailabilityZones) < 3 || zones.AvailabilityZones[0].State != types.AvailabilityZoneStateAvailable {
		t.Errorf("zones %+v %v", zones, err)
	}
	enis, err := c.DescribeNetworkInterfaces(ctx, &ec2sdk.DescribeNetworkInterfacesInput{})
	if err != nil || len(enis.NetworkInterfaces) != 0 {
		t.Errorf("enis %+v %v", enis, err)
	}
}

// TestCLI proves the aws CLI parses the answers.
func TestCLI(t *testing.T) {
	if _, err := exec.LookPath("aws"); err != nil {
		t.Fatal("no aws CLI on this machine: scripts/setup.sh installs it")
	}
	base := newEC2API(t)
	cmd := exec.CommandContext(t.Context(), "aws", "ec2", "describe-vpcs", "--endpoint-url", base, "--output", "json",
		"--filters", "Name=is-default,Values=true")
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_DEFAULT_REGION=us-east-1",
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("aws ec2 describe-vpcs: %v %s", err, out)
	}
	var got struct {
		Vpcs []struct {
			VpcID     string `json:"VpcId"`
			CidrBlock string
			IsDefault bool
			State     string
		}
	}
	if err := json.Unmarshal(out, &got); err != nil || len(got.Vpcs) != 1 {
		t.Fatalf("output %s: %v", out, err)
	}
	if v := got.Vpcs[0]; v.CidrBlock != "172.31.0.0/16" || !v.IsDefault || v.State != "available" {
		t.Errorf("vpc %+v", v)
	}
}
