package e2e

import (
	"os/exec"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// TestRunscTasks runs tasks under gVisor (`gantry server --runtime runsc`): a serving task
// reaches RUNNING and stops on request, containers of one task share localhost, a container
// that ignores SIGTERM is killed after its stopTimeout, an OOM kill is reported as under runc,
// and an essential container's exit code is reported.
func TestRunscTasks(t *testing.T) {
	if _, err := exec.LookPath("runsc"); err != nil {
		t.Fatal("runsc is not installed; `make test` builds it (scripts/setup.sh --with-gvisor)")
	}
	t.Parallel()
	s := startServer(t, "", "--runtime", "runsc")
	client := newSDK(t, s)
	appImage(t, s)

	serve := sdkRegister(t, client, "gvisor-web",
		types.ContainerDefinition{Name: aws.String("web"), Image: aws.String(ecrRef), Command: []string{"serve", ":8080"}},
		types.ContainerDefinition{Name: aws.String("probe"), Image: aws.String(ecrRef), Essential: aws.Bool(false),
			EntryPoint: []string{"/bin/sh", "-c"},
			Command:    []string{"for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do wget -q -O /dev/null http://127.0.0.1:8080/health && exit 0; sleep 0.5; done; exit 1"}})
	arn := aws.ToString(sdkRunTask(t, client, &ecs.RunTaskInput{TaskDefinition: aws.String(serve)})[0].TaskArn)
	in := &ecs.DescribeTasksInput{Tasks: []string{arn}}
	if err := ecs.NewTasksRunningWaiter(client).Wait(t.Context(), in, 2*time.Minute); err != nil {
		t.Fatalf("gVisor task did not reach RUNNING: %v", err)
	}
	// The probe reaches the web container over the task's shared loopback, then exits 0.
	deadline := time.Now().Add(time.Minute)
	for {
		out, err := client.DescribeTasks(t.Context(), in)
		if err != nil {
			t.Fatal(err)
		}
		var probe types.Container
		for _, c := range out.Tasks[0].Containers {
			if aws.ToString(c.Name) == "probe" {
				probe = c
			}
		}
		if probe.ExitCode != nil {
			if *probe.ExitCode != 0 {
				t.Fatalf("probe exited %d: the containers of a gVisor task do not share localhost", *probe.ExitCode)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("probe container never exited")
		}
		time.Sleep(200 * time.Millisecond)
	}
	if _, err := client.StopTask(t.Context(), &ecs.StopTaskInput{Task: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	if task := waitStopped(t, client, arn)[0]; task.StopCode != types.TaskStopCodeUserInitiated {
		t.Fatalf("stopCode %s, want UserInitiated", task.StopCode)
	}

	// The same stop and memory behaviour as under runc: SIGKILL after stopTimeout for a
	// container that ignores SIGTERM, and an OOM kill reported as ECS reports it.
	stubborn := sdkRegister(t, client, "gvisor-stubborn", types.ContainerDefinition{Name: aws.String("app"), Image: aws.String(ecrRef),
		Command: []string{"ignore-term"}, StopTimeout: aws.Int32(2)})
	greedy := sdkRegister(t, client, "gvisor-greedy", types.ContainerDefinition{Name: aws.String("app"), Image: aws.String(ecrRef),
		Memory: aws.Int32(32), Command: []string{"alloc", "256"}})
	stubbornArn := aws.ToString(sdkRunTask(t, client, &ecs.RunTaskInput{TaskDefinition: aws.String(stubborn)})[0].TaskArn)
	greedyArn := aws.ToString(sdkRunTask(t, client, &ecs.RunTaskInput{TaskDefinition: aws.String(greedy)})[0].TaskArn)
	t.Run("SIGKILL after stopTimeout", func(t *testing.T) {
		pollTask(t, client, stubbornArn, 2*time.Minute, "RUNNING", isStatus("RUNNING"))
		// gVisor's pid 1, unlike Linux's, dies of a SIGTERM that comes before its handler is
		// installed: give the program time to install it, so the test measures the timeout.
		time.Sleep(3 * time.Second)
		start := time.Now()
		stopTask(t, client, stubbornArn)
		task := pollTask(t, client, stubbornArn, time.Minute, "STOPPED", isStatus("STOPPED"))
		if c := container(t, task, "app"); c.ExitCode == nil || *c.ExitCode != 137 {
			t.Fatalf("a gVisor container ignoring SIGTERM must be killed (137): %s", taskSummary(task))
		}
		if took := time.Since(start); took < 2*time.Second || took > 8*time.Second {
			t.Fatalf("StopTask to STOPPED took %s, want stopTimeout 2 s plus a little", took)
		}
	})
	t.Run("out of memory", func(t *testing.T) {
		task := waitStopped(t, client, greedyArn)[0]
		c := task.Containers[0]
		if aws.ToInt32(c.ExitCode) != 137 || aws.ToString(c.Reason) != "OutOfMemoryError: Container killed due to memory usage" {
			t.Fatalf("gVisor OOM: %s, want exit 137 and OutOfMemoryError: Container killed due to memory usage", taskSummary(task))
		}
	})

	exiter := sdkRegister(t, client, "gvisor-exit", types.ContainerDefinition{Name: aws.String("app"), Image: aws.String(ecrRef), Command: []string{"exit", "5"}})
	task := waitStopped(t, client, aws.ToString(sdkRunTask(t, client, &ecs.RunTaskInput{TaskDefinition: aws.String(exiter)})[0].TaskArn))[0]
	if task.StopCode != types.TaskStopCodeEssentialContainerExited || aws.ToInt32(task.Containers[0].ExitCode) != 5 {
		t.Fatalf("stopCode %s exit %v, want EssentialContainerExited and 5", task.StopCode, task.Containers[0].ExitCode)
	}
}
