// Package e2e runs real gantry server processes for end-to-end tests and benchmarks, which drive
// them with real clients: the aws CLI and the AWS SDK for Go v2.
package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// HealthPath is the server's readiness route: 200 once ready, 503 while starting or stopping.
const HealthPath = "/_gantry/health"

// Build compiles cmd/gantry into dir and returns the binary's path. It runs the go command in the
// current directory, which must be inside the gantry module.
func Build(ctx context.Context, dir string, race bool) (string, error) {
	bin := filepath.Join(dir, "gantry")
	args := []string{"build", "-o", bin}
	if race {
		args = append(args, "-race")
	}
	args = append(args, "github.com/gantry-dev/gantry/cmd/gantry")
	cmd := exec.CommandContext(ctx, goCommand(), args...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go %v: %w\n%s", args, err, out)
	}
	// The shim beside it, static as in a release: it is also bind-mounted as containers' init.
	shimArgs := []string{"build", "-o", filepath.Join(dir, "gantry-shim"), "github.com/gantry-dev/gantry/cmd/gantry-shim"}
	cmd = exec.CommandContext(ctx, goCommand(), shimArgs...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go %v: %w\n%s", shimArgs, err, out)
	}
	return bin, nil
}

func goCommand() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return "/usr/local/go/bin/go"
}

// Options say how to run one server.
type Options struct {
	// Binary is the gantry executable.
	Binary string
	// DataDir is passed as --data-dir; it is created if missing.
	DataDir string
	// Listen is host:port; empty picks a free loopback port.
	Listen string
	// Args are further flags for `gantry server`, such as --etcd-endpoints.
	Args []string
	// Log, when set, also receives the server's stdout and stderr as they are written.
	Log io.Writer
}

// Server is a running gantry server process.
type Server struct {
	// Addr is host:port, URL is http://Addr: the value of AWS_ENDPOINT_URL.
	Addr, URL string
	DataDir   string

	cmd     *exec.Cmd
	out     lockedBuffer
	done    chan struct{}
	waitErr error // set before done is closed
}

// Start launches a server and waits until its health route answers 200.
func Start(ctx context.Context, opt Options) (*Server, error) {
	s, err := Launch(opt)
	if err != nil {
		return nil, err
	}
	if err := s.WaitReady(ctx, 2*time.Minute); err != nil {
		s.Kill()
		return nil, err
	}
	return s, nil
}

// Launch starts a server process without waiting for it to be ready.
func Launch(opt Options) (*Server, error) {
	addr := opt.Listen
	if addr == "" {
		var err error
		if addr, err = FreeAddr(); err != nil {
			return nil, err
		}
	}
	s := &Server{Addr: addr, URL: "http://" + addr, DataDir: opt.DataDir, done: make(chan struct{})}
	args := append([]string{"server", "--listen", addr, "--data-dir", opt.DataDir}, opt.Args...)
	s.cmd = exec.Command(opt.Binary, args...)
	var w io.Writer = &s.out
	if opt.Log != nil {
		w = io.MultiWriter(&s.out, opt.Log)
	}
	s.cmd.Stdout, s.cmd.Stderr = w, w
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", opt.Binary, err)
	}
	go func() {
		s.waitErr = s.cmd.Wait()
		close(s.done)
	}()
	return s, nil
}

// WaitReady polls the health route until it answers 200, the process exits, or timeout passes.
func (s *Server) WaitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		if code, err := s.Health(ctx, client); err == nil && code == http.StatusOK {
			return nil
		}
		select {
		case <-s.done:
			return fmt.Errorf("gantry exited before it was ready (%v); output:\n%s", s.waitErr, s.Output())
		case <-ctx.Done():
			return fmt.Errorf("gantry not ready after %s; output:\n%s", timeout, s.Output())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Health returns the status code of the health route.
func (s *Server) Health(ctx context.Context, client *http.Client) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+HealthPath, nil)
	if err != nil {
		return 0, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// Stop sends SIGTERM and waits up to timeout for the process to exit, killing it after that.
// It returns the exit code, or an error when the process had to be killed.
func (s *Server) Stop(timeout time.Duration) (int, error) {
	select {
	case <-s.done:
		return s.ExitCode(), nil
	default:
	}
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return -1, fmt.Errorf("signal gantry: %w", err)
	}
	select {
	case <-s.done:
		return s.ExitCode(), nil
	case <-time.After(timeout):
		s.Kill()
		return -1, fmt.Errorf("gantry still running %s after SIGTERM; killed; output:\n%s", timeout, s.Output())
	}
}

// Kill ends the process at once and waits for it.
func (s *Server) Kill() {
	_ = s.cmd.Process.Kill()
	<-s.done
}

// Done is closed when the process has exited.
func (s *Server) Done() <-chan struct{} { return s.done }

// ExitCode is the process's exit code once Done is closed, -1 before or when killed by a signal.
func (s *Server) ExitCode() int {
	select {
	case <-s.done:
		return s.cmd.ProcessState.ExitCode()
	default:
		return -1
	}
}

// Output returns everything the process has written to stdout and stderr so far.
func (s *Server) Output() string { return s.out.String() }

// FreeAddr returns a loopback host:port that was free a moment ago.
func FreeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("pick a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
