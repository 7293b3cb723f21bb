// Package iam is the IAM service on the front door: query-protocol shapes with AWS's member
// names and XML answers, and handlers that convert them to and from the ops layer.
package iam

import (
	"context"
	"net/url"
	"strings"
	"time"

	"github.com/gantry-dev/gantry/internal/api"
	"github.com/gantry-dev/gantry/internal/api/awsquery"
	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/ops"
)

// APIVersion is the IAM API version clients send as Version=.
const APIVersion = "2010-05-08"

// XMLNamespace is the namespace of IAM's answers.
const XMLNamespace = "https://iam.amazonaws.com/doc/2010-05-08/"

type handler struct{ ops *ops.IAM }

// Service returns the IAM service for the front door.
func Service(o *ops.IAM) *api.Service {
	h := &handler{ops: o}
	return &api.Service{
		SigningName:  "iam",
		Protocol:     api.Query,
		APIVersion:   APIVersion,
		XMLNamespace: XMLNamespace,
		ErrorCode:    ErrorCode,
		Operations: map[string]api.Operation{
			"CreateRole":               op(h.createRole),
			"GetRole":                  op(h.getRole),
			"DeleteRole":               op(h.deleteRole),
			"ListRoles":                op(h.listRoles),
			"UpdateRole":               op(h.updateRole),
			"UpdateAssumeRolePolicy":   op(h.updateAssumeRolePolicy),
			"PutRolePolicy":            op(h.putRolePolicy),
			"GetRolePolicy":            op(h.getRolePolicy),
			"DeleteRolePolicy":         op(h.deleteRolePolicy),
			"ListRolePolicies":         op(h.listRolePolicies),
			"AttachRolePolicy":         op(h.attachRolePolicy),
			"DetachRolePolicy":         op(h.detachRolePolicy),
			"ListAttachedRolePolicies": op(h.listAttachedRolePolicies),
			"CreatePolicy":             op(h.createPolicy),
			"GetPolicy":                op(h.getPolicy),
			"DeletePolicy":             op(h.deletePolicy),
			"ListPolicies":             op(h.listPolicies),
			"GetPolicyVersion":         op(h.getPolicyVersion),
			"CreatePolicyVersion":      op(h.createPolicyVersion),
			"DeletePolicyVersion":      op(h.deletePolicyVersion),
			"ListPolicyVersions":       op(h.listPolicyVersions),
			"CreateUser":               op(h.createUser),
			"GetUser":                  op(h.getUser),
			"DeleteUser":               op(h.deleteUser),
			"ListUsers":                op(h.listUsers),
			"CreateAccessKey":          op(h.createAccessKey),
			"ListAccessKeys":           op(h.listAccessKeys),
			"DeleteAccessKey":          op(h.deleteAccessKey),
			"PutUserPolicy":            op(h.putUserPolicy),
			"GetUserPolicy":            op(h.getUserPolicy),
			"DeleteUserPolicy":         op(h.deleteUserPolicy),
			"ListUserPolicies":         op(h.listUserPolicies),
			"AttachUserPolicy":         op(h.attachUserPolicy),
			"DetachUserPolicy":         op(h.detachUserPolicy),
			"ListAttachedUserPolicies": op(h.listAttachedUserPolicies),
		},
	}
}

// op adapts a typed handler to an api.Operation: it decodes the form into In and hands over the
// caller's account and identity (IAM is global: no region).
func op[In any, Out any](fn func(ctx context.Context, c caller, in *In) (*Out, error)) api.Operation {
	return func(ctx context.Context, r *api.Request) (any, error) {
		var in In
		if err := awsquery.Decode(r.Form, &in); err != nil {
			return nil, err
		}
		out, err := fn(ctx, caller{account: r.Scope.Account, principal: r.Caller, accessKey: r.AccessKey}, &in)
		if err != nil {
			return nil, err
		}
		return out, nil
	}
}

// caller is who makes a request: its account and, when enforcing, its identity.
type caller struct {
	account   string
	principal model.Principal
	accessKey string
}

// identity is the caller's principal: the verified one when enforcing, else the one its access
// key names (GetUser and CreateAccessKey without UserName act on the calling user).
func (h *handler) identity(ctx context.Context, c caller) (model.Principal, error) {
	if c.principal.ARN != "" {
		return c.principal, nil
	}
	return h.ops.CallerIdentity(ctx, c.account, c.accessKey)
}

// ErrorCode names error kinds as IAM does.
func ErrorCode(k apierr.Kind) string {
	switch k {
	case apierr.NotFound:
		return "NoSuchEntity"
	case apierr.AlreadyExists:
		return "EntityAlreadyExists"
	case apierr.MalformedPolicy:
		return "MalformedPolicyDocument"
	case apierr.ResourceInUse:
		return "DeleteConflict"
	case apierr.LimitExceeded:
		return "LimitExceeded"
	case apierr.InvalidParameter, apierr.MissingParameter:
		return "ValidationError"
	case apierr.InvalidInput:
		return "InvalidInput"
	case apierr.AccessDenied:
		return "AccessDenied"
	case apierr.ExpiredToken:
		return "ExpiredToken"
	case apierr.Conflict:
		return "ConcurrentModification"
	case apierr.Internal:
		return "ServiceFailure"
	}
	return ""
}

// encodeDocument URL-encodes a policy document as IAM returns it (the CLI decodes it again).
func encodeDocument(doc string) string {
	return strings.ReplaceAll(url.QueryEscape(doc), "+", "%20")
}

// Tag is IAM's tag shape.
type Tag struct {
	Key   string `xml:"Key" query:"Key"`
	Value string `xml:"Value" query:"Value"`
}

func tagsToModel(tags []Tag) []model.Tag {
	var out []model.Tag
	for _, t := range tags {
		out = append(out, model.Tag{Key: t.Key, Value: t.Value})
	}
	return out
}

// tagList is a Tags member that is left out when there are none, as IAM leaves it out.
type tagList struct {
	Member []Tag `xml:"member"`
}

func tagsFromModel(tags []model.Tag) *tagList {
	if len(tags) == 0 {
		return nil
	}
	out := &tagList{}
	for _, t := range tags {
		out.Member = append(out.Member, Tag{Key: t.Key, Value: t.Value})
	}
	return out
}

// isoTime formats times as IAM does.
func isoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

type empty struct{}

// Role is IAM's Role shape.
type Role struct {
	Path                     string   `xml:"Path"`
	RoleName                 string   `xml:"RoleName"`
	RoleID                   string   `xml:"RoleId"`
	Arn                      string   `xml:"Arn"`
	CreateDate               string   `xml:"CreateDate"`
	AssumeRolePolicyDocument string   `xml:"AssumeRolePolicyDocument,omitempty"`
	Description              string   `xml:"Description,omitempty"`
	MaxSessionDuration       int      `xml:"MaxSessionDuration"`
	Tags                     *tagList `xml:"Tags,omitempty"`
}

func roleFromModel(r model.Role) Role {
	return Role{Path: r.Path, RoleName: r.Name, RoleID: r.ID, Arn: r.ARN(), CreateDate: isoTime(r.CreatedAt),
		AssumeRolePolicyDocument: encodeDocument(r.AssumeRolePolicy), Description: r.Description,
		MaxSessionDuration: r.MaxSessionDuration, Tags: tagsFromModel(r.Tags)}
}

type createRoleInput struct {
	RoleName                 string `query:"RoleName"`
	Path                     string `query:"Path"`
	AssumeRolePolicyDocument string `query:"AssumeRolePolicyDocument"`
	Description              string `query:"Description"`
	MaxSessionDuration       *int   `query:"MaxSessionDuration"`
	Tags                     []Tag  `query:"Tags.member"`
}

type roleOutput struct {
	Role Role `xml:"Role"`
}

func (h *handler) createRole(ctx context.Context, c caller, in *createRoleInput) (*roleOutput, error) {
	r, err := h.ops.CreateRole(ctx, c.account, ops.CreateRoleInput{Name: in.RoleName, Path: in.Path, Description: in.Description,
		AssumeRolePolicy: in.AssumeRolePolicyDocument, MaxSessionDuration: in.MaxSessionDuration, Tags: tagsToModel(in.Tags)})
	if err != nil {
		return nil, err
	}
	return &roleOutput{Role: roleFromModel(r)}, nil
}

type roleNameInput struct {
	RoleName string `query:"RoleName"`
}

func (h *handler) getRole(ctx context.Context, c caller, in *roleNameInput) (*roleOutput, error) {
	r, err := h.ops.GetRole(ctx, c.account, in.RoleName)
	if err != nil {
		return nil, err
	}
	return &roleOutput{Role: roleFromModel(r)}, nil
}

func (h *handler) deleteRole(ctx context.Context, c caller, in *roleNameInput) (*empty, error) {
	return nil, h.ops.DeleteRole(ctx, c.account, in.RoleName)
}

type listRolesInput struct {
	PathPrefix string `query:"PathPrefix"`
	Marker     string `query:"Marker"`
	MaxItems   int    `query:"MaxItems"`
}

type listRolesOutput struct {
	Roles       []Role `xml:"Roles>member"`
	IsTruncated bool   `xml:"IsTruncated"`
	Marker      string `xml:"Marker,omitempty"`
}

func (h *handler) listRoles(ctx context.Context, c caller, in *listRolesInput) (*listRolesOutput, error) {
	roles, marker, err := h.ops.ListRoles(ctx, c.account, in.PathPrefix, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	out := &listRolesOutput{Roles: []Role{}, IsTruncated: marker != "", Marker: marker}
	for _, r := range roles {
		out.Roles = append(out.Roles, roleFromModel(r))
	}
	return out, nil
}

type updateRoleInput struct {
	RoleName           string  `query:"RoleName"`
	Description        *string `query:"Description"`
	MaxSessionDuration *int    `query:"MaxSessionDuration"`
}

func (h *handler) updateRole(ctx context.Context, c caller, in *updateRoleInput) (*empty, error) {
	return nil, h.ops.UpdateRole(ctx, c.account, in.RoleName, in.Description, in.MaxSessionDuration)
}

type updateAssumeRolePolicyInput struct {
	RoleName       string `query:"RoleName"`
	PolicyDocument string `query:"PolicyDocument"`
}

func (h *handler) updateAssumeRolePolicy(ctx context.Context, c caller, in *updateAssumeRolePolicyInput) (*empty, error) {
	return nil, h.ops.UpdateAssumeRolePolicy(ctx, c.account, in.RoleName, in.PolicyDocument)
}

type putRolePolicyInput struct {
	RoleName       string `query:"RoleName"`
	PolicyName     string `query:"PolicyName"`
	PolicyDocument string `query:"PolicyDocument"`
}

func (h *handler) putRolePolicy(ctx context.Context, c caller, in *putRolePolicyInput) (*empty, error) {
	return nil, h.ops.PutRolePolicy(ctx, c.account, in.RoleName, in.PolicyName, in.PolicyDocument)
}

type rolePolicyInput struct {
	RoleName   string `query:"RoleName"`
	PolicyName string `query:"PolicyName"`
}

type getRolePolicyOutput struct {
	RoleName       string `xml:"RoleName"`
	PolicyName     string `xml:"PolicyName"`
	PolicyDocument string `xml:"PolicyDocument"`
}

func (h *handler) getRolePolicy(ctx context.Context, c caller, in *rolePolicyInput) (*getRolePolicyOutput, error) {
	name, doc, err := h.ops.GetRolePolicy(ctx, c.account, in.RoleName, in.PolicyName)
	if err != nil {
		return nil, err
	}
	r, err := h.ops.GetRole(ctx, c.account, in.RoleName)
	if err != nil {
		return nil, err
	}
	return &getRolePolicyOutput{RoleName: r.Name, PolicyName: name, PolicyDocument: encodeDocument(doc)}, nil
}

func (h *handler) deleteRolePolicy(ctx context.Context, c caller, in *rolePolicyInput) (*empty, error) {
	return nil, h.ops.DeleteRolePolicy(ctx, c.account, in.RoleName, in.PolicyName)
}

type policyNamesOutput struct {
	PolicyNames []string `xml:"PolicyNames>member"`
	IsTruncated bool     `xml:"IsTruncated"`
}

func (h *handler) listRolePolicies(ctx context.Context, c caller, in *roleNameInput) (*policyNamesOutput, error) {
	names, err := h.ops.ListRolePolicies(ctx, c.account, in.RoleName)
	if err != nil {
		return nil, err
	}
	return &policyNamesOutput{PolicyNames: append([]string{}, names...)}, nil
}

type rolePolicyArnInput struct {
	RoleName  string `query:"RoleName"`
	PolicyArn string `query:"PolicyArn"`
}

func (h *handler) attachRolePolicy(ctx context.Context, c caller, in *rolePolicyArnInput) (*empty, error) {
	return nil, h.ops.AttachRolePolicy(ctx, c.account, in.RoleName, in.PolicyArn)
}

func (h *handler) detachRolePolicy(ctx context.Context, c caller, in *rolePolicyArnInput) (*empty, error) {
	return nil, h.ops.DetachRolePolicy(ctx, c.account, in.RoleName, in.PolicyArn)
}

// AttachedPolicy is IAM's AttachedPolicy shape.
type AttachedPolicy struct {
	PolicyName string `xml:"PolicyName"`
	PolicyArn  string `xml:"PolicyArn"`
}

type attachedPoliciesOutput struct {
	AttachedPolicies []AttachedPolicy `xml:"AttachedPolicies>member"`
	IsTruncated      bool             `xml:"IsTruncated"`
}

func attachedFromModel(ps []model.ManagedPolicy) *attachedPoliciesOutput {
	out := &attachedPoliciesOutput{AttachedPolicies: []AttachedPolicy{}}
	for _, p := range ps {
		out.AttachedPolicies = append(out.AttachedPolicies, AttachedPolicy{PolicyName: p.Name, PolicyArn: p.ARN()})
	}
	return out
}

func (h *handler) listAttachedRolePolicies(ctx context.Context, c caller, in *roleNameInput) (*attachedPoliciesOutput, error) {
	ps, err := h.ops.ListAttachedRolePolicies(ctx, c.account, in.RoleName)
	if err != nil {
		return nil, err
	}
	return attachedFromModel(ps), nil
}
