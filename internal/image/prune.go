package image

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Pruned is what one Prune removed.
type Pruned struct {
	Images []string // manifest digests of the image records removed
	Layers []string // digests of the layers removed with them
	Busy   bool     // pulls ran all along: nothing was pruned
}

// pruneWait bounds how long Prune tries to find no pull running.
const pruneWait = 5 * time.Second

// Prune removes the records of the images no pull has asked for in the last unusedFor and none
// of whose layers a mounted root filesystem uses, then every layer and blob no record references
// (GC). Pulls wait for it, briefly; it does not wait for pulls: while one runs for longer than
// pruneWait, Prune does nothing and says Busy (a waiting Prune would hold every new pull behind a
// long one). Without it, the cache keeps every image a host ever ran.
func (s *Store) Prune(unusedFor time.Duration) (Pruned, error) {
	deadline := time.Now().Add(pruneWait)
	for !s.use.TryLock() {
		if time.Now().After(deadline) {
			return Pruned{Busy: true}, nil
		}
		time.Sleep(pruneWait / 100)
	}
	out, trash, err := s.pruneLocked(unusedFor)
	s.use.Unlock()
	return out, errors.Join(err, s.emptyTrash(trash))
}

func (s *Store) pruneLocked(unusedFor time.Duration) (Pruned, string, error) {
	var out Pruned
	// A layer is in use while any mount names its directory: a container's overlay (in the
	// container's own mount namespace under runc), or the read-only bind of a single-layer
	// image. That is the kernel's word, adopted tasks included.
	mounts, err := mountTables()
	if err != nil {
		return out, "", fmt.Errorf("prune images: %w", err)
	}
	dir := filepath.Join(s.root, "images", "sha256")
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return out, "", fmt.Errorf("prune images: %w", err)
	}
	cutoff := time.Now().Add(-unusedFor)
	for _, e := range entries {
		h, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok {
			continue
		}
		info, err := e.Info()
		if err != nil || !info.ModTime().Before(cutoff) {
			continue // used lately (every pull rewrites or touches the record), or gone
		}
		img, err := s.Get("sha256:" + h)
		if err != nil {
			return out, "", fmt.Errorf("prune images: %w", err)
		}
		if s.mounted(img, string(mounts)) {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return out, "", fmt.Errorf("prune image %s: %w", img.Digest, err)
		}
		out.Images = append(out.Images, img.Digest)
	}
	var trash string
	out.Layers, trash, err = s.gcLocked()
	return out, trash, err
}

// mounted reports whether mountinfo (mountTables) names the directory of any of img's layers in
// this store: another store on the host (another gantry's) may have the same layers mounted,
// which keeps nothing here.
func (s *Store) mounted(img Image, mountinfo string) bool {
	for _, l := range img.Layers {
		p, err := s.layerPath(l.Digest)
		if err != nil {
			continue
		}
		if abs, err := filepath.Abs(p); err == nil {
			p = abs
		}
		if strings.Contains(mountinfo, mountinfoEscaper.Replace(p)+"/") {
			return true
		}
	}
	return false
}

// mountTables returns the mount tables of this process's mount namespace and of every other
// one on the host: a container whose root overlay runc mounted inside its own namespace shows
// it only there. Processes that end meanwhile are skipped.
func mountTables() (string, error) {
	own, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.Write(own)
	seen := map[uint64]bool{}
	if st, err := os.Stat("/proc/self/ns/mnt"); err == nil {
		seen[inode(st)] = true
	}
	pids, err := os.ReadDir("/proc")
	if err != nil {
		return "", err
	}
	for _, e := range pids {
		if e.Name()[0] < '0' || e.Name()[0] > '9' {
			continue
		}
		st, err := os.Stat(filepath.Join("/proc", e.Name(), "ns", "mnt"))
		if err != nil || seen[inode(st)] {
			continue
		}
		seen[inode(st)] = true
		if table, err := os.ReadFile(filepath.Join("/proc", e.Name(), "mountinfo")); err == nil {
			b.Write(table)
		}
	}
	return b.String(), nil
}

func inode(fi fs.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Ino
	}
	return 0
}

// mountinfoEscaper writes a path as /proc/self/mountinfo does (octal escapes).
var mountinfoEscaper = strings.NewReplacer(" ", `\040`, "\t", `\011`, "\n", `\012`, `\`, `\134`)

// touch marks an image's record as used now.
func (s *Store) touch(digest string) {
	if p, err := s.imagePath(digest); err == nil {
		now := time.Now()
		_ = os.Chtimes(p, now, now)
	}
}
