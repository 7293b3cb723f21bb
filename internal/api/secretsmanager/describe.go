package secretsmanager

import (
	"context"

	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/ops"
)

type secretIDInput struct {
	SecretID *string `json:"SecretId"`
}

// secretDescription is DescribeSecret's answer; ListSecrets' SecretListEntry has the same
// members but names the stage map SecretVersionsToStages.
type secretDescription struct {
	ARN                    string              `json:"ARN"`
	Name                   string              `json:"Name"`
	Description            *string             `json:"Description,omitempty"`
	KmsKeyID               *string             `json:"KmsKeyId,omitempty"`
	RotationEnabled        bool                `json:"RotationEnabled"`
	LastChangedDate        *float64            `json:"LastChangedDate,omitempty"`
	LastAccessedDate       *float64            `json:"LastAccessedDate,omitempty"`
	DeletedDate            *float64            `json:"DeletedDate,omitempty"`
	Tags                   []Tag               `json:"Tags,omitempty"`
	VersionIdsToStages     map[string][]string `json:"VersionIdsToStages,omitempty"`
	SecretVersionsToStages map[string][]string `json:"SecretVersionsToStages,omitempty"`
	CreatedDate            *float64            `json:"CreatedDate,omitempty"`
}

func describeToWire(s model.ManagedSecret, listEntry bool) secretDescription {
	out := secretDescription{ARN: s.ARN, Name: s.Name, LastChangedDate: epoch(s.ChangedAt),
		LastAccessedDate: epoch(s.AccessedAt), DeletedDate: epoch(s.DeletedAt), Tags: tagsToWire(s.Tags),
		CreatedDate: epoch(s.CreatedAt)}
	if s.Description != "" {
		out.Description = &s.Description
	}
	if s.KMSKeyID != "" {
		out.KmsKeyID = &s.KMSKeyID
	}
	stages := map[string][]string{}
	for _, v := range s.Versions {
		if len(v.Stages) > 0 {
			stages[v.ID] = v.Stages
		}
	}
	if len(stages) > 0 && listEntry {
		out.SecretVersionsToStages = stages
	} else if len(stages) > 0 {
		out.VersionIdsToStages = stages
	}
	return out
}

func (h *handler) describeSecret(ctx context.Context, sc model.Scope, in *secretIDInput) (*secretDescription, error) {
	s, err := h.ops.DescribeSecret(ctx, sc, deref(in.SecretID))
	if err != nil {
		return nil, err
	}
	out := describeToWire(s, false)
	return &out, nil
}

type filter struct {
	Key    *string  `json:"Key"`
	Values []string `json:"Values"`
}

type listSecretsInput struct {
	IncludePlannedDeletion *bool    `json:"IncludePlannedDeletion"`
	MaxResults             *int     `json:"MaxResults"`
	NextToken              *string  `json:"NextToken"`
	Filters                []filter `json:"Filters"`
	SortOrder              *string  `json:"SortOrder"`
	SortBy                 *string  `json:"SortBy"`
}

type listSecretsOutput struct {
	SecretList []secretDescription `json:"SecretList"`
	NextToken  *string             `json:"NextToken,omitempty"`
}

func (h *handler) listSecrets(ctx context.Context, sc model.Scope, in *listSecretsInput) (*listSecretsOutput, error) {
	q := ops.SecretQuery{IncludeDeleted: in.IncludePlannedDeletion != nil && *in.IncludePlannedDeletion,
		Descending: deref(in.SortOrder) == "desc", SortBy: deref(in.SortBy), Token: deref(in.NextToken)}
	if in.MaxResults != nil {
		q.MaxResults = *in.MaxResults
	}
	for _, f := range in.Filters {
		q.Filters = append(q.Filters, ops.SecretFilter{Key: deref(f.Key), Values: f.Values})
	}
	list, next, err := h.ops.ListSecrets(ctx, sc, q)
	if err != nil {
		return nil, err
	}
	out := &listSecretsOutput{SecretList: make([]secretDescription, len(list))}
	for i, s := range list {
		out.SecretList[i] = describeToWire(s, true)
	}
	if next != "" {
		out.NextToken = &next
	}
	return out, nil
}

type deleteSecretInput struct {
	SecretID                   *string `json:"SecretId"`
	RecoveryWindowInDays       *int    `json:"RecoveryWindowInDays"`
	ForceDeleteWithoutRecovery *bool   `json:"ForceDeleteWithoutRecovery"`
}

type deleteSecretOutput struct {
	ARN          string   `json:"ARN"`
	Name         string   `json:"Name"`
	DeletionDate *float64 `json:"DeletionDate,omitempty"`
}

func (h *handler) deleteSecret(ctx context.Context, sc model.Scope, in *deleteSecretInput) (*deleteSecretOutput, error) {
	s, when, err := h.ops.DeleteSecret(ctx, sc, deref(in.SecretID), in.RecoveryWindowInDays,
		in.ForceDeleteWithoutRecovery != nil && *in.ForceDeleteWithoutRecovery)
	if err != nil {
		return nil, err
	}
	return &deleteSecretOutput{ARN: s.ARN, Name: s.Name, DeletionDate: epoch(when)}, nil
}

type nameOutput struct {
	ARN  string `json:"ARN"`
	Name string `json:"Name"`
}

func (h *handler) restoreSecret(ctx context.Context, sc model.Scope, in *secretIDInput) (*nameOutput, error) {
	s, err := h.ops.RestoreSecret(ctx, sc, deref(in.SecretID))
	if err != nil {
		return nil, err
	}
	return &nameOutput{ARN: s.ARN, Name: s.Name}, nil
}

type tagResourceInput struct {
	SecretID *string `json:"SecretId"`
	Tags     []Tag   `json:"Tags"`
}

func (h *handler) tagResource(ctx context.Context, sc model.Scope, in *tagResourceInput) (*empty, error) {
	return &empty{}, h.ops.TagSecret(ctx, sc, deref(in.SecretID), tagsFromWire(in.Tags))
}

type untagResourceInput struct {
	SecretID *string  `json:"SecretId"`
	TagKeys  []string `json:"TagKeys"`
}

func (h *handler) untagResource(ctx context.Context, sc model.Scope, in *untagResourceInput) (*empty, error) {
	return &empty{}, h.ops.UntagSecret(ctx, sc, deref(in.SecretID), in.TagKeys)
}
