package taskrunner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gantry-dev/gantry/internal/logx"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/runtime"
	"github.com/gantry-dev/gantry/internal/scratch"
	"golang.org/x/sys/unix"
)

// defaultStopTimeout is ECS's stopTimeout when a container sets none, in seconds.
const defaultStopTimeout = 30

// stopping stops the running containers in reverse dependency order, each with its image's
// STOPSIGNAL (else SIGTERM) and SIGKILL after its stopTimeout.
func (r *Runner) stopping(sc *scope) (model.TaskStatus, error) {
	r.stopHealthChecks(sc)
	if r.created {
		for _, level := range stopLevels(r.cfg.Assignment.Definition.ContainerDefinitions) {
			r.stopLevel(sc.ctx, level)
			if sc.ctx.Err() != nil {
				return r.known, sc.ctx.Err()
			}
		}
	}
	r.drainEvents(sc.ctx)
	for _, c := range r.containers {
		if c.status != model.ContainerStopped && !c.started {
			c.status = model.ContainerStopped // never started
		}
	}
	r.times.ExecutionStoppedAt = r.now()
	return model.TaskDeprovisioning, nil
}

// stopLevel stops the level's running containers together.
func (r *Runner) stopLevel(ctx context.Context, names []string) {
	type result struct {
		c   *container
		st  runtime.ContainerStatus
		err error
	}
	results := make(chan result, len(names))
	var wg sync.WaitGroup
	for _, n := range names {
		c := r.container(n)
		if c == nil || !c.started || c.status == model.ContainerStopped {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, err := r.cfg.Runtime.StopContainer(ctx, r.id, n, stopSignal(c.stopSignal), r.stopTimeout(c))
			results <- result{c, st, err}
		}()
	}
	wg.Wait()
	close(results)
	for res := range results {
		if res.err != nil {
			if ctx.Err() == nil {
				r.log.Warn("stop container", "container", res.c.def.Name, logx.KeyError, res.err)
			}
			continue
		}
		r.markExited(res.c, res.st, "")
	}
}

func (r *Runner) stopTimeout(c *container) time.Duration {
	s := defaultStopTimeout
	if c.def.StopTimeout != nil {
		s = *c.def.StopTimeout
	}
	return time.Duration(s) * r.cfg.TimeUnit
}

// stopSignal reads an image's STOPSIGNAL ("SIGTERM", "TERM" or "15"); SIGTERM when unset or unknown.
func stopSignal(s string) syscall.Signal {
	s = strings.ToUpper(strings.TrimSpace(s))
	if s == "" {
		return syscall.SIGTERM
	}
	if n, err := strconv.Atoi(s); err == nil && n > 0 && n < 65 {
		return syscall.Signal(n)
	}
	if !strings.HasPrefix(s, "SIG") {
		s = "SIG" + s
	}
	if sig := unix.SignalNum(s); sig != 0 {
		return sig
	}
	return syscall.SIGTERM
}

// drainEvents applies the container events already waiting, without blocking.
func (r *Runner) drainEvents(ctx context.Context) {
	for {
		select {
		case ev := <-r.events:
			r.apply(ctx, ev)
		default:
			return
		}
	}
}

// deprovisioning removes the sandbox, the root filesystems and the network. Failures are
// logged: the task is stopped either way, and what leaked is named in the log.
func (r *Runner) deprovisioning(sc *scope) (model.TaskStatus, error) {
	_ = r.awaitSandbox() // one still being made is deleted below, not beside its creation
	r.settleEndpoint()
	r.closeEndpoint()
	if err := r.release(sc.ctx, r.cfg.Network); err != nil {
		if sc.ctx.Err() != nil {
			return r.known, sc.ctx.Err()
		}
		r.log.Error("release task resources", logx.KeyError, err)
		r.leaked = true // keep the state dir: a live mount may sit under it
	}
	return model.TaskStopped, nil
}

// release is Release of this task's sandbox, filesystems and, through network, its network.
func (r *Runner) release(ctx context.Context, network Network) error {
	names := make([]string, len(r.containers))
	for i, c := range r.containers {
		names[i] = c.def.Name
	}
	return Release(ctx, ReleaseConfig{Runtime: r.cfg.Runtime, Rootfs: r.cfg.Rootfs, Network: network,
		StateDir: r.cfg.StateDir}, r.id, names)
}

// ReleaseConfig is what Release needs.
type ReleaseConfig struct {
	Runtime  runtime.Runtime
	Rootfs   Rootfs
	Network  Network
	StateDir string
}

// Release deletes a task's sandbox, unmounts its containers' root filesystems (the named ones
// and any found under StateDir) and then its own filesystem, which frees its ephemeral storage
// at once, and releases its network. The agent calls it for tasks found on the host that nobody
// runs any more. It is idempotent and keeps StateDir, which holds no mount once it succeeds.
func Release(ctx context.Context, cfg ReleaseConfig, taskID string, containers []string) error {
	if cfg.Rootfs == nil {
		cfg.Rootfs = Overlay{}
	}
	if cfg.Network == nil {
		cfg.Network = Loopback{}
	}
	var errs []error
	if err := cfg.Runtime.DeleteTask(ctx, taskID); err != nil {
		errs = append(errs, fmt.Errorf("delete sandbox: %w", err))
	}
	for _, data := range []string{cfg.StateDir, ScratchDir(cfg.StateDir)} {
		seen := map[string]bool{}
		for _, n := range containers {
			seen[n] = true
		}
		if ents, err := os.ReadDir(filepath.Join(data, "containers")); err == nil {
			for _, e := range ents {
				seen[e.Name()] = true
			}
		}
		for n := range seen {
			if err := cfg.Rootfs.Release(filepath.Join(data, "containers", n)); err != nil {
				errs = append(errs, fmt.Errorf("container %q: %w", n, err))
			}
		}
	}
	if err := scratch.Detach(ScratchDir(cfg.StateDir)); err != nil {
		errs = append(errs, fmt.Errorf("ephemeral storage: %w", err))
	}
	if err := cfg.Network.Release(ctx, taskID); err != nil {
		errs = append(errs, fmt.Errorf("release network: %w", err))
	}
	return errors.Join(errs...)
}
