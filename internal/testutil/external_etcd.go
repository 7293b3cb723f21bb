package testutil

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// externalEtcdBin is Debian's etcd server (package etcd-server); PATH is tried first.
const externalEtcdBin = "/usr/bin/etcd"

// StartExternalEtcd runs a separate etcd server process, as a user's own cluster would be, on
// free loopback ports with its data in a test directory, and returns its client endpoint
// (http://127.0.0.1:port): what a user passes to --etcd-endpoints. The process is killed when
// the test ends. A missing binary fails the test: install the etcd-server package.
func StartExternalEtcd(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("etcd")
	if err != nil {
		bin = externalEtcdBin
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("external etcd: %v (apt-get install etcd-server)", err)
	}
	var lastErr error
	for range 3 { // a free port can be taken between picking it and etcd binding it
		endpoint, err := startEtcdProcess(t, bin)
		if err == nil {
			return endpoint
		}
		lastErr = err
	}
	t.Fatalf("external etcd: %v", lastErr)
	return ""
}

func startEtcdProcess(t testing.TB, bin string) (string, error) {
	clientAddr, err := freeLoopbackAddr()
	if err != nil {
		return "", err
	}
	peerAddr, err := freeLoopbackAddr()
	if err != nil {
		return "", err
	}
	dir := t.TempDir()
	clientURL, peerURL := "http://"+clientAddr, "http://"+peerAddr
	logPath := filepath.Join(dir, "etcd.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return "", err
	}
	defer logFile.Close()
	cmd := exec.Command(bin,
		"--name", "gantry-test",
		"--data-dir", filepath.Join(dir, "data"),
		"--listen-client-urls", clientURL, "--advertise-client-urls", clientURL,
		"--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL,
		"--initial-cluster", "gantry-test="+peerURL,
		"--logger", "zap", "--log-level", "warn")
	cmd.Env = withoutEtcdVars(os.Environ())
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("start %s: %w", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		_ = cmd.Process.Kill()
		<-exited
	}
	if err := waitHealthy(clientURL, exited); err != nil {
		stop()
		out, _ := os.ReadFile(logPath)
		return "", fmt.Errorf("%w; log:\n%s", err, lastBytes(out, 2000))
	}
	t.Cleanup(stop)
	return clientURL, nil
}

// waitHealthy polls etcd's /health until it reports a leader, the process exits, or 30 s pass.
func waitHealthy(clientURL string, exited <-chan error) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, clientURL+"/health", nil)
		if resp, err := client.Do(req); err == nil {
			var body bytes.Buffer
			_, _ = body.ReadFrom(resp.Body)
			resp.Body.Close()
			if strings.Contains(body.String(), `"health":"true"`) {
				return nil
			}
		}
		select {
		case err := <-exited:
			return fmt.Errorf("etcd exited before serving: %v", err)
		case <-ctx.Done():
			return fmt.Errorf("etcd at %s not healthy after 30s", clientURL)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// freeLoopbackAddr returns a loopback host:port that was free a moment ago.
func freeLoopbackAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("pick a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// withoutEtcdVars drops ETCD_* settings the caller's environment may carry, which etcd would
// otherwise take as flags.
func withoutEtcdVars(env []string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "ETCD_") {
			out = append(out, kv)
		}
	}
	return out
}

func lastBytes(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
