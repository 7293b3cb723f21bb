package image

import (
	"context"
	"fmt"
	"sync"
)

// Puller is what a task runner needs from a Store; FakePuller stands in for it in tests.
type Puller interface {
	Pull(ctx context.Context, ref string, opts PullOptions) (Image, error)
}

var (
	_ Puller = (*Store)(nil)
	_ Puller = (*FakePuller)(nil)
)

// FakePuller returns images registered with Add, and ErrNotFound for any other reference.
type FakePuller struct {
	mu sync.Mutex
	// images and errs are keyed by reference.
	images map[string]Image
	errs   map[string]error
	pulls  []string
}

// Add makes Pull(ref) return img.
func (f *FakePuller) Add(ref string, img Image) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.images == nil {
		f.images = map[string]Image{}
	}
	f.images[ref] = img
}

// Fail makes Pull(ref) return err.
func (f *FakePuller) Fail(ref string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.errs == nil {
		f.errs = map[string]error{}
	}
	f.errs[ref] = err
}

// Pulls returns the references pulled so far, in order.
func (f *FakePuller) Pulls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.pulls...)
}

func (f *FakePuller) Pull(ctx context.Context, ref string, _ PullOptions) (Image, error) {
	if err := ctx.Err(); err != nil {
		return Image{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pulls = append(f.pulls, ref)
	if err, ok := f.errs[ref]; ok {
		return Image{}, fmt.Errorf("pull %s: %w", ref, err)
	}
	img, ok := f.images[ref]
	if !ok {
		return Image{}, fmt.Errorf("pull %s: %w", ref, ErrNotFound)
	}
	return img, nil
}
