package registry

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// ImageID names an image by digest, tag or both, as ECR's ImageIdentifier does.
type ImageID struct {
	Digest string
	Tag    string
}

// ImageDetail describes one manifest of a repository, as ECR's DescribeImages does.
type ImageDetail struct {
	Repository   string
	Digest       string
	Tags         []string
	Size         int64
	PushedAt     time.Time
	MediaType    string
	ArtifactType string
}

// ImageFailure reports an ImageID an operation could not handle; Err wraps ErrManifestNotFound,
// ErrTagNotFound or ErrInvalidDigest.
type ImageFailure struct {
	ID  ImageID
	Err error
}

// CreateRepository creates an empty repository.
func (r *Registry) CreateRepository(ctx context.Context, name string) (Repository, error) {
	if err := checkName(name); err != nil {
		return Repository{}, err
	}
	repo := Repository{Name: name, CreatedAt: r.opts.Now().UTC()}
	if err := r.meta.CreateRepository(ctx, repo); err != nil {
		return Repository{}, err
	}
	return repo, nil
}

// Repository returns one repository.
func (r *Registry) Repository(ctx context.Context, name string) (Repository, error) {
	if err := checkName(name); err != nil {
		return Repository{}, err
	}
	return r.meta.Repository(ctx, name)
}

// Repositories returns every repository ordered by name.
func (r *Registry) Repositories(ctx context.Context) ([]Repository, error) {
	return r.meta.Repositories(ctx)
}

// DeleteRepository deletes a repository. Unless force is set, a repository that still holds
// images fails with ErrRepositoryNotEmpty.
func (r *Registry) DeleteRepository(ctx context.Context, name string, force bool) (Repository, error) {
	repo, err := r.Repository(ctx, name)
	if err != nil {
		return Repository{}, err
	}
	if !force {
		ms, err := r.meta.Manifests(ctx, name)
		if err != nil {
			return Repository{}, err
		}
		if len(ms) > 0 {
			return Repository{}, fmt.Errorf("repository %q holds %d images: %w", name, len(ms), ErrRepositoryNotEmpty)
		}
	}
	if err := r.meta.DeleteRepository(ctx, name); err != nil {
		return Repository{}, err
	}
	return repo, nil
}

// ListImages returns one ImageID per tag, plus one without a tag per untagged manifest, ordered
// by digest and tag.
func (r *Registry) ListImages(ctx context.Context, repo string) ([]ImageID, error) {
	details, err := r.allDetails(ctx, repo)
	if err != nil {
		return nil, err
	}
	var ids []ImageID
	for _, d := range details {
		if len(d.Tags) == 0 {
			ids = append(ids, ImageID{Digest: d.Digest})
		}
		for _, t := range d.Tags {
			ids = append(ids, ImageID{Digest: d.Digest, Tag: t})
		}
	}
	return ids, nil
}

// allDetails describes every manifest of a repository, ordered by digest.
func (r *Registry) allDetails(ctx context.Context, repo string) ([]ImageDetail, error) {
	if err := checkName(repo); err != nil {
		return nil, err
	}
	ms, err := r.meta.Manifests(ctx, repo)
	if err != nil {
		return nil, err
	}
	tags, err := r.meta.Tags(ctx, repo)
	if err != nil {
		return nil, err
	}
	byDigest := map[string][]string{}
	for _, t := range tags {
		byDigest[t.Digest] = append(byDigest[t.Digest], t.Name)
	}
	out := make([]ImageDetail, 0, len(ms))
	for _, m := range ms {
		ts := byDigest[m.Digest]
		slices.Sort(ts)
		out = append(out, ImageDetail{
			Repository: repo, Digest: m.Digest, Tags: ts, Size: m.ImageSize, PushedAt: m.PushedAt,
			MediaType: m.MediaType, ArtifactType: m.ArtifactType,
		})
	}
	slices.SortFunc(out, func(a, b ImageDetail) int { return strings.Compare(a.Digest, b.Digest) })
	return out, nil
}

// DescribeImages describes the images ids name, or every image of the repository when ids is
// empty. IDs that name nothing come back as failures; an unknown repository is an error.
func (r *Registry) DescribeImages(ctx context.Context, repo string, ids []ImageID) ([]ImageDetail, []ImageFailure, error) {
	all, err := r.allDetails(ctx, repo)
	if err != nil || len(ids) == 0 {
		return all, nil, err
	}
	var out []ImageDetail
	var failures []ImageFailure
	seen := map[string]bool{}
	for _, id := range ids {
		digest, err := r.resolveID(ctx, repo, id)
		if err != nil {
			failures = append(failures, ImageFailure{ID: id, Err: err})
			continue
		}
		i := slices.IndexFunc(all, func(d ImageDetail) bool { return d.Digest == digest })
		if i < 0 {
			failures = append(failures, ImageFailure{ID: id, Err: fmt.Errorf("image %s: %w", digest, ErrManifestNotFound)})
			continue
		}
		if !seen[digest] {
			seen[digest] = true
			out = append(out, all[i])
		}
	}
	return out, failures, nil
}

// resolveID returns the manifest digest an ImageID names; with both tag and digest, they must agree.
func (r *Registry) resolveID(ctx context.Context, repo string, id ImageID) (string, error) {
	if id.Digest != "" {
		if err := checkDigest(id.Digest); err != nil {
			return "", err
		}
	}
	if id.Tag == "" {
		if id.Digest == "" {
			return "", fmt.Errorf("empty image id: %w", ErrManifestNotFound)
		}
		if _, err := r.meta.Manifest(ctx, repo, id.Digest); err != nil {
			return "", err
		}
		return id.Digest, nil
	}
	t, err := r.meta.Tag(ctx, repo, id.Tag)
	if err != nil {
		return "", err
	}
	if id.Digest != "" && id.Digest != t.Digest {
		return "", fmt.Errorf("tag %q is %s, not %s: %w", id.Tag, t.Digest, id.Digest, ErrManifestNotFound)
	}
	return t.Digest, nil
}

// BatchDeleteImages deletes images as ECR does: an ID with a digest deletes the manifest and all
// its tags; an ID with only a tag removes that tag, and the manifest with it when it was the
// manifest's last tag. It returns the IDs deleted (with digest and tag filled in) and failures.
func (r *Registry) BatchDeleteImages(ctx context.Context, repo string, ids []ImageID) ([]ImageID, []ImageFailure, error) {
	if _, err := r.Repository(ctx, repo); err != nil {
		return nil, nil, err
	}
	var deleted []ImageID
	var failures []ImageFailure
	for _, id := range ids {
		got, err := r.deleteImage(ctx, repo, id)
		if err != nil {
			if !errors.Is(err, ErrManifestNotFound) && !errors.Is(err, ErrTagNotFound) && !errors.Is(err, ErrInvalidDigest) {
				return deleted, failures, err
			}
			failures = append(failures, ImageFailure{ID: id, Err: err})
			continue
		}
		deleted = append(deleted, got...)
	}
	return deleted, failures, nil
}

func (r *Registry) deleteImage(ctx context.Context, repo string, id ImageID) ([]ImageID, error) {
	digest, err := r.resolveID(ctx, repo, id)
	if err != nil {
		return nil, err
	}
	tags, err := r.meta.Tags(ctx, repo)
	if err != nil {
		return nil, err
	}
	var mine []string
	for _, t := range tags {
		if t.Digest == digest {
			mine = append(mine, t.Name)
		}
	}
	if id.Digest == "" && len(mine) > 1 {
		if err := r.meta.DeleteTag(ctx, repo, id.Tag); err != nil {
			return nil, err
		}
		return []ImageID{{Digest: digest, Tag: id.Tag}}, nil
	}
	if err := r.meta.DeleteManifest(ctx, repo, digest); err != nil {
		return nil, err
	}
	if len(mine) == 0 {
		return []ImageID{{Digest: digest}}, nil
	}
	out := make([]ImageID, 0, len(mine))
	for _, t := range mine {
		out = append(out, ImageID{Digest: digest, Tag: t})
	}
	return out, nil
}
