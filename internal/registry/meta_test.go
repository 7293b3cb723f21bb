package registry_test

import (
	"testing"

	"github.com/gantry-dev/gantry/internal/registry"
	"github.com/gantry-dev/gantry/internal/registry/metatest"
)

func TestFSMetaContract(t *testing.T) {
	metatest.Run(t, func(t *testing.T) registry.Meta { return registry.NewFSMeta(t.TempDir()) })
}
