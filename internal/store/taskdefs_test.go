package store_test

import (
	"errors"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/store"
	"github.com/gantry-dev/gantry/internal/testutil"
)

var tdScope = model.Scope{Account: "000000000000", Region: "us-east-1"}

func newTaskDefs(t *testing.T) store.TaskDefinitions {
	t.Helper()
	cli, prefix := testutil.Etcd(t)
	return store.New(cli, prefix).TaskDefinitions()
}

func sampleTD(family string) model.TaskDefinition {
	mem := 512
	return model.TaskDefinition{Scope: tdScope, Family: family, Status: model.TaskDefinitionActive,
		ContainerDefinitions: []model.ContainerDefinition{{Name: "app", Image: "nginx", Memory: &mem}},
		RegisteredAt:         time.Unix(1700000000, 0).UTC()}
}

func TestTaskDefinitionsConcurrentRegisterGetsConsecutiveRevisions(t *testing.T) {
	r := newTaskDefs(t)
	const n = 12
	revs := make([]int, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			td, err := r.Register(t.Context(), sampleTD("busy"), nil)
			if err != nil {
				errs <- err
				return
			}
			revs[i] = td.Revision
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("Register: %v", err)
	}
	sort.Ints(revs)
	for i, rev := range revs {
		if rev != i+1 {
			t.Fatalf("revisions = %v, want 1..%d each once", revs, n)
		}
	}
}

func TestTaskDefinitionsRevisionsAreNeverReused(t *testing.T) {
	r := newTaskDefs(t)
	ctx := t.Context()
	for range 2 {
		if _, err := r.Register(ctx, sampleTD("web"), []model.Tag{{Key: "k", Value: "v"}}); err != nil {
			t.Fatal(err)
		}
	}
	cur, err := r.Get(ctx, tdScope, "web", 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Delete(ctx, tdScope, "web", 2, cur.Revision); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Get(ctx, tdScope, "web", 2); !errors.Is(err, apierr.NotFound) {
		t.Fatalf("Get after Delete: %v, want NotFound", err)
	}
	td, err := r.Register(ctx, sampleTD("web"), nil)
	if err != nil || td.Revision != 3 {
		t.Fatalf("Register after delete = revision %d, %v; want 3", td.Revision, err)
	}
}

func TestTaskDefinitionsRoundTripAndLatest(t *testing.T) {
	r := newTaskDefs(t)
	ctx := t.Context()
	in := sampleTD("rt")
	in.ContainerDefinitions[0].PortMappings = []model.PortMapping{{ContainerPort: new(80), Protocol: "tcp"}}
	in.Volumes = []model.Volume{{Name: "data", EFSVolumeConfiguration: &model.EFSVolumeConfiguration{FileSystemID: "fs-1",
		AuthorizationConfig: &model.EFSAuthorizationConfig{IAM: "ENABLED"}}}}
	for range 3 {
		if _, err := r.Register(ctx, in, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.Mutate(ctx, tdScope, "rt", 3, func(td *model.TaskDefinition) error {
		td.Status = model.TaskDefinitionInactive
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	latest, err := r.Latest(ctx, tdScope, "rt")
	if err != nil || latest.Value.Revision != 2 {
		t.Fatalf("Latest = %d, %v; want revision 2", latest.Value.Revision, err)
	}
	got := latest.Value
	if *got.ContainerDefinitions[0].PortMappings[0].ContainerPort != 80 || got.Volumes[0].EFSVolumeConfiguration.AuthorizationConfig.IAM != "ENABLED" ||
		!got.RegisteredAt.Equal(in.RegisteredAt) {
		t.Fatalf("round trip lost members: %+v", got)
	}
}

func TestTaskDefinitionsListOrderStatusAndPages(t *testing.T) {
	r := newTaskDefs(t)
	ctx := t.Context()
	for _, fam := range []string{"b", "a", "b", "a", "b"} {
		if _, err := r.Register(ctx, sampleTD(fam), nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.Mutate(ctx, tdScope, "b", 2, func(td *model.TaskDefinition) error {
		td.Status = model.TaskDefinitionInactive
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	collect := func(q store.TaskDefinitionQuery) []string {
		var out []string
		for {
			items, next, err := r.List(ctx, tdScope, q)
			if err != nil {
				t.Fatal(err)
			}
			for _, td := range items {
				out = append(out, td.Family+":"+string(rune('0'+td.Revision)))
			}
			if next == "" {
				return out
			}
			q.After = next
		}
	}
	asc := collect(store.TaskDefinitionQuery{Status: model.TaskDefinitionActive, Limit: 1})
	if want := "[a:1 a:2 b:1 b:3]"; fmtList(asc) != want {
		t.Errorf("ASC = %v, want %s", asc, want)
	}
	desc := collect(store.TaskDefinitionQuery{Desc: true, Limit: 2})
	if want := "[b:3 b:2 b:1 a:2 a:1]"; fmtList(desc) != want {
		t.Errorf("DESC = %v, want %s", desc, want)
	}
	fam := collect(store.TaskDefinitionQuery{Family: "b", Status: model.TaskDefinitionInactive})
	if want := "[b:2]"; fmtList(fam) != want {
		t.Errorf("family b INACTIVE = %v, want %s", fam, want)
	}
	fams, _, err := r.ListFamilies(ctx, tdScope, store.FamilyQuery{Status: model.TaskDefinitionActive})
	if err != nil || fmtList(fams) != "[a b]" {
		t.Errorf("ListFamilies = %v, %v", fams, err)
	}
}

func fmtList(s []string) string {
	out := "["
	for i, v := range s {
		if i > 0 {
			out += " "
		}
		out += v
	}
	return out + "]"
}
