package archtest

import (
	"strings"
	"testing"
)

// TestPackageDocs fails for a package without a doc comment in a non-test file: "// Package x
// ..." for a library, any sentence (by convention "// Command x ...") for a command.
func TestPackageDocs(t *testing.T) {
	m := listModule(t)
	for _, p := range m.packages {
		switch {
		case p.Doc == "":
			t.Errorf("%s has no package doc comment", p.ImportPath)
		case p.Name != "main" && !strings.HasPrefix(p.Doc, "Package "+p.Name+" "):
			t.Errorf("%s: doc comment %q does not start with \"Package %s \"", p.ImportPath, p.Doc, p.Name)
		}
	}
}
