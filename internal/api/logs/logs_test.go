package logs_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/api"
	"github.com/gantry-dev/gantry/internal/api/logs"
	"github.com/gantry-dev/gantry/internal/logstore"
	"github.com/gantry-dev/gantry/internal/logstore/logsbackend"
	"github.com/gantry-dev/gantry/internal/logx"
	"github.com/gantry-dev/gantry/internal/ops"
	"github.com/gantry-dev/gantry/internal/store"
	"github.com/gantry-dev/gantry/internal/testutil"
)

func newServer(t *testing.T) *httptest.Server {
	t.Helper()
	cli, prefix := testutil.Etcd(t)
	ls, err := logstore.Open(t.TempDir(), logstore.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ls.Close() })
	srv := httptest.NewServer(api.New(logx.Discard(), logs.Service(ops.NewLogs(store.New(cli, prefix), logsbackend.New(ls), logx.Discard()))))
	t.Cleanup(srv.Close)
	return srv
}

// call posts one JSON 1.1 request and returns the status, the error type and the body.
func call(t *testing.T, srv *httptest.Server, op string, in any) (int, string, map[string]any) {
	t.Helper()
	body, _ := json.Marshal(in)
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/", bytes.NewReader(body))
	req.Header.Set("X-Amz-Target", logs.TargetPrefix+"."+op)
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

func TestHTTP(t *testing.T) {
	srv := newServer(t)
	now := time.Now().UnixMilli()
	steps := []struct {
		op      string
		in      map[string]any
		errType string
		message string
	}{
		{"CreateLogGroup", map[string]any{"logGroupName": "/ecs/web", "tags": map[string]string{"team": "a"}}, "", ""},
		{"CreateLogGroup", map[string]any{"logGroupName": "/ecs/web"}, "ResourceAlreadyExistsException", "The specified log group already exists"},
		{"CreateLogStream", map[string]any{"logGroupName": "/nope", "logStreamName": "s"}, "ResourceNotFoundException", "The specified log group does not exist."},
		{"CreateLogStream", map[string]any{"logGroupName": "/ecs/web", "logStreamName": "web/app/1"}, "", ""},
		{"PutRetentionPolicy", map[string]any{"logGroupName": "/ecs/web", "retentionInDays": 4}, "InvalidParameterException", ""},
		{"PutRetentionPolicy", map[string]any{"logGroupName": "/ecs/web", "retentionInDays": 5}, "", ""},
		{"PutLogEvents", map[string]any{"logGroupName": "/ecs/web", "logStreamName": "web/app/1", "logEvents": []map[string]any{
			{"timestamp": now, "message": "b"}, {"timestamp": now - 1, "message": "a"}}}, "InvalidParameterException",
			"Log events in a single PutLogEvents request must be in chronological order."},
		{"PutLogEvents", map[string]any{"logGroupName": "/ecs/web", "logStreamName": "web/app/1", "logEvents": []map[string]any{
			{"timestamp": now - 1, "message": "hello"}, {"timestamp": now, "message": "world"}}}, "", ""},
		{"FilterLogEvents", map[string]any{"logGroupName": "/ecs/web", "logGroupIdentifier": "/ecs/web"}, "InvalidParameterException",
			"LogGroup name and LogGroup ARN are mutually exclusive parameters."},
		{"FilterLogEvents", map[string]any{"logGroupIdentifier": "arn:aws:logs:us-east-1:000000000000:log-group:/ecs/web:*", "filterPattern": "%(x)%"},
			"InvalidParameterException", ""},
		{"FilterLogEvents", map[string]any{"logGroupIdentifier": "arn:aws:logs:us-east-1:000000000000:log-group:/ecs/web:*", "nextToken": "nope"},
			"InvalidParameterException", "The specified nextToken is invalid."},
		{"DescribeLogStreams", map[string]any{"logGroupName": "/ecs/web", "logGroupIdentifier": "/ecs/web"}, "InvalidParameterException", ""},
		{"GetLogEvents", map[string]any{"logGroupName": "/ecs/web", "logGroupIdentifier": "/ecs/web", "logStreamName": "web/app/1"}, "InvalidParameterException", ""},
		{"Nope", map[string]any{}, "UnknownOperationException", ""},
	}
	for _, s := range steps {
		code, errType, out := call(t, srv, s.op, s.in)
		if errType != "" && !strings.Contains(errType, s.errType) || errType == "" && s.errType != "" {
			t.Errorf("%s %v: %d %s %v, want %s", s.op, s.in, code, errType, out, s.errType)
		}
		if s.message != "" && out["message"] != s.message {
			t.Errorf("%s: message %v, want %q", s.op, out["message"], s.message)
		}
	}
	_, _, out := call(t, srv, "GetLogEvents", map[string]any{"logGroupName": "/ecs/web", "logStreamName": "web/app/1", "startFromHead": true})
	if evs := out["events"].([]any); len(evs) != 2 || evs[0].(map[string]any)["message"] != "hello" {
		t.Errorf("GetLogEvents %v", out)
	}
	_, _, out = call(t, srv, "DescribeLogGroups", map[string]any{"logGroupNamePrefix": "/ecs"})
	g := out["logGroups"].([]any)[0].(map[string]any)
	if g["arn"] != "arn:aws:logs:us-east-1:000000000000:log-group:/ecs/web:*" || g["retentionInDays"] != 5.0 || g["storedBytes"].(float64) == 0 {
		t.Errorf("DescribeLogGroups %v", out)
	}
	// With logGroupNamePattern (a case-sensitive substring) only arn, creationTime and
	// logGroupName come back, as AWS documents.
	_, _, out = call(t, srv, "DescribeLogGroups", map[string]any{"logGroupNamePattern": "web"})
	g = out["logGroups"].([]any)[0].(map[string]any)
	if len(g) != 3 || g["logGroupName"] != "/ecs/web" || g["arn"] == nil || g["creationTime"] == nil {
		t.Errorf("DescribeLogGroups by pattern %v, want arn, creationTime and logGroupName only", g)
	}
	if _, _, out = call(t, srv, "DescribeLogGroups", map[string]any{"logGroupNamePattern": "WEB"}); len(out["logGroups"].([]any)) != 0 {
		t.Errorf("DescribeLogGroups by pattern WEB %v, want none (case-sensitive)", out)
	}
}

// TestCLI drives the endpoint with the aws CLI on the machine, as users do.
func TestCLI(t *testing.T) {
	if _, err := exec.LookPath("aws"); err != nil {
		t.Fatal("no aws CLI on this machine: scripts/setup.sh installs it")
	}
	srv := newServer(t)
	aws := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("aws", append([]string{"--endpoint-url", srv.URL, "--output", "json"}, args...)...)
		cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_DEFAULT_REGION=us-east-1",
			"AWS_PAGER=", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("aws %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	aws("logs", "create-log-group", "--log-group-name", "/ecs/cli")
	aws("logs", "create-log-stream", "--log-group-name", "/ecs/cli", "--log-stream-name", "ecs/app/task1")
	now := time.Now().UnixMilli()
	var events []string
	for i := range 30 {
		events = append(events, fmt.Sprintf(`{"timestamp":%d,"message":"line %02d %s"}`, now-30+int64(i), i, map[bool]string{true: "ERROR", false: "INFO"}[i%10 == 0]))
	}
	aws("logs", "put-log-events", "--log-group-name", "/ecs/cli", "--log-stream-name", "ecs/app/task1", "--log-events", "["+strings.Join(events, ",")+"]")

	var got struct {
		Events []struct{ Message string } `json:"events"`
	}
	// The CLI pages with nextForwardToken until it comes back unchanged; a small page size
	// makes it page.
	out := aws("logs", "get-log-events", "--log-group-name", "/ecs/cli", "--log-stream-name", "ecs/app/task1", "--start-from-head", "--limit", "7")
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Events) != 7 || got.Events[0].Message != "line 00 ERROR" {
		t.Errorf("get-log-events: %d events %v", len(got.Events), got.Events)
	}
	out = aws("logs", "filter-log-events", "--log-group-name", "/ecs/cli", "--filter-pattern", "ERROR", "--page-size", "1")
	got.Events = nil
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Events) != 3 || got.Events[2].Message != "line 20 ERROR" {
		t.Errorf("filter-log-events: %v", got.Events)
	}
	out = aws("logs", "describe-log-streams", "--log-group-name", "/ecs/cli", "--order-by", "LastEventTime", "--descending")
	if !strings.Contains(out, `"lastEventTimestamp": `+fmt.Sprint(now-1)) {
		t.Errorf("describe-log-streams: %s", out)
	}
	aws("logs", "delete-log-group", "--log-group-name", "/ecs/cli")
}
