package store_test

import (
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/store"
	"github.com/gantry-dev/gantry/internal/store/storetest"
	"github.com/gantry-dev/gantry/internal/testutil"
)

// contractEnv is a fresh pair of tables in a store over cli under a new prefix.
func contractEnv(cli *clientv3.Client, prefix string, opts ...store.Option) storetest.Env {
	s := store.New(cli, prefix, opts...)
	return storetest.Env{
		Items:  store.NewTestTable[storetest.Item](s, "contract/items"),
		Others: store.NewTestTable[storetest.Item](s, "contract/others"),
		Commit: s.Commit,
	}
}

func TestContractEmbeddedEtcd(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Env {
		return contractEnv(testutil.Etcd(t))
	})
}

// TestContractLocalReads: serializable reads on the single-member embedded etcd (what gantry
// server uses by default) keep the whole contract, read-your-writes included.
func TestContractLocalReads(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Env {
		cli, prefix := testutil.Etcd(t)
		return contractEnv(cli, prefix, store.LocalReads())
	})
}

// TestContractExternalEtcd runs the contract against a separate etcd server process reached
// over the network, as gantry server --etcd-endpoints does.
func TestContractExternalEtcd(t *testing.T) {
	endpoint := testutil.StartExternalEtcd(t)
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoint}, DialTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	storetest.Run(t, func(t *testing.T) storetest.Env {
		return contractEnv(cli, "/test-"+testutil.RandomHex(6))
	})
}

// TestRecordFromNewerGantry: a record whose schema version this binary does not know is an
// error, never a zero value that a later write would store over the newer data.
func TestRecordFromNewerGantry(t *testing.T) {
	cli, prefix := testutil.Etcd(t)
	items := store.NewTestTable[storetest.Item](store.New(cli, prefix), "contract/items")
	if _, err := cli.Put(t.Context(), prefix+"/contract/items/a", `{"v":99,"body":{"Name":"a"}}`); err != nil {
		t.Fatal(err)
	}
	_, err := items.Get(t.Context(), "a")
	if err == nil || apierr.KindOf(err) != apierr.Internal {
		t.Fatalf("got %v, want an internal error for schema version 99", err)
	}
}
