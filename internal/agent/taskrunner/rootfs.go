package taskrunner

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/gantry-dev/gantry/internal/image"
)

// Rootfs mounts and unmounts containers' root filesystems. Overlay is the real one; FakeRootfs
// lets tests run without mounting anything.
type Rootfs interface {
	// Prepare makes a root filesystem for img under dir and returns its path.
	Prepare(img image.Image, dir string, readOnly bool) (string, error)
	// Release unmounts what Prepare mounted under dir, which the caller may then remove; it is
	// idempotent and works after a restart, without the state of the process that called Prepare.
	Release(dir string) error
}

// Scratch makes a task's own filesystem of a size in bytes (scratch.Pool); scratch.Detach
// removes it.
type Scratch interface {
	Attach(target string, size int64) error
}

// Overlay mounts image layers with overlayfs (image.PrepareRootfs).
type Overlay struct{}

var (
	_ Rootfs = Overlay{}
	_ Rootfs = FakeRootfs{}
)

// Prepare mounts img's layers at dir/rootfs, always writable: the OCI runtime makes the mount
// points an image may lack (/proc, /sys, /dev) before it remounts the root read-only for a
// readonlyRootFilesystem container (the spec's root.readonly), as Docker's does. A read-only
// overlay would leave a minimal image unable to start.
func (Overlay) Prepare(img image.Image, dir string, readOnly bool) (string, error) {
	path, _, err := image.PrepareRootfs(img, dir)
	return path, err
}

// Release unmounts dir/rootfs.
func (Overlay) Release(dir string) error { return image.Unmount(filepath.Join(dir, "rootfs")) }

// FakeRootfs makes an empty dir/rootfs directory and mounts nothing.
type FakeRootfs struct{}

// Prepare creates dir/rootfs.
func (FakeRootfs) Prepare(img image.Image, dir string, readOnly bool) (string, error) {
	path := filepath.Join(dir, "rootfs")
	if err := os.MkdirAll(path, 0o755); err != nil {
		return "", fmt.Errorf("prepare fake rootfs: %w", err)
	}
	return path, nil
}

// Release has nothing to unmount.
func (FakeRootfs) Release(string) error { return nil }
