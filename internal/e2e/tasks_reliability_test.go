package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// waitRunning waits with the SDK's own waiter until every task is RUNNING; it fails if one stops.
func waitRunning(t *testing.T, client *ecs.Client, timeout time.Duration, arns ...string) []types.Task {
	t.Helper()
	in := &ecs.DescribeTasksInput{Tasks: arns}
	if err := ecs.NewTasksRunningWaiter(client, func(o *ecs.TasksRunningWaiterOptions) {
		o.MinDelay, o.MaxDelay = 200*time.Millisecond, time.Second
	}).Wait(t.Context(), in, timeout); err != nil {
		// Say which tasks did not get there and why, or a failure here says nothing.
		var why []string
		if out, derr := client.DescribeTasks(context.Background(), in); derr == nil {
			for _, task := range out.Tasks {
				if aws.ToString(task.LastStatus) != "RUNNING" {
					why = append(why, aws.ToString(task.TaskArn)+": "+taskSummary(task))
				}
			}
			for _, f := range out.Failures { // the waiter fails on a MISSING task too
				why = append(why, fmt.Sprintf("failure %s: %s %s", aws.ToString(f.Arn), aws.ToString(f.Reason), aws.ToString(f.Detail)))
			}
		}
		t.Fatalf("wait tasks running: %v\n%s", err, strings.Join(why, "\n"))
	}
	out, err := client.DescribeTasks(t.Context(), in)
	if err != nil {
		t.Fatal(err)
	}
	return out.Tasks
}

// shimPids lists the processes whose command line names a task directory of dataDir's runtime:
// the shims, one per live task.
func shimPids(t *testing.T, dataDir string) []string {
	t.Helper()
	out, err := exec.Command("pgrep", "-f", regexp.QuoteMeta(filepath.Join(dataDir, "run")+"/")).Output()
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 1 { // nothing matched
		return nil
	}
	if err != nil {
		t.Fatalf("pgrep: %v", err)
	}
	return strings.Fields(string(out))
}

// TestTasksSurviveTenServerKills runs three tasks and kills the server with SIGKILL ten times,
// restarting it on the same data dir each time: every task keeps running as the same process,
// and none is run twice.
func TestTasksSurviveTenServerKills(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := startServer(t, dir)
	client := newSDK(t, s)
	appImage(t, s)
	td := sdkRegister(t, client, "survivors", types.ContainerDefinition{Name: aws.String("app"), Image: aws.String(ecrRef), Command: []string{"serve", ":8080"}})
	var arns []string
	for _, task := range sdkRunTask(t, client, &ecs.RunTaskInput{TaskDefinition: aws.String(td), Count: aws.Int32(3)}) {
		arns = append(arns, aws.ToString(task.TaskArn))
	}
	runtimeIDs := map[string]string{}
	for _, task := range waitRunning(t, client, 2*time.Minute, arns...) {
		runtimeIDs[aws.ToString(task.TaskArn)] = aws.ToString(task.Containers[0].RuntimeId)
	}

	for range 10 {
		s.Kill()
		s = startServer(t, dir)
	}
	client = newSDK(t, s)
	out, err := client.DescribeTasks(t.Context(), &ecs.DescribeTasksInput{Tasks: arns})
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range out.Tasks {
		arn := aws.ToString(task.TaskArn)
		if aws.ToString(task.LastStatus) != "RUNNING" || aws.ToString(task.Containers[0].RuntimeId) != runtimeIDs[arn] {
			t.Errorf("task %s after ten kills: %s runtime id %s, want RUNNING with runtime id %s", arn,
				taskSummary(task), aws.ToString(task.Containers[0].RuntimeId), runtimeIDs[arn])
		}
	}
	list, err := client.ListTasks(t.Context(), &ecs.ListTasksInput{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := slices.Sorted(slices.Values(list.TaskArns)), slices.Sorted(slices.Values(arns)); !slices.Equal(got, want) {
		t.Errorf("ListTasks after ten kills = %v, want exactly %v", got, want)
	}
	if pids := shimPids(t, dir); len(pids) != 3 {
		t.Errorf("%d shim processes after ten kills (%v), want one per task: 3", len(pids), pids)
	}
	for _, arn := range arns {
		stopTask(t, client, arn)
	}
	for _, task := range waitStopped(t, client, arns...) {
		if task.StopCode != types.TaskStopCodeUserInitiated {
			t.Errorf("task %s: %s, want stopped by the user", aws.ToString(task.TaskArn), taskSummary(task))
		}
	}
}

// TestTaskChurnLeavesNothing runs and stops 200 tasks through the SDK, in two rounds of 100
// started at once, and after each round looks for anything a task left on the host: shims,
// cgroups, mounts, network namespaces.
func TestTaskChurnLeavesNothing(t *testing.T) {
	t.Parallel()
	const rounds, calls, perCall = 2, 10, 10
	parent, cgroupDirs := testCgroupParent(t)
	dir := t.TempDir()
	// 100 tasks of 256 cpu units and 512 MiB reserve more than a small host offers; each uses
	// a few MiB and no cpu.
	s := startServer(t, dir, "--cgroup-parent", parent, "--cpu-overcommit", "64", "--memory-overcommit", "8")
	client := newSDK(t, s)
	appImage(t, s)
	td := sdkRegister(t, client, "churn", types.ContainerDefinition{Name: aws.String("app"), Image: aws.String(ecrRef), Command: []string{"sleep", "600"}})
	seen := map[string]bool{}
	for round := range rounds {
		arns := churnRound(t, client, td, dir, cgroupDirs, calls, perCall)
		for _, arn := range arns {
			if seen[arn] {
				t.Fatalf("round %d started task %s again", round+1, arn)
			}
			seen[arn] = true
		}
	}
	t.Logf("%d tasks run and stopped", len(seen))
}

// churnRound starts calls x perCall tasks at once, checks that the leak check sees each of
// them while they run, stops them all, and fails if anything of them is left on the host.
func churnRound(t *testing.T, client *ecs.Client, td, dir string, cgroupDirs []string, calls, perCall int) []string {
	t.Helper()
	var arns []string
	for range calls {
		for _, task := range sdkRunTask(t, client, &ecs.RunTaskInput{TaskDefinition: aws.String(td), Count: aws.Int32(int32(perCall))}) {
			arns = append(arns, aws.ToString(task.TaskArn))
		}
	}
	if len(arns) != calls*perCall || len(slices.Compact(slices.Sorted(slices.Values(arns)))) != calls*perCall {
		t.Fatalf("RunTask started %d distinct tasks, want %d", len(slices.Compact(slices.Sorted(slices.Values(arns)))), calls*perCall)
	}
	start := time.Now()
	waitRunning(t, client, 5*time.Minute, arns...)
	t.Logf("%d tasks RUNNING after %s", len(arns), time.Since(start))
	// runc mounts each container's root overlay inside the container's own mount namespace:
	// the host's table, which runc reads whole at every start, holds none of them.
	if ovs := hostOverlays(t, dir); len(ovs) != 0 {
		t.Fatalf("with %d tasks running, the host's mount table holds %d overlays under the data dir: %v", len(arns), len(ovs), ovs[:1])
	}
	// The leak checks must see live tasks, or their silence later proves nothing.
	kinds := map[string]int{}
	for _, l := range hostLeaks(t, dir, cgroupDirs) {
		kinds[strings.Fields(l)[0]]++
	}
	for _, kind := range []string{"process", "cgroup", "mount", "netns"} {
		if kinds[kind] < len(arns) {
			t.Fatalf("with %d tasks running, found %d of kind %q (%v): the leak check looks in the wrong place", len(arns), kinds[kind], kind, kinds)
		}
	}

	start = time.Now()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for _, arn := range arns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			if _, err := client.StopTask(t.Context(), &ecs.StopTaskInput{Task: aws.String(arn)}); err != nil {
				t.Errorf("StopTask %s: %v", arn, err)
			}
		}()
	}
	wg.Wait()
	for _, task := range waitStopped(t, client, arns...) {
		if task.StopCode != types.TaskStopCodeUserInitiated || task.Containers[0].ExitCode == nil {
			t.Errorf("task %s: %s, want stopped by the user with an exit code", aws.ToString(task.TaskArn), taskSummary(task))
		}
	}
	t.Logf("%d tasks STOPPED after %s", len(arns), time.Since(start))

	noLeaks(t, dir, cgroupDirs, fmt.Sprintf("after %d tasks stopped", len(arns)))
	return arns
}

// testCgroupParent is a cgroup parent of the test's own for a server's tasks, and the
// directories it makes; they are removed when the test ends.
func testCgroupParent(t *testing.T) (string, []string) {
	t.Helper()
	var b [4]byte
	_, _ = rand.Read(b[:])
	parent := "gantry-e2e-" + hex.EncodeToString(b[:])
	dirs := taskCgroupParents(parent)
	t.Cleanup(func() { // after the server's own cleanup, which reaps what a failed run left
		for _, d := range dirs {
			if err := os.Remove(d); err != nil && !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("remove cgroup parent: %v", err)
			}
		}
	})
	return parent, dirs
}

// noLeaks fails the test if anything of dataDir's tasks is still on the host a moment after
// they all stopped: STOPPED is reported once the sandbox is deleted, and the kernel may take a
// moment to let go.
func noLeaks(t *testing.T, dataDir string, cgroupDirs []string, when string) {
	t.Helper()
	var leaks []string
	for deadline := time.Now().Add(10 * time.Second); ; {
		leaks = hostLeaks(t, dataDir, cgroupDirs)
		if len(leaks) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if len(leaks) > 0 {
		t.Fatalf("%s, the host still holds:\n%s", when, strings.Join(leaks, "\n"))
	}
}

// taskCgroupParents lists the directories a runtime with cgroup parent makes task cgroups in.
func taskCgroupParents(parent string) []string {
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		return []string{filepath.Join("/sys/fs/cgroup", parent)}
	}
	// Every hierarchy: the runtime makes the parent in each v1 controller it finds, and a leak
	// check of three would miss the others (and the cleanup left their parents behind).
	hierarchies, _ := filepath.Glob("/sys/fs/cgroup/*/cgroup.procs")
	var dirs []string
	for _, h := range hierarchies {
		dirs = append(dirs, filepath.Join(filepath.Dir(h), parent))
	}
	return dirs
}

// hostLeaks names every shim, task cgroup, mount and network namespace file of dataDir's tasks
// still on the host.
func hostLeaks(t *testing.T, dataDir string, cgroupDirs []string) []string {
	t.Helper()
	var leaks []string
	for _, pid := range shimPids(t, dataDir) {
		cmdline, _ := os.ReadFile(filepath.Join("/proc", pid, "cmdline"))
		leaks = append(leaks, "process "+pid+": "+strings.ReplaceAll(string(cmdline), "\x00", " "))
	}
	for _, d := range cgroupDirs {
		ents, err := os.ReadDir(d)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("read cgroup parent: %v", err)
		}
		for _, e := range ents {
			if e.IsDir() {
				leaks = append(leaks, "cgroup "+filepath.Join(d, e.Name()))
			}
		}
	}
	// A VPC's router is the VPC's, not a task's: it lingers after the last task
	// (--vpc-router-linger; TestVPCChurnLeavesNothing sees it go).
	// The agent keeps two tasks' filesystems ready, mounted in its pool.
	// Each router keeps one task namespace made ahead for its next task (a spare).
	routers := filepath.Join(dataDir, "run", "net", "netns", "vpc") + "/"
	spares := filepath.Join(dataDir, "run", "net", "netns", "spare") + "/"
	pool := filepath.Join(dataDir, "agent", "scratch-pool") + "/"
	// The runtime's state root is a tmpfs of its own (runtime.InMemoryStateRoot).
	stateRoot := filepath.Join(dataDir, "run")
	ready, nRouters, nSpares := 0, 0, 0
	for _, m := range hostMounts(t, dataDir) {
		switch {
		case m == stateRoot:
		case strings.HasPrefix(m, routers):
			nRouters++
		case strings.HasPrefix(m, spares):
			nSpares++
		case strings.HasPrefix(m, pool) && ready < 2:
			ready++
		default:
			leaks = append(leaks, "mount "+m)
		}
	}
	if nSpares > nRouters {
		leaks = append(leaks, fmt.Sprintf("%d spare task namespaces for %d VPC routers", nSpares, nRouters))
	}
	// Every task filesystem's loop device goes when it is unmounted.
	if loops := loopFiles(t, dataDir); len(loops) > ready {
		leaks = append(leaks, fmt.Sprintf("%d loop devices for %d ready filesystems: %v", len(loops), ready, loops))
	}
	// A deleted task leaves neither its state (the runtime's, the agent's, its ENI's record)
	// nor its output.
	for _, d := range []string{filepath.Join(stateRoot, "tasks"), filepath.Join(stateRoot, "agent", "tasks"),
		filepath.Join(dataDir, "tasklogs")} {
		ents, err := os.ReadDir(d)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("read %s: %v", d, err)
		}
		for _, e := range ents {
			leaks = append(leaks, "task directory "+filepath.Join(d, e.Name()))
		}
	}
	eniRecords, _ := filepath.Glob(filepath.Join(stateRoot, "agent", "enis", "*.json"))
	for _, f := range eniRecords {
		leaks = append(leaks, "ENI record "+f)
	}
	// A task's namespace is the runtime's (a file named netns in its dir) or, with an ENI, the
	// VPC data plane's (a file under run/net/netns/eni).
	eniNetns := filepath.Join(dataDir, "run", "net", "netns", "eni") + "/"
	_ = filepath.WalkDir(dataDir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (d.Name() == "netns" || strings.HasPrefix(path, eniNetns)) {
			leaks = append(leaks, "netns file "+path)
		}
		return nil
	})
	return leaks
}

// hostOverlays lists the overlay mounts of the host's mount table whose mount point is under dir.
func hostOverlays(t *testing.T, dir string) []string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for line := range strings.Lines(string(b)) {
		f := strings.Fields(line)
		if len(f) > 4 && strings.HasPrefix(f[4], dir+"/") && strings.Contains(line, " - overlay ") {
			out = append(out, f[4])
		}
	}
	return out
}
