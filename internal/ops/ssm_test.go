package ops_test

import (
	"encoding/base64"
	"slices"
	"strings"
	"testing"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/ops"
)

func put(t *testing.T, v *vault, in ops.PutParameterInput) int64 {
	t.Helper()
	ver, _, err := v.ssm.PutParameter(t.Context(), vaultScope, in)
	if err != nil {
		t.Fatalf("PutParameter(%s): %v", in.Name, err)
	}
	return ver
}

func TestParameterVersionsAndSelectors(t *testing.T) {
	v := newVault(t)
	ctx := t.Context()
	if n := put(t, v, ops.PutParameterInput{Name: "/app/db/password", Value: "s3cret-one", Type: model.ParamSecureString}); n != 1 {
		t.Fatalf("first version = %d", n)
	}
	_, _, err := v.ssm.PutParameter(ctx, vaultScope, ops.PutParameterInput{Name: "/app/db/password", Value: "x", Type: model.ParamSecureString})
	if apierr.KindOf(err) != apierr.AlreadyExists {
		t.Fatalf("put without overwrite = %v", err)
	}
	if n := put(t, v, ops.PutParameterInput{Name: "/app/db/password", Value: "s3cret-two", Overwrite: true}); n != 2 {
		t.Fatalf("second version = %d", n)
	}
	if _, _, err := v.ssm.LabelParameterVersion(ctx, vaultScope, "/app/db/password", 1, []string{"old"}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		ref     string
		decrypt bool
		want    string
		version int64
	}{
		{"/app/db/password", true, "s3cret-two", 2},
		{"/app/db/password:1", true, "s3cret-one", 1},
		{"/app/db/password:old", true, "s3cret-one", 1},
		{"arn:aws:ssm:us-east-1:000000000000:parameter/app/db/password", true, "s3cret-two", 2},
	} {
		got, err := v.ssm.GetParameter(ctx, vaultScope, tc.ref, tc.decrypt)
		if err != nil || got.Value != tc.want || got.Version != tc.version || got.Type != model.ParamSecureString {
			t.Fatalf("GetParameter(%s) = %+v, %v", tc.ref, got, err)
		}
	}
	enc, err := v.ssm.GetParameter(ctx, vaultScope, "/app/db/password", false)
	if err != nil || strings.Contains(enc.Value, "s3cret") {
		t.Fatalf("without decryption = %q, %v", enc.Value, err)
	}
	if _, err := base64.StdEncoding.DecodeString(enc.Value); err != nil {
		t.Fatalf("ciphertext %q is not base64: %v", enc.Value, err)
	}
	if _, err := v.ssm.GetParameter(ctx, vaultScope, "/app/db/password:7", true); apierr.KindOf(err) != apierr.VersionNotFound {
		t.Fatalf("missing version = %v", err)
	}
	if _, err := v.ssm.GetParameter(ctx, vaultScope, "/nope", true); apierr.KindOf(err) != apierr.NotFound || apierr.Message(err) != "Parameter /nope not found." {
		t.Fatalf("missing parameter = %v", err)
	}
	hist, _, err := v.ssm.GetParameterHistory(ctx, vaultScope, "/app/db/password", true, 0, "")
	if err != nil || len(hist) != 2 || hist[0].Value != "s3cret-one" || !slices.Equal(hist[0].Labels, []string{"old"}) || hist[1].Version != 2 {
		t.Fatalf("history = %+v, %v", hist, err)
	}
	put(t, v, ops.PutParameterInput{Name: "plain", Value: "clear-but-sealed", Type: model.ParamString})
	v.requireNotStored(t, "s3cret", "s3cret-one", "s3cret-two", "clear-but-sealed")
}

func TestParameterNameRules(t *testing.T) {
	v := newVault(t)
	for _, tc := range []struct {
		name string
		kind apierr.Kind
	}{
		{"a/b", apierr.InvalidParameter},
		{"/aws/x", apierr.InvalidParameter},
		{"SSM-thing", apierr.InvalidParameter},
		{"/a b", apierr.InvalidParameter},
		{"/a//b", apierr.InvalidParameter},
		{"/" + strings.Repeat("l/", 15) + "x", apierr.HierarchyLimit},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := v.ssm.PutParameter(t.Context(), vaultScope, ops.PutParameterInput{Name: tc.name, Value: "v", Type: model.ParamString})
			if apierr.KindOf(err) != tc.kind {
				t.Fatalf("PutParameter(%q) = %v, want %s", tc.name, err, tc.kind)
			}
		})
	}
	put(t, v, ops.PutParameterInput{Name: "/" + strings.Repeat("l/", 14) + "x", Value: "v", Type: model.ParamString})
	for _, tc := range []struct {
		name string
		in   ops.PutParameterInput
		kind apierr.Kind
	}{
		{"no type", ops.PutParameterInput{Name: "n", Value: "v"}, apierr.InvalidParameter},
		{"bad type", ops.PutParameterInput{Name: "n", Value: "v", Type: "Number"}, apierr.InvalidParameter},
		{"too long", ops.PutParameterInput{Name: "n", Value: strings.Repeat("v", 4097), Type: "String", Tier: "Standard"}, apierr.InvalidParameter},
		{"pattern", ops.PutParameterInput{Name: "n", Value: "abc", Type: "String", AllowedPattern: str("^[0-9]+$")}, apierr.PatternMismatch},
		{"tags with overwrite", ops.PutParameterInput{Name: "n", Value: "v", Type: "String", Overwrite: true, Tags: []model.Tag{{Key: "a", Value: "b"}}}, apierr.InvalidParameter},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := v.ssm.PutParameter(t.Context(), vaultScope, tc.in)
			if apierr.KindOf(err) != tc.kind {
				t.Fatalf("PutParameter = %v, want %s", err, tc.kind)
			}
		})
	}
}

func TestParametersByPathAndDescribe(t *testing.T) {
	v := newVault(t)
	ctx := t.Context()
	for _, n := range []string{"/app/a", "/app/b", "/app/sub/c", "/apple", "top"} {
		typ := model.ParamString
		if n == "/app/b" {
			typ = model.ParamSecureString
		}
		put(t, v, ops.PutParameterInput{Name: n, Value: "v" + n, Type: typ})
	}
	names := func(ps []ops.ParameterOut) []string {
		var out []string
		for _, p := range ps {
			out = append(out, p.Name)
		}
		return out
	}
	one, _, err := v.ssm.GetParametersByPath(ctx, vaultScope, ops.PathQuery{Path: "/app", Decrypt: true})
	if err != nil || !slices.Equal(names(one), []string{"/app/a", "/app/b"}) || one[1].Value != "v/app/b" {
		t.Fatalf("one level = %+v, %v", one, err)
	}
	var rec []ops.ParameterOut
	token := ""
	for range 5 {
		page, next, err := v.ssm.GetParametersByPath(ctx, vaultScope, ops.PathQuery{Path: "/app/", Recursive: true, MaxResults: 2, Token: token})
		if err != nil {
			t.Fatal(err)
		}
		rec = append(rec, page...)
		if token = next; token == "" {
			break
		}
	}
	if !slices.Equal(names(rec), []string{"/app/a", "/app/b", "/app/sub/c"}) {
		t.Fatalf("recursive = %v", names(rec))
	}
	secure, _, err := v.ssm.GetParametersByPath(ctx, vaultScope, ops.PathQuery{Path: "/", Recursive: true,
		Filters: []ops.ParameterFilter{{Key: "Type", Values: []string{"SecureString"}}}})
	if err != nil || !slices.Equal(names(secure), []string{"/app/b"}) || secure[0].Value == "v/app/b" {
		t.Fatalf("SecureString filter = %+v, %v", secure, err)
	}
	if _, _, err := v.ssm.GetParametersByPath(ctx, vaultScope, ops.PathQuery{Path: "/", Filters: []ops.ParameterFilter{{Key: "Name", Values: []string{"x"}}}}); apierr.KindOf(err) != apierr.InvalidFilterKey {
		t.Fatalf("Name filter by path = %v", err)
	}
	desc, _, err := v.ssm.DescribeParameters(ctx, vaultScope, ops.DescribeQuery{Filters: []ops.ParameterFilter{{Key: "Name", Option: "BeginsWith", Values: []string{"/app"}}}})
	if err != nil || !slices.Equal(names(desc), []string{"/app/a", "/app/b", "/app/sub/c", "/apple"}) || desc[0].Value != "" {
		t.Fatalf("describe BeginsWith = %+v, %v", desc, err)
	}
	desc, _, _ = v.ssm.DescribeParameters(ctx, vaultScope, ops.DescribeQuery{Filters: []ops.ParameterFilter{{Key: "Path", Option: "Recursive", Values: []string{"/app"}}}})
	if !slices.Equal(names(desc), []string{"/app/a", "/app/b", "/app/sub/c"}) {
		t.Fatalf("describe Path = %v", names(desc))
	}
	if _, _, err := v.ssm.DescribeParameters(ctx, vaultScope, ops.DescribeQuery{Filters: []ops.ParameterFilter{{Key: "Type", Option: "Contains", Values: []string{"x"}}}}); apierr.KindOf(err) != apierr.InvalidFilterOption {
		t.Fatalf("bad option = %v", err)
	}
	got, invalid, err := v.ssm.GetParameters(ctx, vaultScope, []string{"top", "/nope", "/app/a:9"}, false)
	if err != nil || !slices.Equal(names(got), []string{"top"}) || !slices.Equal(invalid, []string{"/nope", "/app/a:9"}) {
		t.Fatalf("GetParameters = %v %v %v", names(got), invalid, err)
	}
	deleted, invalid, err := v.ssm.DeleteParameters(ctx, vaultScope, []string{"top", "/nope"})
	if err != nil || !slices.Equal(deleted, []string{"top"}) || !slices.Equal(invalid, []string{"/nope"}) {
		t.Fatalf("DeleteParameters = %v %v %v", deleted, invalid, err)
	}
	if err := v.ssm.DeleteParameter(ctx, vaultScope, "top"); apierr.KindOf(err) != apierr.NotFound {
		t.Fatalf("delete twice = %v", err)
	}
	if err := v.ssm.AddTagsToParameter(ctx, vaultScope, "Parameter", "/app/a", []model.Tag{{Key: "k", Value: "v"}}); err != nil {
		t.Fatal(err)
	}
	if tags, err := v.ssm.ListParameterTags(ctx, vaultScope, "Parameter", "/app/a"); err != nil || len(tags) != 1 {
		t.Fatalf("tags = %v, %v", tags, err)
	}
	if err := v.ssm.AddTagsToParameter(ctx, vaultScope, "Parameter", "/none", []model.Tag{{Key: "k", Value: "v"}}); apierr.KindOf(err) != apierr.InvalidResourceID {
		t.Fatalf("tag missing = %v", err)
	}
}

func TestParameterOverwriteLimits(t *testing.T) {
	v := newVault(t)
	ctx := t.Context()
	put(t, v, ops.PutParameterInput{Name: "/lim", Value: "v0", Type: model.ParamString})
	if _, _, err := v.ssm.PutParameter(ctx, vaultScope, ops.PutParameterInput{Name: "/lim", Value: "v", Type: model.ParamSecureString, Overwrite: true}); apierr.KindOf(err) != apierr.TypeMismatch {
		t.Fatalf("type change on overwrite = %v", err)
	}
	if _, _, err := v.ssm.LabelParameterVersion(ctx, vaultScope, "/lim", 1, []string{"first"}); err != nil {
		t.Fatal(err)
	}
	for i := 2; i <= 100; i++ {
		put(t, v, ops.PutParameterInput{Name: "/lim", Value: "v", Overwrite: true})
	}
	if _, _, err := v.ssm.PutParameter(ctx, vaultScope, ops.PutParameterInput{Name: "/lim", Value: "v", Overwrite: true}); apierr.KindOf(err) != apierr.VersionLimitReached {
		t.Fatalf("101st version with a labelled oldest = %v", err)
	}
	if _, _, err := v.ssm.LabelParameterVersion(ctx, vaultScope, "/lim", 50, []string{"first"}); err != nil {
		t.Fatal(err)
	}
	if n := put(t, v, ops.PutParameterInput{Name: "/lim", Value: "v", Overwrite: true}); n != 101 {
		t.Fatalf("101st version = %d", n)
	}
	hist, _, err := v.ssm.GetParameterHistory(ctx, vaultScope, "/lim", false, 50, "")
	if err != nil || hist[0].Version != 2 {
		t.Fatalf("history starts at %d, %v; want 2 (100 kept)", hist[0].Version, err)
	}
}
