package iam

import (
	"context"

	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/ops"
)

// Policy is IAM's Policy shape.
type Policy struct {
	PolicyName                    string   `xml:"PolicyName"`
	PolicyID                      string   `xml:"PolicyId"`
	Arn                           string   `xml:"Arn"`
	Path                          string   `xml:"Path"`
	DefaultVersionID              string   `xml:"DefaultVersionId"`
	AttachmentCount               int      `xml:"AttachmentCount"`
	PermissionsBoundaryUsageCount int      `xml:"PermissionsBoundaryUsageCount"`
	IsAttachable                  bool     `xml:"IsAttachable"`
	Description                   string   `xml:"Description,omitempty"`
	CreateDate                    string   `xml:"CreateDate"`
	UpdateDate                    string   `xml:"UpdateDate"`
	Tags                          *tagList `xml:"Tags,omitempty"`
}

func policyFromModel(p model.ManagedPolicy, attachments int) Policy {
	return Policy{PolicyName: p.Name, PolicyID: p.ID, Arn: p.ARN(), Path: p.Path, DefaultVersionID: p.DefaultVersion,
		AttachmentCount: attachments, IsAttachable: true, Description: p.Description, CreateDate: isoTime(p.CreatedAt),
		UpdateDate: isoTime(p.UpdatedAt), Tags: tagsFromModel(p.Tags)}
}

// PolicyVersion is IAM's PolicyVersion shape.
type PolicyVersion struct {
	Document         string `xml:"Document,omitempty"`
	VersionID        string `xml:"VersionId"`
	IsDefaultVersion bool   `xml:"IsDefaultVersion"`
	CreateDate       string `xml:"CreateDate"`
}

type createPolicyInput struct {
	PolicyName     string `query:"PolicyName"`
	Path           string `query:"Path"`
	PolicyDocument string `query:"PolicyDocument"`
	Description    string `query:"Description"`
	Tags           []Tag  `query:"Tags.member"`
}

type policyOutput struct {
	Policy Policy `xml:"Policy"`
}

func (h *handler) createPolicy(ctx context.Context, c caller, in *createPolicyInput) (*policyOutput, error) {
	p, err := h.ops.CreatePolicy(ctx, c.account, ops.CreatePolicyInput{Name: in.PolicyName, Path: in.Path,
		Description: in.Description, Document: in.PolicyDocument, Tags: tagsToModel(in.Tags)})
	if err != nil {
		return nil, err
	}
	return &policyOutput{Policy: policyFromModel(p, 0)}, nil
}

type policyArnInput struct {
	PolicyArn string `query:"PolicyArn"`
}

func (h *handler) getPolicy(ctx context.Context, c caller, in *policyArnInput) (*policyOutput, error) {
	p, n, err := h.ops.GetPolicy(ctx, c.account, in.PolicyArn)
	if err != nil {
		return nil, err
	}
	return &policyOutput{Policy: policyFromModel(p, n)}, nil
}

func (h *handler) deletePolicy(ctx context.Context, c caller, in *policyArnInput) (*empty, error) {
	return nil, h.ops.DeletePolicy(ctx, c.account, in.PolicyArn)
}

type listPoliciesInput struct {
	Scope        string `query:"Scope"`
	OnlyAttached bool   `query:"OnlyAttached"`
	PathPrefix   string `query:"PathPrefix"`
}

type listPoliciesOutput struct {
	Policies    []Policy `xml:"Policies>member"`
	IsTruncated bool     `xml:"IsTruncated"`
}

func (h *handler) listPolicies(ctx context.Context, c caller, in *listPoliciesInput) (*listPoliciesOutput, error) {
	scope := in.Scope
	if scope == "" {
		scope = "All"
	}
	if scope != "All" && scope != "AWS" && scope != "Local" {
		return nil, validation("scope", scope, "Member must satisfy enum value set: [All, AWS, Local]")
	}
	ps, counts, err := h.ops.ListPolicies(ctx, c.account, scope, in.PathPrefix, in.OnlyAttached)
	if err != nil {
		return nil, err
	}
	out := &listPoliciesOutput{Policies: []Policy{}}
	for j, p := range ps {
		out.Policies = append(out.Policies, policyFromModel(p, counts[j]))
	}
	return out, nil
}

type policyVersionInput struct {
	PolicyArn string `query:"PolicyArn"`
	VersionID string `query:"VersionId"`
}

type policyVersionOutput struct {
	PolicyVersion PolicyVersion `xml:"PolicyVersion"`
}

func (h *handler) getPolicyVersion(ctx context.Context, c caller, in *policyVersionInput) (*policyVersionOutput, error) {
	v, isDefault, err := h.ops.GetPolicyVersion(ctx, c.account, in.PolicyArn, in.VersionID)
	if err != nil {
		return nil, err
	}
	return &policyVersionOutput{PolicyVersion: PolicyVersion{Document: encodeDocument(v.Document), VersionID: v.ID,
		IsDefaultVersion: isDefault, CreateDate: isoTime(v.CreatedAt)}}, nil
}

type createPolicyVersionInput struct {
	PolicyArn      string `query:"PolicyArn"`
	PolicyDocument string `query:"PolicyDocument"`
	SetAsDefault   bool   `query:"SetAsDefault"`
}

func (h *handler) createPolicyVersion(ctx context.Context, c caller, in *createPolicyVersionInput) (*policyVersionOutput, error) {
	v, err := h.ops.CreatePolicyVersion(ctx, c.account, in.PolicyArn, in.PolicyDocument, in.SetAsDefault)
	if err != nil {
		return nil, err
	}
	return &policyVersionOutput{PolicyVersion: PolicyVersion{VersionID: v.ID, IsDefaultVersion: in.SetAsDefault,
		CreateDate: isoTime(v.CreatedAt)}}, nil
}

func (h *handler) deletePolicyVersion(ctx context.Context, c caller, in *policyVersionInput) (*empty, error) {
	return nil, h.ops.DeletePolicyVersion(ctx, c.account, in.PolicyArn, in.VersionID)
}

type listPolicyVersionsOutput struct {
	Versions    []PolicyVersion `xml:"Versions>member"`
	IsTruncated bool            `xml:"IsTruncated"`
}

func (h *handler) listPolicyVersions(ctx context.Context, c caller, in *policyArnInput) (*listPolicyVersionsOutput, error) {
	p, err := h.ops.ListPolicyVersions(ctx, c.account, in.PolicyArn)
	if err != nil {
		return nil, err
	}
	out := &listPolicyVersionsOutput{Versions: []PolicyVersion{}}
	for _, v := range p.Versions {
		out.Versions = append(out.Versions, PolicyVersion{VersionID: v.ID, IsDefaultVersion: v.ID == p.DefaultVersion,
			CreateDate: isoTime(v.CreatedAt)})
	}
	return out, nil
}
