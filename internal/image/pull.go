package image

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/zstd"
)

// PullOptions tunes one Pull.
type PullOptions struct {
	// Username and Password are sent as basic credentials (or exchanged for a bearer token, as the
	// registry asks); the pull is anonymous when both are empty.
	Username, Password string
	// Progress, when set, is called at most once a second while layers download, and once at the
	// end. Without it, progress goes to the store's logger.
	Progress func(Progress)
}

// Progress reports the download of an image's missing layers.
type Progress struct {
	Ref   string
	Done  int64 // bytes downloaded so far
	Total int64 // bytes of all layers that were not cached
}

const maxManifestSize = 4 << 20

var manifestAccept = []string{
	string(types.OCIManifestSchema1), string(types.OCIImageIndex),
	string(types.DockerManifestSchema2), string(types.DockerManifestList),
}

// Pull resolves ref at its registry, verifies and stores the manifest and config, and downloads,
// verifies and unpacks every layer not already in the store. A digest-pinned ref must match
// the manifest bytes the registry returns.
func (s *Store) Pull(ctx context.Context, ref string, opts PullOptions) (Image, error) {
	r, err := s.parseRef(ref)
	if err != nil {
		return Image{}, err
	}
	s.use.RLock()
	defer s.use.RUnlock()
	if d, ok := r.(name.Digest); ok {
		if img, ok := s.pinned(d.DigestStr()); ok {
			img.Ref = ref
			s.touch(img.Digest) // used now, for Prune
			return img, nil     // content-addressed: nothing at the registry can change it
		}
	}
	c, err := s.client(ctx, r.Context(), opts)
	if err != nil {
		return Image{}, fmt.Errorf("pull %s: %w", ref, err)
	}
	img, m, err := s.resolve(ctx, c, r)
	if err != nil {
		return Image{}, fmt.Errorf("pull %s: %w", ref, err)
	}
	img.Ref = ref
	if err := s.pullLayers(ctx, c, &img, m, opts); err != nil {
		return Image{}, fmt.Errorf("pull %s: %w", ref, err)
	}
	img.PulledAt = time.Now().UTC()
	if err := s.keepImage(img); err != nil {
		return Image{}, fmt.Errorf("pull %s: %w", ref, err)
	}
	return img, nil
}

// keepImage writes img's record, unless the stored one says the same but for when it was
// written: then it only marks it used (for Prune), so the pull of a cached image writes no file.
func (s *Store) keepImage(img Image) error {
	p, err := s.imagePath(img.Digest)
	if err != nil {
		return err
	}
	if raw, err := os.ReadFile(p); err == nil {
		var old Image
		if json.Unmarshal(raw, &old) == nil {
			same := img
			same.PulledAt = old.PulledAt
			if b, err := json.MarshalIndent(same, "", "  "); err == nil && bytes.Equal(b, raw) {
				s.touch(img.Digest)
				return nil
			}
		}
	}
	return s.putImage(img)
}

// pinned finds a stored image whose manifest (or index) digest is digest and whose layers are
// all unpacked, so a digest-pinned pull needs no registry, as after an agent restart.
func (s *Store) pinned(digest string) (Image, bool) {
	imgs, err := s.List()
	if err != nil {
		return Image{}, false
	}
	for _, img := range imgs {
		if img.Digest != digest && img.RepoDigest != digest {
			continue
		}
		for _, l := range img.Layers {
			if _, ok := s.cachedLayer(l.Digest); !ok {
				return Image{}, false
			}
		}
		return img, true
	}
	return Image{}, false
}

func (s *Store) parseRef(ref string) (name.Reference, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return nil, fmt.Errorf("parse reference %q: %w", ref, err)
	}
	if slices.Contains(s.opts.Insecure, r.Context().RegistryStr()) {
		r, err = name.ParseReference(ref, name.Insecure)
		if err != nil {
			return nil, fmt.Errorf("parse reference %q: %w", ref, err)
		}
	}
	return r, nil
}

// client talks to one repository through go-containerregistry's authenticating transport, which
// handles the registry's basic or bearer-token challenge.
type client struct {
	http *http.Client
	repo name.Repository
}

// clientTTL is how long later pulls from a repository reuse its client, and so the registry's
// auth handshake (a ping, perhaps a token): the pull of a cached image is one manifest request.
const clientTTL = time.Minute

// clientCache holds recent clients by repository and credentials.
type clientCache struct {
	mu sync.Mutex
	m  map[string]cachedClient
}

type cachedClient struct {
	c     *client
	until time.Time
}

func (cc *clientCache) get(key string, now time.Time) (*client, bool) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	e, ok := cc.m[key]
	if !ok || now.After(e.until) {
		return nil, false
	}
	return e.c, true
}

func (cc *clientCache) put(key string, c *client, now time.Time) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.m == nil {
		cc.m = map[string]cachedClient{}
	}
	for k, e := range cc.m {
		if now.After(e.until) {
			delete(cc.m, k)
		}
	}
	cc.m[key] = cachedClient{c: c, until: now.Add(clientTTL)}
}

func (s *Store) client(ctx context.Context, repo name.Repository, opts PullOptions) (*client, error) {
	sum := sha256.Sum256([]byte(opts.Username + "\x00" + opts.Password))
	key := repo.Name() + "\x00" + hex.EncodeToString(sum[:])
	now := time.Now()
	if c, ok := s.clients.get(key, now); ok {
		return c, nil
	}
	c, err := s.newClient(ctx, repo, opts)
	if err == nil {
		s.clients.put(key, c, now)
	}
	return c, err
}

func (s *Store) newClient(ctx context.Context, repo name.Repository, opts PullOptions) (*client, error) {
	var auth authn.Authenticator = authn.Anonymous
	if opts.Username != "" || opts.Password != "" {
		auth = &authn.Basic{Username: opts.Username, Password: opts.Password}
	}
	base := s.opts.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	rt, err := transport.NewWithContext(ctx, repo.Registry, auth, base, []string{repo.Scope(transport.PullScope)})
	if err != nil {
		return nil, fmt.Errorf("registry %s: %w", repo.RegistryStr(), err)
	}
	return &client{http: &http.Client{Transport: rt}, repo: repo}, nil
}

func (c *client) get(ctx context.Context, kind, id string, accept []string) (*http.Response, error) {
	u := fmt.Sprintf("%s://%s/v2/%s/%s/%s", c.repo.Scheme(), c.repo.RegistryStr(), c.repo.RepositoryStr(), kind, id)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	for _, a := range accept {
		req.Header.Add("Accept", a)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusOK {
		return resp, nil
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode == http.StatusNotFound {
		return nil, fmt.Errorf("%s %s in %s: %w", kind, id, c.repo, ErrNotFound)
	}
	return nil, fmt.Errorf("get %s %s: status %d: %s", kind, id, resp.StatusCode, bytes.TrimSpace(body))
}

// manifest fetches a manifest and returns its bytes, digest and media type.
func (c *client) manifest(ctx context.Context, id string) ([]byte, string, types.MediaType, error) {
	resp, err := c.get(ctx, "manifests", id, manifestAccept)
	if err != nil {
		return nil, "", "", err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxManifestSize+1))
	if err != nil {
		return nil, "", "", fmt.Errorf("read manifest %s: %w", id, err)
	}
	if len(raw) > maxManifestSize {
		return nil, "", "", fmt.Errorf("manifest %s larger than %d bytes: %w", id, maxManifestSize, ErrUnsupported)
	}
	return raw, sha256Digest(raw), types.MediaType(resp.Header.Get("Content-Type")), nil
}

// mediaTypeOf prefers the manifest's own mediaType field to the Content-Type header. Call it only
// on verified bytes.
func mediaTypeOf(raw []byte, header types.MediaType) (types.MediaType, error) {
	var probe struct {
		MediaType types.MediaType `json:"mediaType"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		return "", fmt.Errorf("decode manifest: %w", err)
	}
	if probe.MediaType != "" {
		return probe.MediaType, nil
	}
	return header, nil
}

// resolve fetches the manifest (through an index when there is one) and the config.
func (s *Store) resolve(ctx context.Context, c *client, r name.Reference) (Image, *v1.Manifest, error) {
	raw, digest, mt, err := c.manifest(ctx, r.Identifier())
	if err != nil {
		return Image{}, nil, err
	}
	if d, ok := r.(name.Digest); ok && d.DigestStr() != digest {
		return Image{}, nil, fmt.Errorf("manifest is %s, want %s: %w", digest, d.DigestStr(), ErrDigestMismatch)
	}
	if mt, err = mediaTypeOf(raw, mt); err != nil {
		return Image{}, nil, err
	}
	img := Image{RepoDigest: digest}
	if mt.IsIndex() {
		child, err := s.pickPlatform(raw)
		if err != nil {
			return Image{}, nil, err
		}
		if raw, digest, mt, err = c.manifest(ctx, child); err != nil {
			return Image{}, nil, err
		}
		if digest != child {
			return Image{}, nil, fmt.Errorf("manifest is %s, index says %s: %w", digest, child, ErrDigestMismatch)
		}
		if mt, err = mediaTypeOf(raw, mt); err != nil {
			return Image{}, nil, err
		}
	}
	if !mt.IsImage() {
		return Image{}, nil, fmt.Errorf("manifest media type %q: %w", mt, ErrUnsupported)
	}
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		return Image{}, nil, fmt.Errorf("decode manifest: %w", err)
	}
	img.Digest, img.MediaType, img.ConfigDigest = digest, string(mt), m.Config.Digest.String()
	if err := s.saveBlob(digest, raw); err != nil {
		return Image{}, nil, err
	}
	cfg, err := s.config(ctx, c, img.ConfigDigest)
	if err != nil {
		return Image{}, nil, err
	}
	if len(cfg.RootFS.DiffIDs) != len(m.Layers) {
		return Image{}, nil, fmt.Errorf("config lists %d layers, manifest %d: %w", len(cfg.RootFS.DiffIDs), len(m.Layers), ErrUnsupported)
	}
	img.Config = configFrom(cfg)
	for i, l := range m.Layers {
		img.Layers = append(img.Layers, Layer{Digest: l.Digest.String(), DiffID: cfg.RootFS.DiffIDs[i].String(), Size: l.Size, MediaType: string(l.MediaType)})
	}
	return img, m, nil
}

func (s *Store) pickPlatform(raw []byte) (string, error) {
	idx, err := v1.ParseIndexManifest(bytes.NewReader(raw))
	if err != nil {
		return "", fmt.Errorf("decode index: %w", err)
	}
	for _, d := range idx.Manifests {
		if d.Platform != nil && d.Platform.OS == s.opts.OS && d.Platform.Architecture == s.opts.Architecture {
			return d.Digest.String(), nil
		}
	}
	return "", fmt.Errorf("%s/%s: %w", s.opts.OS, s.opts.Architecture, ErrNoPlatform)
}

func (s *Store) saveBlob(digest string, data []byte) error {
	p, err := s.blobPath(digest)
	if err != nil {
		return err
	}
	if _, err := os.Stat(p); err == nil {
		return nil // addressed by its content, and written whole (renamed into place)
	}
	return s.writeFileAtomic(p, data)
}

// config returns the image config, from the store when it is there.
func (s *Store) config(ctx context.Context, c *client, digest string) (*v1.ConfigFile, error) {
	p, err := s.blobPath(digest)
	if err != nil {
		return nil, err
	}
	raw, err := os.ReadFile(p)
	if err != nil {
		resp, err := c.get(ctx, "blobs", digest, nil)
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		raw, err = io.ReadAll(io.LimitReader(resp.Body, maxManifestSize))
		resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("read config: %w", err)
		}
	}
	if got := sha256Digest(raw); got != digest {
		return nil, fmt.Errorf("config is %s, want %s: %w", got, digest, ErrDigestMismatch)
	}
	if err := s.saveBlob(digest, raw); err != nil {
		return nil, err
	}
	cfg, err := v1.ParseConfigFile(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("decode config: %w", err)
	}
	return cfg, nil
}

func configFrom(cf *v1.ConfigFile) Config {
	c := cf.Config
	out := Config{
		Entrypoint: c.Entrypoint, Cmd: c.Cmd, Env: c.Env, WorkingDir: c.WorkingDir, User: c.User,
		StopSignal: c.StopSignal, Labels: c.Labels, OS: cf.OS, Architecture: cf.Architecture,
	}
	for p := range c.ExposedPorts {
		out.ExposedPorts = append(out.ExposedPorts, p)
	}
	slices.Sort(out.ExposedPorts)
	return out
}

func (s *Store) pullLayers(ctx context.Context, c *client, img *Image, m *v1.Manifest, opts PullOptions) error {
	pr := s.startProgress(img.Ref, opts.Progress)
	defer pr.stop()
	for i := range img.Layers {
		if dir, ok := s.cachedLayer(img.Layers[i].Digest); ok {
			img.Layers[i].Dir = dir
		} else {
			pr.total.Add(img.Layers[i].Size)
		}
	}
	sem := make(chan struct{}, s.opts.Concurrency)
	errs := make([]error, len(img.Layers))
	var wg sync.WaitGroup
	for i := range img.Layers {
		if img.Layers[i].Dir != "" {
			continue
		}
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			l := img.Layers[i]
			got, err := s.flight.do(ctx, l.Digest, func() (Layer, error) { return s.fetchLayer(ctx, c, l, pr) })
			img.Layers[i].Dir, errs[i] = got.Dir, err
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// cachedLayer reports whether a layer is already unpacked: its directory only appears, by
// rename, once the layer was verified.
func (s *Store) cachedLayer(digest string) (string, bool) {
	p, err := s.layerPath(digest)
	if err != nil {
		return "", false
	}
	if _, err := os.Stat(filepath.Join(p, "layer.json")); err != nil {
		return "", false
	}
	return filepath.Join(p, "fs"), true
}

// fetchLayer downloads, verifies and unpacks one layer into a temporary directory, and renames it
// into the store only when both the blob digest and the diff id match.
func (s *Store) fetchLayer(ctx context.Context, c *client, l Layer, pr *progress) (Layer, error) {
	if dir, ok := s.cachedLayer(l.Digest); ok {
		l.Dir = dir
		return l, nil
	}
	final, err := s.layerPath(l.Digest)
	if err != nil {
		return l, err
	}
	tmpRoot, err := s.tempDir()
	if err != nil {
		return l, err
	}
	tmp, err := os.MkdirTemp(tmpRoot, "layer-")
	if err != nil {
		return l, fmt.Errorf("layer %s: %w", l.Digest, err)
	}
	defer os.RemoveAll(tmp)
	if err := os.Mkdir(filepath.Join(tmp, "fs"), 0o755); err != nil {
		return l, fmt.Errorf("layer %s: %w", l.Digest, err)
	}
	resp, err := c.get(ctx, "blobs", l.Digest, nil)
	if err != nil {
		return l, fmt.Errorf("layer %s: %w", l.Digest, err)
	}
	defer resp.Body.Close()
	if err := s.unpackVerified(resp.Body, filepath.Join(tmp, "fs"), l, pr); err != nil {
		return l, fmt.Errorf("layer %s: %w", l.Digest, err)
	}
	meta, _ := json.Marshal(l)
	if err := os.WriteFile(filepath.Join(tmp, "layer.json"), meta, 0o644); err != nil {
		return l, fmt.Errorf("layer %s: %w", l.Digest, err)
	}
	if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
		return l, fmt.Errorf("layer %s: %w", l.Digest, err)
	}
	if err := os.Rename(tmp, final); err != nil {
		if _, ok := s.cachedLayer(l.Digest); !ok {
			return l, fmt.Errorf("layer %s: %w", l.Digest, err)
		}
	}
	l.Dir = filepath.Join(final, "fs")
	return l, nil
}

// unpackVerified unpacks the blob stream into dir while hashing both the blob and its
// decompressed tar stream, and fails with ErrDigestMismatch when either hash is wrong.
func (s *Store) unpackVerified(body io.Reader, dir string, l Layer, pr *progress) error {
	blobHash, diffHash := sha256.New(), sha256.New()
	counted := &countingReader{r: body, n: &pr.done}
	br := bufio.NewReaderSize(io.TeeReader(counted, blobHash), 1<<16)
	plain, closeFn, err := decompress(br)
	if err != nil {
		return err
	}
	defer closeFn()
	tarStream := io.TeeReader(plain, diffHash)
	unpackErr := Unpack(tarStream, dir, UnpackOptions{AllowDevices: s.opts.AllowDevices})
	// Read what the tar reader left (padding, trailing blocks) so both hashes cover everything.
	if _, err := io.Copy(io.Discard, tarStream); err != nil && unpackErr == nil {
		unpackErr = fmt.Errorf("decompress: %w", err)
	}
	if _, err := io.Copy(io.Discard, br); err != nil {
		return fmt.Errorf("download: %w", err)
	}
	if got := hashDigest(blobHash); got != l.Digest {
		return fmt.Errorf("blob is %s: %w", got, ErrDigestMismatch)
	}
	if unpackErr != nil {
		return unpackErr
	}
	if got := hashDigest(diffHash); got != l.DiffID {
		return fmt.Errorf("uncompressed layer is %s, config says %s: %w", got, l.DiffID, ErrDigestMismatch)
	}
	return nil
}

func hashDigest(h hash.Hash) string { return "sha256:" + hex.EncodeToString(h.Sum(nil)) }

// decompress picks the decompressor from the stream's magic number, not the media type, since
// registries and tools are loose about media types.
func decompress(br *bufio.Reader) (io.Reader, func(), error) {
	magic, _ := br.Peek(4)
	switch {
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		zr, err := newGzipReader(br)
		if err != nil {
			return nil, nil, fmt.Errorf("gzip: %w", err)
		}
		return zr, func() { zr.Close() }, nil
	case bytes.HasPrefix(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, nil, fmt.Errorf("zstd: %w", err)
		}
		return zr, zr.Close, nil
	default:
		return br, func() {}, nil
	}
}

type countingReader struct {
	r io.Reader
	n interface{ Add(int64) int64 }
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}
