// Package store keeps gantry's state in etcd as versioned records with optimistic writes and watches.
package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/gantry-dev/gantry/internal/apierr"
)

// Store is the root of every repository. Keys live under one prefix so several gantry
// installations (or tests) can share an etcd cluster.
type Store struct {
	cli    *clientv3.Client
	prefix string
	// serializable reads answer from the member's applied state without a quorum round.
	serializable bool
	decoded      *decodeCache
}

// Option changes how a Store works.
type Option func(*Store)

// LocalReads makes reads serializable: the member answers from what it has applied, without
// confirming its leadership first, so a read never waits behind a write's disk sync. Use it
// only with a single-member etcd (the embedded one): a write is applied before it is
// acknowledged, so such reads still see every acknowledged write.
func LocalReads() Option { return func(s *Store) { s.serializable = true } }

// New returns a store over cli whose keys start with prefix (for example "/gantry").
func New(cli *clientv3.Client, prefix string, opts ...Option) *Store {
	s := &Store{cli: cli, prefix: strings.TrimSuffix(prefix, "/"), decoded: newDecodeCache(decodeCacheBytes)}
	for _, o := range opts {
		o(s)
	}
	return s
}

// get reads from etcd with the store's read consistency.
func (s *Store) get(ctx context.Context, key string, opts ...clientv3.OpOption) (*clientv3.GetResponse, error) {
	if s.serializable {
		opts = append(opts, clientv3.WithSerializable())
	}
	return s.cli.Get(ctx, key, opts...)
}

// Client exposes the etcd client for leases and elections; repositories never need it.
func (s *Store) Client() *clientv3.Client { return s.cli }

// Versioned is a value with the etcd mod revision it was read at; writes compare that revision.
type Versioned[T any] struct {
	Value    T
	Revision int64
}

// Page is a slice of a listing and the store revision it was read at, from which a watch can
// continue without missing or repeating an event.
type Page[T any] struct {
	Items    []Versioned[T]
	Revision int64
	// More says the listing stopped at the limit; continue after the last item's key.
	More bool
	// Keys holds the key of each item, in order (item i has key Keys[i]), for continuation.
	Keys []string
}

// EventType says what happened to a key.
type EventType int

// Event types.
const (
	Put EventType = iota + 1
	Delete
)

// Event is one change seen by a watch. For Delete, Value holds the last value.
type Event[T any] struct {
	Type     EventType
	Key      string
	Value    T
	Revision int64
	// Err is set on the last event of a watch that failed; the watcher should list again.
	Err error
}

// record is what every stored value looks like on disk: a schema version and the body.
// Bodies are the unexported record structs of this package, never model types.
type envelope struct {
	V    int             `json:"v"`
	Body json.RawMessage `json:"body"`
}

// splitEnvelope reads the envelope as encode writes it, {"v":N,"body":...}, without scanning the
// body, which decode then parses (and so validates) once instead of twice. Anything else, and a
// body that does not parse, goes to json.Unmarshal of the whole envelope.
func splitEnvelope(raw []byte) (envelope, bool) {
	const head, mid = `{"v":`, `,"body":`
	rest, ok := bytes.CutPrefix(raw, []byte(head))
	if !ok {
		return envelope{}, false
	}
	v, n := 0, 0
	for n < len(rest) && n < 9 && rest[n] >= '0' && rest[n] <= '9' {
		v = v*10 + int(rest[n]-'0')
		n++
	}
	body, ok := bytes.CutPrefix(rest[n:], []byte(mid))
	if n == 0 || !ok || len(body) < 2 || body[len(body)-1] != '}' {
		return envelope{}, false
	}
	return envelope{V: v, Body: body[:len(body)-1]}, true
}

// table is a typed collection of records under one directory, converting between the domain
// type T and the storage record R with explicit functions.
type table[T any, R any] struct {
	s          *Store
	dir        string
	version    int
	toRecord   func(T) R
	fromRecord func(R) T
}

func (t *table[T, R]) key(k string) string { return t.s.prefix + "/" + t.dir + "/" + k }

func (t *table[T, R]) encode(v T) (string, error) {
	body, err := json.Marshal(t.toRecord(v))
	if err != nil {
		return "", fmt.Errorf("encode %s record: %w", t.dir, err)
	}
	out, err := json.Marshal(envelope{V: t.version, Body: body})
	if err != nil {
		return "", fmt.Errorf("encode %s envelope: %w", t.dir, err)
	}
	return string(out), nil
}

func (t *table[T, R]) decode(raw []byte) (T, error) {
	if env, ok := splitEnvelope(raw); ok {
		if v, err := t.decodeBody(env); err == nil {
			return v, nil
		}
	}
	var env envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		var zero T
		return zero, fmt.Errorf("decode %s envelope: %w", t.dir, err)
	}
	return t.decodeBody(env)
}

func (t *table[T, R]) decodeBody(env envelope) (T, error) {
	var zero T
	if env.V > t.version {
		return zero, fmt.Errorf("%s record version %d is newer than this gantry (%d)", t.dir, env.V, t.version)
	}
	var r R
	if err := json.Unmarshal(env.Body, &r); err != nil {
		return zero, fmt.Errorf("decode %s record: %w", t.dir, err)
	}
	return t.fromRecord(r), nil
}

// Get reads one value; a missing key is apierr.NotFound.
func (t *table[T, R]) Get(ctx context.Context, k string) (Versioned[T], error) {
	resp, err := t.s.get(ctx, t.key(k))
	if err != nil {
		return Versioned[T]{}, fmt.Errorf("get %s %q: %w", t.dir, k, err)
	}
	if len(resp.Kvs) == 0 {
		return Versioned[T]{}, fmt.Errorf("%s %q: %w", t.dir, k, apierr.NotFound)
	}
	v, err := t.decodeKV(resp.Kvs[0].Key, resp.Kvs[0].Value)
	if err != nil {
		return Versioned[T]{}, err
	}
	return Versioned[T]{Value: v, Revision: resp.Kvs[0].ModRevision}, nil
}

// readBatch is how many keys one transaction of GetMany reads: etcd refuses transactions of
// more than 128 operations by default (--max-txn-ops).
const readBatch = 100

// GetMany reads the values at ks in one round trip per readBatch keys; a missing key's entry is
// nil.
func (t *table[T, R]) GetMany(ctx context.Context, ks []string) ([]*Versioned[T], error) {
	out := make([]*Versioned[T], len(ks))
	var opts []clientv3.OpOption
	if t.s.serializable {
		opts = append(opts, clientv3.WithSerializable())
	}
	for start := 0; start < len(ks); start += readBatch {
		batch := ks[start:min(start+readBatch, len(ks))]
		ops := make([]clientv3.Op, len(batch))
		for i, k := range batch {
			ops[i] = clientv3.OpGet(t.key(k), opts...)
		}
		resp, err := t.s.cli.Txn(ctx).Then(ops...).Commit()
		if err != nil {
			return nil, fmt.Errorf("get %d %s: %w", len(batch), t.dir, err)
		}
		for i, r := range resp.Responses {
			kvs := r.GetResponseRange().GetKvs()
			if len(kvs) == 0 {
				continue
			}
			v, err := t.decodeKV(kvs[0].Key, kvs[0].Value)
			if err != nil {
				return nil, err
			}
			out[start+i] = &Versioned[T]{Value: v, Revision: kvs[0].ModRevision}
		}
	}
	return out, nil
}

// Create writes a value that must not exist yet (apierr.AlreadyExists otherwise).
func (t *table[T, R]) Create(ctx context.Context, k string, v T) (int64, error) {
	w := &Write{}
	if err := t.PutIn(w, k, v, 0); err != nil {
		return 0, err
	}
	rev, err := t.s.Commit(ctx, w)
	if err != nil && apierr.KindOf(err) == apierr.Conflict {
		return 0, fmt.Errorf("%s %q: %w", t.dir, k, apierr.AlreadyExists)
	}
	return rev, err
}

// Update replaces a value read at rev; a concurrent change in between is apierr.Conflict.
func (t *table[T, R]) Update(ctx context.Context, k string, v T, rev int64) (int64, error) {
	w := &Write{}
	if err := t.PutIn(w, k, v, rev); err != nil {
		return 0, err
	}
	return t.s.Commit(ctx, w)
}

// Delete removes a value read at rev (apierr.Conflict if it changed since).
func (t *table[T, R]) Delete(ctx context.Context, k string, rev int64) error {
	w := &Write{}
	t.DeleteIn(w, k, rev)
	_, err := t.s.Commit(ctx, w)
	return err
}

// Mutate reads the value at k, applies fn, and writes it back if it changed, retrying when
// another writer got there first. fn must be a pure function of its argument: it may run
// several times.
func (t *table[T, R]) Mutate(ctx context.Context, k string, fn func(*T) error) (Versioned[T], error) {
	for attempt := 0; ; attempt++ {
		cur, err := t.Get(ctx, k)
		if err != nil {
			return Versioned[T]{}, err
		}
		before, err := t.encode(cur.Value)
		if err != nil {
			return Versioned[T]{}, err
		}
		if err := fn(&cur.Value); err != nil {
			return Versioned[T]{}, err
		}
		after, err := t.encode(cur.Value)
		if err != nil {
			return Versioned[T]{}, err
		}
		if before == after {
			return cur, nil
		}
		rev, err := t.Update(ctx, k, cur.Value, cur.Revision)
		if err == nil {
			return Versioned[T]{Value: cur.Value, Revision: rev}, nil
		}
		if apierr.KindOf(err) != apierr.Conflict || attempt >= maxMutateAttempts {
			return Versioned[T]{}, err
		}
		if err := backoff(ctx, attempt); err != nil {
			return Versioned[T]{}, err
		}
	}
}

// maxMutateAttempts bounds a read-modify-write that keeps losing races; with the jittered
// backoff below it spans several seconds of contention.
const maxMutateAttempts = 200

// backoff sleeps a random time that grows with attempt (up to 20 ms), so writers that collided
// spread out instead of colliding again.
func backoff(ctx context.Context, attempt int) error {
	ceiling := time.Duration(min(attempt+1, 20)) * time.Millisecond
	t := time.NewTimer(rand.N(ceiling))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// List reads up to limit values whose keys start with prefix (relative to the table), in key
// order, starting after the relative key after (empty: from the start). limit <= 0 means all.
func (t *table[T, R]) List(ctx context.Context, prefix, after string, limit int) (Page[T], error) {
	from := t.key(prefix)
	end := clientv3.GetPrefixRangeEnd(from)
	if after != "" {
		from = t.key(after) + "\x00"
	}
	opts := []clientv3.OpOption{clientv3.WithRange(end)}
	if limit > 0 {
		opts = append(opts, clientv3.WithLimit(int64(limit)))
	}
	resp, err := t.s.get(ctx, from, opts...)
	if err != nil {
		return Page[T]{}, fmt.Errorf("list %s %q: %w", t.dir, prefix, err)
	}
	page := Page[T]{Revision: resp.Header.Revision, More: resp.More}
	base := t.key("")
	for _, kv := range resp.Kvs {
		v, err := t.decodeKV(kv.Key, kv.Value)
		if err != nil {
			return Page[T]{}, err
		}
		page.Items = append(page.Items, Versioned[T]{Value: v, Revision: kv.ModRevision})
		page.Keys = append(page.Keys, strings.TrimPrefix(string(kv.Key), base))
	}
	return page, nil
}

// Watch streams changes under prefix after store revision rev (a Page's Revision). The channel
// closes when ctx ends; a failed watch sends one event with Err set, then closes.
func (t *table[T, R]) Watch(ctx context.Context, prefix string, rev int64) <-chan Event[T] {
	out := make(chan Event[T], 64)
	base := t.key("")
	wch := t.s.cli.Watch(clientv3.WithRequireLeader(ctx), t.key(prefix), clientv3.WithPrefix(), clientv3.WithRev(rev+1), clientv3.WithPrevKV())
	go func() {
		defer close(out)
		for resp := range wch {
			if err := resp.Err(); err != nil {
				sendEvent(ctx, out, Event[T]{Err: fmt.Errorf("watch %s: %w", t.dir, err)})
				return
			}
			for _, ev := range resp.Events {
				e := Event[T]{Key: strings.TrimPrefix(string(ev.Kv.Key), base), Revision: ev.Kv.ModRevision}
				raw := ev.Kv.Value
				e.Type = Put
				if ev.Type == clientv3.EventTypeDelete {
					e.Type = Delete
					e.Revision = resp.Header.Revision
					raw = nil
					if ev.PrevKv != nil {
						raw = ev.PrevKv.Value
					}
				}
				if raw != nil {
					v, err := t.decodeKV(ev.Kv.Key, raw)
					if err != nil {
						e.Err = err
					}
					e.Value = v
				}
				if !sendEvent(ctx, out, e) {
					return
				}
			}
		}
	}()
	return out
}

func sendEvent[E any](ctx context.Context, out chan<- E, e E) bool {
	select {
	case out <- e:
		return true
	case <-ctx.Done():
		return false
	}
}

// Write collects puts and deletes, each guarded by a revision compare, to commit atomically.
type Write struct {
	cmps []clientv3.Cmp
	ops  []clientv3.Op
}

// PutIn adds a put of v at k to w; rev 0 means the key must not exist, otherwise its mod
// revision must still be rev.
func (t *table[T, R]) PutIn(w *Write, k string, v T, rev int64) error {
	val, err := t.encode(v)
	if err != nil {
		return err
	}
	key := t.key(k)
	w.cmps = append(w.cmps, clientv3.Compare(clientv3.ModRevision(key), "=", rev))
	w.ops = append(w.ops, clientv3.OpPut(key, val))
	return nil
}

// DeleteIn adds a delete of k, read at rev, to w.
func (t *table[T, R]) DeleteIn(w *Write, k string, rev int64) {
	key := t.key(k)
	w.cmps = append(w.cmps, clientv3.Compare(clientv3.ModRevision(key), "=", rev))
	w.ops = append(w.ops, clientv3.OpDelete(key))
}

// Commit applies w atomically. If any compared key changed, nothing is written and the error is
// apierr.Conflict. It returns the revision of the write.
func (s *Store) Commit(ctx context.Context, w *Write) (int64, error) {
	resp, err := s.cli.Txn(ctx).If(w.cmps...).Then(w.ops...).Commit()
	if err != nil {
		return 0, fmt.Errorf("store commit: %w", err)
	}
	if !resp.Succeeded {
		return 0, fmt.Errorf("store commit: %w", apierr.Conflict)
	}
	return resp.Header.Revision, nil
}
