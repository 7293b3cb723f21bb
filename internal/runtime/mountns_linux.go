package runtime

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// mountTemplate is a mount namespace copied from the host's without the mounts under a
// directory (gantry's data dir) but those of the state and log roots. Every task's shim starts
// in a copy of it, and the task's own mounts (its filesystem, its network namespace, a root
// overlay mounted on the host) are cloned into the shim's copy before its containers start
// (share). runc, which reads the whole mount table of its namespace several times in every start
// and exec, then reads the host's base mounts and its own task's, however many tasks the host
// runs; the host's table, where the agent keeps using every mount, is unchanged.
type mountTemplate struct {
	ns *os.File // the namespace's nsfs file
}

// newMountTemplate makes the template. keep are paths under dir that the shims use themselves
// (the state root, the log root): the mounts they are on stay, made private in the template so
// that what the host mounts beneath them later does not reach it on a host whose mounts are
// shared.
func newMountTemplate(dir string, keep ...string) (*mountTemplate, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	keep = slices.DeleteFunc(slices.Clone(keep), func(k string) bool { return k == "" })
	for i, k := range keep {
		if keep[i], err = filepath.Abs(k); err != nil {
			return nil, err
		}
	}
	if dir == "/" {
		return nil, errors.New("the directory of the tasks' mounts cannot be /")
	}
	if _, err := mountRoots("/"); err != nil { // statx's mount-root attribute: Linux 5.8
		return nil, err
	}
	var ns *os.File
	err = onThrowawayThread(func() (err error) {
		ns, err = makeTemplate(dir, keep)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("mount namespace template: %w", err)
	}
	return &mountTemplate{ns: ns}, nil
}

func makeTemplate(dir string, keep []string) (*os.File, error) {
	if err := unix.Unshare(unix.CLONE_FS | unix.CLONE_NEWNS); err != nil {
		return nil, fmt.Errorf("unshare: %w", err)
	}
	// Unmounts on the host still reach the copies (a slave receives them), so no copy pins a
	// filesystem the host let go of.
	if err := unix.Mount("", "/", "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
		return nil, fmt.Errorf("make slave: %w", err)
	}
	points, err := mountPointsUnder("/proc/thread-self/mountinfo", dir)
	if err != nil {
		return nil, err
	}
	var drop []string
	for _, mp := range points {
		if mp == dir {
			continue
		}
		if slices.ContainsFunc(keep, func(k string) bool { return under(k, mp) }) {
			if err := unix.Mount("", mp, "", unix.MS_PRIVATE, ""); err != nil {
				return nil, fmt.Errorf("make %s private: %w", mp, err)
			}
			continue
		}
		drop = append(drop, mp)
	}
	// Deepest first; a mount already gone with its parent is not an error.
	slices.SortFunc(drop, func(a, b string) int { return len(b) - len(a) })
	for _, mp := range drop {
		if err := unix.Unmount(mp, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
			return nil, fmt.Errorf("detach %s: %w", mp, err)
		}
	}
	return os.Open("/proc/thread-self/ns/mnt")
}

// start starts cmd in a copy of the template.
func (t *mountTemplate) start(cmd *exec.Cmd) error {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Cloneflags |= unix.CLONE_NEWNS
	return onThrowawayThread(func() error {
		if err := unix.Unshare(unix.CLONE_FS); err != nil {
			return fmt.Errorf("unshare: %w", err)
		}
		if err := unix.Setns(int(t.ns.Fd()), unix.CLONE_NEWNS); err != nil {
			return fmt.Errorf("enter mount namespace template: %w", err)
		}
		return cmd.Start() // the child is cloned from this thread
	})
}

// share clones into the namespace of the task's shim every host mount that paths lie on
// (parents first) and that the shim does not see: the task's own under the template's
// directory, and any mount made on the host since the template was. Paths that do not exist are
// left to whoever uses them.
func (t *mountTemplate) share(d taskDir, paths []string) error {
	var roots []string
	for _, p := range paths {
		if !filepath.IsAbs(p) {
			continue
		}
		rs, err := mountRoots(filepath.Clean(p))
		if err != nil {
			continue
		}
		for _, r := range rs {
			if !slices.Contains(roots, r) {
				roots = append(roots, r)
			}
		}
	}
	if len(roots) == 0 {
		return nil
	}
	pid := liveShimPid(d)
	if pid == 0 {
		return fmt.Errorf("share mounts: %w", ErrShimUnavailable)
	}
	shimRoot := "/proc/" + strconv.Itoa(pid) + "/root"
	missing := roots[:0]
	for _, r := range roots {
		if !sameFile(r, shimRoot+r) {
			missing = append(missing, r)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return fmt.Errorf("share mounts: %w", ErrShimUnavailable)
	}
	defer unix.Close(pidfd)
	if liveShimPid(d) != pid { // the pidfd is the shim's, not a process that got its pid
		return fmt.Errorf("share mounts: %w", ErrShimUnavailable)
	}
	slices.SortFunc(missing, func(a, b string) int { return len(a) - len(b) }) // parents first
	if err := onThrowawayThread(func() error { return moveInto(pidfd, missing) }); err != nil {
		return fmt.Errorf("share mounts: %w", err)
	}
	return nil
}

// moveInto clones each mount (in the caller's namespace), enters the namespace of pidfd's
// process and attaches the clones at the same paths there.
func moveInto(pidfd int, mounts []string) error {
	fds := make([]int, 0, len(mounts))
	defer func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}()
	for _, m := range mounts {
		fd, err := unix.OpenTree(unix.AT_FDCWD, m, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_SYMLINK_NOFOLLOW)
		if err != nil {
			return fmt.Errorf("clone %s: %w", m, err)
		}
		fds = append(fds, fd)
	}
	if err := unix.Unshare(unix.CLONE_FS); err != nil {
		return fmt.Errorf("unshare: %w", err)
	}
	if err := unix.Setns(pidfd, unix.CLONE_NEWNS); err != nil {
		return fmt.Errorf("enter the shim's mount namespace: %w", err)
	}
	for i, m := range mounts {
		if err := unix.MoveMount(fds[i], "", unix.AT_FDCWD, m, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
			return fmt.Errorf("attach %s: %w", m, err)
		}
	}
	return nil
}

// mountRoots are the mount points that path and its parents are, the deepest first.
func mountRoots(path string) ([]string, error) {
	var out []string
	for p := path; ; p = filepath.Dir(p) {
		root, err := isMountRoot(p)
		if err != nil {
			return nil, err
		}
		if root {
			out = append(out, p)
		}
		if p == "/" {
			return out, nil
		}
	}
}

// sameFile says whether a and b are the same file (device and inode), both existing.
func sameFile(a, b string) bool {
	fa, errA := os.Lstat(a)
	fb, errB := os.Lstat(b)
	return errA == nil && errB == nil && os.SameFile(fa, fb)
}

// close releases the template; shims started from it keep their copies.
func (t *mountTemplate) close() error { return t.ns.Close() }
