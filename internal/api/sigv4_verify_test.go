package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

type suiteVector struct {
	Name             string     `json:"name"`
	Method           string     `json:"method"`
	URI              string     `json:"uri"`
	Headers          [][]string `json:"headers"`
	Body             string     `json:"body"`
	Authorization    string     `json:"authorization"`
	CanonicalRequest string     `json:"canonicalRequest"`
	StringToSign     string     `json:"stringToSign"`
}

type suite struct {
	AccessKeyID     string        `json:"accessKeyId"`
	SecretAccessKey string        `json:"secretAccessKey"`
	Tests           []suiteVector `json:"tests"`
}

func loadSuite(t *testing.T) suite {
	t.Helper()
	raw, err := os.ReadFile("testdata/sigv4-suite.json")
	if err != nil {
		t.Fatal(err)
	}
	var s suite
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	if len(s.Tests) < 25 {
		t.Fatalf("suite has %d vectors", len(s.Tests))
	}
	return s
}

// request builds the vector's HTTP request as a server receives it, signed as the suite says.
func (v suiteVector) request(t *testing.T) *http.Request {
	t.Helper()
	r := httptest.NewRequest(v.Method, v.URI, strings.NewReader(v.Body))
	r.Header = http.Header{}
	for _, h := range v.Headers {
		if strings.EqualFold(h[0], "Host") {
			r.Host = h[1]
			continue
		}
		r.Header.Add(h[0], h[1])
	}
	r.Header.Set("Authorization", v.Authorization)
	return r
}

// The AWS Signature Version 4 test suite: for every vector the canonical request, the string
// to sign and the signature are the suite's, and a wrong secret or a changed request fails.
func TestSigV4Suite(t *testing.T) {
	s := loadSuite(t)
	for _, v := range s.Tests {
		t.Run(v.Name, func(t *testing.T) {
			r := v.request(t)
			signed, fail := parseSigned(r)
			if fail != nil {
				t.Fatalf("parse: %v", fail)
			}
			if signed.accessKey != s.AccessKeyID {
				t.Errorf("access key %q", signed.accessKey)
			}
			creqs := canonicalRequests(r, signed, []byte(v.Body))
			if !slices.Contains(creqs, v.CanonicalRequest) {
				t.Fatalf("canonical requests\n%q\nwant\n%q", creqs, v.CanonicalRequest)
			}
			if got := stringToSign(signed, v.CanonicalRequest); got != v.StringToSign {
				t.Errorf("string to sign\n%q\nwant\n%q", got, v.StringToSign)
			}
			if !verifySignature(r, signed, []byte(v.Body), s.SecretAccessKey) {
				t.Error("signature does not verify")
			}
			if verifySignature(r, signed, []byte(v.Body), s.SecretAccessKey+"x") {
				t.Error("verifies with a wrong secret")
			}
			if verifySignature(r, signed, []byte(v.Body+"tampered"), s.SecretAccessKey) {
				t.Error("verifies a changed body")
			}
			r.Host = "evil.example.com"
			if verifySignature(r, signed, []byte(v.Body), s.SecretAccessKey) {
				t.Error("verifies a changed host")
			}
		})
	}
}

func TestParseSignedErrors(t *testing.T) {
	tests := []struct {
		name   string
		header string
		query  string
		date   string
		want   authReason
	}{
		{"nothing", "", "", "", authMissing},
		{"other algorithm", "AWS4-HMAC-SHA512 Credential=a/20150830/us-east-1/ecs/aws4_request, SignedHeaders=host, Signature=ab", "", "20150830T123600Z", authIncomplete},
		{"no signature", "AWS4-HMAC-SHA256 Credential=a/20150830/us-east-1/ecs/aws4_request, SignedHeaders=host", "", "20150830T123600Z", authIncomplete},
		{"no signed headers", "AWS4-HMAC-SHA256 Credential=a/20150830/us-east-1/ecs/aws4_request, Signature=ab", "", "20150830T123600Z", authIncomplete},
		{"no date", "AWS4-HMAC-SHA256 Credential=a/20150830/us-east-1/ecs/aws4_request, SignedHeaders=host, Signature=ab", "", "", authIncomplete},
		{"bad scope", "AWS4-HMAC-SHA256 Credential=a/20150830/us-east-1/ecs, SignedHeaders=host, Signature=ab", "", "20150830T123600Z", authIncomplete},
		{"bad date", "AWS4-HMAC-SHA256 Credential=a/20150830/us-east-1/ecs/aws4_request, SignedHeaders=host, Signature=ab", "", "yesterday", authIncomplete},
		{"scope date mismatch", "AWS4-HMAC-SHA256 Credential=a/20150831/us-east-1/ecs/aws4_request, SignedHeaders=host, Signature=ab", "", "20150830T123600Z", authBadSignature},
		{"host unsigned", "AWS4-HMAC-SHA256 Credential=a/20150830/us-east-1/ecs/aws4_request, SignedHeaders=x-amz-date, Signature=ab", "", "20150830T123600Z", authBadSignature},
		{"presigned without algorithm", "", "X-Amz-Credential=a%2F20150830%2Fus-east-1%2Fsts%2Faws4_request&X-Amz-Signature=ab", "", authIncomplete},
		{"presigned without date", "", "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=a%2F20150830%2Fus-east-1%2Fsts%2Faws4_request&X-Amz-Signature=ab&X-Amz-SignedHeaders=host", "", authIncomplete},
		{"presigned bad expires", "", "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=a%2F20150830%2Fus-east-1%2Fsts%2Faws4_request&X-Amz-Signature=ab&X-Amz-SignedHeaders=host&X-Amz-Date=20150830T123600Z&X-Amz-Expires=soon", "", authIncomplete},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/?"+tt.query, nil)
			if tt.header != "" {
				r.Header.Set("Authorization", tt.header)
			}
			if tt.date != "" {
				r.Header.Set("X-Amz-Date", tt.date)
			}
			_, fail := parseSigned(r)
			if fail == nil || fail.reason != tt.want {
				t.Fatalf("got %+v, want reason %d", fail, tt.want)
			}
		})
	}
}

func TestCheckTime(t *testing.T) {
	signedAt := time.Date(2015, 8, 30, 12, 36, 0, 0, time.UTC)
	s := signedRequest{date: signedAt, amzDate: "20150830T123600Z"}
	for _, d := range []time.Duration{0, 14 * time.Minute, -14 * time.Minute} {
		if fail := s.checkTime(signedAt.Add(d)); fail != nil {
			t.Errorf("skew %v refused: %v", d, fail)
		}
	}
	for _, d := range []time.Duration{16 * time.Minute, -16 * time.Minute} {
		if fail := s.checkTime(signedAt.Add(d)); fail == nil || fail.reason != authSkewed {
			t.Errorf("skew %v accepted (%v)", d, fail)
		}
	}
	if fail := s.checkTime(signedAt.Add(16 * time.Minute)); !strings.HasPrefix(fail.message, "Signature expired: 20150830T123600Z is now earlier than 20150830T123700Z") {
		t.Errorf("message %q", fail.message)
	}
	p := signedRequest{date: signedAt, presigned: true, expires: time.Hour}
	if fail := p.checkTime(signedAt.Add(59 * time.Minute)); fail != nil {
		t.Errorf("presigned within expiry refused: %v", fail)
	}
	if fail := p.checkTime(signedAt.Add(61 * time.Minute)); fail == nil {
		t.Error("presigned past expiry accepted")
	}
}

// BenchmarkVerifySignature measures what enforcement adds to a request before the policy
// decision: parsing the signature and recomputing it.
func BenchmarkVerifySignature(b *testing.B) {
	raw, err := os.ReadFile("testdata/sigv4-suite.json")
	if err != nil {
		b.Fatal(err)
	}
	var s suite
	if err := json.Unmarshal(raw, &s); err != nil {
		b.Fatal(err)
	}
	var v suiteVector
	for _, t := range s.Tests {
		if t.Name == "post-vanilla-query" {
			v = t
		}
	}
	r := httptest.NewRequest(v.Method, v.URI, nil)
	r.Header = http.Header{"X-Amz-Date": {"20150830T123600Z"}, "Authorization": {v.Authorization}}
	r.Host = "example.amazonaws.com"
	for b.Loop() {
		signed, fail := parseSigned(r)
		if fail != nil || !verifySignature(r, signed, nil, s.SecretAccessKey) {
			b.Fatal("does not verify")
		}
	}
}
