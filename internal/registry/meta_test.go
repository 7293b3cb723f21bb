package registry_test

import (
	"errors"
	"testing"

	"github.com/gantry-dev/gantry/internal/registry"
	"github.com/gantry-dev/gantry/internal/registry/metatest"
)

func TestFSMetaContract(t *testing.T) {
	metatest.Run(t, func(t *testing.T) registry.Meta { return registry.NewFSMeta(t.TempDir()) })
}

func TestFSMetaRefusesPathsInNames(t *testing.T) {
	m := registry.NewFSMeta(t.TempDir())
	ctx := t.Context()
	if _, err := m.Tag(ctx, "../../etc", "latest"); !errors.Is(err, registry.ErrInvalidName) {
		t.Errorf("Tag in repository ../../etc: %v, want registry.ErrInvalidName", err)
	}
	for _, tag := range []string{"../_repo.json", "a/b", ".hidden", ""} {
		if _, err := m.Tag(ctx, "repo", tag); !errors.Is(err, registry.ErrInvalidTag) {
			t.Errorf("Tag %q: %v, want registry.ErrInvalidTag", tag, err)
		}
		if err := m.DeleteTag(ctx, "repo", tag); !errors.Is(err, registry.ErrInvalidTag) {
			t.Errorf("DeleteTag %q: %v, want registry.ErrInvalidTag", tag, err)
		}
	}
}
