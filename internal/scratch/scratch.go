// Package scratch gives each task a filesystem of its own, as large as its ephemeral storage.
//
// Fargate backs a task's writable layers and volumes with storage of the task's
// ephemeralStorage size: a task that writes more gets ENOSPC, and its neighbours and the host
// never notice. The host's kernel here has no project quotas (CONFIG_QFMT_V2 and
// CONFIG_XFS_QUOTA are off), so each task gets a real filesystem: a sparse file, formatted
// ext4 without a journal, on a loop device. The file is unlinked as soon as the loop device
// holds it, and the device clears itself when the filesystem is unmounted, so the space comes
// back when the task's filesystem goes, and nothing is left on disk after a crash or a reboot.
// Deleting files inside gives space back too (the discard mount option punches holes).
//
// Making one takes about 4 ms on this machine (a copy of a formatted image, the loop device and
// the mount; BenchmarkAttachMade); a Pool keeps a few of the default size ready and mounted, so
// a task's start only moves one into place (0.5 ms, BenchmarkAttachReady).
package scratch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// GiB is the unit of a task's ephemeral storage.
const GiB = int64(1) << 30

// Config describes a Pool.
type Config struct {
	// Dir holds the image files while they are made; it is emptied when the pool starts.
	Dir string
	// ReadyBytes is the size kept ready (a Fargate task's default, 20 GiB); Ready is how many.
	// With Ready 0 every filesystem is made when it is attached.
	ReadyBytes int64
	Ready      int
	// Reserve is how many bytes of the host's filesystem under Dir Attach keeps free: with less
	// free it refuses (ErrDiskPressure). The tasks' filesystems are thin (sparse), so together
	// they may promise more than the host has; gantry's own state shares the host's. 0: never.
	Reserve int64
	Log     *slog.Logger
}

// ErrDiskPressure is Attach's refusal while the host's filesystem has less than the reserve free.
var ErrDiskPressure = errors.New("host disk under its reserve")

// Pool makes and mounts task filesystems. Its methods are safe for concurrent use.
type Pool struct {
	cfg     Config
	ready   chan *device
	room    chan struct{} // one token per ready filesystem missing
	formats *formats
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// New empties cfg.Dir of what an earlier process left (ready filesystems are unmounted, which
// frees them), makes the first ready filesystem, and keeps making them in the background.
func New(cfg Config) (*Pool, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if err := unmountAll(cfg.Dir); err != nil {
		return nil, err // never delete through a live mount
	}
	if err := os.RemoveAll(cfg.Dir); err != nil {
		return nil, fmt.Errorf("scratch: clear %s: %w", cfg.Dir, err)
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("scratch: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n := max(cfg.Ready, 0)
	p := &Pool{cfg: cfg, ready: make(chan *device, n), room: make(chan struct{}, n), cancel: cancel,
		formats: &formats{dir: cfg.Dir}}
	for range n {
		p.room <- struct{}{}
	}
	if n > 0 {
		// The first is made here, so a host that cannot (no loop devices, no mkfs.ext4) is
		// told at once rather than at its first task.
		<-p.room
		d, err := makeDevice(cfg.Dir, p.formats, cfg.ReadyBytes, "")
		if err != nil {
			cancel()
			return nil, err
		}
		p.ready <- d
		p.wg.Go(func() { p.fill(ctx) })
	}
	return p, nil
}

// refillDelay is how long the pool waits, while it still has one ready, before it makes the
// next: the task that took one is starting, and on a small host making a filesystem (a mkfs
// about 4 ms, most of it the kernel's) beside its start slows that start.
const refillDelay = 250 * time.Millisecond

// fill keeps the ready queue full until ctx ends. A failure is logged and retried later: an
// Attach then makes its own filesystem and reports the error to its task.
func (p *Pool) fill(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.room:
		}
		if len(p.ready) > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(refillDelay):
			}
		}
		d, err := makeDevice(p.cfg.Dir, p.formats, p.cfg.ReadyBytes, "")
		if err != nil {
			p.cfg.Log.Warn("scratch: make a ready filesystem", "error", err)
			p.room <- struct{}{}
			select {
			case <-ctx.Done():
				return
			case <-time.After(5 * time.Second):
			}
			continue
		}
		p.ready <- d // never blocks: it had room
	}
}

// Attach mounts a new, empty filesystem of size bytes at target, creating target. A ready one is
// used when it has that size.
func (p *Pool) Attach(target string, size int64) error {
	if size <= 0 {
		return fmt.Errorf("scratch: size %d bytes", size)
	}
	if p.cfg.Reserve > 0 {
		if free, err := p.Free(); err == nil && free < p.cfg.Reserve {
			return fmt.Errorf("scratch: %w: %d MiB free on the host, the reserve is %d MiB", ErrDiskPressure, free>>20, p.cfg.Reserve>>20)
		}
	}
	if err := os.MkdirAll(target, 0o700); err != nil {
		return fmt.Errorf("scratch: %w", err)
	}
	if size == p.cfg.ReadyBytes {
		select {
		case d := <-p.ready:
			p.room <- struct{}{}
			return d.take(target)
		default:
		}
	}
	_, err := makeDevice(p.cfg.Dir, p.formats, size, target)
	return err
}

// Free is how many bytes the host's filesystem under the pool's directory has free.
func (p *Pool) Free() (int64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(p.cfg.Dir, &st); err != nil {
		return 0, fmt.Errorf("scratch: %w", err)
	}
	return int64(st.Bavail) * st.Bsize, nil
}

// Usage is how many bytes the task filesystem mounted at target uses, and its size; ok is
// false when no filesystem of its own is mounted there (a task not started yet, or without
// one), as the host's would be measured instead.
func Usage(target string) (used, size int64, ok bool) {
	var t, parent syscall.Stat_t
	if syscall.Stat(target, &t) != nil || syscall.Stat(filepath.Dir(target), &parent) != nil || t.Dev == parent.Dev {
		return 0, 0, false
	}
	var st syscall.Statfs_t
	if syscall.Statfs(target, &st) != nil {
		return 0, 0, false
	}
	return int64(st.Blocks-st.Bfree) * st.Bsize, int64(st.Blocks) * st.Bsize, true
}

// Detach unmounts the filesystem at target, which frees its space. It needs no Pool, so it
// works after a restart, and does nothing when nothing is mounted there.
func Detach(target string) error { return unmount(target) }

// Close stops keeping filesystems ready and frees the ready ones and the formatted images.
// Filesystems attached to tasks stay.
func (p *Pool) Close() error {
	p.cancel()
	p.wg.Wait()
	var errs []error
	for {
		select {
		case d := <-p.ready:
			errs = append(errs, d.discard())
		default:
			return errors.Join(append(errs, p.formats.close())...)
		}
	}
}
