package ssm_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gantry-dev/gantry/internal/api"
	"github.com/gantry-dev/gantry/internal/api/ssm"
	"github.com/gantry-dev/gantry/internal/logx"
	"github.com/gantry-dev/gantry/internal/ops"
	"github.com/gantry-dev/gantry/internal/sealer"
	"github.com/gantry-dev/gantry/internal/store"
	"github.com/gantry-dev/gantry/internal/testutil"
)

func newServer(t *testing.T) *httptest.Server {
	t.Helper()
	cli, prefix := testutil.Etcd(t)
	seal, err := sealer.Open(t.TempDir() + "/master.key")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.New(logx.Discard(), ssm.Service(ops.NewSSM(store.New(cli, prefix), seal, logx.Discard()))))
	t.Cleanup(srv.Close)
	return srv
}

func call(t *testing.T, srv *httptest.Server, op, body string) (int, string, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/", strings.NewReader(body))
	req.Header.Set("X-Amz-Target", ssm.TargetPrefix+"."+op)
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s: %s", op, raw)
	}
	return resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), out
}

func TestWireShapesAndErrors(t *testing.T) {
	srv := newServer(t)
	if code, _, out := call(t, srv, "PutParameter", `{"Name":"/a/b","Value":"v1","Type":"SecureString"}`); code != 200 || out["Version"] != 1.0 || out["Tier"] != "Standard" {
		t.Fatalf("PutParameter = %d %v", code, out)
	}
	_, _, out := call(t, srv, "GetParameter", `{"Name":"/a/b","WithDecryption":true}`)
	p := out["Parameter"].(map[string]any)
	if p["Value"] != "v1" || p["Type"] != "SecureString" || p["ARN"] != "arn:aws:ssm:us-east-1:000000000000:parameter/a/b" || p["DataType"] != "text" || p["LastModifiedDate"] == nil {
		t.Fatalf("GetParameter = %v", p)
	}
	_, _, out = call(t, srv, "GetParameters", `{"Names":["/a/b","/x"]}`)
	if len(out["Parameters"].([]any)) != 1 || out["InvalidParameters"].([]any)[0] != "/x" {
		t.Fatalf("GetParameters = %v", out)
	}
	_, _, out = call(t, srv, "DescribeParameters", `{}`)
	if m := out["Parameters"].([]any)[0].(map[string]any); m["KeyId"] != "alias/aws/ssm" || m["Value"] != nil || m["Version"] != 1.0 {
		t.Fatalf("DescribeParameters = %v", out)
	}
	for _, tc := range []struct{ op, body, code string }{
		{"GetParameter", `{"Name":"/x"}`, "ParameterNotFound"},
		{"GetParameter", `{"Name":"/a/b:4"}`, "ParameterVersionNotFound"},
		{"PutParameter", `{"Name":"/a/b","Value":"v","Type":"String"}`, "ParameterAlreadyExists"},
		{"PutParameter", `{"Name":"a/b","Value":"v","Type":"String"}`, "ValidationException"},
		{"PutParameter", `{"Name":"/n","Value":"v","Type":"Text"}`, "ValidationException"},
		{"PutParameter", `{"Name":"/n","Value":"v","Type":"String","AllowedPattern":"^x$"}`, "ParameterPatternMismatchException"},
		{"PutParameter", `{"Name":"/1/2/3/4/5/6/7/8/9/10/11/12/13/14/15/16","Value":"v","Type":"String"}`, "HierarchyLevelLimitExceededException"},
		{"GetParametersByPath", `{"Path":"/","ParameterFilters":[{"Key":"Path","Values":["/a"]}]}`, "InvalidFilterKey"},
		{"DescribeParameters", `{"ParameterFilters":[{"Key":"Name","Option":"Recursive","Values":["/a"]}]}`, "InvalidFilterOption"},
		{"DescribeParameters", `{"ParameterFilters":[{"Key":"Type","Values":["Bogus"]}]}`, "InvalidFilterValue"},
		{"DescribeParameters", `{"NextToken":"zz"}`, "InvalidNextToken"},
		{"AddTagsToResource", `{"ResourceType":"Parameter","ResourceId":"/x","Tags":[{"Key":"a","Value":"b"}]}`, "InvalidResourceId"},
		{"ListTagsForResource", `{"ResourceType":"Document","ResourceId":"/a/b"}`, "InvalidResourceType"},
		{"DeleteParameter", `{"Name":"/x"}`, "ParameterNotFound"},
	} {
		if code, typ, out := call(t, srv, tc.op, tc.body); code != 400 || typ != tc.code {
			t.Errorf("%s %s = %d %s %v, want %s", tc.op, tc.body, code, typ, out, tc.code)
		}
	}
}
