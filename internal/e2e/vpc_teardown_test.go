package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// TestVPCTeardownCLI builds a VPC with a public subnet routed to an internet gateway by its own
// route table, then takes it apart with the operations terraform destroy uses, all through the
// aws CLI: delete-route takes a running task's way out at once, replace-route, describe-addresses,
// disassociate-route-table, delete-internet-gateway, with AWS's errors on the way.
func TestVPCTeardownCLI(t *testing.T) {
	dir := t.TempDir()
	e := newVPCEnv(t, dir)
	port := hostServer(t)
	vpcID := e.cliVPC(t, "10.78.0.0/16")
	public := e.cliSubnet(t, vpcID, "10.78.1.0/24")
	igwID := e.cliAttachedIGW(t, vpcID)
	rtb := e.cliRouteTable(t, vpcID)
	e.cli.json(nil, "ec2", "create-route", "--route-table-id", rtb, "--destination-cidr-block", "0.0.0.0/0", "--gateway-id", igwID)
	var assoc struct {
		AssociationID string `json:"AssociationId"`
	}
	e.cli.json(&assoc, "ec2", "associate-route-table", "--route-table-id", rtb, "--subnet-id", public)

	// A task keeps the VPC's router up, so its uplink's address can be read.
	served, _ := e.serve(t, public)
	url := fmt.Sprintf("http://%s:%d/", hostUplink(t, dir, vpcID), port)
	watcher := e.runAssign(t, public, types.AssignPublicIpEnabled, lostEgressScript(url))
	if err := ecs.NewTasksRunningWaiter(e.ecs, func(o *ecs.TasksRunningWaiterOptions) {
		o.MinDelay, o.MaxDelay = 200*time.Millisecond, time.Second
	}).Wait(t.Context(), &ecs.DescribeTasksInput{Tasks: []string{watcher}}, 2*time.Minute); err != nil {
		t.Fatalf("wait watcher running: %v", err)
	}
	time.Sleep(2 * time.Second) // its first fetches work

	// Routes: the local one stays, a missing one is not found, an existing one can be re-aimed.
	e.cli.fail("InvalidParameterValue", "ec2", "delete-route", "--route-table-id", rtb, "--destination-cidr-block", "10.78.0.0/16")
	e.cli.fail("InvalidRoute.NotFound", "ec2", "delete-route", "--route-table-id", rtb, "--destination-cidr-block", "192.0.2.0/24")
	e.cli.fail("InvalidParameterValue", "ec2", "replace-route", "--route-table-id", rtb, "--destination-cidr-block", "192.0.2.0/24", "--gateway-id", igwID)
	e.cli.fail("InvalidGatewayID.NotFound", "ec2", "replace-route", "--route-table-id", rtb, "--destination-cidr-block", "0.0.0.0/0", "--gateway-id", "igw-0123456789abcdef0")
	e.cli.json(nil, "ec2", "replace-route", "--route-table-id", rtb, "--destination-cidr-block", "0.0.0.0/0", "--gateway-id", igwID)
	start := time.Now()
	e.cli.json(nil, "ec2", "delete-route", "--route-table-id", rtb, "--destination-cidr-block", "0.0.0.0/0")
	watched := waitStopped(t, e.ecs, watcher)[0]
	if c := watched.Containers[0]; c.ExitCode == nil || *c.ExitCode != 0 {
		t.Errorf("running task in the public subnet after delete-route 0.0.0.0/0: exit %v (%s), want 0: egress lost",
			c.ExitCode, aws.ToString(watched.StoppedReason))
	}
	t.Logf("a running task lost egress %v after delete-route was sent", time.Since(start).Round(time.Millisecond))
	var tables struct {
		RouteTables []struct {
			Routes []struct{ DestinationCidrBlock string }
		}
	}
	e.cli.json(&tables, "ec2", "describe-route-tables", "--route-table-ids", rtb)
	if len(tables.RouteTables) != 1 || len(tables.RouteTables[0].Routes) != 1 || tables.RouteTables[0].Routes[0].DestinationCidrBlock != "10.78.0.0/16" {
		t.Errorf("after delete-route: %+v, want the local route only", tables)
	}

	// Addresses.
	var eip struct {
		AllocationID string `json:"AllocationId"`
		PublicIP     string `json:"PublicIp"`
	}
	e.cli.json(&eip, "ec2", "allocate-address", "--domain", "vpc")
	var addrs struct {
		Addresses []struct {
			AllocationID string `json:"AllocationId"`
			PublicIP     string `json:"PublicIp"`
			Domain       string
		}
	}
	e.cli.json(&addrs, "ec2", "describe-addresses", "--allocation-ids", eip.AllocationID)
	if len(addrs.Addresses) != 1 || addrs.Addresses[0].PublicIP != eip.PublicIP || addrs.Addresses[0].Domain != "vpc" {
		t.Errorf("describe-addresses --allocation-ids: %+v, want %+v", addrs, eip)
	}
	e.cli.json(&addrs, "ec2", "describe-addresses", "--filters", "Name=public-ip,Values="+eip.PublicIP)
	if len(addrs.Addresses) != 1 || addrs.Addresses[0].AllocationID != eip.AllocationID {
		t.Errorf("describe-addresses --filters public-ip: %+v", addrs)
	}
	e.cli.fail("InvalidAllocationID.NotFound", "ec2", "describe-addresses", "--allocation-ids", "eipalloc-0123456789abcdef0")
	e.cli.json(nil, "ec2", "release-address", "--allocation-id", eip.AllocationID)
	e.cli.json(&addrs, "ec2", "describe-addresses", "--filters", "Name=public-ip,Values="+eip.PublicIP)
	if len(addrs.Addresses) != 0 {
		t.Errorf("describe-addresses after release-address: %+v", addrs)
	}

	// Terraform's order from here: associations, tables, gateway, subnet, VPC.
	e.stop(t, served)
	var mains struct {
		RouteTables []struct {
			Associations []struct {
				RouteTableAssociationID string `json:"RouteTableAssociationId"`
			}
		}
	}
	e.cli.json(&mains, "ec2", "describe-route-tables", "--filters", "Name=vpc-id,Values="+vpcID, "Name=association.main,Values=true")
	if len(mains.RouteTables) != 1 || len(mains.RouteTables[0].Associations) != 1 {
		t.Fatalf("main route table of %s: %+v", vpcID, mains)
	}
	e.cli.fail("InvalidParameterValue", "ec2", "disassociate-route-table", "--association-id", mains.RouteTables[0].Associations[0].RouteTableAssociationID)
	e.cli.fail("DependencyViolation", "ec2", "delete-route-table", "--route-table-id", rtb)
	e.cli.json(nil, "ec2", "disassociate-route-table", "--association-id", assoc.AssociationID)
	e.cli.fail("InvalidAssociationID.NotFound", "ec2", "disassociate-route-table", "--association-id", assoc.AssociationID)
	e.cli.json(nil, "ec2", "delete-route-table", "--route-table-id", rtb)
	e.cli.fail("DependencyViolation", "ec2", "delete-internet-gateway", "--internet-gateway-id", igwID)
	e.cli.json(nil, "ec2", "detach-internet-gateway", "--internet-gateway-id", igwID, "--vpc-id", vpcID)
	e.cli.json(nil, "ec2", "delete-internet-gateway", "--internet-gateway-id", igwID)
	e.cli.fail("InvalidInternetGatewayID.NotFound", "ec2", "delete-internet-gateway", "--internet-gateway-id", igwID)
	e.cli.fail("InvalidInternetGatewayID.NotFound", "ec2", "describe-internet-gateways", "--internet-gateway-ids", igwID)
	e.cli.json(nil, "ec2", "delete-subnet", "--subnet-id", public)
	e.cli.json(nil, "ec2", "delete-vpc", "--vpc-id", vpcID)
}
