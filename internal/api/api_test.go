package api_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

type call struct {
	method string
	path   string // with the query string; "/" when empty
	target string
	ct     string
	auth   string
	body   string
}

func (c call) do(t *testing.T, url string) answer {
	t.Helper()
	method, path := c.method, c.path
	if method == "" {
		method = http.MethodPost
	}
	if path == "" {
		path = "/"
	}
	r, err := http.NewRequest(method, url+path, strings.NewReader(c.body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{"X-Amz-Target": c.target, "Content-Type": c.ct, "Authorization": c.auth} {
		if v != "" {
			r.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	a, err := readAnswer(resp.StatusCode, resp.Header, body)
	if err != nil {
		t.Fatalf("%s: %v", c.target+path, err)
	}
	return a
}

func TestFrontDoor(t *testing.T) {
	fx := newFixture()
	ts := httptest.NewServer(fx.srv)
	defer ts.Close()
	elbAuth := authFor("eu-west-3", "elasticloadbalancing")
	tests := []struct {
		name       string
		call       call
		wantStatus int
		wantCode   string
		wantCT     string   // JSON answers: the content type echoed
		wantRoot   string   // XML answers: the root element
		wantBody   []string // substrings of the body
	}{
		{name: "json 1.1 routed by target", call: call{target: fakeEcho, ct: ct11, body: `{"name":"a","inner":{"items":[{"key":"k","size":2}]}}`},
			wantStatus: 200, wantCT: ct11, wantBody: []string{`"name":"a"`, `"size":2`}},
		{name: "json 1.0 content type echoed", call: call{target: fakeEcho, ct: ct10, body: `{}`},
			wantStatus: 200, wantCT: ct10},
		{name: "no content type answers 1.1", call: call{target: fakeEcho},
			wantStatus: 200, wantCT: ct11},
		{name: "nil output is an empty object", call: call{target: fakePrefix + ".Nothing", ct: ct11},
			wantStatus: 200, wantCT: ct11, wantBody: []string{"{}"}},
		{name: "region from sigv4 scope", call: call{target: fakeEcho, ct: ct11, auth: authFor("ap-south-2", "fake")},
			wantStatus: 200, wantBody: []string{`"region":"ap-south-2"`}},
		{name: "default region", call: call{target: fakeEcho, ct: ct11},
			wantStatus: 200, wantBody: []string{`"region":"us-east-1"`}},
		{name: "unknown target prefix", call: call{target: "NoSuchService_2020.Op", ct: ct11},
			wantStatus: 400, wantCode: "UnknownOperationException", wantCT: ct11, wantBody: []string{"NoSuchService_2020"}},
		{name: "unknown operation", call: call{target: fakePrefix + ".Nope", ct: ct10},
			wantStatus: 400, wantCode: "UnknownOperationException", wantCT: ct10, wantBody: []string{"Nope"}},
		{name: "target without operation", call: call{target: fakePrefix, ct: ct11},
			wantStatus: 400, wantCode: "UnknownOperationException"},
		{name: "malformed json", call: call{target: fakeEcho, ct: ct11, body: `{"name":`},
			wantStatus: 400, wantCode: "SerializationException"},
		{name: "json array body", call: call{target: fakeEcho, ct: ct11, body: `[]`},
			wantStatus: 400, wantCode: "SerializationException"},
		{name: "wrong-typed member named", call: call{target: fakeEcho, ct: ct11, body: `{"inner":{"flag":"yes"}}`},
			wantStatus: 400, wantCode: "SerializationException", wantBody: []string{"inner.flag"}},
		{name: "wrong-typed list element named", call: call{target: fakeEcho, ct: ct11, body: `{"inner":{"items":[{"size":"big"}]}}`},
			wantStatus: 400, wantCode: "SerializationException", wantBody: []string{"inner.items.size"}},
		{name: "kind named by default table", call: call{target: fakePrefix + ".Missing", ct: ct11},
			wantStatus: 400, wantCode: "ResourceNotFoundException", wantBody: []string{`thing \"x\"`}},
		{name: "plain error hides its text", call: call{target: fakePrefix + ".Broken", ct: ct11},
			wantStatus: 500, wantCode: "InternalFailure"},
		{name: "panic is InternalFailure by default", call: call{target: fakePrefix + ".Boom", ct: ct11},
			wantStatus: 500, wantCode: "InternalFailure"},
		{name: "panic is ServerException for ECS", call: call{target: ecsBoom, ct: ct11},
			wantStatus: 500, wantCode: "ServerException"},
		{name: "query routed by sigv4 service", call: call{ct: formCT, auth: elbAuth, body: form("Action", "DescribeThings", "Names.member.1", "a", "Names.member.2", "b")},
			wantStatus: 200, wantRoot: "DescribeThingsResponse",
			wantBody: []string{`<DescribeThingsResponse xmlns="` + elbNS + `"><DescribeThingsResult><Things><member><Name>a</Name></member><member><Name>b</Name>`, "<Region>eu-west-3</Region>", "</DescribeThingsResult><ResponseMetadata><RequestId>"}},
		{name: "query routed by version unsigned", call: call{ct: formCT, body: form("Action", "DescribeThings", "Version", elbVersion)},
			wantStatus: 200, wantRoot: "DescribeThingsResponse", wantBody: []string{"<Region>us-east-1</Region>"}},
		{name: "query GET", call: call{method: http.MethodGet, path: "/?" + form("Action", "DescribeThings", "Version", elbVersion, "Names.member.1", "g")},
			wantStatus: 200, wantRoot: "DescribeThingsResponse", wantBody: []string{"<Name>g</Name>"}},
		{name: "query unknown action", call: call{ct: formCT, auth: elbAuth, body: form("Action", "Frobnicate")},
			wantStatus: 400, wantRoot: "ErrorResponse", wantCode: "InvalidAction", wantBody: []string{"Frobnicate", `<ErrorResponse xmlns="` + elbNS + `"><Error><Type>Sender</Type><Code>InvalidAction</Code><Message>`}},
		{name: "query without action", call: call{ct: formCT, body: form("Version", elbVersion)},
			wantStatus: 400, wantRoot: "ErrorResponse", wantCode: "InvalidAction"},
		{name: "query unknown service", call: call{ct: formCT, body: form("Action", "DescribeThings", "Version", "1999-01-01")},
			wantStatus: 400, wantRoot: "ErrorResponse", wantCode: "InvalidAction"},
		{name: "query missing parameter", call: call{ct: formCT, auth: elbAuth, body: form("Action", "DescribeThings", "HealthCheck.Port", "80")},
			wantStatus: 400, wantRoot: "ErrorResponse", wantCode: "MissingParameter", wantBody: []string{"HealthCheck.Path"}},
		{name: "query invalid parameter", call: call{ct: formCT, auth: elbAuth, body: form("Action", "DescribeThings", "PageSize", "many")},
			wantStatus: 400, wantRoot: "ErrorResponse", wantCode: "InvalidParameterValue", wantBody: []string{"PageSize"}},
		{name: "query malformed form", call: call{ct: formCT, auth: elbAuth, body: "Action=DescribeThings&Names.member.1=%zz"},
			wantStatus: 400, wantRoot: "ErrorResponse", wantCode: "MalformedQueryString"},
		{name: "query panic", call: call{ct: formCT, auth: elbAuth, body: form("Action", "Boom")},
			wantStatus: 500, wantRoot: "ErrorResponse", wantCode: "InternalFailure"},
		{name: "ec2 answer", call: call{ct: formCT, auth: authFor("us-west-2", "ec2"), body: form("Action", "DescribeVpcs", "VpcId.1", "vpc-1")},
			wantStatus: 200, wantRoot: "DescribeVpcsResponse",
			wantBody: []string{`<DescribeVpcsResponse xmlns="` + ec2NS + `"><requestId>`, "</requestId><vpcSet><item><vpcId>vpc-1</vpcId></item></vpcSet></DescribeVpcsResponse>"}},
		{name: "ec2 unknown action", call: call{ct: formCT, body: form("Action", "RunInstancesPlease", "Version", ec2Version)},
			wantStatus: 400, wantRoot: "Response", wantCode: "InvalidAction", wantBody: []string{"<Response><Errors><Error><Code>InvalidAction</Code><Message>", "</Message></Error></Errors><RequestID>"}},
		{name: "ec2 invalid parameter", call: call{ct: formCT, body: form("Action", "DescribeVpcs", "Version", ec2Version, "DryRun", "perhaps")},
			wantStatus: 400, wantRoot: "Response", wantCode: "InvalidParameterValue", wantBody: []string{"DryRun"}},
		{name: "ec2 panic", call: call{ct: formCT, body: form("Action", "Boom", "Version", ec2Version)},
			wantStatus: 500, wantRoot: "Response", wantCode: "InternalFailure"},
		{name: "oversized declared body", call: call{target: fakeEcho, ct: ct11, body: `{"name":"` + strings.Repeat("x", testMaxBody) + `"}`},
			wantStatus: 413, wantCode: "RequestEntityTooLarge"},
		{name: "oversized query body", call: call{ct: formCT, auth: elbAuth, body: "Action=DescribeThings&x=" + strings.Repeat("y", testMaxBody)},
			wantStatus: 413, wantRoot: "ErrorResponse", wantCode: "RequestEntityTooLarge"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := tt.call.do(t, ts.URL)
			if a.status != tt.wantStatus || a.code != tt.wantCode {
				t.Errorf("status %d code %q, want %d %q; body %s", a.status, a.code, tt.wantStatus, tt.wantCode, a.body)
			}
			if tt.wantCT != "" && a.header.Get("Content-Type") != tt.wantCT {
				t.Errorf("content type %q, want %q", a.header.Get("Content-Type"), tt.wantCT)
			}
			if tt.wantRoot != a.root {
				t.Errorf("root element <%s>, want <%s>", a.root, tt.wantRoot)
			}
			for _, s := range tt.wantBody {
				if !bytes.Contains(a.body, []byte(s)) {
					t.Errorf("body lacks %q:\n%s", s, a.body)
				}
			}
		})
	}
}

func TestPanicLeavesServerServing(t *testing.T) {
	fx := newFixture()
	ts := httptest.NewServer(fx.srv)
	defer ts.Close()
	for i := range 3 {
		if a := (call{target: ecsBoom, ct: ct11}).do(t, ts.URL); a.status != 500 || a.code != "ServerException" {
			t.Fatalf("panic %d: status %d code %q", i, a.status, a.code)
		}
		if a := (call{target: fakeEcho, ct: ct11, body: `{"name":"after"}`}).do(t, ts.URL); a.status != 200 {
			t.Fatalf("request after panic %d: status %d %s", i, a.status, a.body)
		}
	}
	if got := fx.panics.Load(); got != 3 {
		t.Errorf("operation panicked %d times, want 3", got)
	}
}

func TestRequestIDsDiffer(t *testing.T) {
	fx := newFixture()
	seen := map[string]bool{}
	for range 50 {
		rec := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{}`))
		r.Header.Set("X-Amz-Target", fakeEcho)
		fx.srv.ServeHTTP(rec, r)
		a, err := readAnswer(rec.Code, rec.Header(), rec.Body.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		if seen[a.requestID] {
			t.Fatalf("request id %s repeated", a.requestID)
		}
		seen[a.requestID] = true
	}
}

func TestExtraRoutesBypassProtocols(t *testing.T) {
	fx := newFixture()
	rec := httptest.NewRecorder()
	fx.srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/_gantry/health", nil))
	if rec.Code != 200 || rec.Body.String() != "ok" {
		t.Fatalf("health: %d %q", rec.Code, rec.Body)
	}
}

// countingReader is an endless body that counts what the server read of it.
type countingReader struct{ n int64 }

func (c *countingReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	c.n += int64(len(p))
	return len(p), nil
}

func TestOversizedBodyNotRead(t *testing.T) {
	tests := []struct {
		name          string
		contentLength int64 // -1: unknown (chunked)
		maxRead       int64
	}{
		{"declared length refused before reading", 1 << 40, 0},
		{"undeclared length stops at the limit", -1, testMaxBody + 64<<10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fx := newFixture()
			body := &countingReader{}
			r := httptest.NewRequest(http.MethodPost, "/", body)
			r.ContentLength = tt.contentLength
			r.Header.Set("X-Amz-Target", fakeEcho)
			rec := httptest.NewRecorder()
			fx.srv.ServeHTTP(rec, r)
			a, err := readAnswer(rec.Code, rec.Header(), rec.Body.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			if a.status != http.StatusRequestEntityTooLarge || a.code != "RequestEntityTooLarge" {
				t.Errorf("status %d code %q, want 413 RequestEntityTooLarge", a.status, a.code)
			}
			if body.n > tt.maxRead {
				t.Errorf("server read %d bytes of the body, want at most %d", body.n, tt.maxRead)
			}
		})
	}
}

// TestStalledRequestAnswersUnavailable: a request whose store does not answer is answered
// 503 once its time is up, in each protocol's words (ECS's own code for server faults), and
// the server goes on serving.
func TestStalledRequestAnswersUnavailable(t *testing.T) {
	fx := newFixture()
	fx.srv.SetOpTimeout(50 * time.Millisecond)
	ts := httptest.NewServer(fx.srv)
	defer ts.Close()
	for _, tt := range []struct {
		name string
		c    call
		code string
	}{
		{"json", call{target: fakePrefix + ".Stall", ct: ct11, body: `{}`}, "ServiceUnavailable"},
		{"ecs", call{target: ecsPrefix + ".Stall", ct: ct11, body: `{}`}, "ServerException"},
		{"query", call{body: "Action=Stall&Version=" + elbVersion, ct: formCT, auth: authFor("us-east-1", "elasticloadbalancing")}, "ServiceUnavailable"},
	} {
		t0 := time.Now()
		a := tt.c.do(t, ts.URL)
		if a.status != http.StatusServiceUnavailable || a.code != tt.code || !strings.Contains(a.message, "did not complete in 50ms") {
			t.Errorf("%s: status %d code %q message %q, want 503 %s", tt.name, a.status, a.code, a.message, tt.code)
		}
		if d := time.Since(t0); d > 5*time.Second {
			t.Errorf("%s: answered after %s", tt.name, d)
		}
	}
	if a := (call{target: fakeEcho, ct: ct11, body: `{"name":"after"}`}).do(t, ts.URL); a.status != 200 {
		t.Fatalf("request after the stalls: status %d %s", a.status, a.body)
	}
}
