package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// TestServerKilledWhileTasksStart kills the server with SIGKILL (stops it with SIGTERM, once)
// while bursts of tasks are being placed and started, at a different point of each burst, and
// restarts it on the same data dir.
// A RunTask call the kill cut off is retried with its clientToken, and one that returned is
// repeated with it. Afterwards no token started a second set, every task the calls returned is
// RUNNING (one shim each, the same containers a moment later). Their stops are cut by a kill
// as well; every task ends stopped by the user, and nothing of them is left on the host.
func TestServerKilledWhileTasksStart(t *testing.T) {
	t.Parallel()
	killWhileStarting(t)
}

// TestServerKilledWhileTasksStartRunsc is TestServerKilledWhileTasksStart under gVisor, whose
// containers' roots are mounted on the host and whose sandboxes keep state of their own.
func TestServerKilledWhileTasksStartRunsc(t *testing.T) {
	t.Parallel()
	killWhileStarting(t, "--runtime", "runsc")
}

// killWhileStarting is TestServerKilledWhileTasksStart on a server started with extra args.
func killWhileStarting(t *testing.T, extra ...string) {
	parent, cgroupDirs := testCgroupParent(t)
	dir := t.TempDir()
	args := append([]string{"--cgroup-parent", parent, "--cpu-overcommit", "64", "--memory-overcommit", "8"}, extra...)
	s := startServer(t, dir, args...)
	client := newSDK(t, s)
	appImage(t, s)
	td := sdkRegister(t, client, "killstart", types.ContainerDefinition{Name: aws.String("app"), Image: aws.String(ecrRef), Command: []string{"sleep", "600"}})
	network := sdkNetwork(t, client)

	const calls, perCall = 3, 5
	var all []string
	// Each round's kill lands later: while the calls are in flight, as they return, and while
	// the tasks they placed are being started.
	for round, delay := range []time.Duration{5 * time.Millisecond, 250 * time.Millisecond, 600 * time.Millisecond} {
		tokens := make([]string, calls)
		for i := range tokens {
			tokens[i] = parent + "-" + string(rune('a'+round)) + string(rune('a'+i))
		}
		// The calls the kill may cut off are made once, so that a cut shows; the calls after
		// the restart retry as the SDK does by default (a user's client would), which also
		// covers the SDK's own occasional read on a connection it closed (aws-sdk-go-v2 #2737,
		// seen here once in a dozen runs, on a server that had just started).
		run := func(c *ecs.Client, token string, optFns ...func(*ecs.Options)) ([]string, error) {
			out, err := c.RunTask(t.Context(), &ecs.RunTaskInput{TaskDefinition: aws.String(td), Count: aws.Int32(perCall),
				LaunchType: types.LaunchTypeFargate, NetworkConfiguration: network, ClientToken: aws.String(token)}, optFns...)
			if err != nil {
				return nil, err
			}
			if len(out.Failures) != 0 {
				return nil, fmt.Errorf("RunTask failures: %+v", out.Failures)
			}
			var arns []string
			for _, task := range out.Tasks {
				arns = append(arns, aws.ToString(task.TaskArn))
			}
			return arns, nil
		}
		results := make([][]string, calls)
		var wg sync.WaitGroup
		for i := range calls {
			wg.Go(func() {
				arns, err := run(client, tokens[i], func(o *ecs.Options) { o.Retryer = aws.NopRetryer{} })
				if err != nil {
					t.Logf("round %d: RunTask %d cut off by the kill: %v", round+1, i, err)
				}
				results[i] = arns
			})
		}
		time.Sleep(delay)
		if round == 1 { // a stop, not a crash: the runners see their work cancelled
			if _, err := s.Stop(30 * time.Second); err != nil {
				t.Fatal(err)
			}
		} else {
			s.Kill()
		}
		wg.Wait()
		s = startServer(t, dir, args...)
		client = newSDK(t, s)
		for i := range calls {
			// A call the kill cut off either committed or did not; its token says which, and a
			// call that did return must get the same tasks again.
			arns, err := run(client, tokens[i])
			if err != nil {
				t.Fatalf("round %d: RunTask %d retried with its clientToken: %v", round+1, i, err)
			}
			if results[i] != nil && !slices.Equal(slices.Sorted(slices.Values(arns)), slices.Sorted(slices.Values(results[i]))) {
				t.Fatalf("round %d: RunTask %d retried with its clientToken returned %v, the first call %v", round+1, i, arns, results[i])
			}
			if len(arns) != perCall {
				t.Fatalf("round %d: RunTask %d returned %d tasks, want %d", round+1, i, len(arns), perCall)
			}
			all = append(all, arns...)
		}
	}
	if n := len(slices.Compact(slices.Sorted(slices.Values(all)))); n != len(all) {
		t.Fatalf("%d distinct tasks in %d returned", n, len(all))
	}

	runtimeIDs := map[string]string{}
	for _, task := range waitRunning(t, client, 3*time.Minute, all...) {
		runtimeIDs[aws.ToString(task.TaskArn)] = aws.ToString(task.Containers[0].RuntimeId)
	}
	list, err := client.ListTasks(t.Context(), &ecs.ListTasksInput{MaxResults: aws.Int32(100)})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := slices.Sorted(slices.Values(list.TaskArns)), slices.Sorted(slices.Values(all)); !slices.Equal(got, want) {
		t.Fatalf("ListTasks = %d tasks, want exactly the %d RunTask returned:\ngot  %v\nwant %v", len(got), len(want), got, want)
	}
	if n := shimCount(t, dir); n != len(all) {
		t.Fatalf("%d shim processes for %d tasks", n, len(all))
	}
	// Running means running: a moment later, still the same containers.
	time.Sleep(2 * time.Second)
	out, err := client.DescribeTasks(t.Context(), &ecs.DescribeTasksInput{Tasks: all[:min(len(all), 100)]})
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range out.Tasks {
		if arn := aws.ToString(task.TaskArn); aws.ToString(task.LastStatus) != "RUNNING" || aws.ToString(task.Containers[0].RuntimeId) != runtimeIDs[arn] {
			t.Errorf("task %s: %s runtime id %s, want RUNNING as %s", arn, taskSummary(task), aws.ToString(task.Containers[0].RuntimeId), runtimeIDs[arn])
		}
	}

	// The stops are cut by a kill too: the tasks' stops go on after the restart (a StopTask the
	// kill cut off is sent again), and each task is stopped as asked.
	var wg sync.WaitGroup
	for _, arn := range all {
		wg.Go(func() {
			_, _ = client.StopTask(t.Context(), &ecs.StopTaskInput{Task: aws.String(arn)}, func(o *ecs.Options) { o.Retryer = aws.NopRetryer{} })
		})
	}
	time.Sleep(300 * time.Millisecond)
	s.Kill()
	wg.Wait()
	s = startServer(t, dir, args...)
	client = newSDK(t, s)
	for _, arn := range all {
		stopTask(t, client, arn)
	}
	for _, task := range waitStopped(t, client, all...) {
		if task.StopCode != types.TaskStopCodeUserInitiated {
			t.Errorf("task %s: %s, want stopped by the user", aws.ToString(task.TaskArn), taskSummary(task))
		}
	}
	noLeaks(t, dir, cgroupDirs, "after every task stopped")
}

// shimCount counts the gantry-shim processes among dataDir's task processes (with runsc, its
// sandbox and gofer name the task directory too).
func shimCount(t *testing.T, dataDir string) int {
	t.Helper()
	n := 0
	for _, pid := range shimPids(t, dataDir) {
		cmdline, _ := os.ReadFile(filepath.Join("/proc", pid, "cmdline"))
		if argv := strings.Split(string(cmdline), "\x00"); len(argv) > 1 && filepath.Base(argv[0]) == "gantry-shim" && argv[1] == "shim" {
			n++
		}
	}
	return n
}

// TestServerKilledWhileWaitingOnDependency kills the server while a task's app waits for its
// sidecar to be HEALTHY: after the restart the sidecar keeps running as the same process, its
// health checks go on, and the app starts once it is healthy (it exits 1, stopping the task,
// if it cannot reach the sidecar).
func TestServerKilledWhileWaitingOnDependency(t *testing.T) {
	t.Parallel()
	parent, cgroupDirs := testCgroupParent(t)
	dir := t.TempDir()
	s := startServer(t, dir, "--cgroup-parent", parent)
	client := newSDK(t, s)
	appImage(t, s)
	port := "18423" // the sidecar's, found on the host by its command line (no other test serves on it)
	health := &types.HealthCheck{Command: []string{"CMD-SHELL", "wget -q -O /dev/null http://127.0.0.1:" + port + "/health || exit 1"},
		Interval: aws.Int32(5), Timeout: aws.Int32(2), Retries: aws.Int32(2)}
	td := sdkRegister(t, client, "killdeps",
		types.ContainerDefinition{Name: aws.String("sidecar"), Image: aws.String(ecrRef), Essential: aws.Bool(false),
			EntryPoint: []string{"/bin/sh", "-c"}, Command: []string{"sleep 2; exec /app serve :" + port}, HealthCheck: health},
		types.ContainerDefinition{Name: aws.String("app"), Image: aws.String(ecrRef), EntryPoint: []string{"/bin/sh", "-c"},
			Command:   []string{"wget -q -O /dev/null http://127.0.0.1:" + port + "/health && exec /app serve :18424"},
			DependsOn: []types.ContainerDependency{{ContainerName: aws.String("sidecar"), Condition: types.ContainerConditionHealthy}}})
	arn := aws.ToString(sdkRunTask(t, client, &ecs.RunTaskInput{TaskDefinition: aws.String(td)})[0].TaskArn)
	pollTask(t, client, arn, time.Minute, "the sidecar RUNNING, the app waiting", func(task types.Task) bool {
		return aws.ToString(container(t, task, "sidecar").LastStatus) == "RUNNING"
	})
	sidecar := func() []string {
		out, _ := exec.Command("pgrep", "-f", "serve :"+port).Output()
		return strings.Fields(string(out))
	}
	var before []string
	for deadline := time.Now().Add(10 * time.Second); len(before) == 0 && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		before = sidecar()
	}
	if task := describeTask(t, client, arn); aws.ToString(task.LastStatus) != "PENDING" || len(before) != 1 {
		t.Fatalf("before the kill: %s, sidecar processes %v; want PENDING with one sidecar serving", taskSummary(task), before)
	}
	s.Kill()
	s = startServer(t, dir, "--cgroup-parent", parent)
	client = newSDK(t, s)
	task := pollTask(t, client, arn, time.Minute, "RUNNING", func(task types.Task) bool {
		return aws.ToString(task.LastStatus) != "PENDING"
	})
	if aws.ToString(task.LastStatus) != "RUNNING" || container(t, task, "sidecar").HealthStatus != types.HealthStatusHealthy {
		t.Fatalf("after the restart: %s; want RUNNING with the sidecar HEALTHY", taskSummary(task))
	}
	if after := sidecar(); !slices.Equal(after, before) {
		t.Fatalf("sidecar processes %v before the kill, %v after: want the same one", before, after)
	}
	stopTask(t, client, arn)
	waitStopped(t, client, arn)
	noLeaks(t, dir, cgroupDirs, "after the task stopped")
}
