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

func TestRoles(t *testing.T) {
	cli, prefix := testutil.Etcd(t)
	roles := store.New(cli, prefix).Roles()
	ctx := t.Context()
	want := model.Role{Account: "000000000000", Name: "Web", Path: "/app/", ID: "AROAABCDEFGHIJKLMNOPQ", Description: "d",
		AssumeRolePolicy: `{"Statement":[]}`, MaxSessionDuration: 7200, CreatedAt: time.Unix(1700000000, 0).UTC(),
		Tags: []model.Tag{{Key: "k", Value: "v"}}, InlinePolicies: map[string]string{"p": "{}"},
		AttachedPolicies: []string{"arn:aws:iam::aws:policy/x"}}
	if _, err := roles.Create(ctx, want); err != nil {
		t.Fatal(err)
	}
	// Names are unique regardless of case.
	dup := want
	dup.Name = "WEB"
	if _, err := roles.Create(ctx, dup); !errors.Is(err, apierr.AlreadyExists) {
		t.Fatalf("create WEB: %v", err)
	}
	got, err := roles.Get(ctx, "000000000000", "wEb")
	if err != nil || !reflect.DeepEqual(got.Value, want) {
		t.Fatalf("get = %+v, %v", got.Value, err)
	}
	if _, err := roles.Get(ctx, "111111111111", "web"); !errors.Is(err, apierr.NotFound) {
		t.Fatalf("other account: %v", err)
	}
	for _, n := range []string{"a", "z", "m"} {
		if _, err := roles.Create(ctx, model.Role{Account: "000000000000", Name: n}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := roles.Create(ctx, model.Role{Account: "111111111111", Name: "b"}); err != nil {
		t.Fatal(err)
	}
	page, err := roles.List(ctx, "000000000000", "a", 2)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, it := range page.Items {
		names = append(names, it.Value.Name)
	}
	if !reflect.DeepEqual(names, []string{"m", "Web"}) || !page.More {
		t.Fatalf("list after a = %v more=%v", names, page.More)
	}
	v, err := roles.Mutate(ctx, "000000000000", "web", func(r *model.Role) error { r.Description = "new"; return nil })
	if err != nil || v.Value.Description != "new" {
		t.Fatalf("mutate: %+v %v", v.Value, err)
	}
	if err := roles.Delete(ctx, "000000000000", "web", got.Revision); !errors.Is(err, apierr.Conflict) {
		t.Fatalf("delete at a stale revision: %v", err)
	}
	if err := roles.Delete(ctx, "000000000000", "web", v.Revision); err != nil {
		t.Fatal(err)
	}
}

func TestUsersPoliciesKeys(t *testing.T) {
	cli, prefix := testutil.Etcd(t)
	st := store.New(cli, prefix)
	ctx := t.Context()
	u := model.User{Account: "000000000000", Name: "alice", Path: "/", ID: "AIDAABCDEFGHIJKLMNOPQ", CreatedAt: time.Unix(1, 0).UTC(),
		InlinePolicies: map[string]string{"x": "{}"}, AttachedPolicies: []string{"arn"}}
	if _, err := st.Users().Create(ctx, u); err != nil {
		t.Fatal(err)
	}
	if got, err := st.Users().Get(ctx, "000000000000", "ALICE"); err != nil || !reflect.DeepEqual(got.Value, u) {
		t.Fatalf("user = %+v %v", got.Value, err)
	}
	p := model.ManagedPolicy{Account: "000000000000", Name: "P", Path: "/", ID: "ANPAABCDEFGHIJKLMNOPQ", CreatedAt: time.Unix(2, 0).UTC(),
		UpdatedAt: time.Unix(3, 0).UTC(), DefaultVersion: "v2", NextVersion: 3,
		Versions: []model.PolicyVersion{{ID: "v1", Document: "a", CreatedAt: time.Unix(2, 0).UTC()}, {ID: "v2", Document: "b", CreatedAt: time.Unix(3, 0).UTC()}}}
	if _, err := st.Policies().Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	if got, err := st.Policies().Get(ctx, "000000000000", "p"); err != nil || !reflect.DeepEqual(got.Value, p) || got.Value.DefaultDocument() != "b" {
		t.Fatalf("policy = %+v %v", got.Value, err)
	}
	k := model.AccessKey{ID: "ASIAABCDEFGHIJKLMNOP", Principal: model.Principal{Kind: model.PrincipalRoleSession, Account: "000000000000",
		ARN: "arn:aws:sts::000000000000:assumed-role/r/s", UserID: "AROA:s", Name: "r", Session: "s", RoleARN: "arn:aws:iam::000000000000:role/r"},
		SealedSecret: []byte{1, 2, 3}, SealedToken: []byte{4}, Active: true, CreatedAt: time.Unix(5, 0).UTC(), Expiration: time.Unix(6, 0).UTC()}
	if _, err := st.AccessKeys().Create(ctx, k); err != nil {
		t.Fatal(err)
	}
	long := model.AccessKey{ID: "AKIAABCDEFGHIJKLMNOP", Principal: model.Principal{Kind: model.PrincipalUser, Name: "alice"}, SealedSecret: []byte{9}, Active: true}
	if err := st.AccessKeys().Put(ctx, long); err != nil {
		t.Fatal(err)
	}
	if err := st.AccessKeys().Put(ctx, long); err != nil { // Put overwrites
		t.Fatal(err)
	}
	got, err := st.AccessKeys().Get(ctx, k.ID)
	if err != nil || !reflect.DeepEqual(got.Value, k) || !got.Value.Expired(time.Unix(6, 0)) || got.Value.Expired(time.Unix(5, 0)) {
		t.Fatalf("key = %+v %v", got.Value, err)
	}
	page, err := st.AccessKeys().List(ctx, "ASIA", "", 0)
	if err != nil || len(page.Items) != 1 || page.Items[0].Value.ID != k.ID {
		t.Fatalf("temporary keys = %+v %v", page.Items, err)
	}
}
