// Package storetest is the contract suite of the store's tables: the semantics every repository
// inherits (not-found, create-once, compare-on-revision writes, retried mutations, listing,
// watches, atomic multi-key commits), run against any etcd the caller brings.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/store"
)

// Item is the value the suite stores: a name and a counter.
type Item struct {
	Name string
	N    int
}

// Table is a store table of Items: the methods every repository is built on.
type Table interface {
	Get(ctx context.Context, k string) (store.Versioned[Item], error)
	Create(ctx context.Context, k string, v Item) (int64, error)
	Update(ctx context.Context, k string, v Item, rev int64) (int64, error)
	Delete(ctx context.Context, k string, rev int64) error
	Mutate(ctx context.Context, k string, fn func(*Item) error) (store.Versioned[Item], error)
	List(ctx context.Context, prefix, after string, limit int) (store.Page[Item], error)
	Watch(ctx context.Context, prefix string, rev int64) <-chan store.Event[Item]
	PutIn(w *store.Write, k string, v Item, rev int64) error
	DeleteIn(w *store.Write, k string, rev int64)
}

// Env is one empty store for a test: two tables in it, for commits that span tables, and the
// store's Commit.
type Env struct {
	Items  Table
	Others Table
	Commit func(ctx context.Context, w *store.Write) (int64, error)
}

// Run runs the contract, each case as a subtest on a fresh Env from open.
func Run(t *testing.T, open func(t *testing.T) Env) {
	cases := []struct {
		name string
		fn   func(t *testing.T, e Env)
	}{
		{"GetMissingIsNotFound", testGetMissing},
		{"CreateThenGet", testCreateThenGet},
		{"CreateTwiceIsAlreadyExists", testCreateTwice},
		{"UpdateStaleIsConflict", testUpdateStale},
		{"UpdateMissingIsConflict", testUpdateMissing},
		{"DeleteStaleIsConflict", testDeleteStale},
		{"MutateLosesNoIncrement", testMutateConcurrent},
		{"MutateWithoutChangeWritesNothing", testMutateNoChange},
		{"MutateErrorWritesNothing", testMutateError},
		{"MutateMissingIsNotFound", testMutateMissing},
		{"ListOrderPrefixAfterLimit", testList},
		{"ListPagesCoverAll", testListPages},
		{"WatchFromListSeesLaterEventsInOrder", testWatchFromList},
		{"WatchClosesOnCancel", testWatchCancel},
		{"CommitIsAllOrNothing", testCommitAtomic},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.fn(t, open(t)) })
	}
}

func wantKind(t *testing.T, err error, k apierr.Kind) {
	t.Helper()
	if !errors.Is(err, k) {
		t.Fatalf("error %v, want kind %q", err, k)
	}
}

func noErr(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func testGetMissing(t *testing.T, e Env) {
	_, err := e.Items.Get(t.Context(), "nope")
	wantKind(t, err, apierr.NotFound)
}

func testCreateThenGet(t *testing.T, e Env) {
	rev := must[int64](t)(e.Items.Create(t.Context(), "a", Item{Name: "a", N: 1}))
	got := must[store.Versioned[Item]](t)(e.Items.Get(t.Context(), "a"))
	if got.Value != (Item{Name: "a", N: 1}) || got.Revision != rev || rev == 0 {
		t.Fatalf("got %+v, want a/1 at revision %d", got, rev)
	}
}

func testCreateTwice(t *testing.T, e Env) {
	must[int64](t)(e.Items.Create(t.Context(), "a", Item{Name: "first"}))
	_, err := e.Items.Create(t.Context(), "a", Item{Name: "second"})
	wantKind(t, err, apierr.AlreadyExists)
	if got := must[store.Versioned[Item]](t)(e.Items.Get(t.Context(), "a")); got.Value.Name != "first" {
		t.Fatalf("the second create overwrote the first: %+v", got)
	}
}

func testUpdateStale(t *testing.T, e Env) {
	ctx := t.Context()
	rev1 := must[int64](t)(e.Items.Create(ctx, "a", Item{N: 1}))
	rev2 := must[int64](t)(e.Items.Update(ctx, "a", Item{N: 2}, rev1))
	if rev2 <= rev1 {
		t.Fatalf("update revision %d not after %d", rev2, rev1)
	}
	_, err := e.Items.Update(ctx, "a", Item{N: 3}, rev1)
	wantKind(t, err, apierr.Conflict)
	if got := must[store.Versioned[Item]](t)(e.Items.Get(ctx, "a")); got.Value.N != 2 || got.Revision != rev2 {
		t.Fatalf("after a stale update: %+v, want N=2 at %d", got, rev2)
	}
}

func testUpdateMissing(t *testing.T, e Env) {
	_, err := e.Items.Update(t.Context(), "ghost", Item{N: 1}, 5)
	wantKind(t, err, apierr.Conflict)
	_, err = e.Items.Get(t.Context(), "ghost")
	wantKind(t, err, apierr.NotFound)
}

func testDeleteStale(t *testing.T, e Env) {
	ctx := t.Context()
	rev1 := must[int64](t)(e.Items.Create(ctx, "a", Item{N: 1}))
	rev2 := must[int64](t)(e.Items.Update(ctx, "a", Item{N: 2}, rev1))
	wantKind(t, e.Items.Delete(ctx, "a", rev1), apierr.Conflict)
	must[store.Versioned[Item]](t)(e.Items.Get(ctx, "a"))
	noErr(t, e.Items.Delete(ctx, "a", rev2))
	_, err := e.Items.Get(ctx, "a")
	wantKind(t, err, apierr.NotFound)
}

func testMutateConcurrent(t *testing.T, e Env) {
	const writers, increments = 10, 20
	ctx := t.Context()
	must[int64](t)(e.Items.Create(ctx, "counter", Item{Name: "counter"}))
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for range writers {
		wg.Go(func() {
			for range increments {
				if _, err := e.Items.Mutate(ctx, "counter", func(it *Item) error { it.N++; return nil }); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("mutate: %v", err)
	}
	if got := must[store.Versioned[Item]](t)(e.Items.Get(ctx, "counter")); got.Value.N != writers*increments {
		t.Fatalf("counter %d, want %d: increments were lost", got.Value.N, writers*increments)
	}
}

func testMutateNoChange(t *testing.T, e Env) {
	ctx := t.Context()
	rev := must[int64](t)(e.Items.Create(ctx, "a", Item{N: 1}))
	got := must[store.Versioned[Item]](t)(e.Items.Mutate(ctx, "a", func(it *Item) error { it.N = 1; return nil }))
	if got.Revision != rev {
		t.Fatalf("an unchanged value was written again: revision %d, want %d", got.Revision, rev)
	}
}

func testMutateError(t *testing.T, e Env) {
	ctx := t.Context()
	rev := must[int64](t)(e.Items.Create(ctx, "a", Item{N: 1}))
	_, err := e.Items.Mutate(ctx, "a", func(it *Item) error {
		it.N = 99
		return fmt.Errorf("refuse: %w", apierr.InvalidParameter)
	})
	wantKind(t, err, apierr.InvalidParameter)
	if got := must[store.Versioned[Item]](t)(e.Items.Get(ctx, "a")); got.Value.N != 1 || got.Revision != rev {
		t.Fatalf("a failed mutation wrote: %+v", got)
	}
}

func testMutateMissing(t *testing.T, e Env) {
	_, err := e.Items.Mutate(t.Context(), "ghost", func(*Item) error { return nil })
	wantKind(t, err, apierr.NotFound)
}

func createAll(t *testing.T, tb Table, keys ...string) {
	t.Helper()
	for _, k := range keys {
		must[int64](t)(tb.Create(t.Context(), k, Item{Name: k}))
	}
}

func keysOf(p store.Page[Item]) []string {
	var out []string
	for i, it := range p.Items {
		out = append(out, p.Keys[i]+"="+it.Value.Name)
	}
	return out
}

func testList(t *testing.T, e Env) {
	createAll(t, e.Items, "b/2", "a/10", "b/1", "a/1", "a/2", "ab")
	createAll(t, e.Others, "a/0") // another table's keys never show
	tests := []struct {
		name          string
		prefix, after string
		limit         int
		want          []string
		more          bool
	}{
		{"all in key order", "", "", 0, []string{"a/1", "a/10", "a/2", "ab", "b/1", "b/2"}, false},
		{"prefix", "a/", "", 0, []string{"a/1", "a/10", "a/2"}, false},
		{"after", "a/", "a/10", 0, []string{"a/2"}, false},
		{"after a key that does not exist", "", "a/15", 0, []string{"a/2", "ab", "b/1", "b/2"}, false},
		{"limit", "", "", 2, []string{"a/1", "a/10"}, true},
		{"limit exactly reached", "b/", "", 2, []string{"b/1", "b/2"}, false},
		{"empty prefix match", "c/", "", 0, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := must[store.Page[Item]](t)(e.Items.List(t.Context(), tt.prefix, tt.after, tt.limit))
			var want []string
			for _, k := range tt.want {
				want = append(want, k+"="+k)
			}
			if got := keysOf(p); !slices.Equal(got, want) || p.More != tt.more {
				t.Fatalf("got %v more=%v, want %v more=%v", got, p.More, want, tt.more)
			}
			for _, it := range p.Items {
				if it.Revision == 0 || it.Revision > p.Revision {
					t.Fatalf("item revision %d outside the page revision %d", it.Revision, p.Revision)
				}
			}
		})
	}
}

func testListPages(t *testing.T, e Env) {
	var keys []string
	for i := range 7 {
		keys = append(keys, fmt.Sprintf("k%02d", i))
	}
	createAll(t, e.Items, keys...)
	var got []string
	after := ""
	for pages := 0; ; pages++ {
		if pages > len(keys) {
			t.Fatal("paging does not end")
		}
		p := must[store.Page[Item]](t)(e.Items.List(t.Context(), "", after, 3))
		got = append(got, p.Keys...)
		if !p.More {
			break
		}
		after = p.Keys[len(p.Keys)-1]
	}
	if !slices.Equal(got, keys) {
		t.Fatalf("pages gave %v, want %v", got, keys)
	}
}

// recv waits for the next event of a watch.
func recv(t *testing.T, ch <-chan store.Event[Item]) store.Event[Item] {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatal("watch closed early")
		}
		if ev.Err != nil {
			t.Fatalf("watch event error: %v", ev.Err)
		}
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no watch event within 10s")
	}
	return store.Event[Item]{}
}

func testWatchFromList(t *testing.T, e Env) {
	ctx := t.Context()
	revOld := must[int64](t)(e.Items.Create(ctx, "w/old", Item{Name: "old", N: 1}))
	page := must[store.Page[Item]](t)(e.Items.List(ctx, "w/", "", 0))
	ch := e.Items.Watch(ctx, "w/", page.Revision)

	rev2 := must[int64](t)(e.Items.Update(ctx, "w/old", Item{Name: "old", N: 2}, revOld))
	must[int64](t)(e.Items.Create(ctx, "x/elsewhere", Item{Name: "elsewhere"})) // outside the prefix
	must[int64](t)(e.Others.Create(ctx, "w/other", Item{Name: "other"}))        // another table
	revNew := must[int64](t)(e.Items.Create(ctx, "w/new", Item{Name: "new", N: 7}))
	noErr(t, e.Items.Delete(ctx, "w/old", rev2))
	must[int64](t)(e.Items.Create(ctx, "w/sentinel", Item{Name: "sentinel"}))

	want := []struct {
		typ  store.EventType
		key  string
		item Item
	}{
		{store.Put, "w/old", Item{Name: "old", N: 2}},
		{store.Put, "w/new", Item{Name: "new", N: 7}},
		{store.Delete, "w/old", Item{Name: "old", N: 2}}, // a delete carries the last value
		{store.Put, "w/sentinel", Item{Name: "sentinel"}},
	}
	last := page.Revision
	for i, w := range want {
		ev := recv(t, ch)
		if ev.Type != w.typ || ev.Key != w.key || ev.Value != w.item {
			t.Fatalf("event %d: %v %q %+v, want %v %q %+v", i, ev.Type, ev.Key, ev.Value, w.typ, w.key, w.item)
		}
		if ev.Revision <= last {
			t.Fatalf("event %d at revision %d, not after %d", i, ev.Revision, last)
		}
		last = ev.Revision
		if w.key == "w/new" && ev.Revision != revNew {
			t.Fatalf("put event revision %d, want the write's %d", ev.Revision, revNew)
		}
	}
}

func testWatchCancel(t *testing.T, e Env) {
	page := must[store.Page[Item]](t)(e.Items.List(t.Context(), "", "", 0))
	ctx, cancel := context.WithCancel(t.Context())
	ch := e.Items.Watch(ctx, "", page.Revision)
	must[int64](t)(e.Items.Create(t.Context(), "a", Item{Name: "a"}))
	recv(t, ch)
	cancel()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatal("watch still open 10s after its context was cancelled")
		}
	}
}

func testCommitAtomic(t *testing.T, e Env) {
	ctx := t.Context()
	revC := must[int64](t)(e.Items.Create(ctx, "c", Item{N: 1}))
	must[int64](t)(e.Items.Update(ctx, "c", Item{N: 2}, revC)) // revC is now stale

	w := &store.Write{}
	noErr(t, e.Items.PutIn(w, "a", Item{Name: "a"}, 0))
	noErr(t, e.Others.PutIn(w, "b", Item{Name: "b"}, 0))
	e.Items.DeleteIn(w, "c", revC)
	_, err := e.Commit(ctx, w)
	wantKind(t, err, apierr.Conflict)
	for _, get := range []func() error{
		func() error { _, err := e.Items.Get(ctx, "a"); return err },
		func() error { _, err := e.Others.Get(ctx, "b"); return err },
	} {
		wantKind(t, get(), apierr.NotFound)
	}
	if got := must[store.Versioned[Item]](t)(e.Items.Get(ctx, "c")); got.Value.N != 2 {
		t.Fatalf("c changed by a failed commit: %+v", got)
	}

	cur := must[store.Versioned[Item]](t)(e.Items.Get(ctx, "c"))
	w = &store.Write{}
	noErr(t, e.Items.PutIn(w, "a", Item{Name: "a"}, 0))
	noErr(t, e.Others.PutIn(w, "b", Item{Name: "b"}, 0))
	e.Items.DeleteIn(w, "c", cur.Revision)
	rev := must[int64](t)(e.Commit(ctx, w))
	a := must[store.Versioned[Item]](t)(e.Items.Get(ctx, "a"))
	b := must[store.Versioned[Item]](t)(e.Others.Get(ctx, "b"))
	if a.Revision != rev || b.Revision != rev {
		t.Fatalf("a at %d and b at %d, want both at the commit's revision %d", a.Revision, b.Revision, rev)
	}
	_, err = e.Items.Get(ctx, "c")
	wantKind(t, err, apierr.NotFound)
}
