package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// Collected is what one GC removed.
type Collected struct {
	Blobs   int   // blobs no manifest refers to
	Uploads int   // abandoned upload files
	Bytes   int64 // what they weighed
}

// GC deletes the blobs that no manifest of any repository refers to (a manifest's own blob, its
// config and its layers) and abandoned uploads, once they are older than grace: blobs pushed
// for a manifest not pushed yet are young, and a blob a client was told exists (HEAD, GET, a
// cross-repository mount) is made young again, so a push that skips uploading it finds it still
// there. Manifest pushes wait for it. Without it, BatchDeleteImage and DeleteRepository would
// free nothing on disk.
func (r *Registry) GC(ctx context.Context, grace time.Duration) (Collected, error) {
	r.gc.Lock()
	defer r.gc.Unlock()
	var out Collected
	keep, err := r.referenced(ctx)
	if err != nil {
		return out, fmt.Errorf("registry gc: %w", err)
	}
	cutoff := r.opts.Now().Add(-grace)
	sweep := func(dir string, remove func(name string) bool) (n int, err error) {
		entries, err := os.ReadDir(dir)
		if errors.Is(err, fs.ErrNotExist) {
			return 0, nil
		}
		if err != nil {
			return 0, err
		}
		for _, e := range entries {
			info, err := e.Info()
			if err != nil || !info.ModTime().Before(cutoff) || !remove(e.Name()) {
				continue
			}
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return n, err
			}
			n++
			out.Bytes += info.Size()
		}
		return n, nil
	}
	if out.Blobs, err = sweep(filepath.Join(r.root, "blobs", "sha256"), func(name string) bool { return !keep["sha256:"+name] }); err != nil {
		return out, fmt.Errorf("registry gc: %w", err)
	}
	if out.Uploads, err = sweep(filepath.Join(r.root, "uploads"), func(string) bool { return true }); err != nil {
		return out, fmt.Errorf("registry gc: %w", err)
	}
	return out, nil
}

// referenced is the set of blob digests the stored manifests refer to.
func (r *Registry) referenced(ctx context.Context) (map[string]bool, error) {
	keep := map[string]bool{}
	repos, err := r.meta.Repositories(ctx)
	if err != nil {
		return nil, err
	}
	for _, repo := range repos {
		recs, err := r.meta.Manifests(ctx, repo.Name)
		if err != nil {
			return nil, err
		}
		for _, rec := range recs {
			keep[rec.Digest] = true
			if rec.MediaType != MediaTypeOCIManifest && rec.MediaType != MediaTypeDockerManifest {
				continue // an index: its children are manifests with records of their own
			}
			body, err := r.readBlob(rec.Digest)
			if err != nil {
				return nil, fmt.Errorf("manifest %s of %s: %w", rec.Digest, repo.Name, err)
			}
			var doc manifestDoc
			if err := json.Unmarshal(body, &doc); err != nil {
				return nil, fmt.Errorf("manifest %s of %s: %w", rec.Digest, repo.Name, err)
			}
			if doc.Config != nil {
				keep[doc.Config.Digest] = true
			}
			for _, l := range doc.Layers {
				keep[l.Digest] = true
			}
		}
	}
	return keep, nil
}

// touch makes a blob young again for GC.
func (r *Registry) touch(digest string) {
	now := r.opts.Now()
	_ = os.Chtimes(r.blobFile(digest), now, now)
}
