package main

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// fill reports the size of dir's filesystem, takes all its free space with fallocate (which
// writes no data, so even a 200 GiB filesystem fills in milliseconds), tries one more write,
// and gives the space back: "fill DIR size=BYTES filled=BYTES write=ERROR".
func fill(dir string) {
	var st syscall.Statfs_t
	check(syscall.Statfs(dir, &st))
	f, err := os.CreateTemp(dir, "fill-*")
	check(err)
	defer os.Remove(f.Name())
	var off int64
	var last error
	for chunk := int64(1 << 30); chunk >= 1<<20 && !isOther(last); chunk /= 2 {
		for last = syscall.Fallocate(int(f.Fd()), 0, off, chunk); last == nil; last = syscall.Fallocate(int(f.Fd()), 0, off, chunk) {
			off += chunk
		}
	}
	if isOther(last) {
		fail("fallocate: " + last.Error())
	}
	_, werr := f.WriteAt(make([]byte, 4<<20), off)
	if werr == nil {
		werr = f.Sync()
	}
	fmt.Printf("fill %s size=%d filled=%d write=%v\n", dir, int64(st.Blocks)*st.Bsize, off, werr)
}

// isOther reports an error that is not the filesystem being full.
func isOther(err error) bool { return err != nil && !errors.Is(err, syscall.ENOSPC) }

// grow writes mib MiB of data (not holes: the host's disk must pay for it) into a file in dir,
// syncs it, prints how much it wrote, and sleeps: a task whose storage takes real space.
func grow(dir string, mib int) {
	f, err := os.CreateTemp(dir, "grow-*")
	check(err)
	buf := make([]byte, 1<<20)
	for i := range buf {
		buf[i] = byte(i*7 + 1)
	}
	n := 0
	var werr error
	for n < mib && werr == nil {
		if _, werr = f.Write(buf); werr == nil {
			n++
		}
	}
	if werr == nil {
		werr = f.Sync()
	}
	fmt.Printf("grew %s by %d MiB: %v\n", dir, n, werr)
	for { // a bare select{} would be a deadlock to Go's runtime
		time.Sleep(time.Hour)
	}
}
