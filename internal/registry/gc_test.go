package registry

import (
	"net/http"
	"testing"
	"time"
)

// TestGC: blobs no manifest refers to go once older than the grace, with abandoned uploads;
// shared blobs stay while any manifest names them; a blob a client was told exists is young
// again, so the manifest it then pushes finds it.
func TestGC(t *testing.T) {
	ctx := t.Context()
	now := time.Now()
	reg := New(t.TempDir(), Options{Now: func() time.Time { return now }})
	c := client{t: t, base: "http://" + serve(t, reg)}
	gc := func(want Collected) {
		t.Helper()
		got, err := reg.GC(ctx, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if got.Blobs != want.Blobs || got.Uploads != want.Uploads || (got.Blobs+got.Uploads > 0) != (got.Bytes > 0) {
			t.Fatalf("GC = %+v, want %d blobs and %d uploads", got, want.Blobs, want.Uploads)
		}
	}
	fetch := func(repo, digest string, status int) {
		t.Helper()
		c.expect(c.do("GET", "/v2/"+repo+"/blobs/"+digest, nil), status, "")
	}

	cfg := c.pushBlob("a", []byte("{}"))
	layerA := c.pushBlob("a", []byte("layer a"))
	layerB := c.pushBlob("b", []byte("layer b"))
	pending := c.pushBlob("a", []byte("a layer whose manifest never came"))
	r, _ := c.pushManifest("a", "v1", cfg, layerA)
	c.expect(r, http.StatusCreated, "")
	r, digestB := c.pushManifest("b", "v1", cfg, layerB)
	c.expect(r, http.StatusCreated, "")
	c.expect(c.do("POST", "/v2/a/blobs/uploads/", nil), http.StatusAccepted, "") // never finished

	gc(Collected{}) // everything is young
	now = now.Add(2 * time.Hour)
	gc(Collected{Blobs: 1, Uploads: 1})
	fetch("a", pending, http.StatusNotFound)
	fetch("a", layerA, http.StatusOK)

	if _, failures, err := reg.BatchDeleteImages(ctx, "b", []ImageID{{Tag: "v1"}}); err != nil || len(failures) != 0 {
		t.Fatalf("BatchDeleteImages = %v, %v", failures, err)
	}
	now = now.Add(2 * time.Hour) // the GETs above made a's blobs young
	gc(Collected{Blobs: 2})      // b's layer and manifest; the config is a's too
	fetch("b", layerB, http.StatusNotFound)
	fetch("b", digestB, http.StatusNotFound)
	fetch("a", cfg, http.StatusOK)

	// A blob nothing refers to, old: a HEAD says it exists, so the client will not upload it.
	orphan := c.pushBlob("c", []byte("layer c"))
	now = now.Add(2 * time.Hour)
	c.expect(c.do("HEAD", "/v2/c/blobs/"+orphan, nil), http.StatusOK, "")
	gc(Collected{})
	r, _ = c.pushManifest("c", "v1", cfg, orphan)
	c.expect(r, http.StatusCreated, "")

	if _, err := reg.DeleteRepository(ctx, "a", true); err != nil {
		t.Fatal(err)
	}
	now = now.Add(2 * time.Hour)
	gc(Collected{Blobs: 2}) // a's layer and manifest; the config is c's too
	if _, err := reg.DeleteRepository(ctx, "c", true); err != nil {
		t.Fatal(err)
	}
	gc(Collected{Blobs: 3})
}
