package netns

import (
	"net"
	"os"
	"path/filepath"
	"testing"
)

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("needs root: kernel tests are required, run the suite as root")
	}
}

func TestCreateDoDelete(t *testing.T) {
	requireRoot(t)
	path := filepath.Join(t.TempDir(), "ns1")
	created, err := Create(path, func() error { return Sysctl("net/ipv4/ip_forward", "1") })
	if err != nil || !created {
		t.Fatalf("Create = %v, %v", created, err)
	}
	t.Cleanup(func() { Delete(path) })
	if created, err := Create(path, nil); err != nil || created {
		t.Fatalf("second Create = %v, %v, want false, nil", created, err)
	}
	var inside string
	if err := Do(path, func() error {
		b, err := os.ReadFile("/proc/sys/net/ipv4/ip_forward")
		inside = string(b)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if inside != "1\n" {
		t.Fatalf("ip_forward inside = %q", inside)
	}
	// A fresh namespace has only lo, and it is down: listening on 127.0.0.1 fails.
	if err := Do(path, func() error {
		ifs, err := net.Interfaces()
		if len(ifs) != 1 || ifs[0].Name != "lo" {
			t.Errorf("interfaces inside = %v", ifs)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if err := Delete(path); err != nil {
		t.Fatal(err)
	}
	if Exists(path) {
		t.Fatal("still exists")
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("file left: %v", err)
	}
	if err := Delete(path); err != nil {
		t.Fatalf("second Delete: %v", err)
	}
}

func TestDoMissing(t *testing.T) {
	if err := Do(filepath.Join(t.TempDir(), "nope"), func() error { return nil }); err == nil {
		t.Fatal("Do on a missing namespace succeeded")
	}
}

func TestMove(t *testing.T) {
	requireRoot(t)
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "a"), filepath.Join(dir, "sub", "b")
	if _, err := Create(src, func() error { return Sysctl("net/ipv4/ip_forward", "1") }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { Delete(src); Delete(dst) })
	if err := Move(src, dst); err != nil {
		t.Fatal(err)
	}
	if Exists(src) {
		t.Error("the source is still a namespace")
	}
	if _, err := os.Stat(src); !os.IsNotExist(err) {
		t.Errorf("source file left: %v", err)
	}
	var inside string
	if err := Do(dst, func() error {
		b, err := os.ReadFile("/proc/sys/net/ipv4/ip_forward")
		inside = string(b)
		return err
	}); err != nil || inside != "1\n" {
		t.Fatalf("the moved namespace is not the one made: ip_forward %q, %v", inside, err)
	}
	if err := Move(src, dst); err == nil {
		t.Error("moving a missing namespace succeeded")
	}
	if _, err := Create(src, nil); err != nil {
		t.Fatal(err)
	}
	if err := Move(src, dst); err == nil {
		t.Error("moving onto an existing file succeeded")
	}
	if !Exists(src) || !Exists(dst) {
		t.Error("a refused move changed a namespace")
	}
}
