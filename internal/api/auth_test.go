package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/model"
)

// fakeAuth knows a few keys and allows what allow says.
type fakeAuth struct {
	keys  map[string]model.Credentials
	who   map[string]model.Principal
	allow func(p model.Principal, action, resource string) bool
	// seen records the last authorization asked.
	seenAction, seenResource string
}

func (f *fakeAuth) Credential(_ context.Context, id string) (model.Principal, model.Credentials, error) {
	c, ok := f.keys[id]
	if !ok {
		return model.Principal{}, model.Credentials{}, apierr.NotFound
	}
	if id == "EXPIREDKEY" {
		return model.Principal{}, model.Credentials{}, apierr.ExpiredToken
	}
	return f.who[id], c, nil
}

func (f *fakeAuth) Authorize(_ context.Context, p model.Principal, action, resource string, _ map[string][]string) (bool, error) {
	f.seenAction, f.seenResource = action, resource
	return f.allow(p, action, resource), nil
}

type authFixture struct {
	srv  *Server
	url  string
	auth *fakeAuth
	now  time.Time
}

func newAuthFixture(t *testing.T) *authFixture {
	now := time.Date(2026, 11, 26, 2, 0, 0, 0, time.UTC)
	alice := model.Principal{Kind: model.PrincipalUser, Account: "000000000000", ARN: "arn:aws:iam::000000000000:user/alice", Name: "alice"}
	session := model.Principal{Kind: model.PrincipalRoleSession, Account: "000000000000", ARN: "arn:aws:sts::000000000000:assumed-role/r/s"}
	fa := &fakeAuth{
		keys: map[string]model.Credentials{
			"AKIAALICE":  {AccessKeyID: "AKIAALICE", SecretAccessKey: "alice-secret"},
			"ASIASESS":   {AccessKeyID: "ASIASESS", SecretAccessKey: "sess-secret", SessionToken: "tok", Expiration: now.Add(time.Hour)},
			"ASIAOLD":    {AccessKeyID: "ASIAOLD", SecretAccessKey: "old-secret", SessionToken: "tok2", Expiration: now.Add(-time.Second)},
			"EXPIREDKEY": {},
		},
		who: map[string]model.Principal{"AKIAALICE": alice, "ASIASESS": session, "ASIAOLD": session},
		allow: func(p model.Principal, action, _ string) bool {
			return action == "ecs:ListClusters" || action == "elasticloadbalancing:DescribeLoadBalancers"
		},
	}
	echo := func(_ context.Context, r *Request) (any, error) {
		return &struct {
			Caller string `json:"caller" xml:"Caller"`
		}{r.Caller.ARN}, nil
	}
	srv := New(slog.New(slog.NewTextHandler(io.Discard, nil)),
		&Service{SigningName: "ecs", TargetPrefix: "AmazonEC2ContainerServiceV20141113", Protocol: JSON,
			Operations: map[string]Operation{"ListClusters": echo, "CreateCluster": echo}},
		&Service{SigningName: "elasticloadbalancing", Protocol: Query, APIVersion: "2015-12-01", XMLNamespace: "ns",
			Operations: map[string]Operation{"DescribeLoadBalancers": echo, "CreateLoadBalancer": echo}},
		&Service{SigningName: "ec2", Protocol: EC2Query, APIVersion: "2016-11-15", XMLNamespace: "ns",
			Operations: map[string]Operation{"DescribeVpcs": echo}})
	srv.Enforce(fa)
	srv.now = func() time.Time { return now }
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return &authFixture{srv: srv, url: ts.URL, auth: fa, now: now}
}

type signedCall struct {
	service, target, body string
	key, secret, token    string
	at                    time.Time
	presign               bool
	expires               time.Duration
}

func (f *authFixture) do(t *testing.T, c signedCall) (int, string, string) {
	t.Helper()
	r, err := http.NewRequest(http.MethodPost, f.url+"/", strings.NewReader(c.body))
	if err != nil {
		t.Fatal(err)
	}
	if c.target != "" {
		r.Header.Set("X-Amz-Target", c.target)
		r.Header.Set("Content-Type", "application/x-amz-json-1.1")
	} else {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	sum := sha256.Sum256([]byte(c.body))
	if c.at.IsZero() {
		c.at = f.now
	}
	creds := aws.Credentials{AccessKeyID: c.key, SecretAccessKey: c.secret, SessionToken: c.token}
	if c.key != "" {
		if c.presign {
			r.Method = http.MethodGet
			q := url.Values{}
			if c.expires > 0 {
				q.Set("X-Amz-Expires", "60")
			}
			q.Set("Action", "DescribeLoadBalancers")
			q.Set("Version", "2015-12-01")
			r.URL.RawQuery = q.Encode()
			r.Body, r.ContentLength = http.NoBody, 0
			empty := sha256.Sum256(nil)
			signed, hdr, err := v4.NewSigner().PresignHTTP(context.Background(), creds, r, hex.EncodeToString(empty[:]), c.service, "us-east-1", c.at)
			if err != nil {
				t.Fatal(err)
			}
			r, _ = http.NewRequest(http.MethodGet, signed, nil)
			for k, v := range hdr {
				if k != "Host" {
					r.Header[k] = v
				}
			}
		} else if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, hex.EncodeToString(sum[:]), c.service, "us-east-1", c.at); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	code := resp.Header.Get("X-Amzn-ErrorType")
	if code == "" && resp.StatusCode != 200 {
		var e struct {
			Code   string `xml:"Error>Code"`
			EC2    string `xml:"Errors>Error>Code"`
			Caller string `xml:"Caller"`
		}
		_ = xml.Unmarshal(body, &e)
		code = e.Code + e.EC2
	}
	return resp.StatusCode, code, string(body)
}

func TestEnforceSignatures(t *testing.T) {
	f := newAuthFixture(t)
	ecsList := signedCall{service: "ecs", target: "AmazonEC2ContainerServiceV20141113.ListClusters", body: "{}", key: "AKIAALICE", secret: "alice-secret"}
	elbList := signedCall{service: "elasticloadbalancing", body: "Action=DescribeLoadBalancers&Version=2015-12-01", key: "AKIAALICE", secret: "alice-secret"}
	tests := []struct {
		name       string
		call       signedCall
		status     int
		code, body string
	}{
		{"json signed", ecsList, 200, "", "user/alice"},
		{"query signed", elbList, 200, "", "user/alice"},
		{"json wrong secret", with(ecsList, func(c *signedCall) { c.secret = "nope" }), 400, "InvalidSignatureException", "signature we calculated does not match"},
		{"query wrong secret", with(elbList, func(c *signedCall) { c.secret = "nope" }), 403, "SignatureDoesNotMatch", "signature we calculated does not match"},
		{"ec2 wrong secret", signedCall{service: "ec2", body: "Action=DescribeVpcs&Version=2016-11-15", key: "AKIAALICE", secret: "nope"}, 403, "AuthFailure", ""},
		{"json unknown key", with(ecsList, func(c *signedCall) { c.key = "AKIANOBODY" }), 400, "UnrecognizedClientException", "security token included in the request is invalid"},
		{"query unknown key", with(elbList, func(c *signedCall) { c.key = "AKIANOBODY" }), 403, "InvalidClientTokenId", "security token included in the request is invalid"},
		{"json unsigned", with(ecsList, func(c *signedCall) { c.key = "" }), 403, "MissingAuthenticationTokenException", "missing Authentication Token"},
		{"query unsigned", with(elbList, func(c *signedCall) { c.key = "" }), 400, "MissingAuthenticationToken", ""},
		{"skewed 16 minutes", with(elbList, func(c *signedCall) { c.at = f.now.Add(-16 * time.Minute) }), 403, "SignatureDoesNotMatch", "Signature expired"},
		{"skewed 14 minutes", with(elbList, func(c *signedCall) { c.at = f.now.Add(14 * time.Minute) }), 200, "", ""},
		{"future 16 minutes", with(ecsList, func(c *signedCall) { c.at = f.now.Add(16 * time.Minute) }), 400, "InvalidSignatureException", "Signature not yet current"},
		{"session token", with(elbList, func(c *signedCall) { c.key, c.secret, c.token = "ASIASESS", "sess-secret", "tok" }), 200, "", "assumed-role/r/s"},
		{"session without token", with(elbList, func(c *signedCall) { c.key, c.secret = "ASIASESS", "sess-secret" }), 403, "InvalidClientTokenId", ""},
		{"session wrong token", with(elbList, func(c *signedCall) { c.key, c.secret, c.token = "ASIASESS", "sess-secret", "other" }), 403, "InvalidClientTokenId", ""},
		{"long-term key with a token", with(elbList, func(c *signedCall) { c.token = "tok" }), 403, "InvalidClientTokenId", ""},
		{"expired session", with(elbList, func(c *signedCall) { c.key, c.secret, c.token = "ASIAOLD", "old-secret", "tok2" }), 403, "ExpiredToken", "expired"},
		{"expired key store", with(ecsList, func(c *signedCall) { c.key = "EXPIREDKEY" }), 403, "ExpiredTokenException", "expired"},
		{"json denied", signedCall{service: "ecs", target: "AmazonEC2ContainerServiceV20141113.CreateCluster", body: `{"clusterName":"c1"}`, key: "AKIAALICE", secret: "alice-secret"},
			400, "AccessDeniedException", "User: arn:aws:iam::000000000000:user/alice is not authorized to perform: ecs:CreateCluster on resource: arn:aws:ecs:us-east-1:000000000000:cluster/c1"},
		{"query denied", with(elbList, func(c *signedCall) { c.body = "Action=CreateLoadBalancer&Version=2015-12-01&Name=x" }), 403, "AccessDenied", "not authorized to perform: elasticloadbalancing:CreateLoadBalancer on resource: *"},
		{"ec2 denied", signedCall{service: "ec2", body: "Action=DescribeVpcs&Version=2016-11-15", key: "AKIAALICE", secret: "alice-secret"}, 403, "UnauthorizedOperation", ""},
		{"presigned", signedCall{service: "elasticloadbalancing", key: "AKIAALICE", secret: "alice-secret", presign: true}, 200, "", "user/alice"},
		{"presigned wrong secret", signedCall{service: "elasticloadbalancing", key: "AKIAALICE", secret: "x", presign: true}, 403, "SignatureDoesNotMatch", ""},
		{"presigned expired", signedCall{service: "elasticloadbalancing", key: "AKIAALICE", secret: "alice-secret", presign: true, expires: time.Minute,
			at: f.now.Add(-2 * time.Minute)}, 403, "SignatureDoesNotMatch", "Request has expired"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, code, body := f.do(t, tt.call)
			if status != tt.status || code != tt.code || !strings.Contains(body, tt.body) {
				t.Fatalf("got %d %q %s\nwant %d %q containing %q", status, code, body, tt.status, tt.code, tt.body)
			}
		})
	}
}

func with(c signedCall, fn func(*signedCall)) signedCall {
	fn(&c)
	return c
}

// Without Enforce, nothing is verified: the old behaviour every test relies on.
func TestNoEnforcementByDefault(t *testing.T) {
	f := newAuthFixture(t)
	f.srv.auth = nil
	status, _, body := f.do(t, signedCall{service: "ecs", target: "AmazonEC2ContainerServiceV20141113.CreateCluster", body: "{}", key: "AKIANOBODY", secret: "x"})
	if status != 200 {
		t.Fatalf("got %d %s", status, body)
	}
}
