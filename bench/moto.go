package bench

import (
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/gantry-dev/gantry/internal/e2e"
)

// StartMoto runs moto_server (motoCmd) on a free loopback port, the benchmarks' peer, and waits
// until it answers. stop ends it.
func StartMoto(ctx context.Context, motoCmd string) (url string, stop func(), err error) {
	path, err := exec.LookPath(motoCmd)
	if err != nil {
		return "", nil, fmt.Errorf("the peer %q is not installed (pip install 'moto[server]'): %w", motoCmd, err)
	}
	addr, err := e2e.FreeAddr()
	if err != nil {
		return "", nil, err
	}
	host, port, _ := strings.Cut(addr, ":")
	cmd := exec.Command(path, "-H", host, "-p", port)
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("start moto_server: %w", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	stop = func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}
	url = "http://" + addr
	if err := waitHTTP(ctx, url+"/moto-api/", done); err != nil {
		stop()
		return "", nil, fmt.Errorf("moto_server: %w", err)
	}
	return url, stop, nil
}

// waitHTTP polls url until it answers at all, the process ends, or a minute passes.
func waitHTTP(ctx context.Context, url string, exited <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		if resp, err := client.Get(url); err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("exited before answering")
		case <-ctx.Done():
			return fmt.Errorf("not answering %s after a minute", url)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
