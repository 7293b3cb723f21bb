package runtime

import (
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
)

// TestMountsUnder mounts two tmpfs stacked at one point, another inside them, and binds a
// namespace file (as runsc leaves one) below a directory: the walk finds the top of the stack and
// the file, the mount table all four, and unmountUnder leaves none.
func TestMountsUnder(t *testing.T) {
	dir := t.TempDir()
	outer, inner := filepath.Join(dir, "a"), filepath.Join(dir, "a", "inner")
	nsFile := filepath.Join(dir, "b", "c", "netns")
	if err := os.MkdirAll(outer, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(nsFile), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(nsFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "b", "plain"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	mount := func(src, target, fstype string, flags uintptr) {
		t.Helper()
		if err := syscall.Mount(src, target, fstype, flags, ""); err != nil {
			t.Fatalf("mount %s: %v", target, err)
		}
		t.Cleanup(func() { _ = syscall.Unmount(target, syscall.MNT_DETACH) })
	}
	mount("tmpfs", outer, "tmpfs", 0)
	mount("tmpfs", outer, "tmpfs", 0) // stacked on the first: the walk sees this one
	if err := os.Mkdir(inner, 0o700); err != nil {
		t.Fatal(err)
	}
	mount("tmpfs", inner, "tmpfs", 0)
	mount("/proc/self/ns/net", nsFile, "", syscall.MS_BIND)

	got, err := mountsUnder(dir)
	slices.Sort(got)
	if want := []string{outer, nsFile}; err != nil || !slices.Equal(got, want) {
		t.Fatalf("mountsUnder = %v, %v; want %v", got, err, want)
	}
	all, err := mountsUnderFromTable(dir)
	slices.Sort(all)
	if want := []string{outer, outer, inner, nsFile}; err != nil || !slices.Equal(all, want) {
		t.Fatalf("mountsUnderFromTable = %v, %v; want %v", all, err, want)
	}
	if got, err := mountsUnder(filepath.Join(dir, "b", "plain")); err != nil || len(got) != 0 {
		t.Fatalf("mountsUnder of a plain file = %v, %v", got, err)
	}
	if got, err := mountsUnder(filepath.Join(dir, "gone")); err != nil || len(got) != 0 {
		t.Fatalf("mountsUnder of nothing = %v, %v", got, err)
	}

	if err := unmountUnder(dir); err != nil {
		t.Fatal(err)
	}
	if left, err := mountsUnderFromTable(dir); err != nil || len(left) != 0 {
		t.Fatalf("after unmountUnder the mount table still has %v (%v)", left, err)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
}

func TestUnescapeMountinfo(t *testing.T) {
	for in, want := range map[string]string{
		`/plain/path`:    "/plain/path",
		`/a\040b`:        "/a b",
		`/tab\011nl\012`: "/tab\tnl\n",
		`/back\134slash`: `/back\slash`,
		`/not\09octal`:   `/not\09octal`,
		`/short\04`:      `/short\04`,
		`/end\`:          `/end\`,
	} {
		if got := unescapeMountinfo(in); got != want {
			t.Errorf("unescapeMountinfo(%q) = %q, want %q", in, got, want)
		}
	}
	for _, c := range []struct {
		path, dir string
		want      bool
	}{{"/a/b", "/a", true}, {"/a", "/a", true}, {"/ab", "/a", false}, {"/x", "/", true}, {"/a", "/a/b", false}} {
		if got := under(c.path, c.dir); got != c.want {
			t.Errorf("under(%q, %q) = %v", c.path, c.dir, got)
		}
	}
}
