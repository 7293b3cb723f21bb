package api_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gantry-dev/gantry/internal/api"
	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/logx"
	"github.com/gantry-dev/gantry/internal/model"
)

// queryOpFixture is a query service and an EC2-flavoured one whose operations are QueryOps
// that fail as the form's Fail member asks, each naming kinds its own way.
func queryOpFixture(t *testing.T) string {
	t.Helper()
	type failInput struct {
		Fail  string   `query:"Fail"`
		Names []string `query:"Names.member"`
	}
	type failOutput struct {
		Names  []string `xml:"Names>member"`
		Region string   `xml:"Region"`
	}
	fail := api.QueryOp(func(_ context.Context, sc model.Scope, in *failInput) (*failOutput, error) {
		switch in.Fail {
		case "coded":
			return nil, apierr.Codedf(apierr.NotFound, "ThingNotFound", "One or more things not found: %s", strings.Join(in.Names, ", "))
		case "wrapped":
			return nil, fmt.Errorf("context the user never reads: %w", apierr.Codedf(apierr.InvalidParameter, "Thing.Malformed", "Invalid id: %q", "x"))
		case "kind":
			return nil, apierr.New(apierr.InvalidParameter, "plain kind")
		case "internal":
			return nil, errors.New("disk on fire")
		}
		return &failOutput{Names: in.Names, Region: sc.Region}, nil
	})
	errorCode := func(k apierr.Kind) string {
		if code, ok := api.CodedKind(k); ok {
			return code
		}
		if k == apierr.InvalidParameter {
			return "ValidationError"
		}
		return ""
	}
	q := &api.Service{SigningName: "elasticloadbalancing", Protocol: api.Query, XMLNamespace: elbNS, APIVersion: elbVersion,
		ErrorCode: errorCode, Operations: map[string]api.Operation{"Fail": fail}}
	e := &api.Service{SigningName: "ec2", Protocol: api.EC2Query, XMLNamespace: ec2NS, APIVersion: ec2Version,
		ErrorCode: errorCode, Operations: map[string]api.Operation{"Fail": fail}}
	ts := httptest.NewServer(api.New(logx.Discard(), q, e))
	t.Cleanup(ts.Close)
	return ts.URL
}

func TestQueryOp(t *testing.T) {
	url := queryOpFixture(t)
	for _, svc := range []struct{ name, signing, root string }{
		{"query", "elasticloadbalancing", "ErrorResponse"},
		{"ec2", "ec2", "Response"},
	} {
		tests := []struct {
			name        string
			form        []string
			wantStatus  int
			wantCode    string
			wantMessage string
		}{
			{"coded error answers its code", []string{"Fail", "coded", "Names.member.1", "a", "Names.member.2", "b"}, 400, "ThingNotFound", "One or more things not found: a, b"},
			{"wrapped coded error answers its code and own message", []string{"Fail", "wrapped"}, 400, "Thing.Malformed", `Invalid id: "x"`},
			{"plain kind goes to ErrorCode", []string{"Fail", "kind"}, 400, "ValidationError", "plain kind"},
			{"bad form is the decoder's error", []string{"Names.member.x", "a"}, 400, "ValidationError", "Names.member.x"},
			{"uncoded failure stays internal", []string{"Fail", "internal"}, 500, "InternalFailure", "internal error"},
		}
		for _, tt := range tests {
			t.Run(svc.name+"/"+tt.name, func(t *testing.T) {
				c := call{ct: formCT, auth: authFor("eu-west-3", svc.signing), body: form(append([]string{"Action", "Fail"}, tt.form...)...)}
				a := c.do(t, url)
				if a.status != tt.wantStatus || a.root != svc.root || a.code != tt.wantCode || !strings.Contains(a.message, tt.wantMessage) {
					t.Errorf("got status %d root %s code %q message %q, want %d %s %q %q: %s",
						a.status, a.root, a.code, a.message, tt.wantStatus, svc.root, tt.wantCode, tt.wantMessage, a.body)
				}
			})
		}
		t.Run(svc.name+"/success decodes the form and hands over the scope", func(t *testing.T) {
			c := call{ct: formCT, auth: authFor("eu-west-3", svc.signing), body: form("Action", "Fail", "Names.member.1", "a")}
			a := c.do(t, url)
			if a.status != 200 || !strings.Contains(string(a.body), "<Names><member>a</member></Names><Region>eu-west-3</Region>") {
				t.Errorf("status %d body %s", a.status, a.body)
			}
		})
	}
}

func TestCodedUnwrapsToItsKind(t *testing.T) {
	err := fmt.Errorf("ctx: %w", apierr.Codedf(apierr.NotFound, "InvalidVpcID.NotFound", "The vpc ID '%s' does not exist", "vpc-1"))
	var c *apierr.Coded
	if !errors.As(err, &c) || c.Code != "InvalidVpcID.NotFound" {
		t.Fatalf("errors.As(*apierr.Coded) = %v, %+v", errors.As(err, &c), c)
	}
	if !errors.Is(err, apierr.NotFound) || apierr.KindOf(err) != apierr.NotFound {
		t.Errorf("kind %q, want %q", apierr.KindOf(err), apierr.NotFound)
	}
	if got := apierr.Message(err); got != "The vpc ID 'vpc-1' does not exist" {
		t.Errorf("Message = %q", got)
	}
	if _, ok := api.CodedKind(apierr.NotFound); ok {
		t.Error("CodedKind of apierr's own kind says it carries a code")
	}
}
