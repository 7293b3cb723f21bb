package registry

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

func serve(t *testing.T, reg *Registry) string {
	t.Helper()
	srv := httptest.NewServer(reg)
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func ref(t *testing.T, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func randomImage(t *testing.T, mt types.MediaType) v1.Image {
	t.Helper()
	img, err := random.Image(2048, 3)
	if err != nil {
		t.Fatal(err)
	}
	if mt != "" {
		img = mutate.MediaType(img, mt)
	}
	return img
}

func pushImage(t *testing.T, host, repoTag string, img v1.Image) string {
	t.Helper()
	if err := remote.Write(ref(t, host+"/"+repoTag), img, remote.WithContext(t.Context())); err != nil {
		t.Fatalf("push %s: %v", repoTag, err)
	}
	d, _ := img.Digest()
	return d.String()
}

func TestPushPullRoundTrip(t *testing.T) {
	host := serve(t, New(t.TempDir(), Options{}))
	for _, mt := range []types.MediaType{types.OCIManifestSchema1, types.DockerManifestSchema2} {
		t.Run(string(mt), func(t *testing.T) {
			img := randomImage(t, mt)
			want := pushImage(t, host, "team/sub/app:v1", img)
			got, err := remote.Image(ref(t, host+"/team/sub/app:v1"), remote.WithContext(t.Context()))
			if err != nil {
				t.Fatal(err)
			}
			if d, _ := got.Digest(); d.String() != want {
				t.Errorf("pulled %s, pushed %s", d, want)
			}
			if gotMT, _ := got.MediaType(); gotMT != mt {
				t.Errorf("media type %s, want %s", gotMT, mt)
			}
			wantLayers, _ := img.Layers()
			gotLayers, err := got.Layers()
			if err != nil || len(gotLayers) != len(wantLayers) {
				t.Fatalf("layers %d, %v", len(gotLayers), err)
			}
			for i, l := range gotLayers {
				rc, err := l.Compressed()
				if err != nil {
					t.Fatal(err)
				}
				b, err := io.ReadAll(rc) // go-containerregistry verifies the digest on read
				rc.Close()
				wd, _ := wantLayers[i].Digest()
				if err != nil || digestOf(b) != wd.String() {
					t.Errorf("layer %d: %v", i, err)
				}
			}
			byDigest, err := remote.Image(ref(t, host+"/team/sub/app@"+want))
			if err != nil {
				t.Fatal(err)
			}
			if d, _ := byDigest.Digest(); d.String() != want {
				t.Errorf("pull by digest: %s", d)
			}
		})
	}
}

func TestPushPullIndex(t *testing.T) {
	host := serve(t, New(t.TempDir(), Options{}))
	idx, err := random.Index(1024, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(ref(t, host+"/multi:latest"), idx); err != nil {
		t.Fatal(err)
	}
	got, err := remote.Index(ref(t, host+"/multi:latest"))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := idx.Digest()
	if d, _ := got.Digest(); d != want {
		t.Errorf("index %s, want %s", d, want)
	}
	if mt, _ := got.MediaType(); mt != types.OCIImageIndex {
		t.Errorf("index media type %s", mt)
	}
}

func TestRestartPersistence(t *testing.T) {
	root := t.TempDir()
	host := serve(t, New(root, Options{}))
	want := pushImage(t, host, "app:v1", randomImage(t, ""))
	pushImage(t, host, "other/app:v2", randomImage(t, ""))

	host2 := serve(t, New(root, Options{}))
	img, err := remote.Image(ref(t, host2+"/app:v1"))
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := img.Digest(); d.String() != want {
		t.Errorf("after restart: %s, want %s", d, want)
	}
	if _, err := img.RawConfigFile(); err != nil {
		t.Errorf("config after restart: %v", err)
	}
	repos, err := remote.Catalog(t.Context(), mustRegistry(t, host2))
	if err != nil || !slices.Equal(repos, []string{"app", "other/app"}) {
		t.Errorf("catalog after restart = %v, %v", repos, err)
	}
	tags, err := remote.List(ref(t, host2+"/other/app").Context())
	if err != nil || !slices.Equal(tags, []string{"v2"}) {
		t.Errorf("tags after restart = %v, %v", tags, err)
	}
}

func mustRegistry(t *testing.T, host string) name.Registry {
	r, err := name.NewRegistry(host)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func digestOf(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// client is a raw distribution API client for conformance checks.
type client struct {
	t    *testing.T
	base string
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (c client) do(method, path string, body []byte, header ...string) response {
	c.t.Helper()
	u := path
	if !strings.HasPrefix(u, "http") {
		u = c.base + path
	}
	req, err := http.NewRequestWithContext(c.t.Context(), method, u, bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// errCode decodes the distribution error body and returns its first code.
func (r response) errCode() string {
	var e struct {
		Errors []struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"errors"`
	}
	if json.Unmarshal(r.body, &e) != nil || len(e.Errors) == 0 {
		return fmt.Sprintf("<no error body: %q>", r.body)
	}
	return e.Errors[0].Code
}

func (c client) expect(r response, status int, code string) {
	c.t.Helper()
	if r.status != status {
		c.t.Errorf("status %d, want %d (body %s)", r.status, status, r.body)
	}
	if code != "" && r.errCode() != code {
		c.t.Errorf("error code %s, want %s", r.errCode(), code)
	}
}

// pushBlob uploads b monolithically and returns its digest.
func (c client) pushBlob(repo string, b []byte) string {
	d := digestOf(b)
	c.expect(c.do("POST", "/v2/"+repo+"/blobs/uploads/?digest="+d, b), http.StatusCreated, "")
	return d
}

func (c client) pushManifest(repo, ref string, config string, layers ...string) (response, string) {
	m := map[string]any{
		"schemaVersion": 2, "mediaType": MediaTypeOCIManifest,
		"config": map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config, "size": 2},
	}
	var ls []map[string]any
	for _, l := range layers {
		ls = append(ls, map[string]any{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": l, "size": 5})
	}
	m["layers"] = ls
	b, _ := json.Marshal(m)
	return c.do("PUT", "/v2/"+repo+"/manifests/"+ref, b, "Content-Type", MediaTypeOCIManifest), digestOf(b)
}
