package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// svcRegister registers a Fargate definition of one app container running args.
func svcRegister(t *testing.T, client *ecs.Client, family, image string, args ...string) string {
	t.Helper()
	return sdkRegister(t, client, family, types.ContainerDefinition{Name: aws.String("app"), Image: aws.String(image),
		Command: args, PortMappings: []types.PortMapping{{ContainerPort: aws.Int32(8080)}}})
}

// describeService returns one service of the default cluster.
func describeService(t *testing.T, client *ecs.Client, name string) types.Service {
	t.Helper()
	out, err := client.DescribeServices(t.Context(), &ecs.DescribeServicesInput{Services: []string{name}})
	if err != nil {
		t.Fatalf("DescribeServices %s: %v", name, err)
	}
	if len(out.Services) != 1 {
		t.Fatalf("DescribeServices %s: %d services, failures %+v", name, len(out.Services), out.Failures)
	}
	return out.Services[0]
}

// waitService polls a service until ok holds, failing after timeout with its last state.
func waitService(t *testing.T, client *ecs.Client, name string, timeout time.Duration, what string, ok func(types.Service) bool) types.Service {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		s := describeService(t, client, name)
		if ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			var why []string
			for i, task := range serviceTasks(t, client, name, types.DesiredStatusStopped) {
				if i == 3 {
					break
				}
				why = append(why, aws.ToString(task.TaskArn)+": "+taskSummary(task))
			}
			t.Fatalf("service %s: not %s after %v:\n%s  stopped tasks: %s", name, what, timeout, serviceSummary(s), strings.Join(why, "; "))
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// stable is the services-stable waiter's condition.
func stable(s types.Service) bool {
	return len(s.Deployments) == 1 && s.RunningCount == s.DesiredCount
}

func serviceSummary(s types.Service) string {
	var b strings.Builder
	fmt.Fprintf(&b, "status %s desired %d running %d pending %d\n", aws.ToString(s.Status), s.DesiredCount, s.RunningCount, s.PendingCount)
	for _, d := range s.Deployments {
		fmt.Fprintf(&b, "  deployment %s %s %s (%s) desired %d running %d pending %d failed %d %s\n", aws.ToString(d.Id),
			aws.ToString(d.Status), d.RolloutState, aws.ToString(d.RolloutStateReason), d.DesiredCount, d.RunningCount,
			d.PendingCount, d.FailedTasks, aws.ToString(d.TaskDefinition))
	}
	for i, e := range s.Events {
		if i == 15 {
			break
		}
		fmt.Fprintf(&b, "  event %s\n", aws.ToString(e.Message))
	}
	return b.String()
}

// eventMessages are a service's event messages, newest first.
func eventMessages(s types.Service) []string {
	out := make([]string, len(s.Events))
	for i, e := range s.Events {
		out[i] = aws.ToString(e.Message)
	}
	return out
}

// hasEvent reports whether an event message starts with prefix.
func hasEvent(s types.Service, prefix string) bool {
	return slices.ContainsFunc(eventMessages(s), func(m string) bool { return strings.HasPrefix(m, prefix) })
}

// serviceTasks describes a service's tasks of one desired status.
func serviceTasks(t *testing.T, client *ecs.Client, name string, desired types.DesiredStatus) []types.Task {
	t.Helper()
	var arns []string
	p := ecs.NewListTasksPaginator(client, &ecs.ListTasksInput{ServiceName: aws.String(name), DesiredStatus: desired})
	for p.HasMorePages() {
		page, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatalf("ListTasks of %s: %v", name, err)
		}
		arns = append(arns, page.TaskArns...)
	}
	var out []types.Task
	for chunk := range slices.Chunk(arns, 100) {
		d, err := client.DescribeTasks(t.Context(), &ecs.DescribeTasksInput{Tasks: chunk})
		if err != nil {
			t.Fatalf("DescribeTasks: %v", err)
		}
		out = append(out, d.Tasks...)
	}
	return out
}

// liveTasks counts a service's tasks that are not STOPPED: running, pending, or on their way
// down. Each task is counted once, however its desired status moved between the listings.
func liveTasks(t *testing.T, client *ecs.Client, name string) int {
	t.Helper()
	seen := map[string]bool{}
	var arns []string
	for _, desired := range []types.DesiredStatus{types.DesiredStatusRunning, types.DesiredStatusStopped} {
		p := ecs.NewListTasksPaginator(client, &ecs.ListTasksInput{ServiceName: aws.String(name), DesiredStatus: desired})
		for p.HasMorePages() {
			page, err := p.NextPage(t.Context())
			if err != nil {
				t.Fatalf("ListTasks of %s: %v", name, err)
			}
			for _, arn := range page.TaskArns {
				if !seen[arn] {
					seen[arn] = true
					arns = append(arns, arn)
				}
			}
		}
	}
	n := 0
	for chunk := range slices.Chunk(arns, 100) {
		d, err := client.DescribeTasks(t.Context(), &ecs.DescribeTasksInput{Tasks: chunk})
		if err != nil {
			t.Fatalf("DescribeTasks: %v", err)
		}
		for _, task := range d.Tasks {
			if aws.ToString(task.LastStatus) != "STOPPED" {
				n++
			}
		}
	}
	return n
}

func taskIDOf(arn string) string { return arn[strings.LastIndex(arn, "/")+1:] }

// killTaskProcess finds the processes running cmd in a task's cgroup (pids controller, under
// the default cgroup parent) and kills them with SIGKILL; it returns how many it killed.
func killTaskProcess(t *testing.T, taskID, cmd string) int {
	t.Helper()
	killed := 0
	root := filepath.Join("/sys/fs/cgroup/pids/gantry", taskID)
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() != "cgroup.procs" {
			return err
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, f := range strings.Fields(string(raw)) {
			pid, err := strconv.Atoi(f)
			if err != nil {
				continue
			}
			argv, err := os.ReadFile(filepath.Join("/proc", f, "cmdline"))
			if err != nil || !strings.Contains(strings.ReplaceAll(string(argv), "\x00", " "), cmd) {
				continue
			}
			if err := syscall.Kill(pid, syscall.SIGKILL); err == nil {
				killed++
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("find the processes of task %s in %s: %v", taskID, root, err)
	}
	return killed
}
