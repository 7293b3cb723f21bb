package taskrunner

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gantry-dev/gantry/internal/image"
	"github.com/gantry-dev/gantry/internal/testutil"
)

// An overlay the runtime mounts itself goes in the spec; one whose options are too long for one
// mount call (the runtime's rule, runtime.CheckOverlay) is mounted on the host instead.
func TestOverlayInContainerFallsBackToTheHost(t *testing.T) {
	testutil.RequireRoot(t)
	layers := func(n int) image.Image {
		var img image.Image
		for i := range n {
			dir := filepath.Join(t.TempDir(), fmt.Sprintf("layer-%03d-%s", i, strings.Repeat("x", 60)))
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			img.Layers = append(img.Layers, image.Layer{Dir: dir})
		}
		return img
	}
	o := Overlay{InContainer: true}

	dir := filepath.Join(t.TempDir(), "short")
	root, err := o.Prepare(layers(2), dir, false)
	if err != nil {
		t.Fatal(err)
	}
	if root.Overlay == nil || len(root.Overlay.Lower) != 2 {
		t.Fatalf("two layers: root %+v, want an overlay for the runtime", root)
	}

	dir = filepath.Join(t.TempDir(), "long")
	root, err = o.Prepare(layers(60), dir, false)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Release(dir)
	if root.Overlay != nil {
		t.Fatalf("sixty long layer paths: the runtime was handed an overlay it cannot mount")
	}
	if err := os.WriteFile(filepath.Join(root.Path, "probe"), nil, 0o644); err != nil {
		t.Fatalf("the host-mounted root is not writable: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "upper", "probe")); err != nil {
		t.Fatalf("the write did not land in the overlay's upper directory: %v", err)
	}
}
