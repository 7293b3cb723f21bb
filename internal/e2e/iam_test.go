package e2e

import (
	"encoding/json"
	"errors"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

const (
	accountTrustDoc = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:root"},"Action":"sts:AssumeRole"}]}`
	ecsListDoc      = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecs:List*","Resource":"*"}]}`
	execPolicyARN   = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
)

// idClients are SDK clients signing with one set of credentials.
type idClients struct {
	iam *iam.Client
	sts *sts.Client
	ecs *ecs.Client
}

func newIDClients(t *testing.T, s *Server, key, secret, token string) idClients {
	t.Helper()
	cfg, err := config.LoadDefaultConfig(t.Context(), config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(key, secret, token)),
		config.WithSharedConfigFiles([]string{}), config.WithSharedCredentialsFiles([]string{}))
	if err != nil {
		t.Fatalf("load SDK config: %v", err)
	}
	return idClients{
		iam: iam.NewFromConfig(cfg, func(o *iam.Options) { o.BaseEndpoint = aws.String(s.URL) }),
		sts: sts.NewFromConfig(cfg, func(o *sts.Options) { o.BaseEndpoint = aws.String(s.URL) }),
		ecs: ecs.NewFromConfig(cfg, func(o *ecs.Options) { o.BaseEndpoint = aws.String(s.URL) }),
	}
}

func iamErrCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// sameJSON says whether got (decoded by the CLI) is the JSON document want.
func sameJSON(t *testing.T, got any, want string) bool {
	t.Helper()
	var w any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	return reflect.DeepEqual(got, w)
}

// TestIAMCLI drives every IAM and STS operation through the aws CLI, with AWS's errors for bad
// input (IAM not enforced).
func TestIAMCLI(t *testing.T) {
	t.Parallel()
	s := startServer(t, "")
	cli := newCLI(t, s)

	var role struct {
		Role struct {
			RoleName, RoleId, Arn, Path string
			MaxSessionDuration          int
			AssumeRolePolicyDocument    any
			Tags                        []struct{ Key, Value string }
		}
	}
	cli.json(&role, "iam", "create-role", "--role-name", "app", "--path", "/team/", "--assume-role-policy-document", ecsTasksTrust,
		"--max-session-duration", "7200", "--tags", "Key=env,Value=dev", "--description", "the app")
	r := role.Role
	if r.Arn != "arn:aws:iam::000000000000:role/team/app" || len(r.RoleId) != 21 || !strings.HasPrefix(r.RoleId, "AROA") ||
		r.MaxSessionDuration != 7200 || len(r.Tags) != 1 || !sameJSON(t, r.AssumeRolePolicyDocument, ecsTasksTrust) {
		t.Fatalf("create-role: %+v", r)
	}
	cli.json(&role, "iam", "get-role", "--role-name", "app")
	if role.Role.Arn != r.Arn {
		t.Fatalf("get-role: %+v", role.Role)
	}
	cli.json(nil, "iam", "create-role", "--role-name", "other", "--assume-role-policy-document", accountTrustDoc)
	var roles struct {
		Roles []struct{ RoleName string }
	}
	cli.json(&roles, "iam", "list-roles")
	if len(roles.Roles) != 2 {
		t.Fatalf("list-roles: %+v", roles)
	}
	cli.json(&roles, "iam", "list-roles", "--path-prefix", "/team/")
	if len(roles.Roles) != 1 || roles.Roles[0].RoleName != "app" {
		t.Fatalf("list-roles --path-prefix: %+v", roles)
	}
	var page struct {
		Roles     []struct{ RoleName string }
		NextToken string
	}
	cli.json(&page, "iam", "list-roles", "--max-items", "1")
	if len(page.Roles) != 1 || page.NextToken == "" {
		t.Fatalf("list-roles --max-items 1: %+v", page)
	}
	cli.json(&page, "iam", "list-roles", "--page-size", "1") // the CLI follows Marker to the end
	if len(page.Roles) != 2 {
		t.Fatalf("list-roles --page-size 1: %+v", page)
	}
	cli.json(nil, "iam", "update-assume-role-policy", "--role-name", "app", "--policy-document", accountTrustDoc)
	cli.json(&role, "iam", "get-role", "--role-name", "app")
	if !sameJSON(t, role.Role.AssumeRolePolicyDocument, accountTrustDoc) {
		t.Fatalf("after update-assume-role-policy: %+v", role.Role.AssumeRolePolicyDocument)
	}

	// Inline policies.
	cli.json(nil, "iam", "put-role-policy", "--role-name", "app", "--policy-name", "list", "--policy-document", ecsListDoc)
	var inline struct {
		RoleName, PolicyName string
		PolicyDocument       any
	}
	cli.json(&inline, "iam", "get-role-policy", "--role-name", "app", "--policy-name", "list")
	if inline.RoleName != "app" || inline.PolicyName != "list" || !sameJSON(t, inline.PolicyDocument, ecsListDoc) {
		t.Fatalf("get-role-policy: %+v", inline)
	}
	var names struct{ PolicyNames []string }
	cli.json(&names, "iam", "list-role-policies", "--role-name", "app")
	if !reflect.DeepEqual(names.PolicyNames, []string{"list"}) {
		t.Fatalf("list-role-policies: %+v", names)
	}
	cli.fail("DeleteConflict", "iam", "delete-role", "--role-name", "app")

	// Managed policies and versions.
	var pol struct {
		Policy struct {
			Arn, PolicyId, DefaultVersionId string
			AttachmentCount                 int
		}
	}
	cli.json(&pol, "iam", "create-policy", "--policy-name", "lister", "--policy-document", ecsListDoc, "--description", "lists")
	arn := pol.Policy.Arn
	if arn != "arn:aws:iam::000000000000:policy/lister" || !strings.HasPrefix(pol.Policy.PolicyId, "ANPA") || pol.Policy.DefaultVersionId != "v1" {
		t.Fatalf("create-policy: %+v", pol)
	}
	cli.json(nil, "iam", "attach-role-policy", "--role-name", "app", "--policy-arn", arn)
	cli.json(nil, "iam", "attach-role-policy", "--role-name", "app", "--policy-arn", execPolicyARN)
	var attached struct {
		AttachedPolicies []struct{ PolicyName, PolicyArn string }
	}
	cli.json(&attached, "iam", "list-attached-role-policies", "--role-name", "app")
	if len(attached.AttachedPolicies) != 2 || attached.AttachedPolicies[1].PolicyName != "AmazonECSTaskExecutionRolePolicy" {
		t.Fatalf("list-attached-role-policies: %+v", attached)
	}
	cli.json(&pol, "iam", "get-policy", "--policy-arn", arn)
	if pol.Policy.AttachmentCount != 1 {
		t.Fatalf("get-policy: %+v", pol)
	}
	var ver struct {
		PolicyVersion struct {
			Document         any
			VersionId        string
			IsDefaultVersion bool
		}
	}
	cli.json(&ver, "iam", "get-policy-version", "--policy-arn", execPolicyARN, "--version-id", "v1")
	if !sameJSON(t, ver.PolicyVersion.Document, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ecr:GetAuthorizationToken",
		"ecr:BatchCheckLayerAvailability","ecr:GetDownloadUrlForLayer","ecr:BatchGetImage","logs:CreateLogStream","logs:PutLogEvents"],"Resource":"*"}]}`) {
		t.Fatalf("execution role policy: %+v", ver.PolicyVersion.Document)
	}
	allECS := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecs:*","Resource":"*"}]}`
	cli.json(&ver, "iam", "create-policy-version", "--policy-arn", arn, "--policy-document", allECS, "--set-as-default")
	if ver.PolicyVersion.VersionId != "v2" || !ver.PolicyVersion.IsDefaultVersion {
		t.Fatalf("create-policy-version: %+v", ver)
	}
	cli.json(&ver, "iam", "get-policy-version", "--policy-arn", arn, "--version-id", "v2")
	if !sameJSON(t, ver.PolicyVersion.Document, allECS) {
		t.Fatalf("get-policy-version v2: %+v", ver)
	}
	for range 3 {
		cli.json(nil, "iam", "create-policy-version", "--policy-arn", arn, "--policy-document", allECS)
	}
	cli.fail("LimitExceeded", "iam", "create-policy-version", "--policy-arn", arn, "--policy-document", allECS)
	var versions struct {
		Versions []struct {
			VersionId        string
			IsDefaultVersion bool
		}
	}
	cli.json(&versions, "iam", "list-policy-versions", "--policy-arn", arn)
	if len(versions.Versions) != 5 {
		t.Fatalf("list-policy-versions: %+v", versions)
	}
	cli.fail("DeleteConflict", "iam", "delete-policy", "--policy-arn", arn)
	cli.json(nil, "iam", "detach-role-policy", "--role-name", "app", "--policy-arn", arn)
	cli.fail("NoSuchEntity", "iam", "detach-role-policy", "--role-name", "app", "--policy-arn", arn)
	cli.fail("DeleteConflict", "iam", "delete-policy", "--policy-arn", arn) // versions left
	cli.fail("DeleteConflict", "iam", "delete-policy-version", "--policy-arn", arn, "--version-id", "v2")
	for _, v := range []string{"v1", "v3", "v4", "v5"} {
		cli.json(nil, "iam", "delete-policy-version", "--policy-arn", arn, "--version-id", v)
	}
	cli.json(nil, "iam", "delete-policy", "--policy-arn", arn)
	cli.fail("NoSuchEntity", "iam", "get-policy", "--policy-arn", arn)
	var all struct{ Policies []struct{ Arn string } }
	cli.json(&all, "iam", "list-policies", "--scope", "AWS")
	if len(all.Policies) != 1 || all.Policies[0].Arn != execPolicyARN {
		t.Fatalf("list-policies --scope AWS: %+v", all)
	}

	// Deleting a role: detach and delete its policies first.
	cli.json(nil, "iam", "detach-role-policy", "--role-name", "app", "--policy-arn", execPolicyARN)
	cli.json(nil, "iam", "delete-role-policy", "--role-name", "app", "--policy-name", "list")
	cli.fail("NoSuchEntity", "iam", "get-role-policy", "--role-name", "app", "--policy-name", "list")
	cli.json(nil, "iam", "delete-role", "--role-name", "app")
	cli.fail("NoSuchEntity", "iam", "get-role", "--role-name", "app")

	// Users and access keys.
	var user struct {
		User struct{ UserName, UserId, Arn string }
	}
	cli.json(&user, "iam", "create-user", "--user-name", "alice")
	if user.User.Arn != "arn:aws:iam::000000000000:user/alice" || !strings.HasPrefix(user.User.UserId, "AIDA") {
		t.Fatalf("create-user: %+v", user)
	}
	cli.json(&user, "iam", "get-user", "--user-name", "alice")
	var key struct {
		AccessKey struct{ AccessKeyId, SecretAccessKey, Status, UserName string }
	}
	cli.json(&key, "iam", "create-access-key", "--user-name", "alice")
	if k := key.AccessKey; len(k.AccessKeyId) != 20 || !strings.HasPrefix(k.AccessKeyId, "AKIA") || len(k.SecretAccessKey) != 40 || k.Status != "Active" {
		t.Fatalf("create-access-key: %+v", key)
	}
	var keys struct {
		AccessKeyMetadata []struct{ AccessKeyId string }
	}
	cli.json(&keys, "iam", "list-access-keys", "--user-name", "alice")
	if len(keys.AccessKeyMetadata) != 1 || keys.AccessKeyMetadata[0].AccessKeyId != key.AccessKey.AccessKeyId {
		t.Fatalf("list-access-keys: %+v", keys)
	}
	cli.json(nil, "iam", "put-user-policy", "--user-name", "alice", "--policy-name", "p", "--policy-document", ecsListDoc)
	cli.json(nil, "iam", "attach-user-policy", "--user-name", "alice", "--policy-arn", execPolicyARN)
	cli.fail("DeleteConflict", "iam", "delete-user", "--user-name", "alice")
	cli.json(nil, "iam", "delete-access-key", "--user-name", "alice", "--access-key-id", key.AccessKey.AccessKeyId)
	cli.json(nil, "iam", "detach-user-policy", "--user-name", "alice", "--policy-arn", execPolicyARN)
	cli.json(nil, "iam", "delete-user-policy", "--user-name", "alice", "--policy-name", "p")
	cli.json(nil, "iam", "delete-user", "--user-name", "alice")

	// Bad input.
	cli.fail("EntityAlreadyExists", "iam", "create-role", "--role-name", "OTHER", "--assume-role-policy-document", accountTrustDoc)
	cli.fail("MalformedPolicyDocument", "iam", "create-role", "--role-name", "x", "--assume-role-policy-document", "{not json")
	cli.fail("MalformedPolicyDocument", "iam", "create-role", "--role-name", "x", "--assume-role-policy-document", ecsListDoc)
	cli.fail("MalformedPolicyDocument", "iam", "put-role-policy", "--role-name", "other", "--policy-name", "p", "--policy-document", accountTrustDoc)
	if msg := cli.fail("ValidationError", "iam", "create-role", "--role-name", "bad name", "--assume-role-policy-document", accountTrustDoc); !strings.Contains(msg, "roleName") {
		t.Errorf("bad name message: %s", msg)
	}
	cli.fail("ValidationError", "iam", "create-role", "--role-name", "x", "--assume-role-policy-document", accountTrustDoc, "--max-session-duration", "50000")
	cli.fail("ValidationError", "iam", "create-role", "--role-name", "x", "--path", "no-slashes", "--assume-role-policy-document", accountTrustDoc)
	cli.fail("InvalidInput", "iam", "get-policy", "--policy-arn", "arn:aws:s3:::not-a-policy-at-all")
	cli.fail("NoSuchEntity", "iam", "attach-role-policy", "--role-name", "other", "--policy-arn", "arn:aws:iam::000000000000:policy/none")
	cli.fail("NoSuchEntity", "iam", "get-user", "--user-name", "nobody")
	cli.fail("NoSuchEntity", "iam", "delete-role", "--role-name", "nobody")

	// STS.
	var id struct{ Account, Arn, UserId string }
	cli.json(&id, "sts", "get-caller-identity")
	if id.Arn != "arn:aws:iam::000000000000:root" || id.Account != "000000000000" {
		t.Fatalf("get-caller-identity: %+v", id)
	}
	var assumed struct {
		Credentials     struct{ AccessKeyId, SecretAccessKey, SessionToken, Expiration string }
		AssumedRoleUser struct{ AssumedRoleId, Arn string }
	}
	cli.json(&assumed, "sts", "assume-role", "--role-arn", "arn:aws:iam::000000000000:role/other", "--role-session-name", "cli", "--duration-seconds", "900")
	if !strings.HasPrefix(assumed.Credentials.AccessKeyId, "ASIA") || assumed.Credentials.SessionToken == "" ||
		assumed.AssumedRoleUser.Arn != "arn:aws:sts::000000000000:assumed-role/other/cli" {
		t.Fatalf("assume-role: %+v", assumed)
	}
	cli.fail("ValidationError", "sts", "assume-role", "--role-arn", "arn:aws:iam::000000000000:role/other", "--role-session-name", "bad name")
	cli.fail("ValidationError", "sts", "assume-role", "--role-arn", "arn:aws:iam::000000000000:role/other", "--role-session-name", "ok", "--duration-seconds", "7200")
	cli.fail("AccessDenied", "sts", "assume-role", "--role-arn", "arn:aws:iam::000000000000:role/none", "--role-session-name", "cli")
}

// TestIAMSDK drives IAM and STS through the Go SDK v2, whose typed errors and URL-encoded
// documents are the wire's.
func TestIAMSDK(t *testing.T) {
	t.Parallel()
	s := startServer(t, "")
	c := newIDClients(t, s, "test", "test", "")
	ctx := t.Context()
	out, err := c.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("sdk"), AssumeRolePolicyDocument: aws.String(accountTrustDoc)})
	if err != nil {
		t.Fatal(err)
	}
	if doc, _ := url.QueryUnescape(aws.ToString(out.Role.AssumeRolePolicyDocument)); doc != accountTrustDoc {
		t.Fatalf("document %q", doc)
	}
	if _, err := c.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("sdk"), PolicyName: aws.String("p"), PolicyDocument: aws.String(ecsListDoc)}); err != nil {
		t.Fatal(err)
	}
	got, err := c.iam.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String("sdk"), PolicyName: aws.String("p")})
	if err != nil {
		t.Fatal(err)
	}
	if doc, _ := url.QueryUnescape(aws.ToString(got.PolicyDocument)); doc != ecsListDoc {
		t.Fatalf("GetRolePolicy document %q", doc)
	}
	_, err = c.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("none")})
	var noSuch *iamtypes.NoSuchEntityException
	if !errors.As(err, &noSuch) {
		t.Fatalf("GetRole none: %v", err)
	}
	_, err = c.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("sdk"), AssumeRolePolicyDocument: aws.String(accountTrustDoc)})
	var exists *iamtypes.EntityAlreadyExistsException
	if !errors.As(err, &exists) {
		t.Fatalf("CreateRole again: %v", err)
	}
	_, err = c.iam.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("bad"), PolicyDocument: aws.String(`{"Statement":{"Effect":"Allow"}}`)})
	var malformed *iamtypes.MalformedPolicyDocumentException
	if !errors.As(err, &malformed) {
		t.Fatalf("CreatePolicy malformed: %v", err)
	}
	id, err := c.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(id.Arn) != "arn:aws:iam::000000000000:root" {
		t.Fatalf("GetCallerIdentity %+v %v", id, err)
	}
	ar, err := c.sts.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: out.Role.Arn, RoleSessionName: aws.String("sdk-session")})
	if err != nil {
		t.Fatal(err)
	}
	sess := newIDClients(t, s, aws.ToString(ar.Credentials.AccessKeyId), aws.ToString(ar.Credentials.SecretAccessKey), aws.ToString(ar.Credentials.SessionToken))
	id, err = sess.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(id.Arn) != "arn:aws:sts::000000000000:assumed-role/sdk/sdk-session" || aws.ToString(id.UserId) != aws.ToString(out.Role.RoleId)+":sdk-session" {
		t.Fatalf("session GetCallerIdentity %+v %v", id, err)
	}
	_, err = c.sts.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: out.Role.Arn, RoleSessionName: aws.String("x")})
	if iamErrCode(err) != "ValidationError" {
		t.Fatalf("short session name: %v", err)
	}
}
