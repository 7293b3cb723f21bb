package store

import (
	"context"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/testutil"
)

// TestDecodeCacheHandsOutCopies: a value read through the cache may be changed by its reader
// without changing what the next reader gets.
func TestDecodeCacheHandsOutCopies(t *testing.T) {
	cli, prefix := testutil.Etcd(t)
	items := NewTestTable[node](New(cli, prefix), "cache/items")
	ctx := t.Context()
	want := node{Name: "a", Children: []node{{Name: "b"}}, ByName: map[string]*node{"c": {Name: "c"}}}
	if _, err := items.Create(ctx, "a", want); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		got, err := items.Get(ctx, "a")
		if err != nil {
			t.Fatal(err)
		}
		if got.Value.Name != "a" || len(got.Value.Children) != 1 || got.Value.Children[0].Name != "b" || got.Value.ByName["c"].Name != "c" {
			t.Fatalf("Get = %+v, want %+v", got.Value, want)
		}
		got.Value.Children[0].Name = "changed"
		got.Value.Children = append(got.Value.Children, node{Name: "more"})
		got.Value.ByName["c"].Name = "changed"
		got.Value.ByName["d"] = nil
	}
	many, err := items.GetMany(ctx, []string{"a", "a"})
	if err != nil {
		t.Fatal(err)
	}
	many[0].Value.Children[0].Name = "changed"
	if many[1].Value.Children[0].Name != "b" {
		t.Fatal("two entries of one GetMany share memory")
	}
	page, err := items.List(ctx, "", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 1 || page.Items[0].Value.Children[0].Name != "b" || len(page.Items[0].Value.ByName) != 1 {
		t.Fatalf("List after changes to earlier reads = %+v", page.Items)
	}
}

// TestDecodeCacheFollowsTheBytes: the cache answers for a key only while the stored bytes are
// the ones it decoded; a write by this table or by anyone else is read afresh.
func TestDecodeCacheFollowsTheBytes(t *testing.T) {
	cli, prefix := testutil.Etcd(t)
	s := New(cli, prefix)
	items := NewTestTable[node](s, "cache/items")
	ctx := t.Context()
	if _, err := items.Create(ctx, "a", node{Name: "one"}); err != nil {
		t.Fatal(err)
	}
	got, err := items.Get(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	// The cache is what answers: a value planted for the same bytes comes back.
	resp, err := cli.Get(ctx, items.key("a"))
	if err != nil {
		t.Fatal(err)
	}
	raw := resp.Kvs[0].Value
	s.decoded.put([]byte(items.key("a")), s.decoded.sum(raw), len(raw), node{Name: "planted"})
	if v, _ := items.Get(ctx, "a"); v.Value.Name != "planted" {
		t.Fatalf("Get of unchanged bytes = %q, want the cached value", v.Value.Name)
	}
	if _, err := items.Update(ctx, "a", node{Name: "two"}, got.Revision); err != nil {
		t.Fatal(err)
	}
	if v, _ := items.Get(ctx, "a"); v.Value.Name != "two" {
		t.Fatalf("Get after Update = %q, want two", v.Value.Name)
	}
	// Another writer, same key, bytes this table never wrote.
	if _, err := cli.Put(ctx, items.key("a"), `{"v":1,"body":{"Name":"three"}}`); err != nil {
		t.Fatal(err)
	}
	if v, _ := items.Get(ctx, "a"); v.Value.Name != "three" {
		t.Fatalf("Get after another writer = %q, want three", v.Value.Name)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	ev := items.Watch(wctx, "", 0)
	if _, err := cli.Put(ctx, items.key("a"), `{"v":1,"body":{"Name":"four"}}`); err != nil {
		t.Fatal(err)
	}
	for e := range ev {
		if e.Value.Name == "four" {
			return
		}
	}
	t.Fatal("the watch did not see the other writer's value")
}

// TestDecodeCacheIsBounded: a full cache forgets entries instead of growing past its bound in
// stored bytes, keeps what was just put, and does not keep a value larger than a quarter of it.
func TestDecodeCacheIsBounded(t *testing.T) {
	c := newDecodeCache(800)
	for i := range 100 {
		k := []byte{byte(i)}
		c.put(k, uint64(i), 100, i)
		if c.bytes > 800 || c.bytes != 100*len(c.m) {
			t.Fatalf("%d bytes in %d entries, bound 800", c.bytes, len(c.m))
		}
		if v, ok := c.get(k, uint64(i)); !ok || v != i {
			t.Fatalf("the entry just put is not there")
		}
		if _, ok := c.get(k, uint64(i)+1); ok {
			t.Fatal("an entry answered for other bytes")
		}
	}
	// A new value of a key replaces the old one and its size.
	c.put([]byte{99}, 7, 150, "new")
	if v, ok := c.get([]byte{99}, 7); !ok || v != "new" {
		t.Fatal("the replaced entry is not there")
	}
	held := 0
	for _, e := range c.m {
		held += e.size
	}
	if held != c.bytes {
		t.Fatalf("the cache counts %d bytes, its entries hold %d", c.bytes, held)
	}
	c.put([]byte{200}, 1, 201, "large")
	if _, ok := c.get([]byte{200}, 1); ok {
		t.Error("a value over a quarter of the bound was kept")
	}
}

// TestDecodeCacheKeepsTypesApart: two tables of different types over one directory (which no
// repository does) each get their own type from the cache, never a panic.
func TestDecodeCacheKeepsTypesApart(t *testing.T) {
	cli, prefix := testutil.Etcd(t)
	s := New(cli, prefix)
	nodes := NewTestTable[node](s, "cache/shared")
	type named struct{ Name string }
	names := NewTestTable[named](s, "cache/shared")
	ctx := t.Context()
	if _, err := nodes.Create(ctx, "a", node{Name: "one"}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		n, err := nodes.Get(ctx, "a")
		if err != nil || n.Value.Name != "one" {
			t.Fatalf("nodes.Get = %+v, %v", n.Value, err)
		}
		m, err := names.Get(ctx, "a")
		if err != nil || m.Value.Name != "one" {
			t.Fatalf("names.Get = %+v, %v", m.Value, err)
		}
	}
}
