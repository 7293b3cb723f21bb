package runtime

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// layeredRoot writes an overlay's directories as image.Unpack leaves them, top first: an empty
// upper, a top layer that replaces, deletes (a whiteout) and hides (an opaque directory) what
// the bottom layer has, and links across the layers.
func layeredRoot(t *testing.T) rootView {
	t.Helper()
	upper, top, bottom := t.TempDir(), t.TempDir(), t.TempDir()
	write := func(dir, p, content string) {
		must(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755))
		must(t, os.WriteFile(filepath.Join(dir, p), []byte(content), 0o644))
	}
	write(bottom, "etc/passwd", "root:x:0:0:root:/root-bottom:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n")
	write(bottom, "etc/group", "root:x:0:\napps:x:1000:\n")
	write(bottom, "gone/passwd", "root:x:0:0:root:/gone:/bin/sh\n")
	write(bottom, "hidden/passwd", "root:x:0:0:root:/hidden:/bin/sh\n")
	write(bottom, "kept/passwd", "root:x:0:0:root:/kept:/bin/sh\n")
	must(t, os.MkdirAll(filepath.Join(bottom, "work"), 0o755))
	must(t, os.Symlink("/etc", filepath.Join(bottom, "etclink")))

	write(top, "etc/passwd", "root:x:0:0:root:/root-top:/bin/sh\n")
	must(t, unix.Mknod(filepath.Join(top, "gone"), unix.S_IFCHR, 0))
	write(top, "hidden/other", "x")
	must(t, unix.Setxattr(filepath.Join(top, "hidden"), "trusted.overlay.opaque", []byte("y"), 0))
	must(t, os.MkdirAll(filepath.Join(top, "kept"), 0o755))
	must(t, os.Symlink("../../../../../../../../etc", filepath.Join(top, "escape")))
	must(t, os.MkdirAll(filepath.Join(top, "work"), 0o755))
	must(t, os.Symlink("/proc/self/fd/7", filepath.Join(top, "work", "evil")))
	return rootView{upper, top, bottom}
}

// TestRootViewMergesLayers: an overlay's directories read as the mounted overlay would show
// them: the top layer's file wins, a whiteout deletes, an opaque directory hides the one below
// while a plain one merges with it, symlinks resolve across layers and never out of the root,
// and the working directory check sees a link into /proc in any layer.
func TestRootViewMergesLayers(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("needs root: whiteouts are character devices and opaque directories trusted xattrs")
	}
	v := layeredRoot(t)
	read := func(p string) string {
		t.Helper()
		b, err := readRootFile(v, p)
		if errors.Is(err, os.ErrNotExist) {
			return "(none)"
		}
		if err != nil {
			t.Fatalf("read %s: %v", p, err)
		}
		home := strings.Split(strings.Split(string(b), "\n")[0], ":")
		return home[len(home)-2]
	}
	for p, want := range map[string]string{
		"/etc/passwd":     "/root-top", // the top layer's copy
		"/etclink/passwd": "/root-top", // a bottom symlink to a merged directory
		"/gone/passwd":    "(none)",    // whited out
		"/hidden/passwd":  "(none)",    // under an opaque directory
		"/kept/passwd":    "/kept",     // a plain directory merges with the one below
		"/escape/passwd":  "/root-top", // ../ past the root stays at the root
	} {
		if got := read(p); got != want {
			t.Errorf("%s: home %q, want %q", p, got, want)
		}
	}
	// The bottom layer's user database is read through the top's /etc: the top passwd wins,
	// the bottom group file shows through.
	if u, home, err := resolveUser(v, "0:apps"); err != nil || u.UID != 0 || u.GID != 1000 || home != "/root-top" {
		t.Errorf("resolveUser(0:apps) = %+v, %q, %v", u, home, err)
	}
	if _, _, err := resolveUser(v, "app"); err == nil {
		t.Errorf("user app resolved, but the top layer's passwd replaces the one that has it")
	}
	if got, err := checkCwd(v, "/work"); err != nil || got != "/work" {
		t.Errorf("checkCwd(/work) = %q, %v", got, err)
	}
	if _, err := checkCwd(v, "/work/evil"); err == nil {
		t.Errorf("a working directory through a top layer's link into /proc was accepted")
	}
	if _, fi, err := v.lookup("/gone"); fi != nil || err != nil {
		t.Errorf("lookup(/gone) = %v, %v; want a whiteout to hide it", fi, err)
	}
}

// TestRootOverlayInSpec: a root overlay becomes the spec's first mount, at "/", over the empty
// Rootfs; one runc could not mount is refused.
func TestRootOverlayInSpec(t *testing.T) {
	root := fakeRootfs(t)
	c := ContainerSpec{Name: "app", Rootfs: t.TempDir(), Args: []string{"/app"},
		RootOverlay: &Overlay{Lower: []string{root}, Upper: t.TempDir(), Work: t.TempDir()}}
	s, err := buildSpec(c, specOptions{})
	if err != nil {
		t.Fatal(err)
	}
	m := s.Mounts[0]
	want := []string{"lowerdir=" + root, "upperdir=" + c.RootOverlay.Upper, "workdir=" + c.RootOverlay.Work}
	if m.Destination != "/" || m.Type != "overlay" || strings.Join(m.Options, ",") != strings.Join(want, ",") || s.Root.Path != c.Rootfs {
		t.Fatalf("first mount %+v, root %+v; want the overlay %v at / over %s", m, s.Root, want, c.Rootfs)
	}
	if s.Process.Env[len(s.Process.Env)-1] != "HOME=/root" {
		t.Errorf("env %v: HOME not read from the overlay's layers", s.Process.Env)
	}
	long := *c.RootOverlay
	long.Lower = []string{root, "/" + strings.Repeat("l", maxOverlayData)}
	bad := []Overlay{{Lower: []string{"relative"}, Upper: "/u", Work: "/w"}, {Lower: []string{"/a:b"}, Upper: "/u", Work: "/w"},
		{Lower: []string{"/l"}, Upper: "/u"}, long}
	for _, ov := range bad {
		c.RootOverlay = &ov
		if _, err := buildSpec(c, specOptions{}); !errors.Is(err, ErrInvalidSpec) {
			t.Errorf("overlay %.80v: err %v, want ErrInvalidSpec", ov, err)
		}
	}
}
