package etcdnode

import (
	"testing"
)

func TestStartPutRestartGet(t *testing.T) {
	dir := t.TempDir()
	n, err := Start(t.Context(), Config{Dir: dir, NoFsync: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Client().Put(t.Context(), "/k", "v"); err != nil {
		t.Fatal(err)
	}
	n.Close()

	n, err = Start(t.Context(), Config{Dir: dir, NoFsync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	resp, err := n.Client().Get(t.Context(), "/k")
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Kvs) != 1 || string(resp.Kvs[0].Value) != "v" {
		t.Fatalf("after restart got %v, want /k=v", resp.Kvs)
	}
}
