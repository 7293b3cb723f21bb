// Package secretsmanager is the AWS Secrets Manager service on the front door: wire shapes with
// AWS's member names, and handlers that convert them to and from the ops layer.
package secretsmanager

import (
	"context"
	"time"

	"github.com/gantry-dev/gantry/internal/api"
	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/ops"
)

// TargetPrefix is Secrets Manager's X-Amz-Target prefix.
const TargetPrefix = "secretsmanager"

type handler struct{ ops *ops.Secrets }

// Service returns the Secrets Manager service for the front door.
func Service(o *ops.Secrets) *api.Service {
	h := &handler{ops: o}
	return &api.Service{
		SigningName:  "secretsmanager",
		TargetPrefix: TargetPrefix,
		Protocol:     api.JSON,
		ErrorCode:    errorCode,
		Operations: map[string]api.Operation{
			"CreateSecret":   api.JSONOp(h.createSecret),
			"GetSecretValue": api.JSONOp(h.getSecretValue),
			"PutSecretValue": api.JSONOp(h.putSecretValue),
			"UpdateSecret":   api.JSONOp(h.updateSecret),
			"DescribeSecret": api.JSONOp(h.describeSecret),
			"ListSecrets":    api.JSONOp(h.listSecrets),
			"DeleteSecret":   api.JSONOp(h.deleteSecret),
			"RestoreSecret":  api.JSONOp(h.restoreSecret),
			"TagResource":    api.JSONOp(h.tagResource),
			"UntagResource":  api.JSONOp(h.untagResource),
		},
	}
}

// errorCode names error kinds as Secrets Manager does.
func errorCode(k apierr.Kind) string {
	switch k {
	case apierr.InvalidParameter, apierr.MissingParameter, apierr.Unsupported, apierr.Serialization:
		return "InvalidParameterException"
	case apierr.InvalidRequest, apierr.Client, apierr.Conflict:
		return "InvalidRequestException"
	case apierr.NotFound:
		return "ResourceNotFoundException"
	case apierr.AlreadyExists, apierr.TokenReused:
		return "ResourceExistsException"
	case apierr.LimitExceeded:
		return "LimitExceededException"
	case apierr.InvalidNextToken:
		return "InvalidNextTokenException"
	case apierr.DecryptionFailure:
		return "DecryptionFailure"
	case apierr.AccessDenied:
		return "AccessDeniedException"
	case apierr.Internal:
		return "InternalServiceError"
	}
	return ""
}

type empty struct{}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// epoch is a timestamp as AWS JSON carries it: seconds since the epoch.
func epoch(t time.Time) *float64 {
	if t.IsZero() {
		return nil
	}
	v := float64(t.UnixMilli()) / 1000
	return &v
}

// Tag is Secrets Manager's tag shape.
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

func tagsToWire(in []model.Tag) []Tag {
	if len(in) == 0 {
		return nil
	}
	out := make([]Tag, len(in))
	for i, t := range in {
		out[i] = Tag{Key: &t.Key, Value: &t.Value}
	}
	return out
}

func valueFromWire(str *string, bin []byte) *ops.SecretValue {
	if str == nil && bin == nil {
		return nil
	}
	return &ops.SecretValue{String: str, Binary: bin}
}

type createSecretInput struct {
	Name               *string `json:"Name"`
	ClientRequestToken *string `json:"ClientRequestToken"`
	Description        *string `json:"Description"`
	KmsKeyID           *string `json:"KmsKeyId"`
	SecretBinary       []byte  `json:"SecretBinary"`
	SecretString       *string `json:"SecretString"`
	Tags               []Tag   `json:"Tags"`
}

type versionOutput struct {
	ARN           string   `json:"ARN"`
	Name          string   `json:"Name"`
	VersionID     *string  `json:"VersionId,omitempty"`
	VersionStages []string `json:"VersionStages,omitempty"`
}

func versionToWire(v ops.SecretVersionOut, withStages bool) *versionOutput {
	out := &versionOutput{ARN: v.ARN, Name: v.Name}
	if v.VersionID != "" {
		out.VersionID = &v.VersionID
	}
	if withStages {
		out.VersionStages = v.Stages
	}
	return out
}

func (h *handler) createSecret(ctx context.Context, sc model.Scope, in *createSecretInput) (*versionOutput, error) {
	out, err := h.ops.CreateSecret(ctx, sc, ops.CreateSecretInput{Name: deref(in.Name), Description: in.Description,
		KMSKeyID: deref(in.KmsKeyID), Token: deref(in.ClientRequestToken), Value: valueFromWire(in.SecretString, in.SecretBinary),
		Tags: tagsFromWire(in.Tags)})
	if err != nil {
		return nil, err
	}
	return versionToWire(out, false), nil
}

type getSecretValueInput struct {
	SecretID     *string `json:"SecretId"`
	VersionID    *string `json:"VersionId"`
	VersionStage *string `json:"VersionStage"`
}

type getSecretValueOutput struct {
	ARN           string   `json:"ARN"`
	Name          string   `json:"Name"`
	VersionID     string   `json:"VersionId"`
	SecretBinary  []byte   `json:"SecretBinary,omitempty"`
	SecretString  *string  `json:"SecretString,omitempty"`
	VersionStages []string `json:"VersionStages"`
	CreatedDate   *float64 `json:"CreatedDate,omitempty"`
}

func (h *handler) getSecretValue(ctx context.Context, sc model.Scope, in *getSecretValueInput) (*getSecretValueOutput, error) {
	v, err := h.ops.GetSecretValue(ctx, sc, deref(in.SecretID), deref(in.VersionID), deref(in.VersionStage))
	if err != nil {
		return nil, err
	}
	return &getSecretValueOutput{ARN: v.ARN, Name: v.Name, VersionID: v.VersionID, SecretBinary: v.Value.Binary,
		SecretString: v.Value.String, VersionStages: v.Stages, CreatedDate: epoch(v.CreatedAt)}, nil
}

type putSecretValueInput struct {
	SecretID           *string  `json:"SecretId"`
	ClientRequestToken *string  `json:"ClientRequestToken"`
	SecretBinary       []byte   `json:"SecretBinary"`
	SecretString       *string  `json:"SecretString"`
	VersionStages      []string `json:"VersionStages"`
}

func (h *handler) putSecretValue(ctx context.Context, sc model.Scope, in *putSecretValueInput) (*versionOutput, error) {
	out, err := h.ops.PutSecretValue(ctx, sc, deref(in.SecretID), deref(in.ClientRequestToken),
		valueFromWire(in.SecretString, in.SecretBinary), in.VersionStages)
	if err != nil {
		return nil, err
	}
	return versionToWire(out, true), nil
}

type updateSecretInput struct {
	SecretID           *string `json:"SecretId"`
	ClientRequestToken *string `json:"ClientRequestToken"`
	Description        *string `json:"Description"`
	KmsKeyID           *string `json:"KmsKeyId"`
	SecretBinary       []byte  `json:"SecretBinary"`
	SecretString       *string `json:"SecretString"`
}

func (h *handler) updateSecret(ctx context.Context, sc model.Scope, in *updateSecretInput) (*versionOutput, error) {
	out, err := h.ops.UpdateSecret(ctx, sc, deref(in.SecretID), ops.UpdateSecretInput{Description: in.Description,
		KMSKeyID: in.KmsKeyID, Token: deref(in.ClientRequestToken), Value: valueFromWire(in.SecretString, in.SecretBinary)})
	if err != nil {
		return nil, err
	}
	return versionToWire(out, false), nil
}
