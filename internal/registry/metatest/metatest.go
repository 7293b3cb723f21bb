// Package metatest is the contract suite every registry.Meta implementation must pass.
package metatest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/registry"
)

const (
	d1 = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	d2 = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
)

// Run checks a Meta implementation; newMeta returns an empty one for each call.
func Run(t *testing.T, newMeta func(t *testing.T) registry.Meta) {
	t.Run("repositories", func(t *testing.T) { repositories(t, newMeta(t)) })
	t.Run("manifests and tags", func(t *testing.T) { manifestsAndTags(t, newMeta(t)) })
}

func repositories(t *testing.T, m registry.Meta) {
	ctx := t.Context()
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, err := m.Repository(ctx, "a"); !errors.Is(err, registry.ErrRepositoryNotFound) {
		t.Errorf("missing repository: %v", err)
	}
	for _, n := range []string{"b", "a/x", "a"} {
		if err := m.CreateRepository(ctx, registry.Repository{Name: n, CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.CreateRepository(ctx, registry.Repository{Name: "a"}); !errors.Is(err, registry.ErrRepositoryExists) {
		t.Errorf("duplicate: %v", err)
	}
	repos, err := m.Repositories(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range repos {
		names = append(names, r.Name)
	}
	if !slices.Equal(names, []string{"a", "a/x", "b"}) {
		t.Errorf("Repositories = %v", names)
	}
	if r, err := m.Repository(ctx, "a/x"); err != nil || !r.CreatedAt.Equal(now) {
		t.Errorf("Repository = %+v, %v", r, err)
	}
	if err := m.DeleteRepository(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Repository(ctx, "a/x"); err != nil {
		t.Errorf("nested repository lost: %v", err)
	}
	if err := m.DeleteRepository(ctx, "a"); !errors.Is(err, registry.ErrRepositoryNotFound) {
		t.Errorf("second delete: %v", err)
	}
}

func manifestsAndTags(t *testing.T, m registry.Meta) {
	ctx := t.Context()
	if err := m.PutManifest(ctx, "app", registry.ManifestRecord{Digest: d1}); !errors.Is(err, registry.ErrRepositoryNotFound) {
		t.Errorf("manifest in missing repository: %v", err)
	}
	if err := m.CreateRepository(ctx, registry.Repository{Name: "app"}); err != nil {
		t.Fatal(err)
	}
	rec := registry.ManifestRecord{Digest: d1, MediaType: registry.MediaTypeOCIManifest, Size: 10, ImageSize: 100}
	if err := m.PutManifest(ctx, "app", rec); err != nil {
		t.Fatal(err)
	}
	if err := m.PutManifest(ctx, "app", registry.ManifestRecord{Digest: d2}); err != nil {
		t.Fatal(err)
	}
	if got, err := m.Manifest(ctx, "app", d1); err != nil || got.ImageSize != 100 || got.MediaType != rec.MediaType {
		t.Errorf("Manifest = %+v, %v", got, err)
	}
	if err := m.PutTag(ctx, "app", registry.Tag{Name: "v1", Digest: "sha256:3333333333333333333333333333333333333333333333333333333333333333"}); !errors.Is(err, registry.ErrManifestNotFound) {
		t.Errorf("tag to unknown manifest: %v", err)
	}
	for _, tag := range []registry.Tag{{Name: "v1", Digest: d1}, {Name: "latest", Digest: d1}, {Name: "v2", Digest: d2}} {
		if err := m.PutTag(ctx, "app", tag); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.PutTag(ctx, "app", registry.Tag{Name: "v1", Digest: d2}); err != nil {
		t.Fatal(err)
	}
	if tag, err := m.Tag(ctx, "app", "v1"); err != nil || tag.Digest != d2 {
		t.Errorf("moved tag = %+v, %v", tag, err)
	}
	tags, err := m.Tags(ctx, "app")
	if err != nil || len(tags) != 3 || tags[0].Name != "latest" || tags[2].Name != "v2" {
		t.Errorf("Tags = %+v, %v", tags, err)
	}
	if err := m.DeleteManifest(ctx, "app", d2); err != nil {
		t.Fatal(err)
	}
	if tags, _ := m.Tags(ctx, "app"); len(tags) != 1 || tags[0].Name != "latest" {
		t.Errorf("tags after deleting their manifest = %+v", tags)
	}
	if _, err := m.Manifest(ctx, "app", d2); !errors.Is(err, registry.ErrManifestNotFound) {
		t.Errorf("deleted manifest: %v", err)
	}
	if err := m.DeleteTag(ctx, "app", "nope"); !errors.Is(err, registry.ErrTagNotFound) {
		t.Errorf("delete missing tag: %v", err)
	}
	if ms, err := m.Manifests(ctx, "app"); err != nil || len(ms) != 1 || ms[0].Digest != d1 {
		t.Errorf("Manifests = %+v, %v", ms, err)
	}
	if err := m.DeleteRepository(ctx, "app"); err != nil {
		t.Fatal(err)
	}
	if err := m.CreateRepository(ctx, registry.Repository{Name: "app"}); err != nil {
		t.Fatal(err)
	}
	if ms, _ := m.Manifests(ctx, "app"); len(ms) != 0 {
		t.Errorf("recreated repository kept %d manifests", len(ms))
	}
}
