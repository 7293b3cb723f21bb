package runtime

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Config configures a Runc (or runsc) runtime.
type Config struct {
	// StateRoot holds one directory per task; default /run/gantry. It may be a tmpfs
	// (InMemoryStateRoot).
	StateRoot string
	// LogRoot holds one directory per task for what grows with the task's output: the
	// containers' logs and the shim's own. Empty keeps them in the task's state directory; set
	// it, on disk, when StateRoot is in memory.
	LogRoot string
	// CgroupParent is the cgroup every task cgroup sits under; default "gantry".
	CgroupParent string
	// ShimPath is the executable started as the shim; default os.Executable(). It is run as
	// ShimPath ShimArgs... --dir <task dir>, with ShimEnv added to the environment.
	ShimPath string
	ShimArgs []string // default ["shim"]
	ShimEnv  []string
	// InitPath is bind-mounted at /.gantry-init for initProcessEnabled containers and run as
	// "/.gantry-init init -- cmd..."; default ShimPath. It must be statically linked.
	InitPath string
	// OCIBinary is the runc or runsc executable; default looked up in PATH.
	OCIBinary string
	// MountsDir is where the host keeps each task's mounts (gantry's data dir). When set, runc's
	// shims run in mount namespaces of their own: a copy of the host's without any mount under
	// MountsDir but those StateRoot and LogRoot are on, to which each task's own mounts are
	// added as its containers start (mountTemplate). runc then reads a mount table that does not
	// grow with the number of tasks on the host. runsc ignores it.
	MountsDir string
	Logger    *slog.Logger
}

// Runc runs tasks with an OCI runtime CLI: runc by default, or runsc from NewRunsc.
type Runc struct {
	cfg     Config
	kind    string
	ociArgs []string
	cgroups cgroupLayout
	logger  *slog.Logger

	mu      sync.Mutex
	clients map[string]*shimClient

	template *mountTemplate // nil: shims start in our own mount namespace
	shareMu  sync.Mutex     // one task's mounts are cloned into its shim's namespace once

	// records keeps each task's record as last read, with the file it came from: the record is
	// written once, when the sandbox is made, and read by every call about the task (the log
	// trimmer's every few seconds per container among them).
	recMu   sync.Mutex
	records map[string]cachedRecord
}

// cachedRecord is a task record and the identity of the file it was read from.
type cachedRecord struct {
	rec  taskRecord
	file fileIdentity
}

// fileIdentity tells one version of a file from another: a record is replaced by a rename,
// which gives it a new inode.
type fileIdentity struct {
	ino, size, mtimeNs int64
}

func identityOf(fi os.FileInfo) fileIdentity {
	id := fileIdentity{size: fi.Size(), mtimeNs: fi.ModTime().UnixNano()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		id.ino = int64(st.Ino)
	}
	return id
}

var _ Runtime = (*Runc)(nil)

// NewRunc returns a runtime that drives runc.
func NewRunc(cfg Config) (*Runc, error) {
	return newOCIRuntime(cfg, ociRunc, nil)
}

// MountsRootOverlay says whether a ContainerSpec may carry a RootOverlay: runc mounts it inside
// the container's namespace; runsc's gofer serves the root from a host directory.
func (r *Runc) MountsRootOverlay() bool { return r.kind == ociRunc }

func newOCIRuntime(cfg Config, kind string, ociArgs []string) (*Runc, error) {
	if cfg.StateRoot == "" {
		cfg.StateRoot = "/run/gantry"
	}
	if cfg.CgroupParent == "" {
		cfg.CgroupParent = "gantry"
	}
	if err := validName("cgroup parent", cfg.CgroupParent); err != nil {
		return nil, err
	}
	if cfg.ShimPath == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("find shim executable: %w", err)
		}
		cfg.ShimPath, cfg.ShimArgs = exe, []string{"shim"}
	}
	if cfg.InitPath == "" {
		cfg.InitPath = cfg.ShimPath
	}
	if cfg.OCIBinary == "" {
		bin, err := exec.LookPath(kind)
		if err != nil {
			return nil, fmt.Errorf("find %s: %w", kind, err)
		}
		cfg.OCIBinary = bin
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	layout, err := detectCgroups()
	if err != nil {
		return nil, err
	}
	r := &Runc{cfg: cfg, kind: kind, ociArgs: ociArgs, cgroups: layout,
		logger: cfg.Logger.With("component", "runtime", "oci", kind), clients: map[string]*shimClient{}}
	if kind == ociRunc && cfg.MountsDir != "" {
		t, err := newMountTemplate(cfg.MountsDir, cfg.StateRoot, cfg.LogRoot)
		if err != nil {
			// Tasks still run; runc reads the host's whole mount table.
			r.logger.Warn("shims stay in the host's mount namespace", "err", err)
		}
		r.template = t
	}
	return r, nil
}

func (r *Runc) dir(taskID string) taskDir {
	return taskDir(filepath.Join(r.cfg.StateRoot, "tasks", taskID))
}

// logDir is where a task created now keeps its output; "" when it stays in the state directory.
func (r *Runc) logDir(taskID string) string {
	if r.cfg.LogRoot == "" {
		return ""
	}
	return filepath.Join(r.cfg.LogRoot, taskID)
}

// loadTask returns the task's directory and record; callers must not change the record's
// slices or pointers, which it shares with later callers.
func (r *Runc) loadTask(taskID string) (taskDir, taskRecord, error) {
	if err := validName("task id", taskID); err != nil {
		return "", taskRecord{}, err
	}
	d := r.dir(taskID)
	fi, err := os.Stat(d.record())
	if err == nil {
		r.recMu.Lock()
		c, ok := r.records[taskID]
		r.recMu.Unlock()
		if ok && c.file == identityOf(fi) {
			return d, c.rec, nil
		}
	}
	var rec taskRecord
	if err == nil {
		err = readJSON(d.record(), &rec)
	}
	if err != nil {
		r.forgetRecord(taskID)
		if errors.Is(err, fs.ErrNotExist) {
			return "", taskRecord{}, fmt.Errorf("task %q: %w", taskID, ErrTaskNotFound)
		}
		return "", taskRecord{}, fmt.Errorf("task %q: %w", taskID, err)
	}
	r.recMu.Lock()
	if r.records == nil {
		r.records = map[string]cachedRecord{}
	}
	r.records[taskID] = cachedRecord{rec: rec, file: identityOf(fi)}
	r.recMu.Unlock()
	return d, rec, nil
}

func (r *Runc) forgetRecord(taskID string) {
	r.recMu.Lock()
	delete(r.records, taskID)
	r.recMu.Unlock()
}

// CreateTask prepares the sandbox and starts the task's shim.
func (r *Runc) CreateTask(ctx context.Context, spec TaskSpec) (err error) {
	if err := validName("task id", spec.ID); err != nil {
		return err
	}
	if spec.CPUUnits < 0 || spec.MemoryMiB < 0 {
		return fmt.Errorf("task %q: cpu and memory must not be negative: %w", spec.ID, ErrInvalidSpec)
	}
	d := r.dir(spec.ID)
	if err := os.MkdirAll(filepath.Dir(string(d)), 0o700); err != nil {
		return fmt.Errorf("create state root: %w", err)
	}
	if err := os.Mkdir(string(d), 0o700); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("task %q: %w", spec.ID, ErrTaskExists)
		}
		return fmt.Errorf("create task dir: %w", err)
	}
	rec := taskRecord{ID: spec.ID, NetNSPath: spec.NetNSPath, CgroupPath: r.taskCgroupPath(spec.ID), CPUUnits: spec.CPUUnits,
		OCIBinary: r.cfg.OCIBinary, OCIArgs: r.ociArgs, OCIKind: r.kind, CreatedAt: time.Now().UTC(),
		LogDir: r.logDir(spec.ID), Cgroups: &r.cgroups}
	defer func() {
		if err != nil {
			r.cleanup(context.WithoutCancel(ctx), d, rec)
		}
	}()
	if err := r.prepareSandbox(d, &rec, spec); err != nil {
		return fmt.Errorf("task %q: %w", spec.ID, err)
	}
	if err := r.startShim(ctx, d, rec); err != nil {
		return fmt.Errorf("task %q: %w", spec.ID, err)
	}
	return nil
}

func (r *Runc) prepareSandbox(d taskDir, rec *taskRecord, spec TaskSpec) error {
	for _, sub := range []string{d.ociRoot(), d.containers()} {
		if err := os.Mkdir(sub, 0o700); err != nil {
			return fmt.Errorf("create task dir: %w", err)
		}
	}
	if rec.LogDir != "" {
		if err := os.MkdirAll(rec.LogDir, 0o700); err != nil {
			return fmt.Errorf("create task log dir: %w", err)
		}
	}
	if rec.NetNSPath == "" {
		if err := NewNetNS(d.netns()); err != nil {
			return err
		}
		rec.NetNSPath, rec.OwnsNetNS = d.netns(), true
	}
	if err := r.cgroups.createTaskCgroup(rec.CgroupPath, spec.MemoryMiB); err != nil {
		return err
	}
	return writeJSONAtomic(d.record(), rec)
}

// startShim starts the shim in its own session, so it outlives us, and waits until it serves.
func (r *Runc) startShim(ctx context.Context, d taskDir, rec taskRecord) error {
	logf, err := os.OpenFile(rec.shimLog(d), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("open shim log: %w", err)
	}
	defer logf.Close()
	readyR, readyW, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("shim ready pipe: %w", err)
	}
	defer readyR.Close()
	args := append(append([]string(nil), r.cfg.ShimArgs...), "--dir", string(d), "--ready-fd", "3")
	cmd := exec.Command(r.cfg.ShimPath, args...)
	cmd.Env = append(append(os.Environ(), r.cfg.ShimEnv...), "GOMAXPROCS=1") // see ShimMain
	cmd.Dir = "/"
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.ExtraFiles = []*os.File{readyW}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if r.template != nil {
		err = r.template.start(cmd)
	} else {
		err = cmd.Start()
	}
	readyW.Close()
	if err != nil {
		return fmt.Errorf("start shim: %w", err)
	}
	// Reap the shim if it ends while we live; after we die, init does.
	go func() { _ = cmd.Wait() }()
	msg := make(chan string, 1)
	go func() {
		buf := make([]byte, 512)
		n, _ := readyR.Read(buf)
		msg <- string(buf[:n])
	}()
	select {
	case m := <-msg:
		if m != "ok\n" {
			return fmt.Errorf("start shim: %s", trimNL(m))
		}
		return nil
	case <-ctx.Done():
		_ = cmd.Process.Kill()
		return fmt.Errorf("start shim: %w", ctx.Err())
	}
}

func trimNL(s string) string {
	if s == "" {
		return "exited before it was ready"
	}
	if s[len(s)-1] == '\n' {
		return s[:len(s)-1]
	}
	return s
}

// client returns a connection to the task's shim, dialling it when needed.
func (r *Runc) client(ctx context.Context, taskID string) (*shimClient, taskDir, error) {
	d, _, err := r.loadTask(taskID)
	if err != nil {
		return nil, "", err
	}
	r.mu.Lock()
	c := r.clients[taskID]
	r.mu.Unlock()
	if c != nil && !c.broken() {
		return c, d, nil
	}
	c, err = dialShim(ctx, d.socket())
	if err != nil {
		return nil, "", fmt.Errorf("task %q: %w", taskID, err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if old := r.clients[taskID]; old != nil && !old.broken() {
		c.Close()
		return old, d, nil
	}
	r.clients[taskID] = c
	return c, d, nil
}

func (r *Runc) dropClient(taskID string) {
	r.mu.Lock()
	c := r.clients[taskID]
	delete(r.clients, taskID)
	r.mu.Unlock()
	if c != nil {
		c.Close()
	}
}

// StartContainer writes the container's bundle and has the shim create and start it.
func (r *Runc) StartContainer(ctx context.Context, taskID string, spec ContainerSpec) (ContainerStatus, error) {
	t0 := time.Now()
	d, rec, err := r.loadTask(taskID)
	if err != nil {
		return ContainerStatus{}, err
	}
	if spec.RootOverlay != nil && !r.MountsRootOverlay() {
		return ContainerStatus{}, fmt.Errorf("container %q: %s does not mount a root overlay itself: %w", spec.Name, r.kind, ErrInvalidSpec)
	}
	if spec.InitProcessEnabled {
		if static, err := isStaticBinary(r.cfg.InitPath); err != nil || !static {
			return ContainerStatus{}, fmt.Errorf("container %q: init binary %s must be statically linked (build with CGO_ENABLED=0): %w",
				spec.Name, r.cfg.InitPath, ErrInvalidSpec)
		}
	}
	oci, err := buildSpec(spec, specOptions{NetNSPath: rec.NetNSPath, CgroupsPath: rec.CgroupPath + "/" + spec.Name,
		InitPath: r.cfg.InitPath, Unified: r.cgroups.Unified, NofileCeiling: nofileCeiling(), TaskCPUUnits: rec.CPUUnits})
	if err != nil {
		return ContainerStatus{}, fmt.Errorf("container %q: %w", spec.Name, err)
	}
	if err := r.makeBundleDir(ctx, taskID, d, spec.Name); err != nil {
		return ContainerStatus{}, err
	}
	if err := writeJSONAtomic(filepath.Join(d.container(spec.Name), "config.json"), oci); err != nil {
		return ContainerStatus{}, fmt.Errorf("container %q: %w", spec.Name, err)
	}
	c, _, err := r.client(ctx, taskID)
	if err != nil {
		return ContainerStatus{}, err
	}
	if r.template != nil {
		r.shareMu.Lock()
		err := r.template.share(d, containerPaths(rec, spec, oci))
		r.shareMu.Unlock()
		if err != nil {
			return ContainerStatus{}, fmt.Errorf("container %q: %w", spec.Name, err)
		}
	}
	t1 := time.Now()
	st, err := c.status(ctx, methodStart, spec.Name, 0, 0)
	if err != nil {
		return st, fmt.Errorf("start container %q: %w", spec.Name, err)
	}
	// Where a container start's time goes, for whoever tunes it: --log-level debug.
	r.logger.Debug("container start", "task", taskID, "container", spec.Name, "bundle", t1.Sub(t0), "shim", time.Since(t1))
	return st, nil
}

// makeBundleDir makes a container's bundle directory. One that exists but that the live shim
// was never asked to start (an agent died between writing the bundle and asking for the start)
// is made again; one the shim has, or cannot be asked about, is the container's:
// ErrContainerExists.
func (r *Runc) makeBundleDir(ctx context.Context, taskID string, d taskDir, name string) error {
	dir := d.container(name)
	err := os.Mkdir(dir, 0o700)
	if err == nil {
		return nil
	}
	if !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("container %q: %w", name, err)
	}
	st, err := r.TaskState(ctx, taskID)
	if _, known := st.Container(name); err != nil || known || st.ShimPid == 0 {
		return fmt.Errorf("container %q: %w", name, ErrContainerExists)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("container %q: remove a bundle never started: %w", name, err)
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		return fmt.Errorf("container %q: %w", name, err)
	}
	return nil
}

// SignalContainer sends sig to the container's init.
func (r *Runc) SignalContainer(ctx context.Context, taskID, name string, sig syscall.Signal) error {
	c, _, err := r.client(ctx, taskID)
	if err != nil {
		return err
	}
	_, err = c.call(ctx, shimRequest{Method: methodSignal, Name: name, Signal: int(sig)})
	return err
}

// StopContainer stops the container with sig, then SIGKILL after timeout. The shim carries the
// escalation out even if the caller goes away.
func (r *Runc) StopContainer(ctx context.Context, taskID, name string, sig syscall.Signal, timeout time.Duration) (ContainerStatus, error) {
	c, _, err := r.client(ctx, taskID)
	if err != nil {
		return ContainerStatus{}, err
	}
	return c.status(ctx, methodStop, name, sig, timeout)
}

// WaitContainer blocks until the container has exited.
func (r *Runc) WaitContainer(ctx context.Context, taskID, name string) (ContainerStatus, error) {
	c, _, err := r.client(ctx, taskID)
	if err != nil {
		return ContainerStatus{}, err
	}
	return c.status(ctx, methodWait, name, 0, 0)
}

// Exec runs a command inside a running container.
func (r *Runc) Exec(ctx context.Context, taskID, name string, spec ExecSpec) (ExecResult, error) {
	c, _, err := r.client(ctx, taskID)
	if err != nil {
		return ExecResult{}, err
	}
	resp, err := c.call(ctx, shimRequest{Method: methodExec, Name: name, Exec: &spec})
	if err != nil {
		return ExecResult{}, err
	}
	if resp.Exec == nil {
		return ExecResult{}, errors.New("shim exec: empty reply")
	}
	return *resp.Exec, nil
}

// TaskState asks the shim; when the shim is gone it reports what the shim last recorded, with
// containers it never saw exit as StatusUnknown.
func (r *Runc) TaskState(ctx context.Context, taskID string) (TaskState, error) {
	d, rec, err := r.loadTask(taskID)
	if err != nil {
		return TaskState{}, err
	}
	st := TaskState{ID: taskID, NetNSPath: rec.NetNSPath, ShimPid: liveShimPid(d)}
	var recs []containerRecord
	c, _, err := r.client(ctx, taskID)
	if err == nil {
		var resp shimResponse
		if resp, err = c.call(ctx, shimRequest{Method: methodState}); err == nil {
			recs = resp.States
		}
	}
	if err != nil {
		if !errors.Is(err, ErrShimUnavailable) {
			return TaskState{}, err
		}
		st.ShimPid = 0
		recs = recordsOnDisk(d)
	}
	for _, cr := range recs {
		st.Containers = append(st.Containers, cr.status())
	}
	return st, nil
}

func recordsOnDisk(d taskDir) []containerRecord {
	entries, _ := os.ReadDir(d.containers())
	var out []containerRecord
	for _, e := range entries {
		var cr containerRecord
		if readJSON(d.statusFile(e.Name()), &cr) != nil {
			continue
		}
		if cr.Status != StatusExited {
			cr.Status = StatusUnknown
		}
		out = append(out, cr)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// ListTasks lists the tasks with a state directory, live or not, and those with only a log
// directory: their state was in memory and went with a reboot, and DeleteTask removes the rest.
func (r *Runc) ListTasks(ctx context.Context) ([]string, error) {
	var ids []string
	seen := map[string]bool{}
	for _, dir := range []string{filepath.Join(r.cfg.StateRoot, "tasks"), r.cfg.LogRoot} {
		if dir == "" {
			continue
		}
		entries, err := os.ReadDir(dir)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("list tasks: %w", err)
		}
		for _, e := range entries {
			if e.IsDir() && !seen[e.Name()] && validName("task id", e.Name()) == nil {
				seen[e.Name()] = true
				ids = append(ids, e.Name())
			}
		}
	}
	return ids, nil
}

// ReadLogs reads the container's log file from offset.
func (r *Runc) ReadLogs(ctx context.Context, taskID, name string, offset int64, max int) ([]LogEntry, int64, error) {
	d, rec, err := r.loadTask(taskID)
	if err != nil {
		return nil, offset, err
	}
	if err := validName("container name", name); err != nil {
		return nil, offset, err
	}
	return ReadLogFile(rec.logFile(d, name), offset, max)
}

// TrimLogs frees the disk of the container's log before offset before (TrimLogFile).
func (r *Runc) TrimLogs(ctx context.Context, taskID, name string, before, keepTail int64) error {
	d, rec, err := r.loadTask(taskID)
	if err != nil {
		return err
	}
	if err := validName("container name", name); err != nil {
		return err
	}
	return TrimLogFile(rec.logFile(d, name), before, keepTail)
}

// containerPaths are the host paths a container's start uses: its network namespace, root
// filesystem and the sources of its mounts.
func containerPaths(rec taskRecord, spec ContainerSpec, oci *specs.Spec) []string {
	paths := []string{rec.NetNSPath, spec.Rootfs}
	if ov := spec.RootOverlay; ov != nil {
		paths = append(append(paths, ov.Upper, ov.Work), ov.Lower...)
	}
	for _, m := range oci.Mounts {
		paths = append(paths, m.Source)
	}
	return paths
}

// Close drops the connections to shims; tasks keep running.
func (r *Runc) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for id, c := range r.clients {
		c.Close()
		delete(r.clients, id)
	}
	if r.template != nil {
		return r.template.close() // a start after Close fails to enter it
	}
	return nil
}

// nofileCeiling is our own hard open-files limit when we may not exceed it, else zero.
func nofileCeiling() uint64 {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "CapEff:"); ok {
			eff, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err == nil && eff&(1<<capabilityBits["CAP_SYS_RESOURCE"]) != 0 {
				return 0
			}
		}
	}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0
	}
	return lim.Max
}
