package iam

import (
	"context"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/model"
)

func validation(member, value, constraint string) error {
	return apierr.Errorf(apierr.InvalidParameter,
		"1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: %s", value, member, constraint)
}

// User is IAM's User shape.
type User struct {
	Path       string   `xml:"Path"`
	UserName   string   `xml:"UserName"`
	UserID     string   `xml:"UserId"`
	Arn        string   `xml:"Arn"`
	CreateDate string   `xml:"CreateDate"`
	Tags       *tagList `xml:"Tags,omitempty"`
}

func userFromModel(u model.User) User {
	return User{Path: u.Path, UserName: u.Name, UserID: u.ID, Arn: u.ARN(), CreateDate: isoTime(u.CreatedAt), Tags: tagsFromModel(u.Tags)}
}

type createUserInput struct {
	UserName string `query:"UserName"`
	Path     string `query:"Path"`
	Tags     []Tag  `query:"Tags.member"`
}

type userOutput struct {
	User User `xml:"User"`
}

func (h *handler) createUser(ctx context.Context, c caller, in *createUserInput) (*userOutput, error) {
	u, err := h.ops.CreateUser(ctx, c.account, in.UserName, in.Path, tagsToModel(in.Tags))
	if err != nil {
		return nil, err
	}
	return &userOutput{User: userFromModel(u)}, nil
}

type userNameInput struct {
	UserName string `query:"UserName"`
}

func (h *handler) getUser(ctx context.Context, c caller, in *userNameInput) (*userOutput, error) {
	who, err := h.identity(ctx, c)
	if err != nil {
		return nil, err
	}
	u, err := h.ops.GetUser(ctx, c.account, in.UserName, who)
	if err != nil {
		return nil, err
	}
	return &userOutput{User: userFromModel(u)}, nil
}

func (h *handler) deleteUser(ctx context.Context, c caller, in *userNameInput) (*empty, error) {
	return nil, h.ops.DeleteUser(ctx, c.account, in.UserName)
}

type listUsersOutput struct {
	Users       []User `xml:"Users>member"`
	IsTruncated bool   `xml:"IsTruncated"`
}

func (h *handler) listUsers(ctx context.Context, c caller, _ *struct{}) (*listUsersOutput, error) {
	users, err := h.ops.ListUsers(ctx, c.account)
	if err != nil {
		return nil, err
	}
	out := &listUsersOutput{Users: []User{}}
	for _, u := range users {
		out.Users = append(out.Users, userFromModel(u))
	}
	return out, nil
}

// AccessKey is IAM's AccessKey shape (with the secret, answered once).
type AccessKey struct {
	UserName        string `xml:"UserName"`
	AccessKeyID     string `xml:"AccessKeyId"`
	Status          string `xml:"Status"`
	SecretAccessKey string `xml:"SecretAccessKey"`
	CreateDate      string `xml:"CreateDate"`
}

type createAccessKeyOutput struct {
	AccessKey AccessKey `xml:"AccessKey"`
}

func (h *handler) createAccessKey(ctx context.Context, c caller, in *userNameInput) (*createAccessKeyOutput, error) {
	who, err := h.identity(ctx, c)
	if err != nil {
		return nil, err
	}
	creds, user, err := h.ops.CreateAccessKey(ctx, c.account, in.UserName, who)
	if err != nil {
		return nil, err
	}
	return &createAccessKeyOutput{AccessKey: AccessKey{UserName: user, AccessKeyID: creds.AccessKeyID, Status: "Active",
		SecretAccessKey: creds.SecretAccessKey, CreateDate: isoTime(h.ops.Now())}}, nil
}

// AccessKeyMetadata is IAM's AccessKeyMetadata shape.
type AccessKeyMetadata struct {
	UserName    string `xml:"UserName"`
	AccessKeyID string `xml:"AccessKeyId"`
	Status      string `xml:"Status"`
	CreateDate  string `xml:"CreateDate"`
}

type listAccessKeysOutput struct {
	AccessKeyMetadata []AccessKeyMetadata `xml:"AccessKeyMetadata>member"`
	IsTruncated       bool                `xml:"IsTruncated"`
}

func (h *handler) listAccessKeys(ctx context.Context, c caller, in *userNameInput) (*listAccessKeysOutput, error) {
	who, err := h.identity(ctx, c)
	if err != nil {
		return nil, err
	}
	u, err := h.ops.GetUser(ctx, c.account, in.UserName, who)
	if err != nil {
		return nil, err
	}
	keys, err := h.ops.ListAccessKeys(ctx, c.account, u.Name)
	if err != nil {
		return nil, err
	}
	out := &listAccessKeysOutput{AccessKeyMetadata: []AccessKeyMetadata{}}
	for _, k := range keys {
		status := "Active"
		if !k.Active {
			status = "Inactive"
		}
		out.AccessKeyMetadata = append(out.AccessKeyMetadata, AccessKeyMetadata{UserName: u.Name, AccessKeyID: k.ID,
			Status: status, CreateDate: isoTime(k.CreatedAt)})
	}
	return out, nil
}

type deleteAccessKeyInput struct {
	UserName    string `query:"UserName"`
	AccessKeyID string `query:"AccessKeyId"`
}

func (h *handler) deleteAccessKey(ctx context.Context, c caller, in *deleteAccessKeyInput) (*empty, error) {
	return nil, h.ops.DeleteAccessKey(ctx, c.account, in.UserName, in.AccessKeyID)
}

type putUserPolicyInput struct {
	UserName       string `query:"UserName"`
	PolicyName     string `query:"PolicyName"`
	PolicyDocument string `query:"PolicyDocument"`
}

func (h *handler) putUserPolicy(ctx context.Context, c caller, in *putUserPolicyInput) (*empty, error) {
	return nil, h.ops.PutUserPolicy(ctx, c.account, in.UserName, in.PolicyName, in.PolicyDocument)
}

type userPolicyInput struct {
	UserName   string `query:"UserName"`
	PolicyName string `query:"PolicyName"`
}

type getUserPolicyOutput struct {
	UserName       string `xml:"UserName"`
	PolicyName     string `xml:"PolicyName"`
	PolicyDocument string `xml:"PolicyDocument"`
}

func (h *handler) getUserPolicy(ctx context.Context, c caller, in *userPolicyInput) (*getUserPolicyOutput, error) {
	name, doc, err := h.ops.GetUserPolicy(ctx, c.account, in.UserName, in.PolicyName)
	if err != nil {
		return nil, err
	}
	return &getUserPolicyOutput{UserName: in.UserName, PolicyName: name, PolicyDocument: encodeDocument(doc)}, nil
}

func (h *handler) deleteUserPolicy(ctx context.Context, c caller, in *userPolicyInput) (*empty, error) {
	return nil, h.ops.DeleteUserPolicy(ctx, c.account, in.UserName, in.PolicyName)
}

func (h *handler) listUserPolicies(ctx context.Context, c caller, in *userNameInput) (*policyNamesOutput, error) {
	names, err := h.ops.ListUserPolicies(ctx, c.account, in.UserName)
	if err != nil {
		return nil, err
	}
	return &policyNamesOutput{PolicyNames: append([]string{}, names...)}, nil
}

type userPolicyArnInput struct {
	UserName  string `query:"UserName"`
	PolicyArn string `query:"PolicyArn"`
}

func (h *handler) attachUserPolicy(ctx context.Context, c caller, in *userPolicyArnInput) (*empty, error) {
	return nil, h.ops.AttachUserPolicy(ctx, c.account, in.UserName, in.PolicyArn)
}

func (h *handler) detachUserPolicy(ctx context.Context, c caller, in *userPolicyArnInput) (*empty, error) {
	return nil, h.ops.DetachUserPolicy(ctx, c.account, in.UserName, in.PolicyArn)
}

func (h *handler) listAttachedUserPolicies(ctx context.Context, c caller, in *userNameInput) (*attachedPoliciesOutput, error) {
	ps, err := h.ops.ListAttachedUserPolicies(ctx, c.account, in.UserName)
	if err != nil {
		return nil, err
	}
	return attachedFromModel(ps), nil
}
