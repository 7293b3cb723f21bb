package store_test

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/store"
	"github.com/gantry-dev/gantry/internal/testutil"
)

var clusterScope = model.Scope{Account: model.DefaultAccount, Region: "us-east-1"}

func newClusterStore(t *testing.T) store.Clusters {
	t.Helper()
	cli, prefix := testutil.Etcd(t)
	return store.New(cli, prefix).Clusters()
}

func TestClustersCreateGetRoundTrip(t *testing.T) {
	cs := newClusterStore(t)
	ctx := t.Context()
	want := model.Cluster{
		Scope: clusterScope, Name: "web", Status: model.ClusterActive, CreatedAt: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
		Tags:              []model.Tag{{Key: "team", Value: "a"}},
		Settings:          []model.ClusterSetting{{Name: "containerInsights", Value: "enabled"}},
		CapacityProviders: []string{"FARGATE", "FARGATE_SPOT"},
		DefaultCapacityProviderStrategy: []model.CapacityProviderStrategyItem{
			{CapacityProvider: "FARGATE", Weight: 1, Base: 2}, {CapacityProvider: "FARGATE_SPOT", Weight: 4}},
		Configuration: &model.ClusterConfiguration{ExecuteCommandKmsKeyID: "key", ExecuteCommandLogging: "OVERRIDE",
			LogConfiguration:       &model.ExecuteCommandLogConfiguration{CloudWatchLogGroupName: "g", S3EncryptionEnabled: true},
			ManagedStorageKmsKeyID: "m", FargateEphemeralKmsKeyID: "f"},
		ServiceConnectDefaultsNamespace: "ns",
	}
	rev, err := cs.Create(ctx, want)
	if err != nil || rev == 0 {
		t.Fatalf("Create = %d, %v", rev, err)
	}
	got, err := cs.Get(ctx, clusterScope, "web")
	if err != nil {
		t.Fatal(err)
	}
	if got.Revision != rev || !reflect.DeepEqual(got.Value, want) {
		t.Fatalf("Get = %+v (rev %d), want %+v (rev %d)", got.Value, got.Revision, want, rev)
	}
	if _, err := cs.Create(ctx, want); !errors.Is(err, apierr.AlreadyExists) {
		t.Fatalf("second Create = %v, want AlreadyExists", err)
	}
	if _, err := cs.Get(ctx, model.Scope{Account: model.DefaultAccount, Region: "eu-west-1"}, "web"); !errors.Is(err, apierr.NotFound) {
		t.Fatalf("Get in another region = %v, want NotFound", err)
	}
}

func TestClustersUpdateConflictsOnStaleRevision(t *testing.T) {
	cs := newClusterStore(t)
	ctx := t.Context()
	c := model.Cluster{Scope: clusterScope, Name: "c", Status: model.ClusterActive}
	rev, err := cs.Create(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	c.Status = model.ClusterInactive
	rev2, err := cs.Update(ctx, c, rev)
	if err != nil {
		t.Fatal(err)
	}
	c.Status = model.ClusterActive
	if _, err := cs.Update(ctx, c, rev); apierr.KindOf(err) != apierr.Conflict {
		t.Fatalf("Update at stale revision = %v, want Conflict", err)
	}
	if err := cs.Delete(ctx, clusterScope, "c", rev); apierr.KindOf(err) != apierr.Conflict {
		t.Fatalf("Delete at stale revision = %v, want Conflict", err)
	}
	got, err := cs.Mutate(ctx, clusterScope, "c", func(c *model.Cluster) error { c.Tags = []model.Tag{{Key: "k"}}; return nil })
	if err != nil || got.Revision <= rev2 || len(got.Value.Tags) != 1 || got.Value.Status != model.ClusterInactive {
		t.Fatalf("Mutate = %+v, %v", got, err)
	}
	if err := cs.Delete(ctx, clusterScope, "c", got.Revision); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.Get(ctx, clusterScope, "c"); !errors.Is(err, apierr.NotFound) {
		t.Fatalf("Get after Delete = %v", err)
	}
}

func TestClustersListPagination(t *testing.T) {
	cs := newClusterStore(t)
	ctx := t.Context()
	for i := range 25 {
		if _, err := cs.Create(ctx, model.Cluster{Scope: clusterScope, Name: fmt.Sprintf("c%02d", i), Status: model.ClusterActive}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cs.Create(ctx, model.Cluster{Scope: model.Scope{Account: "111111111111", Region: "us-east-1"}, Name: "c00"}); err != nil {
		t.Fatal(err)
	}
	var names []string
	var sizes []int
	after := ""
	for {
		page, err := cs.List(ctx, clusterScope, after, 10)
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, len(page.Items))
		for i, it := range page.Items {
			names = append(names, it.Value.Name)
			if page.Keys[i] != store.ScopeKey(clusterScope)+it.Value.Name {
				t.Errorf("key %q for %q", page.Keys[i], it.Value.Name)
			}
		}
		if !page.More {
			break
		}
		after = page.Items[len(page.Items)-1].Value.Name
	}
	if fmt.Sprint(sizes) != "[10 10 5]" || len(names) != 25 || names[0] != "c00" || names[24] != "c24" {
		t.Fatalf("pages %v, names %v", sizes, names)
	}
	all, err := cs.List(ctx, clusterScope, "", 0)
	if err != nil || len(all.Items) != 25 || all.More {
		t.Fatalf("List all = %d items, more %v, %v", len(all.Items), all.More, err)
	}
}

func TestClustersWatchSeesPutAndDelete(t *testing.T) {
	cs := newClusterStore(t)
	ctx := t.Context()
	page, err := cs.List(ctx, clusterScope, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	events := cs.Watch(ctx, page.Revision)
	rev, err := cs.Create(ctx, model.Cluster{Scope: clusterScope, Name: "w", Status: model.ClusterActive})
	if err != nil {
		t.Fatal(err)
	}
	if err := cs.Delete(ctx, clusterScope, "w", rev); err != nil {
		t.Fatal(err)
	}
	next := func() store.Event[model.Cluster] {
		t.Helper()
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatal("watch closed")
			}
			if ev.Err != nil {
				t.Fatal(ev.Err)
			}
			return ev
		case <-time.After(10 * time.Second):
			t.Fatal("no watch event within 10s")
		}
		return store.Event[model.Cluster]{}
	}
	put := next()
	if put.Type != store.Put || put.Value.Name != "w" || put.Revision != rev || put.Key != store.ScopeKey(clusterScope)+"w" {
		t.Fatalf("first event = %+v", put)
	}
	del := next()
	if del.Type != store.Delete || del.Value.Name != "w" || del.Value.Status != model.ClusterActive || del.Revision <= rev {
		t.Fatalf("second event = %+v", del)
	}
}
