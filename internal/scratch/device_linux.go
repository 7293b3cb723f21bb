package scratch

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// mkfsArgs format a sparse file quickly and small: no journal (the filesystem does not outlive
// the host: a reboot ends every task), no room reserved for growth or for root, and inode
// tables left for the kernel, which never writes them (noinit_itable): a fresh sparse file
// reads as zeros already. A formatted 20 GiB file takes about 300 KiB of disk.
var mkfsArgs = []string{"-q", "-F", "-t", "ext4", "-O", "^has_journal,^resize_inode",
	"-E", "lazy_itable_init=1,nodiscard", "-m", "0"}

// loopBusyTimeout bounds how long attachLoop waits for a free loop device to stop being busy.
const loopBusyTimeout = 5 * time.Second

// mountData: discard gives the space of deleted files back to the host; no_prefetch_block_bitmaps
// keeps the kernel's ext4lazyinit thread from reading every block group's bitmap after the
// mount (about 1.4 ms of CPU per 20 GiB filesystem, a twentieth of a task start in a burst): a
// fresh filesystem's groups are uninitialised, their bitmaps computed when first needed.
// Kernels before 5.9 do not know the option (oldMountData).
const (
	mountData    = "discard,noinit_itable,no_prefetch_block_bitmaps"
	oldMountData = "discard,noinit_itable"
)

// formats keeps one formatted image per size, made once with mkfs.ext4 and copied for every
// filesystem of that size: the copy is its few hundred KiB of metadata (the rest are holes),
// about 0.3 ms, where mkfs takes 5-8 ms, most of it starting the process. Copies share the
// filesystem's UUID, which nothing here reads. The images are kept open and unlinked, so no
// 20 GiB file (however sparse) sits in the data dir for a backup or a scan to read.
type formats struct {
	dir    string
	mu     sync.Mutex
	bySize map[int64]*os.File
}

// get returns the formatted image of size bytes, making it the first time. Readers use
// explicit offsets (copySparse): the file's own offset is shared.
func (fs *formats) get(size int64) (*os.File, error) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if f, ok := fs.bySize[size]; ok {
		return f, nil
	}
	f, err := os.CreateTemp(fs.dir, "format-*.img")
	if err != nil {
		return nil, fmt.Errorf("scratch: %w", err)
	}
	defer os.Remove(f.Name())
	if err := f.Truncate(size); err != nil {
		f.Close()
		return nil, fmt.Errorf("scratch: size the image: %w", err)
	}
	if out, err := exec.Command("mkfs.ext4", append(mkfsArgs, f.Name())...).CombinedOutput(); err != nil {
		f.Close()
		return nil, fmt.Errorf("scratch: mkfs.ext4: %w: %s", err, strings.TrimSpace(string(out)))
	}
	if fs.bySize == nil {
		fs.bySize = map[int64]*os.File{}
	}
	fs.bySize[size] = f
	return f, nil
}

// close frees the formatted images.
func (fs *formats) close() error {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	var errs []error
	for size, f := range fs.bySize {
		errs = append(errs, f.Close())
		delete(fs.bySize, size)
	}
	return errors.Join(errs...)
}

// copySparse copies src's data into dst, which has src's size already, leaving its holes holes.
func copySparse(dst, src *os.File) error {
	for off := int64(0); ; {
		data, err := unix.Seek(int(src.Fd()), off, unix.SEEK_DATA)
		if errors.Is(err, unix.ENXIO) {
			return nil // no data past off
		}
		if err != nil {
			return err
		}
		hole, err := unix.Seek(int(src.Fd()), data, unix.SEEK_HOLE)
		if err != nil {
			return err
		}
		for in, out := data, data; in < hole; {
			n, err := unix.CopyFileRange(int(src.Fd()), &in, int(dst.Fd()), &out, int(hole-in), 0)
			if err != nil {
				return err
			}
			if n == 0 {
				return io.ErrUnexpectedEOF
			}
		}
		off = hole
	}
}

// device is a fresh filesystem mounted in the pool's directory, at path. Its file is already
// unlinked: unmounting it frees everything.
type device struct{ path string }

// makeDevice copies the formatted image of size bytes to a new file in dir, attaches that to a
// loop device and mounts it at target, or in dir when target is "": about 4 ms, most of it the
// mount. A filesystem made for a task goes straight to the task's target: a mount point made
// in dir would cost a directory on the host's disk, a second mount and an unmount.
func makeDevice(dir string, fs *formats, size int64, target string) (*device, error) {
	src, err := fs.get(size)
	if err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(dir, "scratch-*.img")
	if err != nil {
		return nil, fmt.Errorf("scratch: %w", err)
	}
	defer func() {
		f.Close()
		os.Remove(f.Name())
	}()
	if err := f.Truncate(size); err != nil {
		return nil, fmt.Errorf("scratch: size the image: %w", err)
	}
	if err := copySparse(f, src); err != nil {
		return nil, fmt.Errorf("scratch: copy the formatted image: %w", err)
	}
	loop, err := attachLoop(f)
	if err != nil {
		return nil, err
	}
	defer loop.Close() // the mount holds the device now; the last close frees it otherwise
	path, made := target, false
	if path == "" {
		path, made = strings.TrimSuffix(f.Name(), ".img"), true
		if err := os.Mkdir(path, 0o700); err != nil {
			return nil, fmt.Errorf("scratch: %w", err)
		}
	}
	err = unix.Mount(loop.Name(), path, "ext4", 0, mountData)
	if errors.Is(err, unix.EINVAL) {
		err = unix.Mount(loop.Name(), path, "ext4", 0, oldMountData)
	}
	if err != nil {
		if made {
			os.Remove(path)
		}
		return nil, fmt.Errorf("scratch: mount %s: %w", loop.Name(), err)
	}
	return &device{path: path}, nil
}

// attachLoop binds f to a free loop device that detaches itself on its last close, reading
// and writing f with direct I/O where the host's filesystem allows it (else the data would be
// cached twice: once for the task's filesystem, once for the file under it).
func attachLoop(f *os.File) (*os.File, error) {
	ctl, err := os.OpenFile("/dev/loop-control", os.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("scratch: %w", err)
	}
	defer ctl.Close()
	flags := uint32(unix.LO_FLAGS_AUTOCLEAR | unix.LO_FLAGS_DIRECT_IO)
	// The free device the kernel names can be busy for a moment: claimed by another process's
	// attach, which it hands the same device, or still by the last user of a device just
	// cleared. Asking again at once names the same device, so the retries are spread over time.
	wait := time.Millisecond
	for deadline := time.Now().Add(loopBusyTimeout); ; {
		n, err := unix.IoctlRetInt(int(ctl.Fd()), unix.LOOP_CTL_GET_FREE)
		if err != nil {
			return nil, fmt.Errorf("scratch: find a free loop device: %w", err)
		}
		loop, err := os.OpenFile(fmt.Sprintf("/dev/loop%d", n), os.O_RDWR|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, fmt.Errorf("scratch: %w", err)
		}
		cfg := unix.LoopConfig{Fd: uint32(f.Fd()), Info: unix.LoopInfo64{Flags: flags}}
		if err = unix.IoctlLoopConfigure(int(loop.Fd()), &cfg); err == nil {
			return loop, nil
		}
		loop.Close()
		switch {
		case errors.Is(err, unix.EINVAL) && flags&unix.LO_FLAGS_DIRECT_IO != 0:
			flags &^= unix.LO_FLAGS_DIRECT_IO // the host's filesystem has no direct I/O
		case !errors.Is(err, unix.EBUSY):
			return nil, fmt.Errorf("scratch: attach %s: %w", loop.Name(), err)
		case time.Now().After(deadline):
			return nil, fmt.Errorf("scratch: no free loop device: %s still busy after %s", loop.Name(), loopBusyTimeout)
		default:
			time.Sleep(wait)
			wait = min(2*wait, 50*time.Millisecond)
		}
	}
}

// take moves d's filesystem to target (a bind mount, then the pool's mount goes); d is used up
// either way.
func (d *device) take(target string) error {
	err := unix.Mount(d.path, target, "", unix.MS_BIND, "")
	if err != nil {
		err = fmt.Errorf("scratch: mount at %s: %w", target, err)
	}
	return errors.Join(err, d.discard())
}

// discard unmounts d from the pool's directory, which frees it unless take bound it elsewhere.
func (d *device) discard() error {
	if err := unmount(d.path); err != nil {
		return err
	}
	if err := os.Remove(d.path); err != nil {
		return fmt.Errorf("scratch: %w", err)
	}
	return nil
}

// unmountAll unmounts every filesystem the pool left mounted in dir (a killed agent's ready ones).
func unmountAll(dir string) error {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("scratch: %w", err)
	}
	var errs []error
	for _, e := range ents {
		if e.IsDir() {
			errs = append(errs, unmount(filepath.Join(dir, e.Name())))
		}
	}
	return errors.Join(errs...)
}

// unmount unmounts target, lazily when something still holds it: the space comes back once
// the last user lets go, and the mount is gone from the table at once.
func unmount(target string) error {
	err := unix.Unmount(target, 0)
	if errors.Is(err, unix.EBUSY) {
		err = unix.Unmount(target, unix.MNT_DETACH)
	}
	if err == nil || errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOENT) {
		return nil
	}
	return fmt.Errorf("scratch: unmount %s: %w", target, err)
}
