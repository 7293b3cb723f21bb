package e2e

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// TestVPCNATEgressCLI builds a private subnet behind a NAT gateway in the default VPC with the
// aws CLI alone (allocate-address, create-nat-gateway, create-route-table, create-route,
// associate-route-table, with EC2's error codes for bad input on the way), and proves that a
// task there without a public IP reaches a server on the host side through the NAT gateway;
// DescribeNetworkInterfaces with the filters scripts use finds the running task's ENI.
func TestVPCNATEgressCLI(t *testing.T) {
	dir := t.TempDir()
	e := newVPCEnv(t, dir)
	port := hostServer(t)
	vpc, public := e.defaultSubnet(t)

	var sub struct {
		Subnet struct {
			SubnetID string `json:"SubnetId"`
		}
	}
	e.cli.json(&sub, "ec2", "create-subnet", "--vpc-id", vpc, "--cidr-block", "172.31.210.0/24", "--availability-zone", "us-east-1a")
	private := sub.Subnet.SubnetID
	e.cli.fail("InvalidSubnet.Conflict", "ec2", "create-subnet", "--vpc-id", vpc, "--cidr-block", "172.31.210.0/25")
	e.cli.fail("InvalidVpcID.NotFound", "ec2", "create-subnet", "--vpc-id", "vpc-0123456789abcdef0", "--cidr-block", "10.0.0.0/24")

	var eip struct {
		AllocationID string `json:"AllocationId"`
	}
	e.cli.json(&eip, "ec2", "allocate-address", "--domain", "vpc")
	var nat struct {
		NatGateway struct {
			NatGatewayID string `json:"NatGatewayId"`
			State        string
		}
	}
	e.cli.json(&nat, "ec2", "create-nat-gateway", "--subnet-id", public, "--allocation-id", eip.AllocationID)
	e.cli.fail("InvalidAllocationID.NotFound", "ec2", "create-nat-gateway", "--subnet-id", public, "--allocation-id", "eipalloc-0123456789abcdef0")
	var rt struct {
		RouteTable struct {
			RouteTableID string `json:"RouteTableId"`
		}
	}
	e.cli.json(&rt, "ec2", "create-route-table", "--vpc-id", vpc)
	e.cli.json(nil, "ec2", "create-route", "--route-table-id", rt.RouteTable.RouteTableID, "--destination-cidr-block", "0.0.0.0/0",
		"--nat-gateway-id", nat.NatGateway.NatGatewayID)
	e.cli.fail("RouteAlreadyExists", "ec2", "create-route", "--route-table-id", rt.RouteTable.RouteTableID, "--destination-cidr-block", "0.0.0.0/0",
		"--nat-gateway-id", nat.NatGateway.NatGatewayID)
	e.cli.json(nil, "ec2", "associate-route-table", "--route-table-id", rt.RouteTable.RouteTableID, "--subnet-id", private)
	var tables struct {
		RouteTables []struct {
			RouteTableID string `json:"RouteTableId"`
		}
	}
	e.cli.json(&tables, "ec2", "describe-route-tables", "--filters", "Name=association.subnet-id,Values="+private,
		"Name=route.nat-gateway-id,Values="+nat.NatGateway.NatGatewayID)
	if len(tables.RouteTables) != 1 || tables.RouteTables[0].RouteTableID != rt.RouteTable.RouteTableID {
		t.Fatalf("describe-route-tables of the private subnet: %+v", tables)
	}

	// A task keeps the VPC's router up, so its uplink's address can be read.
	arn, served := e.serve(t, public)
	url := fmt.Sprintf("http://%s:%d/", hostUplink(t, dir, vpc), port)
	if got := e.exitOfAssign(t, private, types.AssignPublicIpDisabled, fetchScript(url, 5)); got != 0 {
		t.Fatalf("task without a public IP in a subnet routed to a NAT gateway: exit %d, want 0 (reaching %s)", got, url)
	}

	var enis struct {
		NetworkInterfaces []struct {
			NetworkInterfaceID string `json:"NetworkInterfaceId"`
			PrivateIPAddress   string `json:"PrivateIpAddress"`
			RequesterManaged   bool
			Attachment         struct{ Status, InstanceOwnerID string }
			Groups             []struct{ GroupName string }
		}
	}
	e.cli.json(&enis, "ec2", "describe-network-interfaces", "--filters", "Name=vpc-id,Values="+vpc, "Name=group-name,Values=default",
		"Name=attachment.status,Values=attached", "Name=subnet-id,Values="+public, "Name=interface-type,Values=interface")
	if n := enis.NetworkInterfaces; len(n) != 1 || n[0].NetworkInterfaceID != detail(served, "networkInterfaceId") ||
		n[0].PrivateIPAddress != detail(served, "privateIPv4Address") || !n[0].RequesterManaged ||
		len(n[0].Groups) != 1 || n[0].Groups[0].GroupName != "default" {
		t.Fatalf("describe-network-interfaces of the serving task: %+v", enis)
	}
	e.cli.fail("InvalidParameterValue", "ec2", "describe-network-interfaces", "--filters", "Name=attachment.bogus,Values=x")
	e.stop(t, arn)
}

// TestVPCContainersShareLocalhost: the containers of one task share its network namespace, so
// one reaches the other's server on 127.0.0.1.
func TestVPCContainersShareLocalhost(t *testing.T) {
	e := newVPCEnv(t, "")
	_, subnet := e.defaultSubnet(t)
	td := sdkRegister(t, e.ecs, "vpc-localhost",
		types.ContainerDefinition{Name: aws.String("web"), Image: aws.String(ecrRef), Essential: aws.Bool(false),
			Command: []string{"serve", "127.0.0.1:8080"}},
		types.ContainerDefinition{Name: aws.String("probe"), Image: aws.String(ecrRef), Essential: aws.Bool(true),
			EntryPoint: []string{"/bin/sh", "-c"}, Command: []string{fetchScript("http://127.0.0.1:8080/health", 20)}})
	out, err := e.ecs.RunTask(t.Context(), &ecs.RunTaskInput{TaskDefinition: aws.String(td), LaunchType: types.LaunchTypeFargate,
		NetworkConfiguration: &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: []string{subnet}}}})
	if err != nil || len(out.Tasks) != 1 {
		t.Fatalf("RunTask: %+v %v", out, err)
	}
	task := waitStopped(t, e.ecs, aws.ToString(out.Tasks[0].TaskArn))[0]
	for _, c := range task.Containers {
		if aws.ToString(c.Name) == "probe" {
			if c.ExitCode == nil || *c.ExitCode != 0 {
				t.Fatalf("probe reaching its task's other container on 127.0.0.1: exit %v (%s %s)", c.ExitCode, task.StopCode, aws.ToString(task.StoppedReason))
			}
			return
		}
	}
	t.Fatalf("no probe container in %+v", task.Containers)
}

// TestVPCFullSubnet fills a /28 (11 usable addresses: AWS reserves the network address, the
// first three hosts and the broadcast) with sleeping tasks, checks every address handed out is
// a usable one and DescribeSubnets counts none left, that one more task fails with a reason
// naming the subnet, and that a stopped task's address is free again.
func TestVPCFullSubnet(t *testing.T) {
	e := newVPCEnv(t, "")
	a := e.createVPC(t, "10.7.0.0/16", "10.7.5.0/28")
	run := func(n int32) *ecs.RunTaskOutput {
		t.Helper()
		out, err := e.ecs.RunTask(t.Context(), &ecs.RunTaskInput{TaskDefinition: aws.String(e.shTD), LaunchType: types.LaunchTypeFargate,
			Count: aws.Int32(n), NetworkConfiguration: &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{
				Subnets: []string{a.subnet}}},
			Overrides: &types.TaskOverride{ContainerOverrides: []types.ContainerOverride{{Name: aws.String("app"), Command: []string{"trap 'exit 0' TERM; sleep 300 & wait"}}}}})
		if err != nil {
			t.Fatalf("RunTask: %v", err)
		}
		return out
	}
	var arns []string
	for _, n := range []int32{10, 1} {
		out := run(n)
		if len(out.Failures) != 0 || len(out.Tasks) != int(n) {
			t.Fatalf("RunTask of %d into a subnet with room: %d tasks, failures %+v", n, len(out.Tasks), out.Failures)
		}
		for _, task := range out.Tasks {
			arns = append(arns, aws.ToString(task.TaskArn))
		}
	}
	in := &ecs.DescribeTasksInput{Tasks: arns}
	if err := ecs.NewTasksRunningWaiter(e.ecs, func(o *ecs.TasksRunningWaiterOptions) {
		o.MinDelay, o.MaxDelay = 200*time.Millisecond, time.Second
	}).Wait(t.Context(), in, 2*time.Minute); err != nil {
		t.Fatalf("wait tasks running: %v", err)
	}
	described, err := e.ecs.DescribeTasks(t.Context(), in)
	if err != nil {
		t.Fatal(err)
	}
	prefix := netip.MustParsePrefix("10.7.5.0/28")
	seen := map[string]bool{}
	for _, task := range described.Tasks {
		if len(task.Attachments) != 1 || aws.ToString(task.Attachments[0].Status) != "ATTACHED" {
			var statuses []string
			for _, a := range task.Attachments {
				statuses = append(statuses, aws.ToString(a.Status))
			}
			t.Fatalf("running task's attachments %v, want one ATTACHED", statuses)
		}
		ip := detail(task, "privateIPv4Address")
		addr, err := netip.ParseAddr(ip)
		if err != nil || !prefix.Contains(addr) || addr.As4()[3] < 4 || addr.As4()[3] == 15 || seen[ip] {
			t.Fatalf("task address %q: want a distinct address of 10.7.5.4-10.7.5.14", ip)
		}
		seen[ip] = true
	}
	subnets, err := e.ec2.DescribeSubnets(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range subnets.Subnets {
		if aws.ToString(s.SubnetId) == a.subnet && aws.ToInt32(s.AvailableIpAddressCount) != 0 {
			t.Errorf("full subnet: AvailableIpAddressCount %d, want 0", aws.ToInt32(s.AvailableIpAddressCount))
		}
	}

	out := run(1)
	if len(out.Tasks) != 0 || len(out.Failures) != 1 || aws.ToString(out.Failures[0].Reason) != "RESOURCE:ENI" ||
		!strings.Contains(aws.ToString(out.Failures[0].Detail), a.subnet) {
		t.Fatalf("RunTask into a full subnet: tasks %d, failures %+v; want one RESOURCE:ENI failure naming %s", len(out.Tasks), out.Failures, a.subnet)
	}
	t.Logf("full subnet: %s: %s", aws.ToString(out.Failures[0].Reason), aws.ToString(out.Failures[0].Detail))

	e.stop(t, arns[0])
	stopped, err := e.ecs.DescribeTasks(t.Context(), &ecs.DescribeTasksInput{Tasks: arns[:1]})
	if err != nil {
		t.Fatal(err)
	}
	if a := stopped.Tasks[0].Attachments; len(a) != 1 || aws.ToString(a[0].Status) != "DELETED" {
		t.Errorf("stopped task's attachments %+v, want one DELETED", a)
	}
	freed := detail(described.Tasks[0], "privateIPv4Address")
	if aws.ToString(described.Tasks[0].TaskArn) != arns[0] {
		for _, task := range described.Tasks {
			if aws.ToString(task.TaskArn) == arns[0] {
				freed = detail(task, "privateIPv4Address")
			}
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		out = run(1)
		if len(out.Tasks) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a stopped task's address was not freed: failures %+v", out.Failures)
		}
		time.Sleep(500 * time.Millisecond)
	}
	arns[0] = aws.ToString(out.Tasks[0].TaskArn)
	if got := detail(out.Tasks[0], "privateIPv4Address"); got != freed {
		t.Errorf("the task after a stop got %s, want the freed %s (the only free address)", got, freed)
	}
	e.stop(t, arns...)
}
