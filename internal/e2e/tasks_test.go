package e2e

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/gantry-dev/gantry/internal/testimage"
)

// appImage pushes the test image into s's own registry once per server and returns the
// reference to use in task definitions and the digest it was pushed with.
func appImage(t *testing.T, s *Server) (ref, digest string) {
	t.Helper()
	img, err := testimage.Build(t.Context(), testimage.Options{})
	if err != nil {
		t.Fatalf("build test image: %v", err)
	}
	digest, err = testimage.Push(t.Context(), img, s.Addr, "app", "v1")
	if err != nil {
		t.Fatalf("push test image to gantry: %v", err)
	}
	return s.Addr + "/app:v1", digest
}

// ecrRef is the ECR-style name of the same image: gantry resolves it to its own registry.
const ecrRef = "000000000000.dkr.ecr.us-east-1.amazonaws.com/app:v1"

// defaultSubnet returns the id of the default subnet in us-east-1a of the server at endpoint
// (the default VPC exists from the first start). It asks every time: a port may serve another
// server, with another default VPC, later in the run.
func defaultSubnet(t *testing.T, endpoint string) string {
	t.Helper()
	cfg, err := config.LoadDefaultConfig(t.Context(), config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("test", "test", "")),
		config.WithSharedConfigFiles([]string{}), config.WithSharedCredentialsFiles([]string{}))
	if err != nil {
		t.Fatalf("load SDK config: %v", err)
	}
	client := ec2.NewFromConfig(cfg, func(o *ec2.Options) { o.BaseEndpoint = aws.String(endpoint) })
	out, err := client.DescribeSubnets(t.Context(), &ec2.DescribeSubnetsInput{Filters: []ec2types.Filter{
		{Name: aws.String("default-for-az"), Values: []string{"true"}},
		{Name: aws.String("availability-zone"), Values: []string{"us-east-1a"}},
	}})
	if err != nil || len(out.Subnets) != 1 {
		t.Fatalf("default subnet of %s: %v, %v", endpoint, out, err)
	}
	return aws.ToString(out.Subnets[0].SubnetId)
}

// networkJSON is the awsvpc configuration RunTask requires for awsvpc task definitions, in the
// server's default subnet, as the aws CLI takes it.
func networkJSON(cli *awsCLI) string {
	cli.t.Helper()
	endpoint := ""
	for _, kv := range cli.env {
		if v, ok := strings.CutPrefix(kv, "AWS_ENDPOINT_URL="); ok {
			endpoint = v
		}
	}
	return `awsvpcConfiguration={subnets=[` + defaultSubnet(cli.t, endpoint) + `],assignPublicIp=DISABLED}`
}

// sdkNetwork is the same configuration for the SDK client's server.
func sdkNetwork(t *testing.T, client *ecs.Client) *types.NetworkConfiguration {
	t.Helper()
	return &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{
		Subnets: []string{defaultSubnet(t, aws.ToString(client.Options().BaseEndpoint))},
	}}
}

// registerTD registers a Fargate task definition with the given containers (JSON list).
func registerTD(t *testing.T, cli *awsCLI, family, containers string, fields ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "td.json")
	td := fmt.Sprintf(`{"family":%q,"networkMode":"awsvpc","requiresCompatibilities":["FARGATE"],
		"cpu":"256","memory":"512",%s"containerDefinitions":%s}`, family, strings.Join(append(fields, ""), ","), containers)
	if err := os.WriteFile(path, []byte(td), 0o600); err != nil {
		t.Fatal(err)
	}
	var out struct {
		TaskDefinition struct {
			TaskDefinitionArn string `json:"taskDefinitionArn"`
		} `json:"taskDefinition"`
	}
	cli.json(&out, "ecs", "register-task-definition", "--cli-input-json", "file://"+path)
	return out.TaskDefinition.TaskDefinitionArn
}

type cliTask struct {
	TaskArn       string  `json:"taskArn"`
	LastStatus    string  `json:"lastStatus"`
	DesiredStatus string  `json:"desiredStatus"`
	StopCode      string  `json:"stopCode"`
	StoppedReason string  `json:"stoppedReason"`
	CreatedAt     float64 `json:"createdAt"`
	Connectivity  string  `json:"connectivity"`
	ConnectAt     float64 `json:"connectivityAt"`
	PullStartedAt float64 `json:"pullStartedAt"`
	PullStopped   float64 `json:"pullStoppedAt"`
	StartedAt     float64 `json:"startedAt"`
	StoppingAt    float64 `json:"stoppingAt"`
	ExecStoppedAt float64 `json:"executionStoppedAt"`
	StoppedAt     float64 `json:"stoppedAt"`
	Containers    []struct {
		Name        string `json:"name"`
		RuntimeID   string `json:"runtimeId"`
		ImageDigest string `json:"imageDigest"`
		LastStatus  string `json:"lastStatus"`
		ExitCode    *int   `json:"exitCode"`
		Reason      string `json:"reason"`
	} `json:"containers"`
}

func describeCLITask(t *testing.T, cli *awsCLI, arn string) cliTask {
	t.Helper()
	var out struct {
		Tasks    []cliTask `json:"tasks"`
		Failures []any     `json:"failures"`
	}
	cli.json(&out, "ecs", "describe-tasks", "--tasks", arn)
	if len(out.Tasks) != 1 {
		t.Fatalf("describe-tasks %s: %d tasks, failures %v", arn, len(out.Tasks), out.Failures)
	}
	return out.Tasks[0]
}

// TestCLIRunTaskLifecycle runs a serving task with the aws CLI, waits with the CLI's own
// waiters, and checks what describe-tasks reports at each end of the lifecycle.
func TestCLIRunTaskLifecycle(t *testing.T) {
	s := startServer(t, "")
	cli := newCLI(t, s)
	ref, digest := appImage(t, s)
	tdArn := registerTD(t, cli, "web", fmt.Sprintf(`[{"name":"app","image":%q,"command":["serve",":8080"],"essential":true}]`, ref))

	var run struct {
		Tasks    []cliTask `json:"tasks"`
		Failures []any     `json:"failures"`
	}
	cli.json(&run, "ecs", "run-task", "--task-definition", tdArn, "--launch-type", "FARGATE",
		"--network-configuration", networkJSON(cli))
	if len(run.Tasks) != 1 || len(run.Failures) != 0 {
		t.Fatalf("run-task: %d tasks, failures %v", len(run.Tasks), run.Failures)
	}
	arn := run.Tasks[0].TaskArn
	if !strings.HasPrefix(arn, "arn:aws:ecs:us-east-1:000000000000:task/default/") || len(arn) != len("arn:aws:ecs:us-east-1:000000000000:task/default/")+32 {
		t.Fatalf("task ARN %q is not a task ARN of the default cluster with a 32-hex id", arn)
	}
	cli.json(nil, "ecs", "wait", "tasks-running", "--tasks", arn)

	got := describeCLITask(t, cli, arn)
	if got.LastStatus != "RUNNING" || got.DesiredStatus != "RUNNING" {
		t.Fatalf("after tasks-running: last %s desired %s", got.LastStatus, got.DesiredStatus)
	}
	c := got.Containers[0]
	if c.LastStatus != "RUNNING" || c.RuntimeID == "" || c.ImageDigest != digest {
		t.Fatalf("container %+v: want RUNNING with a runtime id and image digest %s", c, digest)
	}
	if got.CreatedAt == 0 || got.PullStartedAt < got.CreatedAt || got.PullStopped < got.PullStartedAt || got.StartedAt < got.PullStopped {
		t.Fatalf("timestamps out of order: %+v", got)
	}
	// The ENI is attached (connectivityAt) before the image pull starts, as on Fargate.
	if got.Connectivity != "CONNECTED" || got.ConnectAt < got.CreatedAt || got.ConnectAt > got.PullStartedAt {
		t.Fatalf("connectivity %q at %f, want CONNECTED between createdAt and pullStartedAt: %+v", got.Connectivity, got.ConnectAt, got)
	}
	if got.StoppingAt != 0 || got.ExecStoppedAt != 0 || got.StoppedAt != 0 {
		t.Fatalf("a running task has stop timestamps: %+v", got)
	}

	cli.json(nil, "ecs", "stop-task", "--task", arn, "--reason", "done for today")
	cli.json(nil, "ecs", "wait", "tasks-stopped", "--tasks", arn)
	got = describeCLITask(t, cli, arn)
	if got.LastStatus != "STOPPED" || got.StopCode != "UserInitiated" || got.StoppedReason != "done for today" {
		t.Fatalf("after stop: last %s stopCode %q reason %q", got.LastStatus, got.StopCode, got.StoppedReason)
	}
	if got.StoppingAt < got.StartedAt || got.ExecStoppedAt < got.StoppingAt || got.StoppedAt < got.ExecStoppedAt {
		t.Fatalf("stop timestamps out of order (startedAt <= stoppingAt <= executionStoppedAt <= stoppedAt): %+v", got)
	}
	if got.Containers[0].LastStatus != "STOPPED" || got.Containers[0].ExitCode == nil {
		t.Fatalf("stopped container %+v: want STOPPED with an exit code", got.Containers[0])
	}
}

func sdkRunTask(t *testing.T, client *ecs.Client, in *ecs.RunTaskInput) []types.Task {
	t.Helper()
	in.LaunchType = types.LaunchTypeFargate
	in.NetworkConfiguration = sdkNetwork(t, client)
	out, err := client.RunTask(t.Context(), in)
	if err != nil {
		t.Fatalf("RunTask: %v", err)
	}
	if len(out.Failures) != 0 {
		t.Fatalf("RunTask failures: %+v", out.Failures)
	}
	return out.Tasks
}

func waitStopped(t *testing.T, client *ecs.Client, arns ...string) []types.Task {
	t.Helper()
	in := &ecs.DescribeTasksInput{Tasks: arns}
	if err := ecs.NewTasksStoppedWaiter(client, func(o *ecs.TasksStoppedWaiterOptions) {
		o.MinDelay, o.MaxDelay = 200*time.Millisecond, time.Second
	}).Wait(t.Context(), in, 2*time.Minute); err != nil {
		t.Fatalf("wait tasks stopped: %v", err)
	}
	out, err := client.DescribeTasks(t.Context(), in)
	if err != nil {
		t.Fatal(err)
	}
	return out.Tasks
}

func sdkRegister(t *testing.T, client *ecs.Client, family string, containers ...types.ContainerDefinition) string {
	t.Helper()
	out, err := client.RegisterTaskDefinition(t.Context(), &ecs.RegisterTaskDefinitionInput{
		Family: aws.String(family), NetworkMode: types.NetworkModeAwsvpc,
		RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate},
		Cpu:                     aws.String("256"), Memory: aws.String("512"),
		ContainerDefinitions: containers,
		Volumes:              []types.Volume{{Name: aws.String("shared")}},
	})
	if err != nil {
		t.Fatalf("RegisterTaskDefinition: %v", err)
	}
	return aws.ToString(out.TaskDefinition.TaskDefinitionArn)
}

// TestSDKTaskBehaviours drives the Go SDK through exit codes, essential exits, dependsOn with a
// shared volume, command and environment overrides, an OOM kill and an idempotent clientToken.
func TestSDKTaskBehaviours(t *testing.T) {
	s := startServer(t, "")
	client := newSDK(t, s)
	appImage(t, s)

	t.Run("essential exit code", func(t *testing.T) {
		td := sdkRegister(t, client, "exiter", types.ContainerDefinition{Name: aws.String("app"), Image: aws.String(ecrRef), Command: []string{"exit", "3"}})
		tasks := waitStopped(t, client, aws.ToString(sdkRunTask(t, client, &ecs.RunTaskInput{TaskDefinition: aws.String(td)})[0].TaskArn))
		task := tasks[0]
		if task.StopCode != types.TaskStopCodeEssentialContainerExited || aws.ToInt32(task.Containers[0].ExitCode) != 3 {
			t.Fatalf("stopCode %s exit %v, want EssentialContainerExited and 3", task.StopCode, task.Containers[0].ExitCode)
		}
	})

	t.Run("dependsOn SUCCESS with a shared volume, volumesFrom and overrides", func(t *testing.T) {
		mount := []types.MountPoint{{SourceVolume: aws.String("shared"), ContainerPath: aws.String("/data")}}
		afterWriter := types.ContainerDependency{ContainerName: aws.String("writer"), Condition: types.ContainerConditionSuccess}
		td := sdkRegister(t, client, "ordered",
			types.ContainerDefinition{Name: aws.String("writer"), Image: aws.String(ecrRef), Essential: aws.Bool(false),
				Command: []string{"write", "/data/msg", "hello"}, MountPoints: mount},
			// volumesFrom read-only: the writer's volume at the same path, readable, not writable.
			types.ContainerDefinition{Name: aws.String("borrower"), Image: aws.String(ecrRef), Essential: aws.Bool(false),
				EntryPoint: []string{"/bin/sh", "-c"}, Command: []string{`[ "$(cat /data/msg)" = hello ] || exit 3; if touch /data/x 2>/dev/null; then exit 4; fi`},
				VolumesFrom: []types.VolumeFrom{{SourceContainer: aws.String("writer"), ReadOnly: aws.Bool(true)}},
				DependsOn:   []types.ContainerDependency{afterWriter}},
			types.ContainerDefinition{Name: aws.String("reader"), Image: aws.String(ecrRef), Command: []string{"exit", "9"},
				MountPoints: mount, DependsOn: []types.ContainerDependency{afterWriter,
					{ContainerName: aws.String("borrower"), Condition: types.ContainerConditionSuccess}}})
		// The override replaces the reader's command: cat exits 0 only if the writer's file is there.
		tasks := waitStopped(t, client, aws.ToString(sdkRunTask(t, client, &ecs.RunTaskInput{
			TaskDefinition: aws.String(td),
			Overrides: &types.TaskOverride{ContainerOverrides: []types.ContainerOverride{{
				Name: aws.String("reader"), Command: []string{"cat", "/data/msg"},
			}}},
		})[0].TaskArn))
		for _, c := range tasks[0].Containers {
			if aws.ToInt32(c.ExitCode) != 0 {
				t.Fatalf("container %s exit %v reason %q, want 0", aws.ToString(c.Name), c.ExitCode, aws.ToString(c.Reason))
			}
		}
	})

	t.Run("out of memory", func(t *testing.T) {
		td := sdkRegister(t, client, "greedy", types.ContainerDefinition{Name: aws.String("app"), Image: aws.String(ecrRef),
			Memory: aws.Int32(32), Command: []string{"alloc", "256"}})
		task := waitStopped(t, client, aws.ToString(sdkRunTask(t, client, &ecs.RunTaskInput{TaskDefinition: aws.String(td)})[0].TaskArn))[0]
		c := task.Containers[0]
		if aws.ToInt32(c.ExitCode) != 137 || aws.ToString(c.Reason) != "OutOfMemoryError: Container killed due to memory usage" {
			t.Fatalf("exit %v reason %q, want 137 and OutOfMemoryError: Container killed due to memory usage", c.ExitCode, aws.ToString(c.Reason))
		}
		if task.StopCode != types.TaskStopCodeEssentialContainerExited {
			t.Fatalf("stopCode %s, want EssentialContainerExited", task.StopCode)
		}
	})

	t.Run("out of memory leaves the neighbours running", func(t *testing.T) {
		td := sdkRegister(t, client, "greedy-neighbour",
			types.ContainerDefinition{Name: aws.String("steady"), Image: aws.String(ecrRef), Command: []string{"serve", ":8080"}},
			types.ContainerDefinition{Name: aws.String("greedy"), Image: aws.String(ecrRef), Essential: aws.Bool(false),
				Memory: aws.Int32(32), Command: []string{"alloc", "256"},
				DependsOn: []types.ContainerDependency{{ContainerName: aws.String("steady"), Condition: types.ContainerConditionStart}}})
		arn := aws.ToString(sdkRunTask(t, client, &ecs.RunTaskInput{TaskDefinition: aws.String(td)})[0].TaskArn)
		task := pollTask(t, client, arn, 2*time.Minute, "greedy killed", func(task types.Task) bool {
			return container(t, task, "greedy").ExitCode != nil || aws.ToString(task.LastStatus) == "STOPPED"
		})
		greedy, steady := container(t, task, "greedy"), container(t, task, "steady")
		if aws.ToInt32(greedy.ExitCode) != 137 || !strings.HasPrefix(aws.ToString(greedy.Reason), "OutOfMemoryError") {
			t.Fatalf("greedy: want exit 137 and OutOfMemoryError: %s", taskSummary(task))
		}
		// Give a wrongly shared limit time to show, then the neighbour must still be running.
		time.Sleep(2 * time.Second)
		task = describeTask(t, client, arn)
		if steady = container(t, task, "steady"); aws.ToString(task.LastStatus) != "RUNNING" ||
			aws.ToString(steady.LastStatus) != "RUNNING" || steady.ExitCode != nil {
			t.Fatalf("the OOM kill of one container touched its neighbour: %s", taskSummary(task))
		}
		stopTask(t, client, arn)
		task = waitStopped(t, client, arn)[0]
		if steady = container(t, task, "steady"); task.StopCode != types.TaskStopCodeUserInitiated || aws.ToInt32(steady.ExitCode) == 137 {
			t.Fatalf("after StopTask: %s, want stopped by the user and the neighbour ended by SIGTERM", taskSummary(task))
		}
	})

	t.Run("clientToken runs once", func(t *testing.T) {
		td := sdkRegister(t, client, "sleeper", types.ContainerDefinition{Name: aws.String("app"), Image: aws.String(ecrRef), Command: []string{"sleep", "600"}})
		var wg sync.WaitGroup
		arns := make([]string, 4)
		for i := range arns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				arns[i] = aws.ToString(sdkRunTask(t, client, &ecs.RunTaskInput{TaskDefinition: aws.String(td), ClientToken: aws.String("once-only")})[0].TaskArn)
			}()
		}
		wg.Wait()
		for _, a := range arns[1:] {
			if a != arns[0] {
				t.Fatalf("retries with one clientToken started different tasks: %v", arns)
			}
		}
		list, err := client.ListTasks(t.Context(), &ecs.ListTasksInput{Family: aws.String("sleeper")})
		if err != nil || len(list.TaskArns) != 1 {
			t.Fatalf("ListTasks family sleeper = %v, %v; want exactly one task", list, err)
		}
		if _, err := client.StopTask(t.Context(), &ecs.StopTaskInput{Task: aws.String(arns[0])}); err != nil {
			t.Fatal(err)
		}
		waitStopped(t, client, arns[0])
	})
}

// TestTaskSurvivesServerKill kills the server with SIGKILL while a task runs: the task keeps
// running, and the restarted server re-adopts it with the same process. A container that exits
// while the server is down has its exit recorded once the server is back.
func TestTaskSurvivesServerKill(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir)
	client := newSDK(t, s)
	appImage(t, s)
	td := sdkRegister(t, client, "survivor", types.ContainerDefinition{Name: aws.String("app"), Image: aws.String(ecrRef), Command: []string{"serve", ":8080"}})
	arn := aws.ToString(sdkRunTask(t, client, &ecs.RunTaskInput{TaskDefinition: aws.String(td)})[0].TaskArn)
	in := &ecs.DescribeTasksInput{Tasks: []string{arn}}
	if err := ecs.NewTasksRunningWaiter(client).Wait(t.Context(), in, 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	before, err := client.DescribeTasks(t.Context(), in)
	if err != nil {
		t.Fatal(err)
	}
	runtimeID := aws.ToString(before.Tasks[0].Containers[0].RuntimeId)

	for range 3 {
		s.Kill()
		<-s.Done()
		s = startServer(t, dir)
		client = newSDK(t, s)
	}
	after, err := client.DescribeTasks(t.Context(), in)
	if err != nil {
		t.Fatal(err)
	}
	task := after.Tasks[0]
	if aws.ToString(task.LastStatus) != "RUNNING" || aws.ToString(task.Containers[0].RuntimeId) != runtimeID {
		t.Fatalf("after restarts: status %s runtime id %s, want RUNNING and %s", aws.ToString(task.LastStatus), aws.ToString(task.Containers[0].RuntimeId), runtimeID)
	}
	// A container that exits while the server is down: the restarted server records its exit
	// code from the shim and stops the task for it.
	lateTD := sdkRegister(t, client, "late-exit", types.ContainerDefinition{Name: aws.String("app"), Image: aws.String(ecrRef),
		EntryPoint: []string{"/bin/sh", "-c"}, Command: []string{"sleep 4; exit 7"}})
	late := aws.ToString(sdkRunTask(t, client, &ecs.RunTaskInput{TaskDefinition: aws.String(lateTD)})[0].TaskArn)
	waitRunning(t, client, 2*time.Minute, late)
	s.Kill()
	<-s.Done()
	time.Sleep(6 * time.Second) // the container exits meanwhile
	s = startServer(t, dir)
	client = newSDK(t, s)
	task = waitStopped(t, client, late)[0]
	if c := task.Containers[0]; aws.ToInt32(c.ExitCode) != 7 || c.ExitCode == nil || task.StopCode != types.TaskStopCodeEssentialContainerExited {
		t.Fatalf("a container that exited while the server was down: %s, want exit 7 and EssentialContainerExited", taskSummary(task))
	}
	if st := describeTask(t, client, arn); aws.ToString(st.LastStatus) != "RUNNING" || aws.ToString(st.Containers[0].RuntimeId) != runtimeID {
		t.Fatalf("the long-running task after a fourth restart: %s", taskSummary(st))
	}

	if _, err := client.StopTask(t.Context(), &ecs.StopTaskInput{Task: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	waitStopped(t, client, arn)
}

// TestRunTaskErrors checks that bad RunTask input gets ECS's error codes through the SDK.
func TestRunTaskErrors(t *testing.T) {
	s := startServer(t, "")
	client := newSDK(t, s)
	td := sdkRegister(t, client, "errs", types.ContainerDefinition{Name: aws.String("app"), Image: aws.String(ecrRef)})
	_, err := client.RunTask(t.Context(), &ecs.RunTaskInput{TaskDefinition: aws.String(td), LaunchType: types.LaunchTypeFargate})
	var invalid *types.InvalidParameterException
	if !errors.As(err, &invalid) {
		t.Fatalf("RunTask without a network configuration: %v, want InvalidParameterException", err)
	}
	_, err = client.RunTask(t.Context(), &ecs.RunTaskInput{TaskDefinition: aws.String(td), Count: aws.Int32(11), LaunchType: types.LaunchTypeFargate, NetworkConfiguration: sdkNetwork(t, client)})
	if !errors.As(err, &invalid) {
		t.Fatalf("RunTask count 11: %v, want InvalidParameterException", err)
	}
	_, err = client.RunTask(t.Context(), &ecs.RunTaskInput{Cluster: aws.String("nope"), TaskDefinition: aws.String(td), LaunchType: types.LaunchTypeFargate, NetworkConfiguration: sdkNetwork(t, client)})
	var missing *types.ClusterNotFoundException
	if !errors.As(err, &missing) {
		t.Fatalf("RunTask on a missing cluster: %v, want ClusterNotFoundException", err)
	}
}
