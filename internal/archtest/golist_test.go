package archtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// pkg is what `go list -json` says about a package.
type pkg struct {
	ImportPath string
	Name       string
	Doc        string
	Imports    []string
	Deps       []string
	Standard   bool
	DepOnly    bool
	Module     *struct{ Path string }
	Error      *struct{ Err string }
}

// modulePackages lists the module's packages (not their dependencies) and tells which import
// paths are in the standard library, from one `go list -deps` of the whole module.
type modulePackages struct {
	module   string
	packages []pkg
	standard map[string]bool
}

var (
	listOnce sync.Once
	listed   modulePackages
	listErr  error
)

func listModule(t *testing.T) modulePackages {
	t.Helper()
	listOnce.Do(func() { listed, listErr = goList() })
	if listErr != nil {
		t.Fatal(listErr)
	}
	return listed
}

func goList() (modulePackages, error) {
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return modulePackages{}, err
	}
	root := filepath.Dir(strings.TrimSpace(string(gomod)))
	cmd := exec.Command("go", "list", "-e", "-deps",
		"-json=ImportPath,Name,Doc,Imports,Deps,Standard,DepOnly,Module,Error", "./...")
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return modulePackages{}, errors.New("go list: " + err.Error() + ": " + stderr.String())
	}
	m := modulePackages{standard: map[string]bool{}}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			return modulePackages{}, err
		}
		if p.Standard {
			m.standard[p.ImportPath] = true
			continue
		}
		if !p.DepOnly {
			m.packages = append(m.packages, p)
			if p.Module != nil {
				m.module = p.Module.Path
			}
		}
	}
	return m, nil
}

// rel is a module package's path without the module and without "internal/", as the
// architecture table writes it: "api/ecs", "cmd/gantry".
func (m modulePackages) rel(path string) (string, bool) {
	r, ok := strings.CutPrefix(path, m.module+"/")
	if !ok {
		return "", false
	}
	return strings.TrimPrefix(r, "internal/"), true
}
