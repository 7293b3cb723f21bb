package store

import (
	"context"
	"time"

	"github.com/gantry-dev/gantry/internal/model"
)

// logGroupRecord is a log group as stored (schema version 1).
type logGroupRecord struct {
	Account       string      `json:"account"`
	Region        string      `json:"region"`
	Name          string      `json:"name"`
	CreatedAt     time.Time   `json:"createdAt"`
	RetentionDays int         `json:"retentionDays,omitempty"`
	KMSKeyID      string      `json:"kmsKeyId,omitempty"`
	Class         string      `json:"class,omitempty"`
	Tags          []tagRecord `json:"tags,omitempty"`
}

// LogGroups is the repository of log groups, keyed by scope and name.
type LogGroups struct {
	t *table[model.LogGroup, logGroupRecord]
}

// LogGroups returns the log group repository.
func (s *Store) LogGroups() LogGroups {
	return LogGroups{&table[model.LogGroup, logGroupRecord]{s: s, dir: "logs/groups", version: 1,
		toRecord: recordFromLogGroup, fromRecord: logGroupFromRecord}}
}

// Get reads a log group; a missing one is apierr.NotFound.
func (l LogGroups) Get(ctx context.Context, sc model.Scope, name string) (Versioned[model.LogGroup], error) {
	return l.t.Get(ctx, ScopeKey(sc)+name)
}

// Create stores a new log group; an existing one is apierr.AlreadyExists.
func (l LogGroups) Create(ctx context.Context, g model.LogGroup) (int64, error) {
	return l.t.Create(ctx, ScopeKey(g.Scope)+g.Name, g)
}

// Mutate applies fn to a log group with optimistic retries.
func (l LogGroups) Mutate(ctx context.Context, sc model.Scope, name string, fn func(*model.LogGroup) error) (Versioned[model.LogGroup], error) {
	return l.t.Mutate(ctx, ScopeKey(sc)+name, fn)
}

// Delete removes a log group read at rev.
func (l LogGroups) Delete(ctx context.Context, sc model.Scope, name string, rev int64) error {
	return l.t.Delete(ctx, ScopeKey(sc)+name, rev)
}

// List reads log groups of a scope whose names start with prefix, in name order, after the
// name after, at most limit (<= 0: all).
func (l LogGroups) List(ctx context.Context, sc model.Scope, prefix, after string, limit int) (Page[model.LogGroup], error) {
	a := ""
	if after != "" {
		a = ScopeKey(sc) + after
	}
	return l.t.List(ctx, ScopeKey(sc)+prefix, a, limit)
}

func recordFromLogGroup(g model.LogGroup) logGroupRecord {
	return logGroupRecord{Account: g.Scope.Account, Region: g.Scope.Region, Name: g.Name, CreatedAt: g.CreatedAt,
		RetentionDays: g.RetentionDays, KMSKeyID: g.KMSKeyID, Class: g.Class, Tags: tagsToRecords(g.Tags)}
}

func logGroupFromRecord(r logGroupRecord) model.LogGroup {
	return model.LogGroup{Scope: model.Scope{Account: r.Account, Region: r.Region}, Name: r.Name, CreatedAt: r.CreatedAt,
		RetentionDays: r.RetentionDays, KMSKeyID: r.KMSKeyID, Class: r.Class, Tags: tagsFromRecords(r.Tags)}
}
