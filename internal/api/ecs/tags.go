package ecs

import (
	"context"

	"github.com/gantry-dev/gantry/internal/model"
)

type tagResourceInput struct {
	ResourceArn *string `json:"resourceArn"`
	Tags        []Tag   `json:"tags"`
}

type emptyOutput struct{}

func (h *handler) tagResource(ctx context.Context, sc model.Scope, in *tagResourceInput) (*emptyOutput, error) {
	if err := h.ops.TagResource(ctx, sc, deref(in.ResourceArn), tagsFromWire(in.Tags)); err != nil {
		return nil, err
	}
	return &emptyOutput{}, nil
}

type untagResourceInput struct {
	ResourceArn *string  `json:"resourceArn"`
	TagKeys     []string `json:"tagKeys"`
}

func (h *handler) untagResource(ctx context.Context, sc model.Scope, in *untagResourceInput) (*emptyOutput, error) {
	if err := h.ops.UntagResource(ctx, sc, deref(in.ResourceArn), in.TagKeys); err != nil {
		return nil, err
	}
	return &emptyOutput{}, nil
}

type listTagsForResourceInput struct {
	ResourceArn *string `json:"resourceArn"`
}

type listTagsForResourceOutput struct {
	Tags []Tag `json:"tags"`
}

func (h *handler) listTagsForResource(ctx context.Context, sc model.Scope, in *listTagsForResourceInput) (*listTagsForResourceOutput, error) {
	tags, err := h.ops.ListTagsForResource(ctx, sc, deref(in.ResourceArn))
	if err != nil {
		return nil, err
	}
	return &listTagsForResourceOutput{Tags: append([]Tag{}, tagsToWire(tags)...)}, nil
}
