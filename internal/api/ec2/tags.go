package ec2

import (
	"context"

	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/ops"
)

type createTagsInput struct {
	Resources []string `query:"ResourceId"`
	Tags      []Tag    `query:"Tag"`
}

func (h *handler) createTags(ctx context.Context, sc model.Scope, in *createTagsInput) (*returnOutput, error) {
	if err := h.ops.CreateTags(ctx, sc, in.Resources, tagsFromWire(in.Tags)); err != nil {
		return nil, err
	}
	return ok, nil
}

// deleteTag is DeleteTags' tag, whose value may be absent (any value) or empty.
type deleteTag struct {
	Key   string  `query:"Key"`
	Value *string `query:"Value"`
}

type deleteTagsInput struct {
	Resources []string    `query:"ResourceId"`
	Tags      []deleteTag `query:"Tag"`
}

func (h *handler) deleteTags(ctx context.Context, sc model.Scope, in *deleteTagsInput) (*returnOutput, error) {
	tags := make([]ops.DeleteTag, len(in.Tags))
	for i, t := range in.Tags {
		tags[i] = ops.DeleteTag(t)
	}
	if err := h.ops.DeleteTags(ctx, sc, in.Resources, tags); err != nil {
		return nil, err
	}
	return ok, nil
}

// TagDescription is one tag of one resource.
type TagDescription struct {
	ResourceID   string `xml:"resourceId"`
	ResourceType string `xml:"resourceType"`
	Key          string `xml:"key"`
	Value        string `xml:"value"`
}

type describeTagsInput struct {
	Filters    []filter `query:"Filter"`
	MaxResults *int32   `query:"MaxResults"`
	NextToken  string   `query:"NextToken"`
}

type describeTagsOutput struct {
	Tags      []TagDescription `xml:"tagSet>item"`
	NextToken string           `xml:"nextToken,omitempty"`
}

func (h *handler) describeTags(ctx context.Context, sc model.Scope, in *describeTagsInput) (*describeTagsOutput, error) {
	tags, next, err := h.ops.DescribeTags(ctx, sc, filtersFromWire(in.Filters), paging(in.MaxResults, in.NextToken))
	if err != nil {
		return nil, err
	}
	out := &describeTagsOutput{NextToken: next, Tags: make([]TagDescription, len(tags))}
	for i, t := range tags {
		out.Tags[i] = TagDescription(t)
	}
	return out, nil
}
