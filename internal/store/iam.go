package store

import (
	"context"
	"strings"
	"time"

	"github.com/gantry-dev/gantry/internal/model"
)

// IAM names are unique within an account regardless of case (AWS refuses "Admin" next to
// "admin"), so every IAM key holds the lowercased name; the record keeps the spelling.
func iamKey(account, name string) string { return account + "/" + strings.ToLower(name) }

// iamNamed is a repository of IAM entities named within an account (roles, users, managed
// policies), keyed by iamKey.
type iamNamed[T any, R any] struct {
	t     *table[T, R]
	ident func(T) (account, name string)
}

// Get reads one; a missing one is apierr.NotFound.
func (r iamNamed[T, R]) Get(ctx context.Context, account, name string) (Versioned[T], error) {
	return r.t.Get(ctx, iamKey(account, name))
}

// Create stores a new one; an existing one (in any case) is apierr.AlreadyExists.
func (r iamNamed[T, R]) Create(ctx context.Context, v T) (int64, error) {
	account, name := r.ident(v)
	return r.t.Create(ctx, iamKey(account, name), v)
}

// Mutate applies fn to one with optimistic retries.
func (r iamNamed[T, R]) Mutate(ctx context.Context, account, name string, fn func(*T) error) (Versioned[T], error) {
	return r.t.Mutate(ctx, iamKey(account, name), fn)
}

// Delete removes one read at rev.
func (r iamNamed[T, R]) Delete(ctx context.Context, account, name string, rev int64) error {
	return r.t.Delete(ctx, iamKey(account, name), rev)
}

// List reads an account's entities in (lowercased) name order after the name after, at most
// limit (<= 0: all).
func (r iamNamed[T, R]) List(ctx context.Context, account, after string, limit int) (Page[T], error) {
	a := ""
	if after != "" {
		a = iamKey(account, after)
	}
	return r.t.List(ctx, account+"/", a, limit)
}

// roleRecord is a role as stored (schema version 1).
type roleRecord struct {
	Account            string            `json:"account"`
	Name               string            `json:"name"`
	Path               string            `json:"path"`
	ID                 string            `json:"id"`
	Description        string            `json:"description,omitempty"`
	AssumeRolePolicy   string            `json:"assumeRolePolicy"`
	MaxSessionDuration int               `json:"maxSessionDuration"`
	CreatedAt          time.Time         `json:"createdAt"`
	Tags               []tagRecord       `json:"tags,omitempty"`
	InlinePolicies     map[string]string `json:"inlinePolicies,omitempty"`
	AttachedPolicies   []string          `json:"attachedPolicies,omitempty"`
}

// Roles is the repository of IAM roles, keyed by account and name.
type Roles = iamNamed[model.Role, roleRecord]

// Roles returns the role repository.
func (s *Store) Roles() Roles {
	return Roles{t: &table[model.Role, roleRecord]{s: s, dir: "iam/roles", version: 1,
		toRecord: recordFromRole, fromRecord: roleFromRecord},
		ident: func(v model.Role) (string, string) { return v.Account, v.Name }}
}

func recordFromRole(v model.Role) roleRecord {
	return roleRecord{Account: v.Account, Name: v.Name, Path: v.Path, ID: v.ID, Description: v.Description,
		AssumeRolePolicy: v.AssumeRolePolicy, MaxSessionDuration: v.MaxSessionDuration, CreatedAt: v.CreatedAt,
		Tags: tagsToRecords(v.Tags), InlinePolicies: v.InlinePolicies, AttachedPolicies: v.AttachedPolicies}
}

func roleFromRecord(r roleRecord) model.Role {
	return model.Role{Account: r.Account, Name: r.Name, Path: r.Path, ID: r.ID, Description: r.Description,
		AssumeRolePolicy: r.AssumeRolePolicy, MaxSessionDuration: r.MaxSessionDuration, CreatedAt: r.CreatedAt,
		Tags: tagsFromRecords(r.Tags), InlinePolicies: r.InlinePolicies, AttachedPolicies: r.AttachedPolicies}
}

// userRecord is a user as stored (schema version 1).
type userRecord struct {
	Account          string            `json:"account"`
	Name             string            `json:"name"`
	Path             string            `json:"path"`
	ID               string            `json:"id"`
	CreatedAt        time.Time         `json:"createdAt"`
	Tags             []tagRecord       `json:"tags,omitempty"`
	InlinePolicies   map[string]string `json:"inlinePolicies,omitempty"`
	AttachedPolicies []string          `json:"attachedPolicies,omitempty"`
}

// Users is the repository of IAM users, keyed by account and name.
type Users = iamNamed[model.User, userRecord]

// Users returns the user repository.
func (s *Store) Users() Users {
	return Users{t: &table[model.User, userRecord]{s: s, dir: "iam/users", version: 1,
		toRecord: recordFromUser, fromRecord: userFromRecord},
		ident: func(v model.User) (string, string) { return v.Account, v.Name }}
}

func recordFromUser(v model.User) userRecord {
	return userRecord{Account: v.Account, Name: v.Name, Path: v.Path, ID: v.ID, CreatedAt: v.CreatedAt,
		Tags: tagsToRecords(v.Tags), InlinePolicies: v.InlinePolicies, AttachedPolicies: v.AttachedPolicies}
}

func userFromRecord(r userRecord) model.User {
	return model.User{Account: r.Account, Name: r.Name, Path: r.Path, ID: r.ID, CreatedAt: r.CreatedAt,
		Tags: tagsFromRecords(r.Tags), InlinePolicies: r.InlinePolicies, AttachedPolicies: r.AttachedPolicies}
}
