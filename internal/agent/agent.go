package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/gantry-dev/gantry/internal/agent/taskrunner"
	"github.com/gantry-dev/gantry/internal/image"
	"github.com/gantry-dev/gantry/internal/logx"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/network"
	"github.com/gantry-dev/gantry/internal/runtime"
	"github.com/gantry-dev/gantry/internal/scratch"
)

// Config configures an Agent. Control, Runtime and Puller are required.
type Config struct {
	Control Control
	Runtime runtime.Runtime
	// RuntimeName is reported with the host: runc or runsc.
	RuntimeName string
	Puller      image.Puller
	// Rootfs and Network default to overlayfs mounts and a loopback-only namespace.
	Rootfs  taskrunner.Rootfs
	Network taskrunner.Network
	// Plane, when set, is the VPC data plane: tasks with an ENI get it there, with their VPC's
	// security groups enforced (it replaces Network; tasks without an ENI keep loopback only).
	Plane network.DataPlane
	// FirstRulesTimeout bounds how long a task waits for its VPC's first security snapshot
	// before it fails to start; default 10 s.
	FirstRulesTimeout time.Duration
	// VPCRouterLinger is how long a VPC's router stays on this host after its last task here
	// stopped, so the VPC's next task starts without building one; negative removes it at once.
	// Default 5 minutes.
	VPCRouterLinger time.Duration
	// ImageCleanupAge is how long a cached image stays after the last task pulled it; then,
	// unless a task's root filesystem still uses it, the agent removes it, as the ECS agent's
	// image cleanup does. It needs a Puller that can Prune (image.Store). Default an hour;
	// negative keeps every image.
	ImageCleanupAge time.Duration
	// StateDir holds the host id and the ready task filesystems, and what RunDir does not;
	// default /var/lib/gantry/agent.
	StateDir string
	// RunDir holds what describes this boot's tasks and changes with every start and stop: the
	// ENIs' records and, with EphemeralStorage, the tasks' directories (taskDir). Default
	// StateDir. The server keeps it on the runtime's tmpfs: on a disk each of those small files
	// costs an inode allocation, which an ext4 without a journal makes slow for minutes after
	// files were deleted (docs/performance.md). What an older server left under StateDir stays
	// found: task directories there are used where they are, ENI records are moved over.
	RunDir string
	// EphemeralStorage gives each task a filesystem of its ephemeral storage size for its
	// containers' writable layers and volumes (scratch.Pool, kept under StateDir), so a task
	// that writes more gets ENOSPC as on Fargate. It needs loop devices. Without it tasks write
	// to StateDir's filesystem without a limit.
	EphemeralStorage bool
	// DiskReserveMiB is how much of the host's filesystem under StateDir the disk guard keeps
	// free, with EphemeralStorage (diskguard.go): DefaultDiskReserveMiB when zero, no guard
	// when negative. DiskCheckInterval is how often it looks; default a second.
	DiskReserveMiB    int64
	DiskCheckInterval time.Duration
	// HostID names the host; when empty it is read from (or made and saved in) StateDir.
	HostID string
	// LocalRegistryHost receives ECR image references, e.g. "127.0.0.1:4566".
	LocalRegistryHost string
	// CPU (units) and MemoryMiB are the host's size; detected when zero.
	CPU       int64
	MemoryMiB int64
	// ReserveCPU and ReserveMemoryMiB are kept back for gantry and the system: 256 units and
	// 512 MiB when zero, none when negative.
	ReserveCPU       int64
	ReserveMemoryMiB int64
	// HeartbeatInterval defaults to 10 s.
	HeartbeatInterval time.Duration
	// OrphanGrace is how long after the assignment watch starts the agent waits before removing
	// sandboxes found at start that no assignment claimed; default 5 s.
	OrphanGrace time.Duration
	// Logs receives the output of containers with the awslogs driver; without it, none is shipped.
	Logs taskrunner.LogSink
	// Secrets reads the tasks' secrets[].valueFrom at start, as their execution role; without
	// it a task with secrets fails to start.
	Secrets taskrunner.SecretResolver
	// TaskEndpoint serves 169.254.170.2 inside every task (metadata v3/v4, the task role's
	// credentials from Credentials, and TaskAPI on port 4566). It needs real network namespaces.
	TaskEndpoint bool
	// Credentials issues the task roles' credentials; TaskAPI is the AWS API (the server's front
	// door) that tasks reach at http://169.254.170.2:4566 (AWS_ENDPOINT_URL).
	Credentials TaskCredentials
	TaskAPI     http.Handler
	// TimeUnit is one second of task definition time; tests shorten it.
	TimeUnit time.Duration
	Now      func() time.Time
	Logger   *slog.Logger
}

// Agent runs the tasks placed on this host.
type Agent struct {
	cfg Config
	log *slog.Logger
	// vpc is the task network over cfg.Plane; nil without one.
	vpc *vpcNetwork
	// endpoint serves 169.254.170.2 in the tasks; nil unless cfg.TaskEndpoint.
	endpoint *taskEndpoint
	// scratch makes the tasks' filesystems; set by Run before any runner, nil unless
	// cfg.EphemeralStorage.
	scratch *scratch.Pool

	mu sync.Mutex
	// host is the registered host; zero until Run registered it.
	host    model.Host
	runners map[string]*runnerEntry
	// done lists tasks whose runner finished, so late assignment changes do not restart them.
	done map[string]bool
	wg   sync.WaitGroup
}

type runnerEntry struct {
	r        *taskrunner.Runner
	cpu, mem int64
}

// Usage is the host's capacity and what its tasks reserve of it.
type Usage struct {
	HostID         string
	CapacityCPU    int64
	CapacityMemory int64
	ReservedCPU    int64
	ReservedMemory int64
	Tasks          int
}

// New returns an agent; it does nothing until Run.
func New(cfg Config) *Agent {
	if cfg.StateDir == "" {
		cfg.StateDir = "/var/lib/gantry/agent"
	}
	if cfg.RunDir == "" {
		cfg.RunDir = cfg.StateDir
	}
	if cfg.HeartbeatInterval <= 0 {
		cfg.HeartbeatInterval = 10 * time.Second
	}
	if cfg.ImageCleanupAge == 0 {
		cfg.ImageCleanupAge = DefaultImageCleanupAge
	}
	if cfg.DiskReserveMiB == 0 {
		cfg.DiskReserveMiB = DefaultDiskReserveMiB
	}
	if cfg.DiskCheckInterval <= 0 {
		cfg.DiskCheckInterval = defaultDiskCheck
	}
	if cfg.OrphanGrace <= 0 {
		cfg.OrphanGrace = 5 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = logx.Discard()
	}
	a := &Agent{cfg: cfg, log: cfg.Logger.With(logx.KeyComponent, "agent"),
		runners: map[string]*runnerEntry{}, done: map[string]bool{}}
	if cfg.Plane != nil {
		a.vpc = newVPCNetwork(cfg.Plane, cfg.Control, filepath.Join(cfg.RunDir, "enis"), cfg.FirstRulesTimeout, routerLinger(cfg.VPCRouterLinger), cfg.Logger)
		a.cfg.Network = a.vpc
	}
	if cfg.TaskEndpoint {
		a.endpoint = newTaskEndpoint(cfg.Credentials, cfg.TaskAPI, cfg.Runtime, cfg.Now, cfg.Logger)
	}
	return a
}

// Usage returns the host's capacity and the sizes of the tasks it runs.
func (a *Agent) Usage() Usage {
	a.mu.Lock()
	defer a.mu.Unlock()
	u := Usage{HostID: a.host.ID, CapacityCPU: a.host.CapacityCPU, CapacityMemory: a.host.CapacityMemory, Tasks: len(a.runners)}
	for _, e := range a.runners {
		u.ReservedCPU += e.cpu
		u.ReservedMemory += e.mem
	}
	return u
}

// scratchReady is how many default-size task filesystems the agent keeps ready: a burst's first
// tasks take them, the rest make theirs (2-4 ms each) while the pool refills.
const scratchReady = 2

// Run registers the host, adopts the tasks already on it, runs the tasks assigned to it and
// heartbeats, until ctx ends. Tasks keep running after Run returns; the next agent adopts them.
func (a *Agent) Run(ctx context.Context) error {
	host, err := a.hostInfo()
	if err != nil {
		return err
	}
	log := a.log.With(logx.KeyHostID, host.ID)
	if err := a.cfg.Control.RegisterHost(ctx, host); err != nil {
		return fmt.Errorf("register host %s: %w", host.ID, err)
	}
	a.mu.Lock()
	a.host = host
	a.mu.Unlock()
	if a.vpc != nil {
		if err := moveRecords(filepath.Join(a.cfg.StateDir, "enis"), a.vpc.dir); err != nil {
			return fmt.Errorf("move the ENIs' records: %w", err)
		}
		// Before any task is adopted or released: their interfaces must be known.
		if err := a.vpc.Recover(ctx); err != nil {
			return err
		}
		defer a.vpc.close()
	}
	if a.cfg.EphemeralStorage {
		p, err := scratch.New(scratch.Config{Dir: filepath.Join(a.cfg.StateDir, "scratch-pool"),
			ReadyBytes: model.DefaultEphemeralStorageGiB * scratch.GiB, Ready: scratchReady,
			Reserve: max(a.cfg.DiskReserveMiB, 0) << 20, Log: a.log})
		if err != nil {
			return fmt.Errorf("ephemeral storage: %w", err)
		}
		a.scratch = p
		defer p.Close()
	}
	found, err := a.tasksOnHost(ctx)
	if err != nil {
		return err
	}
	log.Info("agent started", "cpu", host.CapacityCPU, "memory", host.CapacityMemory, "tasks_found", len(found))
	defer a.wg.Wait()
	if a.endpoint != nil {
		defer a.endpoint.closeAll() // after the runners returned
	}
	var hb sync.WaitGroup
	hb.Go(func() { a.heartbeat(ctx, host.ID) })
	if a.scratch != nil && a.cfg.DiskReserveMiB > 0 {
		hb.Go(func() { a.guardDisk(ctx, a.cfg.DiskReserveMiB<<20) })
	}
	if p, ok := a.cfg.Puller.(ImagePruner); ok && a.cfg.ImageCleanupAge > 0 {
		hb.Go(func() { a.pruneImages(ctx, p) })
	}
	defer hb.Wait()
	return a.serve(ctx, host.ID, found)
}

// serve follows the host's assignments, re-watching when the watch breaks, and removes the
// sandboxes nobody claimed once the grace period has passed.
func (a *Agent) serve(ctx context.Context, hostID string, found map[string]bool) error {
	orphans := time.NewTimer(a.cfg.OrphanGrace)
	defer orphans.Stop()
	for ctx.Err() == nil {
		ch, err := a.cfg.Control.WatchAssignments(ctx, hostID)
		if err != nil {
			a.log.Warn("watch assignments", logx.KeyError, err)
			sleep(ctx, time.Second)
			continue
		}
		a.follow(ctx, ch, orphans.C, found)
	}
	return nil
}

// follow applies assignments from one watch until it ends.
func (a *Agent) follow(ctx context.Context, ch <-chan model.Assignment, orphans <-chan time.Time, found map[string]bool) {
	for {
		select {
		case as, ok := <-ch:
			if !ok {
				return
			}
			a.assign(ctx, as, found[as.Task.ID])
		case <-orphans:
			a.removeOrphans(ctx, found)
		case <-ctx.Done():
			return
		}
	}
}

// assign hands an assignment to its task's runner, starting one if the task has none.
func (a *Agent) assign(ctx context.Context, as model.Assignment, onHost bool) {
	id := as.Task.ID
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.done[id] {
		if as.Task.LastStatus == model.TaskStopped {
			// The control plane has the end of the task: no assignment for it comes again
			// (re-lists carry only tasks not yet STOPPED), so stop remembering it.
			delete(a.done, id)
		}
		return
	}
	if e, ok := a.runners[id]; ok {
		e.r.Update(as)
		return
	}
	if as.Task.LastStatus == model.TaskStopped {
		return
	}
	dir := a.taskDir(id)
	// A task past starting that has no runner here was started by a previous agent: adopt it
	// (or, when it left no trace, stop it as lost) rather than start it again.
	adopt := onHost || taskrunner.HasRecord(dir) || model.TaskActivating.CanMoveTo(as.Task.LastStatus)
	rc := taskrunner.Config{
		Assignment: as, Runtime: a.cfg.Runtime, Puller: a.cfg.Puller, Reporter: a.cfg.Control,
		Rootfs: a.cfg.Rootfs, Network: a.cfg.Network, StateDir: dir, LocalRegistryHost: a.cfg.LocalRegistryHost,
		Adopt: adopt, Logs: a.cfg.Logs, Secrets: a.cfg.Secrets, TimeUnit: a.cfg.TimeUnit, Now: a.cfg.Now, Logger: a.cfg.Logger,
	}
	if a.endpoint != nil { // a nil *taskEndpoint would be a non-nil interface
		rc.Endpoint = a.endpoint
	}
	if a.scratch != nil {
		rc.Scratch = a.scratch
	}
	r := taskrunner.New(rc)
	cpu, _ := model.ParseTaskCPU(as.Task.CPU)
	mem, _ := model.ParseTaskMemory(as.Task.Memory)
	a.runners[id] = &runnerEntry{r: r, cpu: int64(cpu), mem: int64(mem)}
	a.wg.Add(1)
	go a.run(ctx, r)
}

func (a *Agent) run(ctx context.Context, r *taskrunner.Runner) {
	defer a.wg.Done()
	if err := r.Run(ctx); err != nil {
		a.log.Error("task runner failed", logx.KeyError, err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.runners, r.ID())
	if r.Finished() {
		a.done[r.ID()] = true
	}
}

// taskDir is a task's directory. With EphemeralStorage it holds small records and the mount
// points of the task's filesystems, and is under RunDir; without, it holds the containers'
// writable layers and volumes, and is on disk under StateDir. A directory that is already in the
// other place (made by a server configured otherwise, its task still running) is used there.
func (a *Agent) taskDir(id string) string {
	roots := a.taskRoots()
	for _, root := range roots[1:] {
		if dir := filepath.Join(root, id); isDir(dir) {
			return dir
		}
	}
	return filepath.Join(roots[0], id)
}

// taskRoots lists where task directories may be, where new ones go first.
func (a *Agent) taskRoots() []string {
	onDisk, inRun := filepath.Join(a.cfg.StateDir, "tasks"), filepath.Join(a.cfg.RunDir, "tasks")
	switch {
	case onDisk == inRun:
		return []string{onDisk}
	case a.cfg.EphemeralStorage:
		return []string{inRun, onDisk}
	default:
		return []string{onDisk, inRun}
	}
}

// moveRecords moves the files in from (records an older server kept there) to to, where they
// are kept now; nothing when the two are the same or from does not exist.
func moveRecords(from, to string) error {
	if filepath.Clean(from) == filepath.Clean(to) {
		return nil
	}
	ents, err := os.ReadDir(from)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := os.MkdirAll(to, 0o700); err != nil {
		return err
	}
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		src, dst := filepath.Join(from, e.Name()), filepath.Join(to, e.Name())
		b, err := os.ReadFile(src)
		if err != nil {
			return err
		}
		// Written whole before the source goes: a crash in between leaves both, the same record.
		if err := os.WriteFile(dst+".tmp", b, 0o600); err != nil {
			return err
		}
		if err := os.Rename(dst+".tmp", dst); err != nil {
			return err
		}
		if err := os.Remove(src); err != nil {
			return err
		}
	}
	os.Remove(from) // emptied; left when it holds something else
	return nil
}

func isDir(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}

// tasksOnHost lists the tasks with a sandbox in the runtime or a directory under a task root,
// true for those with a sign of having been here: a sandbox or a runner's record.
func (a *Agent) tasksOnHost(ctx context.Context) (map[string]bool, error) {
	ids, err := a.cfg.Runtime.ListTasks(ctx)
	if err != nil {
		return nil, fmt.Errorf("list runtime tasks: %w", err)
	}
	found := map[string]bool{}
	for _, id := range ids {
		found[id] = true
	}
	for _, root := range a.taskRoots() {
		ents, err := os.ReadDir(root)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("list task state: %w", err)
		}
		for _, e := range ents {
			if e.IsDir() {
				// A directory without a runner's record is a first save cut short, before
				// anything of the task was made: no sign that the task was here (its
				// assignment starts it afresh), only a directory to remove if nobody claims it.
				id := e.Name()
				found[id] = found[id] || taskrunner.HasRecord(filepath.Join(root, id))
			}
		}
	}
	return found, nil
}

// removeOrphans releases the tasks found at start that no assignment claimed.
func (a *Agent) removeOrphans(ctx context.Context, found map[string]bool) {
	for id := range found {
		a.mu.Lock()
		claimed := a.runners[id] != nil || a.done[id]
		a.mu.Unlock()
		if claimed {
			continue
		}
		dir := a.taskDir(id)
		err := taskrunner.Release(ctx, taskrunner.ReleaseConfig{Runtime: a.cfg.Runtime, Rootfs: a.cfg.Rootfs,
			Network: a.cfg.Network, StateDir: dir}, id, nil)
		if err == nil {
			err = os.RemoveAll(dir)
		}
		if err != nil {
			a.log.Error("remove orphan task", "task_id", id, logx.KeyError, err)
			continue
		}
		a.log.Info("removed orphan task", "task_id", id)
	}
}

// heartbeat tells the control plane the host is alive, every interval.
func (a *Agent) heartbeat(ctx context.Context, hostID string) {
	t := time.NewTicker(a.cfg.HeartbeatInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := a.cfg.Control.Heartbeat(ctx, hostID); err != nil && ctx.Err() == nil {
				a.log.Warn("heartbeat", logx.KeyHostID, hostID, logx.KeyError, err)
			}
		}
	}
}

// DefaultImageCleanupAge is the ECS agent's minimum image cleanup age
// (ECS_IMAGE_MINIMUM_CLEANUP_AGE).
const DefaultImageCleanupAge = time.Hour

// ImagePruner is a Puller whose cache can be pruned.
type ImagePruner interface {
	Prune(unusedFor time.Duration) (image.Pruned, error)
}

// pruneImages removes unused cached images a few times per ImageCleanupAge (at most every
// 30 minutes, the ECS agent's cleanup interval) until ctx ends.
func (a *Agent) pruneImages(ctx context.Context, p ImagePruner) {
	age := a.cfg.ImageCleanupAge
	every := min(max(age/2, time.Second), 30*time.Minute)
	for {
		sleep(ctx, every)
		if ctx.Err() != nil {
			return
		}
		got, err := p.Prune(age)
		switch {
		case err != nil:
			a.log.Warn("image cleanup", logx.KeyError, err)
		case got.Busy:
			a.log.Debug("image cleanup skipped: pulls ran all along")
		case len(got.Images) > 0 || len(got.Layers) > 0:
			a.log.Info("image cleanup", "images", got.Images, "layers", len(got.Layers))
		}
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// defaultRouterLinger keeps an idle VPC's router long enough for a job that runs every few
// minutes, and not much longer.
const defaultRouterLinger = 5 * time.Minute

func routerLinger(d time.Duration) time.Duration {
	switch {
	case d == 0:
		return defaultRouterLinger
	case d < 0:
		return 0
	}
	return d
}
