// Package netns creates named network namespaces, bind-mounted on a file under a state
// directory so they outlive the process, runs code inside them and deletes them without leaks.
package netns

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"golang.org/x/sys/unix"
)

// Exists says whether path is a bind-mounted network namespace.
func Exists(path string) bool {
	var st unix.Statfs_t
	return unix.Statfs(path, &st) == nil && st.Type == unix.NSFS_MAGIC
}

// Create makes a new network namespace and bind-mounts it on path. init, if not nil, runs on a
// thread inside the new namespace before Create returns (sysctls, bringing lo up): doing it there
// saves entering the namespace a second time. If path already holds a namespace, Create does
// nothing and returns created false.
func Create(path string, init func() error) (created bool, err error) {
	if Exists(path) {
		return false, nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return false, err
	}
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o444)
	if err != nil {
		return false, err
	}
	f.Close()
	errc := make(chan error, 1)
	go func() {
		// The thread is never unlocked: when this goroutine exits the runtime throws the thread
		// away, so the new namespace can never leak into another goroutine.
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("unshare: %w", err)
			return
		}
		if err := unix.Mount("/proc/thread-self/ns/net", path, "none", unix.MS_BIND, ""); err != nil {
			errc <- fmt.Errorf("bind mount %s: %w", path, err)
			return
		}
		if init != nil {
			if err := init(); err != nil {
				errc <- err
				return
			}
		}
		errc <- nil
	}()
	if err := <-errc; err != nil {
		return false, errors.Join(fmt.Errorf("create netns %s: %w", path, err), Delete(path))
	}
	return true, nil
}

// Delete unmounts and removes the namespace at path; a missing path is not an error. The
// namespace itself goes away when its last process or open descriptor does.
func Delete(path string) error {
	if err := unix.Unmount(path, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("unmount netns %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove netns %s: %w", path, err)
	}
	return nil
}

// Move makes the namespace at src available at dst, which must not exist, and removes src. The
// namespace is the same: its interfaces, addresses and routes stay.
func Move(src, dst string) error {
	if !Exists(src) {
		return fmt.Errorf("move netns %s: %w", src, os.ErrNotExist)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(dst, os.O_RDONLY|os.O_CREATE|os.O_EXCL, 0o444)
	if err != nil {
		return fmt.Errorf("move netns: %w", err)
	}
	f.Close()
	if err := unix.Mount(src, dst, "none", unix.MS_BIND, ""); err != nil {
		os.Remove(dst)
		return fmt.Errorf("move netns %s to %s: %w", src, dst, err)
	}
	return Delete(src)
}

// Open returns a descriptor of the namespace at path, for netlink and nftables sockets.
func Open(path string) (*os.File, error) {
	if !Exists(path) {
		return nil, fmt.Errorf("%s: %w", path, os.ErrNotExist)
	}
	return os.Open(path)
}

// Do runs fn on an OS thread that has entered the namespace at path. Sockets fn opens belong to
// that namespace and keep it after Do returns; goroutines fn starts do not run inside it.
func Do(path string, fn func() error) error {
	target, err := Open(path)
	if err != nil {
		return err
	}
	defer target.Close()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			errc <- err
			return
		}
		defer orig.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("enter netns %s: %w", path, err)
			runtime.UnlockOSThread()
			return
		}
		ferr := fn()
		if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
			// Leave the thread locked: it dies with this goroutine instead of running others
			// in the wrong namespace.
			errc <- errors.Join(ferr, fmt.Errorf("leave netns %s: %w", path, err))
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

// Sysctl writes value to /proc/sys/<key> (key with slashes, e.g. "net/ipv4/ip_forward"). Called
// inside Do or a Create init, it sets the namespace's own copy of a per-namespace sysctl.
func Sysctl(key, value string) error {
	return os.WriteFile(filepath.Join("/proc/sys", key), []byte(value), 0o644)
}
