package runtime

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

const maxSymlinks = 255

// resolveInRoot resolves p as the container would see it, following symlinks but never leaving
// root, and returns the resolved container path. Missing components are kept as they are.
// Image content is untrusted: a symlink such as /etc/passwd -> /host/secret must stay inside.
func resolveInRoot(root, p string) (string, error) {
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
		fi, err := os.Lstat(filepath.Join(root, next))
		if errors.Is(err, fs.ErrNotExist) {
			resolved = path.Join(append([]string{next}, rest...)...)
			return resolved, nil
		}
		if err != nil {
			return "", fmt.Errorf("resolve %q in rootfs: %w", p, err)
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			resolved = next
			continue
		}
		if links++; links > maxSymlinks {
			return "", fmt.Errorf("resolve %q in rootfs: too many symlinks", p)
		}
		target, err := os.Readlink(filepath.Join(root, next))
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
func checkCwd(root, cwd string) (string, error) {
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
func mustResolve(root, p string) string {
	r, err := resolveInRoot(root, p)
	if err != nil {
		return "/proc"
	}
	return r
}

// readRootFile reads a file of the rootfs, resolving symlinks inside it.
func readRootFile(root, p string) ([]byte, error) {
	r, err := resolveInRoot(root, p)
	if err != nil {
		return nil, err
	}
	return os.ReadFile(filepath.Join(root, r))
}
