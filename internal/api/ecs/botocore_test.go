package ecs

import (
	"compress/gzip"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// botocoreShape is the part of a botocore shape these tests read.
type botocoreShape struct {
	Type    string `json:"type"`
	Members map[string]struct {
		Shape string `json:"shape"`
	} `json:"members"`
	Member struct{ Shape string } `json:"member"`
	Value  struct{ Shape string } `json:"value"`
}

// loadECSModel reads botocore's ECS model, the one the aws CLI on this machine uses.
func loadECSModel(t *testing.T) map[string]botocoreShape {
	t.Helper()
	out, err := exec.Command("python3", "-c", "import botocore, os; print(os.path.dirname(botocore.__file__))").Output()
	if err != nil {
		t.Fatalf("botocore is not importable by python3 (the aws CLI's library; scripts/setup.sh installs it): %v", err)
	}
	matches, _ := filepath.Glob(filepath.Join(strings.TrimSpace(string(out)), "data", "ecs", "*", "service-2.json*"))
	if len(matches) == 0 {
		t.Fatal("botocore has no ECS model")
	}
	f, err := os.Open(matches[len(matches)-1])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var r interface{ Read([]byte) (int, error) } = f
	if strings.HasSuffix(f.Name(), ".gz") {
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		r = zr
	}
	var model struct{ Shapes map[string]botocoreShape }
	if err := json.NewDecoder(r).Decode(&model); err != nil {
		t.Fatalf("%s: %v", f.Name(), err)
	}
	return model.Shapes
}

// TestWireShapesHaveEveryBotocoreMember walks botocore's shapes of the foundation's requests and
// answers alongside the Go wire types, and fails for any member the wire types cannot carry, so
// a member botocore knows is never silently dropped.
func TestWireShapesHaveEveryBotocoreMember(t *testing.T) {
	shapes := loadECSModel(t)
	pairs := []struct {
		shape string
		typ   reflect.Type
	}{
		{"RegisterTaskDefinitionRequest", reflect.TypeFor[registerTaskDefinitionInput]()},
		{"TaskDefinition", reflect.TypeFor[TaskDefinition]()},
		{"DescribeTaskDefinitionRequest", reflect.TypeFor[describeTaskDefinitionInput]()},
		{"ListTaskDefinitionsRequest", reflect.TypeFor[listTaskDefinitionsInput]()},
		{"ListTaskDefinitionFamiliesRequest", reflect.TypeFor[listTaskDefinitionFamiliesInput]()},
		{"CreateClusterRequest", reflect.TypeFor[createClusterInput]()},
		{"DescribeClustersRequest", reflect.TypeFor[describeClustersInput]()},
		{"ListClustersRequest", reflect.TypeFor[listClustersInput]()},
		{"UpdateClusterRequest", reflect.TypeFor[updateClusterInput]()},
		{"UpdateClusterSettingsRequest", reflect.TypeFor[updateClusterSettingsInput]()},
		{"PutClusterCapacityProvidersRequest", reflect.TypeFor[putClusterCapacityProvidersInput]()},
		{"DescribeCapacityProvidersRequest", reflect.TypeFor[describeCapacityProvidersInput]()},
		{"TagResourceRequest", reflect.TypeFor[tagResourceInput]()},
		{"UntagResourceRequest", reflect.TypeFor[untagResourceInput]()},
	}
	if miss := missingMembers(shapes, "RegisterTaskDefinitionRequest", reflect.TypeFor[struct {
		Family string `json:"family"`
	}](), "r", map[string]bool{}); len(miss) < 10 {
		t.Fatalf("the walk finds only %v missing from a struct with just family: it does not walk the model", miss)
	}
	for _, p := range pairs {
		seen := map[string]bool{}
		for _, miss := range missingMembers(shapes, p.shape, p.typ, p.shape, seen) {
			t.Errorf("%s: botocore member %s has no wire field", p.typ.Name(), miss)
		}
	}
}

// missingMembers lists the members of shape (recursively) that typ has no json field for.
func missingMembers(shapes map[string]botocoreShape, shape string, typ reflect.Type, path string, seen map[string]bool) []string {
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	s := shapes[shape]
	switch s.Type {
	case "list":
		if typ.Kind() != reflect.Slice {
			return []string{path + " (a list)"}
		}
		return missingMembers(shapes, s.Member.Shape, typ.Elem(), path+"[]", seen)
	case "map":
		if typ.Kind() != reflect.Map {
			return []string{path + " (a map)"}
		}
		return missingMembers(shapes, s.Value.Shape, typ.Elem(), path+"{}", seen)
	case "structure":
	default:
		return nil
	}
	if seen[shape] {
		return nil
	}
	seen[shape] = true
	if typ.Kind() != reflect.Struct {
		return []string{path + " (a structure)"}
	}
	fields := map[string]reflect.Type{}
	for i := range typ.NumField() {
		name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
		fields[name] = typ.Field(i).Type
	}
	var out []string
	for name, m := range s.Members {
		ft, ok := fields[name]
		if !ok {
			out = append(out, path+"."+name)
			continue
		}
		out = append(out, missingMembers(shapes, m.Shape, ft, path+"."+name, seen)...)
	}
	return out
}

// ModelPaths lists every member path of shape in botocore's ECS model ("a.b[].c"), each
// structure walked once, for the tests of package ecs_test.
func ModelPaths(t *testing.T, shape string) []string {
	shapes := loadECSModel(t)
	var out []string
	var walk func(shape, path string, seen map[string]bool)
	walk = func(shape, path string, seen map[string]bool) {
		s := shapes[shape]
		switch s.Type {
		case "list":
			walk(s.Member.Shape, path+"[]", seen)
		case "structure":
			if seen[shape] {
				return
			}
			seen[shape] = true
			for name, m := range s.Members {
				out = append(out, path+"."+name)
				walk(m.Shape, path+"."+name, seen)
			}
		}
	}
	walk(shape, "", map[string]bool{})
	return out
}
