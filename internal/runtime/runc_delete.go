package runtime

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// DeleteTask asks the shim to kill every container and exit, then removes the cgroups, the OCI
// runtime's state, the netns it created and the state directory. Whatever the shim could not do
// (it may be gone) is done here, so the call also cleans up after crashes.
func (r *Runc) DeleteTask(ctx context.Context, taskID string) error {
	if err := validName("task id", taskID); err != nil {
		return err
	}
	defer r.forgetRecord(taskID)
	d := r.dir(taskID)
	if _, err := os.Stat(string(d)); errors.Is(err, fs.ErrNotExist) {
		// The state is gone. After a reboot (the state may be in memory) nothing of the task
		// runs and only its output is left; state wiped under a running host (its tmpfs
		// unmounted or emptied) also leaves the task's processes: its shim, found by its
		// command line, and its containers, found in its cgroup.
		errs := []error{killShimsOf(d), r.cgroups.removeCgroup(r.taskCgroupPath(taskID))}
		if dir := r.logDir(taskID); dir != "" {
			if err := os.RemoveAll(dir); err != nil {
				errs = append(errs, fmt.Errorf("remove log dir: %w", err))
			}
		}
		if err := errors.Join(errs...); err != nil {
			return fmt.Errorf("delete task %q: %w", taskID, err)
		}
		return nil
	}
	var rec taskRecord
	if err := readJSON(d.record(), &rec); err != nil {
		// A create that died half way: rebuild what it may have made.
		rec = taskRecord{ID: taskID, CgroupPath: r.taskCgroupPath(taskID),
			OCIBinary: r.cfg.OCIBinary, OCIArgs: r.ociArgs, OCIKind: r.kind, LogDir: r.logDir(taskID)}
		if _, err := os.Stat(d.netns()); err == nil {
			rec.NetNSPath, rec.OwnsNetNS = d.netns(), true
		}
	}
	if c, _, err := r.client(ctx, taskID); err == nil {
		sctx, cancel := context.WithTimeout(ctx, time.Minute)
		_, err = c.call(sctx, shimRequest{Method: methodShutdown})
		cancel()
		if err != nil && !errors.Is(err, ErrShimUnavailable) {
			r.logger.Warn("shim shutdown", "task", taskID, "err", err)
		}
	}
	r.dropClient(taskID)
	if err := r.cleanup(ctx, d, rec); err != nil {
		return fmt.Errorf("delete task %q: %w", taskID, err)
	}
	return nil
}

// cleanup removes everything the task holds on the host. Each step tolerates what is already gone.
func (r *Runc) cleanup(ctx context.Context, d taskDir, rec taskRecord) error {
	var errs []error
	if err := stopShim(d); err != nil {
		errs = append(errs, err)
	}
	oci := ociCLI{Binary: rec.OCIBinary, Root: d.ociRoot(), Args: rec.OCIArgs, Kind: rec.OCIKind}
	if entries, err := os.ReadDir(d.ociRoot()); err == nil {
		for _, e := range entries {
			if err := oci.delete(ctx, e.Name()); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if err := r.cgroups.removeCgroup(rec.CgroupPath); err != nil {
		errs = append(errs, err)
	}
	if rec.OwnsNetNS {
		if err := RemoveNetNS(d.netns()); err != nil {
			errs = append(errs, err)
		}
	}
	// runsc leaves a namespace bind mount in its root; nothing may stay mounted under the dir.
	if err := unmountUnder(string(d)); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		// Keep the directory, so a later DeleteTask can finish the job.
		return errors.Join(errs...)
	}
	if err := os.RemoveAll(string(d)); err != nil {
		return fmt.Errorf("remove task dir: %w", err)
	}
	if rec.LogDir != "" {
		if err := os.RemoveAll(rec.LogDir); err != nil {
			return fmt.Errorf("remove task log dir: %w", err)
		}
	}
	return nil
}

// stopShim kills the task's shim if it still runs and waits until it is gone.
func stopShim(d taskDir) error {
	pid := liveShimPid(d)
	if pid == 0 {
		return nil
	}
	// A shim that was told to shut down exits by itself in a moment; only a stuck one is killed.
	grace := time.Now().Add(2 * time.Second)
	deadline := grace.Add(5 * time.Second)
	killed := false
	for liveShimPid(d) != 0 {
		if now := time.Now(); now.After(deadline) {
			return fmt.Errorf("shim %d still running", pid)
		} else if now.After(grace) && !killed {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			killed = true
		}
		time.Sleep(5 * time.Millisecond)
	}
	return nil
}

// taskCgroupPath is the cgroup of task taskID, under every hierarchy.
func (r *Runc) taskCgroupPath(taskID string) string { return "/" + r.cfg.CgroupParent + "/" + taskID }

// killShimsOf kills the shims, if any, started for the task directory d (isShimOf).
func killShimsOf(d taskDir) error {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return fmt.Errorf("find shims: %w", err)
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid <= 1 {
			continue
		}
		if isShimOf(pid, d) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	return nil
}

// isShimOf says whether process pid's command line is that of a shim the runtime started for
// the task directory d: it holds "--dir d".
func isShimOf(pid int, d taskDir) bool {
	cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	return err == nil && bytes.Contains(cmdline, []byte("\x00--dir\x00"+string(d)+"\x00"))
}

// liveShimPid returns the pid of the task's shim if it is alive. The pid is checked against the
// process's command line, so a recycled pid is never mistaken for the shim.
func liveShimPid(d taskDir) int {
	data, err := os.ReadFile(d.shimPid())
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 {
		return 0
	}
	if !isShimOf(pid, d) {
		return 0
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// The state follows the command name, which ends with the last ')'.
	if i := bytes.LastIndexByte(stat, ')'); i < 0 || i+2 >= len(stat) || stat[i+2] == 'Z' {
		return 0
	}
	return pid
}

// unmountUnder detaches every mount at or below dir, deepest first. A point can hold mounts
// stacked on each other, and the walk sees the top one only: it looks again until none is left.
func unmountUnder(dir string) error {
	for range 8 {
		points, err := mountsUnder(dir)
		if err != nil || len(points) == 0 {
			return err
		}
		sort.Sort(sort.Reverse(sort.StringSlice(points)))
		var errs []error
		for _, p := range points {
			if err := syscall.Unmount(p, syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) {
				errs = append(errs, fmt.Errorf("unmount %s: %w", p, err))
			}
		}
		if len(errs) > 0 {
			return errors.Join(errs...)
		}
	}
	return fmt.Errorf("unmount under %s: mounts are still stacked there", dir)
}

// mountsUnder lists the mount points at or below dir. It walks dir, asking the kernel of each
// entry whether it is the root of a mount, and does not descend into one (detaching it detaches
// what is mounted inside): a stop costs what its own directory holds. Reading the host's mount
// table instead cost a few ms per stop with a few hundred tasks, as each adds its own mounts.
// A kernel that cannot say (before Linux 5.8) gets the mount table read.
func mountsUnder(dir string) ([]string, error) {
	var points []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		root, err := isMountRoot(path)
		if errors.Is(err, unix.ENOENT) {
			return nil
		}
		if err != nil {
			return err
		}
		if root {
			points = append(points, path)
			if d.IsDir() && path != dir {
				return fs.SkipDir
			}
		}
		return nil
	})
	if errors.Is(err, errNoMountRoot) {
		return mountsUnderFromTable(dir)
	}
	return points, err
}

var errNoMountRoot = errors.New("the kernel does not report mount roots (Linux 5.8 or later needed)")

// isMountRoot says whether path (not followed if a symlink) is the root of a mount; errNoMountRoot
// when the kernel cannot say.
func isMountRoot(path string) (bool, error) {
	var st unix.Statx_t
	if err := unix.Statx(unix.AT_FDCWD, path, unix.AT_SYMLINK_NOFOLLOW|unix.AT_NO_AUTOMOUNT, unix.STATX_TYPE, &st); err != nil {
		return false, fmt.Errorf("statx %s: %w", path, err)
	}
	if st.Attributes_mask&unix.STATX_ATTR_MOUNT_ROOT == 0 {
		return false, errNoMountRoot
	}
	return st.Attributes&unix.STATX_ATTR_MOUNT_ROOT != 0, nil
}

// mountsUnderFromTable lists the mount points at or below dir from the mount table.
func mountsUnderFromTable(dir string) ([]string, error) {
	return mountPointsUnder("/proc/self/mountinfo", dir)
}

// mountPointsUnder lists the mount points at or below dir in a mountinfo file, unescaped.
func mountPointsUnder(table, dir string) ([]string, error) {
	data, err := os.ReadFile(table)
	if err != nil {
		return nil, fmt.Errorf("read mountinfo: %w", err)
	}
	var points []string
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) <= 4 {
			continue
		}
		if mp := unescapeMountinfo(f[4]); under(mp, dir) {
			points = append(points, mp)
		}
	}
	return points, nil
}

// unescapeMountinfo undoes the kernel's octal escapes in mountinfo (\040 for a space, \011,
// \012, \134).
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// under says whether path is dir or below it.
func under(path, dir string) bool {
	return path == dir || dir == "/" || strings.HasPrefix(path, dir+"/")
}
