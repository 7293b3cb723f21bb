package main

import (
	"errors"
	"fmt"
	"os"
	"syscall"
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
