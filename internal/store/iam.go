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
type Roles struct {
	t *table[model.Role, roleRecord]
}

// Roles returns the role repository.
func (s *Store) Roles() Roles {
	return Roles{&table[model.Role, roleRecord]{s: s, dir: "iam/roles", version: 1,
		toRecord: recordFromRole, fromRecord: roleFromRecord}}
}

// Get reads a role; a missing one is apierr.NotFound.
func (r Roles) Get(ctx context.Context, account, name string) (Versioned[model.Role], error) {
	return r.t.Get(ctx, iamKey(account, name))
}

// Create stores a new role; an existing one (in any case) is apierr.AlreadyExists.
func (r Roles) Create(ctx context.Context, v model.Role) (int64, error) {
	return r.t.Create(ctx, iamKey(v.Account, v.Name), v)
}

// Mutate applies fn to a role with optimistic retries.
func (r Roles) Mutate(ctx context.Context, account, name string, fn func(*model.Role) error) (Versioned[model.Role], error) {
	return r.t.Mutate(ctx, iamKey(account, name), fn)
}

// Delete removes a role read at rev.
func (r Roles) Delete(ctx context.Context, account, name string, rev int64) error {
	return r.t.Delete(ctx, iamKey(account, name), rev)
}

// List reads an account's roles in (lowercased) name order after the name after, at most
// limit (<= 0: all).
func (r Roles) List(ctx context.Context, account, after string, limit int) (Page[model.Role], error) {
	a := ""
	if after != "" {
		a = iamKey(account, after)
	}
	return r.t.List(ctx, account+"/", a, limit)
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
type Users struct {
	t *table[model.User, userRecord]
}

// Users returns the user repository.
func (s *Store) Users() Users {
	return Users{&table[model.User, userRecord]{s: s, dir: "iam/users", version: 1,
		toRecord: recordFromUser, fromRecord: userFromRecord}}
}

// Get reads a user; a missing one is apierr.NotFound.
func (u Users) Get(ctx context.Context, account, name string) (Versioned[model.User], error) {
	return u.t.Get(ctx, iamKey(account, name))
}

// Create stores a new user; an existing one is apierr.AlreadyExists.
func (u Users) Create(ctx context.Context, v model.User) (int64, error) {
	return u.t.Create(ctx, iamKey(v.Account, v.Name), v)
}

// Mutate applies fn to a user with optimistic retries.
func (u Users) Mutate(ctx context.Context, account, name string, fn func(*model.User) error) (Versioned[model.User], error) {
	return u.t.Mutate(ctx, iamKey(account, name), fn)
}

// Delete removes a user read at rev.
func (u Users) Delete(ctx context.Context, account, name string, rev int64) error {
	return u.t.Delete(ctx, iamKey(account, name), rev)
}

// List reads an account's users in name order after the name after, at most limit (<= 0: all).
func (u Users) List(ctx context.Context, account, after string, limit int) (Page[model.User], error) {
	a := ""
	if after != "" {
		a = iamKey(account, after)
	}
	return u.t.List(ctx, account+"/", a, limit)
}

func recordFromUser(v model.User) userRecord {
	return userRecord{Account: v.Account, Name: v.Name, Path: v.Path, ID: v.ID, CreatedAt: v.CreatedAt,
		Tags: tagsToRecords(v.Tags), InlinePolicies: v.InlinePolicies, AttachedPolicies: v.AttachedPolicies}
}

func userFromRecord(r userRecord) model.User {
	return model.User{Account: r.Account, Name: r.Name, Path: r.Path, ID: r.ID, CreatedAt: r.CreatedAt,
		Tags: tagsFromRecords(r.Tags), InlinePolicies: r.InlinePolicies, AttachedPolicies: r.AttachedPolicies}
}
