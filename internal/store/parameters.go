package store

import (
	"context"
	"time"

	"github.com/gantry-dev/gantry/internal/model"
)

// parameterRecord is an SSM parameter with its history as stored (schema version 1). Values
// are sealed by the operations; the store never sees them in clear.
type parameterRecord struct {
	Account  string                   `json:"account"`
	Region   string                   `json:"region"`
	Name     string                   `json:"name"`
	Tags     []tagRecord              `json:"tags,omitempty"`
	Versions []parameterVersionRecord `json:"versions"`
}

type parameterVersionRecord struct {
	Version        int64     `json:"version"`
	Type           string    `json:"type"`
	Description    string    `json:"description,omitempty"`
	AllowedPattern string    `json:"allowedPattern,omitempty"`
	KeyID          string    `json:"keyId,omitempty"`
	Tier           string    `json:"tier,omitempty"`
	DataType       string    `json:"dataType,omitempty"`
	Labels         []string  `json:"labels,omitempty"`
	ModifiedAt     time.Time `json:"modifiedAt"`
	ModifiedBy     string    `json:"modifiedBy,omitempty"`
	Sealed         []byte    `json:"sealed"`
}

// Parameters is the repository of SSM parameters, keyed by scope and name; a hierarchy's
// parameters share a key prefix, so a path is a prefix listing.
type Parameters struct {
	t *table[model.Parameter, parameterRecord]
}

// Parameters returns the parameter repository.
func (s *Store) Parameters() Parameters {
	return Parameters{&table[model.Parameter, parameterRecord]{s: s, dir: "ssm/parameters", version: 1,
		toRecord: recordFromParameter, fromRecord: parameterFromRecord}}
}

// Get reads a parameter; a missing one is apierr.NotFound.
func (r Parameters) Get(ctx context.Context, sc model.Scope, name string) (Versioned[model.Parameter], error) {
	return r.t.Get(ctx, ScopeKey(sc)+name)
}

// Create stores a new parameter; an existing one is apierr.AlreadyExists.
func (r Parameters) Create(ctx context.Context, p model.Parameter) (int64, error) {
	return r.t.Create(ctx, ScopeKey(p.Scope)+p.Name, p)
}

// Update replaces a parameter read at rev (apierr.Conflict if it changed since).
func (r Parameters) Update(ctx context.Context, p model.Parameter, rev int64) (int64, error) {
	return r.t.Update(ctx, ScopeKey(p.Scope)+p.Name, p, rev)
}

// Mutate applies fn to a parameter with optimistic retries.
func (r Parameters) Mutate(ctx context.Context, sc model.Scope, name string, fn func(*model.Parameter) error) (Versioned[model.Parameter], error) {
	return r.t.Mutate(ctx, ScopeKey(sc)+name, fn)
}

// Delete removes a parameter read at rev.
func (r Parameters) Delete(ctx context.Context, sc model.Scope, name string, rev int64) error {
	return r.t.Delete(ctx, ScopeKey(sc)+name, rev)
}

// List reads parameters of a scope whose names start with prefix, in name order, after the
// name after, at most limit (<= 0: all).
func (r Parameters) List(ctx context.Context, sc model.Scope, prefix, after string, limit int) (Page[model.Parameter], error) {
	a := ""
	if after != "" {
		a = ScopeKey(sc) + after
	}
	return r.t.List(ctx, ScopeKey(sc)+prefix, a, limit)
}

func recordFromParameter(p model.Parameter) parameterRecord {
	r := parameterRecord{Account: p.Scope.Account, Region: p.Scope.Region, Name: p.Name, Tags: tagsToRecords(p.Tags)}
	for _, v := range p.Versions {
		r.Versions = append(r.Versions, parameterVersionRecord{Version: v.Version, Type: v.Type, Description: v.Description,
			AllowedPattern: v.AllowedPattern, KeyID: v.KeyID, Tier: v.Tier, DataType: v.DataType, Labels: v.Labels,
			ModifiedAt: v.ModifiedAt, ModifiedBy: v.ModifiedBy, Sealed: v.Sealed})
	}
	return r
}

func parameterFromRecord(r parameterRecord) model.Parameter {
	p := model.Parameter{Scope: model.Scope{Account: r.Account, Region: r.Region}, Name: r.Name, Tags: tagsFromRecords(r.Tags)}
	for _, v := range r.Versions {
		p.Versions = append(p.Versions, model.ParameterVersion{Version: v.Version, Type: v.Type, Description: v.Description,
			AllowedPattern: v.AllowedPattern, KeyID: v.KeyID, Tier: v.Tier, DataType: v.DataType, Labels: v.Labels,
			ModifiedAt: v.ModifiedAt, ModifiedBy: v.ModifiedBy, Sealed: v.Sealed})
	}
	return p
}
