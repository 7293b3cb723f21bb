package ec2_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2sdk "github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// TestSDKAttributesEgressGatewaysTags drives, with the Go SDK, the operations of the subset
// TestSDK leaves out: the VPC and subnet attributes, egress rules, DescribeInternetGateways and
// DescribeNatGateways with their filters, DeleteTags and DeleteSubnet, with EC2's error codes
// for bad input.
func TestSDKAttributesEgressGatewaysTags(t *testing.T) {
	c := sdkClient(t, newEC2API(t))
	ctx := t.Context()
	vpc, err := c.CreateVpc(ctx, &ec2sdk.CreateVpcInput{CidrBlock: aws.String("10.3.0.0/16")})
	if err != nil {
		t.Fatal(err)
	}
	vpcID := vpc.Vpc.VpcId

	if _, err := c.ModifyVpcAttribute(ctx, &ec2sdk.ModifyVpcAttributeInput{VpcId: vpcID,
		EnableDnsHostnames: &types.AttributeBooleanValue{Value: aws.Bool(true)}}); err != nil {
		t.Fatal(err)
	}
	attr, err := c.DescribeVpcAttribute(ctx, &ec2sdk.DescribeVpcAttributeInput{VpcId: vpcID, Attribute: types.VpcAttributeNameEnableDnsHostnames})
	if err != nil || attr.EnableDnsHostnames == nil || !aws.ToBool(attr.EnableDnsHostnames.Value) {
		t.Errorf("enableDnsHostnames after ModifyVpcAttribute: %+v %v", attr, err)
	}
	_, err = c.ModifyVpcAttribute(ctx, &ec2sdk.ModifyVpcAttributeInput{VpcId: vpcID,
		EnableDnsHostnames: &types.AttributeBooleanValue{Value: aws.Bool(true)}, EnableDnsSupport: &types.AttributeBooleanValue{Value: aws.Bool(true)}})
	wantCode(t, "two attributes at once", err, "InvalidParameterCombination")
	_, err = c.ModifyVpcAttribute(ctx, &ec2sdk.ModifyVpcAttributeInput{VpcId: vpcID})
	wantCode(t, "no attribute", err, "MissingParameter")
	_, err = c.DescribeVpcAttribute(ctx, &ec2sdk.DescribeVpcAttributeInput{VpcId: aws.String("vpc-0123456789abcdef0"), Attribute: types.VpcAttributeNameEnableDnsSupport})
	wantCode(t, "attribute of a missing vpc", err, "InvalidVpcID.NotFound")

	sub, err := c.CreateSubnet(ctx, &ec2sdk.CreateSubnetInput{VpcId: vpcID, CidrBlock: aws.String("10.3.1.0/24")})
	if err != nil {
		t.Fatal(err)
	}
	subID := sub.Subnet.SubnetId
	if aws.ToBool(sub.Subnet.MapPublicIpOnLaunch) {
		t.Errorf("a new subnet maps public IPs on launch")
	}
	if _, err := c.ModifySubnetAttribute(ctx, &ec2sdk.ModifySubnetAttributeInput{SubnetId: subID,
		MapPublicIpOnLaunch: &types.AttributeBooleanValue{Value: aws.Bool(true)}}); err != nil {
		t.Fatal(err)
	}
	subs, err := c.DescribeSubnets(ctx, &ec2sdk.DescribeSubnetsInput{Filters: []types.Filter{
		{Name: aws.String("map-public-ip-on-launch"), Values: []string{"true"}}, {Name: aws.String("vpc-id"), Values: []string{aws.ToString(vpcID)}}}})
	if err != nil || len(subs.Subnets) != 1 {
		t.Errorf("subnets mapping public IPs after ModifySubnetAttribute: %+v %v", subs, err)
	}
	_, err = c.ModifySubnetAttribute(ctx, &ec2sdk.ModifySubnetAttributeInput{SubnetId: aws.String("subnet-0123456789abcdef0"),
		MapPublicIpOnLaunch: &types.AttributeBooleanValue{Value: aws.Bool(true)}})
	wantCode(t, "attribute of a missing subnet", err, "InvalidSubnetID.NotFound")

	sg, err := c.CreateSecurityGroup(ctx, &ec2sdk.CreateSecurityGroupInput{GroupName: aws.String("app"), Description: aws.String("app"), VpcId: vpcID})
	if err != nil {
		t.Fatal(err)
	}
	https := []types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(443), ToPort: aws.Int32(443),
		IpRanges: []types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}}}
	added, err := c.AuthorizeSecurityGroupEgress(ctx, &ec2sdk.AuthorizeSecurityGroupEgressInput{GroupId: sg.GroupId, IpPermissions: https})
	if err != nil || len(added.SecurityGroupRules) != 1 || !aws.ToBool(added.SecurityGroupRules[0].IsEgress) {
		t.Fatalf("AuthorizeSecurityGroupEgress: %+v %v", added, err)
	}
	_, err = c.AuthorizeSecurityGroupEgress(ctx, &ec2sdk.AuthorizeSecurityGroupEgressInput{GroupId: sg.GroupId, IpPermissions: https})
	wantCode(t, "duplicate egress rule", err, "InvalidPermission.Duplicate")
	groups, err := c.DescribeSecurityGroups(ctx, &ec2sdk.DescribeSecurityGroupsInput{Filters: []types.Filter{
		{Name: aws.String("egress.ip-permission.to-port"), Values: []string{"443"}}}})
	if err != nil || len(groups.SecurityGroups) != 1 || aws.ToString(groups.SecurityGroups[0].GroupId) != aws.ToString(sg.GroupId) {
		t.Errorf("groups with an egress rule to port 443: %+v %v", groups, err)
	}
	if _, err := c.RevokeSecurityGroupEgress(ctx, &ec2sdk.RevokeSecurityGroupEgressInput{GroupId: sg.GroupId, IpPermissions: https}); err != nil {
		t.Fatal(err)
	}
	_, err = c.RevokeSecurityGroupEgress(ctx, &ec2sdk.RevokeSecurityGroupEgressInput{GroupId: sg.GroupId, IpPermissions: https})
	wantCode(t, "revoking a revoked egress rule", err, "InvalidPermission.NotFound")

	igw, err := c.CreateInternetGateway(ctx, &ec2sdk.CreateInternetGatewayInput{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.AttachInternetGateway(ctx, &ec2sdk.AttachInternetGatewayInput{InternetGatewayId: igw.InternetGateway.InternetGatewayId, VpcId: vpcID}); err != nil {
		t.Fatal(err)
	}
	igws, err := c.DescribeInternetGateways(ctx, &ec2sdk.DescribeInternetGatewaysInput{Filters: []types.Filter{
		{Name: aws.String("attachment.vpc-id"), Values: []string{aws.ToString(vpcID)}}}})
	if err != nil || len(igws.InternetGateways) != 1 || len(igws.InternetGateways[0].Attachments) != 1 ||
		igws.InternetGateways[0].Attachments[0].State != types.AttachmentStatus("available") {
		t.Errorf("internet gateways of the vpc: %+v %v", igws, err)
	}
	_, err = c.DescribeInternetGateways(ctx, &ec2sdk.DescribeInternetGatewaysInput{InternetGatewayIds: []string{"igw-0123456789abcdef0"}})
	wantCode(t, "missing internet gateway", err, "InvalidInternetGatewayID.NotFound")

	eip, err := c.AllocateAddress(ctx, &ec2sdk.AllocateAddressInput{Domain: types.DomainTypeVpc})
	if err != nil {
		t.Fatal(err)
	}
	nat, err := c.CreateNatGateway(ctx, &ec2sdk.CreateNatGatewayInput{SubnetId: subID, AllocationId: eip.AllocationId})
	if err != nil {
		t.Fatal(err)
	}
	nats, err := c.DescribeNatGateways(ctx, &ec2sdk.DescribeNatGatewaysInput{Filter: []types.Filter{
		{Name: aws.String("subnet-id"), Values: []string{aws.ToString(subID)}}, {Name: aws.String("state"), Values: []string{"available"}}}})
	if err != nil || len(nats.NatGateways) != 1 || aws.ToString(nats.NatGateways[0].NatGatewayId) != aws.ToString(nat.NatGateway.NatGatewayId) ||
		len(nats.NatGateways[0].NatGatewayAddresses) != 1 || aws.ToString(nats.NatGateways[0].NatGatewayAddresses[0].PublicIp) != aws.ToString(eip.PublicIp) {
		t.Errorf("nat gateways of the subnet: %+v %v", nats, err)
	}
	_, err = c.DescribeNatGateways(ctx, &ec2sdk.DescribeNatGatewaysInput{NatGatewayIds: []string{"nat-0123456789abcdef0"}})
	wantCode(t, "missing nat gateway", err, "NatGatewayNotFound")
	_, err = c.DeleteSubnet(ctx, &ec2sdk.DeleteSubnetInput{SubnetId: subID})
	wantCode(t, "subnet with a nat gateway", err, "DependencyViolation")

	if _, err := c.CreateTags(ctx, &ec2sdk.CreateTagsInput{Resources: []string{aws.ToString(sg.GroupId)},
		Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("a")}, {Key: aws.String("tier"), Value: aws.String("web")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteTags(ctx, &ec2sdk.DeleteTagsInput{Resources: []string{aws.ToString(sg.GroupId)},
		Tags: []types.Tag{{Key: aws.String("team")}}}); err != nil {
		t.Fatal(err)
	}
	tags, err := c.DescribeTags(ctx, &ec2sdk.DescribeTagsInput{Filters: []types.Filter{
		{Name: aws.String("resource-id"), Values: []string{aws.ToString(sg.GroupId)}}}})
	if err != nil || len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Key) != "tier" || tags.Tags[0].ResourceType != types.ResourceTypeSecurityGroup {
		t.Errorf("tags after DeleteTags: %+v %v", tags, err)
	}

	other, err := c.CreateSubnet(ctx, &ec2sdk.CreateSubnetInput{VpcId: vpcID, CidrBlock: aws.String("10.3.2.0/24")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteSubnet(ctx, &ec2sdk.DeleteSubnetInput{SubnetId: other.Subnet.SubnetId}); err != nil {
		t.Fatal(err)
	}
	_, err = c.DeleteSubnet(ctx, &ec2sdk.DeleteSubnetInput{SubnetId: other.Subnet.SubnetId})
	wantCode(t, "deleting a deleted subnet", err, "InvalidSubnetID.NotFound")
}
