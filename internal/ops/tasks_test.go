package ops

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/logx"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/scheduler"
	"github.com/gantry-dev/gantry/internal/store"
	"github.com/gantry-dev/gantry/internal/testutil"
)

var runTestNow = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// runTestECS returns operations with no overcommit, one live host of 1024 cpu / 2048 MiB, and
// the api-service definition (512 cpu / 1024 MiB, awsvpc) registered.
func runTestECS(t *testing.T) *ECS {
	t.Helper()
	cli, prefix := testutil.Etcd(t)
	e := NewECS(store.New(cli, prefix), logx.Discard())
	e.SetClock(func() time.Time { return runTestNow })
	e.SetPlacement(scheduler.Overcommit{CPU: 1, Memory: 1})
	runTestHost(t, e, "h1", 1024, 2048)
	runTestSubnetIn(t, e, "", runTestSubnet, "172.31.128.0/24", "us-east-1a")
	if _, err := e.RegisterTaskDefinition(t.Context(), fargateTD(), []model.Tag{{Key: "team", Value: "a"}}); err != nil {
		t.Fatal(err)
	}
	return e
}

func runTestHost(t *testing.T, e *ECS, id string, cpu, mem int64) {
	t.Helper()
	if _, err := e.store.Hosts().Create(t.Context(), model.Host{ID: id, CapacityCPU: cpu, CapacityMemory: mem,
		Status: model.HostActive, RegisteredAt: runTestNow, HeartbeatAt: runTestNow}); err != nil {
		t.Fatal(err)
	}
}

// runTestSubnet is a subnet of the default VPC with a known id, made by runTestECS.
const runTestSubnet = "subnet-0000000000000000a"

// runTestSubnetIn stores a subnet with a known id in vpcID (the default VPC when "").
func runTestSubnetIn(t *testing.T, e *ECS, vpcID, id, cidr, zone string) model.Subnet {
	t.Helper()
	ctx := t.Context()
	if err := e.ec2().EnsureDefaultVPC(ctx, clTestScope); err != nil {
		t.Fatal(err)
	}
	if vpcID == "" {
		def, _, err := e.store.DefaultVpcs().Get(ctx, clTestScope)
		if err != nil {
			t.Fatal(err)
		}
		vpcID = def
	}
	sub := model.Subnet{Scope: clTestScope, ID: id, VpcID: vpcID, CidrBlock: cidr, AvailabilityZone: zone,
		State: model.StateAvailable, CreatedAt: runTestNow}
	if _, err := e.store.Subnets().Create(ctx, sub); err != nil {
		t.Fatal(err)
	}
	return sub
}

func runInput(mut func(*RunTaskInput)) RunTaskInput {
	in := RunTaskInput{TaskDefinition: "api-service", Network: &model.AwsVpcConfiguration{Subnets: []string{runTestSubnet}}}
	if mut != nil {
		mut(&in)
	}
	return in
}

func TestRunTaskValidation(t *testing.T) {
	e := runTestECS(t)
	legacy := ec2TD()
	legacy.Family = "legacy"
	if _, err := e.RegisterTaskDefinition(t.Context(), legacy, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.CreateCluster(t.Context(), model.Cluster{Scope: clTestScope, Name: "spot",
		CapacityProviders: []string{"FARGATE", "FARGATE_SPOT"}}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		mut  func(*RunTaskInput)
		kind apierr.Kind
		msg  string
	}{
		{"no definition", func(in *RunTaskInput) { in.TaskDefinition = "" }, apierr.InvalidParameter, "taskDefinition can not be blank"},
		{"unknown definition", func(in *RunTaskInput) { in.TaskDefinition = "nope" }, apierr.Client, "Unable to describe task definition"},
		{"count 0", func(in *RunTaskInput) { in.Count = new(0) }, apierr.InvalidParameter, "count must be between 1 and 10"},
		{"count 11", func(in *RunTaskInput) { in.Count = new(11) }, apierr.InvalidParameter, "count must be between 1 and 10"},
		{"launch type EC2", func(in *RunTaskInput) { in.LaunchType = "EC2" }, apierr.InvalidParameter, "Valid values are: FARGATE"},
		{"launch type EXTERNAL", func(in *RunTaskInput) { in.LaunchType = "EXTERNAL" }, apierr.InvalidParameter, "Valid values are: FARGATE"},
		{"launch type bogus", func(in *RunTaskInput) { in.LaunchType = "fargate" }, apierr.InvalidParameter, "is not valid"},
		{"launch type and strategy", func(in *RunTaskInput) {
			in.LaunchType = "FARGATE"
			in.CapacityProviderStrategy = []model.CapacityProviderStrategyItem{{CapacityProvider: "FARGATE", Weight: 1}}
		}, apierr.InvalidParameter, "Specifying both a launch type and capacity provider strategy is not supported"},
		{"strategy provider", func(in *RunTaskInput) {
			in.CapacityProviderStrategy = []model.CapacityProviderStrategyItem{{CapacityProvider: "EC2_ASG", Weight: 1}}
		}, apierr.InvalidParameter, "capacity provider"},
		{"strategy provider not of the cluster", func(in *RunTaskInput) {
			in.CapacityProviderStrategy = []model.CapacityProviderStrategyItem{{CapacityProvider: "FARGATE_SPOT", Weight: 1}}
		}, apierr.InvalidParameter, "The specified capacity provider strategy cannot contain a capacity provider that is not associated with the cluster."},
		{"strategy of all zero weights", func(in *RunTaskInput) {
			in.Cluster = "spot"
			in.CapacityProviderStrategy = []model.CapacityProviderStrategyItem{{CapacityProvider: "FARGATE"}, {CapacityProvider: "FARGATE_SPOT"}}
		}, apierr.InvalidParameter, "at least one capacity provider with a weight greater than zero"},
		{"strategy weight out of range", func(in *RunTaskInput) {
			in.Cluster = "spot"
			in.CapacityProviderStrategy = []model.CapacityProviderStrategyItem{{CapacityProvider: "FARGATE", Weight: 1001}}
		}, apierr.InvalidParameter, "The weight must be between 0 and 1000"},
		{"startedBy too long", func(in *RunTaskInput) { in.StartedBy = strings.Repeat("s", 129) }, apierr.InvalidParameter, "startedBy can have up to 128"},
		{"clientToken too long", func(in *RunTaskInput) { in.ClientToken = strings.Repeat("t", 65) }, apierr.InvalidParameter, "clientToken can have up to 64"},
		{"clientToken space", func(in *RunTaskInput) { in.ClientToken = "a b" }, apierr.InvalidParameter, "clientToken can contain only"},
		{"propagate SERVICE", func(in *RunTaskInput) { in.PropagateTags = "SERVICE" }, apierr.InvalidParameter, "propagateTags SERVICE"},
		{"platform version", func(in *RunTaskInput) { in.PlatformVersion = "1.3.0" }, apierr.InvalidParameter, "platform version"},
		{"bad tag", func(in *RunTaskInput) { in.Tags = []model.Tag{{Key: ""}} }, apierr.InvalidParameter, "Tag key"},
		{"no network for awsvpc", func(in *RunTaskInput) { in.Network = nil }, apierr.InvalidParameter,
			"Network Configuration must be provided when networkMode 'awsvpc' is specified."},
		{"no subnets", func(in *RunTaskInput) { in.Network.Subnets = nil }, apierr.InvalidParameter, "subnets can not be empty"},
		{"17 subnets", func(in *RunTaskInput) { in.Network.Subnets = make([]string, 17) }, apierr.InvalidParameter, "at most 16"},
		{"6 security groups", func(in *RunTaskInput) { in.Network.SecurityGroups = make([]string, 6) }, apierr.InvalidParameter, "at most 5"},
		{"assignPublicIp", func(in *RunTaskInput) { in.Network.AssignPublicIP = "YES" }, apierr.InvalidParameter, "ENABLED, DISABLED"},
		{"override unknown container", func(in *RunTaskInput) {
			in.Overrides.ContainerOverrides = []model.ContainerOverride{{Name: "nope"}}
		}, apierr.InvalidParameter, "Override for container named nope is not a container in the TaskDefinition."},
		{"override negative memory", func(in *RunTaskInput) {
			in.Overrides.ContainerOverrides = []model.ContainerOverride{{Name: "api", Memory: new(-1)}}
		}, apierr.InvalidParameter, "can not be negative"},
		{"override reservation above memory", func(in *RunTaskInput) {
			in.Overrides.ContainerOverrides = []model.ContainerOverride{{Name: "api", Memory: new(128), MemoryReservation: new(256)}}
		}, apierr.InvalidParameter, "'memoryReservation' must be less than or equal to 'memory'"},
		{"override task size not Fargate", func(in *RunTaskInput) { in.Overrides.Memory = "8192" }, apierr.Client,
			"No Fargate configuration exists for given values: 512 CPU, 8192 memory"},
		{"override cpu unreadable", func(in *RunTaskInput) { in.Overrides.CPU = "lots" }, apierr.Client, "Invalid 'cpu' setting for task: 'lots' (overrides.cpu)"},
		{"overrides over 8192 characters", func(in *RunTaskInput) {
			in.Overrides.ContainerOverrides = []model.ContainerOverride{{Name: "api",
				Environment: []model.KeyValuePair{{Name: "BIG", Value: new(strings.Repeat("x", 8192))}}}}
		}, apierr.InvalidParameter, "Container Overrides length must be at most 8192"},
		{"ephemeral storage", func(in *RunTaskInput) {
			in.Overrides.EphemeralStorage = &model.EphemeralStorage{SizeInGiB: 10}
		}, apierr.InvalidParameter, "between 21 and 200"},
		{"execute command without a task role", func(in *RunTaskInput) { in.EnableExecuteCommand = true }, apierr.InvalidParameter,
			"The execute command failed because a valid task role is not being used."},
		{"definition not for Fargate", func(in *RunTaskInput) { in.TaskDefinition = "legacy" }, apierr.Client,
			"Task definition does not support launch_type FARGATE."},
		{"unknown cluster", func(in *RunTaskInput) { in.Cluster = "nope" }, apierr.ClusterNotFound, "Cluster not found."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := e.RunTask(t.Context(), clTestScope, runInput(tt.mut))
			clWantErr(t, err, tt.kind, tt.msg)
		})
	}
}

func TestRunTaskBuildsTasksAsECSShowsThem(t *testing.T) {
	e := runTestECS(t)
	tasks, failures, err := e.RunTask(t.Context(), clTestScope, runInput(func(in *RunTaskInput) {
		in.StartedBy, in.PropagateTags = "me", "TASK_DEFINITION"
		in.Tags = []model.Tag{{Key: "run", Value: "1"}}
		in.Overrides.ContainerOverrides = []model.ContainerOverride{{Name: "api", Command: []string{"serve"}, Memory: new(512)}}
	}))
	if err != nil || len(failures) != 0 || len(tasks) != 1 {
		t.Fatalf("RunTask = %d tasks, %v, %v", len(tasks), failures, err)
	}
	tk := tasks[0]
	checks := map[string]bool{
		"id is 32 hex":             len(tk.ID) == 32 && strings.Trim(tk.ID, "0123456789abcdef") == "",
		"statuses":                 tk.LastStatus == model.TaskProvisioning && tk.DesiredStatus == model.TaskRunning,
		"size":                     tk.CPU == "512" && tk.Memory == "1024" && tk.EphemeralStorageGiB == 20,
		"group default":            tk.Group == "family:api-service",
		"definition":               tk.TaskDefinitionARN == "arn:aws:ecs:us-east-1:000000000000:task-definition/api-service:1",
		"placed":                   tk.HostID == "h1",
		"platform":                 tk.PlatformVersion == "1.4.0" && tk.PlatformFamily == "Linux" && tk.LaunchType == "FARGATE",
		"version, zone, createdAt": tk.Version == 1 && tk.AvailabilityZone == "us-east-1a" && tk.Times.CreatedAt.Equal(runTestNow),
		"tags propagated":          len(tk.Tags) == 2 && tk.Tags[0].Key == "team" && tk.Tags[1].Key == "run",
		"container":                len(tk.Containers) == 1 && tk.Containers[0].Name == "api" && tk.Containers[0].Memory == "512" && len(tk.Containers[0].ID) == 36,
		"eni attachment":           len(tk.Attachments) == 1 && tk.Attachments[0].Details[0].Value == runTestSubnet,
	}
	for what, ok := range checks {
		if !ok {
			t.Errorf("%s: task = %+v", what, tk)
		}
	}
	h, _ := e.store.Hosts().Get(t.Context(), "h1")
	if h.Value.ReservedCPU != 512 || h.Value.ReservedMemory != 1024 {
		t.Errorf("host reservation = %d/%d", h.Value.ReservedCPU, h.Value.ReservedMemory)
	}
}

func TestRunTaskPlacementFailures(t *testing.T) {
	e := runTestECS(t)
	ctx := t.Context()
	tasks, failures, err := e.RunTask(ctx, clTestScope, runInput(func(in *RunTaskInput) { in.Count = new(3) }))
	if err != nil {
		t.Fatal(err)
	}
	if len(tasks) != 2 || len(failures) != 1 {
		t.Fatalf("3 tasks of 512/1024 on a 1024/2048 host: %d placed, failures %+v", len(tasks), failures)
	}
	if f := failures[0]; f.Reason != scheduler.ReasonCPU && f.Reason != scheduler.ReasonMemory || !strings.HasSuffix(f.ARN, "task-definition/api-service:1") {
		t.Fatalf("failure = %+v", f)
	}
	// A full host, then no live host at all.
	_, failures, err = e.RunTask(ctx, clTestScope, runInput(nil))
	if err != nil || len(failures) != 1 {
		t.Fatalf("on a full host: %v, %v", failures, err)
	}
	e.SetClock(func() time.Time { return runTestNow.Add(HostTTL) })
	tasks, failures, err = e.RunTask(ctx, clTestScope, runInput(nil))
	if err != nil || len(tasks) != 0 || len(failures) != 1 || failures[0].Reason != scheduler.ReasonNoHosts {
		t.Fatalf("with a silent host: %d tasks, %+v, %v", len(tasks), failures, err)
	}
}

func TestRunTaskClientTokenIdempotent(t *testing.T) {
	e := runTestECS(t)
	ctx := t.Context()
	in := runInput(func(in *RunTaskInput) { in.ClientToken, in.Count = "tok-1", new(2) })
	const callers = 8
	results := make([][]model.Task, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			tasks, _, err := e.RunTask(ctx, clTestScope, in)
			if err != nil {
				t.Error(err)
			}
			results[i] = tasks
		})
	}
	wg.Wait()
	ids := func(ts []model.Task) string {
		var out []string
		for _, tk := range ts {
			out = append(out, tk.ID)
		}
		return strings.Join(out, ",")
	}
	for i := 1; i < callers; i++ {
		if ids(results[i]) != ids(results[0]) || len(results[i]) != 2 {
			t.Fatalf("caller %d got %s, caller 0 got %s", i, ids(results[i]), ids(results[0]))
		}
	}
	page, _ := e.store.Tasks().List(ctx, clTestScope, "default", "", 0)
	if len(page.Items) != 2 {
		t.Fatalf("%d tasks stored, want 2", len(page.Items))
	}
	if h, _ := e.store.Hosts().Get(ctx, "h1"); h.Value.ReservedCPU != 1024 {
		t.Fatalf("reserved %d cpu, want 1024", h.Value.ReservedCPU)
	}
	in.StartedBy = "someone else"
	_, _, err := e.RunTask(ctx, clTestScope, in)
	clWantErr(t, err, apierr.TokenReused, `The clientToken "tok-1" is already used with different parameters`)
}

func TestConcurrentRunTaskNeverOverReserves(t *testing.T) {
	e := runTestECS(t)
	runTestHost(t, e, "h2", 1024, 2048)
	ctx := t.Context()
	var wg sync.WaitGroup
	var mu sync.Mutex
	placed := 0
	for range 10 {
		wg.Go(func() {
			tasks, _, err := e.RunTask(ctx, clTestScope, runInput(nil))
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			placed += len(tasks)
			mu.Unlock()
		})
	}
	wg.Wait()
	if placed != 4 {
		t.Fatalf("%d tasks placed on two hosts with room for 2 each", placed)
	}
	hosts, err := e.Hosts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hosts {
		if h.Reserved.CPU != 1024 || h.Reserved.Memory != 2048 || h.Free.CPU != 0 || !h.Live {
			t.Errorf("host %+v", h)
		}
	}
}

func TestStopDescribeListTasks(t *testing.T) {
	e := runTestECS(t)
	runTestHost(t, e, "big", 16384, 65536)
	ctx := t.Context()
	tasks, _, err := e.RunTask(ctx, clTestScope, runInput(func(in *RunTaskInput) { in.Count, in.StartedBy = new(5), "batch" }))
	if err != nil || len(tasks) != 5 {
		t.Fatalf("RunTask = %d, %v", len(tasks), err)
	}
	stopped, err := e.StopTask(ctx, clTestScope, "", tasks[0].ARN(), "")
	if err != nil {
		t.Fatal(err)
	}
	if stopped.DesiredStatus != model.TaskStopped || stopped.StopCode != model.StopUserInitiated ||
		stopped.StoppedReason != "Task stopped by user" || !stopped.Times.StoppingAt.Equal(runTestNow) || stopped.Version != 2 {
		t.Fatalf("stopped = %+v", stopped)
	}
	again, err := e.StopTask(ctx, clTestScope, "default", tasks[0].ID, "other reason")
	if err != nil || again.Version != 2 || again.StoppedReason != "Task stopped by user" {
		t.Fatalf("second stop = %+v, %v", again, err)
	}
	_, err = e.StopTask(ctx, clTestScope, "", strings.Repeat("0", 32), "")
	clWantErr(t, err, apierr.InvalidParameter, "The referenced task was not found.")

	missing := strings.Repeat("f", 32)
	got, failures, err := e.DescribeTasks(ctx, clTestScope, "", []string{tasks[1].ID, tasks[2].ARN(), missing}, false)
	if err != nil || len(got) != 2 || len(failures) != 1 || failures[0].Reason != "MISSING" ||
		failures[0].ARN != model.TaskARN(clTestScope, "default", missing) || got[0].Tags != nil {
		t.Fatalf("DescribeTasks = %d, %+v, %v", len(got), failures, err)
	}
	if got, _, _ := e.DescribeTasks(ctx, clTestScope, "", []string{tasks[1].ID}, true); len(got[0].Tags) != 0 {
		t.Fatalf("tags = %+v (none were given)", got[0].Tags)
	}
	_, _, err = e.DescribeTasks(ctx, clTestScope, "", nil, false)
	clWantErr(t, err, apierr.InvalidParameter, "Tasks cannot be empty.")
	// A cluster that does not exist, or no longer does, is ClusterNotFound, whatever the tasks.
	_, _, err = e.DescribeTasks(ctx, clTestScope, "nope", []string{tasks[1].ID}, false)
	clWantErr(t, err, apierr.ClusterNotFound, "Cluster not found.")
	if _, err := e.CreateCluster(ctx, model.Cluster{Scope: clTestScope, Name: "gone"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.DeleteCluster(ctx, clTestScope, "gone"); err != nil {
		t.Fatal(err)
	}
	_, _, err = e.DescribeTasks(ctx, clTestScope, model.ClusterARN(clTestScope, "gone"), []string{missing}, false)
	clWantErr(t, err, apierr.ClusterNotFound, "Cluster not found.")

	list := func(in ListTasksInput) []string {
		t.Helper()
		var all []string
		for {
			arns, next, err := e.ListTasks(ctx, clTestScope, in)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, arns...)
			if next == "" {
				return all
			}
			in.NextToken = next
		}
	}
	if n := len(list(ListTasksInput{MaxResults: new(2)})); n != 4 {
		t.Errorf("running tasks in pages of 2 = %d, want 4", n)
	}
	if got := list(ListTasksInput{DesiredStatus: "STOPPED"}); len(got) != 1 || got[0] != tasks[0].ARN() {
		t.Errorf("stopped tasks = %v", got)
	}
	for _, tt := range []struct {
		in   ListTasksInput
		want int
	}{
		{ListTasksInput{Family: "api-service"}, 4}, {ListTasksInput{Family: "other"}, 0},
		{ListTasksInput{StartedBy: "batch"}, 4}, {ListTasksInput{StartedBy: "x"}, 0},
		{ListTasksInput{LaunchType: "EC2"}, 0},
		{ListTasksInput{LaunchType: "FARGATE"}, 4}, {ListTasksInput{DesiredStatus: "PENDING"}, 0},
	} {
		if got := list(tt.in); len(got) != tt.want {
			t.Errorf("ListTasks(%+v) = %d, want %d", tt.in, len(got), tt.want)
		}
	}
	for _, bad := range []ListTasksInput{{MaxResults: new(0)}, {MaxResults: new(101)}, {DesiredStatus: "DONE"}, {NextToken: "garbage"}} {
		if _, _, err := e.ListTasks(ctx, clTestScope, bad); apierr.KindOf(err) != apierr.InvalidParameter {
			t.Errorf("ListTasks(%+v) = %v, want InvalidParameter", bad, err)
		}
	}
}

// TestListTasksFilterCombinations checks the filters ECS refuses together, with its messages,
// and ServiceNotFoundException for a serviceName the cluster does not have.
func TestListTasksFilterCombinations(t *testing.T) {
	e := runTestECS(t)
	ctx := t.Context()
	if _, _, err := e.RunTask(ctx, clTestScope, runInput(func(in *RunTaskInput) { in.StartedBy = "job-7" })); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		in   ListTasksInput
		kind apierr.Kind
		msg  string
	}{
		{"startedBy and family", ListTasksInput{StartedBy: "job-7", Family: "api-service"}, apierr.InvalidParameter, "cannot specify startedBy with other arguments"},
		{"startedBy and launchType", ListTasksInput{StartedBy: "job-7", LaunchType: "FARGATE"}, apierr.InvalidParameter, "cannot specify startedBy with other arguments"},
		{"startedBy and serviceName", ListTasksInput{StartedBy: "job-7", ServiceName: "web"}, apierr.InvalidParameter, "cannot specify startedBy with other arguments"},
		{"startedBy and containerInstance", ListTasksInput{StartedBy: "job-7", ContainerInstance: "ci"}, apierr.InvalidParameter, "cannot specify startedBy with other arguments"},
		{"serviceName and family", ListTasksInput{ServiceName: "web", Family: "api-service"}, apierr.InvalidParameter, "cannot specify serviceName with other arguments"},
		{"unknown service", ListTasksInput{ServiceName: "web"}, apierr.ServiceNotFound, "Service not found."},
		{"unknown service ARN", ListTasksInput{ServiceName: "arn:aws:ecs:us-east-1:000000000000:service/default/web"}, apierr.ServiceNotFound, "Service not found."},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := e.ListTasks(ctx, clTestScope, tt.in)
			clWantErr(t, err, tt.kind, tt.msg)
		})
	}
	// startedBy with desiredStatus is allowed; so are family, launchType and desiredStatus together.
	for _, ok := range []ListTasksInput{{StartedBy: "job-7", DesiredStatus: "RUNNING"}, {Family: "api-service", LaunchType: "FARGATE", DesiredStatus: "RUNNING"}} {
		if arns, _, err := e.ListTasks(ctx, clTestScope, ok); err != nil || len(arns) != 1 {
			t.Errorf("ListTasks(%+v) = %v, %v; want the one task", ok, arns, err)
		}
	}
	if arns, _, err := e.ListTasks(ctx, clTestScope, ListTasksInput{ContainerInstance: "ci"}); err != nil || len(arns) != 0 {
		t.Errorf("ListTasks(containerInstance) = %v, %v; want no tasks (Fargate tasks have no container instance)", arns, err)
	}
}

func TestContainerOverridesLen(t *testing.T) {
	v := "a<b"
	got := containerOverridesLen([]model.ContainerOverride{{Name: "app", Command: []string{"x"}, Environment: []model.KeyValuePair{{Name: "K", Value: &v}}}})
	want := len(`[{"name":"app","command":["x"],"environment":[{"name":"K","value":"a<b"}]}]`)
	if got != want {
		t.Fatalf("containerOverridesLen = %d, want %d", got, want)
	}
	if n := containerOverridesLen(nil); n != 0 {
		t.Fatalf("no overrides: %d", n)
	}
}

func TestClusterCountsTasks(t *testing.T) {
	e := runTestECS(t)
	ctx := t.Context()
	tasks, _, err := e.RunTask(ctx, clTestScope, runInput(func(in *RunTaskInput) { in.Count = new(2) }))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Tasks().Mutate(ctx, clTestScope, "default", tasks[0].ID, func(tk *model.Task) error {
		tk.LastStatus = model.TaskRunning
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	n, err := e.clusterCounts(ctx, clTestScope, "default")
	if err != nil || n.RunningFargateTasks != 1 || n.PendingFargateTasks != 1 {
		t.Fatalf("counts = %+v, %v", n, err)
	}
	_, err = e.DeleteCluster(ctx, clTestScope, "default")
	if k := apierr.KindOf(err); k != apierr.ClusterContainsTasks {
		t.Fatalf("DeleteCluster with tasks = %v (%s)", err, k)
	}
	// A host that stopped heartbeating cannot stop its tasks: StopTask does, and frees the host.
	e.SetClock(func() time.Time { return runTestNow.Add(time.Hour) })
	for _, tk := range tasks {
		if s, err := e.StopTask(ctx, clTestScope, "", tk.ID, "gone"); err != nil || s.LastStatus != model.TaskStopped {
			t.Fatalf("StopTask on a dead host = %+v, %v", s, err)
		}
	}
	if h, _ := e.store.Hosts().Get(ctx, "h1"); h.Value.ReservedCPU != 0 || h.Value.ReservedMemory != 0 {
		t.Fatalf("reservation after stops = %+v", h.Value)
	}
	if _, err := e.DeleteCluster(ctx, clTestScope, "default"); err != nil {
		t.Fatalf("DeleteCluster after stops = %v", err)
	}
}

func TestPickProviders(t *testing.T) {
	s := []model.CapacityProviderStrategyItem{{CapacityProvider: "FARGATE", Base: 1, Weight: 1}, {CapacityProvider: "FARGATE_SPOT", Weight: 3}}
	got := fmt.Sprint(pickProviders(s, 5))
	if got != "[FARGATE FARGATE_SPOT FARGATE_SPOT FARGATE_SPOT FARGATE]" && got != "[FARGATE FARGATE_SPOT FARGATE FARGATE_SPOT FARGATE_SPOT]" {
		t.Errorf("pickProviders = %s", got)
	}
	if got := pickProviders(nil, 2); got[0] != "" || got[1] != "" {
		t.Errorf("no strategy = %q", got)
	}
}

// TestRunTaskCapacityProviderStrategy runs tasks with a strategy of the cluster's providers, and
// with none on a cluster whose default strategy then applies.
func TestRunTaskCapacityProviderStrategy(t *testing.T) {
	e := runTestECS(t)
	ctx := t.Context()
	runTestHost(t, e, "big", 16384, 65536)
	type item = model.CapacityProviderStrategyItem
	if _, err := e.CreateCluster(ctx, model.Cluster{Scope: clTestScope, Name: "spot", CapacityProviders: []string{"FARGATE", "FARGATE_SPOT"},
		DefaultCapacityProviderStrategy: []item{{CapacityProvider: "FARGATE_SPOT", Weight: 1}}}); err != nil {
		t.Fatal(err)
	}
	providers := func(tasks []model.Task) string {
		var out []string
		for _, tk := range tasks {
			if tk.LaunchType != model.CompatibilityFargate {
				t.Errorf("task launchType %q, want FARGATE", tk.LaunchType)
			}
			out = append(out, tk.CapacityProvider)
		}
		return strings.Join(out, ",")
	}
	tasks, _, err := e.RunTask(ctx, clTestScope, runInput(func(in *RunTaskInput) {
		in.Cluster, in.Count = "spot", new(3)
		in.CapacityProviderStrategy = []item{{CapacityProvider: "FARGATE", Base: 1, Weight: 1}, {CapacityProvider: "FARGATE_SPOT", Weight: 0}}
	}))
	if got := providers(tasks); err != nil || got != "FARGATE,FARGATE,FARGATE" {
		t.Fatalf("strategy FARGATE base 1 weight 1, FARGATE_SPOT weight 0: %s, %v", got, err)
	}
	tasks, _, err = e.RunTask(ctx, clTestScope, runInput(func(in *RunTaskInput) { in.Cluster, in.Count = "spot", new(2) }))
	if got := providers(tasks); err != nil || got != "FARGATE_SPOT,FARGATE_SPOT" {
		t.Fatalf("the cluster's default strategy: %s, %v", got, err)
	}
	tasks, _, err = e.RunTask(ctx, clTestScope, runInput(func(in *RunTaskInput) { in.Cluster, in.LaunchType = "spot", "FARGATE" }))
	if got := providers(tasks); err != nil || got != "" {
		t.Fatalf("launchType FARGATE: provider %q, %v; want none", got, err)
	}
}

func TestRunTaskExecuteCommandWithTaskRoleOverride(t *testing.T) {
	e := runTestECS(t)
	tasks, _, err := e.RunTask(t.Context(), clTestScope, runInput(func(in *RunTaskInput) {
		in.EnableExecuteCommand = true
		in.Overrides.TaskRoleArn = "arn:aws:iam::000000000000:role/app"
	}))
	if err != nil || len(tasks) != 1 || !tasks[0].EnableExecuteCommand {
		t.Fatalf("RunTask with enableExecuteCommand and a task role override = %+v, %v", tasks, err)
	}
}
