package taskrunner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/gantry-dev/gantry/internal/image"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/runtime"
	"github.com/gantry-dev/gantry/internal/scratch"
)

var noDeadline time.Time

// pending pulls the images, prepares root filesystems, waits for the sandbox (begun with the
// network) and starts the containers in dependency order.
func (r *Runner) pending(sc *scope) (model.TaskStatus, error) {
	if r.stopRequested() || r.stop.Code != "" {
		return model.TaskStopping, nil
	}
	t0 := time.Now()
	r.startSandbox(sc.ctx, r.netnsPath) // begun in PROVISIONING, unless adopted in PENDING
	sandboxErr := r.awaitSandbox
	r.startEndpoint(sc.ctx)
	// Secrets come first, as on Fargate: "unable to pull secrets or registry auth".
	secrets, err := r.resolveSecrets(sc.stop)
	if err != nil {
		_ = sandboxErr()
		if sc.stop.Err() == nil {
			r.fail(model.StopTaskFailedToStart, err.Error())
		}
		return model.TaskStopping, nil
	}
	for _, c := range r.containers { // before setupLogs: a log option may be one of them
		c.logSecrets = secrets[c.def.Name].logOpts
	}
	imgs, err := r.pull(sc)
	if err != nil {
		_ = sandboxErr()
		return model.TaskStopping, nil // pull recorded the failure
	}
	if r.setupLogs(sc); r.stop.Code != "" {
		_ = sandboxErr()
		return model.TaskStopping, nil
	}
	t1 := time.Now()
	if err := r.prepare(imgs, secrets); err != nil {
		_ = sandboxErr()
		r.fail(model.StopTaskFailedToStart, "ResourceInitializationError: "+err.Error())
		return model.TaskStopping, nil
	}
	t2 := time.Now()
	if err := sandboxErr(); err != nil {
		r.fail(model.StopTaskFailedToStart, "ResourceInitializationError: "+err.Error())
		return model.TaskStopping, nil
	}
	if err := r.save(); err != nil { // the record must know the sandbox exists
		r.fail(model.StopTaskFailedToStart, "ResourceInitializationError: "+err.Error())
		return model.TaskStopping, nil
	}
	if err := r.awaitEndpoint(sc.ctx); err != nil {
		r.fail(model.StopTaskFailedToStart, "ResourceInitializationError: task metadata endpoint: "+err.Error())
		return model.TaskStopping, nil
	}
	t3 := time.Now()
	next, err := r.startContainers(sc)
	// Where a start's time goes, for whoever tunes it: --log-level debug.
	r.log.Debug("task start phases", "pull", t1.Sub(t0), "rootfs", t2.Sub(t1), "sandbox (beyond the rest)", t3.Sub(t2), "containers", time.Since(t3))
	return next, err
}

// pull fetches every container's image once per reference, reporting the pull times. A failure
// stops the task as ECS does: CannotPullContainerError.
func (r *Runner) pull(sc *scope) (map[string]image.Image, error) {
	// A resumed start's images were pulled before its first container started: its pull
	// times stay (the images are fetched again, from the cache while they are there).
	again := r.resumed && !r.times.PullStoppedAt.IsZero()
	if !again {
		r.times.PullStartedAt = r.now()
		r.report(sc.ctx)
	}
	byRef := map[string]image.Image{}
	imgs := map[string]image.Image{}
	tokens := map[string]bool{} // registry auth, checked once per region
	for _, c := range r.containers {
		ref := image.Resolve(c.def.Image, r.cfg.LocalRegistryHost)
		img, ok := byRef[ref]
		if !ok {
			// As the execution role, with gantry server --iam enforce.
			if reason := r.authorizePull(sc.stop, c.def.Image, tokens); reason != "" {
				if sc.stop.Err() == nil {
					c.reason = reason
					r.fail(model.StopTaskFailedToStart, reason)
				}
				return nil, errors.New(reason)
			}
			var err error
			img, err = r.cfg.Puller.Pull(sc.stop, ref, image.PullOptions{})
			if err != nil {
				if sc.stop.Err() == nil {
					reason := "CannotPullContainerError: " + err.Error()
					c.reason = reason
					r.fail(model.StopTaskFailedToStart, reason)
				}
				return nil, err
			}
			byRef[ref] = img
		}
		imgs[c.def.Name] = img
		c.digest, c.stopSignal = imageDigest(img), img.Config.StopSignal
	}
	if !again {
		r.times.PullStoppedAt = r.now()
		r.report(sc.ctx)
	}
	return imgs, nil
}

// imageDigest is the digest a user pulled by: the index's for a multi-platform image.
func imageDigest(img image.Image) string {
	if img.RepoDigest != "" {
		return img.RepoDigest
	}
	return img.Digest
}

// prepare makes the task volumes and every container's root filesystem and spec; secrets are
// the resolved values by container, which go into the specs (memory only) and nowhere else.
func (r *Runner) prepare(imgs map[string]image.Image, secrets map[string]containerSecrets) error {
	a := r.cfg.Assignment
	var apiEndpoint string
	if r.cfg.Endpoint != nil {
		apiEndpoint = fmt.Sprintf("http://%s:%d", EndpointIP, APIPort)
	}
	data := r.cfg.StateDir
	if r.cfg.Scratch != nil {
		data = ScratchDir(r.cfg.StateDir)
		// A resumed start keeps the filesystem its started containers write to.
		if !r.resumed || !scratchMounted(data) {
			if err := r.cfg.Scratch.Attach(data, int64(a.Task.EphemeralGiB())*scratch.GiB); err != nil {
				return fmt.Errorf("ephemeral storage: %w", err)
			}
		}
	}
	vols, err := volumeDirs(a.Definition.Volumes, filepath.Join(data, "volumes"))
	if err != nil {
		return err
	}
	for _, dir := range vols {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("make task volume: %w", err)
		}
	}
	// A task with an ENI resolves through its VPC's resolver, as on Fargate.
	var resolvConf string
	if n := a.Network; n != nil && n.ResolvConf() != "" {
		resolvConf = filepath.Join(r.cfg.StateDir, "resolv.conf")
		// A resumed start's running containers have it mounted: it is written only if it changed.
		if !r.resumed || !fileHolds(resolvConf, n.ResolvConf()) {
			if err := os.WriteFile(resolvConf, []byte(n.ResolvConf()), 0o644); err != nil {
				return fmt.Errorf("write resolv.conf: %w", err)
			}
		}
	}
	for _, c := range r.containers {
		if err := checkName("container", c.def.Name); err != nil {
			return err
		}
		mounts, err := mountsFor(c.def.Name, a.Definition.ContainerDefinitions, vols)
		if err != nil {
			return err
		}
		if c.started { // a resumed start's: running on the root it has
			continue
		}
		img := imgs[c.def.Name]
		ro := c.def.ReadonlyRootFilesystem != nil && *c.def.ReadonlyRootFilesystem
		dir := filepath.Join(data, "containers", c.def.Name)
		if r.resumed { // the last agent may have mounted it on the host
			if err := r.cfg.Rootfs.Release(dir); err != nil {
				return fmt.Errorf("container %q: %w", c.def.Name, err)
			}
		}
		root, err := r.cfg.Rootfs.Prepare(img, dir, ro)
		if err != nil {
			return fmt.Errorf("container %q: %w", c.def.Name, err)
		}
		c.spec = containerSpec(specInput{Task: a.Task, Def: c.def, Override: overrideFor(a.Task, c.def.Name),
			Image: img.Config, Root: root, Mounts: mounts, CredentialsID: r.credentialsID,
			APIEndpoint: apiEndpoint, Secrets: secrets[c.def.Name].env})
		c.spec.ResolvConfFile = resolvConf
	}
	return nil // pending saves the record once the sandbox exists too
}

// scratchMounted says whether the task's own filesystem is mounted at dir.
func scratchMounted(dir string) bool {
	_, _, ok := scratch.Usage(dir)
	return ok
}

func fileHolds(path, content string) bool {
	b, err := os.ReadFile(path)
	return err == nil && string(b) == content
}

// ScratchDir is where a task's own filesystem is mounted: its containers' writable layers
// (containers/<name>) and its volumes (volumes/<name>). A task without one (no Scratch, or
// started by an older gantry) has them in its state directory itself.
func ScratchDir(stateDir string) string { return filepath.Join(stateDir, "scratch") }

// startSandbox begins making the sandbox (cgroup, shim) beside the other start steps, once: it
// needs nothing from them but the path of the task's network namespace.
func (r *Runner) startSandbox(ctx context.Context, netnsPath string) {
	r.sandbox.start(ctx, func(ctx context.Context) error { return r.createSandbox(ctx, netnsPath) })
}

// awaitSandbox waits for startSandbox's work and notes whether the sandbox exists.
func (r *Runner) awaitSandbox() error {
	if err, ok := r.sandbox.take(); ok {
		r.sandboxErr = err
		if err == nil {
			r.created = true
		}
	}
	return r.sandboxErr
}

// createSandbox creates the sandbox with the task's size. It runs beside the other start steps,
// so it touches no runner state.
func (r *Runner) createSandbox(ctx context.Context, netnsPath string) error {
	t := r.cfg.Assignment.Task
	spec := runtime.TaskSpec{ID: t.ID, NetNSPath: netnsPath}
	if t.CPU != "" {
		cpu, err := model.ParseTaskCPU(t.CPU)
		if err != nil {
			return fmt.Errorf("task cpu: %w", err)
		}
		spec.CPUUnits = int64(cpu)
	}
	if t.Memory != "" {
		mem, err := model.ParseTaskMemory(t.Memory)
		if err != nil {
			return fmt.Errorf("task memory: %w", err)
		}
		spec.MemoryMiB = int64(mem)
	}
	if err := r.cfg.Runtime.CreateTask(ctx, spec); err != nil && !errors.Is(err, runtime.ErrTaskExists) {
		return fmt.Errorf("create sandbox: %w", err)
	}
	return nil
}

// startContainers starts each container once its dependencies are met, until all have started
// (RUNNING) or the task must stop.
func (r *Runner) startContainers(sc *scope) (model.TaskStatus, error) {
	for {
		deadline, progressed, err := r.startReady(sc)
		if sc.ctx.Err() != nil {
			return r.known, sc.ctx.Err()
		}
		if err != nil {
			r.fail(model.StopTaskFailedToStart, err.Error())
		}
		if r.stop.Code != "" || r.stopRequested() {
			return model.TaskStopping, nil
		}
		if r.allStarted() {
			r.times.StartedAt = r.now()
			return model.TaskRunning, nil
		}
		if !progressed { // a start may have met another container's START condition
			r.waitEvent(sc.stop, deadline)
		}
	}
}

func (r *Runner) allStarted() bool {
	for _, c := range r.containers {
		if !c.started {
			return false
		}
	}
	return true
}

// startReady starts every container whose dependencies are met. It returns the earliest
// startTimeout deadline still pending, whether it started anything, and an error when a
// container can never start.
func (r *Runner) startReady(sc *scope) (next time.Time, progressed bool, err error) {
	for _, c := range r.containers {
		if c.started {
			continue
		}
		verdict, deadline, err := r.dependencies(c)
		if err != nil {
			return noDeadline, progressed, err
		}
		if verdict == depWaiting {
			if !deadline.IsZero() && (next.IsZero() || deadline.Before(next)) {
				next = deadline
			}
			continue
		}
		if err := r.startContainer(sc, c); err != nil {
			return noDeadline, progressed, err
		}
		progressed = true
		if r.stop.Code != "" {
			return noDeadline, progressed, nil
		}
	}
	return next, progressed, nil
}

// dependencies decides whether all of c's dependsOn conditions are met.
func (r *Runner) dependencies(c *container) (depVerdict, time.Time, error) {
	verdict, next := depMet, noDeadline
	for _, dep := range c.def.DependsOn {
		t := r.container(dep.ContainerName)
		if t == nil {
			return depNever, noDeadline, fmt.Errorf("container %q depends on unknown container %q", c.def.Name, dep.ContainerName)
		}
		v, deadline, why := evalDep(dep.Condition, r.targetView(t), r.now())
		switch v {
		case depNever:
			c.reason = fmt.Sprintf("DependencyError: %s %s", dep.ContainerName, why)
			return depNever, noDeadline, fmt.Errorf("container %q cannot start: dependency %q (%s) %s",
				c.def.Name, dep.ContainerName, dep.Condition, why)
		case depWaiting:
			verdict = depWaiting
			if !deadline.IsZero() && (next.IsZero() || deadline.Before(next)) {
				next = deadline
			}
		}
	}
	return verdict, next, nil
}

func (r *Runner) targetView(t *container) targetView {
	v := targetView{Started: t.started, StartedAt: t.startedAt, Exited: t.status == model.ContainerStopped, Health: t.health}
	if t.exitCode != nil {
		v.ExitCode = *t.exitCode
	}
	if t.def.StartTimeout != nil {
		v.StartTimeout = time.Duration(*t.def.StartTimeout) * r.cfg.TimeUnit
	}
	return v
}

// startContainer starts one container and begins watching it.
func (r *Runner) startContainer(sc *scope, c *container) error {
	st, err := r.cfg.Runtime.StartContainer(sc.ctx, r.id, c.spec)
	if err != nil {
		c.reason = "CannotStartContainerError: " + err.Error()
		c.status = model.ContainerStopped
		return fmt.Errorf("container %q: %s", c.def.Name, c.reason)
	}
	c.started, c.status = true, model.ContainerRunning
	c.startedAt = st.StartedAt
	if c.startedAt.IsZero() {
		c.startedAt = r.now()
	}
	if st.Status == runtime.StatusExited {
		r.markExited(c, st, "")
	}
	if err := r.save(); err != nil {
		return err
	}
	// The last start is reported with the move to RUNNING that follows at once; a report here
	// would only make that one wait for it.
	if !r.allStarted() || r.stop.Code != "" {
		r.report(sc.ctx)
	}
	r.watch(sc.ctx, c.def.Name)
	r.startHealthCheck(sc, c)
	return nil
}
