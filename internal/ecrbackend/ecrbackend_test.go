package ecrbackend

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/ops"
	"github.com/gantry-dev/gantry/internal/registry"
)

func TestErrorKinds(t *testing.T) {
	reg := registry.New(t.TempDir(), registry.Options{})
	srv := httptest.NewServer(reg)
	t.Cleanup(srv.Close)
	b := New(reg)
	ctx := t.Context()
	if _, err := b.CreateRepository(ctx, "full"); err != nil {
		t.Fatal(err)
	}
	img, _ := random.Image(256, 1)
	ref, _ := name.ParseReference(strings.TrimPrefix(srv.URL, "http://") + "/full:v1")
	if err := remote.Write(ref, img, remote.WithContext(ctx)); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		call func(context.Context) error
		kind apierr.Kind
	}{
		{"create existing", func(ctx context.Context) error { _, err := b.CreateRepository(ctx, "full"); return err }, apierr.RepositoryAlreadyExists},
		{"create invalid", func(ctx context.Context) error { _, err := b.CreateRepository(ctx, "Bad"); return err }, apierr.InvalidParameter},
		{"get missing", func(ctx context.Context) error { _, err := b.Repository(ctx, "nope"); return err }, apierr.RepositoryNotFound},
		{"delete missing", func(ctx context.Context) error { _, err := b.DeleteRepository(ctx, "nope", true); return err }, apierr.RepositoryNotFound},
		{"delete not empty", func(ctx context.Context) error { _, err := b.DeleteRepository(ctx, "full", false); return err }, apierr.RepositoryNotEmpty},
		{"list missing", func(ctx context.Context) error { _, err := b.ListImages(ctx, "nope"); return err }, apierr.RepositoryNotFound},
		{"describe missing", func(ctx context.Context) error { _, _, err := b.DescribeImages(ctx, "nope", nil); return err }, apierr.RepositoryNotFound},
		{"describe missing, bad tags only", func(ctx context.Context) error {
			_, _, err := b.DescribeImages(ctx, "nope", []ops.ImageID{{Tag: "../x"}})
			return err
		}, apierr.RepositoryNotFound},
		{"batch delete missing", func(ctx context.Context) error { _, _, err := b.BatchDeleteImages(ctx, "nope", nil); return err }, apierr.RepositoryNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call(ctx)
			if !errors.Is(err, tt.kind) || apierr.KindOf(err) != tt.kind {
				t.Errorf("err %v (kind %q), want kind %q", err, apierr.KindOf(err), tt.kind)
			}
		})
	}

	failures := []struct {
		name string
		id   ops.ImageID
		kind apierr.Kind
	}{
		{"missing tag", ops.ImageID{Tag: "nope"}, apierr.ImageNotFound},
		{"missing digest", ops.ImageID{Digest: "sha256:" + strings.Repeat("0", 64)}, apierr.ImageNotFound},
		{"invalid digest", ops.ImageID{Digest: "md5:00"}, apierr.InvalidParameter},
		{"escaping tag", ops.ImageID{Tag: "../_repo.json"}, apierr.InvalidParameter},
	}
	for _, tt := range failures {
		t.Run("failure "+tt.name, func(t *testing.T) {
			found, fs, err := b.DescribeImages(ctx, "full", []ops.ImageID{tt.id})
			if err != nil || len(found) != 0 || len(fs) != 1 || fs[0].ID != tt.id || apierr.KindOf(fs[0].Err) != tt.kind {
				t.Fatalf("describe: %+v %+v %v", found, fs, err)
			}
			deleted, fs, err := b.BatchDeleteImages(ctx, "full", []ops.ImageID{tt.id})
			if err != nil || len(deleted) != 0 || len(fs) != 1 || apierr.KindOf(fs[0].Err) != tt.kind {
				t.Fatalf("delete: %+v %+v %v", deleted, fs, err)
			}
		})
	}
	ids, err := b.ListImages(ctx, "full")
	if d, _ := img.Digest(); err != nil || len(ids) != 1 || ids[0] != (ops.ImageID{Digest: d.String(), Tag: "v1"}) {
		t.Errorf("images %+v %v", ids, err)
	}
}
