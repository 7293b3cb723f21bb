package store_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/store"
	"github.com/gantry-dev/gantry/internal/testutil"
)

func TestLogGroups(t *testing.T) {
	cli, prefix := testutil.Etcd(t)
	lg := store.New(cli, prefix).LogGroups()
	ctx := t.Context()
	sc := model.Scope{Account: model.DefaultAccount, Region: "us-east-1"}
	want := model.LogGroup{Scope: sc, Name: "/ecs/web", CreatedAt: time.UnixMilli(1700000000123).UTC(),
		RetentionDays: 7, KMSKeyID: "k", Class: "STANDARD", Tags: []model.Tag{{Key: "team", Value: "a"}}}
	if _, err := lg.Create(ctx, want); err != nil {
		t.Fatal(err)
	}
	if _, err := lg.Create(ctx, want); !errors.Is(err, apierr.AlreadyExists) {
		t.Errorf("create again: %v", err)
	}
	for _, n := range []string{"/ecs/api", "/other", "/ecs/zeta"} {
		if _, err := lg.Create(ctx, model.LogGroup{Scope: sc, Name: n}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := lg.Get(ctx, sc, "/ecs/web")
	if err != nil || !reflect.DeepEqual(got.Value, want) {
		t.Fatalf("get = %+v, %v", got.Value, err)
	}
	page, err := lg.List(ctx, sc, "/ecs/", "/ecs/api", 0)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, it := range page.Items {
		names = append(names, it.Value.Name)
	}
	if !reflect.DeepEqual(names, []string{"/ecs/web", "/ecs/zeta"}) {
		t.Errorf("list = %v", names)
	}
	if _, err := lg.Mutate(ctx, sc, "/ecs/web", func(g *model.LogGroup) error { g.RetentionDays = 0; return nil }); err != nil {
		t.Fatal(err)
	}
	got, _ = lg.Get(ctx, sc, "/ecs/web")
	if got.Value.RetentionDays != 0 {
		t.Errorf("retention = %d", got.Value.RetentionDays)
	}
	if err := lg.Delete(ctx, sc, "/ecs/web", got.Revision); err != nil {
		t.Fatal(err)
	}
	if _, err := lg.Get(ctx, sc, "/ecs/web"); !errors.Is(err, apierr.NotFound) {
		t.Errorf("get after delete: %v", err)
	}
}
