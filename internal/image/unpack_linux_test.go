package image

import (
	"archive/tar"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

// hostileSetup lays out base/canary/secret and an empty layer root at base/a/b/root, so that
// "../../../canary" from the root reaches the canary.
func hostileSetup(t *testing.T) (base, root string) {
	base = t.TempDir()
	root = filepath.Join(base, "a", "b", "root")
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(base, "canary"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(base, "canary", "secret"), []byte("orig"), 0o644); err != nil {
		t.Fatal(err)
	}
	return base, root
}

func checkCanary(t *testing.T, base string) {
	t.Helper()
	names := func(dir string) []string {
		ents, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range ents {
			out = append(out, e.Name())
		}
		return out
	}
	if got := names(base); !slices.Equal(got, []string{"a", "canary"}) {
		t.Errorf("base dir holds %v, want [a canary]", got)
	}
	if got := names(filepath.Join(base, "canary")); !slices.Equal(got, []string{"secret"}) {
		t.Errorf("canary dir holds %v, want [secret]", got)
	}
	if got := names(filepath.Join(base, "a", "b")); !slices.Equal(got, []string{"root"}) {
		t.Errorf("root's parent holds %v, want [root]", got)
	}
	b, err := os.ReadFile(filepath.Join(base, "canary", "secret"))
	if err != nil || string(b) != "orig" {
		t.Errorf("canary secret = %q, %v; want orig", b, err)
	}
	var st unix.Stat_t
	if err := unix.Lstat(filepath.Join(base, "canary", "secret"), &st); err == nil && st.Nlink != 1 {
		t.Errorf("canary secret has %d links, want 1", st.Nlink)
	}
}

func TestUnpackHostile(t *testing.T) {
	requireRoot(t)
	tests := []struct {
		name    string
		entries func(base string) []entry
		wantErr error
		check   func(t *testing.T, root string)
	}{
		{name: "dotdot file", wantErr: ErrUnsafePath, entries: func(string) []entry {
			return []entry{file("../../../canary/pwned", "x")}
		}},
		{name: "nested dotdot", wantErr: ErrUnsafePath, entries: func(string) []entry {
			return []entry{dir("x/"), file("x/../../../../canary/pwned", "x")}
		}},
		{name: "dotdot dir", wantErr: ErrUnsafePath, entries: func(string) []entry {
			return []entry{dir("../../../canary/sub/")}
		}},
		{name: "absolute path is taken inside the root", entries: func(base string) []entry {
			return []entry{file(filepath.Join(base, "canary", "pwned"), "x")}
		}, check: func(t *testing.T, root string) {
			if _, err := os.Stat(filepath.Join(root, filepath.Join(filepath.Dir(filepath.Dir(filepath.Dir(root))), "canary", "pwned"))); err != nil {
				t.Errorf("absolute entry not created inside root: %v", err)
			}
		}},
		{name: "file through absolute symlink", wantErr: ErrUnsafePath, entries: func(base string) []entry {
			return []entry{symlink("evil", filepath.Join(base, "canary")), file("evil/pwned", "x")}
		}},
		{name: "file through relative symlink", wantErr: ErrUnsafePath, entries: func(string) []entry {
			return []entry{symlink("evil", "../../../canary"), file("evil/pwned", "x")}
		}},
		{name: "file through symlink to root", wantErr: ErrUnsafePath, entries: func(string) []entry {
			return []entry{symlink("evil", "/"), file("evil/etc/passwd", "x")}
		}},
		{name: "dir through symlink", wantErr: ErrUnsafePath, entries: func(base string) []entry {
			return []entry{symlink("evil", filepath.Join(base, "canary")), dir("evil/sub/")}
		}},
		{name: "symlink chain", wantErr: ErrUnsafePath, entries: func(base string) []entry {
			return []entry{dir("d/"), symlink("d/l1", "../l2"), symlink("l2", filepath.Join(base, "canary")), file("d/l1/pwned", "x")}
		}},
		{name: "file replaces symlink instead of following it", entries: func(base string) []entry {
			return []entry{symlink("evil", filepath.Join(base, "canary", "secret")), file("evil", "pwned")}
		}, check: func(t *testing.T, root string) {
			fi, err := os.Lstat(filepath.Join(root, "evil"))
			if err != nil || !fi.Mode().IsRegular() {
				t.Errorf("evil = %v, %v; want a regular file", fi, err)
			}
		}},
		{name: "hard link outside", wantErr: ErrUnsafePath, entries: func(string) []entry {
			return []entry{hardlink("hl", "../../../canary/secret")}
		}},
		{name: "hard link absolute outside is inside", wantErr: unix.ENOENT, entries: func(base string) []entry {
			return []entry{hardlink("hl", filepath.Join(base, "canary", "secret"))}
		}},
		{name: "hard link through symlink", wantErr: ErrUnsafePath, entries: func(base string) []entry {
			return []entry{symlink("evil", filepath.Join(base, "canary")), hardlink("hl", "evil/secret")}
		}},
		{name: "hard link to symlink links the symlink", entries: func(base string) []entry {
			return []entry{symlink("evil", filepath.Join(base, "canary", "secret")), hardlink("hl", "evil"), file("hl", "pwned")}
		}, check: func(t *testing.T, root string) {
			if fi, err := os.Lstat(filepath.Join(root, "evil")); err != nil || fi.Mode()&os.ModeSymlink == 0 {
				t.Errorf("evil = %v, %v; want the symlink kept", fi, err)
			}
		}},
		{name: "whiteout through symlink", wantErr: ErrUnsafePath, entries: func(base string) []entry {
			return []entry{symlink("evil", filepath.Join(base, "canary")), file("evil/.wh.secret", "")}
		}},
		{name: "opaque through symlink", wantErr: ErrUnsafePath, entries: func(base string) []entry {
			return []entry{symlink("evil", filepath.Join(base, "canary")), file("evil/.wh..wh..opq", "")}
		}},
		{name: "whiteout of dotdot", wantErr: ErrUnsafePath, entries: func(string) []entry {
			return []entry{dir("d/"), file("d/.wh...", "")}
		}},
		{name: "whiteout of dot", wantErr: ErrUnsafePath, entries: func(string) []entry {
			return []entry{file(".wh..", "")}
		}},
		{name: "overlay xattrs are dropped", entries: func(string) []entry {
			e := file("f", "x")
			e.xattrs = map[string]string{"trusted.overlay.redirect": "/etc", "trusted.overlay.opaque": "y", "user.ok": "1"}
			return []entry{e}
		}, check: func(t *testing.T, root string) {
			p := filepath.Join(root, "f")
			if _, err := unix.Getxattr(p, "trusted.overlay.redirect", make([]byte, 64)); !errors.Is(err, unix.ENODATA) {
				t.Errorf("trusted.overlay.redirect: err %v, want ENODATA", err)
			}
			buf := make([]byte, 8)
			if n, err := unix.Getxattr(p, "user.ok", buf); err != nil || string(buf[:n]) != "1" {
				t.Errorf("user.ok = %q, %v; want 1", buf[:n], err)
			}
		}},
		{name: "device nodes are skipped", entries: func(string) []entry {
			return []entry{dir("dev/"), {name: "dev/sda", typ: tar.TypeBlock, major: 8, minor: 0, mode: 0o666}, {name: "dev/mem", typ: tar.TypeChar, major: 1, minor: 1}}
		}, check: func(t *testing.T, root string) {
			for _, n := range []string{"dev/sda", "dev/mem"} {
				if _, err := os.Lstat(filepath.Join(root, n)); !os.IsNotExist(err) {
					t.Errorf("%s: err %v, want not created", n, err)
				}
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base, root := hostileSetup(t)
			err := Unpack(bytes.NewReader(tarBytes(t, tt.entries(base)...)), root, UnpackOptions{})
			if tt.wantErr == nil && err != nil {
				t.Fatalf("Unpack: %v", err)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("Unpack err = %v, want %v", err, tt.wantErr)
			}
			checkCanary(t, base)
			if tt.check != nil {
				tt.check(t, root)
			}
		})
	}
}

func TestUnpackWhiteouts(t *testing.T) {
	requireRoot(t)
	root := t.TempDir()
	layer := tarBytes(t,
		file(".wh.gone", ""),
		dir("d/"),
		file("d/.wh..wh..opq", ""),
		file("d/kept", "k"),
		file("e/.wh..wh..opq", ""), // opaque marker before (and without) its directory's entry
		file(".wh..wh.plnk", ""),
		file("f", "was here"),
		file(".wh.f", ""), // a whiteout replaces an earlier entry of the same layer
	)
	if err := Unpack(bytes.NewReader(layer), root, UnpackOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"gone", "f"} {
		var st unix.Stat_t
		if err := unix.Lstat(filepath.Join(root, n), &st); err != nil {
			t.Fatalf("whiteout %s: %v", n, err)
		}
		if st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != 0 {
			t.Errorf("whiteout %s: mode %o rdev %d, want char device 0/0", n, st.Mode, st.Rdev)
		}
	}
	for _, d := range []string{"d", "e"} {
		buf := make([]byte, 4)
		n, err := unix.Getxattr(filepath.Join(root, d), overlayOpaque, buf)
		if err != nil || string(buf[:n]) != "y" {
			t.Errorf("%s opaque xattr = %q, %v; want y", d, buf[:n], err)
		}
	}
	if b, err := os.ReadFile(filepath.Join(root, "d", "kept")); err != nil || string(b) != "k" {
		t.Errorf("d/kept = %q, %v", b, err)
	}
	ents, _ := os.ReadDir(root)
	for _, e := range ents {
		if len(e.Name()) >= 4 && e.Name()[:4] == ".wh." {
			t.Errorf("whiteout marker %q left in layer", e.Name())
		}
	}
}

func TestUnpackMetadata(t *testing.T) {
	requireRoot(t)
	root := t.TempDir()
	suid := file("bin/tool", "#!/bin/sh\n")
	suid.mode, suid.uid, suid.gid = 0o4755, 1000, 2000
	private := dir("private/")
	private.mode, private.uid = 0o700, 33
	layer := tarBytes(t,
		dir("bin/"), suid, private,
		file("private/data", "d"),
		symlink("bin/sh", "/bin/busybox"),
		hardlink("bin/tool2", "bin/tool"),
		entry{name: "fifo", typ: tar.TypeFifo, mode: 0o600},
		entry{name: "null", typ: tar.TypeChar, major: 1, minor: 3, mode: 0o666},
	)
	if err := Unpack(bytes.NewReader(layer), root, UnpackOptions{AllowDevices: true}); err != nil {
		t.Fatal(err)
	}
	stat := func(n string) unix.Stat_t {
		t.Helper()
		var st unix.Stat_t
		if err := unix.Lstat(filepath.Join(root, n), &st); err != nil {
			t.Fatal(err)
		}
		return st
	}
	tool := stat("bin/tool")
	if tool.Mode&0o7777 != 0o4755 || tool.Uid != 1000 || tool.Gid != 2000 || tool.Nlink != 2 {
		t.Errorf("bin/tool mode %o uid %d gid %d links %d", tool.Mode&0o7777, tool.Uid, tool.Gid, tool.Nlink)
	}
	if tool.Mtim.Sec != testTime.Unix() {
		t.Errorf("bin/tool mtime %d, want %d", tool.Mtim.Sec, testTime.Unix())
	}
	if tool2 := stat("bin/tool2"); tool2.Ino != tool.Ino {
		t.Errorf("bin/tool2 is not a hard link of bin/tool")
	}
	if p := stat("private"); p.Mode&0o7777 != 0o700 || p.Uid != 33 || p.Mtim.Sec != testTime.Unix() {
		t.Errorf("private mode %o uid %d mtime %d", p.Mode&0o7777, p.Uid, p.Mtim.Sec)
	}
	if target, err := os.Readlink(filepath.Join(root, "bin/sh")); err != nil || target != "/bin/busybox" {
		t.Errorf("bin/sh -> %q, %v", target, err)
	}
	if f := stat("fifo"); f.Mode&unix.S_IFMT != unix.S_IFIFO {
		t.Errorf("fifo mode %o", f.Mode)
	}
	if n := stat("null"); n.Mode&unix.S_IFMT != unix.S_IFCHR || n.Rdev != unix.Mkdev(1, 3) {
		t.Errorf("null mode %o rdev %d", n.Mode, n.Rdev)
	}
}

func TestCleanName(t *testing.T) {
	tests := []struct {
		in, want string
		bad      bool
	}{
		{in: "./", want: ""},
		{in: "/", want: ""},
		{in: "./etc/passwd", want: "etc/passwd"},
		{in: "/etc/../etc/passwd", want: "etc/passwd"},
		{in: "a/../b", want: "b"},
		{in: "..", bad: true},
		{in: "../x", bad: true},
		{in: "a/../../x", bad: true},
		{in: "a\x00b", bad: true},
	}
	for _, tt := range tests {
		got, err := cleanName(tt.in)
		if tt.bad != (err != nil) || got != tt.want {
			t.Errorf("cleanName(%q) = %q, %v", tt.in, got, err)
		}
	}
}
