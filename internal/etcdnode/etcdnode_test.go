package etcdnode

import (
	"net"
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

// TestTakenPortIsRecognised: a bind failure on a taken port is what Start retries with other
// ports when it picked them (a port picked free can be taken before etcd binds it).
func TestTakenPortIsRecognised(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, err = Start(t.Context(), Config{Dir: t.TempDir(), ClientAddr: l.Addr().String(), NoFsync: true})
	if err == nil || !addrInUse(err) {
		t.Fatalf("Start on a taken port: %v", err)
	}
}
