package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/gantry-dev/gantry/internal/e2e"
	"github.com/gantry-dev/gantry/internal/testimage"
)

// TaskSize is the Fargate size of every benchmark task: the smallest one.
const (
	TaskCPU       = 256
	TaskMemoryMiB = 512
)

// SleepCommand keeps the test program idle: the same process runs under gantry and under raw runc.
var SleepCommand = []string{"sleep", "86400"}

// sdkNetwork is the awsvpc configuration of the benchmark tasks: the server's default subnet in
// us-east-1a (the default VPC exists from the first start).
func sdkNetwork(ctx context.Context, endpoint string) (*types.NetworkConfiguration, error) {
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("test", "test", "")),
		config.WithSharedConfigFiles([]string{}), config.WithSharedCredentialsFiles([]string{}))
	if err != nil {
		return nil, err
	}
	out, err := ec2.NewFromConfig(cfg, func(o *ec2.Options) { o.BaseEndpoint = aws.String(endpoint) }).DescribeSubnets(ctx,
		&ec2.DescribeSubnetsInput{Filters: []ec2types.Filter{{Name: aws.String("default-for-az"), Values: []string{"true"}},
			{Name: aws.String("availability-zone"), Values: []string{"us-east-1a"}}}})
	if err != nil {
		return nil, fmt.Errorf("default subnet: %w", err)
	}
	if len(out.Subnets) != 1 {
		return nil, fmt.Errorf("default subnet: %d subnets in us-east-1a", len(out.Subnets))
	}
	return &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{
		Subnets: []string{aws.ToString(out.Subnets[0].SubnetId)}}}, nil
}

// Gantry is one gantry server started for a task benchmark, with the test image pushed to its
// registry and a task definition of the idle test program registered.
type Gantry struct {
	Server       *e2e.Server
	Client       *ecs.Client
	DataDir      string
	CgroupParent string
	TaskDef      string
	// Network is the tasks' awsvpc configuration: the default subnet in us-east-1a.
	Network *types.NetworkConfiguration
	// CPUOvercommit and MemoryOvercommit are the flags the server was started with.
	CPUOvercommit, MemoryOvercommit float64
}

// GantryOptions say how to start the server.
type GantryOptions struct {
	Binary string
	// Tasks is how many benchmark tasks must fit at once; the overcommit flags are raised to fit
	// them (never lowered below CPUOvercommit / MemoryOvercommit when those are set).
	Tasks                           int
	CPUOvercommit, MemoryOvercommit float64
	Workers                         int
	// DataParent is where the data directory is made; empty means the system's temp dir.
	DataParent string
}

// StartGantry starts a server on loopback with a cgroup parent of its own, pushes the test image
// and registers the benchmark task definition.
func StartGantry(ctx context.Context, opt GantryOptions) (*Gantry, error) {
	cpuOC, memOC, err := overcommitFor(opt.Tasks, opt.CPUOvercommit, opt.MemoryOvercommit)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(opt.DataParent, "gantry-bench-")
	if err != nil {
		return nil, err
	}
	g := &Gantry{DataDir: dir, CgroupParent: "gantry-bench-" + strconv.Itoa(os.Getpid()) + "-" + filepath.Base(dir)[len("gantry-bench-"):],
		CPUOvercommit: cpuOC, MemoryOvercommit: memOC}
	// GANTRY_BENCH_SERVER_ARGS adds server flags, e.g. --debug-listen 127.0.0.1:6060 to profile it.
	s, err := e2e.Start(ctx, e2e.Options{Binary: opt.Binary, DataDir: dir, Args: append([]string{
		"--log-level", logLevel(), "--cgroup-parent", g.CgroupParent,
		"--cpu-overcommit", strconv.FormatFloat(cpuOC, 'f', -1, 64),
		"--memory-overcommit", strconv.FormatFloat(memOC, 'f', -1, 64),
	}, strings.Fields(os.Getenv("GANTRY_BENCH_SERVER_ARGS"))...), Log: serverLog()})
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	g.Server = s
	if g.Client, err = NewECSClient(ctx, s.URL, max(opt.Workers, 8)); err != nil {
		g.Close()
		return nil, err
	}
	img, err := testimage.Build(ctx, testimage.Options{Cmd: SleepCommand})
	if err != nil {
		g.Close()
		return nil, fmt.Errorf("build test image: %w", err)
	}
	if _, err := testimage.Push(ctx, img, s.Addr, "bench", "v1"); err != nil {
		g.Close()
		return nil, err
	}
	out, err := g.Client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("bench-idle"), NetworkMode: types.NetworkModeAwsvpc,
		RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate},
		Cpu:                     aws.String(strconv.Itoa(TaskCPU)), Memory: aws.String(strconv.Itoa(TaskMemoryMiB)),
		ContainerDefinitions: []types.ContainerDefinition{{
			Name: aws.String("app"), Image: aws.String(s.Addr + "/bench:v1"), Essential: aws.Bool(true),
			Command: SleepCommand,
		}},
	})
	if err != nil {
		g.Close()
		return nil, fmt.Errorf("RegisterTaskDefinition: %w", err)
	}
	g.TaskDef = aws.ToString(out.TaskDefinition.TaskDefinitionArn)
	// Looked up once, as a user's RunTask call carries the subnet it already knows: the lookup
	// is no part of a timed RunTask.
	if g.Network, err = sdkNetwork(ctx, g.Server.URL); err != nil {
		g.Close()
		return nil, err
	}
	return g, nil
}

// overcommitFor returns overcommit ratios under which n benchmark tasks fit on this host with the
// server's default reserve (256 cpu units, 512 MiB), with a margin.
func overcommitFor(n int, cpu, mem float64) (float64, float64, error) {
	total, err := memTotalMiB()
	if err != nil {
		return 0, 0, err
	}
	hostCPU := float64(runtime.NumCPU()*1024 - 256)
	hostMem := float64(total - 512)
	needCPU := math.Ceil(float64(n*TaskCPU)*1.25/hostCPU + 1)
	needMem := math.Ceil(float64(n*TaskMemoryMiB)*1.25/hostMem + 1)
	return max(cpu, needCPU, 1), max(mem, needMem, 1), nil
}

func memTotalMiB() (int64, error) {
	v, err := meminfo("MemTotal")
	return v >> 10, err
}

// meminfo returns a /proc/meminfo field in KiB.
func meminfo(field string) (int64, error) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && k == field {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("/proc/meminfo has no %s", field)
}

// Close stops the server (tasks keep running: stop them first) and removes its data directory
// and its cgroup parent.
func (g *Gantry) Close() {
	if g.Server != nil {
		if _, err := g.Server.Stop(30 * time.Second); err != nil {
			fmt.Fprintln(os.Stderr, "stop gantry:", err)
		}
	}
	// The runtime's state holds netns bind mounts; they are unmounted when tasks are deleted.
	// Its root is a tmpfs the server leaves mounted for the tasks that outlive it.
	if err := syscall.Unmount(g.RuntimeDir(), syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) {
		fmt.Fprintln(os.Stderr, "unmount gantry state root:", err)
	}
	if err := os.RemoveAll(g.DataDir); err != nil {
		fmt.Fprintln(os.Stderr, "remove gantry data dir:", err)
	}
	removeCgroupParent(g.CgroupParent)
}

// RunTasks starts count tasks with one RunTask call.
func (g *Gantry) RunTasks(ctx context.Context, count int) ([]string, error) {
	out, err := g.Client.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: aws.String(g.TaskDef), Count: aws.Int32(int32(count)),
		LaunchType: types.LaunchTypeFargate, NetworkConfiguration: g.Network})
	if err != nil {
		return nil, fmt.Errorf("RunTask: %w", err)
	}
	if len(out.Failures) > 0 {
		f := out.Failures[0]
		return nil, fmt.Errorf("RunTask failures: %d, first: %s %s", len(out.Failures), aws.ToString(f.Reason), aws.ToString(f.Detail))
	}
	arns := make([]string, 0, len(out.Tasks))
	for _, t := range out.Tasks {
		arns = append(arns, aws.ToString(t.TaskArn))
	}
	return arns, nil
}

// Describe describes any number of tasks, 100 per call.
func (g *Gantry) Describe(ctx context.Context, arns []string) ([]types.Task, error) {
	var tasks []types.Task
	for batch := range slices.Chunk(arns, 100) {
		var out *ecs.DescribeTasksOutput
		err := retry(ctx, func() (err error) {
			out, err = g.Client.DescribeTasks(ctx, &ecs.DescribeTasksInput{Tasks: batch})
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("DescribeTasks: %w", err)
		}
		if len(out.Failures) > 0 {
			return nil, fmt.Errorf("DescribeTasks failures: %s %s", aws.ToString(out.Failures[0].Arn), aws.ToString(out.Failures[0].Reason))
		}
		tasks = append(tasks, out.Tasks...)
	}
	return tasks, nil
}

// Observed is when the client first saw a task RUNNING, with the task's own timestamps.
type Observed struct {
	Seen time.Time
	Task types.Task
}

// PollRunning describes the tasks once and returns those RUNNING, with the time of the answer. A
// task that stops on the way is an error.
func (g *Gantry) PollRunning(ctx context.Context, arns []string) (map[string]Observed, error) {
	tasks, err := g.Describe(ctx, arns)
	now := time.Now()
	if err != nil {
		return nil, err
	}
	seen := map[string]Observed{}
	for _, t := range tasks {
		arn := aws.ToString(t.TaskArn)
		switch aws.ToString(t.LastStatus) {
		case "RUNNING":
			seen[arn] = Observed{Seen: now, Task: t}
		case "STOPPED", "DEPROVISIONING", "STOPPING":
			return seen, fmt.Errorf("task %s stopped before RUNNING: %s %s", arn, t.StopCode, aws.ToString(t.StoppedReason))
		}
	}
	return seen, nil
}

// WaitRunning polls DescribeTasks every poll until every task is RUNNING, and returns when each
// was first seen so. A task that stops on the way is an error.
func (g *Gantry) WaitRunning(ctx context.Context, arns []string, poll time.Duration, timeout time.Duration) (map[string]Observed, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	seen := map[string]Observed{}
	pending := slices.Clone(arns)
	for len(pending) > 0 {
		got, err := g.PollRunning(ctx, pending)
		maps.Copy(seen, got)
		if err != nil {
			return seen, err
		}
		pending = slices.DeleteFunc(pending, func(a string) bool { _, ok := seen[a]; return ok })
		if len(pending) == 0 {
			break
		}
		select {
		case <-ctx.Done():
			return seen, fmt.Errorf("%d of %d tasks not RUNNING: %w", len(pending), len(arns), ctx.Err())
		case <-time.After(poll):
		}
	}
	return seen, nil
}

// StopTasks stops the tasks with workers concurrent StopTask calls and waits until all are STOPPED.
func (g *Gantry) StopTasks(ctx context.Context, arns []string, workers int, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	work := make(chan string)
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for range max(workers, 1) {
		wg.Go(func() {
			for arn := range work {
				if err := retry(ctx, func() error {
					_, err := g.Client.StopTask(ctx, &ecs.StopTaskInput{Task: aws.String(arn), Reason: aws.String("benchmark done")})
					return err
				}); err != nil {
					mu.Lock()
					errs = append(errs, fmt.Errorf("StopTask %s: %w", arn, err))
					mu.Unlock()
				}
			}
		})
	}
	for _, a := range arns {
		work <- a
	}
	close(work)
	wg.Wait()
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	pending := slices.Clone(arns)
	for len(pending) > 0 {
		tasks, err := g.Describe(ctx, pending)
		if err != nil {
			return err
		}
		var still []string
		for _, t := range tasks {
			if aws.ToString(t.LastStatus) != "STOPPED" {
				still = append(still, aws.ToString(t.TaskArn))
			}
		}
		pending = still
		if len(pending) == 0 {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d tasks not STOPPED: %w", len(pending), ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}

// retry runs f up to three times: the client has no retries of its own (a benchmark request that
// fails should count), but bookkeeping calls (describe, stop) should survive a dropped connection.
func retry(ctx context.Context, f func() error) error {
	var err error
	for range 3 {
		if err = f(); err == nil || ctx.Err() != nil {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
	return err
}

// RuntimeDir is the runtime's state root inside the data dir (cmd/gantry: <data-dir>/run).
func (g *Gantry) RuntimeDir() string { return filepath.Join(g.DataDir, "run") }

// WaitRuntimeEmpty waits until the runtime holds no task directories: every sandbox deleted.
func (g *Gantry) WaitRuntimeEmpty(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		ents, _ := os.ReadDir(filepath.Join(g.RuntimeDir(), "tasks"))
		if len(ents) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d task sandboxes left in %s after %s", len(ents), g.RuntimeDir(), timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// removeCgroupParent removes name under every cgroup mount, children first; it is quiet about
// what is not there.
func removeCgroupParent(name string) {
	mounts, _ := filepath.Glob("/sys/fs/cgroup/*")
	for _, m := range append(mounts, "/sys/fs/cgroup") {
		root := filepath.Join(m, name)
		if _, err := os.Stat(root); err != nil {
			continue
		}
		var dirs []string
		_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		for _, d := range slices.Backward(dirs) {
			if err := os.Remove(d); err != nil {
				fmt.Fprintf(os.Stderr, "remove cgroup %s: %v\n", d, err)
			}
		}
	}
}

// Stats summarises durations.
type Stats struct {
	N                       int
	Min, P50, P90, P99, Max time.Duration
	Mean                    time.Duration
}

// Summarise computes nearest-rank percentiles.
func Summarise(ds []time.Duration) Stats {
	if len(ds) == 0 {
		return Stats{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := func(p float64) time.Duration {
		i := int(math.Ceil(p*float64(len(s)))) - 1
		return s[min(max(i, 0), len(s)-1)]
	}
	var sum time.Duration
	for _, d := range s {
		sum += d
	}
	return Stats{N: len(s), Min: s[0], P50: rank(0.50), P90: rank(0.90), P99: rank(0.99), Max: s[len(s)-1], Mean: sum / time.Duration(len(s))}
}

func (s Stats) String() string {
	r := func(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d)/float64(time.Millisecond)) }
	return fmt.Sprintf("p50 %6s  p90 %6s  p99 %6s  min %6s  max %6s  mean %6s ms  (n=%d)", r(s.P50), r(s.P90), r(s.P99), r(s.Min), r(s.Max), r(s.Mean), s.N)
}

// Load is the machine's load average line, for the report.
func Load() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return strings.TrimSpace(string(b))
	}
	return fmt.Sprintf("load average %s %s %s on %d CPUs", f[0], f[1], f[2], runtime.NumCPU())
}

// logLevel is the benchmarked server's log level: warn, or GANTRY_BENCH_LOG_LEVEL (debug shows
// where each task start's time goes).
func logLevel() string {
	if l := os.Getenv("GANTRY_BENCH_LOG_LEVEL"); l != "" {
		return l
	}
	return "warn"
}

// serverLog receives the server's output when a log level was asked for, else nothing.
func serverLog() io.Writer {
	if os.Getenv("GANTRY_BENCH_LOG_LEVEL") != "" {
		return os.Stderr
	}
	return nil
}
