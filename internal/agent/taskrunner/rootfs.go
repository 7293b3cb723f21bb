package taskrunner

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/gantry-dev/gantry/internal/image"
	"github.com/gantry-dev/gantry/internal/runtime"
)

// Rootfs mounts and unmounts containers' root filesystems. Overlay is the real one; FakeRootfs
// lets tests run without mounting anything.
type Rootfs interface {
	// Prepare makes a root filesystem for img under dir.
	Prepare(img image.Image, dir string, readOnly bool) (Root, error)
	// Release unmounts what Prepare mounted under dir, which the caller may then remove; it is
	// idempotent and works after a restart, without the state of the process that called Prepare.
	Release(dir string) error
}

// Root is a container's prepared root filesystem: the host path of its root and, when the OCI
// runtime mounts it itself, the overlay that goes there (runtime.ContainerSpec.RootOverlay).
type Root struct {
	Path    string
	Overlay *runtime.Overlay
}

// Scratch makes a task's own filesystem of a size in bytes (scratch.Pool); scratch.Detach
// removes it.
type Scratch interface {
	Attach(target string, size int64) error
}

// Overlay makes root filesystems of image layers with overlayfs. With InContainer (an OCI runtime
// whose MountsRootOverlay is true) the runtime mounts each one inside its container
// (image.PlanRootfs); otherwise, and for an image whose layers do not fit one mount call,
// Prepare mounts it on the host (image.PrepareRootfs).
type Overlay struct{ InContainer bool }

var (
	_ Rootfs = Overlay{}
	_ Rootfs = FakeRootfs{}
)

// Prepare makes img's root filesystem under dir, always writable: the OCI runtime makes the
// mount points an image may lack (/proc, /sys, /dev) before it remounts the root read-only for
// a readonlyRootFilesystem container (the spec's root.readonly), as Docker's does. A read-only
// overlay would leave a minimal image unable to start.
func (o Overlay) Prepare(img image.Image, dir string, readOnly bool) (Root, error) {
	if o.InContainer {
		fits := func(ov image.Overlay) bool { return runtime.CheckOverlay(runtimeOverlay(ov)) == nil }
		path, ov, ok, err := image.PlanRootfs(img, dir, fits)
		if err != nil {
			return Root{}, err
		}
		if ok {
			rov := runtimeOverlay(ov)
			return Root{Path: path, Overlay: &rov}, nil
		}
	}
	path, _, err := image.PrepareRootfs(img, dir)
	return Root{Path: path}, err
}

func runtimeOverlay(ov image.Overlay) runtime.Overlay {
	return runtime.Overlay{Lower: ov.Lower, Upper: ov.Upper, Work: ov.Work}
}

// Release unmounts dir/rootfs, if it is mounted on the host.
func (Overlay) Release(dir string) error { return image.Unmount(filepath.Join(dir, "rootfs")) }

// FakeRootfs makes an empty dir/rootfs directory and mounts nothing.
type FakeRootfs struct{}

// Prepare creates dir/rootfs.
func (FakeRootfs) Prepare(img image.Image, dir string, readOnly bool) (Root, error) {
	path := filepath.Join(dir, "rootfs")
	if err := os.MkdirAll(path, 0o755); err != nil {
		return Root{}, fmt.Errorf("prepare fake rootfs: %w", err)
	}
	return Root{Path: path}, nil
}

// Release has nothing to unmount.
func (FakeRootfs) Release(string) error { return nil }
