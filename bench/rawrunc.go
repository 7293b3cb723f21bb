package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// RawRunc is the peer: the bundle gantry generated for a benchmark task, run by runc directly,
// with no shim, agent, store or API in between.
//
// Differences from gantry's sandbox, by design of the peer: the root filesystem is one plain
// directory (a copy of the task's merged overlay) shared by every raw container instead of an
// overlay mount per task; runc makes the network namespace itself (gantry makes one per task and
// brings loopback up); and the task-level cgroup limits (cpu quota, memory limit) sit on the
// container's own cgroup instead of a task cgroup above it. Everything else (namespaces, seccomp,
// capabilities, masked paths, rlimits, mounts, process) is gantry's spec byte for byte.
type RawRunc struct {
	Dir          string // everything the peer owns on disk
	Root         string // runc --root
	Rootfs       string
	CgroupParent string
	Binary       string
	template     specs.Spec

	mu   sync.Mutex
	pids map[string]int
}

// PeerMode is how a raw container is started.
type PeerMode string

const (
	// RunDetach is one `runc run --detach`.
	RunDetach PeerMode = "run"
	// CreateStart is `runc create` then `runc start`: how containerd's shim starts a container (gantry's
	// shim uses one `runc run --detach`), kept as a second reference.
	CreateStart PeerMode = "create+start"
)

// BecomeSubreaper makes this process the parent of orphaned descendants, so raw containers (whose
// runc exits after starting them) are reaped here and not left as zombies under pid 1.
func BecomeSubreaper() error {
	return unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
}

// ReapOrphans reaps any exited children that nobody waits for; call it only when no exec.Cmd of
// this process is running.
func ReapOrphans() {
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return
		}
	}
}

// GantryBundle reads the OCI spec gantry wrote for one running benchmark task's container, and
// the host path of that container's root filesystem. The environment is not in it (the shim
// scrubs a started container's bundle of it), so the peer runs without: a few variables, which
// cost runc nothing measurable.
func GantryBundle(g *Gantry) (*specs.Spec, error) {
	matches, _ := filepath.Glob(filepath.Join(g.RuntimeDir(), "tasks", "*", "containers", "app", "config.json"))
	if len(matches) == 0 {
		return nil, fmt.Errorf("no container bundle under %s", g.RuntimeDir())
	}
	b, err := os.ReadFile(matches[0])
	if err != nil {
		return nil, err
	}
	var s specs.Spec
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", matches[0], err)
	}
	return &s, nil
}

// copyRootfs copies the merged root filesystem of gantry's container to dst. A root overlay
// that runc mounts inside the container (the spec's first mount, at "/") is mounted read-only
// here for the copy: its upper directory on top of its layers.
func copyRootfs(ctx context.Context, gantrySpec *specs.Spec, dst string) error {
	src := gantrySpec.Root.Path
	if ms := gantrySpec.Mounts; len(ms) > 0 && ms[0].Destination == "/" && ms[0].Type == "overlay" {
		var lower, upper string
		for _, o := range ms[0].Options {
			if v, ok := strings.CutPrefix(o, "lowerdir="); ok {
				lower = v
			} else if v, ok := strings.CutPrefix(o, "upperdir="); ok {
				upper = v
			}
		}
		tmp, err := os.MkdirTemp("", "gantry-bench-root-")
		if err != nil {
			return err
		}
		defer os.Remove(tmp)
		if err := unix.Mount("overlay", tmp, "overlay", unix.MS_RDONLY, "lowerdir="+upper+":"+lower); err != nil {
			return fmt.Errorf("mount the task's root overlay to copy it: %w", err)
		}
		defer unix.Unmount(tmp, unix.MNT_DETACH)
		src = tmp
	}
	if out, err := exec.CommandContext(ctx, "cp", "-a", src+"/.", dst).CombinedOutput(); err != nil {
		return fmt.Errorf("copy the task's rootfs: %v: %s", err, out)
	}
	return nil
}

// NewRawRunc prepares the peer from gantry's bundle while gantry's task runs: its root filesystem
// is copied, bind-mount sources inside gantry's data dir are copied, and the spec is adapted as
// the type's comment says.
func NewRawRunc(ctx context.Context, gantrySpec *specs.Spec, gantryDataDir string, parent string) (*RawRunc, error) {
	bin, err := exec.LookPath("runc")
	if err != nil {
		return nil, fmt.Errorf("the peer needs runc: %w", err)
	}
	dir, err := os.MkdirTemp(parent, "gantry-bench-raw-")
	if err != nil {
		return nil, err
	}
	r := &RawRunc{Dir: dir, Root: filepath.Join(dir, "runc"), Rootfs: filepath.Join(dir, "rootfs"), Binary: bin,
		CgroupParent: "gantry-bench-raw-" + strconv.Itoa(os.Getpid()) + "-" + filepath.Base(dir)[len("gantry-bench-raw-"):],
		pids:         map[string]int{}}
	fail := func(err error) (*RawRunc, error) {
		os.RemoveAll(dir)
		return nil, err
	}
	for _, d := range []string{r.Root, r.Rootfs, filepath.Join(dir, "bundles"), filepath.Join(dir, "files")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return fail(err)
		}
	}
	if err := os.Chmod(r.Rootfs, 0o755); err != nil {
		return fail(err)
	}
	if err := copyRootfs(ctx, gantrySpec, r.Rootfs); err != nil {
		return fail(err)
	}
	s := *gantrySpec
	s.Root = &specs.Root{Path: r.Rootfs, Readonly: gantrySpec.Root.Readonly}
	s.Mounts = nil
	for i, m := range gantrySpec.Mounts {
		if i == 0 && m.Destination == "/" && m.Type == "overlay" {
			continue // the root overlay runc mounts for gantry; the peer has the copy
		}
		if m.Type == "bind" || slices.Contains(m.Options, "bind") || slices.Contains(m.Options, "rbind") {
			if rel, err := filepath.Rel(gantryDataDir, m.Source); err == nil && !strings.HasPrefix(rel, "..") {
				dst := filepath.Join(dir, "files", strconv.Itoa(i)+"-"+filepath.Base(m.Source))
				if out, err := exec.CommandContext(ctx, "cp", "-a", m.Source, dst).CombinedOutput(); err != nil {
					return fail(fmt.Errorf("copy bind mount source %s: %v: %s", m.Source, err, out))
				}
				m.Source = dst
			}
		}
		s.Mounts = append(s.Mounts, m)
	}
	lin := *gantrySpec.Linux
	lin.Namespaces = nil
	for _, ns := range gantrySpec.Linux.Namespaces {
		if ns.Type == specs.NetworkNamespace {
			ns.Path = "" // runc makes a fresh one
		}
		lin.Namespaces = append(lin.Namespaces, ns)
	}
	res := specs.LinuxResources{}
	if gantrySpec.Linux.Resources != nil {
		res = *gantrySpec.Linux.Resources
	}
	// The task's limits, as gantry puts them on the task cgroup (internal/runtime/cgroup.go).
	quota, period := int64(max(TaskCPU*100000/1024, 1000)), uint64(100000)
	cpu := specs.LinuxCPU{}
	if res.CPU != nil {
		cpu = *res.CPU
	}
	cpu.Quota, cpu.Period = &quota, &period
	res.CPU = &cpu
	mem := specs.LinuxMemory{}
	if res.Memory != nil {
		mem = *res.Memory
	}
	limit := int64(TaskMemoryMiB) << 20
	if mem.Limit == nil || *mem.Limit > limit {
		swap := limit
		mem.Limit, mem.Swap = &limit, &swap
	}
	res.Memory = &mem
	lin.Resources = &res
	s.Linux = &lin
	r.template = s
	return r, nil
}

// Bundle writes the bundle of raw container id (outside any timing) and returns its directory.
func (r *RawRunc) Bundle(id string) (string, error) {
	s := r.template
	lin := *s.Linux
	lin.CgroupsPath = "/" + r.CgroupParent + "/" + id
	s.Linux = &lin
	s.Hostname = id
	dir := filepath.Join(r.Dir, "bundles", id)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	b, err := json.Marshal(&s)
	if err != nil {
		return "", err
	}
	// runc's own errors go to this log (its stderr is the container's); made here, before the
	// timed start, so that runc only opens it.
	if err := os.WriteFile(filepath.Join(dir, runcLog), nil, 0o600); err != nil {
		return "", err
	}
	return dir, os.WriteFile(filepath.Join(dir, "config.json"), b, 0o600)
}

const runcLog = "runc.log"

// runc runs one runc command. With logFile (run and create, whose stderr the container
// inherits) runc writes its own errors there, and a failure carries them; else its stderr does.
func (r *RawRunc) runc(ctx context.Context, logFile string, args ...string) error {
	global := []string{"--root", r.Root}
	if logFile != "" {
		global = append(global, "--log", logFile)
	}
	cmd := exec.CommandContext(ctx, r.Binary, append(global, args...)...)
	// With --detach and no terminal the container inherits these: /dev/null.
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, nil, nil
	var errOut strings.Builder
	if logFile == "" {
		cmd.Stderr = &errOut
	}
	if err := cmd.Run(); err != nil {
		if logFile != "" {
			b, _ := os.ReadFile(logFile)
			errOut.Write(b)
		}
		return fmt.Errorf("runc %s: %w %s", strings.Join(args, " "), err, strings.TrimSpace(errOut.String()))
	}
	return nil
}

// Start starts raw container id from a bundle written by Bundle and returns how long runc took
// until the container's process was running (runc returns once it has been told to exec).
func (r *RawRunc) Start(ctx context.Context, id, bundle string, mode PeerMode) (time.Duration, error) {
	pidFile := filepath.Join(bundle, "pid")
	start := time.Now()
	var err error
	switch mode {
	case CreateStart:
		if err = r.runc(ctx, filepath.Join(bundle, runcLog), "create", "--bundle", bundle, "--pid-file", pidFile, id); err == nil {
			err = r.runc(ctx, "", "start", id)
		}
	default:
		err = r.runc(ctx, filepath.Join(bundle, runcLog), "run", "--detach", "--bundle", bundle, "--pid-file", pidFile, id)
	}
	took := time.Since(start)
	b, perr := os.ReadFile(pidFile)
	if perr == nil {
		if pid, e := strconv.Atoi(strings.TrimSpace(string(b))); e == nil {
			r.mu.Lock()
			r.pids[id] = pid
			r.mu.Unlock()
		}
	}
	if err != nil {
		_ = r.Remove(context.WithoutCancel(ctx), id)
		return took, fmt.Errorf("raw runc %s: %w", id, err)
	}
	return took, nil
}

// Pids returns the raw containers' process ids.
func (r *RawRunc) Pids() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]int, 0, len(r.pids))
	for _, p := range r.pids {
		out = append(out, p)
	}
	return out
}

// Remove kills raw container id, reaps its process and deletes it from runc and the cgroups.
func (r *RawRunc) Remove(ctx context.Context, id string) error {
	r.mu.Lock()
	pid, ok := r.pids[id]
	delete(r.pids, id)
	r.mu.Unlock()
	_ = r.runc(ctx, "", "kill", id, "KILL")
	if ok {
		// Our child when BecomeSubreaper was called; otherwise wait for it to go.
		var ws unix.WaitStatus
		if _, err := unix.Wait4(pid, &ws, 0, nil); errors.Is(err, syscall.ECHILD) {
			for i := 0; i < 500 && syscall.Kill(pid, 0) == nil; i++ {
				time.Sleep(10 * time.Millisecond)
			}
		}
	}
	err := r.runc(ctx, "", "delete", "--force", id)
	os.RemoveAll(filepath.Join(r.Dir, "bundles", id))
	return err
}

// Close removes every raw container left, the cgroup parent and the peer's directory.
func (r *RawRunc) Close(ctx context.Context) {
	r.mu.Lock()
	ids := make([]string, 0, len(r.pids))
	for id := range r.pids {
		ids = append(ids, id)
	}
	r.mu.Unlock()
	// Containers runc knows of but we lost track of, too.
	if ents, err := os.ReadDir(r.Root); err == nil {
		for _, e := range ents {
			if e.IsDir() && !slices.Contains(ids, e.Name()) {
				ids = append(ids, e.Name())
			}
		}
	}
	work := make(chan string)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for id := range work {
				if err := r.Remove(ctx, id); err != nil {
					fmt.Fprintln(os.Stderr, "remove raw container:", err)
				}
			}
		})
	}
	for _, id := range ids {
		work <- id
	}
	close(work)
	wg.Wait()
	removeCgroupParent(r.CgroupParent)
	if err := os.RemoveAll(r.Dir); err != nil {
		fmt.Fprintln(os.Stderr, "remove peer dir:", err)
	}
}

// WarmPeer runs one gantry task, which pulls the image, and while it runs copies its bundle into
// the raw runc peer; then it stops the task and waits until the runtime is empty again. The
// caller closes the peer.
func WarmPeer(ctx context.Context, g *Gantry, poll time.Duration) (*RawRunc, error) {
	cleanup := context.WithoutCancel(ctx)
	arns, err := g.RunTasks(ctx, 1)
	if err != nil {
		return nil, err
	}
	if _, err := g.WaitRunning(ctx, arns, poll, 2*time.Minute); err != nil {
		_ = g.StopTasks(cleanup, arns, 1, time.Minute)
		return nil, err
	}
	spec, err := GantryBundle(g)
	var raw *RawRunc
	if err == nil {
		raw, err = NewRawRunc(ctx, spec, g.DataDir, "")
	}
	if serr := g.StopTasks(cleanup, arns, 1, time.Minute); serr != nil && err == nil {
		err = serr
	}
	if err == nil {
		err = g.WaitRuntimeEmpty(ctx, time.Minute)
	}
	if err != nil {
		if raw != nil {
			raw.Close(cleanup)
		}
		return nil, err
	}
	return raw, nil
}
