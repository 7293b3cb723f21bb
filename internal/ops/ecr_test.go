package ops_test

import (
	"encoding/base64"
	"errors"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/ecrbackend"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/ops"
	"github.com/gantry-dev/gantry/internal/registry"
)

var ecrScope = model.Scope{Account: model.DefaultAccount, Region: "eu-west-1"}

var ecrNow = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

// ecrFixture is the ECR operations over a real registry, with its /v2/ served for pushes.
type ecrFixture struct {
	ecr  *ops.ECR
	host string
}

func newECRFixture(t *testing.T) *ecrFixture {
	t.Helper()
	reg := registry.New(t.TempDir(), registry.Options{Now: func() time.Time { return ecrNow }})
	srv := httptest.NewServer(reg)
	t.Cleanup(srv.Close)
	e := ops.NewECR(ecrbackend.New(reg), "gantry.test:4566")
	e.SetClock(func() time.Time { return ecrNow })
	return &ecrFixture{ecr: e, host: strings.TrimPrefix(srv.URL, "http://")}
}

// push writes a random image as repo:tag and returns its digest.
func (f *ecrFixture) push(t *testing.T, repo, tag string) string {
	t.Helper()
	img, err := random.Image(512, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(f.host + "/" + repo + ":" + tag)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img, remote.WithContext(t.Context())); err != nil {
		t.Fatalf("push %s:%s: %v", repo, tag, err)
	}
	d, _ := img.Digest()
	return d.String()
}

func (f *ecrFixture) create(t *testing.T, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := f.ecr.CreateRepository(t.Context(), ecrScope, "", n, ops.RepositorySettings{}); err != nil {
			t.Fatalf("create %s: %v", n, err)
		}
	}
}

func wantECRErr(t *testing.T, err error, kind apierr.Kind, msg string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %s", kind)
	}
	if got := apierr.KindOf(err); got != kind {
		t.Fatalf("kind %q (%v), want %q", got, err, kind)
	}
	if msg != "" && apierr.Message(err) != msg {
		t.Errorf("message %q, want %q", apierr.Message(err), msg)
	}
}

func TestECRCreateRepository(t *testing.T) {
	f := newECRFixture(t)
	r, err := f.ecr.CreateRepository(t.Context(), ecrScope, "", "team/app", ops.RepositorySettings{
		ImageTagMutability: ops.TagImmutable, ScanOnPush: true, EncryptionType: "KMS", KMSKey: "alias/k",
		Tags: []model.Tag{{Key: "env", Value: "dev"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := ops.ECRRepository{
		Name: "team/app", RegistryID: "000000000000",
		ARN:       "arn:aws:ecr:eu-west-1:000000000000:repository/team/app",
		URI:       "000000000000.dkr.ecr.eu-west-1.amazonaws.com/team/app",
		CreatedAt: ecrNow,
		Settings: ops.RepositorySettings{ImageTagMutability: ops.TagImmutable, ScanOnPush: true, EncryptionType: "KMS", KMSKey: "alias/k",
			Tags: []model.Tag{{Key: "env", Value: "dev"}}},
	}
	if r.Name != want.Name || r.RegistryID != want.RegistryID || r.ARN != want.ARN || r.URI != want.URI || !r.CreatedAt.Equal(want.CreatedAt) ||
		r.Settings.ImageTagMutability != ops.TagImmutable || !r.Settings.ScanOnPush || r.Settings.EncryptionType != "KMS" || r.Settings.KMSKey != "alias/k" ||
		!slices.Equal(r.Settings.Tags, want.Settings.Tags) {
		t.Errorf("created %+v\nwant %+v", r, want)
	}
	d, err := f.ecr.CreateRepository(t.Context(), ecrScope, "", "plain", ops.RepositorySettings{})
	if err != nil || d.Settings.ImageTagMutability != ops.TagMutable || d.Settings.EncryptionType != "AES256" {
		t.Errorf("defaults %+v, %v", d.Settings, err)
	}

	tests := []struct {
		name, registry, repo string
		s                    ops.RepositorySettings
		kind                 apierr.Kind
		msg                  string
	}{
		{"exists", "", "team/app", ops.RepositorySettings{}, apierr.RepositoryAlreadyExists,
			"The repository with name 'team/app' already exists in the registry with id '000000000000'"},
		{"missing name", "", "", ops.RepositorySettings{}, apierr.InvalidParameter,
			"Invalid parameter at 'repositoryName' failed to satisfy constraint: 'Member must not be null'"},
		{"too short", "", "a", ops.RepositorySettings{}, apierr.InvalidParameter,
			"Invalid parameter at 'repositoryName' failed to satisfy constraint: 'Member must have length greater than or equal to 2'"},
		{"too long", "", strings.Repeat("a", 257), ops.RepositorySettings{}, apierr.InvalidParameter, ""},
		{"upper case", "", "Team/app", ops.RepositorySettings{}, apierr.InvalidParameter,
			"Invalid parameter at 'repositoryName' failed to satisfy constraint: 'must satisfy regular expression '(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*''"},
		{"double separator", "", "a__b", ops.RepositorySettings{}, apierr.InvalidParameter, ""},
		{"trailing slash", "", "ab/", ops.RepositorySettings{}, apierr.InvalidParameter, ""},
		{"bad mutability", "", "x1", ops.RepositorySettings{ImageTagMutability: "SOMETIMES"}, apierr.InvalidParameter, ""},
		{"bad encryption", "", "x1", ops.RepositorySettings{EncryptionType: "ROT13"}, apierr.InvalidParameter, ""},
		{"kms key with AES", "", "x1", ops.RepositorySettings{EncryptionType: "AES256", KMSKey: "k"}, apierr.InvalidParameter, ""},
		{"bad registry id", "12", "x1", ops.RepositorySettings{}, apierr.InvalidParameter, ""},
		{"other registry", "111111111111", "x1", ops.RepositorySettings{}, apierr.AccessDenied, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.ecr.CreateRepository(t.Context(), ecrScope, tt.registry, tt.repo, tt.s)
			wantECRErr(t, err, tt.kind, tt.msg)
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestECRDescribeRepositories(t *testing.T) {
	f := newECRFixture(t)
	f.create(t, "c-app", "a-app", "b-app")
	ctx := t.Context()

	all, next, err := f.ecr.DescribeRepositories(ctx, ecrScope, "", nil, ops.Page{})
	if err != nil || next != "" || len(all) != 3 || all[0].Name != "a-app" || all[2].Name != "c-app" {
		t.Fatalf("all: %+v %q %v", all, next, err)
	}
	var names []string
	tok := ""
	for range 5 {
		page, next, err := f.ecr.DescribeRepositories(ctx, ecrScope, "", nil, ops.Page{MaxResults: ptr(2), NextToken: tok})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page {
			names = append(names, r.Name)
		}
		if tok = next; tok == "" {
			break
		}
	}
	if !slices.Equal(names, []string{"a-app", "b-app", "c-app"}) {
		t.Errorf("paged names %v", names)
	}
	named, _, err := f.ecr.DescribeRepositories(ctx, ecrScope, "", []string{"c-app", "a-app"}, ops.Page{})
	if err != nil || len(named) != 2 || named[0].Name != "c-app" || named[0].Settings.ImageTagMutability != ops.TagMutable {
		t.Errorf("named: %+v %v", named, err)
	}
	other, _, err := f.ecr.DescribeRepositories(ctx, ecrScope, "222222222222", nil, ops.Page{})
	if err != nil || len(other) != 0 {
		t.Errorf("other registry: %+v %v", other, err)
	}

	tests := []struct {
		name     string
		registry string
		names    []string
		page     ops.Page
		kind     apierr.Kind
		msg      string
	}{
		{"missing", "", []string{"a-app", "nope"}, ops.Page{}, apierr.RepositoryNotFound,
			"The repository with name 'nope' does not exist in the registry with id '000000000000'"},
		{"other registry", "222222222222", []string{"a-app"}, ops.Page{}, apierr.RepositoryNotFound,
			"The repository with name 'a-app' does not exist in the registry with id '222222222222'"},
		{"names with paging", "", []string{"a-app"}, ops.Page{MaxResults: ptr(1)}, apierr.InvalidParameter, ""},
		{"max results zero", "", nil, ops.Page{MaxResults: ptr(0)}, apierr.InvalidParameter, ""},
		{"max results too big", "", nil, ops.Page{MaxResults: ptr(1001)}, apierr.InvalidParameter, ""},
		{"bad token", "", nil, ops.Page{NextToken: "garbage!"}, apierr.InvalidParameter, ""},
		{"bad name", "", []string{"A"}, ops.Page{}, apierr.InvalidParameter, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := f.ecr.DescribeRepositories(ctx, ecrScope, tt.registry, tt.names, tt.page)
			wantECRErr(t, err, tt.kind, tt.msg)
		})
	}
}

func TestECRDeleteRepository(t *testing.T) {
	f := newECRFixture(t)
	f.create(t, "empty", "full")
	f.push(t, "full", "v1")
	ctx := t.Context()

	r, err := f.ecr.DeleteRepository(ctx, ecrScope, "", "empty", false)
	if err != nil || r.Name != "empty" || r.ARN != "arn:aws:ecr:eu-west-1:000000000000:repository/empty" {
		t.Fatalf("delete empty: %+v %v", r, err)
	}
	_, err = f.ecr.DeleteRepository(ctx, ecrScope, "", "empty", false)
	wantECRErr(t, err, apierr.RepositoryNotFound, "The repository with name 'empty' does not exist in the registry with id '000000000000'")
	_, err = f.ecr.DeleteRepository(ctx, ecrScope, "", "full", false)
	wantECRErr(t, err, apierr.RepositoryNotEmpty, "The repository with name 'full' in registry with id '000000000000' cannot be deleted because it still contains images")
	if _, err := f.ecr.DeleteRepository(ctx, ecrScope, "", "full", true); err != nil {
		t.Fatalf("force delete: %v", err)
	}
	if all, _, _ := f.ecr.DescribeRepositories(ctx, ecrScope, "", nil, ops.Page{}); len(all) != 0 {
		t.Errorf("left %+v", all)
	}
}

func TestECRListAndDescribeImages(t *testing.T) {
	f := newECRFixture(t)
	f.create(t, "app")
	ctx := t.Context()
	d1 := f.push(t, "app", "v1")
	f.push(t, "app", "v2")
	d2 := f.push(t, "app", "latest") // a new image takes latest
	d3 := f.push(t, "app", "v1")     // moves v1, leaving d1 untagged

	q := func(status string, p ops.Page) ops.ImageQuery {
		return ops.ImageQuery{Repository: "app", TagStatus: status, Page: p}
	}
	all, _, err := f.ecr.ListImages(ctx, ecrScope, q("", ops.Page{}))
	if err != nil {
		t.Fatal(err)
	}
	tagged, _, _ := f.ecr.ListImages(ctx, ecrScope, q(ops.TagStatusTagged, ops.Page{}))
	untagged, _, _ := f.ecr.ListImages(ctx, ecrScope, q(ops.TagStatusUntagged, ops.Page{}))
	if len(tagged) != 3 || len(untagged) != 1 || len(all) != 4 {
		t.Fatalf("all %v\ntagged %v\nuntagged %v", all, tagged, untagged)
	}
	for _, id := range untagged {
		if id != (ops.ImageID{Digest: d1}) {
			t.Errorf("untagged id %+v", id)
		}
	}
	var paged []ops.ImageID
	tok := ""
	for range 10 {
		page, next, err := f.ecr.ListImages(ctx, ecrScope, q("", ops.Page{MaxResults: ptr(1), NextToken: tok}))
		if err != nil {
			t.Fatal(err)
		}
		paged = append(paged, page...)
		if tok = next; tok == "" {
			break
		}
	}
	if !slices.Equal(paged, all) {
		t.Errorf("paged %v, want %v", paged, all)
	}

	details, _, err := f.ecr.DescribeImages(ctx, ecrScope, q("", ops.Page{}))
	if err != nil || len(details) != 4 {
		t.Fatalf("describe all: %+v %v", details, err)
	}
	for _, d := range details {
		if d.Repository != "app" || d.Size <= 0 || !d.PushedAt.Equal(ecrNow) || d.MediaType == "" {
			t.Errorf("detail %+v", d)
		}
	}
	one, _, err := f.ecr.DescribeImages(ctx, ecrScope, ops.ImageQuery{Repository: "app", IDs: []ops.ImageID{{Tag: "latest"}, {Digest: d2}}})
	if err != nil || len(one) != 1 || one[0].Digest != d2 || !slices.Equal(one[0].Tags, []string{"latest"}) {
		t.Errorf("describe latest: %+v %v", one, err)
	}
	v1, _, err := f.ecr.DescribeImages(ctx, ecrScope, ops.ImageQuery{Repository: "app", IDs: []ops.ImageID{{Tag: "v1"}}})
	if err != nil || len(v1) != 1 || v1[0].Digest != d3 {
		t.Errorf("describe v1: %+v %v", v1, err)
	}

	tests := []struct {
		name string
		q    ops.ImageQuery
		kind apierr.Kind
		msg  string
	}{
		{"missing tag", ops.ImageQuery{Repository: "app", IDs: []ops.ImageID{{Tag: "nope"}}}, apierr.ImageNotFound,
			"The image with imageId {imageDigest:'null', imageTag:'nope'} does not exist within the repository with name 'app' in the registry with id '000000000000'"},
		{"missing digest", ops.ImageQuery{Repository: "app", IDs: []ops.ImageID{{Digest: "sha256:" + strings.Repeat("0", 64)}}}, apierr.ImageNotFound, ""},
		{"bad digest", ops.ImageQuery{Repository: "app", IDs: []ops.ImageID{{Digest: "nodigest"}}}, apierr.InvalidParameter, ""},
		{"bad tag", ops.ImageQuery{Repository: "app", IDs: []ops.ImageID{{Tag: "../_repo.json"}}}, apierr.InvalidParameter, ""},
		{"empty id", ops.ImageQuery{Repository: "app", IDs: []ops.ImageID{{}}}, apierr.InvalidParameter, ""},
		{"ids with paging", ops.ImageQuery{Repository: "app", IDs: []ops.ImageID{{Tag: "v1"}}, Page: ops.Page{NextToken: "x"}}, apierr.InvalidParameter, ""},
		{"no repository", ops.ImageQuery{Repository: "nope"}, apierr.RepositoryNotFound,
			"The repository with name 'nope' does not exist in the registry with id '000000000000'"},
		{"bad filter", ops.ImageQuery{Repository: "app", TagStatus: "SOME"}, apierr.InvalidParameter, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := f.ecr.DescribeImages(ctx, ecrScope, tt.q)
			wantECRErr(t, err, tt.kind, tt.msg)
		})
	}
	_, _, err = f.ecr.ListImages(ctx, ecrScope, ops.ImageQuery{Repository: "nope"})
	wantECRErr(t, err, apierr.RepositoryNotFound, "")
}

func TestECRBatchDeleteImage(t *testing.T) {
	f := newECRFixture(t)
	f.create(t, "app")
	ctx := t.Context()
	d1 := f.push(t, "app", "v1")
	f.push(t, "app", "also-v1") // a random image, so it is another digest
	d2 := f.push(t, "app", "v2")
	other := "sha256:" + strings.Repeat("a", 64)

	deleted, failures, err := f.ecr.BatchDeleteImage(ctx, ecrScope, "", "app", []ops.ImageID{
		{},
		{Digest: "bogus"},
		{Tag: "bad/tag"},
		{Tag: "nope"},
		{Tag: "v2", Digest: d1},
		{Tag: "v1", Digest: other},
		{Tag: "nope", Digest: d1},
		{Tag: "v1"},
		{Digest: d2},
	})
	if err != nil {
		t.Fatal(err)
	}
	wantDeleted := []ops.ImageID{{Digest: d1, Tag: "v1"}, {Digest: d2, Tag: "v2"}}
	if !slices.Equal(deleted, wantDeleted) {
		t.Errorf("deleted %v, want %v", deleted, wantDeleted)
	}
	wantFailures := []ops.ECRImageFailure{
		{ID: ops.ImageID{}, Code: ops.FailureMissingDigestAndTag, Reason: "Invalid request parameters: both tag and digest cannot be null"},
		{ID: ops.ImageID{Digest: "bogus"}, Code: ops.FailureInvalidImageDigest, Reason: "Invalid request parameters: image digest should satisfy the regex '[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+'"},
		{ID: ops.ImageID{Tag: "bad/tag"}, Code: ops.FailureInvalidImageTag},
		{ID: ops.ImageID{Tag: "nope"}, Code: ops.FailureImageNotFound, Reason: "Requested image not found"},
		{ID: ops.ImageID{Tag: "v2", Digest: d1}, Code: ops.FailureImageTagDoesNotMatchDigest, Reason: "Invalid request parameters: given tag does not map to the given digest"},
		{ID: ops.ImageID{Tag: "v1", Digest: other}, Code: ops.FailureImageTagDoesNotMatchDigest},
		{ID: ops.ImageID{Tag: "nope", Digest: d1}, Code: ops.FailureImageNotFound, Reason: "Requested image not found"},
	}
	if len(failures) != len(wantFailures) {
		t.Fatalf("failures %+v", failures)
	}
	for i, w := range wantFailures {
		g := failures[i]
		if g.ID != w.ID || g.Code != w.Code || w.Reason != "" && g.Reason != w.Reason {
			t.Errorf("failure %d = %+v, want %+v", i, g, w)
		}
	}
	left, _, _ := f.ecr.ListImages(ctx, ecrScope, ops.ImageQuery{Repository: "app"})
	if len(left) != 1 || left[0].Tag != "also-v1" {
		t.Errorf("left %v", left)
	}

	_, _, err = f.ecr.BatchDeleteImage(ctx, ecrScope, "", "nope", []ops.ImageID{{Tag: "v1"}})
	wantECRErr(t, err, apierr.RepositoryNotFound, "")
	_, _, err = f.ecr.BatchDeleteImage(ctx, ecrScope, "", "app", nil)
	wantECRErr(t, err, apierr.InvalidParameter, "")
	_, _, err = f.ecr.BatchDeleteImage(ctx, ecrScope, "", "app", make([]ops.ImageID, 101))
	wantECRErr(t, err, apierr.InvalidParameter, "Invalid parameter at 'imageIds' failed to satisfy constraint: 'Member must have length less than or equal to 100'")
}

func TestECRGetAuthorizationToken(t *testing.T) {
	f := newECRFixture(t)
	data, err := f.ecr.GetAuthorizationToken(t.Context(), ecrScope, nil)
	if err != nil || len(data) != 1 {
		t.Fatalf("%+v %v", data, err)
	}
	d := data[0]
	raw, err := base64.StdEncoding.DecodeString(d.Token)
	if err != nil || !strings.HasPrefix(string(raw), "AWS:") || len(raw) < 20 {
		t.Errorf("token %q decodes to %q, %v", d.Token, raw, err)
	}
	if !d.ExpiresAt.Equal(ecrNow.Add(12*time.Hour)) || d.ProxyEndpoint != "http://gantry.test:4566" {
		t.Errorf("data %+v", d)
	}
	two, err := f.ecr.GetAuthorizationToken(t.Context(), ecrScope, []string{"000000000000", "111111111111"})
	if err != nil || len(two) != 2 || two[0].Token == two[1].Token {
		t.Errorf("two registries: %+v %v", two, err)
	}
	_, err = f.ecr.GetAuthorizationToken(t.Context(), ecrScope, []string{"x"})
	if !errors.Is(err, apierr.InvalidParameter) {
		t.Errorf("bad registry id: %v", err)
	}
}
