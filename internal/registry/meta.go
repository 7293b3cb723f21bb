package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// Repository is a named collection of manifests and tags.
type Repository struct {
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"createdAt"`
}

// ManifestRecord indexes one manifest stored in a repository; the manifest bytes are a blob.
type ManifestRecord struct {
	Digest    string `json:"digest"`
	MediaType string `json:"mediaType"`
	// ArtifactType is the config media type of an image manifest (or its artifactType).
	ArtifactType string `json:"artifactType,omitempty"`
	// Size is the length of the manifest itself.
	Size int64 `json:"size"`
	// ImageSize is what the image weighs: its config and layers, or for an index the
	// sizes its entries declare.
	ImageSize int64     `json:"imageSize"`
	PushedAt  time.Time `json:"pushedAt"`
	// Children are the manifests an index refers to.
	Children []string `json:"children,omitempty"`
}

// Tag points a name at a manifest digest.
type Tag struct {
	Name   string `json:"name"`
	Digest string `json:"digest"`
}

// Meta stores repositories, the manifest index and tags. Blobs live elsewhere. FSMeta keeps them
// on disk; an etcd implementation can take its place. Lookups of missing items return errors
// wrapping ErrRepositoryNotFound, ErrManifestNotFound or ErrTagNotFound.
type Meta interface {
	CreateRepository(ctx context.Context, repo Repository) error
	Repository(ctx context.Context, name string) (Repository, error)
	// Repositories returns every repository ordered by name.
	Repositories(ctx context.Context) ([]Repository, error)
	// DeleteRepository removes a repository with its manifest records and tags.
	DeleteRepository(ctx context.Context, name string) error

	PutManifest(ctx context.Context, repo string, m ManifestRecord) error
	Manifest(ctx context.Context, repo, digest string) (ManifestRecord, error)
	Manifests(ctx context.Context, repo string) ([]ManifestRecord, error)
	// DeleteManifest removes a manifest record and every tag pointing at it.
	DeleteManifest(ctx context.Context, repo, digest string) error

	PutTag(ctx context.Context, repo string, tag Tag) error
	Tag(ctx context.Context, repo, name string) (Tag, error)
	// Tags returns the repository's tags ordered by name.
	Tags(ctx context.Context, repo string) ([]Tag, error)
	DeleteTag(ctx context.Context, repo, name string) error
}

var _ Meta = (*FSMeta)(nil)

// FSMeta is a Meta in a directory tree:
//
//	<root>/<repo name>/_repo.json
//	<root>/<repo name>/_manifests/<hex>.json
//	<root>/<repo name>/_tags/<tag>            (holds the digest)
//
// Repository name components never start with "_", so nested repositories cannot clash.
type FSMeta struct {
	root string
	// mu serialises writers so read-modify-write sequences are atomic within the process.
	mu sync.RWMutex
}

// NewFSMeta returns a Meta stored under root.
func NewFSMeta(root string) *FSMeta { return &FSMeta{root: root} }

func (m *FSMeta) repoDir(name string) string { return filepath.Join(m.root, filepath.FromSlash(name)) }

func (m *FSMeta) existsLocked(name string) error {
	if !ValidName(name) {
		// Names become paths: a name the distribution spec forbids never reaches the disk.
		return fmt.Errorf("repository %q: %w", name, ErrInvalidName)
	}
	if _, err := os.Stat(filepath.Join(m.repoDir(name), "_repo.json")); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("repository %q: %w", name, ErrRepositoryNotFound)
		}
		return fmt.Errorf("repository %q: %w", name, err)
	}
	return nil
}

func writeJSONAtomic(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return writeAtomic(path, b)
}

func writeAtomic(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

func (m *FSMeta) CreateRepository(_ context.Context, repo Repository) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.existsLocked(repo.Name); err == nil {
		return fmt.Errorf("repository %q: %w", repo.Name, ErrRepositoryExists)
	}
	if err := writeJSONAtomic(filepath.Join(m.repoDir(repo.Name), "_repo.json"), repo); err != nil {
		return fmt.Errorf("create repository %q: %w", repo.Name, err)
	}
	return nil
}

func (m *FSMeta) Repository(_ context.Context, name string) (Repository, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	var repo Repository
	err := readJSON(filepath.Join(m.repoDir(name), "_repo.json"), &repo)
	if errors.Is(err, fs.ErrNotExist) {
		return repo, fmt.Errorf("repository %q: %w", name, ErrRepositoryNotFound)
	}
	if err != nil {
		return repo, fmt.Errorf("repository %q: %w", name, err)
	}
	return repo, nil
}

func (m *FSMeta) Repositories(_ context.Context) ([]Repository, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	var out []Repository
	err := filepath.WalkDir(m.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && p == m.root {
				return fs.SkipAll
			}
			return err
		}
		if d.IsDir() && strings.HasPrefix(d.Name(), "_") {
			return fs.SkipDir
		}
		if d.Name() != "_repo.json" {
			return nil
		}
		var repo Repository
		if err := readJSON(p, &repo); err != nil {
			return err
		}
		out = append(out, repo)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list repositories: %w", err)
	}
	slices.SortFunc(out, func(a, b Repository) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

func (m *FSMeta) DeleteRepository(_ context.Context, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.existsLocked(name); err != nil {
		return err
	}
	dir := m.repoDir(name)
	// _repo.json goes first: a crash halfway leaves no half-deleted repository visible.
	for _, p := range []string{"_repo.json", "_manifests", "_tags"} {
		if err := os.RemoveAll(filepath.Join(dir, p)); err != nil {
			return fmt.Errorf("delete repository %q: %w", name, err)
		}
	}
	os.Remove(dir) // only succeeds when no nested repository lives below
	return nil
}

func (m *FSMeta) manifestPath(repo, digest string) string {
	return filepath.Join(m.repoDir(repo), "_manifests", strings.TrimPrefix(digest, "sha256:")+".json")
}

func (m *FSMeta) PutManifest(_ context.Context, repo string, rec ManifestRecord) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.existsLocked(repo); err != nil {
		return err
	}
	if err := writeJSONAtomic(m.manifestPath(repo, rec.Digest), rec); err != nil {
		return fmt.Errorf("put manifest %s: %w", rec.Digest, err)
	}
	return nil
}

func (m *FSMeta) Manifest(_ context.Context, repo, digest string) (ManifestRecord, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.manifestLocked(repo, digest)
}

func (m *FSMeta) manifestLocked(repo, digest string) (ManifestRecord, error) {
	var rec ManifestRecord
	if err := m.existsLocked(repo); err != nil {
		return rec, err
	}
	err := readJSON(m.manifestPath(repo, digest), &rec)
	if errors.Is(err, fs.ErrNotExist) {
		return rec, fmt.Errorf("manifest %s in %q: %w", digest, repo, ErrManifestNotFound)
	}
	if err != nil {
		return rec, fmt.Errorf("manifest %s in %q: %w", digest, repo, err)
	}
	return rec, nil
}

func (m *FSMeta) Manifests(_ context.Context, repo string) ([]ManifestRecord, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if err := m.existsLocked(repo); err != nil {
		return nil, err
	}
	ents, err := os.ReadDir(filepath.Join(m.repoDir(repo), "_manifests"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("list manifests of %q: %w", repo, err)
	}
	var out []ManifestRecord
	for _, e := range ents {
		h, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok {
			continue
		}
		rec, err := m.manifestLocked(repo, "sha256:"+h)
		if err != nil {
			return nil, err
		}
		out = append(out, rec)
	}
	return out, nil
}

func (m *FSMeta) DeleteManifest(_ context.Context, repo, digest string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, err := m.manifestLocked(repo, digest); err != nil {
		return err
	}
	tags, err := m.tagsLocked(repo)
	if err != nil {
		return err
	}
	for _, t := range tags {
		if t.Digest == digest {
			if err := os.Remove(m.tagPath(repo, t.Name)); err != nil {
				return fmt.Errorf("delete tag %q: %w", t.Name, err)
			}
		}
	}
	if err := os.Remove(m.manifestPath(repo, digest)); err != nil {
		return fmt.Errorf("delete manifest %s: %w", digest, err)
	}
	return nil
}

func (m *FSMeta) tagPath(repo, tag string) string {
	return filepath.Join(m.repoDir(repo), "_tags", tag)
}

func (m *FSMeta) PutTag(_ context.Context, repo string, tag Tag) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !tagRe.MatchString(tag.Name) {
		return fmt.Errorf("%q: %w", tag.Name, ErrInvalidTag)
	}
	if _, err := m.manifestLocked(repo, tag.Digest); err != nil {
		return err
	}
	if err := writeAtomic(m.tagPath(repo, tag.Name), []byte(tag.Digest)); err != nil {
		return fmt.Errorf("put tag %q: %w", tag.Name, err)
	}
	return nil
}

func (m *FSMeta) Tag(_ context.Context, repo, name string) (Tag, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if !tagRe.MatchString(name) {
		return Tag{}, fmt.Errorf("%q: %w", name, ErrInvalidTag)
	}
	if err := m.existsLocked(repo); err != nil {
		return Tag{}, err
	}
	b, err := os.ReadFile(m.tagPath(repo, name))
	if errors.Is(err, fs.ErrNotExist) {
		return Tag{}, fmt.Errorf("tag %q in %q: %w", name, repo, ErrTagNotFound)
	}
	if err != nil {
		return Tag{}, fmt.Errorf("tag %q in %q: %w", name, repo, err)
	}
	return Tag{Name: name, Digest: string(b)}, nil
}

func (m *FSMeta) Tags(_ context.Context, repo string) ([]Tag, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if err := m.existsLocked(repo); err != nil {
		return nil, err
	}
	return m.tagsLocked(repo)
}

func (m *FSMeta) tagsLocked(repo string) ([]Tag, error) {
	ents, err := os.ReadDir(filepath.Join(m.repoDir(repo), "_tags"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("list tags of %q: %w", repo, err)
	}
	var out []Tag
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".tmp-") {
			continue
		}
		b, err := os.ReadFile(m.tagPath(repo, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("read tag %q: %w", e.Name(), err)
		}
		out = append(out, Tag{Name: e.Name(), Digest: string(b)})
	}
	return out, nil // os.ReadDir sorts by name
}

func (m *FSMeta) DeleteTag(_ context.Context, repo, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !tagRe.MatchString(name) {
		return fmt.Errorf("%q: %w", name, ErrInvalidTag)
	}
	if err := m.existsLocked(repo); err != nil {
		return err
	}
	err := os.Remove(m.tagPath(repo, name))
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("tag %q in %q: %w", name, repo, ErrTagNotFound)
	}
	if err != nil {
		return fmt.Errorf("delete tag %q: %w", name, err)
	}
	return nil
}
