package ssm

import (
	"context"

	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/ops"
)

// stringFilter is SSM's ParameterStringFilter (and, without Option, ParametersFilter).
type stringFilter struct {
	Key    *string  `json:"Key"`
	Option *string  `json:"Option"`
	Values []string `json:"Values"`
}

func filtersFromWire(in []stringFilter) []ops.ParameterFilter {
	var out []ops.ParameterFilter
	for _, f := range in {
		out = append(out, ops.ParameterFilter{Key: deref(f.Key), Option: deref(f.Option), Values: f.Values})
	}
	return out
}

type getByPathInput struct {
	Path             *string        `json:"Path"`
	Recursive        *bool          `json:"Recursive"`
	ParameterFilters []stringFilter `json:"ParameterFilters"`
	WithDecryption   *bool          `json:"WithDecryption"`
	MaxResults       *int           `json:"MaxResults"`
	NextToken        *string        `json:"NextToken"`
}

type parametersOutput struct {
	Parameters []Parameter `json:"Parameters"`
	NextToken  *string     `json:"NextToken,omitempty"`
}

func (h *handler) getParametersByPath(ctx context.Context, sc model.Scope, in *getByPathInput) (*parametersOutput, error) {
	ps, next, err := h.ops.GetParametersByPath(ctx, sc, ops.PathQuery{Path: deref(in.Path), Recursive: deref(in.Recursive),
		Filters: filtersFromWire(in.ParameterFilters), Decrypt: deref(in.WithDecryption), MaxResults: deref(in.MaxResults),
		Token: deref(in.NextToken)})
	if err != nil {
		return nil, err
	}
	out := &parametersOutput{Parameters: make([]Parameter, len(ps)), NextToken: optional(next)}
	for i, p := range ps {
		out.Parameters[i] = parameterToWire(p)
	}
	return out, nil
}

type describeParametersInput struct {
	Filters          []stringFilter `json:"Filters"`
	ParameterFilters []stringFilter `json:"ParameterFilters"`
	MaxResults       *int           `json:"MaxResults"`
	NextToken        *string        `json:"NextToken"`
}

// ParameterMetadata is SSM's ParameterMetadata shape.
type ParameterMetadata struct {
	Name             string   `json:"Name"`
	ARN              string   `json:"ARN"`
	Type             string   `json:"Type"`
	KeyID            *string  `json:"KeyId,omitempty"`
	LastModifiedDate *float64 `json:"LastModifiedDate,omitempty"`
	LastModifiedUser string   `json:"LastModifiedUser,omitempty"`
	Description      *string  `json:"Description,omitempty"`
	AllowedPattern   *string  `json:"AllowedPattern,omitempty"`
	Version          int64    `json:"Version"`
	Tier             string   `json:"Tier"`
	Policies         []any    `json:"Policies"`
	DataType         string   `json:"DataType"`
}

type describeParametersOutput struct {
	Parameters []ParameterMetadata `json:"Parameters"`
	NextToken  *string             `json:"NextToken,omitempty"`
}

func (h *handler) describeParameters(ctx context.Context, sc model.Scope, in *describeParametersInput) (*describeParametersOutput, error) {
	filters := filtersFromWire(in.ParameterFilters)
	for _, f := range filtersFromWire(in.Filters) {
		if f.Key == "Name" { // the old Filters match names by prefix
			f.Option = "BeginsWith"
		}
		filters = append(filters, f)
	}
	ps, next, err := h.ops.DescribeParameters(ctx, sc, ops.DescribeQuery{Filters: filters, MaxResults: deref(in.MaxResults),
		Token: deref(in.NextToken)})
	if err != nil {
		return nil, err
	}
	out := &describeParametersOutput{Parameters: make([]ParameterMetadata, len(ps)), NextToken: optional(next)}
	for i, p := range ps {
		out.Parameters[i] = ParameterMetadata{Name: p.Name, ARN: p.ARN, Type: p.Type, KeyID: optional(p.KeyID),
			LastModifiedDate: epoch(p.ModifiedAt), LastModifiedUser: p.ModifiedBy, Description: optional(p.Description),
			AllowedPattern: optional(p.AllowedPattern), Version: p.Version, Tier: p.Tier, Policies: []any{}, DataType: p.DataType}
	}
	return out, nil
}

type historyInput struct {
	Name           *string `json:"Name"`
	WithDecryption *bool   `json:"WithDecryption"`
	MaxResults     *int    `json:"MaxResults"`
	NextToken      *string `json:"NextToken"`
}

// ParameterHistory is SSM's ParameterHistory shape.
type ParameterHistory struct {
	Name             string   `json:"Name"`
	Type             string   `json:"Type"`
	KeyID            *string  `json:"KeyId,omitempty"`
	LastModifiedDate *float64 `json:"LastModifiedDate,omitempty"`
	LastModifiedUser string   `json:"LastModifiedUser,omitempty"`
	Description      *string  `json:"Description,omitempty"`
	Value            string   `json:"Value"`
	AllowedPattern   *string  `json:"AllowedPattern,omitempty"`
	Version          int64    `json:"Version"`
	Labels           []string `json:"Labels"`
	Tier             string   `json:"Tier"`
	Policies         []any    `json:"Policies"`
	DataType         string   `json:"DataType"`
}

type historyOutput struct {
	Parameters []ParameterHistory `json:"Parameters"`
	NextToken  *string            `json:"NextToken,omitempty"`
}

func (h *handler) getParameterHistory(ctx context.Context, sc model.Scope, in *historyInput) (*historyOutput, error) {
	ps, next, err := h.ops.GetParameterHistory(ctx, sc, deref(in.Name), deref(in.WithDecryption), deref(in.MaxResults), deref(in.NextToken))
	if err != nil {
		return nil, err
	}
	out := &historyOutput{Parameters: make([]ParameterHistory, len(ps)), NextToken: optional(next)}
	for i, p := range ps {
		labels := p.Labels
		if labels == nil {
			labels = []string{}
		}
		out.Parameters[i] = ParameterHistory{Name: p.Name, Type: p.Type, KeyID: optional(p.KeyID),
			LastModifiedDate: epoch(p.ModifiedAt), LastModifiedUser: p.ModifiedBy, Description: optional(p.Description),
			Value: p.Value, AllowedPattern: optional(p.AllowedPattern), Version: p.Version, Labels: labels, Tier: p.Tier,
			Policies: []any{}, DataType: p.DataType}
	}
	return out, nil
}

type labelInput struct {
	Name             *string  `json:"Name"`
	ParameterVersion *int64   `json:"ParameterVersion"`
	Labels           []string `json:"Labels"`
}

type labelOutput struct {
	InvalidLabels    []string `json:"InvalidLabels"`
	ParameterVersion int64    `json:"ParameterVersion"`
}

func (h *handler) labelParameterVersion(ctx context.Context, sc model.Scope, in *labelInput) (*labelOutput, error) {
	invalid, v, err := h.ops.LabelParameterVersion(ctx, sc, deref(in.Name), deref(in.ParameterVersion), in.Labels)
	if err != nil {
		return nil, err
	}
	if invalid == nil {
		invalid = []string{}
	}
	return &labelOutput{InvalidLabels: invalid, ParameterVersion: v}, nil
}

type tagsInput struct {
	ResourceType *string  `json:"ResourceType"`
	ResourceID   *string  `json:"ResourceId"`
	Tags         []Tag    `json:"Tags"`
	TagKeys      []string `json:"TagKeys"`
}

func (h *handler) addTagsToResource(ctx context.Context, sc model.Scope, in *tagsInput) (*empty, error) {
	return &empty{}, h.ops.AddTagsToParameter(ctx, sc, deref(in.ResourceType), deref(in.ResourceID), tagsFromWire(in.Tags))
}

func (h *handler) removeTagsFromResource(ctx context.Context, sc model.Scope, in *tagsInput) (*empty, error) {
	return &empty{}, h.ops.RemoveTagsFromParameter(ctx, sc, deref(in.ResourceType), deref(in.ResourceID), in.TagKeys)
}

type listTagsOutput struct {
	TagList []Tag `json:"TagList"`
}

func (h *handler) listTagsForResource(ctx context.Context, sc model.Scope, in *tagsInput) (*listTagsOutput, error) {
	tags, err := h.ops.ListParameterTags(ctx, sc, deref(in.ResourceType), deref(in.ResourceID))
	if err != nil {
		return nil, err
	}
	out := &listTagsOutput{TagList: make([]Tag, len(tags))}
	for i, t := range tags {
		out.TagList[i] = Tag{Key: &t.Key, Value: &t.Value}
	}
	return out, nil
}
