// Package ecrbackend adapts the built-in registry to the ECR operations: it converts the
// registry's types to ops' and names its errors with apierr kinds.
package ecrbackend

import (
	"context"
	"errors"
	"fmt"
	"regexp"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/ops"
	"github.com/gantry-dev/gantry/internal/registry"
)

// Backend is a *registry.Registry seen as an ops.ImageRegistry.
type Backend struct{ reg *registry.Registry }

var _ ops.ImageRegistry = (*Backend)(nil)

// New returns reg as an ops.ImageRegistry.
func New(reg *registry.Registry) *Backend { return &Backend{reg: reg} }

// kinds names the registry's errors; the first match wins. Anything else stays internal.
var kinds = []struct {
	err  error
	kind apierr.Kind
}{
	{registry.ErrRepositoryNotFound, apierr.RepositoryNotFound},
	{registry.ErrRepositoryExists, apierr.RepositoryAlreadyExists},
	{registry.ErrRepositoryNotEmpty, apierr.RepositoryNotEmpty},
	{registry.ErrManifestNotFound, apierr.ImageNotFound},
	{registry.ErrTagNotFound, apierr.ImageNotFound},
	{registry.ErrInvalidName, apierr.InvalidParameter},
	{registry.ErrInvalidDigest, apierr.InvalidParameter},
	{registry.ErrInvalidTag, apierr.InvalidParameter},
}

// translate adds the apierr kind of a registry error, keeping its chain for the logs.
func translate(err error) error {
	if err == nil {
		return nil
	}
	for _, k := range kinds {
		if errors.Is(err, k.err) {
			return fmt.Errorf("%w: %w", err, k.kind)
		}
	}
	return err
}

// tagRE is the distribution spec's tag grammar. The registry's Go API takes tags as file names
// without checking them, so they are checked here.
var tagRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$`)

func (b *Backend) CreateRepository(ctx context.Context, name string) (ops.ImageRepository, error) {
	r, err := b.reg.CreateRepository(ctx, name)
	return repositoryFromRegistry(r), translate(err)
}

func (b *Backend) Repository(ctx context.Context, name string) (ops.ImageRepository, error) {
	r, err := b.reg.Repository(ctx, name)
	return repositoryFromRegistry(r), translate(err)
}

func (b *Backend) Repositories(ctx context.Context) ([]ops.ImageRepository, error) {
	rs, err := b.reg.Repositories(ctx)
	if err != nil {
		return nil, translate(err)
	}
	out := make([]ops.ImageRepository, 0, len(rs))
	for _, r := range rs {
		out = append(out, repositoryFromRegistry(r))
	}
	return out, nil
}

func (b *Backend) DeleteRepository(ctx context.Context, name string, force bool) (ops.ImageRepository, error) {
	r, err := b.reg.DeleteRepository(ctx, name, force)
	return repositoryFromRegistry(r), translate(err)
}

func (b *Backend) ListImages(ctx context.Context, repo string) ([]ops.ImageID, error) {
	ids, err := b.reg.ListImages(ctx, repo)
	if err != nil {
		return nil, translate(err)
	}
	out := make([]ops.ImageID, 0, len(ids))
	for _, id := range ids {
		out = append(out, imageIDFromRegistry(id))
	}
	return out, nil
}

func (b *Backend) DescribeImages(ctx context.Context, repo string, ids []ops.ImageID) ([]ops.ImageDetail, []ops.ImageFailure, error) {
	valid, failures := checkTags(ids)
	if len(ids) > 0 && len(valid) == 0 {
		// The registry describes everything for no IDs; here every ID failed.
		if _, err := b.reg.Repository(ctx, repo); err != nil {
			return nil, nil, translate(err)
		}
		return nil, failures, nil
	}
	details, failed, err := b.reg.DescribeImages(ctx, repo, imageIDsToRegistry(valid))
	if err != nil {
		return nil, nil, translate(err)
	}
	out := make([]ops.ImageDetail, 0, len(details))
	for _, d := range details {
		out = append(out, ops.ImageDetail{
			Repository: d.Repository, Digest: d.Digest, Tags: d.Tags, Size: d.Size, PushedAt: d.PushedAt,
			MediaType: d.MediaType, ArtifactType: d.ArtifactType,
		})
	}
	return out, append(failures, failuresFromRegistry(failed)...), nil
}

func (b *Backend) BatchDeleteImages(ctx context.Context, repo string, ids []ops.ImageID) ([]ops.ImageID, []ops.ImageFailure, error) {
	valid, failures := checkTags(ids)
	deleted, failed, err := b.reg.BatchDeleteImages(ctx, repo, imageIDsToRegistry(valid))
	if err != nil {
		return nil, nil, translate(err)
	}
	out := make([]ops.ImageID, 0, len(deleted))
	for _, id := range deleted {
		out = append(out, imageIDFromRegistry(id))
	}
	return out, append(failures, failuresFromRegistry(failed)...), nil
}

// checkTags splits ids into those the registry may look up and failures for malformed tags.
func checkTags(ids []ops.ImageID) (valid []ops.ImageID, failures []ops.ImageFailure) {
	for _, id := range ids {
		if id.Tag != "" && !tagRE.MatchString(id.Tag) {
			failures = append(failures, ops.ImageFailure{ID: id, Err: fmt.Errorf("tag %q: %w", id.Tag, apierr.InvalidParameter)})
			continue
		}
		valid = append(valid, id)
	}
	return valid, failures
}

func repositoryFromRegistry(r registry.Repository) ops.ImageRepository {
	return ops.ImageRepository{Name: r.Name, CreatedAt: r.CreatedAt}
}

func imageIDFromRegistry(id registry.ImageID) ops.ImageID {
	return ops.ImageID{Digest: id.Digest, Tag: id.Tag}
}

func imageIDsToRegistry(ids []ops.ImageID) []registry.ImageID {
	out := make([]registry.ImageID, 0, len(ids))
	for _, id := range ids {
		out = append(out, registry.ImageID{Digest: id.Digest, Tag: id.Tag})
	}
	return out
}

func failuresFromRegistry(fs []registry.ImageFailure) []ops.ImageFailure {
	out := make([]ops.ImageFailure, 0, len(fs))
	for _, f := range fs {
		out = append(out, ops.ImageFailure{ID: imageIDFromRegistry(f.ID), Err: translate(f.Err)})
	}
	return out
}
