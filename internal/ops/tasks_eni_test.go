package ops

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/model"
)

// eniTestVpc makes a second VPC (10.0.0.0/16) with a group and subnets of the given CIDRs
// (ids subnet-1000000000000000<i>), and returns the VPC and the subnet ids.
func eniTestVpc(t *testing.T, e *ECS, cidrs ...string) (model.Vpc, model.SecurityGroup, []string) {
	t.Helper()
	ctx := t.Context()
	vpc, err := e.ec2().CreateVpc(ctx, clTestScope, CreateVpcInput{CidrBlock: "10.0.0.0/16"})
	if err != nil {
		t.Fatal(err)
	}
	g, err := e.ec2().CreateSecurityGroup(ctx, clTestScope, CreateSecurityGroupInput{GroupName: "app", Description: "app", VpcID: vpc.ID})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i, c := range cidrs {
		id := "subnet-1000000000000000" + string(rune('0'+i))
		runTestSubnetIn(t, e, vpc.ID, id, c, "us-east-1"+string(rune('a'+i)))
		ids = append(ids, id)
	}
	return vpc, g, ids
}

func TestRunTaskNetworkValidation(t *testing.T) {
	e := runTestECS(t)
	_, otherGroup, otherSubnets := eniTestVpc(t, e, "10.0.1.0/24")
	tests := []struct {
		name string
		mut  func(*RunTaskInput)
		msg  string
	}{
		{"unknown subnet", func(in *RunTaskInput) { in.Network.Subnets = []string{runTestSubnet, "subnet-0ffffffffffffffff"} },
			"Error retrieving subnet information for [subnet-0ffffffffffffffff]: The subnet ID 'subnet-0ffffffffffffffff' does not exist (ErrorCode: InvalidSubnetID.NotFound)"},
		{"subnets of two VPCs", func(in *RunTaskInput) { in.Network.Subnets = []string{runTestSubnet, otherSubnets[0]} },
			"different VPCs"},
		{"group of another VPC", func(in *RunTaskInput) { in.Network.SecurityGroups = []string{otherGroup.ID} },
			"does not belong to VPC"},
		{"unknown group", func(in *RunTaskInput) { in.Network.SecurityGroups = []string{"sg-0ffffffffffffffff"} },
			"Error retrieving security group information for [sg-0ffffffffffffffff]: The security group 'sg-0ffffffffffffffff' does not exist (ErrorCode: InvalidGroup.NotFound)"},
		{"malformed group", func(in *RunTaskInput) { in.Network.SecurityGroups = []string{"default"} },
			"Error retrieving security group information for [default]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tasks, _, err := e.RunTask(t.Context(), clTestScope, runInput(tt.mut))
			clWantErr(t, err, apierr.InvalidParameter, tt.msg)
			if len(tasks) != 0 {
				t.Fatalf("tasks ran: %d", len(tasks))
			}
		})
	}
	if h, _ := e.store.Hosts().Get(t.Context(), "h1"); h.Value.ReservedCPU != 0 {
		t.Fatalf("refused calls reserved %d cpu", h.Value.ReservedCPU)
	}
}

var macPattern = regexp.MustCompile(`^0e(:[0-9a-f]{2}){5}$`)

func TestRunTaskGivesEachTaskAnENI(t *testing.T) {
	e := runTestECS(t)
	ctx := t.Context()
	tasks, failures, err := e.RunTask(ctx, clTestScope, runInput(func(in *RunTaskInput) {
		in.Count, in.Network.AssignPublicIP = new(2), "ENABLED"
	}))
	if err != nil || len(failures) != 0 || len(tasks) != 2 {
		t.Fatalf("RunTask = %d, %+v, %v", len(tasks), failures, err)
	}
	def, _, _ := e.store.DefaultVpcs().Get(ctx, clTestScope)
	vpc, _ := e.store.Vpcs().Get(ctx, clTestScope, def)
	enis, _, err := e.ec2().DescribeNetworkInterfaces(ctx, clTestScope, nil, nil, Paging{})
	if err != nil || len(enis) != 2 {
		t.Fatalf("DescribeNetworkInterfaces = %+v, %v", enis, err)
	}
	ips := map[string]bool{}
	for _, tk := range tasks {
		n := tk.TaskNetwork
		if n == nil {
			t.Fatalf("task without network: %+v", tk)
		}
		ips[n.PrivateIP] = true
		i := slices.IndexFunc(enis, func(x model.NetworkInterface) bool { return x.ID == n.ENIID })
		if i < 0 {
			t.Fatalf("no ENI record %s", n.ENIID)
		}
		eni := enis[i]
		a := tk.Attachments[0]
		details := map[string]string{}
		for _, d := range a.Details {
			details[d.Name] = d.Value
		}
		checks := map[string]bool{
			"eni id":         len(eni.ID) == 21 && strings.HasPrefix(eni.ID, "eni-"),
			"in subnet":      eni.SubnetID == runTestSubnet && eni.VpcID == def && n.VpcID == def && n.VpcCidr == vpc.Value.CidrBlock,
			"address":        strings.HasPrefix(n.PrivateIP, "172.31.128.") && n.PrivateIP != "172.31.128.1" && eni.PrivateIP == n.PrivateIP,
			"mac":            macPattern.MatchString(eni.MacAddress) && eni.MacAddress == n.MacAddress && eni.MacAddress == macOf(eni.ID),
			"default group":  slices.Equal(eni.GroupIDs, []string{vpc.Value.DefaultGroupID}) && slices.Equal(n.SecurityGroups, eni.GroupIDs),
			"fargate eni":    eni.Status == "in-use" && eni.InterfaceType == "interface" && eni.RequesterManaged,
			"description":    eni.Description == "arn:aws:ecs:us-east-1:000000000000:attachment/"+a.ID,
			"eni attachment": eni.Attachment != nil && eni.Attachment.InstanceOwnerID == "amazon-aws" && eni.Attachment.Status == "attached",
			"public ip":      strings.HasPrefix(eni.PublicIP, "198.51.100.") || strings.HasPrefix(eni.PublicIP, "203.0.113."),
			"dns":            n.PrivateDNSName == model.PrivateDNSName(n.PrivateIP, "us-east-1"),
			"zone":           tk.AvailabilityZone == "us-east-1a" && eni.AvailabilityZone == "us-east-1a",
			"route":          n.Subnet == model.SubnetRoute{ID: runTestSubnet, Cidr: "172.31.128.0/24", Public: true},
			"attachment": a.Type == "ElasticNetworkInterface" && a.Status == "PRECREATED" && len(a.ID) == 36 &&
				a.Details[0].Name == "subnetId" && details["subnetId"] == runTestSubnet && details["networkInterfaceId"] == eni.ID &&
				details["macAddress"] == eni.MacAddress && details["privateIPv4Address"] == n.PrivateIP &&
				details["privateDnsName"] == n.PrivateDNSName,
		}
		for what, ok := range checks {
			if !ok {
				t.Errorf("%s: task network %+v, eni %+v, attachment %+v", what, n, eni, a)
			}
		}
	}
	if len(ips) != 2 || !ips["172.31.128.4"] || !ips["172.31.128.5"] {
		t.Errorf("addresses %v, want the first two after the reserved ones", ips)
	}
	pool, err := e.store.IPPools().Get(ctx, clTestScope, runTestSubnet)
	if err != nil || len(pool.Value.Pool.Used) != 2 {
		t.Fatalf("pool = %+v, %v", pool.Value, err)
	}
	// The ENIs hold the subnet and its group.
	err = e.ec2().DeleteSubnet(ctx, clTestScope, runTestSubnet)
	if apierr.KindOf(err) != apierr.ResourceInUse {
		t.Fatalf("DeleteSubnet with ENIs = %v", err)
	}
	subs, _, _ := e.ec2().DescribeSubnets(ctx, clTestScope, []string{runTestSubnet}, nil, Paging{})
	if subs[0].AvailableIPAddressCount != 256-5-2 {
		t.Errorf("available addresses %d", subs[0].AvailableIPAddressCount)
	}
}

// stopTask writes a task STOPPED as its agent's report does.
func stopTask(t *testing.T, e *ECS, tk model.Task) model.Task {
	t.Helper()
	v, err := e.store.Tasks().Mutate(t.Context(), tk.Scope, tk.Cluster, tk.ID, func(x *model.Task) error {
		x.LastStatus, x.DesiredStatus = model.TaskStopped, model.TaskStopped
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return v.Value
}

func TestRunTaskSubnetExhaustionAndRelease(t *testing.T) {
	e := runTestECS(t)
	runTestHost(t, e, "big", 16384, 65536)
	ctx := t.Context()
	_, _, subnets := eniTestVpc(t, e, "10.0.9.0/28")
	in := runInput(func(in *RunTaskInput) { in.Count, in.Network.Subnets = new(10), subnets })
	first, failures, err := e.RunTask(ctx, clTestScope, in)
	if err != nil || len(first) != 10 || len(failures) != 0 {
		t.Fatalf("first 10: %d, %+v, %v", len(first), failures, err)
	}
	second, failures, err := e.RunTask(ctx, clTestScope, in)
	if err != nil || len(second) != 1 || len(failures) != 9 {
		t.Fatalf("a /28 holds 11 tasks: second call placed %d, failures %d, %v", len(second), len(failures), err)
	}
	for _, f := range failures {
		if f.Reason != "RESOURCE:ENI" || !strings.Contains(f.Detail, subnets[0]) {
			t.Fatalf("failure %+v", f)
		}
	}
	var cpu int64
	for _, h := range []string{"h1", "big"} {
		v, _ := e.store.Hosts().Get(ctx, h)
		cpu += v.Value.ReservedCPU
	}
	if cpu != 11*512 {
		t.Fatalf("hosts reserve %d cpu for 11 tasks of 512", cpu)
	}
	stopped := stopTask(t, e, first[3])
	if stopped.Attachments[0].Status != "DELETED" {
		t.Errorf("attachment of a stopped task: %+v", stopped.Attachments)
	}
	stopTask(t, e, first[3]) // a repeated report releases nothing twice
	third, failures, err := e.RunTask(ctx, clTestScope, runInput(func(in *RunTaskInput) { in.Network.Subnets = subnets }))
	if err != nil || len(third) != 1 || len(failures) != 0 {
		t.Fatalf("after a stop: %d, %+v, %v", len(third), failures, err)
	}
	if third[0].TaskNetwork.PrivateIP != first[3].TaskNetwork.PrivateIP {
		t.Errorf("freed %s, got %s", first[3].TaskNetwork.PrivateIP, third[0].TaskNetwork.PrivateIP)
	}
	pool, _ := e.store.IPPools().Get(ctx, clTestScope, subnets[0])
	if len(pool.Value.Pool.Used) != 11 {
		t.Errorf("pool holds %d addresses, want 11", len(pool.Value.Pool.Used))
	}
}

func TestRunTaskSpreadsAcrossSubnets(t *testing.T) {
	e := runTestECS(t)
	runTestHost(t, e, "big", 16384, 65536)
	_, g, subnets := eniTestVpc(t, e, "10.0.1.0/24", "10.0.2.0/24", "10.0.3.0/24")
	tasks, _, err := e.RunTask(t.Context(), clTestScope, runInput(func(in *RunTaskInput) {
		in.Count, in.Network.Subnets, in.Network.SecurityGroups = new(6), subnets, []string{g.ID}
	}))
	if err != nil || len(tasks) != 6 {
		t.Fatal(len(tasks), err)
	}
	per := map[string]int{}
	zones := map[string]bool{}
	for _, tk := range tasks {
		per[tk.TaskNetwork.Subnet.ID]++
		zones[tk.AvailabilityZone] = true
		if !slices.Equal(tk.TaskNetwork.SecurityGroups, []string{g.ID}) || tk.TaskNetwork.Subnet.Public {
			t.Errorf("network %+v (a new VPC's main table has no internet gateway)", tk.TaskNetwork)
		}
	}
	if len(per) != 3 || per[subnets[0]] != 2 || per[subnets[1]] != 2 || len(zones) != 3 {
		t.Errorf("tasks per subnet %v, zones %v", per, zones)
	}
}

// Concurrent RunTasks never hand out one address twice, and starting then stopping every task
// leaves every pool empty and no ENI behind.
func TestConcurrentRunTaskAddressesAndRelease(t *testing.T) {
	e := runTestECS(t)
	runTestHost(t, e, "big", 65536, 262144)
	ctx := t.Context()
	_, _, subnets := eniTestVpc(t, e, "10.0.1.0/26", "10.0.2.0/26")
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		all []model.Task
	)
	for range 8 {
		wg.Go(func() {
			tasks, failures, err := e.RunTask(ctx, clTestScope, runInput(func(in *RunTaskInput) {
				in.Count, in.Network.Subnets = new(5), subnets
			}))
			if err != nil || len(failures) != 0 {
				t.Error(failures, err)
			}
			mu.Lock()
			all = append(all, tasks...)
			mu.Unlock()
		})
	}
	wg.Wait()
	if len(all) != 40 {
		t.Fatalf("%d tasks", len(all))
	}
	seen := map[string]bool{}
	for _, tk := range all {
		key := tk.TaskNetwork.Subnet.ID + "/" + tk.TaskNetwork.PrivateIP
		if seen[key] {
			t.Fatalf("address %s given twice", key)
		}
		seen[key] = true
	}
	used := 0
	for _, s := range subnets {
		p, _ := e.store.IPPools().Get(ctx, clTestScope, s)
		used += len(p.Value.Pool.Used)
	}
	enis, _ := e.store.NetworkInterfaces().List(ctx, clTestScope)
	if used != 40 || len(enis) != 40 {
		t.Fatalf("pools hold %d addresses, %d ENIs, want 40", used, len(enis))
	}
	// Stop every task twice over, concurrently.
	for _, tk := range append(slices.Clone(all), all...) {
		wg.Go(func() { stopTask(t, e, tk) })
	}
	wg.Wait()
	for _, s := range subnets {
		p, _ := e.store.IPPools().Get(ctx, clTestScope, s)
		if len(p.Value.Pool.Used) != 0 {
			t.Errorf("pool of %s after every stop: %v", s, p.Value.Pool.Used)
		}
	}
	if enis, _ := e.store.NetworkInterfaces().List(ctx, clTestScope); len(enis) != 0 {
		t.Errorf("%d ENIs after every stop", len(enis))
	}
	if err := e.ec2().DeleteSubnet(ctx, clTestScope, subnets[0]); err != nil {
		t.Errorf("DeleteSubnet after every stop: %v", err)
	}
}

// A subnet deleted while RunTask plans is either deleted (and RunTask fails) or keeps its ENI
// (and DeleteSubnet fails): the VPC record fences both.
func TestRunTaskFencedAgainstDeleteSubnet(t *testing.T) {
	e := runTestECS(t)
	ctx := t.Context()
	for i := range 10 {
		_, _, subs := eniTestVpcNamed(t, e, i)
		var wg sync.WaitGroup
		var runErr, delErr error
		var tasks []model.Task
		wg.Go(func() {
			tasks, _, runErr = e.RunTask(ctx, clTestScope, runInput(func(in *RunTaskInput) { in.Network.Subnets = subs }))
		})
		wg.Go(func() { delErr = e.ec2().DeleteSubnet(ctx, clTestScope, subs[0]) })
		wg.Wait()
		if (runErr == nil && len(tasks) == 1) == (delErr == nil) {
			t.Fatalf("round %d: RunTask %d tasks %v, DeleteSubnet %v: exactly one must win", i, len(tasks), runErr, delErr)
		}
		for _, tk := range tasks {
			stopTask(t, e, tk)
		}
	}
}

// eniTestVpcNamed is eniTestVpc for repeated use in one test: VPC 10.<i>.0.0/16.
func eniTestVpcNamed(t *testing.T, e *ECS, i int) (model.Vpc, model.SecurityGroup, []string) {
	t.Helper()
	ctx := t.Context()
	cidr := "10." + strconv.Itoa(i+10) + ".0.0/16"
	vpc, err := e.ec2().CreateVpc(ctx, clTestScope, CreateVpcInput{CidrBlock: cidr})
	if err != nil {
		t.Fatal(err)
	}
	sub, err := e.ec2().CreateSubnet(ctx, clTestScope, CreateSubnetInput{VpcID: vpc.ID, CidrBlock: "10." + strconv.Itoa(i+10) + ".1.0/24"})
	if err != nil {
		t.Fatal(err)
	}
	return vpc, model.SecurityGroup{}, []string{sub.ID}
}
