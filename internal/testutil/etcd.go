// Package testutil gives tests real components: an embedded etcd, root checks, free ports.
package testutil

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
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
		removeDeadEtcdDirs(os.TempDir())
		etcdDir, etcdErr = os.MkdirTemp("", fmt.Sprintf("%s%d-", etcdDirPrefix, os.Getpid()))
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

// etcdDirPrefix starts the name of each test binary's etcd directory, followed by its pid.
const etcdDirPrefix = "gantry-test-etcd-"

// removeDeadEtcdDirs removes the etcd directories of test binaries that have exited: the member
// lives as long as its process, so nothing removes its directory but the next test binary.
func removeDeadEtcdDirs(tmp string) {
	ents, _ := os.ReadDir(tmp)
	for _, e := range ents {
		rest, ok := strings.CutPrefix(e.Name(), etcdDirPrefix)
		if !ok || !e.IsDir() {
			continue
		}
		pidText, _, ok := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if !ok || err != nil || pid <= 0 || processAlive(pid) {
			continue
		}
		_ = os.RemoveAll(filepath.Join(tmp, e.Name()))
	}
}

func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
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
