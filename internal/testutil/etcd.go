// Package testutil gives tests real components: an embedded etcd, root checks, free ports.
package testutil

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"sync"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/gantry-dev/gantry/internal/etcdnode"
)

var (
	etcdOnce sync.Once
	etcdNode *etcdnode.Node
	etcdErr  error
	etcdDir  string
)

// Etcd returns a client of an embedded etcd shared by the test binary, and a key prefix unique
// to the test, so tests never see each other's keys. The member lives until the process exits.
func Etcd(t testing.TB) (*clientv3.Client, string) {
	t.Helper()
	etcdOnce.Do(func() {
		etcdDir, etcdErr = os.MkdirTemp("", "gantry-test-etcd-")
		if etcdErr != nil {
			return
		}
		etcdNode, etcdErr = etcdnode.Start(context.Background(), etcdnode.Config{Dir: etcdDir, NoFsync: true})
	})
	if etcdErr != nil {
		t.Fatalf("embedded etcd: %v", etcdErr)
	}
	return etcdNode.Client(), "/test-" + RandomHex(6)
}

// RandomHex returns n random bytes as hex.
func RandomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// RequireRoot fails (not skips) a test that needs root when it is not root: kernel tests are
// required on the project's machines and in CI.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("this test needs root (real namespaces, cgroups and mounts); run the suite as root")
	}
}
