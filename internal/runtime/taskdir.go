package runtime

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// A task's state directory holds what the task owns on the host, its output aside:
//
//	<root>/tasks/<id>/task.json                  taskRecord, written once by CreateTask
//	                 shim.sock shim.pid           the shim's socket (0600) and pid
//	                 netns                        the namespace, when the runtime made it
//	                 oci/                         the OCI runtime's --root
//	                 containers/<name>/config.json, status.json, runc.log, init.pid
//
// Its output is in the task's log directory, <log root>/<id>/ (Config.LogRoot):
//
//	shim.log <name>.log                          the shim's own log, each container's output
//
// The state directory may be in memory (a tmpfs, InMemoryStateRoot): its files are small, and
// are created and replaced a dozen times in each start. The output grows with what the
// containers print and waits until it is shipped, so it stays on disk. A task recorded before
// log directories existed has no LogDir and keeps both logs in its state directory, at
// shim.log and containers/<name>/log.
//
// Both directories are 0700 and never mounted into a container, so the socket is out of reach.

type taskDir string

func (d taskDir) record() string            { return filepath.Join(string(d), "task.json") }
func (d taskDir) socket() string            { return filepath.Join(string(d), "shim.sock") }
func (d taskDir) shimPid() string           { return filepath.Join(string(d), "shim.pid") }
func (d taskDir) netns() string             { return filepath.Join(string(d), "netns") }
func (d taskDir) ociRoot() string           { return filepath.Join(string(d), "oci") }
func (d taskDir) containers() string        { return filepath.Join(string(d), "containers") }
func (d taskDir) container(n string) string { return filepath.Join(string(d), "containers", n) }
func (d taskDir) statusFile(n string) string {
	return filepath.Join(d.container(n), "status.json")
}

// taskRecord is what the shim and later runtime instances need to know about a task.
type taskRecord struct {
	ID         string `json:"id"`
	NetNSPath  string `json:"netnsPath"`
	OwnsNetNS  bool   `json:"ownsNetns"`
	CgroupPath string `json:"cgroupPath"`
	// CPUUnits is the task's CPU, put on its cgroup once a container runs (taskCPUWrites).
	CPUUnits  int64     `json:"cpuUnits,omitempty"`
	OCIBinary string    `json:"ociBinary"`
	OCIArgs   []string  `json:"ociArgs,omitempty"`
	OCIKind   string    `json:"ociKind"`
	CreatedAt time.Time `json:"createdAt"`
	// LogDir holds the shim's log and the containers' output; empty for a task recorded before
	// log directories existed, whose logs are in its state directory.
	LogDir string `json:"logDir,omitempty"`
	// Cgroups is the host's cgroup layout as the server found it, so that a shim need not read
	// the host's mount table (which grows with every running task) again; nil in a record
	// written before it was kept, when the shim reads the table itself.
	Cgroups *cgroupLayout `json:"cgroups,omitempty"`
}

// shimLog is the file the shim's stdout and stderr go to.
func (r taskRecord) shimLog(d taskDir) string {
	if r.LogDir == "" {
		return filepath.Join(string(d), "shim.log")
	}
	return filepath.Join(r.LogDir, "shim.log")
}

// logFile is the file a container's output is framed into (LogWriter).
func (r taskRecord) logFile(d taskDir, container string) string {
	if r.LogDir == "" {
		return filepath.Join(d.container(container), "log")
	}
	return filepath.Join(r.LogDir, container+".log")
}

// containerRecord is the on-disk form of a container's status, rewritten on every change.
type containerRecord struct {
	Name       string    `json:"name"`
	OCIID      string    `json:"ociId"`
	Status     Status    `json:"status"`
	Pid        int       `json:"pid,omitempty"`
	ExitCode   int       `json:"exitCode"`
	OOMKilled  bool      `json:"oomKilled,omitempty"`
	StartedAt  time.Time `json:"startedAt,omitzero"`
	FinishedAt time.Time `json:"finishedAt,omitzero"`
	Error      string    `json:"error,omitempty"`
}

func (r containerRecord) status() ContainerStatus {
	return ContainerStatus{Name: r.Name, Status: r.Status, Pid: r.Pid, ExitCode: r.ExitCode,
		OOMKilled: r.OOMKilled, StartedAt: r.StartedAt, FinishedAt: r.FinishedAt, Error: r.Error}
}

// writeJSONAtomic replaces path so readers see the old or the new content, never a mix, even
// when the writer is killed. It does not fsync: these files describe processes, which do not
// outlive the host, and a start would otherwise wait on the disk several times. A record torn
// by a host crash names a task that is gone; DeleteTask cleans up after it.
func writeJSONAtomic(path string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", filepath.Base(path), err)
	}
	return writeFileAtomic(path, data, 0o600)
}

// writeFileAtomic is writeJSONAtomic's replacement of path by data, with the file mode perm.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	return nil
}

func readJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("decode %s: %w", filepath.Base(path), err)
	}
	return nil
}
