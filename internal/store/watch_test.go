package store_test

import (
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/gantry-dev/gantry/internal/store"
	"github.com/gantry-dev/gantry/internal/store/storetest"
	"github.com/gantry-dev/gantry/internal/testutil"
)

func nextItemEvent(t *testing.T, ch <-chan store.Event[storetest.Item]) (store.Event[storetest.Item], bool) {
	t.Helper()
	select {
	case ev, ok := <-ch:
		return ev, ok
	case <-time.After(10 * time.Second):
		t.Fatal("no watch event within 10s")
	}
	return store.Event[storetest.Item]{}, false
}

// TestWatchCompactedRevision: a watch from a revision etcd has compacted away cannot deliver
// every event, so it says so with one error event and closes; the watcher lists again.
// Compaction is global to an etcd, so this test has one of its own rather than the shared one.
func TestWatchCompactedRevision(t *testing.T) {
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{testutil.StartExternalEtcd(t)}, DialTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	prefix := "/test-compact"
	items := store.NewTestTable[storetest.Item](store.New(cli, prefix), "watch/items")
	ctx := t.Context()
	rev, err := items.Create(ctx, "a", storetest.Item{Name: "a"})
	if err != nil {
		t.Fatal(err)
	}
	rev, err = items.Update(ctx, "a", storetest.Item{Name: "a", N: 1}, rev)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Compact(ctx, rev); err != nil {
		t.Fatal(err)
	}
	ch := items.Watch(ctx, "", rev-2)
	ev, ok := nextItemEvent(t, ch)
	if !ok || ev.Err == nil {
		t.Fatalf("first event %+v (open %v), want an error", ev, ok)
	}
	if _, ok := nextItemEvent(t, ch); ok {
		t.Fatal("watch still open after its error event")
	}
}

// TestWatchUndecodableRecord: a record the watch cannot decode arrives as an event with Err
// set and the key, and the watch goes on.
func TestWatchUndecodableRecord(t *testing.T) {
	cli, prefix := testutil.Etcd(t)
	items := store.NewTestTable[storetest.Item](store.New(cli, prefix), "watch/items")
	ctx := t.Context()
	page, err := items.List(ctx, "", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	ch := items.Watch(ctx, "", page.Revision)
	if _, err := cli.Put(ctx, prefix+"/watch/items/bad", "not json"); err != nil {
		t.Fatal(err)
	}
	if _, err := items.Create(ctx, "good", storetest.Item{Name: "good"}); err != nil {
		t.Fatal(err)
	}
	ev, ok := nextItemEvent(t, ch)
	if !ok || ev.Err == nil || ev.Key != "bad" {
		t.Fatalf("event %+v (open %v), want an error for key bad", ev, ok)
	}
	ev, ok = nextItemEvent(t, ch)
	if !ok || ev.Err != nil || ev.Key != "good" || ev.Value.Name != "good" {
		t.Fatalf("event %+v (open %v), want the put of good", ev, ok)
	}
}
