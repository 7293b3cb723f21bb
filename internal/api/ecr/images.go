package ecr

import (
	"context"

	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/ops"
)

// ImageIdentifier names an image by digest, tag or both.
type ImageIdentifier struct {
	ImageDigest *string `json:"imageDigest,omitempty"`
	ImageTag    *string `json:"imageTag,omitempty"`
}

// ImageDetail is ECR's description of one image.
type ImageDetail struct {
	RegistryID             string   `json:"registryId"`
	RepositoryName         string   `json:"repositoryName"`
	ImageDigest            string   `json:"imageDigest"`
	ImageTags              []string `json:"imageTags,omitempty"`
	ImageSizeInBytes       int64    `json:"imageSizeInBytes"`
	ImagePushedAt          *float64 `json:"imagePushedAt,omitempty"`
	ImageManifestMediaType string   `json:"imageManifestMediaType,omitempty"`
	ArtifactMediaType      string   `json:"artifactMediaType,omitempty"`
	ImageStatus            string   `json:"imageStatus,omitempty"`
}

// ImageFailure is an image BatchDeleteImage could not delete.
type ImageFailure struct {
	ImageID       ImageIdentifier `json:"imageId"`
	FailureCode   string          `json:"failureCode"`
	FailureReason string          `json:"failureReason"`
}

// ImageFilter is ListImages' and DescribeImages' filter.
type ImageFilter struct {
	TagStatus   *string `json:"tagStatus"`
	ImageStatus *string `json:"imageStatus"`
}

type listImagesInput struct {
	RegistryID     *string      `json:"registryId"`
	RepositoryName *string      `json:"repositoryName"`
	NextToken      *string      `json:"nextToken"`
	MaxResults     *int         `json:"maxResults"`
	Filter         *ImageFilter `json:"filter"`
}

type listImagesOutput struct {
	ImageIDs  []ImageIdentifier `json:"imageIds"`
	NextToken string            `json:"nextToken,omitempty"`
}

func (h *handler) listImages(ctx context.Context, sc model.Scope, in *listImagesInput) (*listImagesOutput, error) {
	q := ops.ImageQuery{
		RegistryID: deref(in.RegistryID), Repository: deref(in.RepositoryName), TagStatus: tagStatus(in.Filter),
		Page: ops.Page{MaxResults: in.MaxResults, NextToken: deref(in.NextToken)},
	}
	ids, next, err := h.ops.ListImages(ctx, sc, q)
	if err != nil {
		return nil, err
	}
	return &listImagesOutput{ImageIDs: imageIDsToWire(ids), NextToken: next}, nil
}

type describeImagesInput struct {
	RegistryID     *string           `json:"registryId"`
	RepositoryName *string           `json:"repositoryName"`
	ImageIDs       []ImageIdentifier `json:"imageIds"`
	NextToken      *string           `json:"nextToken"`
	MaxResults     *int              `json:"maxResults"`
	Filter         *ImageFilter      `json:"filter"`
}

type describeImagesOutput struct {
	ImageDetails []ImageDetail `json:"imageDetails"`
	NextToken    string        `json:"nextToken,omitempty"`
}

func (h *handler) describeImages(ctx context.Context, sc model.Scope, in *describeImagesInput) (*describeImagesOutput, error) {
	q := ops.ImageQuery{
		RegistryID: deref(in.RegistryID), Repository: deref(in.RepositoryName), IDs: imageIDsFromWire(in.ImageIDs),
		TagStatus: tagStatus(in.Filter), Page: ops.Page{MaxResults: in.MaxResults, NextToken: deref(in.NextToken)},
	}
	ds, next, err := h.ops.DescribeImages(ctx, sc, q)
	if err != nil {
		return nil, err
	}
	out := &describeImagesOutput{ImageDetails: make([]ImageDetail, 0, len(ds)), NextToken: next}
	for _, d := range ds {
		out.ImageDetails = append(out.ImageDetails, ImageDetail{
			RegistryID: sc.Account, RepositoryName: d.Repository, ImageDigest: d.Digest, ImageTags: d.Tags,
			ImageSizeInBytes: d.Size, ImagePushedAt: epochSeconds(d.PushedAt),
			ImageManifestMediaType: d.MediaType, ArtifactMediaType: d.ArtifactType, ImageStatus: "ACTIVE",
		})
	}
	return out, nil
}

type batchDeleteImageInput struct {
	RegistryID     *string           `json:"registryId"`
	RepositoryName *string           `json:"repositoryName"`
	ImageIDs       []ImageIdentifier `json:"imageIds"`
}

type batchDeleteImageOutput struct {
	ImageIDs []ImageIdentifier `json:"imageIds"`
	Failures []ImageFailure    `json:"failures"`
}

func (h *handler) batchDeleteImage(ctx context.Context, sc model.Scope, in *batchDeleteImageInput) (*batchDeleteImageOutput, error) {
	deleted, failures, err := h.ops.BatchDeleteImage(ctx, sc, deref(in.RegistryID), deref(in.RepositoryName), imageIDsFromWire(in.ImageIDs))
	if err != nil {
		return nil, err
	}
	out := &batchDeleteImageOutput{ImageIDs: imageIDsToWire(deleted), Failures: make([]ImageFailure, 0, len(failures))}
	for _, f := range failures {
		out.Failures = append(out.Failures, ImageFailure{ImageID: imageIDToWire(f.ID), FailureCode: f.Code, FailureReason: f.Reason})
	}
	return out, nil
}

type getAuthorizationTokenInput struct {
	RegistryIDs []string `json:"registryIds"`
}

// AuthorizationData is one registry's docker login credentials.
type AuthorizationData struct {
	AuthorizationToken string   `json:"authorizationToken"`
	ExpiresAt          *float64 `json:"expiresAt,omitempty"`
	ProxyEndpoint      string   `json:"proxyEndpoint"`
}

type getAuthorizationTokenOutput struct {
	AuthorizationData []AuthorizationData `json:"authorizationData"`
}

func (h *handler) getAuthorizationToken(ctx context.Context, sc model.Scope, in *getAuthorizationTokenInput) (*getAuthorizationTokenOutput, error) {
	data, err := h.ops.GetAuthorizationToken(ctx, sc, in.RegistryIDs)
	if err != nil {
		return nil, err
	}
	out := &getAuthorizationTokenOutput{AuthorizationData: make([]AuthorizationData, 0, len(data))}
	for _, d := range data {
		out.AuthorizationData = append(out.AuthorizationData, AuthorizationData{
			AuthorizationToken: d.Token, ExpiresAt: epochSeconds(d.ExpiresAt), ProxyEndpoint: d.ProxyEndpoint,
		})
	}
	return out, nil
}

func tagStatus(f *ImageFilter) string {
	if f == nil {
		return ""
	}
	return deref(f.TagStatus)
}

func imageIDsFromWire(in []ImageIdentifier) []ops.ImageID {
	out := make([]ops.ImageID, 0, len(in))
	for _, id := range in {
		out = append(out, ops.ImageID{Digest: deref(id.ImageDigest), Tag: deref(id.ImageTag)})
	}
	return out
}

func imageIDToWire(id ops.ImageID) ImageIdentifier {
	return ImageIdentifier{ImageDigest: optional(id.Digest), ImageTag: optional(id.Tag)}
}

func imageIDsToWire(ids []ops.ImageID) []ImageIdentifier {
	out := make([]ImageIdentifier, 0, len(ids))
	for _, id := range ids {
		out = append(out, imageIDToWire(id))
	}
	return out
}
