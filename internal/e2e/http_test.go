package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

const ecsTarget = "AmazonEC2ContainerServiceV20141113."

// post sends a raw JSON 1.1 request, as a client without an SDK would.
func post(t *testing.T, s *Server, target, body string) (*http.Response, map[string]any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, s.URL+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	if target != "" {
		req.Header.Set("X-Amz-Target", target)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s: body is not JSON: %v\n%s", target, err, raw)
	}
	return resp, out
}

func TestHTTPErrors(t *testing.T) {
	t.Parallel()
	s := startServer(t, "")
	for _, tc := range []struct {
		name, target, body string
		code               string
	}{
		{"malformed JSON", ecsTarget + "CreateCluster", `{"clusterName": `, "SerializationException"},
		{"not an object", ecsTarget + "CreateCluster", `["web"]`, "SerializationException"},
		{"unknown operation", ecsTarget + "LaunchRocket", `{}`, "UnknownOperationException"},
		{"unknown service", "NoSuchService_20250101.Get", `{}`, "UnknownOperationException"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := post(t, s, tc.target, tc.body)
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("status %d, want 400", resp.StatusCode)
			}
			if got := resp.Header.Get("X-Amzn-ErrorType"); !strings.HasPrefix(got, tc.code) {
				t.Errorf("X-Amzn-ErrorType %q, want %s", got, tc.code)
			}
			if body["__type"] != tc.code {
				t.Errorf("__type %v, want %s", body["__type"], tc.code)
			}
			if msg, _ := body["message"].(string); msg == "" {
				t.Errorf("no message in %v", body)
			}
			if resp.Header.Get("x-amzn-RequestId") == "" {
				t.Error("no x-amzn-RequestId")
			}
		})
	}
}

func TestHTTPRequestID(t *testing.T) {
	t.Parallel()
	s := startServer(t, "")
	seen := map[string]bool{}
	for _, tc := range []struct{ target, body string }{
		{ecsTarget + "CreateCluster", `{"clusterName":"ids"}`},
		{ecsTarget + "DescribeClusters", `{"clusters":["ids","missing"]}`},
		{ecsTarget + "CreateCluster", `{"clusterName":"not valid!"}`},
		{ecsTarget + "CreateCluster", `{`},
	} {
		resp, _ := post(t, s, tc.target, tc.body)
		id := resp.Header.Get("x-amzn-RequestId")
		if id == "" {
			t.Errorf("%s %s: no x-amzn-RequestId (status %d)", tc.target, tc.body, resp.StatusCode)
		}
		if seen[id] {
			t.Errorf("%s: request id %s repeated", tc.target, id)
		}
		seen[id] = true
	}
}
