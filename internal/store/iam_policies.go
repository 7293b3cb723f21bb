package store

import (
	"context"
	"time"

	"github.com/gantry-dev/gantry/internal/model"
)

// policyRecord is a customer managed policy as stored (schema version 1).
type policyRecord struct {
	Account        string                `json:"account"`
	Name           string                `json:"name"`
	Path           string                `json:"path"`
	ID             string                `json:"id"`
	Description    string                `json:"description,omitempty"`
	CreatedAt      time.Time             `json:"createdAt"`
	UpdatedAt      time.Time             `json:"updatedAt"`
	DefaultVersion string                `json:"defaultVersion"`
	Versions       []policyVersionRecord `json:"versions"`
	NextVersion    int                   `json:"nextVersion"`
	Tags           []tagRecord           `json:"tags,omitempty"`
}

type policyVersionRecord struct {
	ID        string    `json:"id"`
	Document  string    `json:"document"`
	CreatedAt time.Time `json:"createdAt"`
}

// Policies is the repository of customer managed policies, keyed by account and name (a
// policy's name is unique in its account whatever its path).
type Policies = iamNamed[model.ManagedPolicy, policyRecord]

// Policies returns the managed policy repository.
func (s *Store) Policies() Policies {
	return Policies{t: &table[model.ManagedPolicy, policyRecord]{s: s, dir: "iam/policies", version: 1,
		toRecord: recordFromPolicy, fromRecord: policyFromRecord},
		ident: func(v model.ManagedPolicy) (string, string) { return v.Account, v.Name }}
}

func recordFromPolicy(v model.ManagedPolicy) policyRecord {
	r := policyRecord{Account: v.Account, Name: v.Name, Path: v.Path, ID: v.ID, Description: v.Description,
		CreatedAt: v.CreatedAt, UpdatedAt: v.UpdatedAt, DefaultVersion: v.DefaultVersion, NextVersion: v.NextVersion,
		Tags: tagsToRecords(v.Tags)}
	for _, pv := range v.Versions {
		r.Versions = append(r.Versions, policyVersionRecord{ID: pv.ID, Document: pv.Document, CreatedAt: pv.CreatedAt})
	}
	return r
}

func policyFromRecord(r policyRecord) model.ManagedPolicy {
	v := model.ManagedPolicy{Account: r.Account, Name: r.Name, Path: r.Path, ID: r.ID, Description: r.Description,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, DefaultVersion: r.DefaultVersion, NextVersion: r.NextVersion,
		Tags: tagsFromRecords(r.Tags)}
	for _, pv := range r.Versions {
		v.Versions = append(v.Versions, model.PolicyVersion{ID: pv.ID, Document: pv.Document, CreatedAt: pv.CreatedAt})
	}
	return v
}

// accessKeyRecord is an access key as stored (schema version 1). The secret and the session
// token are sealed by the caller; the store never sees them in the clear.
type accessKeyRecord struct {
	ID           string    `json:"id"`
	Kind         int       `json:"kind"`
	Account      string    `json:"account"`
	ARN          string    `json:"arn"`
	UserID       string    `json:"userId"`
	Name         string    `json:"name,omitempty"`
	Session      string    `json:"session,omitempty"`
	RoleARN      string    `json:"roleArn,omitempty"`
	SealedSecret []byte    `json:"secret"`
	SealedToken  []byte    `json:"token,omitempty"`
	Active       bool      `json:"active"`
	CreatedAt    time.Time `json:"createdAt"`
	Expiration   time.Time `json:"expiration,omitzero"`
}

// AccessKeys is the repository of access keys (long-lived and temporary), keyed by key id.
type AccessKeys struct {
	t *table[model.AccessKey, accessKeyRecord]
}

// AccessKeys returns the access key repository.
func (s *Store) AccessKeys() AccessKeys {
	return AccessKeys{&table[model.AccessKey, accessKeyRecord]{s: s, dir: "iam/keys", version: 1,
		toRecord: recordFromAccessKey, fromRecord: accessKeyFromRecord}}
}

// Get reads a key; a missing one is apierr.NotFound.
func (a AccessKeys) Get(ctx context.Context, id string) (Versioned[model.AccessKey], error) {
	return a.t.Get(ctx, id)
}

// Create stores a new key.
func (a AccessKeys) Create(ctx context.Context, k model.AccessKey) (int64, error) {
	return a.t.Create(ctx, k.ID, k)
}

// Put writes k whatever was there (the bootstrap root key is rewritten at every start).
func (a AccessKeys) Put(ctx context.Context, k model.AccessKey) error {
	cur, err := a.t.Get(ctx, k.ID)
	rev := cur.Revision
	if err != nil {
		rev = 0
	}
	_, err = a.t.Update(ctx, k.ID, k, rev)
	return err
}

// Mutate applies fn to a key with optimistic retries.
func (a AccessKeys) Mutate(ctx context.Context, id string, fn func(*model.AccessKey) error) (Versioned[model.AccessKey], error) {
	return a.t.Mutate(ctx, id, fn)
}

// Delete removes a key read at rev.
func (a AccessKeys) Delete(ctx context.Context, id string, rev int64) error {
	return a.t.Delete(ctx, id, rev)
}

// List reads keys whose ids start with prefix ("ASIA" for the temporary ones), after the id
// after, at most limit (<= 0: all).
func (a AccessKeys) List(ctx context.Context, prefix, after string, limit int) (Page[model.AccessKey], error) {
	return a.t.List(ctx, prefix, after, limit)
}

func recordFromAccessKey(k model.AccessKey) accessKeyRecord {
	p := k.Principal
	return accessKeyRecord{ID: k.ID, Kind: int(p.Kind), Account: p.Account, ARN: p.ARN, UserID: p.UserID, Name: p.Name,
		Session: p.Session, RoleARN: p.RoleARN, SealedSecret: k.SealedSecret, SealedToken: k.SealedToken,
		Active: k.Active, CreatedAt: k.CreatedAt, Expiration: k.Expiration}
}

func accessKeyFromRecord(r accessKeyRecord) model.AccessKey {
	return model.AccessKey{ID: r.ID, Principal: model.Principal{Kind: model.PrincipalKind(r.Kind), Account: r.Account,
		ARN: r.ARN, UserID: r.UserID, Name: r.Name, Session: r.Session, RoleARN: r.RoleARN},
		SealedSecret: r.SealedSecret, SealedToken: r.SealedToken, Active: r.Active, CreatedAt: r.CreatedAt,
		Expiration: r.Expiration}
}
