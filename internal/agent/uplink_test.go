package agent

import (
	"net/netip"
	"os"
	"testing"
)

func TestUplinkPrefixClaims(t *testing.T) {
	claims := t.TempDir()
	pool := netip.MustParsePrefix("169.254.32.0/22")
	a, b := t.TempDir(), t.TempDir()
	pa, err := UplinkPrefix(a, pool, claims)
	if err != nil {
		t.Fatal(err)
	}
	pb, err := UplinkPrefix(b, pool, claims)
	if err != nil {
		t.Fatal(err)
	}
	if pa == pb || !pool.Contains(pa.Addr()) || !pool.Contains(pb.Addr()) || pa.Bits() != 24 {
		t.Fatalf("two planes got %s and %s", pa, pb)
	}
	if again, err := UplinkPrefix(a, pool, claims); err != nil || again != pa {
		t.Fatalf("restart got %s, %v; want %s", again, err, pa)
	}
	// A plane whose state dir is gone leaves its /24 to the next one.
	gone := t.TempDir() + "/gone"
	pg, err := UplinkPrefix(gone, pool, claims)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(gone); err != nil {
		t.Fatal(err)
	}
	if pc, err := UplinkPrefix(t.TempDir(), pool, claims); err != nil || pc != pg {
		t.Fatalf("after its owner went: got %s, %v; want %s", pc, err, pg)
	}
	for range 2 {
		_, _ = UplinkPrefix(t.TempDir(), pool, claims)
	}
	if _, err := UplinkPrefix(t.TempDir(), pool, claims); err == nil {
		t.Fatal("a full pool handed out a prefix")
	}
}
