package runtime

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

const maxSymlinks = 255

// rootView is a container's root filesystem as the host reads it: one directory (a mounted
// root), or the directories of an overlay that the container mounts itself, top first, read as
// overlayfs merges them: the topmost entry of a name hides the ones below, a whiteout (a 0:0
// character device) hides the name in the layers below it, and an opaque directory (the
// trusted.overlay.opaque xattr, "y") hides the directories below it. image.Unpack writes
// layers' whiteouts in that form.
type rootView []string

// lookup returns the host path of what the container sees at p, a clean absolute path whose
// directories are no symlinks (resolveInRoot resolves them first), with its Lstat; fi is nil
// when p does not exist.
func (v rootView) lookup(p string) (host string, fi fs.FileInfo, err error) {
	if len(v) == 0 {
		return "", nil, fmt.Errorf("no root directory")
	}
	if len(v) == 1 || p == "/" {
		host = filepath.Join(v[0], p)
		fi, err = os.Lstat(host)
		if errors.Is(err, fs.ErrNotExist) {
			return "", nil, nil
		}
		return host, fi, err
	}
	layers := []string(v)
	rel := ""
	parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
	for i, part := range parts {
		rel = path.Join(rel, part)
		var below []string
		for _, l := range layers {
			host := filepath.Join(l, rel)
			fi, err := os.Lstat(host)
			if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
				continue
			}
			if err != nil {
				return "", nil, err
			}
			if isWhiteout(fi) {
				break
			}
			if i == len(parts)-1 {
				return host, fi, nil
			}
			if !fi.IsDir() {
				break
			}
			below = append(below, l)
			if isOpaque(host) {
				break
			}
		}
		if len(below) == 0 {
			return "", nil, nil
		}
		layers = below
	}
	return "", nil, nil
}

func isWhiteout(fi fs.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && fi.Mode()&fs.ModeCharDevice != 0 && st.Rdev == 0
}

func isOpaque(dir string) bool {
	b := make([]byte, 1)
	n, err := unix.Lgetxattr(dir, "trusted.overlay.opaque", b)
	return err == nil && n == 1 && b[0] == 'y'
}

// resolveInRoot resolves p as the container would see it, following symlinks but never leaving
// root, and returns the resolved container path. Missing components are kept as they are.
// Image content is untrusted: a symlink such as /etc/passwd -> /host/secret must stay inside.
func resolveInRoot(root rootView, p string) (string, error) {
	resolved := "/"
	rest := strings.Split(strings.TrimPrefix(path.Clean("/"+p), "/"), "/")
	links := 0
	for len(rest) > 0 {
		part := rest[0]
		rest = rest[1:]
		if part == "" || part == "." {
			continue
		}
		if part == ".." {
			resolved = path.Dir(resolved)
			continue
		}
		next := path.Join(resolved, part)
		host, fi, err := root.lookup(next)
		if err != nil {
			return "", fmt.Errorf("resolve %q in rootfs: %w", p, err)
		}
		if fi == nil {
			resolved = path.Join(append([]string{next}, rest...)...)
			return resolved, nil
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			resolved = next
			continue
		}
		if links++; links > maxSymlinks {
			return "", fmt.Errorf("resolve %q in rootfs: too many symlinks", p)
		}
		target, err := os.Readlink(host)
		if err != nil {
			return "", fmt.Errorf("resolve %q in rootfs: %w", p, err)
		}
		if path.IsAbs(target) {
			resolved = "/"
		}
		rest = append(strings.Split(target, "/"), rest...)
	}
	return resolved, nil
}

// checkCwd refuses working directories that resolve into /proc: with a runc that leaks a host
// file descriptor into the container (CVE-2024-21626), a cwd of /proc/self/fd/N would start the
// process inside the host's filesystem.
func checkCwd(root rootView, cwd string) (string, error) {
	if cwd == "" {
		return "/", nil
	}
	if !path.IsAbs(cwd) || path.Clean(cwd) != cwd {
		return "", fmt.Errorf("cwd %q: must be an absolute clean path: %w", cwd, ErrInvalidSpec)
	}
	for _, p := range []string{cwd, mustResolve(root, cwd)} {
		if p == "/proc" || strings.HasPrefix(p, "/proc/") {
			return "", fmt.Errorf("cwd %q: must not be under /proc: %w", cwd, ErrInvalidSpec)
		}
	}
	return cwd, nil
}

// mustResolve resolves p, falling back to "/proc" on error so callers refuse it.
func mustResolve(root rootView, p string) string {
	r, err := resolveInRoot(root, p)
	if err != nil {
		return "/proc"
	}
	return r
}

// readRootFile reads a file of the rootfs, resolving symlinks inside it.
func readRootFile(root rootView, p string) ([]byte, error) {
	r, err := resolveInRoot(root, p)
	if err != nil {
		return nil, err
	}
	host, fi, err := root.lookup(r)
	if err != nil {
		return nil, err
	}
	if fi == nil {
		return nil, fs.ErrNotExist
	}
	return os.ReadFile(host)
}
