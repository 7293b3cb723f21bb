package iam_test

import (
	"errors"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/smithy-go"

	"github.com/gantry-dev/gantry/internal/api"
	apiiam "github.com/gantry-dev/gantry/internal/api/iam"
	"github.com/gantry-dev/gantry/internal/logx"
	"github.com/gantry-dev/gantry/internal/ops"
	"github.com/gantry-dev/gantry/internal/sealer"
	"github.com/gantry-dev/gantry/internal/store"
	"github.com/gantry-dev/gantry/internal/testutil"
)

func newClient(t *testing.T) *iam.Client {
	t.Helper()
	cli, prefix := testutil.Etcd(t)
	seal, err := sealer.New(make([]byte, sealer.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	front := api.New(logx.Discard(), apiiam.Service(ops.NewIAM(store.New(cli, prefix), seal, logx.Discard())))
	ts := httptest.NewServer(front)
	t.Cleanup(ts.Close)
	return iam.New(iam.Options{Region: "us-east-1", BaseEndpoint: aws.String(ts.URL),
		Credentials: aws.AnonymousCredentials{}})
}

func code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

const trust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

// The wire shapes as the Go SDK reads them: members, URL-encoded documents, error codes.
func TestIAMWire(t *testing.T) {
	c := newClient(t)
	ctx := t.Context()
	out, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("r"), AssumeRolePolicyDocument: aws.String(trust),
		Description: aws.String("d"), Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
	if err != nil {
		t.Fatal(err)
	}
	r := out.Role
	if aws.ToString(r.Arn) != "arn:aws:iam::000000000000:role/r" || aws.ToString(r.Path) != "/" || aws.ToInt32(r.MaxSessionDuration) != 3600 ||
		r.CreateDate == nil || len(r.Tags) != 1 || aws.ToString(r.Description) != "d" {
		t.Fatalf("role %+v", r)
	}
	if doc, err := url.QueryUnescape(aws.ToString(r.AssumeRolePolicyDocument)); err != nil || doc != trust {
		t.Fatalf("document %q (%v)", aws.ToString(r.AssumeRolePolicyDocument), err)
	}
	_, err = c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("r"), AssumeRolePolicyDocument: aws.String(trust)})
	var exists *types.EntityAlreadyExistsException
	if !errors.As(err, &exists) {
		t.Fatalf("duplicate: %v", err)
	}
	_, err = c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("nope")})
	var missing *types.NoSuchEntityException
	if !errors.As(err, &missing) || aws.ToString(missing.Message) != "The role with name nope cannot be found." {
		t.Fatalf("missing: %v", err)
	}
	_, err = c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("x"), AssumeRolePolicyDocument: aws.String("{")})
	var malformed *types.MalformedPolicyDocumentException
	if !errors.As(err, &malformed) {
		t.Fatalf("malformed: %v", err)
	}
	_, err = c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("x"), AssumeRolePolicyDocument: aws.String(trust), MaxSessionDuration: aws.Int32(60)})
	if code(err) != "ValidationError" {
		t.Fatalf("duration: %v", err)
	}
	p, err := c.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("p"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecs:List*","Resource":"*"}]}`)})
	if err != nil || aws.ToString(p.Policy.DefaultVersionId) != "v1" || !p.Policy.IsAttachable {
		t.Fatalf("policy %+v %v", p, err)
	}
	if _, err := c.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("r"), PolicyArn: p.Policy.Arn}); err != nil {
		t.Fatal(err)
	}
	_, err = c.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("r")})
	var conflict *types.DeleteConflictException
	if !errors.As(err, &conflict) {
		t.Fatalf("delete attached: %v", err)
	}
	att, err := c.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String("r")})
	if err != nil || len(att.AttachedPolicies) != 1 || aws.ToString(att.AttachedPolicies[0].PolicyName) != "p" {
		t.Fatalf("attached %+v %v", att, err)
	}
	for range 4 {
		if _, err := c.CreatePolicyVersion(ctx, &iam.CreatePolicyVersionInput{PolicyArn: p.Policy.Arn, PolicyDocument: aws.String(
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecs:*","Resource":"*"}]}`), SetAsDefault: true}); err != nil {
			t.Fatal(err)
		}
	}
	_, err = c.CreatePolicyVersion(ctx, &iam.CreatePolicyVersionInput{PolicyArn: p.Policy.Arn, PolicyDocument: aws.String(
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecs:*","Resource":"*"}]}`)})
	var limit *types.LimitExceededException
	if !errors.As(err, &limit) {
		t.Fatalf("sixth version: %v", err)
	}
	v, err := c.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: p.Policy.Arn, VersionId: aws.String("v5")})
	if err != nil || !v.PolicyVersion.IsDefaultVersion {
		t.Fatalf("v5 %+v %v", v, err)
	}
	if _, err := c.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("r")}); err == nil {
		t.Fatal("deleted a role with a policy attached")
	}
	_, err = c.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: aws.String("garbage-that-is-long-enough")})
	var invalid *types.InvalidInputException
	if !errors.As(err, &invalid) {
		t.Fatalf("bad arn: %v", err)
	}
	m, err := c.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: aws.String(ops.ECSTaskExecutionRolePolicyARN)})
	if err != nil || aws.ToString(m.Policy.Path) != "/service-role/" {
		t.Fatalf("managed %+v %v", m, err)
	}
	u, err := c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("alice")})
	if err != nil || aws.ToString(u.User.Arn) != "arn:aws:iam::000000000000:user/alice" || u.User.Tags != nil {
		t.Fatalf("user %+v %v", u, err)
	}
	k, err := c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("alice")})
	if err != nil || len(aws.ToString(k.AccessKey.AccessKeyId)) != 20 || len(aws.ToString(k.AccessKey.SecretAccessKey)) != 40 || k.AccessKey.Status != types.StatusTypeActive {
		t.Fatalf("key %+v %v", k, err)
	}
}

// GetUser without a name answers for the calling user, named by its access key.
func TestGetUserSelf(t *testing.T) {
	c := newClient(t)
	ctx := t.Context()
	if _, err := c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("bob")}); err != nil {
		t.Fatal(err)
	}
	k, err := c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("bob")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetUser(ctx, &iam.GetUserInput{}); code(err) != "ValidationError" {
		t.Fatalf("anonymous GetUser: %v", err)
	}
	bob := iam.New(c.Options(), func(o *iam.Options) {
		o.Credentials = credentials.NewStaticCredentialsProvider(aws.ToString(k.AccessKey.AccessKeyId), aws.ToString(k.AccessKey.SecretAccessKey), "")
	})
	u, err := bob.GetUser(ctx, &iam.GetUserInput{})
	if err != nil || aws.ToString(u.User.UserName) != "bob" {
		t.Fatalf("GetUser as bob: %+v %v", u, err)
	}
}
