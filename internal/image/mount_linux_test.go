package image

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

// twoLayers unpacks a base layer and a top layer that deletes, hides and overwrites its files.
func twoLayers(t *testing.T) []string {
	t.Helper()
	dirs := []string{t.TempDir(), t.TempDir()}
	bottom := tarBytes(t, file("a", "1"), file("b", "b"), dir("d/"), file("d/x", "x"), file("keep", "k"))
	top := tarBytes(t, file("a", "2"), file(".wh.b", ""), dir("d/"), file("d/.wh..wh..opq", ""), file("d/y", "y"))
	for i, l := range [][]byte{bottom, top} {
		if err := Unpack(bytes.NewReader(l), dirs[i], UnpackOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	return dirs
}

func readDir(t *testing.T, dir string) []string {
	t.Helper()
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

func checkMerged(t *testing.T, root string) {
	t.Helper()
	if b, err := os.ReadFile(filepath.Join(root, "a")); err != nil || string(b) != "2" {
		t.Errorf("a = %q, %v; want the top layer's 2", b, err)
	}
	if _, err := os.Stat(filepath.Join(root, "b")); !os.IsNotExist(err) {
		t.Errorf("b: %v, want hidden by whiteout", err)
	}
	if got := readDir(t, filepath.Join(root, "d")); !slices.Equal(got, []string{"y"}) {
		t.Errorf("d holds %v, want [y] (opaque)", got)
	}
	if got := readDir(t, root); !slices.Equal(got, []string{"a", "d", "keep"}) {
		t.Errorf("root holds %v", got)
	}
}

func TestMountOverlay(t *testing.T) {
	requireRoot(t)
	layers := twoLayers(t)
	dir := t.TempDir()
	upper, work, target := filepath.Join(dir, "upper"), filepath.Join(dir, "work"), filepath.Join(dir, "rootfs")
	for _, d := range []string{upper, work, target} {
		os.Mkdir(d, 0o755)
	}
	if err := Mount(layers, upper, work, target); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { Unmount(target) })
	checkMerged(t, target)

	if err := os.WriteFile(filepath.Join(target, "new"), []byte("n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(target, "keep")); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(upper, "new")); err != nil || string(b) != "n" {
		t.Errorf("upper/new = %q, %v; writes must land in upper", b, err)
	}
	var st unix.Stat_t
	if err := unix.Lstat(filepath.Join(upper, "keep"), &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR {
		t.Errorf("upper/keep: %v mode %o; want a whiteout", err, st.Mode)
	}
	if err := Unmount(target); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(layers[0], "keep")); err != nil {
		t.Errorf("lower layer lost keep: %v", err)
	}
	if err := Unmount(target); err != nil {
		t.Errorf("second Unmount: %v", err)
	}
}

func TestMountReadOnly(t *testing.T) {
	requireRoot(t)
	layers := twoLayers(t)
	tests := []struct {
		name   string
		layers []string
		mount  func(layers []string, target string) error
	}{
		{name: "two layers", layers: layers, mount: func(l []string, tg string) error { return Mount(l, "", "", tg) }},
		{name: "one layer bind", layers: layers[:1], mount: func(l []string, tg string) error { return Mount(l, "", "", tg) }},
		{name: "fsconfig lowerdir+", layers: layers, mount: func(l []string, tg string) error {
			return mountFsconfig([]string{l[1], l[0]}, "", "", tg)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target := t.TempDir()
			if err := tt.mount(tt.layers, target); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { Unmount(target) })
			if len(tt.layers) == 2 {
				checkMerged(t, target)
			}
			err := os.WriteFile(filepath.Join(target, "new"), nil, 0o644)
			if !errors.Is(err, unix.EROFS) {
				t.Errorf("write to read-only rootfs: %v, want EROFS", err)
			}
		})
	}
}

func TestMountFsconfigWritable(t *testing.T) {
	requireRoot(t)
	layers := twoLayers(t)
	dir := t.TempDir()
	upper, work, target := filepath.Join(dir, "upper"), filepath.Join(dir, "work"), filepath.Join(dir, "rootfs")
	for _, d := range []string{upper, work, target} {
		os.Mkdir(d, 0o755)
	}
	if err := mountFsconfig([]string{layers[1], layers[0]}, upper, work, target); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { Unmount(target) })
	checkMerged(t, target)
	if err := os.WriteFile(filepath.Join(target, "new"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(upper, "new")); err != nil {
		t.Error(err)
	}
}

func TestPrepareRootfs(t *testing.T) {
	requireRoot(t)
	layers := twoLayers(t)
	img := Image{Digest: "sha256:test", Layers: []Layer{{Dir: layers[0]}, {Dir: layers[1]}}}
	for _, readOnly := range []bool{false, true} {
		dir := filepath.Join(t.TempDir(), "task")
		prepare := PrepareRootfs
		if readOnly {
			prepare = PrepareReadOnlyRootfs
		}
		rootfs, cleanup, err := prepare(img, dir)
		if err != nil {
			t.Fatal(err)
		}
		checkMerged(t, rootfs)
		err = os.WriteFile(filepath.Join(rootfs, "new"), nil, 0o644)
		if readOnly != errors.Is(err, unix.EROFS) {
			t.Errorf("readOnly=%v: write err %v", readOnly, err)
		}
		if err := cleanup(); err != nil {
			t.Fatal(err)
		}
		if err := cleanup(); err != nil {
			t.Errorf("second cleanup: %v", err)
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("rootfs dir left behind: %v", err)
		}
		if got := readDir(t, layers[0]); !slices.Equal(got, []string{"a", "b", "d", "keep"}) {
			t.Errorf("lower layer changed: %v", got)
		}
	}
}

// PlanRootfs hands the overlay (layers top first) to fits, the runtime's rule, and makes its
// directories only when fits takes it.
func TestPlanRootfsAsksFits(t *testing.T) {
	img := Image{Layers: []Layer{{Dir: "/layers/bottom"}, {Dir: "/layers/top"}}}
	for _, take := range []bool{false, true} {
		dir := filepath.Join(t.TempDir(), "c")
		var asked Overlay
		rootfs, ov, ok, err := PlanRootfs(img, dir, func(o Overlay) bool { asked = o; return take })
		if err != nil || ok != take {
			t.Fatalf("fits %v: ok %v, err %v", take, ok, err)
		}
		want := Overlay{Lower: []string{"/layers/top", "/layers/bottom"}, Upper: filepath.Join(dir, "upper"), Work: filepath.Join(dir, "work")}
		if !slices.Equal(asked.Lower, want.Lower) || asked.Upper != want.Upper || asked.Work != want.Work {
			t.Fatalf("fits was asked about %+v, want %+v", asked, want)
		}
		_, statErr := os.Stat(dir)
		if !take {
			if !errors.Is(statErr, os.ErrNotExist) {
				t.Fatalf("refused overlay: %s was made (%v)", dir, statErr)
			}
			continue
		}
		for _, d := range []string{rootfs, ov.Upper, ov.Work} {
			if st, err := os.Stat(d); err != nil || !st.IsDir() {
				t.Fatalf("taken overlay: %s not made: %v", d, err)
			}
		}
	}
	if _, _, ok, err := PlanRootfs(Image{}, t.TempDir(), func(Overlay) bool { return true }); ok || err != nil {
		t.Fatalf("no layers: ok %v, err %v; want the host's mount", ok, err)
	}
}
