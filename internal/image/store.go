package image

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
)

// Options configures a Store.
type Options struct {
	// Insecure lists registry hosts ("host" or "host:port") reached over plain HTTP. Loopback and
	// localhost registries always are.
	Insecure []string
	// Transport is the base HTTP transport; http.DefaultTransport when nil.
	Transport http.RoundTripper
	// Logger receives pull progress when a pull has no Progress callback.
	Logger *slog.Logger
	// AllowDevices lets layers create device nodes (see UnpackOptions).
	AllowDevices bool
	// OS and Architecture select the manifest of a multi-platform image; linux and
	// runtime.GOARCH when empty.
	OS, Architecture string
	// Concurrency bounds parallel layer downloads per pull; 3 when zero.
	Concurrency int
}

// Store keeps image records, small blobs (manifests, configs) and unpacked layers under one
// directory, all addressed by digest:
//
//	blobs/sha256/<hex>          manifests and configs
//	layers/sha256/<hex>/fs      unpacked layer, keyed by the blob digest
//	layers/sha256/<hex>/layer.json
//	images/sha256/<hex>.json    image records, keyed by manifest digest
//	tmp/                        work in progress, renamed into place when verified
type Store struct {
	root    string
	opts    Options
	log     *slog.Logger
	flight  flight
	clients clientCache
	// use is held shared by every pull and exclusively by GC and Prune, which delete what a
	// pull may be writing or about to use.
	use sync.RWMutex
}

// New returns a store rooted at root. Directories are created on first use. The root is made
// absolute, since layer directories end up in overlayfs mount options.
func New(root string, opts Options) *Store {
	if abs, err := filepath.Abs(root); err == nil {
		root = abs
	}
	if opts.OS == "" {
		opts.OS = "linux"
	}
	if opts.Architecture == "" {
		opts.Architecture = runtime.GOARCH
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 3
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Store{root: root, opts: opts, log: log.With("component", "image")}
}

// Root returns the directory the store lives in.
func (s *Store) Root() string { return s.root }

func splitDigest(digest string) (string, error) {
	hexPart, ok := strings.CutPrefix(digest, "sha256:")
	if !ok || len(hexPart) != 64 || strings.Trim(hexPart, "0123456789abcdef") != "" {
		return "", fmt.Errorf("digest %q: %w", digest, ErrUnsupported)
	}
	return hexPart, nil
}

func sha256Digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func (s *Store) layerPath(digest string) (string, error) {
	h, err := splitDigest(digest)
	if err != nil {
		return "", err
	}
	return filepath.Join(s.root, "layers", "sha256", h), nil
}

func (s *Store) imagePath(digest string) (string, error) {
	h, err := splitDigest(digest)
	if err != nil {
		return "", err
	}
	return filepath.Join(s.root, "images", "sha256", h+".json"), nil
}

func (s *Store) blobPath(digest string) (string, error) {
	h, err := splitDigest(digest)
	if err != nil {
		return "", err
	}
	return filepath.Join(s.root, "blobs", "sha256", h), nil
}

func (s *Store) tempDir() (string, error) {
	dir := filepath.Join(s.root, "tmp")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("create temp dir: %w", err)
	}
	return dir, nil
}

// writeFileAtomic writes data to path through a temporary file and a rename, so readers see the
// whole file or none of it.
func (s *Store) writeFileAtomic(path string, data []byte) error {
	tmpDir, err := s.tempDir()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("create %q: %w", filepath.Dir(path), err)
	}
	f, err := os.CreateTemp(tmpDir, "file-")
	if err != nil {
		return fmt.Errorf("create temp file: %w", err)
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %q: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %q: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("rename into %q: %w", path, err)
	}
	return nil
}

// Get returns the image record for a manifest digest.
func (s *Store) Get(digest string) (Image, error) {
	p, err := s.imagePath(digest)
	if err != nil {
		return Image{}, err
	}
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return Image{}, fmt.Errorf("image %s: %w", digest, ErrNotFound)
	}
	if err != nil {
		return Image{}, fmt.Errorf("read image %s: %w", digest, err)
	}
	var img Image
	if err := json.Unmarshal(b, &img); err != nil {
		return Image{}, fmt.Errorf("decode image %s: %w", digest, err)
	}
	return img, nil
}

// List returns every image record in the store, ordered by digest.
func (s *Store) List() ([]Image, error) {
	entries, err := os.ReadDir(filepath.Join(s.root, "images", "sha256"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list images: %w", err)
	}
	var out []Image
	for _, e := range entries {
		h, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok {
			continue
		}
		img, err := s.Get("sha256:" + h)
		if err != nil {
			return nil, err
		}
		out = append(out, img)
	}
	return out, nil
}

func (s *Store) putImage(img Image) error {
	p, err := s.imagePath(img.Digest)
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(img, "", "  ")
	if err != nil {
		return fmt.Errorf("encode image: %w", err)
	}
	return s.writeFileAtomic(p, b)
}

// Remove deletes the image record for a manifest digest. Its layers stay until GC finds them
// unreferenced. The caller must not remove an image that a mounted rootfs still uses.
func (s *Store) Remove(digest string) error {
	p, err := s.imagePath(digest)
	if err != nil {
		return err
	}
	err = os.Remove(p)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("image %s: %w", digest, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("remove image %s: %w", digest, err)
	}
	return nil
}

// GC deletes layers and blobs no image record references, and leftovers of interrupted pulls. It
// returns the digests of the layers it removed. Pulls wait for it, but only while it moves what
// goes out of the way: the deleting, which takes long for big layers, happens after.
func (s *Store) GC() ([]string, error) {
	s.use.Lock()
	removed, trash, err := s.gcLocked()
	s.use.Unlock()
	return removed, errors.Join(err, s.emptyTrash(trash))
}

// emptyTrash deletes what one gcLocked moved out of the way to dir, and what a crash left in the
// trash over an hour ago.
func (s *Store) emptyTrash(dir string) error {
	var errs []error
	if dir != "" {
		errs = append(errs, os.RemoveAll(dir))
	}
	root := filepath.Join(s.root, "trash")
	entries, _ := os.ReadDir(root)
	for _, e := range entries {
		if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > time.Hour {
			errs = append(errs, os.RemoveAll(filepath.Join(root, e.Name())))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("gc: %w", err)
	}
	return nil
}

// gcLocked moves every unreferenced layer and blob, and the temporary directory, to a new
// directory of the trash, which it returns.
func (s *Store) gcLocked() (removed []string, trash string, err error) {
	imgs, err := s.List()
	if err != nil {
		return nil, "", err
	}
	keep := map[string]bool{}
	for _, img := range imgs {
		keep[img.Digest], keep[img.RepoDigest], keep[img.ConfigDigest] = true, true, true
		for _, l := range img.Layers {
			keep[l.Digest] = true
		}
	}
	root := filepath.Join(s.root, "trash")
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, "", fmt.Errorf("gc: %w", err)
	}
	if trash, err = os.MkdirTemp(root, "gc-"); err != nil {
		return nil, "", fmt.Errorf("gc: %w", err)
	}
	for _, kind := range []string{"layers", "blobs"} {
		dir := filepath.Join(s.root, kind, "sha256")
		entries, err := os.ReadDir(dir)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return removed, trash, fmt.Errorf("gc %s: %w", kind, err)
		}
		for _, e := range entries {
			d := "sha256:" + e.Name()
			if keep[d] {
				continue
			}
			if err := os.Rename(filepath.Join(dir, e.Name()), filepath.Join(trash, kind+"-"+e.Name())); err != nil {
				return removed, trash, fmt.Errorf("gc %s: %w", d, err)
			}
			if kind == "layers" {
				removed = append(removed, d)
			}
		}
	}
	if err := os.Rename(filepath.Join(s.root, "tmp"), filepath.Join(trash, "tmp")); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return removed, trash, fmt.Errorf("gc temp: %w", err)
	}
	slices.Sort(removed)
	return removed, trash, nil
}
