package registry

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
)

func newClient(t *testing.T, opts Options) client {
	return client{t: t, base: "http://" + serve(t, New(t.TempDir(), opts))}
}

func TestBase(t *testing.T) {
	c := newClient(t, Options{})
	r := c.do("GET", "/v2/", nil)
	c.expect(r, http.StatusOK, "")
	if v := r.header.Get("Docker-Distribution-API-Version"); v != "registry/2.0" {
		t.Errorf("API version header %q", v)
	}
	c.expect(c.do("GET", "/v3/", nil), http.StatusNotFound, "")
	c.expect(c.do("GET", "/v2/app/unknown/thing", nil), http.StatusNotFound, "")
}

func TestChunkedUpload(t *testing.T) {
	c := newClient(t, Options{})
	blob := []byte("hello, chunked world")
	d := digestOf(blob)

	r := c.do("POST", "/v2/a/b/blobs/uploads/", nil)
	c.expect(r, http.StatusAccepted, "")
	loc := r.header.Get("Location")
	if !strings.HasPrefix(loc, "/v2/a/b/blobs/uploads/") || r.header.Get("Range") != "0-0" {
		t.Fatalf("Location %q Range %q", loc, r.header.Get("Range"))
	}
	r = c.do("PATCH", loc, blob[:5], "Content-Range", "0-4", "Content-Type", "application/octet-stream")
	c.expect(r, http.StatusAccepted, "")
	if r.header.Get("Range") != "0-4" {
		t.Errorf("Range after first chunk %q", r.header.Get("Range"))
	}
	c.expect(c.do("PATCH", loc, blob[5:], "Content-Range", "0-15"), http.StatusRequestedRangeNotSatisfiable, "BLOB_UPLOAD_INVALID")
	c.expect(c.do("PATCH", loc, blob[5:10], "Content-Range", "5-9"), http.StatusAccepted, "")
	r = c.do("GET", loc, nil)
	c.expect(r, http.StatusNoContent, "")
	if r.header.Get("Range") != "0-9" {
		t.Errorf("upload status Range %q", r.header.Get("Range"))
	}
	// The last chunk rides on the PUT.
	r = c.do("PUT", loc+"?digest="+d, blob[10:])
	c.expect(r, http.StatusCreated, "")
	if r.header.Get("Docker-Content-Digest") != d || r.header.Get("Location") != "/v2/a/b/blobs/"+d {
		t.Errorf("PUT headers %v", r.header)
	}
	r = c.do("GET", "/v2/a/b/blobs/"+d, nil)
	c.expect(r, http.StatusOK, "")
	if string(r.body) != string(blob) {
		t.Errorf("blob = %q", r.body)
	}
	r = c.do("HEAD", "/v2/a/b/blobs/"+d, nil)
	c.expect(r, http.StatusOK, "")
	if r.header.Get("Content-Length") != "20" || r.header.Get("Docker-Content-Digest") != d {
		t.Errorf("HEAD headers %v", r.header)
	}
	r = c.do("GET", "/v2/a/b/blobs/"+d, nil, "Range", "bytes=7-13")
	if r.status != http.StatusPartialContent || string(r.body) != "chunked" {
		t.Errorf("range GET %d %q", r.status, r.body)
	}
	c.expect(c.do("PATCH", loc, []byte("x")), http.StatusNotFound, "BLOB_UPLOAD_UNKNOWN")
}

func TestUploadErrors(t *testing.T) {
	c := newClient(t, Options{})
	blob := []byte("some bytes")
	wrong := digestOf([]byte("other bytes"))

	c.expect(c.do("POST", "/v2/app/blobs/uploads/?digest="+wrong, blob), http.StatusBadRequest, "DIGEST_INVALID")
	c.expect(c.do("HEAD", "/v2/app/blobs/"+wrong, nil), http.StatusNotFound, "")
	c.expect(c.do("GET", "/v2/app/blobs/"+wrong, nil), http.StatusNotFound, "BLOB_UNKNOWN")
	c.expect(c.do("GET", "/v2/app/blobs/sha256:zz", nil), http.StatusBadRequest, "DIGEST_INVALID")

	r := c.do("POST", "/v2/app/blobs/uploads/", nil)
	loc := r.header.Get("Location")
	c.expect(c.do("PUT", loc+"?digest="+wrong, blob), http.StatusBadRequest, "DIGEST_INVALID")
	c.expect(c.do("PUT", loc+"?digest="+digestOf(blob), blob), http.StatusNotFound, "BLOB_UPLOAD_UNKNOWN")

	r = c.do("POST", "/v2/app/blobs/uploads/", nil)
	c.expect(c.do("DELETE", r.header.Get("Location"), nil), http.StatusNoContent, "")
	c.expect(c.do("GET", r.header.Get("Location"), nil), http.StatusNotFound, "BLOB_UPLOAD_UNKNOWN")

	c.expect(c.do("POST", "/v2/App/blobs/uploads/", nil), http.StatusBadRequest, "NAME_INVALID")
	c.expect(c.do("GET", "/v2/a//b/tags/list", nil), http.StatusBadRequest, "NAME_INVALID")
	c.expect(c.do("DELETE", "/v2/app/blobs/"+wrong, nil), http.StatusMethodNotAllowed, "UNSUPPORTED")
}

func TestCrossRepoMount(t *testing.T) {
	c := newClient(t, Options{})
	d := c.pushBlob("src", []byte("shared layer"))
	r := c.do("POST", "/v2/dst/blobs/uploads/?mount="+d+"&from=src", nil)
	c.expect(r, http.StatusCreated, "")
	if r.header.Get("Location") != "/v2/dst/blobs/"+d {
		t.Errorf("mount Location %q", r.header.Get("Location"))
	}
	missing := digestOf([]byte("missing"))
	r = c.do("POST", "/v2/dst/blobs/uploads/?mount="+missing+"&from=src", nil)
	c.expect(r, http.StatusAccepted, "")
	if !strings.Contains(r.header.Get("Location"), "/blobs/uploads/") {
		t.Errorf("fallback Location %q", r.header.Get("Location"))
	}
}

func TestManifests(t *testing.T) {
	c := newClient(t, Options{})
	cfg := c.pushBlob("app", []byte("{}"))
	layer := c.pushBlob("app", []byte("layer"))
	missing := digestOf([]byte("nope"))

	r, _ := c.pushManifest("app", "broken", cfg, missing)
	c.expect(r, http.StatusBadRequest, "MANIFEST_BLOB_UNKNOWN")
	c.expect(c.do("PUT", "/v2/app/manifests/bad", []byte("{not json"), "Content-Type", MediaTypeOCIManifest), http.StatusBadRequest, "MANIFEST_INVALID")
	c.expect(c.do("PUT", "/v2/app/manifests/bad", []byte(`{"schemaVersion":2,"mediaType":"application/x-unknown"}`)), http.StatusBadRequest, "MANIFEST_INVALID")
	r, _ = c.pushManifest("app", missing, cfg, layer)
	c.expect(r, http.StatusBadRequest, "DIGEST_INVALID")

	r, d := c.pushManifest("app", "v1", cfg, layer)
	c.expect(r, http.StatusCreated, "")
	if r.header.Get("Docker-Content-Digest") != d || r.header.Get("Location") != "/v2/app/manifests/"+d {
		t.Errorf("PUT headers %v", r.header)
	}
	r, _ = c.pushManifest("app", d, cfg, layer)
	c.expect(r, http.StatusCreated, "")
	for _, ref := range []string{"v1", d} {
		r = c.do("GET", "/v2/app/manifests/"+ref, nil)
		c.expect(r, http.StatusOK, "")
		if digestOf(r.body) != d || r.header.Get("Content-Type") != MediaTypeOCIManifest || r.header.Get("Docker-Content-Digest") != d {
			t.Errorf("GET %s: type %q digest %q", ref, r.header.Get("Content-Type"), r.header.Get("Docker-Content-Digest"))
		}
		r = c.do("HEAD", "/v2/app/manifests/"+ref, nil)
		c.expect(r, http.StatusOK, "")
		if len(r.body) != 0 || r.header.Get("Content-Length") == "0" {
			t.Errorf("HEAD %s: body %d bytes, length %q", ref, len(r.body), r.header.Get("Content-Length"))
		}
	}
	c.expect(c.do("GET", "/v2/app/manifests/nope", nil), http.StatusNotFound, "MANIFEST_UNKNOWN")
	c.expect(c.do("GET", "/v2/app/manifests/"+missing, nil), http.StatusNotFound, "MANIFEST_UNKNOWN")
	c.expect(c.do("GET", "/v2/ghost/manifests/v1", nil), http.StatusNotFound, "NAME_UNKNOWN")
	c.expect(c.do("GET", "/v2/ghost/tags/list", nil), http.StatusNotFound, "NAME_UNKNOWN")

	// An index may only list manifests of its own repository.
	idx, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": MediaTypeOCIIndex,
		"manifests": []map[string]any{{"mediaType": MediaTypeOCIManifest, "digest": d, "size": 100}}})
	c.expect(c.do("PUT", "/v2/other/manifests/multi", idx, "Content-Type", MediaTypeOCIIndex), http.StatusBadRequest, "MANIFEST_BLOB_UNKNOWN")
	c.expect(c.do("PUT", "/v2/app/manifests/multi", idx, "Content-Type", MediaTypeOCIIndex), http.StatusCreated, "")

	c.expect(c.do("DELETE", "/v2/app/manifests/v1", nil), http.StatusAccepted, "")
	c.expect(c.do("GET", "/v2/app/manifests/v1", nil), http.StatusNotFound, "MANIFEST_UNKNOWN")
	c.expect(c.do("GET", "/v2/app/manifests/"+d, nil), http.StatusOK, "")
	c.expect(c.do("DELETE", "/v2/app/manifests/"+d, nil), http.StatusAccepted, "")
	c.expect(c.do("GET", "/v2/app/manifests/"+d, nil), http.StatusNotFound, "MANIFEST_UNKNOWN")
	c.expect(c.do("DELETE", "/v2/app/manifests/"+d, nil), http.StatusNotFound, "MANIFEST_UNKNOWN")
}

func TestTagsAndCatalogPagination(t *testing.T) {
	c := newClient(t, Options{})
	cfg := c.pushBlob("app", []byte("{}"))
	tags := []string{"a", "b", "c", "d", "e"}
	for _, tag := range tags {
		r, _ := c.pushManifest("app", tag, cfg)
		c.expect(r, http.StatusCreated, "")
	}
	for _, repo := range []string{"z/one", "m/two", "a/three"} {
		r, _ := c.pushManifest(repo, "latest", cfg)
		c.expect(r, http.StatusCreated, "")
	}
	type page struct {
		Name         string   `json:"name"`
		Tags         []string `json:"tags"`
		Repositories []string `json:"repositories"`
	}
	get := func(path string) (page, string) {
		r := c.do("GET", path, nil)
		c.expect(r, http.StatusOK, "")
		var p page
		if err := json.Unmarshal(r.body, &p); err != nil {
			t.Fatal(err)
		}
		return p, r.header.Get("Link")
	}
	p, link := get("/v2/app/tags/list")
	if p.Name != "app" || !slices.Equal(p.Tags, tags) || link != "" {
		t.Errorf("all tags = %+v link %q", p, link)
	}
	var all []string
	next := "/v2/app/tags/list?n=2"
	for range 5 {
		p, link = get(next)
		all = append(all, p.Tags...)
		if link == "" {
			break
		}
		next = strings.TrimSuffix(strings.TrimPrefix(link, "<"), `>; rel="next"`)
	}
	if !slices.Equal(all, tags) {
		t.Errorf("paged tags = %v", all)
	}
	if p, _ = get("/v2/app/tags/list?last=c"); !slices.Equal(p.Tags, []string{"d", "e"}) {
		t.Errorf("tags after c = %v", p.Tags)
	}
	p, link = get("/v2/_catalog?n=2")
	if !slices.Equal(p.Repositories, []string{"a/three", "app"}) || !strings.Contains(link, "last=app") {
		t.Errorf("catalog page = %v link %q", p.Repositories, link)
	}
	if p, _ = get("/v2/_catalog?n=10&last=app"); !slices.Equal(p.Repositories, []string{"m/two", "z/one"}) {
		t.Errorf("catalog after app = %v", p.Repositories)
	}
}

func TestRequireRepository(t *testing.T) {
	c := newClient(t, Options{RequireRepository: true})
	c.expect(c.do("POST", "/v2/app/blobs/uploads/", nil), http.StatusNotFound, "NAME_UNKNOWN")
}
