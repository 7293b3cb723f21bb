package image

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// maxMountData is what mount(2) copies of its data argument: one page. Longer lowerdir lists go
// through fsconfig's "lowerdir+", one layer at a time (Linux 6.8 and later).
const maxMountData = 4000

// Mount mounts at target an overlay of layers, given bottom first as Image.LayerDirs returns them
// (overlayfs wants the top first; Mount reverses). Writes go to upperDir, which needs workDir on
// the same filesystem. With upperDir empty the mount is read-only.
func Mount(layers []string, upperDir, workDir, target string) error {
	if len(layers) == 0 {
		return fmt.Errorf("mount %q: no layers", target)
	}
	if (upperDir == "") != (workDir == "") {
		return fmt.Errorf("mount %q: upper and work directories go together", target)
	}
	if upperDir == "" && len(layers) == 1 {
		// overlayfs wants two lower layers when it has no upper: a read-only bind does the same.
		return bindReadOnly(layers[0], target)
	}
	lower := slices.Clone(layers)
	slices.Reverse(lower)
	for _, p := range append(slices.Clone(lower), upperDir, workDir) {
		if strings.ContainsAny(p, ",:\\") {
			return fmt.Errorf("mount %q: overlay path %q contains a separator", target, p)
		}
	}
	data := "lowerdir=" + strings.Join(lower, ":")
	if upperDir != "" {
		data += ",upperdir=" + upperDir + ",workdir=" + workDir
	}
	if len(data) > maxMountData {
		return mountFsconfig(lower, upperDir, workDir, target)
	}
	var flags uintptr
	if upperDir == "" {
		flags = unix.MS_RDONLY
	}
	if err := unix.Mount("overlay", target, "overlay", flags, data); err != nil {
		return fmt.Errorf("mount overlay at %q: %w", target, err)
	}
	return nil
}

func bindReadOnly(src, target string) error {
	if err := unix.Mount(src, target, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind %q at %q: %w", src, target, err)
	}
	if err := unix.Mount("", target, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
		unix.Unmount(target, unix.MNT_DETACH)
		return fmt.Errorf("remount %q read-only: %w", target, err)
	}
	return nil
}

// mountFsconfig mounts the overlay with the new mount API, which has no length limit on the
// layer list. lower is top first.
func mountFsconfig(lower []string, upperDir, workDir, target string) error {
	fd, err := unix.Fsopen("overlay", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return fmt.Errorf("fsopen overlay: %w", err)
	}
	defer unix.Close(fd)
	for _, l := range lower {
		if err := unix.FsconfigSetString(fd, "lowerdir+", l); err != nil {
			return fmt.Errorf("overlay lowerdir %q: %w", l, err)
		}
	}
	attr := unix.MOUNT_ATTR_RDONLY
	if upperDir != "" {
		attr = 0
		if err := unix.FsconfigSetString(fd, "upperdir", upperDir); err != nil {
			return fmt.Errorf("overlay upperdir: %w", err)
		}
		if err := unix.FsconfigSetString(fd, "workdir", workDir); err != nil {
			return fmt.Errorf("overlay workdir: %w", err)
		}
	}
	if err := unix.FsconfigCreate(fd); err != nil {
		return fmt.Errorf("create overlay: %w", err)
	}
	mfd, err := unix.Fsmount(fd, unix.FSMOUNT_CLOEXEC, attr)
	if err != nil {
		return fmt.Errorf("fsmount overlay: %w", err)
	}
	defer unix.Close(mfd)
	if err := unix.MoveMount(mfd, "", unix.AT_FDCWD, target, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return fmt.Errorf("move overlay to %q: %w", target, err)
	}
	return nil
}

// Unmount unmounts target; a target that is not mounted (or is gone) is not an error. A busy
// mount is detached lazily.
func Unmount(target string) error {
	err := unix.Unmount(target, 0)
	if errors.Is(err, unix.EBUSY) {
		err = unix.Unmount(target, unix.MNT_DETACH)
	}
	if err == nil || errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOENT) {
		return nil
	}
	return fmt.Errorf("unmount %q: %w", target, err)
}

// PrepareRootfs mounts a writable root filesystem for one container under dir (which it
// creates): dir/rootfs is an overlay of the image's layers with dir/upper taking the writes.
// cleanup unmounts it and removes dir; it is safe to call more than once.
func PrepareRootfs(img Image, dir string) (string, func() error, error) {
	return prepareRootfs(img, dir, false)
}

// Overlay is a writable root filesystem for the OCI runtime to mount itself: the image's
// layers, top first, and the directories that take the writes.
type Overlay struct {
	Lower       []string
	Upper, Work string
}

// PlanRootfs makes dir's directories for a writable root filesystem that the OCI runtime mounts
// inside the container's own mount namespace, so that the host's mount table never holds it:
// the empty mount point dir/rootfs, dir/upper and dir/work. ok is false, with nothing made,
// when img has no layers or the runtime could not mount the overlay (fits, the runtime's own
// rule: mount(2) copies one page of options): PrepareRootfs mounts those on the host.
func PlanRootfs(img Image, dir string, fits func(Overlay) bool) (rootfs string, ov Overlay, ok bool, err error) {
	layers := img.LayerDirs()
	if len(layers) == 0 {
		return "", Overlay{}, false, nil
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", Overlay{}, false, fmt.Errorf("plan rootfs: %w", err)
	}
	ov = Overlay{Upper: filepath.Join(abs, "upper"), Work: filepath.Join(abs, "work")}
	for _, l := range slices.Backward(layers) {
		if l, err = filepath.Abs(l); err != nil {
			return "", Overlay{}, false, fmt.Errorf("plan rootfs: %w", err)
		}
		ov.Lower = append(ov.Lower, l)
	}
	if !fits(ov) {
		return "", Overlay{}, false, nil
	}
	rootfs = filepath.Join(abs, "rootfs")
	for _, d := range []string{rootfs, ov.Upper, ov.Work} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return "", Overlay{}, false, fmt.Errorf("plan rootfs: %w", err)
		}
	}
	return rootfs, ov, true, nil
}

// PrepareReadOnlyRootfs is PrepareRootfs for a read-only root filesystem: no upper layer.
func PrepareReadOnlyRootfs(img Image, dir string) (string, func() error, error) {
	return prepareRootfs(img, dir, true)
}

func prepareRootfs(img Image, dir string, readOnly bool) (string, func() error, error) {
	rootfs := filepath.Join(dir, "rootfs")
	upper, work := filepath.Join(dir, "upper"), filepath.Join(dir, "work")
	mkdirs := []string{rootfs}
	if !readOnly {
		mkdirs = append(mkdirs, upper, work)
	} else {
		upper, work = "", ""
	}
	layers := img.LayerDirs()
	if len(layers) == 0 {
		empty := filepath.Join(dir, "empty")
		layers, mkdirs = []string{empty}, append(mkdirs, empty)
	}
	for _, d := range mkdirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return "", nil, fmt.Errorf("prepare rootfs: %w", err)
		}
	}
	if err := Mount(layers, upper, work, rootfs); err != nil {
		os.RemoveAll(dir)
		return "", nil, fmt.Errorf("prepare rootfs for %s: %w", img.Digest, err)
	}
	var once sync.Once
	var cleanupErr error
	cleanup := func() error {
		once.Do(func() {
			if cleanupErr = Unmount(rootfs); cleanupErr != nil {
				return // never delete through a live mount
			}
			if err := os.RemoveAll(dir); err != nil {
				cleanupErr = fmt.Errorf("remove rootfs dir: %w", err)
			}
		})
		return cleanupErr
	}
	return rootfs, cleanup, nil
}
