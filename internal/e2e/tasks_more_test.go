package e2e

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// describeTask returns one task as DescribeTasks reports it.
func describeTask(t *testing.T, client *ecs.Client, arn string) types.Task {
	t.Helper()
	out, err := client.DescribeTasks(t.Context(), &ecs.DescribeTasksInput{Tasks: []string{arn}})
	if err != nil {
		t.Fatalf("DescribeTasks %s: %v", arn, err)
	}
	if len(out.Tasks) != 1 {
		t.Fatalf("DescribeTasks %s: %d tasks, failures %+v", arn, len(out.Tasks), out.Failures)
	}
	return out.Tasks[0]
}

// pollTask describes a task every 100 ms until ok holds of it, and fails with what it last saw
// once timeout has passed.
func pollTask(t *testing.T, client *ecs.Client, arn string, timeout time.Duration, want string, ok func(types.Task) bool) types.Task {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		task := describeTask(t, client, arn)
		if ok(task) {
			return task
		}
		if time.Now().After(deadline) {
			t.Fatalf("task %s: not %s after %s; last seen: %s", arn, want, timeout, taskSummary(task))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// taskSummary is the part of a task a failing test wants to see.
func taskSummary(task types.Task) string {
	var b strings.Builder
	fmt.Fprintf(&b, "last %s desired %s health %s stopCode %q reason %q;", aws.ToString(task.LastStatus),
		aws.ToString(task.DesiredStatus), task.HealthStatus, task.StopCode, aws.ToString(task.StoppedReason))
	for _, c := range task.Containers {
		exit := "none"
		if c.ExitCode != nil {
			exit = fmt.Sprint(*c.ExitCode)
		}
		fmt.Fprintf(&b, " [%s: %s health %s exit %s reason %q]", aws.ToString(c.Name), aws.ToString(c.LastStatus),
			c.HealthStatus, exit, aws.ToString(c.Reason))
	}
	return b.String()
}

func container(t *testing.T, task types.Task, name string) types.Container {
	t.Helper()
	for _, c := range task.Containers {
		if aws.ToString(c.Name) == name {
			return c
		}
	}
	t.Fatalf("task %s has no container %q: %s", aws.ToString(task.TaskArn), name, taskSummary(task))
	return types.Container{}
}

func isStatus(status string) func(types.Task) bool {
	return func(task types.Task) bool { return aws.ToString(task.LastStatus) == status }
}

// cliRun starts one task of a task definition with the aws CLI and returns its ARN.
func cliRun(t *testing.T, cli *awsCLI, tdArn string) string {
	t.Helper()
	var run struct {
		Tasks    []cliTask `json:"tasks"`
		Failures []any     `json:"failures"`
	}
	cli.json(&run, "ecs", "run-task", "--task-definition", tdArn, "--launch-type", "FARGATE",
		"--network-configuration", networkJSON(cli))
	if len(run.Tasks) != 1 || len(run.Failures) != 0 {
		t.Fatalf("run-task %s: %d tasks, failures %v", tdArn, len(run.Tasks), run.Failures)
	}
	return run.Tasks[0].TaskArn
}

func stopTask(t *testing.T, client *ecs.Client, arn string) {
	t.Helper()
	if _, err := client.StopTask(t.Context(), &ecs.StopTaskInput{Task: aws.String(arn)}); err != nil {
		t.Fatalf("StopTask %s: %v", arn, err)
	}
}

// healthCheckJSON is a container health check polling the test app's /health on :8080, at the
// shortest interval ECS allows.
const healthCheckJSON = `{"command":["CMD-SHELL","wget -q -O /dev/null http://127.0.0.1:8080/health || exit 1"],"interval":5,"timeout":2,"retries":2}`

// TestTaskHealthChecksAndDependsOn registers with the aws CLI four task definitions and runs them
// at once: a passing health check, a failing one, a container that dependsOn a sidecar HEALTHY
// and one that dependsOn a sidecar START.
func TestTaskHealthChecksAndDependsOn(t *testing.T) {
	t.Parallel()
	s := startServer(t, "")
	cli := newCLI(t, s)
	client := newSDK(t, s)
	ref, _ := appImage(t, s)

	healthy := cliRun(t, cli, registerTD(t, cli, "healthy", fmt.Sprintf(
		`[{"name":"app","image":%q,"command":["serve",":8080"],"healthCheck":%s}]`, ref, healthCheckJSON)))
	unhealthy := cliRun(t, cli, registerTD(t, cli, "unhealthy", fmt.Sprintf(
		`[{"name":"app","image":%q,"command":["serve",":8080"],
		  "healthCheck":{"command":["CMD","/bin/false"],"interval":5,"timeout":2,"retries":2}}]`, ref)))
	// The sidecar serves only after 3 s, so its first check (at 5 s) is the earliest it can be
	// HEALTHY: an app started before that would find nothing listening and exit 1. Containers
	// of a task share localhost.
	afterHealthy := cliRun(t, cli, registerTD(t, cli, "after-healthy", fmt.Sprintf(
		`[{"name":"sidecar","image":%q,"essential":false,"entryPoint":["/bin/sh","-c"],
		   "command":["sleep 3; exec /app serve :8080"],"healthCheck":%s},
		  {"name":"app","image":%q,"entryPoint":["/bin/sh","-c"],
		   "command":["wget -q -O /dev/null http://127.0.0.1:8080/health"],
		   "dependsOn":[{"containerName":"sidecar","condition":"HEALTHY"}]}]`, ref, healthCheckJSON, ref)))
	// START waits for the sidecar to start, not for its health: the app is done long before
	// the sidecar's first health check, 30 s in.
	afterStart := cliRun(t, cli, registerTD(t, cli, "after-start", fmt.Sprintf(
		`[{"name":"sidecar","image":%q,"essential":false,"command":["serve",":8080"],
		   "healthCheck":{"command":["CMD","/bin/true"],"interval":30}},
		  {"name":"app","image":%q,"entryPoint":["/bin/sh","-c"],
		   "command":["for i in 1 2 3 4 5 6 7 8 9 10; do wget -q -O /dev/null http://127.0.0.1:8080/health && exit 0; sleep 0.2; done; exit 1"],
		   "dependsOn":[{"containerName":"sidecar","condition":"START"}]}]`, ref, ref)))

	t.Run("healthy", func(t *testing.T) {
		task := pollTask(t, client, healthy, 60*time.Second, "HEALTHY", func(task types.Task) bool {
			return task.HealthStatus == types.HealthStatusHealthy
		})
		if c := container(t, task, "app"); c.HealthStatus != types.HealthStatusHealthy || aws.ToString(task.LastStatus) != "RUNNING" {
			t.Fatalf("want a RUNNING task with a HEALTHY container: %s", taskSummary(task))
		}
	})
	t.Run("unhealthy keeps running", func(t *testing.T) {
		task := pollTask(t, client, unhealthy, 60*time.Second, "UNHEALTHY", func(task types.Task) bool {
			return task.HealthStatus == types.HealthStatusUnhealthy
		})
		if c := container(t, task, "app"); c.HealthStatus != types.HealthStatusUnhealthy {
			t.Fatalf("task UNHEALTHY but its container is not: %s", taskSummary(task))
		}
		// ECS stops only service tasks for failing health; a standalone task keeps running.
		time.Sleep(6 * time.Second)
		task = describeTask(t, client, unhealthy)
		if aws.ToString(task.LastStatus) != "RUNNING" || aws.ToString(task.DesiredStatus) != "RUNNING" || task.HealthStatus != types.HealthStatusUnhealthy {
			t.Fatalf("an unhealthy standalone task must stay RUNNING and UNHEALTHY: %s", taskSummary(task))
		}
	})
	t.Run("dependsOn HEALTHY", func(t *testing.T) {
		task := waitStopped(t, client, afterHealthy)[0]
		app := container(t, task, "app")
		if task.StopCode != types.TaskStopCodeEssentialContainerExited || aws.ToInt32(app.ExitCode) != 0 || app.ExitCode == nil {
			t.Fatalf("app must start after the sidecar is healthy and reach it (exit 0): %s", taskSummary(task))
		}
		if side := container(t, task, "sidecar"); side.HealthStatus != types.HealthStatusHealthy {
			t.Fatalf("the sidecar the app waited for is not HEALTHY: %s", taskSummary(task))
		}
	})
	t.Run("dependsOn START", func(t *testing.T) {
		task := waitStopped(t, client, afterStart)[0]
		app := container(t, task, "app")
		if app.ExitCode == nil || *app.ExitCode != 0 {
			t.Fatalf("app must start once the sidecar has started and reach it (exit 0): %s", taskSummary(task))
		}
		if side := container(t, task, "sidecar"); side.HealthStatus == types.HealthStatusHealthy {
			t.Fatalf("START must not wait for a health check, yet the sidecar was HEALTHY: %s", taskSummary(task))
		}
	})
	for _, arn := range []string{healthy, unhealthy} {
		stopTask(t, client, arn)
	}
	waitStopped(t, client, healthy, unhealthy)
}

// TestTaskStopTimeoutAndPullFailure checks StopTask against a container that ignores SIGTERM
// (SIGKILL after its stopTimeout) and one that obeys it, and a task whose image does not exist.
func TestTaskStopTimeoutAndPullFailure(t *testing.T) {
	t.Parallel()
	s := startServer(t, "")
	cli := newCLI(t, s)
	client := newSDK(t, s)
	ref, _ := appImage(t, s)

	stubborn := cliRun(t, cli, registerTD(t, cli, "stubborn", fmt.Sprintf(
		`[{"name":"app","image":%q,"command":["ignore-term"],"stopTimeout":2}]`, ref)))
	obedient := cliRun(t, cli, registerTD(t, cli, "obedient", fmt.Sprintf(
		`[{"name":"app","image":%q,"command":["serve",":8080"]}]`, ref)))
	missing := cliRun(t, cli, registerTD(t, cli, "missing", fmt.Sprintf(
		`[{"name":"app","image":"%s/nope:missing"}]`, s.Addr)))

	stopTimed := func(t *testing.T, arn string) (types.Task, time.Duration) {
		t.Helper()
		pollTask(t, client, arn, 2*time.Minute, "RUNNING", isStatus("RUNNING"))
		start := time.Now()
		stopTask(t, client, arn)
		task := pollTask(t, client, arn, time.Minute, "STOPPED", isStatus("STOPPED"))
		return task, time.Since(start)
	}
	t.Run("SIGKILL after stopTimeout", func(t *testing.T) {
		task, took := stopTimed(t, stubborn)
		c := container(t, task, "app")
		if c.ExitCode == nil || *c.ExitCode != 137 {
			t.Fatalf("a container ignoring SIGTERM must be killed (137): %s", taskSummary(task))
		}
		if took < 2*time.Second || took > 6*time.Second {
			t.Fatalf("StopTask to STOPPED took %s, want stopTimeout 2 s plus a little", took)
		}
		t.Logf("StopTask to STOPPED: %s", took)
	})
	t.Run("SIGTERM obeyed", func(t *testing.T) {
		task, took := stopTimed(t, obedient)
		c := container(t, task, "app")
		if c.ExitCode == nil || *c.ExitCode == 137 {
			t.Fatalf("a container that ends on SIGTERM must not be killed: %s", taskSummary(task))
		}
		// stopTimeout defaults to 30 s: stopping well within it means SIGTERM did the work.
		if took > 5*time.Second {
			t.Fatalf("StopTask to STOPPED took %s for a container that ends on SIGTERM", took)
		}
		t.Logf("StopTask to STOPPED: %s, exit code %d", took, *c.ExitCode)
	})
	t.Run("image not found", func(t *testing.T) {
		cli.json(nil, "ecs", "wait", "tasks-stopped", "--tasks", missing)
		got := describeCLITask(t, cli, missing)
		if got.StopCode != "TaskFailedToStart" || !strings.HasPrefix(got.StoppedReason, "CannotPullContainerError") {
			t.Fatalf("stopCode %q stoppedReason %q, want TaskFailedToStart and CannotPullContainerError", got.StopCode, got.StoppedReason)
		}
		c := got.Containers[0]
		if !strings.HasPrefix(c.Reason, "CannotPullContainerError") || c.LastStatus != "STOPPED" || c.ExitCode != nil {
			t.Fatalf("container %+v: want STOPPED, no exit code, reason CannotPullContainerError", c)
		}
	})
}

// insideChecks is a script that exits 0 only if everything a Fargate task sees holds, and
// otherwise with a code naming the first check that failed.
const insideChecks = `
[ "$AWS_EXECUTION_ENV" = AWS_ECS_FARGATE ] || exit 10
case "$ECS_CONTAINER_METADATA_URI_V4" in http://169.254.170.2/v4/?*) ;; *) exit 11 ;; esac
[ "$AWS_REGION" = us-east-1 ] || exit 12
[ "$FROM_DEFINITION" = def ] || exit 13
[ "$FROM_OVERRIDE" = over ] || exit 14
caps=none
while read -r key value; do [ "$key" = CapEff: ] && caps=$value; done </proc/self/status
[ "$caps" = 00000000a80425fb ] || exit 15
n=0
for p in /proc/[0-9]*; do n=$((n+1)); done
[ "$n" -le 3 ] || exit 16
[ "$(cat /proc/sys/kernel/hostname)" != "$HOST_HOSTNAME" ] || exit 17
if echo h 2>/dev/null >/proc/sysrq-trigger; then exit 18; fi
if touch /written 2>/dev/null; then exit 19; fi
echo ok >/data/written || exit 20
[ "$(pwd)" = /tmp ] || exit 21
[ "$(ulimit -Sn)" = 1024 ] || exit 22
[ "$(ulimit -Hn)" = 2048 ] || exit 23
[ ! -s /proc/kcore ] || exit 24
[ -z "$(ls -A /sys/firmware 2>/dev/null)" ] || exit 25
if echo 1 2>/dev/null >/proc/sys/kernel/panic; then exit 26; fi
if cat /proc/keys 2>/dev/null | grep -q .; then exit 27; fi
`

// TestTaskInside runs containers that check, from the inside, what a Fargate task looks like:
// each exits 0 only if its checks hold, so the exit codes DescribeTasks reports prove them.
func TestTaskInside(t *testing.T) {
	t.Parallel()
	s := startServer(t, "")
	client := newSDK(t, s)
	appImage(t, s)
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	shell := func(name, script string) types.ContainerDefinition {
		return types.ContainerDefinition{Name: aws.String(name), Image: aws.String(ecrRef), Essential: aws.Bool(false),
			EntryPoint: []string{"/bin/sh", "-c"}, Command: []string{script}}
	}
	root := shell("root", insideChecks)
	root.Environment = []types.KeyValuePair{{Name: aws.String("FROM_DEFINITION"), Value: aws.String("def")},
		{Name: aws.String("FROM_OVERRIDE"), Value: aws.String("def")}}
	root.ReadonlyRootFilesystem = aws.Bool(true)
	root.MountPoints = []types.MountPoint{{SourceVolume: aws.String("shared"), ContainerPath: aws.String("/data")}}
	root.WorkingDirectory = aws.String("/tmp")
	root.Ulimits = []types.Ulimit{{Name: types.UlimitNameNofile, SoftLimit: 1024, HardLimit: 2048}}
	ptrace := shell("ptrace", `while read -r key value; do [ "$key" = CapEff: ] && [ "$value" = 00000000a80c25fb ] && exit 0; done </proc/self/status; exit 1`)
	ptrace.LinuxParameters = &types.LinuxParameters{Capabilities: &types.KernelCapabilities{Add: []string{"SYS_PTRACE"}}}
	user := shell("user", `[ "$(id -u)" = 1000 ] && [ "$(id -g)" = 1000 ]`)
	user.User = aws.String("1000:1000")
	// The essential container ends the task once every check has run.
	done := types.ContainerDefinition{Name: aws.String("done"), Image: aws.String(ecrRef), Command: []string{"exit", "0"},
		DependsOn: []types.ContainerDependency{
			{ContainerName: aws.String("root"), Condition: types.ContainerConditionComplete},
			{ContainerName: aws.String("ptrace"), Condition: types.ContainerConditionComplete},
			{ContainerName: aws.String("user"), Condition: types.ContainerConditionComplete}}}
	td := sdkRegister(t, client, "inside", root, ptrace, user, done)
	arn := aws.ToString(sdkRunTask(t, client, &ecs.RunTaskInput{TaskDefinition: aws.String(td),
		Overrides: &types.TaskOverride{ContainerOverrides: []types.ContainerOverride{{Name: aws.String("root"),
			Environment: []types.KeyValuePair{{Name: aws.String("FROM_OVERRIDE"), Value: aws.String("over")},
				{Name: aws.String("HOST_HOSTNAME"), Value: aws.String(host)}}}}},
	})[0].TaskArn)
	task := waitStopped(t, client, arn)[0]
	checks := map[string]string{
		"root":   "environment, default capabilities, pid namespace, hostname, /proc read-only, read-only root with a writable volume, workingDirectory, ulimits, masked /proc/kcore, /sys/firmware, /proc/keys and read-only /proc/sys (a code of 10-27 names the failed line)",
		"ptrace": "capabilities.add SYS_PTRACE gives CapEff 00000000a80c25fb",
		"user":   `user "1000:1000" runs as uid and gid 1000`,
		"done":   "the essential container",
	}
	for name, what := range checks {
		c := container(t, task, name)
		if c.ExitCode == nil || *c.ExitCode != 0 {
			t.Errorf("container %s (%s): exit %v, reason %q", name, what, aws.ToInt32(c.ExitCode), aws.ToString(c.Reason))
		}
	}
	if t.Failed() {
		t.Logf("task: %s", taskSummary(task))
	}

	// CVE-2024-21626's pattern: a working directory through a leaked descriptor would start the
	// process in the host's filesystem. The container must never start.
	escape := types.ContainerDefinition{Name: aws.String("escape"), Image: aws.String(ecrRef),
		EntryPoint: []string{"/bin/sh", "-c"}, Command: []string{"ls ../../../; exit 0"}, WorkingDirectory: aws.String("/proc/self/fd/7")}
	escapeArn := aws.ToString(sdkRunTask(t, client, &ecs.RunTaskInput{TaskDefinition: aws.String(sdkRegister(t, client, "cwd-escape", escape))})[0].TaskArn)
	task = waitStopped(t, client, escapeArn)[0]
	c := container(t, task, "escape")
	if c.ExitCode != nil || !strings.HasPrefix(aws.ToString(c.Reason), "CannotStartContainerError") || !strings.Contains(aws.ToString(c.Reason), "/proc") ||
		task.StopCode != types.TaskStopCodeTaskFailedToStart {
		t.Fatalf("workingDirectory /proc/self/fd/7: %s; want the container never started (CannotStartContainerError naming /proc) and TaskFailedToStart", taskSummary(task))
	}
}

// TestTaskInitProcess runs a task with initProcessEnabled on a server whose init is the static
// gantry-shim binary: the init is pid 1, and it forwards StopTask's SIGTERM to the command, which a Go
// program as pid 1 would never see (the kernel drops default-action signals to pid 1).
func TestTaskInitProcess(t *testing.T) {
	t.Parallel()
	s := startServer(t, "") // the default init is gantry-shim, static, beside gantry
	client := newSDK(t, s)
	appImage(t, s)
	withInit := &types.LinuxParameters{InitProcessEnabled: aws.Bool(true)}
	td := sdkRegister(t, client, "with-init",
		types.ContainerDefinition{Name: aws.String("app"), Image: aws.String(ecrRef), Command: []string{"sleep", "600"}, LinuxParameters: withInit},
		types.ContainerDefinition{Name: aws.String("pid1"), Image: aws.String(ecrRef), Essential: aws.Bool(false), LinuxParameters: withInit,
			EntryPoint: []string{"/bin/sh", "-c"}, Command: []string{`case "$(cat /proc/1/cmdline)" in /.gantry-init*) exit 0 ;; esac; exit 1`}})
	arn := aws.ToString(sdkRunTask(t, client, &ecs.RunTaskInput{TaskDefinition: aws.String(td)})[0].TaskArn)
	task := pollTask(t, client, arn, 2*time.Minute, "RUNNING with pid1 exited", func(task types.Task) bool {
		return aws.ToString(task.LastStatus) == "RUNNING" && container(t, task, "pid1").ExitCode != nil
	})
	if c := container(t, task, "pid1"); *c.ExitCode != 0 {
		t.Errorf("pid 1 of an initProcessEnabled container is not /.gantry-init: %s", taskSummary(task))
	}
	stopTask(t, client, arn)
	task = waitStopped(t, client, arn)[0]
	if c := container(t, task, "app"); c.ExitCode == nil || *c.ExitCode != 143 {
		t.Fatalf("init must forward SIGTERM to the command (exit 143): %s", taskSummary(task))
	}
}
