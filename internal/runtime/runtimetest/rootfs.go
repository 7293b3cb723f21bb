// Package runtimetest builds minimal container root filesystems for tests that run real
// containers: busybox plus a static Go test program.
package runtimetest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// Busybox is where Debian's busybox-static package installs its binary.
const Busybox = "/bin/busybox"

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

// TestProg returns the path of the static test program, building it once per process. Callers
// remove it with Cleanup.
func TestProg(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "gantry-testprog-")
		if buildErr != nil {
			return
		}
		out := filepath.Join(buildDir, "testprog")
		cmd := exec.Command("go", "build", "-o", out, "github.com/gantry-dev/gantry/internal/runtime/runtimetest/testprog")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("build testprog: %w: %s", err, b)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(buildDir, "testprog")
}

// Cleanup removes the test program; call it from TestMain after the tests ran.
func Cleanup() {
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
}

// Rootfs makes a rootfs in a fresh temporary directory with /bin/busybox (and sh, nc, sleep,
// cat links), /testprog, an /etc/passwd with root, nobody and "app" (1000:1000, also in group
// "extra" 2000), and every mount point the runtime needs, so it also works read-only.
func Rootfs(t testing.TB) string {
	t.Helper()
	if _, err := os.Stat(Busybox); err != nil {
		t.Fatalf("%s missing: install Debian's busybox-static package", Busybox)
	}
	root := t.TempDir()
	for _, d := range []string{"bin", "etc", "proc", "sys", "dev", "tmp", "home/app", "data"} {
		mustDo(t, os.MkdirAll(filepath.Join(root, d), 0o755))
	}
	mustDo(t, os.Chmod(filepath.Join(root, "tmp"), 0o1777))
	mustDo(t, copyFile(Busybox, filepath.Join(root, "bin/busybox")))
	mustDo(t, copyFile(TestProg(t), filepath.Join(root, "testprog")))
	for _, l := range []string{"sh", "nc", "sleep", "cat", "ls", "id", "echo", "true"} {
		mustDo(t, os.Symlink("busybox", filepath.Join(root, "bin", l)))
	}
	files := map[string]string{
		"etc/passwd": "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\napp:x:1000:1000:app:/home/app:/bin/sh\n",
		"etc/group":  "root:x:0:\napp:x:1000:\nextra:x:2000:app\nnogroup:x:65534:\n",
		"etc/hosts":  "", "etc/resolv.conf": "", ".gantry-init": "",
	}
	for name, content := range files {
		mustDo(t, os.WriteFile(filepath.Join(root, name), []byte(content), 0o644))
	}
	return root
}

func copyFile(src, dst string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, data, 0o755)
}

func mustDo(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
