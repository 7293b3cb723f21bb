// Package sts is the STS service on the front door: query-protocol shapes with AWS's member
// names and XML answers, and handlers over the IAM operations' credentials.
package sts

import (
	"context"
	"time"

	"github.com/gantry-dev/gantry/internal/api"
	"github.com/gantry-dev/gantry/internal/api/awsquery"
	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/ops"
)

// APIVersion is the STS API version clients send as Version=.
const APIVersion = "2011-06-15"

// XMLNamespace is the namespace of STS's answers.
const XMLNamespace = "https://sts.amazonaws.com/doc/2011-06-15/"

type handler struct{ ops *ops.IAM }

// Service returns the STS service for the front door.
func Service(o *ops.IAM) *api.Service {
	h := &handler{ops: o}
	return &api.Service{
		SigningName:  "sts",
		Protocol:     api.Query,
		APIVersion:   APIVersion,
		XMLNamespace: XMLNamespace,
		ErrorCode:    ErrorCode,
		Operations: map[string]api.Operation{
			"GetCallerIdentity": h.getCallerIdentity,
			"AssumeRole":        h.assumeRole,
		},
	}
}

// ErrorCode names error kinds as STS does.
func ErrorCode(k apierr.Kind) string {
	switch k {
	case apierr.InvalidParameter, apierr.MissingParameter:
		return "ValidationError"
	case apierr.AccessDenied:
		return "AccessDenied"
	case apierr.MalformedPolicy:
		return "MalformedPolicyDocument"
	case apierr.ExpiredToken:
		return "ExpiredTokenException"
	}
	return ""
}

// caller is the request's verified identity, or, when IAM is not enforced, the identity its
// access key names (the account root for unknown keys).
func (h *handler) caller(ctx context.Context, r *api.Request) (model.Principal, error) {
	if r.Caller.ARN != "" {
		return r.Caller, nil
	}
	return h.ops.CallerIdentity(ctx, r.Scope.Account, r.AccessKey)
}

type getCallerIdentityOutput struct {
	UserID  string `xml:"UserId"`
	Account string `xml:"Account"`
	Arn     string `xml:"Arn"`
}

func (h *handler) getCallerIdentity(ctx context.Context, r *api.Request) (any, error) {
	p, err := h.caller(ctx, r)
	if err != nil {
		return nil, err
	}
	return &getCallerIdentityOutput{UserID: p.UserID, Account: p.Account, Arn: p.ARN}, nil
}

type assumeRoleInput struct {
	RoleArn         string `query:"RoleArn"`
	RoleSessionName string `query:"RoleSessionName"`
	DurationSeconds *int   `query:"DurationSeconds"`
	Policy          string `query:"Policy"`
	ExternalID      string `query:"ExternalId"`
}

// Credentials is STS's Credentials shape.
type Credentials struct {
	AccessKeyID     string `xml:"AccessKeyId"`
	SecretAccessKey string `xml:"SecretAccessKey"`
	SessionToken    string `xml:"SessionToken"`
	Expiration      string `xml:"Expiration"`
}

// AssumedRoleUser is STS's AssumedRoleUser shape.
type AssumedRoleUser struct {
	AssumedRoleID string `xml:"AssumedRoleId"`
	Arn           string `xml:"Arn"`
}

type assumeRoleOutput struct {
	Credentials     Credentials     `xml:"Credentials"`
	AssumedRoleUser AssumedRoleUser `xml:"AssumedRoleUser"`
}

func (h *handler) assumeRole(ctx context.Context, r *api.Request) (any, error) {
	var in assumeRoleInput
	if err := awsquery.Decode(r.Form, &in); err != nil {
		return nil, err
	}
	if in.RoleArn == "" {
		return nil, apierr.New(apierr.MissingParameter, "1 validation error detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null")
	}
	if in.Policy != "" {
		return nil, apierr.New(apierr.InvalidParameter, "Session policies (Policy) are not supported by gantry")
	}
	p, err := h.caller(ctx, r)
	if err != nil {
		return nil, err
	}
	out, err := h.ops.AssumeRole(ctx, p, ops.AssumeRoleInput{RoleARN: in.RoleArn, SessionName: in.RoleSessionName, DurationSeconds: in.DurationSeconds})
	if err != nil {
		return nil, err
	}
	c := out.Credentials
	return &assumeRoleOutput{
		Credentials: Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken,
			Expiration: c.Expiration.UTC().Format(time.RFC3339)},
		AssumedRoleUser: AssumedRoleUser{AssumedRoleID: out.Principal.UserID, Arn: out.Principal.ARN},
	}, nil
}
