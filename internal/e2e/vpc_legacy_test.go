package e2e

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestVPCLegacyDataPlaneDir starts a server on a data dir in which an older server kept its VPC
// data plane: <data-dir>/net, from before the data plane moved to the runtime's tmpfs
// (<data-dir>/run/net). The data plane stays there: a task's namespace is made there, the task
// stays reachable across a kill -9 and a restart (its namespace found there again), and its stop
// removes the namespace.
func TestVPCLegacyDataPlaneDir(t *testing.T) {
	dir := t.TempDir()
	legacy := filepath.Join(dir, "net")
	if err := os.Mkdir(legacy, 0o700); err != nil {
		t.Fatal(err)
	}
	e := newVPCEnv(t, dir)
	a := e.createVPC(t, "10.79.0.0/16", "10.79.0.0/24")
	web, client := e.createGroup(t, a.vpc, "web"), e.createGroup(t, a.vpc, "client")
	e.authorize(t, web, tcpFromGroup(8080, client))
	arn, task := e.serve(t, a.subnet, web)
	eni := detail(task, "networkInterfaceId")
	namespace := filepath.Join(legacy, "netns", "eni", eni)
	if _, err := os.Stat(namespace); err != nil {
		t.Fatalf("the task's namespace is not in the legacy data plane dir: %v", err)
	}
	if moved, _ := filepath.Glob(filepath.Join(dir, "run", "net", "netns", "*", "*")); len(moved) != 0 {
		t.Fatalf("namespaces under run/net with a legacy data plane dir: %v", moved)
	}
	url := "http://" + detail(task, "privateIPv4Address") + ":8080/health"

	e.s.Kill()
	e.reconnect(t, startServer(t, dir))
	if got := e.exitOf(t, a.subnet, []string{client}, fetchScript(url, 5)); got != 0 {
		t.Fatalf("after a server restart: client exit %d, want 0", got)
	}
	if got := e.exitOf(t, a.subnet, nil, fetchScript(url, 1)); got != 1 {
		t.Fatalf("after a server restart, a task of the vpc's default group: exit %d, want 1 (no rule allows it)", got)
	}
	e.stop(t, arn)
	deadline := time.Now().Add(10 * time.Second)
	for {
		left, _ := filepath.Glob(filepath.Join(legacy, "netns", "eni", "*"))
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("task namespaces left in the legacy data plane dir after every task stopped: %v", left)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
