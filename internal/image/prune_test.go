package image

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/compression"
)

// TestPrune: an image unused for longer than the age goes, with its layers, unless a mounted root
// filesystem (an overlay, or a single layer's read-only bind) still uses one of them; a pull, by
// tag or by digest, makes an image young again; layers shared with a kept image stay.
func TestPrune(t *testing.T) {
	requireRoot(t)
	reg := newTestRegistry(t)
	shared := testLayer(t, compression.None, file("shared", "s"))
	a := push(t, reg.host+"/a:v1", testImage(t, "amd64", shared, testLayer(t, compression.None, file("a", "1"))))
	b := push(t, reg.host+"/b:v1", testImage(t, "amd64", testLayer(t, compression.None, file("b", "1"))))
	c := push(t, reg.host+"/c:v1", testImage(t, "amd64", shared))
	s := New(t.TempDir(), Options{Architecture: "amd64"})
	imgs := map[string]Image{}
	for repo, d := range map[string]string{"a": a, "b": b, "c": c} {
		img, err := s.Pull(t.Context(), reg.host+"/"+repo+":v1", PullOptions{})
		if err != nil || img.Digest != d {
			t.Fatalf("pull %s = %s, %v", repo, img.Digest, err)
		}
		imgs[repo] = img
	}
	age := func(repos ...string) {
		t.Helper()
		old := time.Now().Add(-2 * time.Hour)
		for _, r := range repos {
			p, _ := s.imagePath(imgs[r].Digest)
			if err := os.Chtimes(p, old, old); err != nil {
				t.Fatal(err)
			}
		}
	}
	prune := func(wantImages ...string) Pruned {
		t.Helper()
		got, err := s.Prune(time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, r := range wantImages {
			want = append(want, imgs[r].Digest)
		}
		slices.Sort(want)
		slices.Sort(got.Images)
		if !slices.Equal(got.Images, want) {
			t.Fatalf("Prune removed images %v, want %v (%v)", got.Images, want, wantImages)
		}
		return got
	}

	// a is mounted as a writable overlay, b as a single layer's read-only bind.
	rootA, unmountA, err := PrepareRootfs(imgs["a"], filepath.Join(t.TempDir(), "a"))
	if err != nil {
		t.Fatal(err)
	}
	defer unmountA()
	_, unmountB, err := PrepareReadOnlyRootfs(imgs["b"], filepath.Join(t.TempDir(), "b"))
	if err != nil {
		t.Fatal(err)
	}
	defer unmountB()
	if got := prune(); len(got.Layers) != 0 {
		t.Fatalf("Prune of young images removed layers %v", got.Layers)
	}
	age("a", "b", "c")
	// Nothing goes: a and b are mounted, and c's only layer is one of a's.
	if got := prune(); len(got.Layers) != 0 {
		t.Fatalf("Prune removed layers %v, a mounted image's among them", got.Layers)
	}
	if b, err := os.ReadFile(filepath.Join(rootA, "shared")); err != nil || string(b) != "s" {
		t.Fatalf("the mounted image's shared layer: %q, %v", b, err)
	}

	if err := unmountB(); err != nil {
		t.Fatal(err)
	}
	// A pull by digest touches the record: b is young again and stays.
	if _, err := s.Pull(t.Context(), reg.host+"/b@"+b, PullOptions{}); err != nil {
		t.Fatal(err)
	}
	prune()
	age("b")
	if got := prune("b"); !slices.Equal(got.Layers, []string{imgs["b"].Layers[0].Digest}) {
		t.Fatalf("Prune of b removed layers %v, want b's one", got.Layers)
	}
	if err := unmountA(); err != nil {
		t.Fatal(err)
	}
	// c is pulled again: a goes with its own layer, the one it shares with c stays.
	if _, err := s.Pull(t.Context(), reg.host+"/c:v1", PullOptions{}); err != nil {
		t.Fatal(err)
	}
	age("a")
	if got := prune("a"); len(got.Layers) != 1 || got.Layers[0] == imgs["c"].Layers[0].Digest {
		t.Fatalf("Prune of a removed layers %v, want its own only", got.Layers)
	}
	age("c")
	if got := prune("c"); !slices.Equal(got.Layers, []string{imgs["c"].Layers[0].Digest}) {
		t.Fatalf("Prune of c removed layers %v, want the shared one", got.Layers)
	}
	if left, _ := s.List(); len(left) != 0 {
		t.Fatalf("images left: %+v", left)
	}
	if left, _ := os.ReadDir(filepath.Join(s.Root(), "trash")); len(left) != 0 {
		t.Fatalf("the trash kept %d entries after the prunes", len(left))
	}
	// The next pull fetches it all again.
	if img, err := s.Pull(t.Context(), reg.host+"/a:v1", PullOptions{}); err != nil || img.Digest != a {
		t.Fatalf("pull after prune = %s, %v", img.Digest, err)
	}
}

// TestPruneIgnoresOtherStores: the same layers mounted from another store on the host (another
// gantry's data dir) keep nothing in this one.
func TestPruneIgnoresOtherStores(t *testing.T) {
	requireRoot(t)
	reg := newTestRegistry(t)
	d := push(t, reg.host+"/a:v1", testImage(t, "amd64", testLayer(t, compression.None, file("a", "1"))))
	mine, theirs := New(t.TempDir(), Options{Architecture: "amd64"}), New(t.TempDir(), Options{Architecture: "amd64"})
	var imgs []Image
	for _, st := range []*Store{mine, theirs} {
		img, err := st.Pull(t.Context(), reg.host+"/a:v1", PullOptions{})
		if err != nil || img.Digest != d {
			t.Fatalf("pull = %s, %v", img.Digest, err)
		}
		p, _ := st.imagePath(d)
		old := time.Now().Add(-2 * time.Hour)
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
		imgs = append(imgs, img)
	}
	_, unmount, err := PrepareRootfs(imgs[1], filepath.Join(t.TempDir(), "theirs"))
	if err != nil {
		t.Fatal(err)
	}
	defer unmount()
	if got, err := theirs.Prune(time.Hour); err != nil || len(got.Images) != 0 {
		t.Fatalf("the store whose image is mounted pruned %v, %v", got.Images, err)
	}
	if got, err := mine.Prune(time.Hour); err != nil || !slices.Equal(got.Images, []string{d}) {
		t.Fatalf("Prune = %v, %v; want %s: only another store's copy is mounted", got.Images, err, d)
	}
}

// TestPruneSeesOtherMountNamespaces: a layer mounted only inside another mount namespace (a
// container whose root overlay runc mounted itself, image.PlanRootfs) keeps its image; once that
// namespace is gone, the image goes.
func TestPruneSeesOtherMountNamespaces(t *testing.T) {
	requireRoot(t)
	reg := newTestRegistry(t)
	d := push(t, reg.host+"/a:v1", testImage(t, "amd64", testLayer(t, compression.None, file("a", "1"))))
	s := New(t.TempDir(), Options{Architecture: "amd64"})
	img, err := s.Pull(t.Context(), reg.host+"/a:v1", PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p, _ := s.imagePath(d)
	old := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(p, old, old); err != nil {
		t.Fatal(err)
	}
	rootfs, ov, ok, err := PlanRootfs(img, filepath.Join(t.TempDir(), "c"), func(Overlay) bool { return true })
	if err != nil || !ok {
		t.Fatalf("PlanRootfs = %v, %v", ok, err)
	}
	opts := "lowerdir=" + strings.Join(ov.Lower, ":") + ",upperdir=" + ov.Upper + ",workdir=" + ov.Work
	// A process in a mount namespace of its own, private, so the host never sees the mount.
	cmd := exec.Command("unshare", "--mount", "--propagation", "private", "sh", "-c",
		"mount -t overlay overlay -o "+opts+" "+rootfs+" && echo mounted && exec sleep 60")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	line := make([]byte, 8)
	if n, err := io.ReadFull(out, line); err != nil || string(line[:n]) != "mounted\n" {
		t.Fatalf("the overlay was not mounted in the other namespace: %q, %v", line, err)
	}
	if own, _ := os.ReadFile("/proc/self/mountinfo"); strings.Contains(string(own), ov.Upper) {
		t.Fatal("the overlay shows in this namespace's mount table; the test proves nothing")
	}
	if got, err := s.Prune(time.Hour); err != nil || len(got.Images) != 0 {
		t.Fatalf("Prune removed %v, %v while a container mounts the image", got.Images, err)
	}
	cmd.Process.Kill()
	cmd.Wait()
	if got, err := s.Prune(time.Hour); err != nil || !slices.Equal(got.Images, []string{d}) {
		t.Fatalf("Prune = %v, %v; want %s once its mount namespace is gone", got.Images, err, d)
	}
}

// TestPruneNeverQueuesPulls: while a pull runs, Prune gives up (Busy) instead of waiting, and
// while it tries, new pulls go ahead (a waiting writer would hold them behind the running one).
func TestPruneNeverQueuesPulls(t *testing.T) {
	s := New(t.TempDir(), Options{})
	s.use.RLock() // a pull that runs for as long as this test needs
	type result struct {
		got Pruned
		err error
		in  time.Duration
	}
	res := make(chan result, 1)
	start := time.Now()
	go func() {
		got, err := s.Prune(time.Hour)
		res <- result{got, err, time.Since(start)}
	}()
	time.Sleep(pruneWait / 5)
	pulled := make(chan struct{})
	go func() { s.use.RLock(); s.use.RUnlock(); close(pulled) }() // a second pull meanwhile
	select {
	case <-pulled:
	case <-time.After(time.Second):
		t.Fatal("a pull waited behind Prune")
	}
	r := <-res
	if r.err != nil || !r.got.Busy || len(r.got.Images) != 0 {
		t.Fatalf("Prune during a pull = %+v, %v; want Busy", r.got, r.err)
	}
	if r.in < pruneWait || r.in > pruneWait+2*time.Second {
		t.Fatalf("Prune tried for %s, want about %s", r.in, pruneWait)
	}
	s.use.RUnlock()
	if got, err := s.Prune(time.Hour); err != nil || got.Busy {
		t.Fatalf("Prune with no pull = %+v, %v", got, err)
	}
}
