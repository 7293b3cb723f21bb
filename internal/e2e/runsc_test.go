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
// reaches RUNNING and stops on request, an essential container's exit code is reported, and
// containers of one task share localhost.
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

	exiter := sdkRegister(t, client, "gvisor-exit", types.ContainerDefinition{Name: aws.String("app"), Image: aws.String(ecrRef), Command: []string{"exit", "5"}})
	task := waitStopped(t, client, aws.ToString(sdkRunTask(t, client, &ecs.RunTaskInput{TaskDefinition: aws.String(exiter)})[0].TaskArn))[0]
	if task.StopCode != types.TaskStopCodeEssentialContainerExited || aws.ToInt32(task.Containers[0].ExitCode) != 5 {
		t.Fatalf("stopCode %s exit %v, want EssentialContainerExited and 5", task.StopCode, task.Containers[0].ExitCode)
	}
}
