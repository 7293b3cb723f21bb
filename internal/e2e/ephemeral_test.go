package e2e

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
)

// TestEphemeralStorage: a task's writable layer and volumes share a filesystem of the task's
// ephemeralStorage size (the task definition's, or RunTask's override), so a task that fills
// it gets ENOSPC while the host has room; DescribeTasks reports the size; the storage is freed
// when the task stops. All through the aws CLI; runc here, gVisor in TestEphemeralStorageRunsc.
func TestEphemeralStorage(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	checkEphemeralStorage(t, startServer(t, dir), dir)
}

// TestEphemeralStorageRunsc is TestEphemeralStorage under gVisor.
func TestEphemeralStorageRunsc(t *testing.T) {
	if _, err := exec.LookPath("runsc"); err != nil {
		t.Fatal("runsc is not installed; `make test` builds it (scripts/setup.sh --with-gvisor)")
	}
	t.Parallel()
	dir := t.TempDir()
	checkEphemeralStorage(t, startServer(t, dir, "--runtime", "runsc"), dir)
}

func checkEphemeralStorage(t *testing.T, s *Server, dir string) {
	cli := newCLI(t, s)
	ref, _ := appImage(t, s)
	group := "/gantry/ephemeral"
	// Fill the volume, give it back, then fill the root filesystem: both are the task's storage.
	script := "/app fill /data && /app fill / && exec /app sleep 600"
	tdArn := registerTD(t, cli, "ephemeral", fmt.Sprintf(`[{"name":"app","image":%q,"entryPoint":["/bin/sh","-c"],"command":[%q],
		 "mountPoints":[{"sourceVolume":"data","containerPath":"/data"}],
		 "logConfiguration":{"logDriver":"awslogs","options":{"awslogs-group":%q,"awslogs-region":"us-east-1",
		 "awslogs-stream-prefix":"e","awslogs-create-group":"true"}}}]`, ref, script, group),
		`"ephemeralStorage":{"sizeInGiB":21}`, `"volumes":[{"name":"data"}]`)
	run := func(extra ...string) string {
		var out struct {
			Tasks []cliTask `json:"tasks"`
		}
		cli.json(&out, append([]string{"ecs", "run-task", "--task-definition", tdArn,
			"--launch-type", "FARGATE", "--network-configuration", networkJSON(cli)}, extra...)...)
		if len(out.Tasks) != 1 {
			t.Fatalf("run-task: %d tasks", len(out.Tasks))
		}
		return out.Tasks[0].TaskArn
	}
	sized := map[string]int{run(): 21, run("--overrides", `{"ephemeralStorage":{"sizeInGiB":25}}`): 25}
	logs := newLogsSDK(t, s)
	for arn, gib := range sized {
		var out struct {
			Tasks []struct {
				EphemeralStorage        struct{ SizeInGiB int } `json:"ephemeralStorage"`
				FargateEphemeralStorage struct{ SizeInGiB int } `json:"fargateEphemeralStorage"`
			} `json:"tasks"`
		}
		cli.json(&out, "ecs", "describe-tasks", "--tasks", arn)
		if len(out.Tasks) != 1 || out.Tasks[0].EphemeralStorage.SizeInGiB != gib || out.Tasks[0].FargateEphemeralStorage.SizeInGiB != gib {
			t.Fatalf("describe-tasks %s: %+v, want ephemeralStorage and fargateEphemeralStorage of %d GiB", arn, out.Tasks, gib)
		}
		id := arn[strings.LastIndex(arn, "/")+1:]
		lines := fillLines(t, logs, group, "e/app/"+id, func() string { return taskState(describeCLITask(t, cli, arn)) })
		for _, want := range []string{"/data", "/"} {
			line := lines[want]
			size, filled, werr := parseFill(t, line)
			limit := int64(gib) << 30
			if size > limit || size < limit-limit/50 || filled > limit || filled < limit-limit/20 || !strings.Contains(werr, "no space left on device") {
				t.Fatalf("task with %d GiB, %s: %q: want a filesystem of about %d bytes that fills (within 5%%) and then refuses a write with ENOSPC",
					gib, want, line, limit)
			}
		}
		if n := len(hostMounts(t, filepath.Join(dir, "run", "agent", "tasks", id))); n == 0 {
			t.Fatalf("no mount of task %s's storage on the host", id)
		}
	}
	for arn := range sized {
		cli.json(nil, "ecs", "stop-task", "--task", arn)
	}
	for arn := range sized {
		cli.json(nil, "ecs", "wait", "tasks-stopped", "--tasks", arn)
	}
	// The storage goes with the task: no mount is left, and the only loop devices on the agent's
	// files are the filesystems it keeps ready (mounted in its pool).
	deadline := time.Now().Add(30 * time.Second)
	for {
		mounts := hostMounts(t, filepath.Join(dir, "run", "agent", "tasks"))
		ready := hostMounts(t, filepath.Join(dir, "agent", "scratch-pool"))
		loops := loopFiles(t, filepath.Join(dir, "agent"))
		if len(mounts) == 0 && len(loops) == len(ready) && len(ready) <= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the tasks stopped: mounts %v, loop devices on %v, ready %v", mounts, loops, ready)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// fillLines waits for the two fill lines of a task's stream, by directory.
func fillLines(t *testing.T, c *cloudwatchlogs.Client, group, stream string, state func() string) map[string]string {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		lines := map[string]string{}
		evs := pollStreamEvents(t, c, group, stream)
		for _, e := range evs {
			if f := strings.Fields(e.Message); len(f) > 1 && f[0] == "fill" {
				lines[f[1]] = e.Message
			}
		}
		if len(lines) == 2 {
			return lines
		}
		if time.Now().After(deadline) {
			t.Fatalf("stream %s/%s: want two fill lines, have %v; task %s", group, stream, messages(evs), state())
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// taskState sums up a task for a failure message.
func taskState(tk cliTask) string {
	s := tk.LastStatus + " " + tk.StoppedReason
	for _, c := range tk.Containers {
		if c.ExitCode != nil {
			s += fmt.Sprintf("; %s exited %d %s", c.Name, *c.ExitCode, c.Reason)
		}
	}
	return s
}

// parseFill reads the testimage's "fill DIR size=N filled=N write=ERR" line.
func parseFill(t *testing.T, line string) (size, filled int64, werr string) {
	t.Helper()
	for _, f := range strings.Fields(line) {
		k, v, _ := strings.Cut(f, "=")
		switch k {
		case "size":
			size, _ = strconv.ParseInt(v, 10, 64)
		case "filled":
			filled, _ = strconv.ParseInt(v, 10, 64)
		}
	}
	if _, rest, ok := strings.Cut(line, "write="); ok {
		werr = rest
	}
	return size, filled, werr
}

// hostMounts lists the host's mount points under dir.
func hostMounts(t *testing.T, dir string) []string {
	t.Helper()
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fields := strings.Fields(sc.Text()); len(fields) > 4 && strings.HasPrefix(fields[4], dir+"/") {
			out = append(out, fields[4])
		}
	}
	return out
}

// loopFiles lists the backing files under dir of the host's loop devices.
func loopFiles(t *testing.T, dir string) []string {
	t.Helper()
	paths, _ := filepath.Glob("/sys/block/loop*/loop/backing_file")
	var out []string
	for _, p := range paths {
		if b, err := os.ReadFile(p); err == nil && strings.HasPrefix(string(b), dir+"/") {
			out = append(out, strings.TrimSpace(string(b)))
		}
	}
	return out
}
