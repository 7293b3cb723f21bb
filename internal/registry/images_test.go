package registry

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestRepositoryOperations(t *testing.T) {
	ctx := t.Context()
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	reg := New(t.TempDir(), Options{RequireRepository: true, Now: func() time.Time { return now }})
	c := client{t: t, base: "http://" + serve(t, reg)}

	repo, err := reg.CreateRepository(ctx, "team/app")
	if err != nil || repo.Name != "team/app" || !repo.CreatedAt.Equal(now) {
		t.Fatalf("CreateRepository = %+v, %v", repo, err)
	}
	if _, err := reg.CreateRepository(ctx, "team/app"); !errors.Is(err, ErrRepositoryExists) {
		t.Errorf("second create: %v, want ErrRepositoryExists", err)
	}
	if _, err := reg.CreateRepository(ctx, "Bad Name"); !errors.Is(err, ErrInvalidName) {
		t.Errorf("bad name: %v, want ErrInvalidName", err)
	}
	if _, err := reg.CreateRepository(ctx, "team"); err != nil {
		t.Fatal(err)
	}
	repos, err := reg.Repositories(ctx)
	if err != nil || len(repos) != 2 || repos[0].Name != "team" || repos[1].Name != "team/app" {
		t.Errorf("Repositories = %+v, %v", repos, err)
	}

	cfg := c.pushBlob("team/app", []byte("{}"))
	layer := c.pushBlob("team/app", []byte("layer"))
	r, d1 := c.pushManifest("team/app", "v1", cfg, layer)
	c.expect(r, http.StatusCreated, "")
	c.pushManifest("team/app", "latest", cfg, layer)
	r, d2 := c.pushManifest("team/app", "v2", cfg)
	c.expect(r, http.StatusCreated, "")
	r, d3 := c.pushManifest("team/app", "untagged", cfg, layer, layer)
	c.expect(r, http.StatusCreated, "")
	if err := reg.meta.DeleteTag(ctx, "team/app", "untagged"); err != nil {
		t.Fatal(err)
	}

	ids, err := reg.ListImages(ctx, "team/app")
	if err != nil {
		t.Fatal(err)
	}
	want := []ImageID{{d1, "latest"}, {d1, "v1"}, {d2, "v2"}, {d3, ""}}
	slices.SortFunc(want, func(a, b ImageID) int {
		if a.Digest != b.Digest {
			return strings.Compare(a.Digest, b.Digest)
		}
		return strings.Compare(a.Tag, b.Tag)
	})
	if !slices.Equal(ids, want) {
		t.Errorf("ListImages = %v\nwant %v", ids, want)
	}

	details, failures, err := reg.DescribeImages(ctx, "team/app", []ImageID{{Tag: "v1"}, {Digest: d1}, {Tag: "nope"}, {Digest: d2, Tag: "v1"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(details) != 1 || details[0].Digest != d1 || !slices.Equal(details[0].Tags, []string{"latest", "v1"}) ||
		details[0].Size != 2+5 || details[0].MediaType != MediaTypeOCIManifest || !details[0].PushedAt.Equal(now) ||
		details[0].ArtifactType != "application/vnd.oci.image.config.v1+json" {
		t.Errorf("DescribeImages = %+v", details)
	}
	if len(failures) != 2 || !errors.Is(failures[0].Err, ErrTagNotFound) || !errors.Is(failures[1].Err, ErrManifestNotFound) {
		t.Errorf("failures = %+v", failures)
	}
	if all, _, _ := reg.DescribeImages(ctx, "team/app", nil); len(all) != 3 {
		t.Errorf("describe all: %d images", len(all))
	}
	if _, _, err := reg.DescribeImages(ctx, "ghost", nil); !errors.Is(err, ErrRepositoryNotFound) {
		t.Errorf("describe in missing repo: %v", err)
	}

	// Removing one of two tags keeps the image; removing the last tag deletes it.
	deleted, failures, err := reg.BatchDeleteImages(ctx, "team/app", []ImageID{{Tag: "latest"}, {Tag: "v2"}, {Digest: d3}, {Tag: "gone"}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(deleted, []ImageID{{d1, "latest"}, {d2, "v2"}, {d3, ""}}) || len(failures) != 1 {
		t.Errorf("BatchDeleteImages = %v, %+v", deleted, failures)
	}
	c.expect(c.do("GET", "/v2/team/app/manifests/v1", nil), http.StatusOK, "")
	c.expect(c.do("GET", "/v2/team/app/manifests/"+d2, nil), http.StatusNotFound, "MANIFEST_UNKNOWN")

	if _, err := reg.DeleteRepository(ctx, "team/app", false); !errors.Is(err, ErrRepositoryNotEmpty) {
		t.Errorf("delete non-empty: %v", err)
	}
	if _, err := reg.DeleteRepository(ctx, "team/app", true); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Repository(ctx, "team/app"); !errors.Is(err, ErrRepositoryNotFound) {
		t.Errorf("after delete: %v", err)
	}
	if _, err := reg.Repository(ctx, "team"); err != nil {
		t.Errorf("parent repository gone with its child: %v", err)
	}
	c.expect(c.do("GET", "/v2/team/app/tags/list", nil), http.StatusNotFound, "NAME_UNKNOWN")
}
