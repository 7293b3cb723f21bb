package secretsmanager_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/gantry-dev/gantry/internal/api"
	"github.com/gantry-dev/gantry/internal/api/secretsmanager"
	"github.com/gantry-dev/gantry/internal/ops"
	"github.com/gantry-dev/gantry/internal/sealer"
	"github.com/gantry-dev/gantry/internal/store"
	"github.com/gantry-dev/gantry/internal/testutil"
)

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// newServer serves Secrets Manager with every log line, debug included, going to the buffer.
func newServer(t *testing.T) (*httptest.Server, *syncBuffer) {
	t.Helper()
	cli, prefix := testutil.Etcd(t)
	seal, err := sealer.Open(t.TempDir() + "/master.key")
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv := httptest.NewServer(api.New(logger, secretsmanager.Service(ops.NewSecrets(store.New(cli, prefix), seal, logger))))
	t.Cleanup(srv.Close)
	return srv, logs
}

func call(t *testing.T, srv *httptest.Server, op, body string) (int, string, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/", strings.NewReader(body))
	req.Header.Set("X-Amz-Target", secretsmanager.TargetPrefix+"."+op)
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
	srv, logs := newServer(t)
	const value = "wire-VALUE-never-logged"
	code, _, out := call(t, srv, "CreateSecret", `{"Name":"w","SecretString":"`+value+`","ClientRequestToken":"`+strings.Repeat("x", 32)+`"}`)
	if code != 200 || out["Name"] != "w" || out["VersionId"] != strings.Repeat("x", 32) || !strings.HasPrefix(out["ARN"].(string), "arn:aws:secretsmanager:") {
		t.Fatalf("CreateSecret = %d %v", code, out)
	}
	_, _, out = call(t, srv, "GetSecretValue", `{"SecretId":"w"}`)
	if out["SecretString"] != value || out["VersionStages"].([]any)[0] != "AWSCURRENT" || out["CreatedDate"] == nil {
		t.Fatalf("GetSecretValue = %v", out)
	}
	_, _, out = call(t, srv, "PutSecretValue", `{"SecretId":"w","SecretBinary":"AAEC"}`)
	if out["VersionStages"].([]any)[0] != "AWSCURRENT" {
		t.Fatalf("PutSecretValue = %v", out)
	}
	_, _, out = call(t, srv, "GetSecretValue", `{"SecretId":"w"}`)
	if out["SecretBinary"] != "AAEC" || out["SecretString"] != nil {
		t.Fatalf("binary GetSecretValue = %v", out)
	}
	_, _, out = call(t, srv, "DescribeSecret", `{"SecretId":"w"}`)
	if len(out["VersionIdsToStages"].(map[string]any)) != 2 || out["SecretString"] != nil {
		t.Fatalf("DescribeSecret = %v", out)
	}
	_, _, out = call(t, srv, "ListSecrets", `{}`)
	if list := out["SecretList"].([]any); len(list) != 1 || list[0].(map[string]any)["SecretVersionsToStages"] == nil {
		t.Fatalf("ListSecrets = %v", out)
	}
	for _, tc := range []struct{ op, body, code string }{
		{"GetSecretValue", `{"SecretId":"nope"}`, "ResourceNotFoundException"},
		{"CreateSecret", `{"Name":"w"}`, "ResourceExistsException"},
		{"CreateSecret", `{"Name":"bad name"}`, "InvalidParameterException"},
		{"DeleteSecret", `{"SecretId":"w","RecoveryWindowInDays":7,"ForceDeleteWithoutRecovery":true}`, "InvalidParameterException"},
		{"ListSecrets", `{"NextToken":"zz"}`, "InvalidNextTokenException"},
		{"CreateSecret", `{"Name":5}`, "InvalidParameterException"},
	} {
		if code, typ, out := call(t, srv, tc.op, tc.body); code != 400 || typ != tc.code || out["__type"] != tc.code {
			t.Errorf("%s %s = %d %s %v, want %s", tc.op, tc.body, code, typ, out, tc.code)
		}
	}
	call(t, srv, "DeleteSecret", `{"SecretId":"w"}`)
	if _, typ, out := call(t, srv, "GetSecretValue", `{"SecretId":"w"}`); typ != "InvalidRequestException" || !strings.Contains(out["message"].(string), "marked for deletion") {
		t.Errorf("GetSecretValue of a deleted secret = %s %v", typ, out)
	}
	if !strings.Contains(logs.String(), "level=DEBUG") {
		t.Fatalf("nothing logged at debug level; the check below proves nothing:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), value) || strings.Contains(logs.String(), "AAEC") {
		t.Fatalf("a secret value reached the log:\n%s", logs.String())
	}
}
