package ecr_test

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gantry-dev/gantry/internal/api"
	"github.com/gantry-dev/gantry/internal/api/ecr"
	"github.com/gantry-dev/gantry/internal/ecrbackend"
	"github.com/gantry-dev/gantry/internal/logx"
	"github.com/gantry-dev/gantry/internal/ops"
	"github.com/gantry-dev/gantry/internal/registry"
	"github.com/gantry-dev/gantry/internal/testimage"
)

// ecrAPI is one server with the ECR front door and the registry's /v2/, as gantry serves them.
type ecrAPI struct {
	t    *testing.T
	url  string
	host string
}

func newECRAPI(t *testing.T) *ecrAPI {
	t.Helper()
	reg := registry.New(t.TempDir(), registry.Options{})
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	front := api.New(logx.Discard(), ecr.Service(ops.NewECR(ecrbackend.New(reg), host)))
	front.Handle("/v2/", reg)
	mux.Handle("/", front)
	return &ecrAPI{t: t, url: srv.URL, host: host}
}

func (a *ecrAPI) call(op, body string) (int, map[string]any) {
	a.t.Helper()
	req, err := http.NewRequest(http.MethodPost, a.url, strings.NewReader(body))
	if err != nil {
		a.t.Fatal(err)
	}
	req.Header.Set("X-Amz-Target", ecr.TargetPrefix+"."+op)
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		a.t.Fatalf("%s: body %q is not JSON: %v", op, raw, err)
	}
	if resp.StatusCode != http.StatusOK && resp.Header.Get("X-Amzn-ErrorType") != out["__type"] {
		a.t.Fatalf("%s: X-Amzn-ErrorType %q, __type %v", op, resp.Header.Get("X-Amzn-ErrorType"), out["__type"])
	}
	return resp.StatusCode, out
}

func (a *ecrAPI) ok(op, body string) map[string]any {
	a.t.Helper()
	status, out := a.call(op, body)
	if status != http.StatusOK {
		a.t.Fatalf("%s %s: %d %v", op, body, status, out)
	}
	return out
}

func (a *ecrAPI) fails(op, body string, status int, code, msg string) {
	a.t.Helper()
	got, out := a.call(op, body)
	if got != status || out["__type"] != code || msg != "" && out["message"] != msg {
		a.t.Errorf("%s %s: %d %v, want %d %s %q", op, body, got, out, status, code, msg)
	}
}

// push builds the test image and pushes it as repo:tag.
func (a *ecrAPI) push(repo, tag string) string {
	a.t.Helper()
	img, err := testimage.Build(a.t.Context(), testimage.Options{})
	if err != nil {
		a.t.Fatal(err)
	}
	d, err := testimage.Push(a.t.Context(), img, a.host, repo, tag)
	if err != nil {
		a.t.Fatal(err)
	}
	return d
}

func TestRepositoriesOverHTTP(t *testing.T) {
	a := newECRAPI(t)
	out := a.ok("CreateRepository", `{"repositoryName":"team/web","imageTagMutability":"IMMUTABLE",
		"imageScanningConfiguration":{"scanOnPush":true},"tags":[{"Key":"env","Value":"dev"}]}`)
	repo := out["repository"].(map[string]any)
	want := map[string]any{
		"repositoryName":             "team/web",
		"registryId":                 "000000000000",
		"repositoryArn":              "arn:aws:ecr:us-east-1:000000000000:repository/team/web",
		"repositoryUri":              "000000000000.dkr.ecr.us-east-1.amazonaws.com/team/web",
		"imageTagMutability":         "IMMUTABLE",
		"imageScanningConfiguration": map[string]any{"scanOnPush": true},
		"encryptionConfiguration":    map[string]any{"encryptionType": "AES256"},
	}
	for k, v := range want {
		if g, _ := json.Marshal(repo[k]); string(g) != mustJSON(v) {
			t.Errorf("%s = %s, want %s", k, g, mustJSON(v))
		}
	}
	if _, ok := repo["createdAt"].(float64); !ok {
		t.Errorf("createdAt %v", repo["createdAt"])
	}
	a.fails("CreateRepository", `{"repositoryName":"team/web"}`, 400, "RepositoryAlreadyExistsException",
		"The repository with name 'team/web' already exists in the registry with id '000000000000'")
	a.fails("CreateRepository", `{"repositoryName":"Team"}`, 400, "InvalidParameterException", "")
	a.fails("CreateRepository", `{"repositoryName":7}`, 400, "SerializationException", "")

	a.ok("CreateRepository", `{"repositoryName":"api"}`)
	page := a.ok("DescribeRepositories", `{"maxResults":1}`)
	if rs := page["repositories"].([]any); len(rs) != 1 || rs[0].(map[string]any)["repositoryName"] != "api" || page["nextToken"] == nil {
		t.Fatalf("page 1: %v", page)
	}
	page = a.ok("DescribeRepositories", `{"maxResults":1,"nextToken":"`+page["nextToken"].(string)+`"}`)
	if rs := page["repositories"].([]any); len(rs) != 1 || rs[0].(map[string]any)["repositoryName"] != "team/web" || page["nextToken"] != nil {
		t.Fatalf("page 2: %v", page)
	}
	a.fails("DescribeRepositories", `{"repositoryNames":["nope"]}`, 400, "RepositoryNotFoundException",
		"The repository with name 'nope' does not exist in the registry with id '000000000000'")

	a.push("api", "v1")
	a.fails("DeleteRepository", `{"repositoryName":"api"}`, 400, "RepositoryNotEmptyException",
		"The repository with name 'api' in registry with id '000000000000' cannot be deleted because it still contains images")
	del := a.ok("DeleteRepository", `{"repositoryName":"api","force":true}`)
	if del["repository"].(map[string]any)["repositoryName"] != "api" {
		t.Errorf("deleted %v", del)
	}
	a.fails("DeleteRepository", `{"repositoryName":"api"}`, 400, "RepositoryNotFoundException", "")
	if rs := a.ok("DescribeRepositories", `{}`)["repositories"].([]any); len(rs) != 1 {
		t.Errorf("left %v", rs)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestImagesOverHTTP(t *testing.T) {
	a := newECRAPI(t)
	a.ok("CreateRepository", `{"repositoryName":"app"}`)
	digest := a.push("app", "v1")
	a.push("app", "latest")

	ids := a.ok("ListImages", `{"repositoryName":"app"}`)["imageIds"].([]any)
	if len(ids) != 2 || mustJSON(ids[0]) != mustJSON(map[string]any{"imageDigest": digest, "imageTag": "latest"}) {
		t.Errorf("ListImages %v", ids)
	}
	if u := a.ok("ListImages", `{"repositoryName":"app","filter":{"tagStatus":"UNTAGGED"}}`)["imageIds"].([]any); len(u) != 0 {
		t.Errorf("untagged %v", u)
	}
	details := a.ok("DescribeImages", `{"repositoryName":"app","imageIds":[{"imageTag":"v1"}]}`)["imageDetails"].([]any)
	if len(details) != 1 {
		t.Fatalf("DescribeImages %v", details)
	}
	d := details[0].(map[string]any)
	if d["imageDigest"] != digest || d["repositoryName"] != "app" || d["registryId"] != "000000000000" ||
		mustJSON(d["imageTags"]) != `["latest","v1"]` || d["imageSizeInBytes"].(float64) <= 0 ||
		d["imagePushedAt"] == nil || d["imageManifestMediaType"] == "" || d["artifactMediaType"] == nil {
		t.Errorf("detail %v", d)
	}
	a.fails("DescribeImages", `{"repositoryName":"app","imageIds":[{"imageTag":"nope"}]}`, 400, "ImageNotFoundException",
		"The image with imageId {imageDigest:'null', imageTag:'nope'} does not exist within the repository with name 'app' in the registry with id '000000000000'")
	a.fails("ListImages", `{"repositoryName":"nope"}`, 400, "RepositoryNotFoundException", "")

	out := a.ok("BatchDeleteImage", `{"repositoryName":"app","imageIds":[{"imageTag":"v1"},{"imageTag":"gone"},{"imageDigest":"bad"}]}`)
	if mustJSON(out["imageIds"]) != mustJSON([]any{map[string]any{"imageDigest": digest, "imageTag": "v1"}}) {
		t.Errorf("deleted %v", out["imageIds"])
	}
	wantFailures := []any{
		map[string]any{"imageId": map[string]any{"imageTag": "gone"}, "failureCode": "ImageNotFound", "failureReason": "Requested image not found"},
		map[string]any{"imageId": map[string]any{"imageDigest": "bad"}, "failureCode": "InvalidImageDigest",
			"failureReason": "Invalid request parameters: image digest should satisfy the regex '[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+'"},
	}
	if mustJSON(out["failures"]) != mustJSON(wantFailures) {
		t.Errorf("failures %s\nwant %s", mustJSON(out["failures"]), mustJSON(wantFailures))
	}
	out = a.ok("BatchDeleteImage", `{"repositoryName":"app","imageIds":[{"imageDigest":"`+digest+`"}]}`)
	if mustJSON(out["failures"]) != "[]" || len(out["imageIds"].([]any)) != 1 {
		t.Errorf("delete by digest %v", out)
	}
	if ids := a.ok("ListImages", `{"repositoryName":"app"}`)["imageIds"].([]any); len(ids) != 0 {
		t.Errorf("left %v", ids)
	}
}

func TestGetAuthorizationTokenOverHTTP(t *testing.T) {
	a := newECRAPI(t)
	data := a.ok("GetAuthorizationToken", `{}`)["authorizationData"].([]any)
	if len(data) != 1 {
		t.Fatalf("%v", data)
	}
	d := data[0].(map[string]any)
	raw, err := base64.StdEncoding.DecodeString(d["authorizationToken"].(string))
	if err != nil || !strings.HasPrefix(string(raw), "AWS:") {
		t.Errorf("token %v: %q %v", d["authorizationToken"], raw, err)
	}
	if d["proxyEndpoint"] != "http://"+a.host || d["expiresAt"] == nil {
		t.Errorf("data %v", d)
	}
	a.fails("GetAuthorizationToken", `{"registryIds":["abc"]}`, 400, "InvalidParameterException", "")
}
