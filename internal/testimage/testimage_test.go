package testimage

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/image"
	"github.com/gantry-dev/gantry/internal/registry"
)

func TestBuildPushPull(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("unpacking needs root: run the suite as root")
	}
	ctx := t.Context()
	srv := httptest.NewServer(registry.New(t.TempDir(), registry.Options{}))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")

	img, err := Build(ctx, Options{Cmd: []string{"sleep", "5"}, StopSignal: "SIGINT", User: "65534", WorkingDir: "/tmp",
		Env: []string{"GREETING=hi"}, ExposedPorts: []string{"8080/tcp"}, Files: map[string]string{"/etc/motd": "hello\n"}})
	if err != nil {
		t.Fatal(err)
	}
	digest, err := Push(ctx, img, host, "test/app", "v1")
	if err != nil {
		t.Fatal(err)
	}
	again, err := Build(ctx, Options{Cmd: []string{"sleep", "5"}, StopSignal: "SIGINT", User: "65534", WorkingDir: "/tmp",
		Env: []string{"GREETING=hi"}, ExposedPorts: []string{"8080/tcp"}, Files: map[string]string{"/etc/motd": "hello\n"}})
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := again.Digest(); d.String() != digest {
		t.Errorf("rebuild gave %s, first build %s: builds must be reproducible", d, digest)
	}

	store := image.New(t.TempDir(), image.Options{})
	got, err := store.Pull(ctx, image.Resolve("000000000000.dkr.ecr.us-east-1.amazonaws.com/test/app:v1", host), image.PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Digest != digest {
		t.Errorf("pulled %s, pushed %s", got.Digest, digest)
	}
	c := got.Config
	if strings.Join(c.Entrypoint, " ") != "/app" || strings.Join(c.Cmd, " ") != "sleep 5" || c.StopSignal != "SIGINT" ||
		c.User != "65534" || c.WorkingDir != "/tmp" || len(c.Env) != 2 || c.Env[1] != "GREETING=hi" {
		t.Errorf("config = %+v", c)
	}
	if len(got.Layers) != 1 {
		t.Fatalf("%d layers, want 1", len(got.Layers))
	}
	root := got.Layers[0].Dir
	fi, err := os.Stat(filepath.Join(root, "app"))
	if err != nil || fi.Mode().Perm()&0o111 == 0 {
		t.Fatalf("/app: %v, %v; want an executable", fi, err)
	}
	if _, err := os.Stat(Busybox); err == nil {
		if target, err := os.Readlink(filepath.Join(root, "bin", "sh")); err != nil || target != "busybox" {
			t.Errorf("/bin/sh -> %q, %v", target, err)
		}
	}
	testProgram(t, filepath.Join(root, "app"))
}

// testProgram runs the unpacked binary directly: it is static, so it needs no rootfs.
func testProgram(t *testing.T, app string) {
	run := func(args ...string) (string, int) {
		t.Helper()
		cmd := exec.CommandContext(t.Context(), app, args...)
		cmd.Env = []string{"B=2", "A=1"}
		out, err := cmd.Output()
		if ee, ok := err.(*exec.ExitError); ok {
			return string(out), ee.ExitCode()
		}
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		return string(out), 0
	}
	if out, _ := run("env"); out != "A=1\nB=2\n" {
		t.Errorf("env = %q", out)
	}
	if _, code := run("exit", "3"); code != 3 {
		t.Errorf("exit 3 gave %d", code)
	}
	if out, _ := run("print", "3"); out != "line 1\nline 2\nline 3\n" {
		t.Errorf("print 3 = %q", out)
	}
	if out, _ := run("flood", "3", "14"); out != "000000000 klmn\n000000001 klmn\n000000002 klmn\n" {
		t.Errorf("flood 3 14 = %q", out)
	}
	if _, code := run("flood", "3", "5"); code != 2 {
		t.Errorf("flood with 5-byte lines exited %d, want 2", code)
	}
	testFloodStats(t, app)
	if out, _ := run("whoami"); !strings.HasPrefix(out, "uid=") {
		t.Errorf("whoami = %q", out)
	}
	if out, _ := run("caps"); !strings.Contains(out, "CapEff:") {
		t.Errorf("caps = %q", out)
	}
	file := filepath.Join(t.TempDir(), "f")
	run("write", file, "text")
	if out, _ := run("cat", file); out != "text" {
		t.Errorf("cat = %q", out)
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(app, "serve", addr)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	get := func(path string) int {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		for {
			req, _ := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("http://%s%s", addr, path), nil)
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				return resp.StatusCode
			}
			if ctx.Err() != nil {
				t.Fatalf("GET %s: %v", path, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	for path, want := range map[string]int{"/health": 200, "/": 200, "/status/418": 418, "/sleep/5": 200} {
		if got := get(path); got != want {
			t.Errorf("GET %s = %d, want %d", path, got, want)
		}
	}
}

// testFloodStats checks a large flood: every line in order, the right size, and the stats line.
func testFloodStats(t *testing.T, app string) {
	cmd := exec.CommandContext(t.Context(), app, "flood", "100000", "100", "stats")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("flood: %v: %s", err, stderr.String())
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != 100000 {
		t.Fatalf("flood 100000 wrote %d lines", len(lines))
	}
	for i, l := range lines {
		if len(l) != 100 || l[:10] != fmt.Sprintf("%09d ", i) {
			t.Fatalf("line %d = %q (%d bytes)", i, l, len(l))
		}
	}
	var n, size, start, end int64
	if _, err := fmt.Sscanf(stderr.String(), "flood lines=%d bytes=%d start=%d end=%d", &n, &size, &start, &end); err != nil ||
		n != 100000 || size != 100 || end < start || start < time.Now().Add(-time.Minute).UnixNano() {
		t.Errorf("stats = %q (%v)", stderr.String(), err)
	}
}
