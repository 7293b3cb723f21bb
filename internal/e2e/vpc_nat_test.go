package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// lostEgressScript is a shell script that fetches url over and over: once a fetch has worked,
// the first that fails ends it with 0 (egress lost while running). It exits 2 if no fetch ever
// worked and 1 if none failed within its time.
func lostEgressScript(url string) string {
	return `try() { wget -q -O- "$1" >/dev/null & p=$!; i=0; while kill -0 $p 2>/dev/null; do i=$((i+1)); ` +
		`if [ $i -gt 20 ]; then kill $p; return 1; fi; sleep 0.1; done; wait $p; }; ` +
		fmt.Sprintf(`ok=0; n=0; while [ $n -lt 300 ]; do if try %q; then ok=1; elif [ $ok = 1 ]; then exit 0; fi; n=$((n+1)); sleep 0.2; done; `+
			`[ $ok = 1 ] && exit 1; exit 2`, url)
}

// TestVPCDeleteNatGatewayCLI builds, with the aws CLI alone, a VPC with a public subnet (its main
// table routed to an internet gateway), a NAT gateway there and a private subnet routed to it;
// a task in the private subnet gets out. delete-nat-gateway then: the gateway shows deleted
// (describe-nat-gateways --filter state, the CLI's nat-gateway-deleted waiter), its route is a
// blackhole, a task already running there loses its way out at once, a new one has none, and
// the address is free. Finally the whole VPC is torn down as a cleanup script does.
func TestVPCDeleteNatGatewayCLI(t *testing.T) {
	dir := t.TempDir()
	e := newVPCEnv(t, dir)
	port := hostServer(t)

	vpcID := e.cliVPC(t, "10.77.0.0/16")
	public, private := e.cliSubnet(t, vpcID, "10.77.1.0/24"), e.cliSubnet(t, vpcID, "10.77.2.0/24")
	igwID := e.cliAttachedIGW(t, vpcID)
	type routeTables struct {
		RouteTables []struct {
			RouteTableID string `json:"RouteTableId"`
			Routes       []struct {
				DestinationCidrBlock, GatewayID, NatGatewayID, State string
			}
		}
	}
	var mains routeTables
	e.cli.json(&mains, "ec2", "describe-route-tables", "--filters", "Name=vpc-id,Values="+vpcID, "Name=association.main,Values=true")
	if len(mains.RouteTables) != 1 {
		t.Fatalf("main route table of %s: %+v", vpcID, mains)
	}
	mainRtb := mains.RouteTables[0].RouteTableID
	e.cli.json(nil, "ec2", "create-route", "--route-table-id", mainRtb, "--destination-cidr-block", "0.0.0.0/0", "--gateway-id", igwID)

	var eip struct {
		AllocationID string `json:"AllocationId"`
	}
	e.cli.json(&eip, "ec2", "allocate-address", "--domain", "vpc")
	var nat struct {
		NatGateway struct {
			NatGatewayID string `json:"NatGatewayId"`
		}
	}
	e.cli.json(&nat, "ec2", "create-nat-gateway", "--subnet-id", public, "--allocation-id", eip.AllocationID)
	natID := nat.NatGateway.NatGatewayID
	rtb := e.cliRouteTable(t, vpcID)
	e.cli.json(nil, "ec2", "create-route", "--route-table-id", rtb, "--destination-cidr-block", "0.0.0.0/0", "--nat-gateway-id", natID)
	e.cli.json(nil, "ec2", "associate-route-table", "--route-table-id", rtb, "--subnet-id", private)
	e.cli.fail("DependencyViolation", "ec2", "delete-subnet", "--subnet-id", public)

	// A task keeps the VPC's router up, so its uplink's address can be read.
	served, _ := e.serve(t, public)
	url := fmt.Sprintf("http://%s:%d/", hostUplink(t, dir, vpcID), port)
	if got := e.exitOfAssign(t, private, types.AssignPublicIpDisabled, fetchScript(url, 5)); got != 0 {
		t.Fatalf("task in the subnet routed to the NAT gateway: exit %d, want 0 (reaching %s)", got, url)
	}

	// A task that is running when the gateway goes.
	watcher := e.run(t, e.shTD, private, nil, lostEgressScript(url), 1)[0]
	if err := ecs.NewTasksRunningWaiter(e.ecs, func(o *ecs.TasksRunningWaiterOptions) {
		o.MinDelay, o.MaxDelay = 200*time.Millisecond, time.Second
	}).Wait(t.Context(), &ecs.DescribeTasksInput{Tasks: []string{watcher}}, 2*time.Minute); err != nil {
		t.Fatalf("wait watcher running: %v", err)
	}
	time.Sleep(2 * time.Second) // its first fetches work

	e.cli.fail("NatGatewayNotFound", "ec2", "delete-nat-gateway", "--nat-gateway-id", "nat-0123456789abcdef0")
	e.cli.fail("MissingParameter", "ec2", "delete-nat-gateway", "--nat-gateway-id", "")
	var deleted struct {
		NatGatewayID string `json:"NatGatewayId"`
	}
	start := time.Now()
	e.cli.json(&deleted, "ec2", "delete-nat-gateway", "--nat-gateway-id", natID)
	if deleted.NatGatewayID != natID {
		t.Errorf("delete-nat-gateway answered %+v, want NatGatewayId %s", deleted, natID)
	}
	e.cli.json(nil, "ec2", "wait", "nat-gateway-deleted", "--nat-gateway-ids", natID)
	watched := waitStopped(t, e.ecs, watcher)[0]
	lost := time.Since(start)
	if c := watched.Containers[0]; c.ExitCode == nil || *c.ExitCode != 0 {
		t.Errorf("running task in the private subnet after delete-nat-gateway: exit %v (%s), want 0: egress lost",
			c.ExitCode, aws.ToString(watched.StoppedReason))
	}
	t.Logf("a running task lost egress %v after delete-nat-gateway was sent", lost.Round(time.Millisecond))

	var nats struct {
		NatGateways []struct {
			NatGatewayID string `json:"NatGatewayId"`
			State        string
			DeleteTime   string
		}
	}
	e.cli.json(&nats, "ec2", "describe-nat-gateways", "--filter", "Name=state,Values=deleted", "Name=vpc-id,Values="+vpcID)
	if len(nats.NatGateways) != 1 || nats.NatGateways[0].NatGatewayID != natID || nats.NatGateways[0].State != "deleted" ||
		nats.NatGateways[0].DeleteTime == "" {
		t.Errorf("describe-nat-gateways state=deleted: %+v", nats)
	}
	e.cli.json(&nats, "ec2", "describe-nat-gateways", "--filter", "Name=state,Values=available", "Name=vpc-id,Values="+vpcID)
	if len(nats.NatGateways) != 0 {
		t.Errorf("describe-nat-gateways state=available after delete: %+v", nats)
	}
	e.cli.json(nil, "ec2", "delete-nat-gateway", "--nat-gateway-id", natID) // again: fine, as on AWS

	var private2 routeTables
	e.cli.json(&private2, "ec2", "describe-route-tables", "--route-table-ids", rtb, "--filters", "Name=route.state,Values=blackhole")
	state := ""
	if len(private2.RouteTables) == 1 {
		for _, r := range private2.RouteTables[0].Routes {
			if r.NatGatewayID == natID {
				state = r.State
			}
		}
	}
	if state != "blackhole" {
		t.Errorf("route to the deleted NAT gateway: %+v, want state blackhole", private2)
	}
	if got := e.exitOfAssign(t, private, types.AssignPublicIpDisabled, fetchScript(url, 3)); got != 1 {
		t.Errorf("new task in the private subnet after delete-nat-gateway: exit %d, want 1 (no way out)", got)
	}

	// Tear down as a cleanup script does; the address is free again.
	e.stop(t, served)
	e.cli.json(nil, "ec2", "delete-subnet", "--subnet-id", private)
	e.cli.json(nil, "ec2", "delete-subnet", "--subnet-id", public)
	e.cli.json(nil, "ec2", "release-address", "--allocation-id", eip.AllocationID)
	e.cli.fail("InvalidAllocationID.NotFound", "ec2", "release-address", "--allocation-id", eip.AllocationID)
	e.cli.fail("DependencyViolation", "ec2", "delete-vpc", "--vpc-id", vpcID)
	e.cli.fail("DependencyViolation", "ec2", "delete-route-table", "--route-table-id", mainRtb)
	e.cli.json(nil, "ec2", "delete-route-table", "--route-table-id", rtb)
	e.cli.fail("InvalidRouteTableID.NotFound", "ec2", "delete-route-table", "--route-table-id", rtb)
	e.cli.json(nil, "ec2", "detach-internet-gateway", "--internet-gateway-id", igwID, "--vpc-id", vpcID)
	var mainAfter routeTables
	e.cli.json(&mainAfter, "ec2", "describe-route-tables", "--route-table-ids", mainRtb)
	for _, r := range mainAfter.RouteTables[0].Routes {
		if r.GatewayID == igwID && r.State != "blackhole" {
			t.Errorf("route to the detached internet gateway: %+v, want state blackhole", r)
		}
	}
	e.cli.json(nil, "ec2", "delete-vpc", "--vpc-id", vpcID)
	e.cli.fail("InvalidVpcID.NotFound", "ec2", "delete-vpc", "--vpc-id", vpcID)
}
