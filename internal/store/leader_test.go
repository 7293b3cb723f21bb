package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/store"
	"github.com/gantry-dev/gantry/internal/testutil"
)

// TestLeaderElection: one leader at a time; the second candidate leads once the first resigns,
// and a candidate blocked in its campaign gives up when its context ends.
func TestLeaderElection(t *testing.T) {
	cli, prefix := testutil.Etcd(t)
	st := store.New(cli, prefix)
	ctx := t.Context()
	a, err := st.Lead(ctx, "ctl", "a", 2)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := a.Leader(ctx); err != nil || !ok {
		t.Fatalf("a leads: %v %v", ok, err)
	}
	if id, err := st.Leader(ctx, "ctl"); err != nil || id != "a" {
		t.Fatalf("Leader = %q, %v; want a", id, err)
	}
	won := make(chan *store.Leadership, 1)
	go func() {
		b, err := st.Lead(ctx, "ctl", "b", 2)
		if err != nil {
			t.Error(err)
			close(won)
			return
		}
		won <- b
	}()
	select {
	case <-won:
		t.Fatal("b leads while a does")
	case <-time.After(500 * time.Millisecond):
	}
	if err := a.Resign(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case b := <-won:
		if b == nil {
			t.FailNow()
		}
		if id, _ := st.Leader(ctx, "ctl"); id != "b" {
			t.Errorf("Leader = %q after a resigned, want b", id)
		}
		select {
		case <-b.Done():
			t.Error("b's leadership is done while it holds")
		default:
		}
		_ = b.Resign(ctx)
	case <-time.After(5 * time.Second):
		t.Fatal("b does not lead after a resigned")
	}
	cctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	c, err := st.Lead(ctx, "ctl", "c", 2)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Resign(ctx)
	if _, err := st.Lead(cctx, "ctl", "d", 2); err == nil {
		t.Error("d led while c does")
	}
}
