package runtime

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
	"sync"
	"sync/atomic"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

const (
	defaultExecTimeout = 30 * time.Second
	defaultExecOutput  = 64 << 10
)

var execSeq atomic.Uint64

// exec runs a command in a running container through the OCI runtime, which gives it the
// container's user, capabilities, seccomp profile and environment.
func (s *shim) exec(ctx context.Context, name string, spec *ExecSpec) (*ExecResult, error) {
	c, err := s.lookup(name)
	if err != nil {
		return nil, err
	}
	if spec == nil || len(spec.Args) == 0 {
		return nil, fmt.Errorf("exec: args: at least one is required: %w", ErrInvalidSpec)
	}
	if rec := c.snapshot(); rec.Status != StatusRunning {
		return nil, fmt.Errorf("exec in container %q: container is %s", name, rec.Status)
	}
	timeout := spec.Timeout
	if timeout <= 0 {
		timeout = defaultExecTimeout
	}
	limit := spec.MaxOutput
	if limit <= 0 {
		limit = defaultExecOutput
	}
	pidFile := filepath.Join(c.dir, "exec-"+strconv.FormatUint(execSeq.Add(1), 10)+".pid")
	defer os.Remove(pidFile)
	args := []string{"exec", "--pid-file", pidFile}
	var processR *os.File // the read end of a pipe carrying the process, when it is given whole
	base, err := c.execProcess()
	if err != nil {
		return nil, fmt.Errorf("exec in container %q: %w", name, err)
	}
	if base != nil {
		r, err := processPipe(base, spec)
		if err != nil {
			return nil, fmt.Errorf("exec in container %q: %w", name, err)
		}
		defer r.Close()
		processR = r
		args = append(args, "--process", "/proc/self/fd/3", c.ociID)
	} else {
		for _, e := range spec.Env {
			args = append(args, "--env", e)
		}
		args = append(append(args, c.ociID), spec.Args...)
	}
	// Not CommandContext: on timeout the process in the container is killed, so the runtime can
	// still reap it and exit cleanly rather than leave an orphan behind.
	cmd := s.oci.command(context.WithoutCancel(ctx), args...)
	out := &limitedBuffer{max: limit}
	cmd.Stdout, cmd.Stderr = out, out
	if processR != nil {
		cmd.ExtraFiles = []*os.File{processR}
	}
	cmd.WaitDelay = time.Second
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("exec in container %q: %w", name, err)
	}
	waitErr := make(chan error, 1)
	go func() { waitErr <- cmd.Wait() }()
	var timedOut bool
	select {
	case err = <-waitErr:
	case <-time.After(timeout):
		timedOut = true
		killExec(pidFile, cmd)
		err = <-waitErr
	}
	res := &ExecResult{ExitCode: cmd.ProcessState.ExitCode(), Output: out.bytes(), TimedOut: timedOut}
	if timedOut {
		res.ExitCode = -1
		return res, nil
	}
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		return nil, fmt.Errorf("exec in container %q: %w", name, err)
	}
	return res, nil
}

// processPipe returns the read end of a pipe from which the OCI runtime reads the exec's process:
// the container's own (user, capabilities, environment, limits) with the exec's arguments and
// extra environment, as `runc exec` would make it from the bundle. It never touches the disk.
func processPipe(base *specs.Process, spec *ExecSpec) (*os.File, error) {
	p := *base
	p.Args = slices.Clone(spec.Args)
	p.Env = append(slices.Clone(base.Env), spec.Env...)
	p.Terminal, p.ConsoleSize = false, nil
	b, err := json.Marshal(&p)
	if err != nil {
		return nil, err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	go func() { // a large environment may not fit the pipe's buffer before the runtime reads
		_, _ = w.Write(b)
		w.Close()
	}()
	return r, nil
}

// killExec kills the exec'd process, or the runtime itself if it has not started one yet.
func killExec(pidFile string, cmd *exec.Cmd) {
	if pid, err := readPidFile(pidFile); err == nil {
		_ = unix.Kill(pid, unix.SIGKILL)
		return
	}
	_ = cmd.Process.Kill()
}

// limitedBuffer keeps the first max bytes written to it and drops the rest.
type limitedBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := b.max - len(b.buf); room > 0 {
		b.buf = append(b.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (b *limitedBuffer) bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]byte(nil), b.buf...)
}
