package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// shimContainer is one container supervised by the shim.
type shimContainer struct {
	name   string
	ociID  string
	dir    string
	exited chan struct{} // closed once the exit is recorded

	mu     sync.Mutex
	rec    containerRecord
	reaped bool // the init's pid is no longer ours to signal
	// processJSON is the container's process as its bundle had it, environment included, from
	// just before the bundle's copy was scrubbed of it (scrub); execs start from it, decoded
	// into process on the first. Nil until then: the bundle still has it.
	processJSON json.RawMessage
	process     *specs.Process
}

func (c *shimContainer) snapshot() containerRecord {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rec
}

// update changes the record and persists it, so a later runtime instance can read it even when
// the shim is gone.
func (c *shimContainer) update(fn func(*containerRecord)) containerRecord {
	c.mu.Lock()
	fn(&c.rec)
	rec := c.rec
	c.mu.Unlock()
	_ = writeJSONAtomic(filepath.Join(c.dir, "status.json"), rec)
	return rec
}

func (s *shim) start(ctx context.Context, name string) (*containerRecord, error) {
	if err := validName("container name", name); err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.stopping {
		s.mu.Unlock()
		return nil, errStopping
	}
	if _, ok := s.containers[name]; ok {
		s.mu.Unlock()
		return nil, fmt.Errorf("container %q: %w", name, ErrContainerExists)
	}
	c := &shimContainer{name: name, ociID: s.rec.ID + "." + name, dir: s.dir.container(name), exited: make(chan struct{})}
	c.rec = containerRecord{Name: name, OCIID: c.ociID, Status: StatusCreated}
	s.containers[name] = c
	s.mu.Unlock()

	if reaping, err := s.launch(ctx, c); err != nil {
		rec := c.update(func(r *containerRecord) {
			r.Status, r.Error = StatusExited, err.Error()
			if !reaping {
				r.ExitCode, r.FinishedAt = -1, time.Now()
			}
		})
		if !reaping {
			close(c.exited)
		}
		return &rec, err
	}
	rec := c.snapshot()
	return &rec, nil
}

// launch runs the container and leaves a goroutine waiting for its exit; reaping says whether
// that goroutine runs (and so records the exit) even when launch failed.
func (s *shim) launch(ctx context.Context, c *shimContainer) (reaping bool, err error) {
	outR, outW, err := os.Pipe()
	if err != nil {
		return false, fmt.Errorf("stdout pipe: %w", err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return false, fmt.Errorf("stderr pipe: %w", err)
	}
	// The container's cgroup is new: any OOM kill it counts from here on is the container's.
	containerOOMBase := s.cgroups.oomKills(s.containerCgroup(c.name))
	pidFile := filepath.Join(c.dir, "init.pid")
	err = s.oci.runDetached(ctx, c.ociID, c.dir, pidFile, filepath.Join(c.dir, "runc.log"), outW, errW)
	// The container holds its own copies of the write ends now.
	outW.Close()
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		s.forget(ctx, c)
		return false, err
	}
	pid, err := readPidFile(pidFile)
	if err == nil {
		err = s.limitTaskCPU()
	}
	if err != nil {
		outR.Close()
		errR.Close()
		_ = s.oci.kill(ctx, c.ociID, unix.SIGKILL)
		s.forget(ctx, c)
		return false, err
	}
	// The container runs already; as the subreaper we collect its init once the runtime exited,
	// even if it ended before this point (it stays a zombie until reaped).
	c.update(func(r *containerRecord) { r.Pid, r.StartedAt, r.Status = pid, time.Now(), StatusRunning })
	logs, err := s.startLogs(c, outR, errR)
	if err != nil {
		outR.Close()
		errR.Close()
		_ = unix.Kill(pid, unix.SIGKILL)
		logs = closedChan()
	}
	s.reapers.Add(1)
	go func() {
		defer s.reapers.Done()
		s.reap(c, pid, logs, containerOOMBase)
	}()
	// Beside the start's reply, not in its way; shutdown waits for it.
	s.reapers.Go(func() {
		if err := c.scrub(); err != nil {
			s.logger.Error("the container's bundle still holds its environment", "container", c.name, "err", err)
		}
		if s.oci.Kind == ociRunsc {
			if err := scrubRunscState(s.oci.Root, c.ociID); err != nil {
				s.logger.Error("runsc's state still holds the container's environment", "container", c.name, "err", err)
			}
		}
	})
	if err != nil {
		<-c.exited
		return true, err
	}
	return true, nil
}

// limitTaskCPU puts the task's CPU quota on its cgroup once, after the first container's runtime
// has finished its setup (taskCPUWrites says why not before).
func (s *shim) limitTaskCPU() error {
	s.cpuLimit.Do(func() { s.cpuLimitErr = s.cgroups.limitTaskCPU(s.rec.CgroupPath, s.rec.CPUUnits) })
	return s.cpuLimitErr
}

func closedChan() <-chan struct{} {
	ch := make(chan struct{})
	close(ch)
	return ch
}

// forget removes what a failed create left in the OCI runtime.
func (s *shim) forget(ctx context.Context, c *shimContainer) {
	if s.oci.exists(c.ociID) {
		if err := s.oci.delete(ctx, c.ociID); err != nil {
			s.logger.Warn("delete failed container", "container", c.name, "err", err)
		}
	}
}

func (s *shim) containerCgroup(name string) string { return s.rec.CgroupPath + "/" + name }

// startLogs copies both streams into the container's log file until the container's last
// process closes them; the returned channel closes when both are done.
func (s *shim) startLogs(c *shimContainer, out, errs *os.File) (<-chan struct{}, error) {
	w, err := OpenLogWriter(s.rec.logFile(s.dir, c.name))
	if err != nil {
		return nil, err
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	for stream, r := range map[string]*os.File{StreamStdout: out, StreamStderr: errs} {
		wg.Go(func() {
			defer r.Close()
			if err := w.Copy(stream, r); err != nil {
				s.logger.Error("container log lost", "container", c.name, "err", err)
			}
		})
	}
	go func() {
		wg.Wait()
		w.Close()
		close(done)
	}()
	return done, nil
}

// reap waits for the container's init, records how it ended and frees the OCI runtime's state.
func (s *shim) reap(c *shimContainer, pid int, logs <-chan struct{}, oomBase uint64) {
	// Wait without reaping first: until reaped, the pid cannot be reused, so signalContainer may
	// use it as long as it sees reaped false under the lock.
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	var ws unix.WaitStatus
	c.mu.Lock()
	c.reaped = true
	for {
		_, err := unix.Wait4(pid, &ws, 0, nil)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	c.mu.Unlock()
	code := exitCode(ws)
	cg := s.containerCgroup(c.name)
	// The kernel counts an OOM kill in the cgroup whose limit was hit: the container's own, or
	// the task's when the containers together exceeded it.
	oom := code == 128+int(unix.SIGKILL) &&
		(s.cgroups.oomKills(cg) > oomBase || s.cgroups.oomKills(s.rec.CgroupPath) > s.taskOOMBase)
	select {
	case <-logs:
	case <-time.After(2 * time.Second): // a leaked descriptor must not hold the exit back
	}
	c.update(func(r *containerRecord) {
		r.Status, r.ExitCode, r.OOMKilled, r.FinishedAt = StatusExited, code, oom, time.Now()
	})
	close(c.exited)
	if err := s.oci.delete(context.Background(), c.ociID); err != nil {
		s.logger.Warn("delete exited container", "container", c.name, "err", err)
	}
}

// exitCode follows the shell's convention: 128+n for death by signal n.
func exitCode(ws unix.WaitStatus) int {
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}

func (s *shim) signal(ctx context.Context, name string, sig syscall.Signal) error {
	c, err := s.lookup(name)
	if err != nil {
		return err
	}
	return s.signalContainer(ctx, c, sig)
}

func (s *shim) signalContainer(ctx context.Context, c *shimContainer, sig syscall.Signal) error {
	c.mu.Lock()
	pid, live := c.rec.Pid, c.rec.Pid != 0 && !c.reaped
	if live && s.oci.Kind == ociRunc {
		// The init is our child and not yet reaped, so its pid cannot have been reused.
		err := unix.Kill(pid, sig)
		c.mu.Unlock()
		if err != nil && !errors.Is(err, unix.ESRCH) {
			return fmt.Errorf("signal container %q: %w", c.name, err)
		}
		return nil
	}
	c.mu.Unlock()
	if !live {
		return nil
	}
	return s.oci.kill(ctx, c.ociID, sig)
}

func (s *shim) stop(ctx context.Context, name string, sig syscall.Signal, timeout time.Duration) (*containerRecord, error) {
	c, err := s.lookup(name)
	if err != nil {
		return nil, err
	}
	rec, err := s.stopContainer(ctx, c, sig, timeout)
	return &rec, err
}

// stopContainer sends sig, waits up to timeout, then SIGKILL.
func (s *shim) stopContainer(ctx context.Context, c *shimContainer, sig syscall.Signal, timeout time.Duration) (containerRecord, error) {
	if sig == 0 {
		sig = syscall.SIGTERM
	}
	if sig != syscall.SIGKILL {
		if err := s.signalContainer(ctx, c, sig); err != nil {
			return c.snapshot(), err
		}
		select {
		case <-c.exited:
			return c.snapshot(), nil
		case <-time.After(timeout):
		}
	}
	if err := s.signalContainer(ctx, c, syscall.SIGKILL); err != nil {
		return c.snapshot(), err
	}
	select {
	case <-c.exited:
		return c.snapshot(), nil
	case <-time.After(30 * time.Second):
		return c.snapshot(), fmt.Errorf("container %q: still running 30s after SIGKILL", c.name)
	}
}

func (s *shim) wait(name string) (*containerRecord, error) {
	c, err := s.lookup(name)
	if err != nil {
		return nil, err
	}
	<-c.exited
	rec := c.snapshot()
	return &rec, nil
}

// scrub takes the environment out of a started container's bundle, keeping the bundle's process
// in memory first. The environment holds the task's secrets; once runc has started the container
// nothing reads the bundle's copy but `runc exec`, which is given the process from memory
// instead (exec): until it is in memory, exec still finds it in the bundle, which is replaced
// whole. runsc keeps a copy of the spec in its own state: scrubRunscState.
func (c *shimContainer) scrub() error {
	path := filepath.Join(c.dir, "config.json")
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("scrub bundle: %w", err)
	}
	// The spec is edited as JSON fields, not decoded whole: a fresh shim's first decode of the
	// whole spec pays the reflection over every OCI type (the scrub took 1.3 ms at the median
	// that way, 0.8 ms this way).
	var spec map[string]json.RawMessage
	if err := json.Unmarshal(b, &spec); err != nil {
		return fmt.Errorf("scrub bundle: %w", err)
	}
	process, err := takeProcessEnv(spec)
	if err != nil {
		return fmt.Errorf("scrub bundle: %w", err)
	}
	c.mu.Lock()
	c.processJSON = process
	c.mu.Unlock()
	out, err := json.Marshal(spec)
	if err != nil {
		return fmt.Errorf("scrub bundle: %w", err)
	}
	if err := writeFileAtomic(path, out, 0o600); err != nil {
		return fmt.Errorf("scrub bundle: %w", err)
	}
	return nil
}

// execProcess is the process execs start from; nil while the bundle still has it.
func (c *shimContainer) execProcess() (*specs.Process, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.process == nil && c.processJSON != nil {
		var p specs.Process
		if err := json.Unmarshal(c.processJSON, &p); err != nil {
			return nil, fmt.Errorf("the container's process: %w", err)
		}
		c.process = &p
	}
	return c.process, nil
}
