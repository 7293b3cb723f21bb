package store

import (
	"context"
	"time"

	"github.com/gantry-dev/gantry/internal/model"
)

// managedSecretRecord is a Secrets Manager secret as stored (schema version 1). Values are sealed
// by the operations; the store never sees them in clear.
type managedSecretRecord struct {
	Account     string                `json:"account"`
	Region      string                `json:"region"`
	Name        string                `json:"name"`
	ARN         string                `json:"arn"`
	Description string                `json:"description,omitempty"`
	KMSKeyID    string                `json:"kmsKeyId,omitempty"`
	Tags        []tagRecord           `json:"tags,omitempty"`
	CreatedAt   time.Time             `json:"createdAt"`
	ChangedAt   time.Time             `json:"changedAt"`
	AccessedAt  time.Time             `json:"accessedAt,omitzero"`
	DeletedAt   time.Time             `json:"deletedAt,omitzero"`
	DeleteAfter time.Time             `json:"deleteAfter,omitzero"`
	Versions    []secretVersionRecord `json:"versions,omitempty"`
}

type secretVersionRecord struct {
	ID        string    `json:"id"`
	Stages    []string  `json:"stages,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
	Binary    bool      `json:"binary,omitempty"`
	Sealed    []byte    `json:"sealed"`
}

// Secrets is the repository of Secrets Manager secrets, keyed by scope and name.
type Secrets struct {
	t *table[model.ManagedSecret, managedSecretRecord]
}

// Secrets returns the secret repository.
func (s *Store) Secrets() Secrets {
	return Secrets{&table[model.ManagedSecret, managedSecretRecord]{s: s, dir: "secretsmanager/secrets", version: 1,
		toRecord: recordFromSecret, fromRecord: secretFromRecord}}
}

// Get reads a secret by name; a missing one is apierr.NotFound.
func (r Secrets) Get(ctx context.Context, sc model.Scope, name string) (Versioned[model.ManagedSecret], error) {
	return r.t.Get(ctx, ScopeKey(sc)+name)
}

// Create stores a new secret; an existing name is apierr.AlreadyExists.
func (r Secrets) Create(ctx context.Context, s model.ManagedSecret) (int64, error) {
	return r.t.Create(ctx, ScopeKey(s.Scope)+s.Name, s)
}

// Mutate applies fn to a secret with optimistic retries.
func (r Secrets) Mutate(ctx context.Context, sc model.Scope, name string, fn func(*model.ManagedSecret) error) (Versioned[model.ManagedSecret], error) {
	return r.t.Mutate(ctx, ScopeKey(sc)+name, fn)
}

// Delete removes a secret read at rev.
func (r Secrets) Delete(ctx context.Context, sc model.Scope, name string, rev int64) error {
	return r.t.Delete(ctx, ScopeKey(sc)+name, rev)
}

// List reads the secrets of a scope in name order, after the name after, at most limit (<= 0: all).
func (r Secrets) List(ctx context.Context, sc model.Scope, after string, limit int) (Page[model.ManagedSecret], error) {
	a := ""
	if after != "" {
		a = ScopeKey(sc) + after
	}
	return r.t.List(ctx, ScopeKey(sc), a, limit)
}

func recordFromSecret(s model.ManagedSecret) managedSecretRecord {
	r := managedSecretRecord{Account: s.Scope.Account, Region: s.Scope.Region, Name: s.Name, ARN: s.ARN, Description: s.Description,
		KMSKeyID: s.KMSKeyID, Tags: tagsToRecords(s.Tags), CreatedAt: s.CreatedAt, ChangedAt: s.ChangedAt,
		AccessedAt: s.AccessedAt, DeletedAt: s.DeletedAt, DeleteAfter: s.DeleteAfter}
	for _, v := range s.Versions {
		r.Versions = append(r.Versions, secretVersionRecord{ID: v.ID, Stages: v.Stages, CreatedAt: v.CreatedAt,
			Binary: v.Binary, Sealed: v.Sealed})
	}
	return r
}

func secretFromRecord(r managedSecretRecord) model.ManagedSecret {
	s := model.ManagedSecret{Scope: model.Scope{Account: r.Account, Region: r.Region}, Name: r.Name, ARN: r.ARN,
		Description: r.Description, KMSKeyID: r.KMSKeyID, Tags: tagsFromRecords(r.Tags), CreatedAt: r.CreatedAt,
		ChangedAt: r.ChangedAt, AccessedAt: r.AccessedAt, DeletedAt: r.DeletedAt, DeleteAfter: r.DeleteAfter}
	for _, v := range r.Versions {
		s.Versions = append(s.Versions, model.SecretVersion{ID: v.ID, Stages: v.Stages, CreatedAt: v.CreatedAt,
			Binary: v.Binary, Sealed: v.Sealed})
	}
	return s
}
