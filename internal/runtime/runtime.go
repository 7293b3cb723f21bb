// Package runtime runs task sandboxes: groups of OCI containers sharing one network namespace and
// one task cgroup, each task supervised by its own long-lived shim process.
package runtime

import (
	"context"
	"errors"
	"syscall"
	"time"
)

// Runtime runs tasks. A task is created once (sandbox: state dir, netns, cgroup, shim), then its
// containers are started one by one, so the caller can honour start-order dependencies.
// Implementations keep no state in memory that cannot be rebuilt from disk: a new instance over the
// same state root re-adopts every live task.
type Runtime interface {
	CreateTask(ctx context.Context, spec TaskSpec) error
	StartContainer(ctx context.Context, taskID string, spec ContainerSpec) (ContainerStatus, error)
	SignalContainer(ctx context.Context, taskID, name string, sig syscall.Signal) error
	// StopContainer sends sig (SIGTERM when zero), waits up to timeout, then sends SIGKILL. It
	// returns the final status.
	StopContainer(ctx context.Context, taskID, name string, sig syscall.Signal, timeout time.Duration) (ContainerStatus, error)
	// WaitContainer blocks until the container has exited.
	WaitContainer(ctx context.Context, taskID, name string) (ContainerStatus, error)
	Exec(ctx context.Context, taskID, name string, spec ExecSpec) (ExecResult, error)
	TaskState(ctx context.Context, taskID string) (TaskState, error)
	ListTasks(ctx context.Context) ([]string, error)
	// ReadLogs returns complete log lines from byte offset on, at most max entries, and the offset
	// to continue from.
	ReadLogs(ctx context.Context, taskID, name string, offset int64, max int) ([]LogEntry, int64, error)
	// TrimLogs frees the disk the container's log takes before offset before, keeping at least
	// keepTail bytes at its end; offsets stay valid. Output nobody will read again must not
	// fill the host's disk while a task runs.
	TrimLogs(ctx context.Context, taskID, name string, before, keepTail int64) error
	// DeleteTask kills every container and removes everything the task holds. It is idempotent.
	DeleteTask(ctx context.Context, taskID string) error
	Close() error
}

// Errors callers can test with errors.Is.
var (
	ErrTaskNotFound      = errors.New("task not found")
	ErrContainerNotFound = errors.New("container not found")
	ErrTaskExists        = errors.New("task already exists")
	ErrContainerExists   = errors.New("container already exists")
	ErrInvalidSpec       = errors.New("invalid spec")
	ErrShimUnavailable   = errors.New("shim unavailable")
)

// TaskSpec describes a task's sandbox.
type TaskSpec struct {
	ID string
	// NetNSPath is the network namespace all containers join. Empty means the runtime creates one
	// with only loopback up, and removes it with the task.
	NetNSPath string
	// CPUUnits: 1024 units are one CPU; zero means no task-level CPU limit.
	CPUUnits int64
	// MemoryMiB is the task's hard memory limit; zero means none.
	MemoryMiB int64
}

// Overlay is an overlayfs: Lower are its read-only layers, top first; writes go to Upper, which
// needs Work on the same filesystem.
type Overlay struct {
	Lower       []string
	Upper, Work string
}

// ContainerSpec describes one container of a task.
type ContainerSpec struct {
	Name   string
	Rootfs string // absolute host path, prepared by the caller
	// RootOverlay, when set, is the root filesystem as an overlay that runc mounts at the
	// container's "/" inside the container's own mount namespace; Rootfs is then the empty
	// directory it goes on. The host's mount table never holds it: runc reads that table whole
	// several times per start, and every running task's mounts make it longer. The runtime reads
	// the image's files (users, the working directory) from the overlay's directories as
	// overlayfs merges them. runsc does not take it.
	RootOverlay *Overlay
	// ReadonlyRootfs mounts the root filesystem read-only.
	ReadonlyRootfs bool
	Args           []string
	Env            []string // KEY=value
	Cwd            string   // default "/"
	// User is "uid", "uid:gid", "name", "name:group"; names resolve from the rootfs' /etc files.
	User     string
	Hostname string
	// CPUUnits become cpu.shares (minimum 2, as ECS does); zero means the minimum.
	CPUUnits int64
	// MemoryMiB is the hard limit, MemoryReservationMiB the soft limit; zero means none.
	MemoryMiB            int64
	MemoryReservationMiB int64
	PidsLimit            int64 // zero means DefaultPidsLimit
	Ulimits              []Ulimit
	Mounts               []Mount
	HostsFile            string // host path bound at /etc/hosts when set
	ResolvConfFile       string // host path bound at /etc/resolv.conf when set
	Sysctls              map[string]string
	// AddSysPtrace adds CAP_SYS_PTRACE to the default set; DropCapabilities removes from it.
	AddSysPtrace     bool
	DropCapabilities []string
	// InitProcessEnabled runs a tiny init as pid 1 that reaps zombies and forwards signals.
	InitProcessEnabled bool
}

// DefaultPidsLimit bounds a container's processes when the caller sets no limit.
const DefaultPidsLimit = 4096

// Ulimit is one resource limit; Name is the ECS/Docker name such as "nofile".
type Ulimit struct {
	Name string
	Soft uint64
	Hard uint64
}

// Mount binds a host path into the container.
type Mount struct {
	Source      string
	Destination string
	ReadOnly    bool
}

// ExecSpec is a command run inside a running container, such as a health check.
type ExecSpec struct {
	Args    []string
	Env     []string
	Timeout time.Duration // default 30s
	// MaxOutput caps the captured combined output; default 64 KiB.
	MaxOutput int
}

// ExecResult is the outcome of an exec. TimedOut results have ExitCode -1.
type ExecResult struct {
	ExitCode int
	Output   []byte
	TimedOut bool
}

// Status is a container's lifecycle state.
type Status string

// Container states.
const (
	StatusCreated Status = "created"
	StatusRunning Status = "running"
	StatusExited  Status = "exited"
	// StatusUnknown is reported when the shim is gone and no exit was recorded.
	StatusUnknown Status = "unknown"
)

// ContainerStatus is what the runtime knows of one container.
type ContainerStatus struct {
	Name       string
	Status     Status
	Pid        int
	ExitCode   int
	OOMKilled  bool
	StartedAt  time.Time
	FinishedAt time.Time
	// Error says why the container failed to start, if it did.
	Error string
}

// TaskState is the state of a task's containers, sorted by name.
type TaskState struct {
	ID         string
	NetNSPath  string
	ShimPid    int
	Containers []ContainerStatus
}

// Container returns the named container's status.
func (s TaskState) Container(name string) (ContainerStatus, bool) {
	for _, c := range s.Containers {
		if c.Name == name {
			return c, true
		}
	}
	return ContainerStatus{}, false
}
