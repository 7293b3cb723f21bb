// Package ssm is the AWS Systems Manager Parameter Store on the front door: wire shapes with
// AWS's member names, and handlers that convert them to and from the ops layer.
package ssm

import (
	"context"
	"time"

	"github.com/gantry-dev/gantry/internal/api"
	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/ops"
)

// TargetPrefix is SSM's X-Amz-Target prefix.
const TargetPrefix = "AmazonSSM"

type handler struct{ ops *ops.SSM }

// Service returns the Parameter Store service for the front door.
func Service(o *ops.SSM) *api.Service {
	h := &handler{ops: o}
	return &api.Service{
		SigningName:  "ssm",
		TargetPrefix: TargetPrefix,
		Protocol:     api.JSON,
		ErrorCode:    errorCode,
		Operations: map[string]api.Operation{
			"PutParameter":           api.JSONOp(h.putParameter),
			"GetParameter":           api.JSONOp(h.getParameter),
			"GetParameters":          api.JSONOp(h.getParameters),
			"GetParametersByPath":    api.JSONOp(h.getParametersByPath),
			"DeleteParameter":        api.JSONOp(h.deleteParameter),
			"DeleteParameters":       api.JSONOp(h.deleteParameters),
			"DescribeParameters":     api.JSONOp(h.describeParameters),
			"GetParameterHistory":    api.JSONOp(h.getParameterHistory),
			"LabelParameterVersion":  api.JSONOp(h.labelParameterVersion),
			"AddTagsToResource":      api.JSONOp(h.addTagsToResource),
			"RemoveTagsFromResource": api.JSONOp(h.removeTagsFromResource),
			"ListTagsForResource":    api.JSONOp(h.listTagsForResource),
		},
	}
}

// errorCode names error kinds as SSM does.
func errorCode(k apierr.Kind) string {
	switch k {
	case apierr.InvalidParameter, apierr.MissingParameter, apierr.Serialization, apierr.Client:
		return "ValidationException"
	case apierr.NotFound:
		return "ParameterNotFound"
	case apierr.AlreadyExists:
		return "ParameterAlreadyExists"
	case apierr.VersionNotFound:
		return "ParameterVersionNotFound"
	case apierr.PatternMismatch:
		return "ParameterPatternMismatchException"
	case apierr.HierarchyLimit:
		return "HierarchyLevelLimitExceededException"
	case apierr.InvalidFilterKey:
		return "InvalidFilterKey"
	case apierr.InvalidFilterValue:
		return "InvalidFilterValue"
	case apierr.InvalidFilterOption:
		return "InvalidFilterOption"
	case apierr.InvalidNextToken:
		return "InvalidNextToken"
	case apierr.InvalidResourceID:
		return "InvalidResourceId"
	case apierr.Unsupported:
		return "InvalidResourceType"
	case apierr.LimitExceeded:
		return "ParameterVersionLabelLimitExceeded"
	case apierr.TypeMismatch:
		return "HierarchyTypeMismatchException"
	case apierr.VersionLimitReached:
		return "ParameterMaxVersionLimitExceeded"
	case apierr.Conflict, apierr.Throttled:
		return "TooManyUpdates"
	case apierr.DecryptionFailure:
		return "InvalidKeyId"
	case apierr.AccessDenied:
		return "AccessDeniedException"
	case apierr.Internal:
		return "InternalServerError"
	}
	return ""
}

type empty struct{}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func epoch(t time.Time) *float64 {
	if t.IsZero() {
		return nil
	}
	v := float64(t.UnixMilli()) / 1000
	return &v
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// Tag is SSM's tag shape.
type Tag struct {
	Key   *string `json:"Key"`
	Value *string `json:"Value"`
}

func tagsFromWire(in []Tag) []model.Tag {
	if in == nil {
		return nil
	}
	out := make([]model.Tag, len(in))
	for i, t := range in {
		out[i] = model.Tag{Key: deref(t.Key), Value: deref(t.Value)}
	}
	return out
}

type putParameterInput struct {
	Name           *string `json:"Name"`
	Description    *string `json:"Description"`
	Value          *string `json:"Value"`
	Type           *string `json:"Type"`
	KeyID          *string `json:"KeyId"`
	Overwrite      *bool   `json:"Overwrite"`
	AllowedPattern *string `json:"AllowedPattern"`
	Tags           []Tag   `json:"Tags"`
	Tier           *string `json:"Tier"`
	DataType       *string `json:"DataType"`
}

type putParameterOutput struct {
	Version int64  `json:"Version"`
	Tier    string `json:"Tier"`
}

func (h *handler) putParameter(ctx context.Context, sc model.Scope, in *putParameterInput) (*putParameterOutput, error) {
	v, tier, err := h.ops.PutParameter(ctx, sc, ops.PutParameterInput{Name: deref(in.Name), Value: deref(in.Value),
		Type: deref(in.Type), Description: in.Description, KeyID: deref(in.KeyID), AllowedPattern: in.AllowedPattern,
		Tier: deref(in.Tier), DataType: deref(in.DataType), Overwrite: deref(in.Overwrite), Tags: tagsFromWire(in.Tags)})
	if err != nil {
		return nil, err
	}
	return &putParameterOutput{Version: v, Tier: tier}, nil
}

// Parameter is SSM's Parameter shape.
type Parameter struct {
	Name             string   `json:"Name"`
	Type             string   `json:"Type"`
	Value            string   `json:"Value"`
	Version          int64    `json:"Version"`
	Selector         *string  `json:"Selector,omitempty"`
	LastModifiedDate *float64 `json:"LastModifiedDate,omitempty"`
	ARN              string   `json:"ARN"`
	DataType         string   `json:"DataType"`
}

func parameterToWire(p ops.ParameterOut) Parameter {
	return Parameter{Name: p.Name, Type: p.Type, Value: p.Value, Version: p.Version, Selector: optional(p.Selector),
		LastModifiedDate: epoch(p.ModifiedAt), ARN: p.ARN, DataType: p.DataType}
}

type getParameterInput struct {
	Name           *string `json:"Name"`
	WithDecryption *bool   `json:"WithDecryption"`
}

type getParameterOutput struct {
	Parameter Parameter `json:"Parameter"`
}

func (h *handler) getParameter(ctx context.Context, sc model.Scope, in *getParameterInput) (*getParameterOutput, error) {
	p, err := h.ops.GetParameter(ctx, sc, deref(in.Name), deref(in.WithDecryption))
	if err != nil {
		return nil, err
	}
	return &getParameterOutput{Parameter: parameterToWire(p)}, nil
}

type namesInput struct {
	Names          []string `json:"Names"`
	WithDecryption *bool    `json:"WithDecryption"`
}

type getParametersOutput struct {
	Parameters        []Parameter `json:"Parameters"`
	InvalidParameters []string    `json:"InvalidParameters"`
}

func (h *handler) getParameters(ctx context.Context, sc model.Scope, in *namesInput) (*getParametersOutput, error) {
	ps, invalid, err := h.ops.GetParameters(ctx, sc, in.Names, deref(in.WithDecryption))
	if err != nil {
		return nil, err
	}
	out := &getParametersOutput{Parameters: make([]Parameter, len(ps)), InvalidParameters: invalid}
	if out.InvalidParameters == nil {
		out.InvalidParameters = []string{}
	}
	for i, p := range ps {
		out.Parameters[i] = parameterToWire(p)
	}
	return out, nil
}

type nameInput struct {
	Name *string `json:"Name"`
}

func (h *handler) deleteParameter(ctx context.Context, sc model.Scope, in *nameInput) (*empty, error) {
	return &empty{}, h.ops.DeleteParameter(ctx, sc, deref(in.Name))
}

type deleteParametersOutput struct {
	DeletedParameters []string `json:"DeletedParameters"`
	InvalidParameters []string `json:"InvalidParameters"`
}

func (h *handler) deleteParameters(ctx context.Context, sc model.Scope, in *namesInput) (*deleteParametersOutput, error) {
	deleted, invalid, err := h.ops.DeleteParameters(ctx, sc, in.Names)
	if err != nil {
		return nil, err
	}
	out := &deleteParametersOutput{DeletedParameters: deleted, InvalidParameters: invalid}
	if out.DeletedParameters == nil {
		out.DeletedParameters = []string{}
	}
	if out.InvalidParameters == nil {
		out.InvalidParameters = []string{}
	}
	return out, nil
}
