package store

import (
	"context"
	"errors"
	"fmt"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/model"
)

// Key schema:
//
//	ecs/taskdefs/<account>/<region>/<family>/<revision, 10 digits>   a revision
//	ecs/taskdef-tags/<account>/<region>/<family>/<revision>          its tags
//	ecs/taskdef-families/<account>/<region>/<family>                 the family's revision counter
//
// Revisions are zero-padded so key order is numeric order. The counter only grows, so a number is
// never reused, even after its revision is deleted.

// maxRegisterAttempts bounds the compare-and-retry loop of Register under contention.
const maxRegisterAttempts = 64

// ErrTooManyRegisterAttempts is ECS's answer when a family is registered too busily to allocate.
var ErrTooManyRegisterAttempts = apierr.New(apierr.Client, "Too many concurrent attempts to create a new revision of the specified family.")

// familyCounter is a family's last allocated revision; it exists only inside the store.
type familyCounter struct {
	Family string
	Last   int
}

type familyRecord struct {
	Family string `json:"family"`
	Last   int    `json:"lastRevision"`
}

// TaskDefinitions is the repository of task definition revisions and their tags.
type TaskDefinitions struct {
	s        *Store
	defs     *table[model.TaskDefinition, taskDefinitionRecord]
	tags     *table[[]model.Tag, []tagRecord]
	families *table[familyCounter, familyRecord]
}

// TaskDefinitions returns the task definition repository.
func (s *Store) TaskDefinitions() TaskDefinitions {
	return TaskDefinitions{
		s: s,
		defs: &table[model.TaskDefinition, taskDefinitionRecord]{s: s, dir: "ecs/taskdefs", version: 1,
			toRecord: recordFromTaskDefinition, fromRecord: taskDefinitionFromRecord},
		tags: &table[[]model.Tag, []tagRecord]{s: s, dir: "ecs/taskdef-tags", version: 1,
			toRecord: tagsToRecords, fromRecord: tagsFromRecords},
		families: &table[familyCounter, familyRecord]{s: s, dir: "ecs/taskdef-families", version: 1,
			toRecord:   func(f familyCounter) familyRecord { return familyRecord(f) },
			fromRecord: func(r familyRecord) familyCounter { return familyCounter(r) }},
	}
}

// TaskDefinitionKey is the key of a revision relative to the repository.
func TaskDefinitionKey(sc model.Scope, family string, rev int) string {
	return fmt.Sprintf("%s%s/%010d", ScopeKey(sc), family, rev)
}

// Register stores td as the next revision of its family, with its tags, atomically. It sets
// td.Revision and returns td. Concurrent registrations of a family get distinct consecutive
// revisions.
func (r TaskDefinitions) Register(ctx context.Context, td model.TaskDefinition, tags []model.Tag) (model.TaskDefinition, error) {
	famKey := ScopeKey(td.Scope) + td.Family
	for range maxRegisterAttempts {
		last, famRev, err := r.counter(ctx, famKey)
		if err != nil {
			return model.TaskDefinition{}, err
		}
		td.Revision = last + 1
		key := TaskDefinitionKey(td.Scope, td.Family, td.Revision)
		w := &Write{}
		if err := r.families.PutIn(w, famKey, familyCounter{Family: td.Family, Last: td.Revision}, famRev); err != nil {
			return model.TaskDefinition{}, err
		}
		if err := r.defs.PutIn(w, key, td, 0); err != nil {
			return model.TaskDefinition{}, err
		}
		if err := r.tags.PutIn(w, key, tags, 0); err != nil {
			return model.TaskDefinition{}, err
		}
		_, err = r.s.Commit(ctx, w)
		if err == nil {
			return td, nil
		}
		if !errors.Is(err, apierr.Conflict) || ctx.Err() != nil {
			return model.TaskDefinition{}, fmt.Errorf("register task definition %q: %w", td.Family, err)
		}
	}
	return model.TaskDefinition{}, ErrTooManyRegisterAttempts
}

// counter reads a family's last revision and the counter's mod revision (0, 0 for a new family).
func (r TaskDefinitions) counter(ctx context.Context, famKey string) (last int, rev int64, err error) {
	cur, err := r.families.Get(ctx, famKey)
	switch {
	case err == nil:
		return cur.Value.Last, cur.Revision, nil
	case errors.Is(err, apierr.NotFound):
		return 0, 0, nil
	}
	return 0, 0, err
}

// Get reads one revision; a missing one is apierr.NotFound.
func (r TaskDefinitions) Get(ctx context.Context, sc model.Scope, family string, rev int) (Versioned[model.TaskDefinition], error) {
	return r.defs.Get(ctx, TaskDefinitionKey(sc, family, rev))
}

// Latest returns the highest ACTIVE revision of family (apierr.NotFound when there is none).
func (r TaskDefinitions) Latest(ctx context.Context, sc model.Scope, family string) (Versioned[model.TaskDefinition], error) {
	prefix := ScopeKey(sc) + family + "/"
	after := ""
	for {
		batch, more, err := r.rangeDefs(ctx, prefix, after, true, 50)
		if err != nil {
			return Versioned[model.TaskDefinition]{}, err
		}
		for _, it := range batch {
			if it.value.Value.Status == model.TaskDefinitionActive {
				return it.value, nil
			}
			after = it.key
		}
		if !more {
			return Versioned[model.TaskDefinition]{}, fmt.Errorf("task definition family %q: %w", family, apierr.NotFound)
		}
	}
}

// Mutate applies fn to a revision with optimistic retries.
func (r TaskDefinitions) Mutate(ctx context.Context, sc model.Scope, family string, rev int, fn func(*model.TaskDefinition) error) (Versioned[model.TaskDefinition], error) {
	return r.defs.Mutate(ctx, TaskDefinitionKey(sc, family, rev), fn)
}

// Tags reads a revision's tags.
func (r TaskDefinitions) Tags(ctx context.Context, sc model.Scope, family string, rev int) ([]model.Tag, error) {
	v, err := r.tags.Get(ctx, TaskDefinitionKey(sc, family, rev))
	if errors.Is(err, apierr.NotFound) {
		return nil, nil
	}
	return v.Value, err
}

// MutateTags applies fn to a revision's tags with optimistic retries; the revision must exist.
func (r TaskDefinitions) MutateTags(ctx context.Context, sc model.Scope, family string, rev int, fn func(*[]model.Tag) error) ([]model.Tag, error) {
	key := TaskDefinitionKey(sc, family, rev)
	if _, err := r.defs.Get(ctx, key); err != nil {
		return nil, err
	}
	if _, err := r.tags.Get(ctx, key); errors.Is(err, apierr.NotFound) {
		if _, err := r.tags.Create(ctx, key, nil); err != nil && !errors.Is(err, apierr.AlreadyExists) {
			return nil, err
		}
	}
	v, err := r.tags.Mutate(ctx, key, fn)
	return v.Value, err
}

// Delete removes a revision read at rev, and its tags. The family's counter stays.
func (r TaskDefinitions) Delete(ctx context.Context, sc model.Scope, family string, revision int, rev int64) error {
	key := TaskDefinitionKey(sc, family, revision)
	w := &Write{}
	r.defs.DeleteIn(w, key, rev)
	if tv, err := r.tags.Get(ctx, key); err == nil {
		r.tags.DeleteIn(w, key, tv.Revision)
	} else if !errors.Is(err, apierr.NotFound) {
		return err
	}
	_, err := r.s.Commit(ctx, w)
	return err
}

// Watch streams task definition changes in every scope after store revision rev.
func (r TaskDefinitions) Watch(ctx context.Context, rev int64) <-chan Event[model.TaskDefinition] {
	return r.defs.Watch(ctx, "", rev)
}

// TaskDefinitionQuery selects revisions for List.
type TaskDefinitionQuery struct {
	Family string // exact family; empty for all
	Status string // empty for any
	Desc   bool   // newest family and revision first
	After  string // continue after this key (a previous List's next key)
	Limit  int    // at most this many; <= 0 for all
}

// List returns the revisions of a scope that match q, in key order (family, then revision), and
// the key to continue after when more may follow ("" when the listing is complete).
func (r TaskDefinitions) List(ctx context.Context, sc model.Scope, q TaskDefinitionQuery) ([]model.TaskDefinition, string, error) {
	prefix := ScopeKey(sc)
	if q.Family != "" {
		prefix += q.Family + "/"
	}
	if q.After != "" && !strings.HasPrefix(q.After, prefix) {
		return nil, "", apierr.New(apierr.InvalidParameter, "Invalid nextToken: it does not belong to this listing.")
	}
	var out []model.TaskDefinition
	after := q.After
	for {
		batch, more, err := r.rangeDefs(ctx, prefix, after, q.Desc, 100)
		if err != nil {
			return nil, "", err
		}
		for i, it := range batch {
			after = it.key
			if q.Status != "" && it.value.Value.Status != q.Status {
				continue
			}
			out = append(out, it.value.Value)
			if q.Limit > 0 && len(out) == q.Limit {
				if i < len(batch)-1 || more {
					return out, after, nil
				}
				return out, "", nil
			}
		}
		if !more {
			return out, "", nil
		}
	}
}

// FamilyQuery selects families for ListFamilies.
type FamilyQuery struct {
	Prefix string // family name prefix
	// Status is ACTIVE (a family with an ACTIVE revision), INACTIVE (one without), or "" for all.
	Status string
	After  string // continue after this family key
	Limit  int
}

// ListFamilies returns family names of a scope matching q in name order, and the key to continue
// after when more may follow.
func (r TaskDefinitions) ListFamilies(ctx context.Context, sc model.Scope, q FamilyQuery) ([]string, string, error) {
	prefix := ScopeKey(sc) + q.Prefix
	if q.After != "" && !strings.HasPrefix(q.After, prefix) {
		return nil, "", apierr.New(apierr.InvalidParameter, "Invalid nextToken: it does not belong to this listing.")
	}
	var out []string
	after := q.After
	for {
		page, err := r.families.List(ctx, prefix, after, 100)
		if err != nil {
			return nil, "", err
		}
		for i, it := range page.Items {
			after = page.Keys[i]
			ok, err := r.familyMatches(ctx, sc, it.Value.Family, q.Status)
			if err != nil {
				return nil, "", err
			}
			if !ok {
				continue
			}
			out = append(out, it.Value.Family)
			if q.Limit > 0 && len(out) == q.Limit {
				if i < len(page.Items)-1 || page.More {
					return out, after, nil
				}
				return out, "", nil
			}
		}
		if !page.More {
			return out, "", nil
		}
	}
}

func (r TaskDefinitions) familyMatches(ctx context.Context, sc model.Scope, family, status string) (bool, error) {
	if status == "" {
		return true, nil
	}
	_, err := r.Latest(ctx, sc, family)
	switch {
	case err == nil:
		return status == model.TaskDefinitionActive, nil
	case errors.Is(err, apierr.NotFound):
		return status == model.TaskDefinitionInactive, nil
	}
	return false, err
}

type keyedDef struct {
	key   string
	value Versioned[model.TaskDefinition]
}

// rangeDefs reads up to limit revisions under prefix after the relative key after, ascending or
// descending by key; the table's List only goes forward.
func (r TaskDefinitions) rangeDefs(ctx context.Context, prefix, after string, desc bool, limit int) ([]keyedDef, bool, error) {
	from := r.defs.key(prefix)
	end := clientv3.GetPrefixRangeEnd(from)
	order := clientv3.SortAscend
	switch {
	case after != "" && desc:
		end = r.defs.key(after)
		order = clientv3.SortDescend
	case after != "":
		from = r.defs.key(after) + "\x00"
	case desc:
		order = clientv3.SortDescend
	}
	resp, err := r.s.get(ctx, from, clientv3.WithRange(end), clientv3.WithLimit(int64(limit)),
		clientv3.WithSort(clientv3.SortByKey, order))
	if err != nil {
		return nil, false, fmt.Errorf("list task definitions %q: %w", prefix, err)
	}
	base := r.defs.key("")
	out := make([]keyedDef, 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		v, err := r.defs.decodeKV(kv.Key, kv.Value)
		if err != nil {
			return nil, false, err
		}
		out = append(out, keyedDef{key: strings.TrimPrefix(string(kv.Key), base),
			value: Versioned[model.TaskDefinition]{Value: v, Revision: kv.ModRevision}})
	}
	return out, resp.More, nil
}
