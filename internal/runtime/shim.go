package runtime

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	goruntime "runtime"
	"runtime/debug"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// ShimMain runs the per-task shim; cmd/gantry calls it for "gantry shim --dir <task dir>". The
// shim is started in its own session by the runtime, becomes the child subreaper of its
// containers, and serves the task's socket until told to shut down. It returns the exit code.
func ShimMain(args []string) int {
	fs := flag.NewFlagSet("shim", flag.ContinueOnError)
	dir := fs.String("dir", "", "task state directory")
	readyFD := fs.Int("ready-fd", 3, "file descriptor to report readiness on")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ready := os.NewFile(uintptr(*readyFD), "ready")
	// A shim waits almost all its life, one per task: one P is plenty, and each P costs memory.
	// The runtime starts it with GOMAXPROCS=1 in its environment (a process that starts with one
	// P costs a fifth less CPU than one that drops to one); the OCI runtime it runs must not
	// inherit that, as runc hands it on to its init.
	goruntime.GOMAXPROCS(1)
	os.Unsetenv("GOMAXPROCS")
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil)).With("component", "shim", "dir", *dir)
	s, err := newShim(taskDir(*dir), logger)
	if err == nil {
		err = s.listen()
	}
	if err != nil {
		fmt.Fprintf(ready, "error: %v\n", err)
		ready.Close()
		return 1
	}
	fmt.Fprintln(ready, "ok")
	ready.Close()
	s.serve()
	return 0
}

// shim serves one task.
type shim struct {
	dir     taskDir
	rec     taskRecord
	oci     ociCLI
	cgroups cgroupLayout
	logger  *slog.Logger
	ln      net.Listener
	// taskOOMBase is the task cgroup's OOM kill count when the shim started.
	taskOOMBase uint64
	// cpuLimit puts the task's CPU quota on its cgroup after the first container runs.
	cpuLimit    sync.Once
	cpuLimitErr error

	// reapers counts the goroutines that wait for container exits or scrub the environment from
	// the spec's copies on disk; shutdown waits for them, so no OCI runtime command runs, and no
	// bundle or runsc state is written, after the shim has answered.
	reapers sync.WaitGroup

	mu         sync.Mutex
	containers map[string]*shimContainer
	stopping   bool
	trimTimer  *time.Timer

	doneOnce sync.Once
	done     chan struct{} // closed when shutdown is complete and answered
}

func newShim(dir taskDir, logger *slog.Logger) (*shim, error) {
	var rec taskRecord
	if err := readJSON(dir.record(), &rec); err != nil {
		return nil, fmt.Errorf("read task record: %w", err)
	}
	layout, err := shimCgroups(rec)
	if err != nil {
		return nil, err
	}
	// Our containers' init processes re-parent to us when runc exits, so we can wait for them.
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return nil, fmt.Errorf("become subreaper: %w", err)
	}
	// Keep no mount busy through our working directory, and survive our old terminal going.
	if err := os.Chdir("/"); err != nil {
		return nil, fmt.Errorf("chdir: %w", err)
	}
	signal.Ignore(syscall.SIGHUP, syscall.SIGINT, syscall.SIGPIPE)
	s := &shim{
		dir: dir, rec: rec, cgroups: layout, logger: logger,
		oci:        ociCLI{Binary: rec.OCIBinary, Root: dir.ociRoot(), Args: rec.OCIArgs, Kind: rec.OCIKind},
		containers: map[string]*shimContainer{},
		done:       make(chan struct{}),
	}
	s.taskOOMBase = layout.oomKills(rec.CgroupPath)
	return s, nil
}

// shimCgroups is the cgroup layout the server recorded for the task, or the host's as read now
// for a task recorded without one.
func shimCgroups(rec taskRecord) (cgroupLayout, error) {
	if rec.Cgroups != nil && len(rec.Cgroups.Controllers) > 0 {
		return *rec.Cgroups, nil
	}
	return detectCgroups()
}

func (s *shim) listen() error {
	_ = os.Remove(s.dir.socket())
	addr, done, err := shortUnixPath(s.dir.socket())
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	old := unix.Umask(0o177) // the socket is born 0600
	ln, err := net.Listen("unix", addr)
	unix.Umask(old)
	done()
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	// serve removes it by its real path; addr may name it through a descriptor now closed.
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	if err := os.Chmod(s.dir.socket(), 0o600); err != nil {
		ln.Close()
		return fmt.Errorf("chmod socket: %w", err)
	}
	s.ln = ln
	return os.WriteFile(s.dir.shimPid(), []byte(strconv.Itoa(os.Getpid())), 0o600)
}

func (s *shim) serve() {
	go func() {
		for {
			conn, err := s.ln.Accept()
			if err != nil {
				return
			}
			go s.serveConn(conn)
		}
	}()
	<-s.done
	s.ln.Close()
	os.Remove(s.dir.socket())
}

func (s *shim) serveConn(conn net.Conn) {
	defer conn.Close()
	var wmu sync.Mutex
	sc := bufio.NewScanner(conn)
	sc.Buffer(make([]byte, 4<<10), 4<<20) // grows for the rare large request
	for sc.Scan() {
		var req shimRequest
		if err := json.Unmarshal(sc.Bytes(), &req); err != nil {
			return
		}
		go func() {
			resp := s.handle(req)
			resp.ID = req.ID
			line, _ := json.Marshal(resp)
			wmu.Lock()
			_, _ = conn.Write(append(line, '\n'))
			wmu.Unlock()
			switch req.Method {
			case methodShutdown:
				// Only now that the reply is out may the process end.
				s.doneOnce.Do(func() { close(s.done) })
			case methodStart, methodExec:
				s.trim()
			}
		}()
	}
}

// trim gives the memory a start or an exec used back to the system, once the burst of them is
// over: a shim then sits idle for the task's life, and there is one per task.
func (s *shim) trim() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.trimTimer == nil {
		s.trimTimer = time.AfterFunc(trimDelay, debug.FreeOSMemory)
		return
	}
	s.trimTimer.Reset(trimDelay)
}

// trimDelay is how long after the last start or exec a shim returns its free memory.
const trimDelay = 200 * time.Millisecond

func (s *shim) handle(req shimRequest) shimResponse {
	ctx := context.Background()
	var resp shimResponse
	var err error
	switch req.Method {
	case methodStart:
		resp.Status, err = s.start(ctx, req.Name)
	case methodSignal:
		err = s.signal(ctx, req.Name, syscall.Signal(req.Signal))
	case methodStop:
		resp.Status, err = s.stop(ctx, req.Name, syscall.Signal(req.Signal), req.Timeout)
	case methodWait:
		resp.Status, err = s.wait(req.Name)
	case methodState:
		resp.States = s.states()
	case methodExec:
		resp.Exec, err = s.exec(ctx, req.Name, req.Exec)
	case methodShutdown:
		s.shutdown(ctx)
	default:
		err = fmt.Errorf("unknown method %q", req.Method)
	}
	if err != nil {
		resp.Error, resp.Code = err.Error(), errorCode(err)
	}
	return resp
}

func (s *shim) lookup(name string) (*shimContainer, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.containers[name]
	if !ok {
		return nil, fmt.Errorf("container %q: %w", name, ErrContainerNotFound)
	}
	return c, nil
}

func (s *shim) states() []containerRecord {
	s.mu.Lock()
	list := make([]*shimContainer, 0, len(s.containers))
	for _, c := range s.containers {
		list = append(list, c)
	}
	s.mu.Unlock()
	out := make([]containerRecord, 0, len(list))
	for _, c := range list {
		out = append(out, c.snapshot())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// shutdown kills every container, waits for them, removes the OCI runtime's state and ends the
// shim once the reply is sent. Cgroups and the netns are the caller's to remove.
func (s *shim) shutdown(ctx context.Context) {
	s.mu.Lock()
	if s.stopping {
		s.mu.Unlock()
		return
	}
	s.stopping = true
	list := make([]*shimContainer, 0, len(s.containers))
	for _, c := range s.containers {
		list = append(list, c)
	}
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, c := range list {
		wg.Go(func() {
			if _, err := s.stopContainer(ctx, c, syscall.SIGKILL, 0); err != nil {
				s.logger.Warn("kill container at shutdown", "container", c.name, "err", err)
			}
			if s.oci.exists(c.ociID) {
				if err := s.oci.delete(ctx, c.ociID); err != nil {
					s.logger.Warn("delete container at shutdown", "container", c.name, "err", err)
				}
			}
		})
	}
	wg.Wait()
	s.reapers.Wait()
}

var errStopping = errors.New("task is shutting down")
