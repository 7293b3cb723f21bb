package ecr

import (
	"context"
	"time"

	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/ops"
)

// Tag is ECR's tag shape (capitalised members, unlike ECS).
type Tag struct {
	Key   *string `json:"Key"`
	Value *string `json:"Value"`
}

// ImageScanningConfiguration is a repository's scan-on-push setting.
type ImageScanningConfiguration struct {
	ScanOnPush bool `json:"scanOnPush"`
}

// EncryptionConfiguration is a repository's encryption at rest.
type EncryptionConfiguration struct {
	EncryptionType *string `json:"encryptionType"`
	KmsKey         *string `json:"kmsKey,omitempty"`
}

// ImageTagMutabilityExclusionFilter exempts matching tags from the mutability setting.
type ImageTagMutabilityExclusionFilter struct {
	FilterType *string `json:"filterType"`
	Filter     *string `json:"filter"`
}

// Repository is ECR's repository shape.
type Repository struct {
	RepositoryArn                      string                              `json:"repositoryArn"`
	RegistryID                         string                              `json:"registryId"`
	RepositoryName                     string                              `json:"repositoryName"`
	RepositoryURI                      string                              `json:"repositoryUri"`
	CreatedAt                          *float64                            `json:"createdAt,omitempty"`
	ImageTagMutability                 string                              `json:"imageTagMutability,omitempty"`
	ImageTagMutabilityExclusionFilters []ImageTagMutabilityExclusionFilter `json:"imageTagMutabilityExclusionFilters,omitempty"`
	ImageScanningConfiguration         *ImageScanningConfiguration         `json:"imageScanningConfiguration,omitempty"`
	EncryptionConfiguration            *EncryptionConfiguration            `json:"encryptionConfiguration,omitempty"`
}

type createRepositoryInput struct {
	RegistryID                         *string                             `json:"registryId"`
	RepositoryName                     *string                             `json:"repositoryName"`
	Tags                               []Tag                               `json:"tags"`
	ImageTagMutability                 *string                             `json:"imageTagMutability"`
	ImageTagMutabilityExclusionFilters []ImageTagMutabilityExclusionFilter `json:"imageTagMutabilityExclusionFilters"`
	ImageScanningConfiguration         *ImageScanningConfiguration         `json:"imageScanningConfiguration"`
	EncryptionConfiguration            *EncryptionConfiguration            `json:"encryptionConfiguration"`
}

type repositoryOutput struct {
	Repository *Repository `json:"repository"`
}

func (h *handler) createRepository(ctx context.Context, sc model.Scope, in *createRepositoryInput) (*repositoryOutput, error) {
	r, err := h.ops.CreateRepository(ctx, sc, deref(in.RegistryID), deref(in.RepositoryName), settingsFromWire(in))
	if err != nil {
		return nil, err
	}
	return &repositoryOutput{Repository: repositoryToWire(r)}, nil
}

type describeRepositoriesInput struct {
	RegistryID      *string  `json:"registryId"`
	RepositoryNames []string `json:"repositoryNames"`
	NextToken       *string  `json:"nextToken"`
	MaxResults      *int     `json:"maxResults"`
}

type describeRepositoriesOutput struct {
	Repositories []*Repository `json:"repositories"`
	NextToken    string        `json:"nextToken,omitempty"`
}

func (h *handler) describeRepositories(ctx context.Context, sc model.Scope, in *describeRepositoriesInput) (*describeRepositoriesOutput, error) {
	rs, next, err := h.ops.DescribeRepositories(ctx, sc, deref(in.RegistryID), in.RepositoryNames, ops.Page{MaxResults: in.MaxResults, NextToken: deref(in.NextToken)})
	if err != nil {
		return nil, err
	}
	out := &describeRepositoriesOutput{Repositories: make([]*Repository, 0, len(rs)), NextToken: next}
	for _, r := range rs {
		out.Repositories = append(out.Repositories, repositoryToWire(r))
	}
	return out, nil
}

type deleteRepositoryInput struct {
	RegistryID     *string `json:"registryId"`
	RepositoryName *string `json:"repositoryName"`
	Force          bool    `json:"force"`
}

func (h *handler) deleteRepository(ctx context.Context, sc model.Scope, in *deleteRepositoryInput) (*repositoryOutput, error) {
	r, err := h.ops.DeleteRepository(ctx, sc, deref(in.RegistryID), deref(in.RepositoryName), in.Force)
	if err != nil {
		return nil, err
	}
	return &repositoryOutput{Repository: repositoryToWire(r)}, nil
}

func settingsFromWire(in *createRepositoryInput) ops.RepositorySettings {
	s := ops.RepositorySettings{ImageTagMutability: deref(in.ImageTagMutability)}
	for _, f := range in.ImageTagMutabilityExclusionFilters {
		s.ExclusionFilters = append(s.ExclusionFilters, ops.MutabilityExclusionFilter{Type: deref(f.FilterType), Filter: deref(f.Filter)})
	}
	if c := in.ImageScanningConfiguration; c != nil {
		s.ScanOnPush = c.ScanOnPush
	}
	if c := in.EncryptionConfiguration; c != nil {
		s.EncryptionType, s.KMSKey = deref(c.EncryptionType), deref(c.KmsKey)
	}
	for _, t := range in.Tags {
		s.Tags = append(s.Tags, model.Tag{Key: deref(t.Key), Value: deref(t.Value)})
	}
	return s
}

func repositoryToWire(r ops.ECRRepository) *Repository {
	s := r.Settings
	w := &Repository{
		RepositoryArn:              r.ARN,
		RegistryID:                 r.RegistryID,
		RepositoryName:             r.Name,
		RepositoryURI:              r.URI,
		CreatedAt:                  epochSeconds(r.CreatedAt),
		ImageTagMutability:         s.ImageTagMutability,
		ImageScanningConfiguration: &ImageScanningConfiguration{ScanOnPush: s.ScanOnPush},
		EncryptionConfiguration:    &EncryptionConfiguration{EncryptionType: optional(s.EncryptionType), KmsKey: optional(s.KMSKey)},
	}
	for _, f := range s.ExclusionFilters {
		w.ImageTagMutabilityExclusionFilters = append(w.ImageTagMutabilityExclusionFilters,
			ImageTagMutabilityExclusionFilter{FilterType: optional(f.Type), Filter: optional(f.Filter)})
	}
	return w
}

// epochSeconds is a JSON-protocol timestamp: seconds since the epoch, to the millisecond.
func epochSeconds(t time.Time) *float64 {
	if t.IsZero() {
		return nil
	}
	s := float64(t.UnixMilli()) / 1000
	return &s
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
