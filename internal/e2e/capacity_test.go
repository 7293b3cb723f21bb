package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// hostFullLine starts the server's log line for a host that becomes full.
const hostFullLine = `msg="host full: `

// capacity is a cpu and memory pair as the health endpoint shows it.
type capacity struct {
	CPU    int64 `json:"cpu"`
	Memory int64 `json:"memory"`
}

// capacityHealth is the part of the health document that shows capacity.
type capacityHealth struct {
	Status string `json:"status"`
	Agent  struct {
		HostID   string   `json:"hostId"`
		Capacity capacity `json:"capacity"`
		Reserved capacity `json:"reserved"`
		Tasks    int      `json:"tasks"`
	} `json:"agent"`
	Hosts []struct {
		ID       string   `json:"id"`
		Status   string   `json:"status"`
		Live     bool     `json:"live"`
		Capacity capacity `json:"capacity"`
		Reserved capacity `json:"reserved"`
		Limit    capacity `json:"limit"`
		Free     capacity `json:"free"`
		Full     bool     `json:"full"`
	} `json:"hosts"`
}

// capServer is a server offering a fixed host, its tasks under a cgroup parent of their own.
type capServer struct {
	*Server
	client *ecs.Client
	parent string // cgroup parent
	td     string // a 256 cpu / 512 MiB definition that sleeps
}

// startCapacityServer starts a server whose one host offers cpu units and memory MiB, with no
// reserve and the given overcommits, and registers the sleeper definition.
func startCapacityServer(t *testing.T, cpu, memory int, cpuOvercommit, memoryOvercommit float64) *capServer {
	t.Helper()
	var b [4]byte
	_, _ = rand.Read(b[:])
	parent := "gantry-cap-" + hex.EncodeToString(b[:])
	// Registered first, so it runs last: after the server stopped and its tasks were reaped.
	t.Cleanup(func() {
		dirs, _ := filepath.Glob("/sys/fs/cgroup/*/" + parent)
		for _, d := range dirs {
			if err := os.Remove(d); err != nil {
				t.Errorf("remove cgroup parent: %v", err)
			}
		}
	})
	s := startServer(t, "", "--cgroup-parent", parent,
		"--host-cpu", strconv.Itoa(cpu), "--host-memory", strconv.Itoa(memory),
		"--reserve-cpu", "0", "--reserve-memory", "0",
		"--cpu-overcommit", fmt.Sprint(cpuOvercommit), "--memory-overcommit", fmt.Sprint(memoryOvercommit))
	client := newSDK(t, s)
	appImage(t, s)
	td := sdkRegister(t, client, "sleeper", types.ContainerDefinition{Name: aws.String("app"), Image: aws.String(ecrRef),
		Command: []string{"sleep", "600"}})
	return &capServer{Server: s, client: client, parent: parent, td: td}
}

// run calls RunTask for count sleepers and returns the tasks started and the failures.
func (c *capServer) run(t *testing.T, count int) ([]string, []types.Failure) {
	t.Helper()
	out, err := c.client.RunTask(t.Context(), &ecs.RunTaskInput{TaskDefinition: aws.String(c.td), Count: aws.Int32(int32(count)),
		LaunchType: types.LaunchTypeFargate, NetworkConfiguration: sdkNetwork(t, c.client)})
	if err != nil {
		t.Fatalf("RunTask count %d: %v", count, err)
	}
	arns := make([]string, len(out.Tasks))
	for i, task := range out.Tasks {
		arns[i] = aws.ToString(task.TaskArn)
	}
	return arns, out.Failures
}

// runFails checks that RunTask of one sleeper starts nothing and fails for reason.
func (c *capServer) runFails(t *testing.T, reason string) {
	t.Helper()
	arns, failures := c.run(t, 1)
	if len(arns) != 0 || len(failures) != 1 || aws.ToString(failures[0].Reason) != reason || aws.ToString(failures[0].Arn) != c.td {
		t.Fatalf("RunTask on a full host: tasks %v, failures %s; want no task and one %s failure for %s", arns, failuresString(failures), reason, c.td)
	}
}

func failuresString(fs []types.Failure) string {
	var parts []string
	for _, f := range fs {
		parts = append(parts, fmt.Sprintf("{%s %s %s}", aws.ToString(f.Arn), aws.ToString(f.Reason), aws.ToString(f.Detail)))
	}
	return "[" + strings.Join(parts, " ") + "]"
}

func (c *capServer) waitRunning(t *testing.T, arns []string) {
	t.Helper()
	if err := ecs.NewTasksRunningWaiter(c.client, func(o *ecs.TasksRunningWaiterOptions) {
		o.MinDelay, o.MaxDelay = 200*time.Millisecond, time.Second
	}).Wait(t.Context(), &ecs.DescribeTasksInput{Tasks: arns}, 3*time.Minute); err != nil {
		t.Fatalf("wait tasks running: %v", err)
	}
}

func (c *capServer) stop(t *testing.T, arns ...string) {
	t.Helper()
	for _, arn := range arns {
		if _, err := c.client.StopTask(t.Context(), &ecs.StopTaskInput{Task: aws.String(arn)}); err != nil {
			t.Fatalf("StopTask %s: %v", arn, err)
		}
	}
	for _, task := range waitStopped(t, c.client, arns...) {
		if aws.ToString(task.LastStatus) != "STOPPED" {
			t.Fatalf("task %s is %s after the wait", aws.ToString(task.TaskArn), aws.ToString(task.LastStatus))
		}
	}
}

func (c *capServer) health(t *testing.T) capacityHealth {
	t.Helper()
	resp, err := http.Get(c.URL + HealthPath)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var h capacityHealth
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil || resp.StatusCode != http.StatusOK || len(h.Hosts) != 1 {
		t.Fatalf("health: %d %+v, %v; want 200 and one host", resp.StatusCode, h, err)
	}
	return h
}

// checkHost checks the one host's capacity, reservation, limit, free room and fullness.
func (c *capServer) checkHost(t *testing.T, offer, reserved, limit capacity, full bool) {
	t.Helper()
	h := c.health(t)
	host := h.Hosts[0]
	free := capacity{limit.CPU - reserved.CPU, limit.Memory - reserved.Memory}
	if host.ID != h.Agent.HostID || host.Status != "ACTIVE" || !host.Live || host.Capacity != offer ||
		host.Reserved != reserved || host.Limit != limit || host.Free != free || host.Full != full {
		t.Fatalf("health host %+v; want id %s ACTIVE live, capacity %+v reserved %+v limit %+v free %+v full %v",
			host, h.Agent.HostID, offer, reserved, limit, free, full)
	}
	// The agent sees a task when its assignment arrives and forgets it when its runner ends,
	// a moment after the store.
	deadline := time.Now().Add(15 * time.Second)
	for h.Agent.Reserved != reserved && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		h = c.health(t)
	}
	if h.Agent.Capacity != offer || h.Agent.Reserved != reserved {
		t.Fatalf("health agent %+v; want capacity %+v reserved %+v", h.Agent, offer, reserved)
	}
}

// waitFullLines waits for the server's log to hold want "host full" lines, then checks that no
// further one follows shortly after.
func (c *capServer) waitFullLines(t *testing.T, want int) string {
	t.Helper()
	count := func() int { return strings.Count(c.Output(), hostFullLine) }
	deadline := time.Now().Add(30 * time.Second)
	for count() < want && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	if got := count(); got != want {
		t.Fatalf("%d host full lines in the server log, want %d", got, want)
	}
	lines := strings.Split(c.Output(), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.Contains(lines[i], hostFullLine) {
			return lines[i]
		}
	}
	return ""
}

// clusterCounts returns the default cluster's running and pending counts and its
// runningFargateTasksCount and pendingFargateTasksCount statistics.
func (c *capServer) clusterCounts(t *testing.T) (running, pending, runningFargate, pendingFargate int) {
	t.Helper()
	out, err := c.client.DescribeClusters(t.Context(), &ecs.DescribeClustersInput{Include: []types.ClusterField{types.ClusterFieldStatistics}})
	if err != nil || len(out.Clusters) != 1 {
		t.Fatalf("DescribeClusters: %+v, %v", out, err)
	}
	cl := out.Clusters[0]
	stats := map[string]int{}
	for _, kv := range cl.Statistics {
		n, err := strconv.Atoi(aws.ToString(kv.Value))
		if err != nil {
			t.Fatalf("statistic %s=%q is not a number", aws.ToString(kv.Name), aws.ToString(kv.Value))
		}
		stats[aws.ToString(kv.Name)] = n
	}
	return int(cl.RunningTasksCount), int(cl.PendingTasksCount), stats["runningFargateTasksCount"], stats["pendingFargateTasksCount"]
}

// TestCapacityMemoryBound fills a host whose memory runs out first: four 512 MiB tasks start,
// the fifth gets RESOURCE:MEMORY, the server logs the host full once, and a stopped task makes
// room for the next.
func TestCapacityMemoryBound(t *testing.T) {
	c := startCapacityServer(t, 2048, 2048, 1, 1)
	offer := capacity{2048, 2048}
	c.checkHost(t, offer, capacity{}, offer, false)

	var arns []string
	for i := range 4 {
		got, failures := c.run(t, 1)
		if len(got) != 1 || len(failures) != 0 {
			t.Fatalf("RunTask %d: tasks %v failures %s; want one task", i+1, got, failuresString(failures))
		}
		arns = append(arns, got...)
	}
	if running, pending, rf, pf := c.clusterCounts(t); running+pending != 4 || rf != running || pf != pending {
		t.Fatalf("DescribeClusters: running %d pending %d, statistics running %d pending %d; want 4 in all, agreeing", running, pending, rf, pf)
	}
	c.waitRunning(t, arns)
	if running, pending, rf, pf := c.clusterCounts(t); running != 4 || pending != 0 || rf != 4 || pf != 0 {
		t.Fatalf("DescribeClusters: running %d pending %d, statistics running %d pending %d; want 4 running", running, pending, rf, pf)
	}

	c.runFails(t, "RESOURCE:MEMORY")
	full := capacity{1024, 2048}
	c.checkHost(t, offer, full, offer, true)
	line := c.waitFullLines(t, 1)
	t.Logf("server log: %s", line)
	for _, want := range []string{"host_id=" + c.health(t).Agent.HostID, "capacity_cpu=2048 capacity_memory=2048",
		"reserved_cpu=1024 reserved_memory=2048", "free_cpu=1024 free_memory=0"} {
		if !strings.Contains(line, want) {
			t.Errorf("host full line %q lacks %q", line, want)
		}
	}
	c.runFails(t, "RESOURCE:MEMORY")
	c.waitFullLines(t, 1)

	c.stop(t, arns[0])
	c.checkHost(t, offer, capacity{768, 1536}, offer, false)
	next, failures := c.run(t, 1)
	if len(next) != 1 || len(failures) != 0 {
		t.Fatalf("RunTask after a stop: tasks %v failures %s; want one task", next, failuresString(failures))
	}
	c.waitRunning(t, next)
	// Full again: a new transition, so a second line.
	c.waitFullLines(t, 2)
	c.stop(t, append(arns[1:], next...)...)
	c.checkHost(t, offer, capacity{}, offer, false)
}

// TestCapacityCPUBound fills a host whose cpu runs out first, with one RunTask of count 3 on
// room for 2: two start, one fails with RESOURCE:CPU.
func TestCapacityCPUBound(t *testing.T) {
	c := startCapacityServer(t, 512, 2048, 1, 1)
	arns, failures := c.run(t, 3)
	if len(arns) != 2 || len(failures) != 1 || aws.ToString(failures[0].Reason) != "RESOURCE:CPU" {
		t.Fatalf("RunTask count 3 on room for 2: tasks %v failures %s; want 2 tasks and one RESOURCE:CPU", arns, failuresString(failures))
	}
	c.waitRunning(t, arns)
	c.runFails(t, "RESOURCE:CPU")
	c.checkHost(t, capacity{512, 2048}, capacity{512, 1024}, capacity{512, 2048}, true)
	c.waitFullLines(t, 1)
	c.stop(t, arns...)
}

// TestCapacityOvercommit runs twice the host's offer with both overcommits at 2, and checks
// that every task still has its own hard limits in its cgroup.
func TestCapacityOvercommit(t *testing.T) {
	c := startCapacityServer(t, 1024, 2048, 2, 2)
	arns, failures := c.run(t, 8)
	if len(arns) != 8 || len(failures) != 0 {
		t.Fatalf("RunTask count 8 under overcommit 2: tasks %v failures %s; want 8 tasks", arns, failuresString(failures))
	}
	c.waitRunning(t, arns)
	// cpu and memory run out together; ECS names cpu first.
	c.runFails(t, "RESOURCE:CPU")
	c.checkHost(t, capacity{1024, 2048}, capacity{2048, 4096}, capacity{2048, 4096}, true)
	c.waitFullLines(t, 1)

	for _, arn := range arns {
		id := arn[strings.LastIndex(arn, "/")+1:]
		for file, want := range map[string]string{
			"memory/" + c.parent + "/" + id + "/memory.limit_in_bytes": strconv.Itoa(512 << 20),
			"cpu/" + c.parent + "/" + id + "/cpu.cfs_quota_us":         "25000",
			"cpu/" + c.parent + "/" + id + "/cpu.cfs_period_us":        "100000",
		} {
			b, err := os.ReadFile("/sys/fs/cgroup/" + file)
			if err != nil || strings.TrimSpace(string(b)) != want {
				t.Errorf("/sys/fs/cgroup/%s = %q, %v; want %s", file, strings.TrimSpace(string(b)), err, want)
			}
		}
	}
	c.stop(t, arns...)
	c.checkHost(t, capacity{1024, 2048}, capacity{}, capacity{2048, 4096}, false)
}
