package image

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/compression"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// testRegistry is go-containerregistry's in-memory registry behind a counter of layer blob GETs
// and a hook that can tamper with responses.
type testRegistry struct {
	host      string
	blobGets  atomic.Int64
	requests  atomic.Int64
	perBlob   sync.Map // path -> *atomic.Int64
	mu        sync.Mutex
	tamper    map[string]bool // path suffix -> flip the first byte of the body
	slow      atomic.Bool     // trickle blob bodies
	basicUser string
}

func newTestRegistry(t *testing.T) *testRegistry {
	tr := &testRegistry{tamper: map[string]bool{}}
	inner := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tr.basicUser != "" {
			if u, _, ok := r.BasicAuth(); !ok || u != tr.basicUser {
				w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
		}
		tr.requests.Add(1)
		if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/sha256:") {
			tr.blobGets.Add(1)
			n, _ := tr.perBlob.LoadOrStore(r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:], new(atomic.Int64))
			n.(*atomic.Int64).Add(1)
		}
		tr.mu.Lock()
		bad := false
		for suffix, on := range tr.tamper {
			bad = bad || on && (r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, suffix))
		}
		tr.mu.Unlock()
		if tr.slow.Load() && strings.Contains(r.URL.Path, "/blobs/") {
			w = slowWriter{w}
		}
		if !bad {
			inner.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		inner.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		if len(body) > 40 {
			body[len(body)-30] ^= 0xff
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	tr.host = strings.TrimPrefix(srv.URL, "http://")
	return tr
}

func (tr *testRegistry) setTamper(suffix string, on bool) {
	tr.mu.Lock()
	tr.tamper[suffix] = on
	tr.mu.Unlock()
}

func (tr *testRegistry) gets(digest string) int64 {
	n, ok := tr.perBlob.Load(digest)
	if !ok {
		return 0
	}
	return n.(*atomic.Int64).Load()
}

// testLayer builds a layer from tar entries with the given compression.
func testLayer(t *testing.T, comp compression.Compression, entries ...entry) v1.Layer {
	t.Helper()
	data := tarBytes(t, entries...)
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, tarball.WithCompression(comp), tarball.WithCompressedCaching)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func testImage(t *testing.T, arch string, layers ...v1.Layer) v1.Image {
	t.Helper()
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		t.Fatal(err)
	}
	img = mutate.MediaType(img, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", arch
	cf.Config = v1.Config{
		Entrypoint: []string{"/app"}, Cmd: []string{"serve", ":8080"}, Env: []string{"PATH=/bin"},
		WorkingDir: "/srv", User: "1000:1000", StopSignal: "SIGINT",
		ExposedPorts: map[string]struct{}{"8080/tcp": {}}, Labels: map[string]string{"k": "v"},
	}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func push(t *testing.T, ref string, img v1.Image) string {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img, remote.WithContext(t.Context())); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

func threeLayerImage(t *testing.T) v1.Image {
	return testImage(t, "amd64",
		testLayer(t, compression.GZip, dir("etc/"), file("etc/os-release", "ID=test\n"), file("a", "1")),
		testLayer(t, compression.ZStd, file("a", "2"), file("etc/.wh.os-release", "")),
		testLayer(t, compression.None, file("big", strings.Repeat("x", 1<<16))),
	)
}

func TestPullRoundTrip(t *testing.T) {
	requireRoot(t)
	reg := newTestRegistry(t)
	want := push(t, reg.host+"/team/app:v1", threeLayerImage(t))
	s := New(t.TempDir(), Options{Architecture: "amd64"})

	var last Progress
	img, err := s.Pull(t.Context(), reg.host+"/team/app:v1", PullOptions{Progress: func(p Progress) { last = p }})
	if err != nil {
		t.Fatal(err)
	}
	if img.Digest != want || img.RepoDigest != want {
		t.Errorf("digest %s / %s, want %s", img.Digest, img.RepoDigest, want)
	}
	c := img.Config
	if strings.Join(c.Entrypoint, " ") != "/app" || strings.Join(c.Cmd, " ") != "serve :8080" || c.WorkingDir != "/srv" ||
		c.User != "1000:1000" || c.StopSignal != "SIGINT" || c.Labels["k"] != "v" || len(c.ExposedPorts) != 1 || c.ExposedPorts[0] != "8080/tcp" {
		t.Errorf("config = %+v", c)
	}
	if len(img.Layers) != 3 {
		t.Fatalf("%d layers, want 3", len(img.Layers))
	}
	if b, _ := os.ReadFile(filepath.Join(img.Layers[1].Dir, "a")); string(b) != "2" {
		t.Errorf("zstd layer a = %q", b)
	}
	if last.Total == 0 || last.Done != last.Total {
		t.Errorf("final progress %+v, want done == total > 0", last)
	}
	got, err := s.Get(want)
	if err != nil || got.Digest != want || len(got.Layers) != 3 {
		t.Errorf("Get = %+v, %v", got, err)
	}

	before, beforeAll := reg.blobGets.Load(), reg.requests.Load()
	inode := func(p string) uint64 {
		t.Helper()
		var st syscall.Stat_t
		if err := syscall.Stat(p, &st); err != nil {
			t.Fatal(err)
		}
		return st.Ino
	}
	record, _ := s.imagePath(want)
	manifest, _ := s.blobPath(want)
	recordIno, manifestIno := inode(record), inode(manifest)
	img2, err := s.Pull(t.Context(), reg.host+"/team/app:v1", PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n := reg.blobGets.Load() - before; n != 0 {
		t.Errorf("second pull fetched %d blobs, want 0 (layers and config cached)", n)
	}
	// The tag is resolved again, but the registry's auth handshake (its ping) is not redone.
	if n := reg.requests.Load() - beforeAll; n != 1 {
		t.Errorf("second pull made %d requests, want 1 (the manifest)", n)
	}
	// A cached image's pull writes no file: the record is only marked used.
	if inode(record) != recordIno || inode(manifest) != manifestIno {
		t.Errorf("the second pull rewrote the image's record or manifest")
	}
	if img2.Layers[2].Dir != img.Layers[2].Dir {
		t.Errorf("second pull layer dir %s, want %s", img2.Layers[2].Dir, img.Layers[2].Dir)
	}

	fresh, err := New(t.TempDir(), Options{}).Pull(t.Context(), reg.host+"/team/app@"+want, PullOptions{})
	if err != nil || fresh.Digest != want {
		t.Errorf("pinned pull = %s, %v", fresh.Digest, err)
	}
	before = reg.requests.Load()
	pinned, err := s.Pull(t.Context(), reg.host+"/team/app@"+want, PullOptions{})
	if err != nil || pinned.Digest != want {
		t.Errorf("pinned pull from cache = %s, %v", pinned.Digest, err)
	}
	if n := reg.requests.Load() - before; n != 0 {
		t.Errorf("pinned pull of a stored image made %d requests, want 0", n)
	}
}

func TestPullConcurrentSharesLayers(t *testing.T) {
	requireRoot(t)
	reg := newTestRegistry(t)
	img := threeLayerImage(t)
	push(t, reg.host+"/app:v1", img)
	s := New(t.TempDir(), Options{Architecture: "amd64"})
	var wg sync.WaitGroup
	errs := make([]error, 6)
	for i := range errs {
		wg.Go(func() { _, errs[i] = s.Pull(t.Context(), reg.host+"/app:v1", PullOptions{}) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	layers, _ := img.Layers()
	for _, l := range layers {
		d, _ := l.Digest()
		if n := reg.gets(d.String()); n != 1 {
			t.Errorf("layer %s fetched %d times by %d concurrent pulls, want once", d, n, len(errs))
		}
	}
}

func TestPullVerifies(t *testing.T) {
	requireRoot(t)
	ctx := t.Context()
	reg := newTestRegistry(t)
	img := threeLayerImage(t)
	push(t, reg.host+"/app:v1", img)
	layers, _ := img.Layers()
	bad, _ := layers[0].Digest()
	other := push(t, reg.host+"/other:v1", testImage(t, "amd64", testLayer(t, compression.GZip, file("o", "o"))))

	t.Run("tampered layer", func(t *testing.T) {
		root := t.TempDir()
		reg.setTamper("/blobs/"+bad.String(), true)
		defer reg.setTamper("/blobs/"+bad.String(), false)
		_, err := New(root, Options{Architecture: "amd64"}).Pull(ctx, reg.host+"/app:v1", PullOptions{})
		if !errors.Is(err, ErrDigestMismatch) {
			t.Fatalf("err = %v, want ErrDigestMismatch", err)
		}
		if _, err := os.Stat(filepath.Join(root, "layers", "sha256", bad.Hex)); !os.IsNotExist(err) {
			t.Errorf("tampered layer stored: %v", err)
		}
		if ents, _ := os.ReadDir(filepath.Join(root, "tmp")); len(ents) != 0 {
			t.Errorf("temp leftovers: %v", ents)
		}
	})
	t.Run("pinned digest mismatch", func(t *testing.T) {
		reg.setTamper("/manifests/"+other, true)
		defer reg.setTamper("/manifests/"+other, false)
		_, err := New(t.TempDir(), Options{}).Pull(ctx, reg.host+"/other@"+other, PullOptions{})
		if !errors.Is(err, ErrDigestMismatch) {
			t.Fatalf("err = %v, want ErrDigestMismatch", err)
		}
	})
	t.Run("unknown tag", func(t *testing.T) {
		_, err := New(t.TempDir(), Options{}).Pull(ctx, reg.host+"/app:nope", PullOptions{})
		if !errors.Is(err, ErrNotFound) {
			t.Fatalf("err = %v, want ErrNotFound", err)
		}
	})
}

func TestPullIndexPicksPlatform(t *testing.T) {
	requireRoot(t)
	reg := newTestRegistry(t)
	amd := testImage(t, "amd64", testLayer(t, compression.GZip, file("arch", "amd64")))
	arm := testImage(t, "arm64", testLayer(t, compression.GZip, file("arch", "arm64")))
	idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex),
		mutate.IndexAddendum{Add: amd, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: arm, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}},
	)
	r, _ := name.ParseReference(reg.host + "/multi:v1")
	if err := remote.WriteIndex(r, idx, remote.WithContext(t.Context())); err != nil {
		t.Fatal(err)
	}
	idxDigest, _ := idx.Digest()
	for _, arch := range []string{"amd64", "arm64"} {
		img, err := New(t.TempDir(), Options{Architecture: arch}).Pull(t.Context(), reg.host+"/multi:v1", PullOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(filepath.Join(img.Layers[0].Dir, "arch")); string(b) != arch {
			t.Errorf("%s: got layer for %q", arch, b)
		}
		if img.RepoDigest != idxDigest.String() || img.Digest == img.RepoDigest {
			t.Errorf("%s: digest %s repo digest %s, index %s", arch, img.Digest, img.RepoDigest, idxDigest)
		}
	}
	_, err := New(t.TempDir(), Options{Architecture: "s390x"}).Pull(t.Context(), reg.host+"/multi:v1", PullOptions{})
	if !errors.Is(err, ErrNoPlatform) {
		t.Errorf("s390x: err %v, want ErrNoPlatform", err)
	}
}

func TestPullBasicAuthAndGC(t *testing.T) {
	requireRoot(t)
	reg := newTestRegistry(t)
	img := threeLayerImage(t)
	digest := push(t, reg.host+"/app:v1", img)
	reg.basicUser = "alice"
	s := New(t.TempDir(), Options{Architecture: "amd64"})
	if _, err := s.Pull(t.Context(), reg.host+"/app:v1", PullOptions{}); err == nil {
		t.Fatal("anonymous pull from a registry that wants credentials succeeded")
	}
	if _, err := s.Pull(t.Context(), reg.host+"/app:v1", PullOptions{Username: "alice", Password: "pw"}); err != nil {
		t.Fatal(err)
	}
	if removed, err := s.GC(); err != nil || len(removed) != 0 {
		t.Errorf("GC with the image present removed %v, %v", removed, err)
	}
	if err := s.Remove(digest); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove(digest); !errors.Is(err, ErrNotFound) {
		t.Errorf("second Remove: %v, want ErrNotFound", err)
	}
	removed, err := s.GC()
	if err != nil || len(removed) != 3 {
		t.Errorf("GC removed %v, %v; want 3 layers", removed, err)
	}
}

func TestPullContextCancelled(t *testing.T) {
	reg := newTestRegistry(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := New(t.TempDir(), Options{}).Pull(ctx, reg.host+"/app:v1", PullOptions{}); err == nil {
		t.Fatal("pull with a cancelled context succeeded")
	}
}

// slowWriter sends at most 8 KiB every 200 ms.
type slowWriter struct{ http.ResponseWriter }

func (s slowWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		chunk := p[:min(len(p), 8<<10)]
		m, err := s.ResponseWriter.Write(chunk)
		n += m
		if err != nil {
			return n, err
		}
		s.ResponseWriter.(http.Flusher).Flush()
		time.Sleep(200 * time.Millisecond)
		p = p[m:]
	}
	return n, nil
}

func TestPullProgressThrottled(t *testing.T) {
	requireRoot(t)
	reg := newTestRegistry(t)
	body := make([]byte, 80<<10)
	rand.Read(body) // incompressible, so the blob stays about 80 KiB
	push(t, reg.host+"/big:v1", testImage(t, "amd64", testLayer(t, compression.GZip, file("blob", string(body)))))
	reg.slow.Store(true)
	var mu sync.Mutex
	var times []time.Time
	var reports []Progress
	_, err := New(t.TempDir(), Options{Architecture: "amd64"}).Pull(t.Context(), reg.host+"/big:v1", PullOptions{Progress: func(p Progress) {
		mu.Lock()
		defer mu.Unlock()
		times, reports = append(times, time.Now()), append(reports, p)
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(reports) < 2 {
		t.Fatalf("%d progress reports for a 2 s download, want a few", len(reports))
	}
	for i := 1; i < len(times)-1; i++ { // the final report may come right after a tick
		if d := times[i].Sub(times[i-1]); d < 900*time.Millisecond {
			t.Errorf("reports %d and %d only %v apart", i-1, i, d)
		}
	}
	last := reports[len(reports)-1]
	if last.Done != last.Total || reports[0].Done >= last.Total {
		t.Errorf("reports = %+v", reports)
	}
}
