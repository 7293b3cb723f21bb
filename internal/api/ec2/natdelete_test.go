package ec2_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2sdk "github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// TestSDKDeleteNatGateway drives DeleteNatGateway, ReleaseAddress and DeleteRouteTable with the
// Go SDK: the deleted gateway's state and DeleteTime, the blackhole route's State, and EC2's
// error codes.
func TestSDKDeleteNatGateway(t *testing.T) {
	c := sdkClient(t, newEC2API(t))
	ctx := t.Context()
	vpc, err := c.CreateVpc(ctx, &ec2sdk.CreateVpcInput{CidrBlock: aws.String("10.4.0.0/16")})
	if err != nil {
		t.Fatal(err)
	}
	sub, err := c.CreateSubnet(ctx, &ec2sdk.CreateSubnetInput{VpcId: vpc.Vpc.VpcId, CidrBlock: aws.String("10.4.1.0/24")})
	if err != nil {
		t.Fatal(err)
	}
	eip, err := c.AllocateAddress(ctx, &ec2sdk.AllocateAddressInput{Domain: types.DomainTypeVpc})
	if err != nil {
		t.Fatal(err)
	}
	nat, err := c.CreateNatGateway(ctx, &ec2sdk.CreateNatGatewayInput{SubnetId: sub.Subnet.SubnetId, AllocationId: eip.AllocationId})
	if err != nil {
		t.Fatal(err)
	}
	natID := nat.NatGateway.NatGatewayId
	rt, err := c.CreateRouteTable(ctx, &ec2sdk.CreateRouteTableInput{VpcId: vpc.Vpc.VpcId})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateRoute(ctx, &ec2sdk.CreateRouteInput{RouteTableId: rt.RouteTable.RouteTableId,
		DestinationCidrBlock: aws.String("0.0.0.0/0"), NatGatewayId: natID}); err != nil {
		t.Fatal(err)
	}
	_, err = c.ReleaseAddress(ctx, &ec2sdk.ReleaseAddressInput{AllocationId: eip.AllocationId})
	wantCode(t, "release an address in use", err, "InvalidIPAddress.InUse")
	_, err = c.DeleteNatGateway(ctx, &ec2sdk.DeleteNatGatewayInput{NatGatewayId: aws.String("nat-0123456789abcdef0")})
	wantCode(t, "delete a missing NAT gateway", err, "NatGatewayNotFound")

	out, err := c.DeleteNatGateway(ctx, &ec2sdk.DeleteNatGatewayInput{NatGatewayId: natID})
	if err != nil || aws.ToString(out.NatGatewayId) != aws.ToString(natID) {
		t.Fatalf("DeleteNatGateway = %+v, %v", out, err)
	}
	nats, err := c.DescribeNatGateways(ctx, &ec2sdk.DescribeNatGatewaysInput{Filter: []types.Filter{
		{Name: aws.String("state"), Values: []string{"deleted"}}}})
	if err != nil || len(nats.NatGateways) != 1 || nats.NatGateways[0].State != types.NatGatewayStateDeleted ||
		nats.NatGateways[0].DeleteTime == nil || nats.NatGateways[0].DeleteTime.Before(*nats.NatGateways[0].CreateTime) {
		t.Fatalf("deleted NAT gateways: %+v %v", nats, err)
	}
	tables, err := c.DescribeRouteTables(ctx, &ec2sdk.DescribeRouteTablesInput{RouteTableIds: []string{aws.ToString(rt.RouteTable.RouteTableId)}})
	if err != nil || len(tables.RouteTables) != 1 {
		t.Fatal(tables, err)
	}
	var state types.RouteState
	for _, r := range tables.RouteTables[0].Routes {
		if aws.ToString(r.NatGatewayId) == aws.ToString(natID) {
			state = r.State
		}
	}
	if state != types.RouteStateBlackhole {
		t.Errorf("route to the deleted NAT gateway: %q, want blackhole", state)
	}
	if _, err := c.ReleaseAddress(ctx, &ec2sdk.ReleaseAddressInput{AllocationId: eip.AllocationId}); err != nil {
		t.Errorf("release the deleted gateway's address: %v", err)
	}
	if _, err := c.DeleteRouteTable(ctx, &ec2sdk.DeleteRouteTableInput{RouteTableId: rt.RouteTable.RouteTableId}); err != nil {
		t.Errorf("DeleteRouteTable: %v", err)
	}
	_, err = c.DeleteRouteTable(ctx, &ec2sdk.DeleteRouteTableInput{RouteTableId: rt.RouteTable.RouteTableId})
	wantCode(t, "delete a deleted route table", err, "InvalidRouteTableID.NotFound")
}
