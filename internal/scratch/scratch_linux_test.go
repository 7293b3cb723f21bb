package scratch

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/testutil"
	"golang.org/x/sys/unix"
)

const testSize = 64 << 20

// loopBackingFiles lists the backing files of the host's bound loop devices under dir.
func loopBackingFiles(t *testing.T, dir string) []string {
	t.Helper()
	paths, _ := filepath.Glob("/sys/block/loop*/loop/backing_file")
	var out []string
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err == nil && strings.HasPrefix(string(b), dir) {
			out = append(out, strings.TrimSpace(string(b)))
		}
	}
	return out
}

func mounted(t *testing.T, target string) bool {
	t.Helper()
	_, ok := superOptions(t, target)
	return ok
}

// superOptions returns the filesystem's options (mountinfo's last field) of the mount at target.
func superOptions(t *testing.T, target string) (string, bool) {
	t.Helper()
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if fields := strings.Fields(s.Text()); len(fields) > 4 && fields[4] == target {
			return fields[len(fields)-1], true
		}
	}
	return "", false
}

// kernelAtLeast reports whether the running kernel's version is major.minor or later.
func kernelAtLeast(t *testing.T, major, minor int) bool {
	t.Helper()
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		t.Fatal(err)
	}
	var ma, mi int
	if _, err := fmt.Sscanf(unix.ByteSliceToString(u.Release[:]), "%d.%d", &ma, &mi); err != nil {
		t.Fatalf("kernel release %q: %v", u.Release, err)
	}
	return ma > major || ma == major && mi >= minor
}

// privateTmpfs mounts a tmpfs of size for the test alone: its free space moves with nothing
// else running on the machine.
func privateTmpfs(t *testing.T, size string) string {
	t.Helper()
	testutil.RequireRoot(t)
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size="+size); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
	return dir
}

// fill writes to dir until the filesystem refuses, and returns how much it took.
func fill(t *testing.T, path string) (int64, error) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	buf := bytes.Repeat([]byte{0xa5}, 1<<20)
	var n int64
	for {
		w, err := f.Write(buf)
		n += int64(w)
		if err != nil {
			return n, err
		}
		if n > 4*testSize {
			return n, nil
		}
	}
}

// TestAttachLimitsAndFrees: a task's filesystem has its size (a write past it fails with ENOSPC
// while the host's filesystem has room), deleting inside gives the space back to the host, and
// detaching frees the loop device and every byte of its file. The pool's files are on a tmpfs
// of the test's own, so that its free space moves with nothing else running on the machine.
func TestAttachLimitsAndFrees(t *testing.T) {
	dir := privateTmpfs(t, "512m")
	p, err := New(Config{Dir: filepath.Join(dir, "pool"), ReadyBytes: testSize, Ready: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	target := filepath.Join(dir, "task", "scratch")
	if err := p.Attach(target, testSize); err != nil {
		t.Fatal(err)
	}
	defer Detach(target)
	opts, ok := superOptions(t, target)
	if !ok {
		t.Fatal("nothing mounted at the target")
	}
	// Kernels from 5.9 take the option that spares the bitmaps' prefetch (mountData).
	if kernelAtLeast(t, 5, 9) && !strings.Contains(opts, "no_prefetch_block_bitmaps") {
		t.Fatalf("filesystem options %q lack no_prefetch_block_bitmaps", opts)
	}
	var st unix.Statfs_t
	if err := unix.Statfs(target, &st); err != nil {
		t.Fatal(err)
	}
	if total := int64(st.Blocks) * st.Bsize; total > testSize || total < testSize*9/10 {
		t.Fatalf("filesystem size %d bytes, want about %d", total, testSize)
	}
	hostFree := func() int64 {
		var h unix.Statfs_t
		if err := unix.Statfs(dir, &h); err != nil {
			t.Fatal(err)
		}
		return int64(h.Bavail) * h.Bsize
	}
	free0 := hostFree()
	n, err := fill(t, filepath.Join(target, "big"))
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("wrote %d bytes into a %d-byte filesystem: err %v, want ENOSPC", n, testSize, err)
	}
	if n < testSize*8/10 {
		t.Fatalf("only %d bytes fit in a %d-byte filesystem", n, testSize)
	}
	if used := free0 - hostFree(); used < testSize/2 {
		t.Fatalf("the host lost %d bytes for %d written", used, n)
	}
	if err := os.Remove(filepath.Join(target, "big")); err != nil {
		t.Fatal(err)
	}
	// discard punches the deleted file's blocks out of the backing file.
	deadline := time.Now().Add(10 * time.Second)
	for free0-hostFree() > testSize/4 && time.Now().Before(deadline) {
		unix.Sync()
		time.Sleep(50 * time.Millisecond)
	}
	if used := free0 - hostFree(); used > testSize/4 {
		t.Fatalf("deleting the file left %d bytes used on the host", used)
	}
	if _, err := fill(t, filepath.Join(target, "again")); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("second fill: %v", err)
	}
	if err := Detach(target); err != nil {
		t.Fatal(err)
	}
	if mounted(t, target) {
		t.Fatal("still mounted after Detach")
	}
	if err := Detach(target); err != nil {
		t.Fatalf("second Detach: %v", err)
	}
	deadline = time.Now().Add(10 * time.Second)
	for free0-hostFree() > testSize/4 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if used := free0 - hostFree(); used > testSize/4 {
		t.Fatalf("detaching left %d bytes used on the host", used)
	}
	deadline = time.Now().Add(10 * time.Second)
	for len(loopBackingFiles(t, dir)) != 1 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if files := loopBackingFiles(t, dir); len(files) != 1 { // the pool's ready one
		t.Fatalf("loop devices on the pool's files: %v, want the one ready", files)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if files := loopBackingFiles(t, dir); len(files) != 0 {
		t.Fatalf("loop devices left after Close: %v", files)
	}
	if ents, _ := os.ReadDir(filepath.Join(dir, "pool")); len(ents) != 0 {
		t.Fatalf("files left in the pool's directory: %v", ents)
	}
}

// TestAttachEachFresh: every Attach gets an empty filesystem of its own, ready or made on the
// spot, of the size asked for.
func TestAttachEachFresh(t *testing.T) {
	testutil.RequireRoot(t)
	dir := t.TempDir()
	p, err := New(Config{Dir: filepath.Join(dir, "pool"), ReadyBytes: testSize, Ready: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	sizes := []int64{testSize, testSize, testSize, testSize, 2 * testSize}
	for i, size := range sizes {
		target := filepath.Join(dir, "t", string(rune('a'+i)))
		if err := p.Attach(target, size); err != nil {
			t.Fatal(err)
		}
		defer Detach(target)
		ents, err := os.ReadDir(target)
		if err != nil {
			t.Fatal(err)
		}
		if len(ents) != 1 || ents[0].Name() != "lost+found" {
			t.Fatalf("filesystem %d is not empty: %v", i, ents)
		}
		if err := os.WriteFile(filepath.Join(target, "mine"), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		var st unix.Statfs_t
		if err := unix.Statfs(target, &st); err != nil {
			t.Fatal(err)
		}
		if total := int64(st.Blocks) * st.Bsize; total > size || total < size*9/10 {
			t.Fatalf("filesystem %d: %d bytes, want about %d", i, total, size)
		}
	}
	if err := p.Attach(filepath.Join(dir, "t", "zero"), 0); err == nil {
		t.Fatal("Attach of size 0 worked")
	}
}

// TestNewClearsLeftovers: image files a killed process left in the pool's directory go.
func TestNewClearsLeftovers(t *testing.T) {
	testutil.RequireRoot(t)
	dir := filepath.Join(t.TempDir(), "pool")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "scratch-1.img"), []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := New(Config{Dir: dir, ReadyBytes: testSize})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("leftovers kept: %v", ents)
	}
}

func benchmarkAttach(b *testing.B, ready int) {
	testutil.RequireRoot(b)
	dir := b.TempDir()
	p, err := New(Config{Dir: filepath.Join(dir, "pool"), ReadyBytes: 20 * GiB, Ready: ready})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	target := filepath.Join(dir, "task")
	for b.Loop() {
		b.StopTimer()
		time.Sleep(refillDelay + 50*time.Millisecond) // the pool refills, as between task starts
		b.StartTimer()
		if err := p.Attach(target, 20*GiB); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := Detach(target); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}

// BenchmarkAttachReady is a task start's cost with the pool: mounting a ready filesystem.
func BenchmarkAttachReady(b *testing.B) { benchmarkAttach(b, 2) }

// BenchmarkAttachMade is the cost without one ready: mkfs.ext4, the loop device, the mount.
func BenchmarkAttachMade(b *testing.B) { benchmarkAttach(b, 0) }

// TestReserve: Attach refuses while the host's filesystem has less than the reserve free, and
// accepts again once it has; Usage measures a task's own filesystem and nothing else.
func TestReserve(t *testing.T) {
	dir := privateTmpfs(t, "256m")
	p, err := New(Config{Dir: filepath.Join(dir, "pool"), ReadyBytes: testSize, Ready: 1, Reserve: 128 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	first := filepath.Join(dir, "task1", "scratch")
	if _, _, ok := Usage(first); ok {
		t.Fatal("Usage measured a directory with no filesystem of its own")
	}
	if err := p.Attach(first, testSize); err != nil {
		t.Fatal(err)
	}
	defer Detach(first)
	before, size, ok := Usage(first)
	if !ok {
		t.Fatal("Usage: no filesystem at the target")
	}
	if size > testSize || size < testSize*9/10 {
		t.Fatalf("Usage: size %d, want about %d", size, testSize)
	}
	// The task writes 48 MiB: its own filesystem shows it, and the host's has about 208 MiB
	// minus that free, still above the reserve.
	w, err := os.Create(filepath.Join(first, "data"))
	if err != nil {
		t.Fatal(err)
	}
	buf := bytes.Repeat([]byte{0x5a}, 1<<20)
	for range 48 {
		if _, err := w.Write(buf); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	syscall.Sync()
	if used, _, _ := Usage(first); used-before < 40<<20 {
		t.Fatalf("Usage: %d bytes used after writing 48 MiB (%d before)", used, before)
	}
	// Something else on the host takes it under the reserve: the next task is refused.
	hog := filepath.Join(dir, "hog")
	if err := os.WriteFile(hog, bytes.Repeat([]byte{1}, 96<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	free, err := p.Free()
	if err != nil {
		t.Fatal(err)
	}
	if free >= 128<<20 {
		t.Fatalf("%d MiB free after the hog, want under the reserve", free>>20)
	}
	second := filepath.Join(dir, "task2", "scratch")
	if err := p.Attach(second, testSize); !errors.Is(err, ErrDiskPressure) {
		Detach(second)
		t.Fatalf("Attach with %d MiB free and a 128 MiB reserve: %v, want ErrDiskPressure", free>>20, err)
	}
	if mounted(t, second) {
		t.Fatal("a refused filesystem was mounted")
	}
	if err := os.Remove(hog); err != nil {
		t.Fatal(err)
	}
	if err := p.Attach(second, testSize); err != nil {
		t.Fatalf("Attach once the space is back: %v", err)
	}
	Detach(second)
}

// TestAttachLoopWaitsForABusyDevice: the free device the kernel hands out can be busy for a
// moment: claimed by another attach's configuration, or by the last user of a device that was
// just cleared. attachLoop keeps asking, over time, rather than a fixed number of times at
// once; here the free device is held by an exclusive open for 100 ms.
func TestAttachLoopWaitsForABusyDevice(t *testing.T) {
	testutil.RequireRoot(t)
	ctl, err := os.OpenFile("/dev/loop-control", os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer ctl.Close()
	n, err := unix.IoctlRetInt(int(ctl.Fd()), unix.LOOP_CTL_GET_FREE)
	if err != nil {
		t.Fatal(err)
	}
	hold, err := os.OpenFile(fmt.Sprintf("/dev/loop%d", n), os.O_RDONLY|unix.O_EXCL, 0)
	if err != nil {
		t.Fatal(err)
	}
	released := time.AfterFunc(100*time.Millisecond, func() { hold.Close() })
	defer released.Stop()
	f, err := os.CreateTemp(t.TempDir(), "img")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(1 << 20); err != nil {
		t.Fatal(err)
	}
	loop, err := attachLoop(f)
	if err != nil {
		t.Fatal(err)
	}
	loop.Close() // autoclear: the device goes with its last descriptor
}
