package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"

	"github.com/gantry-dev/gantry/internal/api"
	"github.com/gantry-dev/gantry/internal/api/awsquery"
	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/logx"
	"github.com/gantry-dev/gantry/internal/model"
)

// The fake services the front door tests route to: one of each protocol, plus an ECS-like
// service with ECS's name for internal errors. (api/ecs itself is not imported: it pulls in ops,
// and the front door's tests should not wait on the layers below.)
const (
	fakePrefix  = "FakeService_20200101"
	elbVersion  = "2015-12-01"
	elbNS       = "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"
	ec2Version  = "2016-11-15"
	ec2NS       = "http://ec2.amazonaws.com/doc/2016-11-15/"
	ct10        = "application/x-amz-json-1.0"
	ct11        = "application/x-amz-json-1.1"
	formCT      = "application/x-www-form-urlencoded; charset=utf-8"
	ecsPrefix   = "AmazonEC2ContainerServiceV20141113"
	ecsBoom     = ecsPrefix + ".Boom"
	fakeEcho    = fakePrefix + ".Echo"
	testMaxBody = 4 << 10
)

type echoInput struct {
	Name  *string `json:"name"`
	Count *int32  `json:"count"`
	Inner *struct {
		Flag  *bool `json:"flag"`
		Items []struct {
			Key  *string `json:"key"`
			Size *int64  `json:"size"`
		} `json:"items"`
	} `json:"inner"`
	Labels map[string]string `json:"labels"`
}

type echoOutput struct {
	Input  *echoInput `json:"input"`
	Region string     `json:"region"`
}

type thingsInput struct {
	Names    []string          `query:"Names.member"`
	PageSize *int32            `query:"PageSize"`
	Attrs    map[string]string `query:"Attributes.entry"`
	Health   *struct {
		Path string `query:"Path,required"`
		Port *int32 `query:"Port"`
	} `query:"HealthCheck"`
}

type thing struct {
	Name string `xml:"Name"`
}

type thingsResult struct {
	Things []thing `xml:"Things>member"`
	Region string  `xml:"Region"`
}

type vpcsInput struct {
	VpcIDs []string `query:"VpcId"`
	DryRun *bool    `query:"DryRun"`
}

type vpc struct {
	VpcID string `xml:"vpcId"`
}

type vpcsResult struct {
	Vpcs []vpc `xml:"vpcSet>item"`
}

// fixture is a front door over the fake services that counts panics, so a test can tell a 500
// the operation asked for from one the front door made up.
type fixture struct {
	srv    *api.Server
	panics atomic.Int64
}

func newFixture() *fixture {
	fx := &fixture{}
	// stall waits as a call to a store that does not answer does: until its context ends.
	stall := func(ctx context.Context, _ *api.Request) (any, error) {
		<-ctx.Done()
		return nil, fmt.Errorf("read record: %w", ctx.Err())
	}
	boom := func(context.Context, *api.Request) (any, error) {
		fx.panics.Add(1)
		panic("boom")
	}
	ecsSvc := &api.Service{SigningName: "ecs", TargetPrefix: ecsPrefix, Protocol: api.JSON,
		Operations: map[string]api.Operation{"Boom": boom, "Stall": stall},
		ErrorCode: func(k apierr.Kind) string {
			if k == apierr.Internal || k == apierr.Unavailable { // as api/ecs names them
				return "ServerException"
			}
			return ""
		}}
	fake := &api.Service{SigningName: "fake", TargetPrefix: fakePrefix, Protocol: api.JSON,
		Operations: map[string]api.Operation{
			"Echo": api.JSONOp(func(_ context.Context, sc model.Scope, in *echoInput) (*echoOutput, error) {
				return &echoOutput{Input: in, Region: sc.Region}, nil
			}),
			"Nothing": api.JSONOp(func(context.Context, model.Scope, *echoInput) (*echoOutput, error) { return nil, nil }),
			"Missing": api.JSONOp(func(context.Context, model.Scope, *echoInput) (*echoOutput, error) {
				return nil, fmt.Errorf("thing %q: %w", "x", apierr.NotFound)
			}),
			"Broken": api.JSONOp(func(context.Context, model.Scope, *echoInput) (*echoOutput, error) {
				return nil, errors.New("disk on fire")
			}),
			"Boom":  boom,
			"Stall": stall,
		}}
	elb := &api.Service{SigningName: "elasticloadbalancing", Protocol: api.Query, XMLNamespace: elbNS, APIVersion: elbVersion,
		Operations: map[string]api.Operation{
			"DescribeThings": func(_ context.Context, r *api.Request) (any, error) {
				var in thingsInput
				if err := awsquery.Decode(r.Form, &in); err != nil {
					return nil, err
				}
				out := &thingsResult{Region: r.Scope.Region}
				for _, n := range in.Names {
					out.Things = append(out.Things, thing{Name: n})
				}
				return out, nil
			},
			"Boom":  boom,
			"Stall": stall,
		}}
	ec2 := &api.Service{SigningName: "ec2", Protocol: api.EC2Query, XMLNamespace: ec2NS, APIVersion: ec2Version,
		Operations: map[string]api.Operation{
			"DescribeVpcs": func(_ context.Context, r *api.Request) (any, error) {
				var in vpcsInput
				if err := awsquery.Decode(r.Form, &in); err != nil {
					return nil, err
				}
				out := &vpcsResult{}
				for _, id := range in.VpcIDs {
					out.Vpcs = append(out.Vpcs, vpc{VpcID: id})
				}
				return out, nil
			},
			"Boom": boom,
		}}
	fx.srv = api.New(logx.Discard(), ecsSvc, fake, elb, ec2)
	fx.srv.SetMaxBody(testMaxBody)
	fx.srv.Handle("/_gantry/health", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") }))
	return fx
}

// authFor is a SigV4 Authorization header whose scope names region and service.
func authFor(region, service string) string {
	return "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/" + region + "/" + service +
		"/aws4_request, SignedHeaders=host;x-amz-date, Signature=0123"
}

var uuidForm = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// answer is a response read back through its protocol's envelope.
type answer struct {
	status    int
	header    http.Header
	body      []byte
	requestID string
	code      string         // the error code; empty on success
	errType   string         // query errors: Sender or Receiver
	message   string         // the error message
	json      map[string]any // JSON answers
	root      string         // XML answers: the root element
}

type xmlAnswer struct {
	XMLName   xml.Name
	Xmlns     string `xml:"xmlns,attr"`
	Type      string `xml:"Error>Type"`
	Code      string `xml:"Error>Code"`
	Message   string `xml:"Error>Message"`
	RequestID string `xml:"RequestId"`
	EC2Code   string `xml:"Errors>Error>Code"`
	EC2Msg    string `xml:"Errors>Error>Message"`
	EC2ReqID  string `xml:"RequestID"`
	MetaReqID string `xml:"ResponseMetadata>RequestId"`
	LowReqID  string `xml:"requestId"`
}

// readAnswer checks that a response is a well-formed envelope of one of the protocols, with a
// request id in uuid form that the body repeats, and returns what it says.
func readAnswer(status int, h http.Header, body []byte) (answer, error) {
	a := answer{status: status, header: h, body: body, requestID: h.Get("x-amzn-RequestId")}
	if !uuidForm.MatchString(a.requestID) {
		return a, fmt.Errorf("x-amzn-RequestId %q is not a uuid", a.requestID)
	}
	if status != http.StatusOK && (status < 400 || status > 599) {
		return a, fmt.Errorf("status %d is neither 200 nor an error", status)
	}
	switch ct := h.Get("Content-Type"); {
	case ct == ct10 || ct == ct11:
		return a, readJSON(&a)
	case strings.HasPrefix(ct, "text/xml"):
		return a, readXML(&a)
	default:
		return a, fmt.Errorf("content type %q is no protocol's", ct)
	}
}

func readJSON(a *answer) error {
	if err := json.Unmarshal(a.body, &a.json); err != nil || a.json == nil {
		return fmt.Errorf("body %q is not a JSON object: %v", a.body, err)
	}
	if a.status == http.StatusOK {
		return nil
	}
	a.code = a.header.Get("X-Amzn-ErrorType")
	typ, _ := a.json["__type"].(string)
	msg, ok := a.json["message"].(string)
	if a.code == "" || typ != a.code || !ok {
		return fmt.Errorf("JSON error: header X-Amzn-ErrorType %q, body %s", a.code, a.body)
	}
	a.message = msg
	return nil
}

func readXML(a *answer) error {
	dec := xml.NewDecoder(bytes.NewReader(a.body))
	for {
		if _, err := dec.Token(); err == io.EOF {
			break
		} else if err != nil {
			return fmt.Errorf("body is not well-formed XML: %v: %s", err, a.body)
		}
	}
	var x xmlAnswer
	if err := xml.Unmarshal(a.body, &x); err != nil {
		return fmt.Errorf("XML body: %v", err)
	}
	a.root = x.XMLName.Local
	switch {
	case a.status == http.StatusOK:
		if !strings.HasSuffix(a.root, "Response") || a.root == "Response" || x.Xmlns == "" {
			return fmt.Errorf("XML answer root <%s xmlns=%q>", a.root, x.Xmlns)
		}
		if x.MetaReqID != a.requestID && x.LowReqID != a.requestID {
			return fmt.Errorf("XML answer does not repeat the request id: %s", a.body)
		}
	case a.root == "ErrorResponse":
		a.code, a.errType, a.message = x.Code, x.Type, x.Message
		wantType := "Sender"
		if a.status >= 500 {
			wantType = "Receiver"
		}
		if x.Code == "" || x.Type != wantType || x.RequestID != a.requestID {
			return fmt.Errorf("query error envelope (status %d): %s", a.status, a.body)
		}
	case a.root == "Response":
		a.code, a.message = x.EC2Code, x.EC2Msg
		if x.EC2Code == "" || x.EC2ReqID != a.requestID {
			return fmt.Errorf("EC2 error envelope: %s", a.body)
		}
	default:
		return fmt.Errorf("XML error with root <%s>", a.root)
	}
	return nil
}

// form encodes key, value pairs in order.
func form(kv ...string) string {
	var b strings.Builder
	for i := 0; i+1 < len(kv); i += 2 {
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(kv[i]) + "=" + url.QueryEscape(kv[i+1]))
	}
	return b.String()
}
