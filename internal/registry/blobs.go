package registry

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

var digestRe = regexp.MustCompile(`^sha256:[a-f0-9]{64}$`)

func checkDigest(d string) error {
	if !digestRe.MatchString(d) {
		return fmt.Errorf("%q: %w", d, ErrInvalidDigest)
	}
	return nil
}

func (r *Registry) blobFile(digest string) string {
	return filepath.Join(r.root, "blobs", "sha256", strings.TrimPrefix(digest, "sha256:"))
}

func (r *Registry) hasBlob(digest string) bool {
	if checkDigest(digest) != nil {
		return false
	}
	_, err := os.Stat(r.blobFile(digest))
	return err == nil
}

func (r *Registry) readBlob(digest string) ([]byte, error) {
	b, err := os.ReadFile(r.blobFile(digest))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("blob %s: %w", digest, ErrBlobNotFound)
	}
	return b, err
}

// commitBlob checks that the file at tmp hashes to digest and renames it into the blob store.
// tmp is gone afterwards either way.
func (r *Registry) commitBlob(tmp, digest string) error {
	defer os.Remove(tmp)
	if err := checkDigest(digest); err != nil {
		return err
	}
	f, err := os.Open(tmp)
	if err != nil {
		return fmt.Errorf("open upload: %w", err)
	}
	h := sha256.New()
	_, err = io.Copy(h, f)
	f.Close()
	if err != nil {
		return fmt.Errorf("hash upload: %w", err)
	}
	if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != digest {
		return fmt.Errorf("upload is %s, not %s: %w", got, digest, ErrDigestMismatch)
	}
	dst := r.blobFile(digest)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("store blob: %w", err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		return fmt.Errorf("store blob: %w", err)
	}
	return nil
}

// putBlob stores b under its own digest.
func (r *Registry) putBlob(b []byte) (string, error) {
	sum := sha256.Sum256(b)
	digest := "sha256:" + hex.EncodeToString(sum[:])
	if r.hasBlob(digest) {
		return digest, nil
	}
	f, err := r.tempFile()
	if err != nil {
		return "", err
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("write blob: %w", err)
	}
	return digest, r.commitBlob(f.Name(), digest)
}

func (r *Registry) tempFile() (*os.File, error) {
	dir := filepath.Join(r.root, "uploads")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create upload dir: %w", err)
	}
	return os.CreateTemp(dir, "blob-")
}

func (r *Registry) blob(w http.ResponseWriter, req *http.Request, name, digest string) error {
	// DELETE is refused too: blobs are shared between repositories.
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		return methodNotAllowed(req)
	}
	if err := checkDigest(digest); err != nil {
		return err
	}
	// GC either swept the blob before, or sees it touched: a client told it exists may push a
	// manifest naming it. The lock is not held while the blob is sent (the open file stays
	// readable), so a long download never holds a GC, nor the pulls that would queue behind it.
	r.gc.RLock()
	f, err := os.Open(r.blobFile(digest))
	if err == nil {
		r.touch(digest)
	}
	r.gc.RUnlock()
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("blob %s in %q: %w", digest, name, ErrBlobNotFound)
	}
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Docker-Content-Digest", digest)
	w.Header().Set("ETag", `"`+digest+`"`)
	http.ServeContent(w, req, "", fi.ModTime(), f)
	return nil
}

// upload is a blob upload session: its bytes accumulate in a file under <root>/uploads.
type upload struct {
	// mu serialises chunks of one upload.
	mu   sync.Mutex
	repo string
	path string
	size int64
}

func newID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func (r *Registry) checkPushable(req *http.Request, name string) error {
	if !r.opts.RequireRepository {
		return nil
	}
	_, err := r.meta.Repository(req.Context(), name)
	return err
}

func (r *Registry) upload(w http.ResponseWriter, req *http.Request, name, id string) error {
	if err := r.checkPushable(req, name); err != nil {
		return err
	}
	if id == "" {
		if req.Method != http.MethodPost {
			return methodNotAllowed(req)
		}
		return r.startUpload(w, req, name)
	}
	r.mu.Lock()
	u := r.uploads[id]
	r.mu.Unlock()
	if u == nil || u.repo != name {
		return fmt.Errorf("upload %s: %w", id, ErrUploadNotFound)
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	switch req.Method {
	case http.MethodGet:
		writeUploadStatus(w, name, id, u.size, http.StatusNoContent)
		return nil
	case http.MethodPatch:
		if err := u.appendChunk(req); err != nil {
			return err
		}
		writeUploadStatus(w, name, id, u.size, http.StatusAccepted)
		return nil
	case http.MethodPut:
		if err := u.appendChunk(req); err != nil {
			return err
		}
		r.dropUpload(id)
		digest := req.URL.Query().Get("digest")
		if err := r.commitBlob(u.path, digest); err != nil {
			return err
		}
		writeBlobCreated(w, name, digest)
		return nil
	case http.MethodDelete:
		r.dropUpload(id)
		os.Remove(u.path)
		w.WriteHeader(http.StatusNoContent)
		return nil
	default:
		return methodNotAllowed(req)
	}
}

func (r *Registry) dropUpload(id string) {
	r.mu.Lock()
	delete(r.uploads, id)
	r.mu.Unlock()
}

// mountBlob reports whether a cross-repository mount of digest can be answered from the store,
// making the blob young for GC if so.
func (r *Registry) mountBlob(digest string) bool {
	r.gc.RLock()
	defer r.gc.RUnlock()
	if !r.hasBlob(digest) {
		return false
	}
	r.touch(digest)
	return true
}

func (r *Registry) startUpload(w http.ResponseWriter, req *http.Request, name string) error {
	q := req.URL.Query()
	if mount := q.Get("mount"); mount != "" && r.mountBlob(mount) {
		writeBlobCreated(w, name, mount)
		return nil
	}
	f, err := r.tempFile()
	if err != nil {
		return err
	}
	f.Close()
	u := &upload{repo: name, path: f.Name()}
	if digest := q.Get("digest"); digest != "" {
		// Monolithic upload: the body is the whole blob.
		if err := u.appendChunk(req); err != nil {
			os.Remove(u.path)
			return err
		}
		if err := r.commitBlob(u.path, digest); err != nil {
			return err
		}
		writeBlobCreated(w, name, digest)
		return nil
	}
	id := newID()
	r.mu.Lock()
	r.uploads[id] = u
	r.mu.Unlock()
	writeUploadStatus(w, name, id, 0, http.StatusAccepted)
	return nil
}

// appendChunk appends the request body, checking that a Content-Range starts where the upload
// stands.
func (u *upload) appendChunk(req *http.Request) error {
	if cr := req.Header.Get("Content-Range"); cr != "" {
		start, _, ok := strings.Cut(strings.TrimPrefix(cr, "bytes="), "-")
		if n, err := strconv.ParseInt(start, 10, 64); !ok || err != nil || n != u.size {
			return fmt.Errorf("chunk starts at %q, upload holds %d bytes: %w", cr, u.size, ErrUploadRange)
		}
	}
	f, err := os.OpenFile(u.path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return fmt.Errorf("open upload: %w", err)
	}
	n, err := io.Copy(f, req.Body)
	u.size += n
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write upload: %w", err)
	}
	return nil
}

func writeUploadStatus(w http.ResponseWriter, name, id string, size int64, status int) {
	end := size - 1
	if end < 0 {
		end = 0
	}
	w.Header().Set("Location", "/v2/"+name+"/blobs/uploads/"+id)
	w.Header().Set("Range", fmt.Sprintf("0-%d", end))
	w.Header().Set("Docker-Upload-UUID", id)
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(status)
}

func writeBlobCreated(w http.ResponseWriter, name, digest string) {
	w.Header().Set("Location", "/v2/"+name+"/blobs/"+digest)
	w.Header().Set("Docker-Content-Digest", digest)
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusCreated)
}
