package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"golang.org/x/sys/unix"
)

// TestCLIStoppedTasksReaped: a stopped task stays visible for --stopped-task-retention (on AWS
// at least an hour, the default), then describe-tasks answers MISSING for it and list-tasks no
// longer lists it; a running task is never reaped.
func TestCLIStoppedTasksReaped(t *testing.T) {
	const retention = 8 * time.Second
	s := startServer(t, "", "--stopped-task-retention", retention.String())
	cli := newCLI(t, s)
	ref, _ := appImage(t, s)
	tdArn := registerTD(t, cli, "reap", fmt.Sprintf(`[{"name":"app","image":%q,"command":["serve",":8080"],"essential":true}]`, ref))
	var run struct {
		Tasks []cliTask `json:"tasks"`
	}
	cli.json(&run, "ecs", "run-task", "--task-definition", tdArn, "--launch-type", "FARGATE", "--count", "2",
		"--network-configuration", networkJSON(cli))
	if len(run.Tasks) != 2 {
		t.Fatalf("run-task: %d tasks, want 2", len(run.Tasks))
	}
	stopped, running := run.Tasks[0].TaskArn, run.Tasks[1].TaskArn
	cli.json(nil, "ecs", "wait", "tasks-running", "--tasks", stopped, running)
	cli.json(nil, "ecs", "stop-task", "--task", stopped)
	cli.json(nil, "ecs", "wait", "tasks-stopped", "--tasks", stopped)
	stoppedAt := time.UnixMilli(int64(describeCLITask(t, cli, stopped).StoppedAt * 1000))

	listStopped := func() []string {
		var out struct {
			TaskArns []string `json:"taskArns"`
		}
		cli.json(&out, "ecs", "list-tasks", "--desired-status", "STOPPED")
		return out.TaskArns
	}
	// Only an answer given within the retention says anything (the aws CLI is slow under load).
	if listed := listStopped(); !slices.Contains(listed, stopped) && time.Now().Before(stoppedAt.Add(retention)) {
		t.Fatalf("list-tasks --desired-status STOPPED does not list %s within its retention", stopped)
	}
	deadline := time.Now().Add(retention + 20*time.Second)
	for {
		var out struct {
			Tasks    []cliTask `json:"tasks"`
			Failures []struct {
				Arn    string `json:"arn"`
				Reason string `json:"reason"`
			} `json:"failures"`
		}
		cli.json(&out, "ecs", "describe-tasks", "--tasks", stopped, running)
		if len(out.Failures) == 1 {
			gone := time.Now()
			if f := out.Failures[0]; f.Arn != stopped || f.Reason != "MISSING" {
				t.Fatalf("failures %+v, want %s MISSING", out.Failures, stopped)
			}
			if len(out.Tasks) != 1 || out.Tasks[0].TaskArn != running || out.Tasks[0].LastStatus != "RUNNING" {
				t.Fatalf("describe-tasks after the reap: %+v, want the running task only", out.Tasks)
			}
			if gone.Before(stoppedAt.Add(retention)) {
				t.Fatalf("the stopped task was gone %s after it stopped, before its retention of %s", gone.Sub(stoppedAt), retention)
			}
			break
		}
		if len(out.Tasks) != 2 || out.Tasks[0].LastStatus != "STOPPED" && out.Tasks[1].LastStatus != "STOPPED" {
			t.Fatalf("describe-tasks before the reap: %+v, failures %+v", out.Tasks, out.Failures)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the task stopped at %s is still described %s later", stoppedAt.Format(time.RFC3339Nano), time.Since(stoppedAt))
		}
		time.Sleep(500 * time.Millisecond)
	}
	if slices.Contains(listStopped(), stopped) {
		t.Fatalf("list-tasks --desired-status STOPPED still lists the reaped %s", stopped)
	}
	cli.json(nil, "ecs", "stop-task", "--task", running)
	cli.json(nil, "ecs", "wait", "tasks-stopped", "--tasks", running)
}

// TestImageCleanup: with --image-cleanup-age, a cached image no task uses goes from the host's
// cache once no task has pulled it for that long, and the next task pulls it again; a running
// task's image stays however old.
func TestImageCleanup(t *testing.T) {
	const age = 2 * time.Second
	dir := t.TempDir()
	s := startServer(t, dir, "--image-cleanup-age", age.String())
	cli := newCLI(t, s)
	ref, digest := appImage(t, s)
	tdArn := registerTD(t, cli, "cleanup", fmt.Sprintf(`[{"name":"app","image":%q,"command":["serve",":8080"],"essential":true}]`, ref))
	record := filepath.Join(dir, "images", "images", "sha256", strings.TrimPrefix(digest, "sha256:")+".json")
	layers := filepath.Join(dir, "images", "layers", "sha256")
	runOne := func() string {
		t.Helper()
		var run struct {
			Tasks []cliTask `json:"tasks"`
		}
		cli.json(&run, "ecs", "run-task", "--task-definition", tdArn, "--launch-type", "FARGATE",
			"--network-configuration", networkJSON(cli))
		if len(run.Tasks) != 1 {
			t.Fatalf("run-task: %d tasks", len(run.Tasks))
		}
		cli.json(nil, "ecs", "wait", "tasks-running", "--tasks", run.Tasks[0].TaskArn)
		return run.Tasks[0].TaskArn
	}
	arn := runOne()
	time.Sleep(3 * age) // several cleanups pass while the task runs
	if _, err := os.Stat(record); err != nil {
		t.Fatalf("the running task's image was cleaned up: %v", err)
	}
	cli.json(nil, "ecs", "stop-task", "--task", arn)
	cli.json(nil, "ecs", "wait", "tasks-stopped", "--tasks", arn)
	deadline := time.Now().Add(age + 20*time.Second)
	for {
		_, err := os.Stat(record)
		left, _ := os.ReadDir(layers)
		if os.IsNotExist(err) && len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("an unused image stayed in the cache: record %v, %d layers", err, len(left))
		}
		time.Sleep(200 * time.Millisecond)
	}
	arn = runOne()
	if got := describeCLITask(t, cli, arn); got.Containers[0].ImageDigest != digest {
		t.Fatalf("after the cleanup the task runs %s, want %s", got.Containers[0].ImageDigest, digest)
	}
	cli.json(nil, "ecs", "stop-task", "--task", arn)
	cli.json(nil, "ecs", "wait", "tasks-stopped", "--tasks", arn)
}

// TestContainerLogsTrimmed: a running container's output does not pile up on the host's disk.
// With awslogs, its log file keeps on disk only what the stream does not hold yet, and the last
// line reaches the stream; without a log driver (nothing reads it, as on Fargate), only its
// last MiB stays. The output waits under the data dir's tasklogs, out of the runtime's state,
// which is in memory.
func TestContainerLogsTrimmed(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir)
	var fsStat unix.Statfs_t
	if err := unix.Statfs(filepath.Join(dir, "run"), &fsStat); err != nil || fsStat.Type != unix.TMPFS_MAGIC {
		t.Fatalf("the runtime's state root: filesystem %#x, %v; want a tmpfs", fsStat.Type, err)
	}
	cli := newCLI(t, s)
	ref, _ := appImage(t, s)
	const lines = 200000 // of 100 bytes: about 28 MB of log file each
	script := fmt.Sprintf("/app flood %d 100 && exec sleep 600", lines)
	tdArn := registerTD(t, cli, "trim", fmt.Sprintf(`[
		{"name":"shipped","image":%q,"entryPoint":["/bin/sh","-c"],"command":[%q],"essential":true,
		 "logConfiguration":{"logDriver":"awslogs","options":{"awslogs-group":"/gantry/trim","awslogs-region":"us-east-1",
		 "awslogs-stream-prefix":"t","awslogs-create-group":"true"}}},
		{"name":"quiet","image":%q,"entryPoint":["/bin/sh","-c"],"command":[%q],"essential":true}]`, ref, script, ref, script))
	var run struct {
		Tasks []cliTask `json:"tasks"`
	}
	cli.json(&run, "ecs", "run-task", "--task-definition", tdArn, "--launch-type", "FARGATE", "--network-configuration", networkJSON(cli))
	if len(run.Tasks) != 1 {
		t.Fatalf("run-task: %d tasks", len(run.Tasks))
	}
	arn := run.Tasks[0].TaskArn
	cli.json(nil, "ecs", "wait", "tasks-running", "--tasks", arn)
	id := arn[strings.LastIndex(arn, "/")+1:]
	logs := newLogsSDK(t, s)
	onDisk := func(container string) (size, used int64) {
		var st syscall.Stat_t
		if err := syscall.Stat(filepath.Join(dir, "tasklogs", id, container+".log"), &st); err != nil {
			t.Fatalf("container %s's log: %v", container, err)
		}
		return st.Size, st.Blocks * 512
	}
	const bound = 2 << 20
	deadline := time.Now().Add(90 * time.Second)
	for {
		last := ""
		out, err := logs.GetLogEvents(t.Context(), &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("/gantry/trim"),
			LogStreamName: aws.String("t/shipped/" + id), StartFromHead: aws.Bool(false), Limit: aws.Int32(1)})
		if err == nil && len(out.Events) == 1 {
			last = aws.ToString(out.Events[0].Message)
		}
		shippedSize, shippedUsed := onDisk("shipped")
		quietSize, quietUsed := onDisk("quiet")
		done := strings.HasPrefix(last, fmt.Sprintf("%09d ", lines-1))
		if done && shippedSize > 20<<20 && shippedUsed < bound && quietSize > 20<<20 && quietUsed < bound {
			t.Logf("after %d lines: the shipped log takes %d of its %d bytes on disk, the unshipped one %d of %d",
				lines, shippedUsed, shippedSize, quietUsed, quietSize)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the stream's last event %q (want line %d); on disk: shipped log %d of %d bytes, the other %d of %d (want under %d)",
				last, lines-1, shippedUsed, shippedSize, quietUsed, quietSize, bound)
		}
		time.Sleep(500 * time.Millisecond)
	}
	cli.json(nil, "ecs", "stop-task", "--task", arn)
	cli.json(nil, "ecs", "wait", "tasks-stopped", "--tasks", arn)
}
