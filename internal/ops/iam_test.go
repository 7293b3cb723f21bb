package ops_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/logx"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/ops"
	"github.com/gantry-dev/gantry/internal/sealer"
	"github.com/gantry-dev/gantry/internal/store"
	"github.com/gantry-dev/gantry/internal/testutil"
)

const acct = model.DefaultAccount

const (
	ecsTrust    = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	accountTrst = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:root"},"Action":"sts:AssumeRole"}]}`
	listOnly    = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecs:List*","Resource":"*"}]}`
)

// iamClock is a settable clock for the IAM operations.
type iamClock struct{ t time.Time }

func (c *iamClock) now() time.Time { return c.t }

func newIAM(t *testing.T) (*ops.IAM, *store.Store, *iamClock) {
	t.Helper()
	cli, prefix := testutil.Etcd(t)
	seal, err := sealer.New(make([]byte, sealer.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	st := store.New(cli, prefix)
	i := ops.NewIAM(st, seal, logx.Discard())
	clock := &iamClock{t: time.Date(2026, 11, 26, 2, 0, 0, 0, time.UTC)}
	i.SetClock(clock.now)
	return i, st, clock
}

func wantKind(t *testing.T, err error, k apierr.Kind, msg string) {
	t.Helper()
	if !errors.Is(err, k) || !strings.Contains(apierr.Message(err), msg) {
		t.Fatalf("error %v (%s), want %s containing %q", err, apierr.KindOf(err), k, msg)
	}
}

func TestIAMRoles(t *testing.T) {
	i, _, _ := newIAM(t)
	ctx := t.Context()
	dur := 7200
	r, err := i.CreateRole(ctx, acct, ops.CreateRoleInput{Name: "web", Path: "/app/", AssumeRolePolicy: ecsTrust, MaxSessionDuration: &dur,
		Tags: []model.Tag{{Key: "team", Value: "a"}}})
	if err != nil {
		t.Fatal(err)
	}
	if r.ARN() != "arn:aws:iam::000000000000:role/app/web" || len(r.ID) != 21 || !strings.HasPrefix(r.ID, "AROA") || r.MaxSessionDuration != 7200 {
		t.Fatalf("role %+v %s", r, r.ARN())
	}
	if strings.ToUpper(r.ID) != r.ID {
		t.Fatalf("id %s not upper case", r.ID)
	}
	_, err = i.CreateRole(ctx, acct, ops.CreateRoleInput{Name: "WEB", AssumeRolePolicy: ecsTrust})
	wantKind(t, err, apierr.AlreadyExists, "Role with name WEB already exists.")

	bad := []struct {
		in   ops.CreateRoleInput
		kind apierr.Kind
		msg  string
	}{
		{ops.CreateRoleInput{Name: "bad name", AssumeRolePolicy: ecsTrust}, apierr.InvalidParameter, "at 'roleName' failed to satisfy constraint: Member must satisfy regular expression pattern"},
		{ops.CreateRoleInput{Name: strings.Repeat("a", 65), AssumeRolePolicy: ecsTrust}, apierr.InvalidParameter, "length less than or equal to 64"},
		{ops.CreateRoleInput{Name: "x", Path: "nope", AssumeRolePolicy: ecsTrust}, apierr.InvalidParameter, "at 'path'"},
		{ops.CreateRoleInput{Name: "x", AssumeRolePolicy: "{"}, apierr.MalformedPolicy, "Syntax errors in policy."},
		{ops.CreateRoleInput{Name: "x", AssumeRolePolicy: listOnly}, apierr.MalformedPolicy, "Missing required field Principal"},
		{ops.CreateRoleInput{Name: "x", AssumeRolePolicy: ecsTrust, MaxSessionDuration: new(int)}, apierr.InvalidParameter, "greater than or equal to 3600"},
		{ops.CreateRoleInput{Name: "x", AssumeRolePolicy: ecsTrust, Tags: []model.Tag{{Key: "a"}, {Key: "A"}}}, apierr.InvalidInput, "Duplicate tag keys"},
	}
	for _, b := range bad {
		_, err := i.CreateRole(ctx, acct, b.in)
		wantKind(t, err, b.kind, b.msg)
	}

	got, err := i.GetRole(ctx, acct, "Web")
	if err != nil || got.ID != r.ID {
		t.Fatalf("get: %+v %v", got, err)
	}
	_, err = i.GetRole(ctx, acct, "nope")
	wantKind(t, err, apierr.NotFound, "The role with name nope cannot be found.")

	if err := i.PutRolePolicy(ctx, acct, "web", "list", listOnly); err != nil {
		t.Fatal(err)
	}
	wantKind(t, i.PutRolePolicy(ctx, acct, "web", "bad", ecsTrust), apierr.MalformedPolicy, "should not specify a principal")
	name, doc, err := i.GetRolePolicy(ctx, acct, "web", "LIST")
	if err != nil || name != "list" || doc != listOnly {
		t.Fatalf("get role policy %q %q %v", name, doc, err)
	}
	if err := i.AttachRolePolicy(ctx, acct, "web", ops.ECSTaskExecutionRolePolicyARN); err != nil {
		t.Fatal(err)
	}
	wantKind(t, i.AttachRolePolicy(ctx, acct, "web", "arn:aws:iam::000000000000:policy/none"), apierr.NotFound, "does not exist or is not attachable")
	wantKind(t, i.DeleteRole(ctx, acct, "web"), apierr.ResourceInUse, "must detach all policies first")
	if err := i.DetachRolePolicy(ctx, acct, "web", ops.ECSTaskExecutionRolePolicyARN); err != nil {
		t.Fatal(err)
	}
	wantKind(t, i.DetachRolePolicy(ctx, acct, "web", ops.ECSTaskExecutionRolePolicyARN), apierr.NotFound, "was not found")
	wantKind(t, i.DeleteRole(ctx, acct, "web"), apierr.ResourceInUse, "must delete policies first")
	if err := i.DeleteRolePolicy(ctx, acct, "web", "list"); err != nil {
		t.Fatal(err)
	}
	wantKind(t, i.DeleteRolePolicy(ctx, acct, "web", "list"), apierr.NotFound, "The role policy with name list cannot be found.")
	if err := i.DeleteRole(ctx, acct, "web"); err != nil {
		t.Fatal(err)
	}
	wantKind(t, i.DeleteRole(ctx, acct, "web"), apierr.NotFound, "cannot be found")
}

func TestIAMListRolesPaging(t *testing.T) {
	i, _, _ := newIAM(t)
	ctx := t.Context()
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		path := "/"
		if n == "b" || n == "d" {
			path = "/svc/"
		}
		if _, err := i.CreateRole(ctx, acct, ops.CreateRoleInput{Name: n, Path: path, AssumeRolePolicy: ecsTrust}); err != nil {
			t.Fatal(err)
		}
	}
	var all []string
	marker := ""
	for pages := 0; ; pages++ {
		roles, next, err := i.ListRoles(ctx, acct, "", marker, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range roles {
			all = append(all, r.Name)
		}
		if next == "" {
			break
		}
		marker = next
	}
	if strings.Join(all, ",") != "a,b,c,d,e" {
		t.Fatalf("paged %v", all)
	}
	svc, next, err := i.ListRoles(ctx, acct, "/svc/", "", 0)
	if err != nil || len(svc) != 2 || next != "" {
		t.Fatalf("path prefix: %v %q %v", svc, next, err)
	}
	_, _, err = i.ListRoles(ctx, acct, "", "", 1001)
	wantKind(t, err, apierr.InvalidParameter, "maxItems")
}

func TestIAMManagedPolicies(t *testing.T) {
	i, _, _ := newIAM(t)
	ctx := t.Context()
	p, err := i.CreatePolicy(ctx, acct, ops.CreatePolicyInput{Name: "list", Path: "/team/", Document: listOnly})
	if err != nil {
		t.Fatal(err)
	}
	arn := p.ARN()
	if arn != "arn:aws:iam::000000000000:policy/team/list" || !strings.HasPrefix(p.ID, "ANPA") || p.DefaultVersion != "v1" {
		t.Fatalf("policy %+v", p)
	}
	_, err = i.CreatePolicy(ctx, acct, ops.CreatePolicyInput{Name: "LIST", Document: listOnly})
	wantKind(t, err, apierr.AlreadyExists, "A policy called LIST already exists.")
	_, err = i.CreatePolicy(ctx, acct, ops.CreatePolicyInput{Name: "x", Document: `{"Statement":{"Effect":"Allow","Action":"ecs:*"}}`})
	wantKind(t, err, apierr.MalformedPolicy, "must contain resources")

	for n := 2; n <= 5; n++ {
		v, err := i.CreatePolicyVersion(ctx, acct, arn, listOnly, n == 3)
		if err != nil || v.ID != "v"+string(rune('0'+n)) {
			t.Fatalf("version %d: %+v %v", n, v, err)
		}
	}
	_, err = i.CreatePolicyVersion(ctx, acct, arn, listOnly, false)
	wantKind(t, err, apierr.LimitExceeded, "up to 5 versions")
	got, n, err := i.GetPolicy(ctx, acct, arn)
	if err != nil || got.DefaultVersion != "v3" || n != 0 {
		t.Fatalf("get %+v %d %v", got, n, err)
	}
	_, isDefault, err := i.GetPolicyVersion(ctx, acct, arn, "v3")
	if err != nil || !isDefault {
		t.Fatalf("v3 default=%v %v", isDefault, err)
	}
	_, _, err = i.GetPolicyVersion(ctx, acct, arn, "v9")
	wantKind(t, err, apierr.NotFound, "version v9")
	_, _, err = i.GetPolicyVersion(ctx, acct, arn, "x")
	wantKind(t, err, apierr.InvalidParameter, "versionId")
	_, _, err = i.GetPolicy(ctx, acct, "arn:aws:iam::000000000000:policy/list") // wrong path
	wantKind(t, err, apierr.NotFound, "was not found")
	_, _, err = i.GetPolicy(ctx, acct, "not-an-arn-at-all-but-long")
	wantKind(t, err, apierr.InvalidInput, "is not valid")

	if _, err := i.CreateRole(ctx, acct, ops.CreateRoleInput{Name: "r", AssumeRolePolicy: ecsTrust}); err != nil {
		t.Fatal(err)
	}
	if err := i.AttachRolePolicy(ctx, acct, "r", arn); err != nil {
		t.Fatal(err)
	}
	if _, n, _ := i.GetPolicy(ctx, acct, arn); n != 1 {
		t.Fatalf("attachment count %d", n)
	}
	wantKind(t, i.DeletePolicy(ctx, acct, arn), apierr.ResourceInUse, "attached to entities")
	if err := i.DetachRolePolicy(ctx, acct, "r", arn); err != nil {
		t.Fatal(err)
	}
	wantKind(t, i.DeletePolicy(ctx, acct, arn), apierr.ResourceInUse, "more than one version")
	wantKind(t, i.DeletePolicyVersion(ctx, acct, arn, "v3"), apierr.ResourceInUse, "default version")
	for _, v := range []string{"v1", "v2", "v4", "v5"} {
		if err := i.DeletePolicyVersion(ctx, acct, arn, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := i.DeletePolicy(ctx, acct, arn); err != nil {
		t.Fatal(err)
	}
	_, _, err = i.GetPolicy(ctx, acct, arn)
	wantKind(t, err, apierr.NotFound, "was not found")

	// The AWS managed execution role policy is there with its real document.
	m, _, err := i.GetPolicy(ctx, acct, ops.ECSTaskExecutionRolePolicyARN)
	if err != nil || !strings.Contains(m.DefaultDocument(), "ecr:GetAuthorizationToken") || !strings.Contains(m.DefaultDocument(), "logs:PutLogEvents") {
		t.Fatalf("managed %+v %v", m, err)
	}
	wantKind(t, i.DeletePolicy(ctx, acct, ops.ECSTaskExecutionRolePolicyARN), apierr.AccessDenied, "AWS managed")
}

func TestIAMUsersAndKeys(t *testing.T) {
	i, _, _ := newIAM(t)
	ctx := t.Context()
	u, err := i.CreateUser(ctx, acct, "alice", "", nil)
	if err != nil || u.ARN() != "arn:aws:iam::000000000000:user/alice" || !strings.HasPrefix(u.ID, "AIDA") {
		t.Fatalf("user %+v %v", u, err)
	}
	_, err = i.CreateUser(ctx, acct, "Alice", "", nil)
	wantKind(t, err, apierr.AlreadyExists, "User with name Alice already exists.")
	creds, name, err := i.CreateAccessKey(ctx, acct, "alice", model.Principal{})
	if err != nil || name != "alice" || len(creds.AccessKeyID) != 20 || !strings.HasPrefix(creds.AccessKeyID, "AKIA") || len(creds.SecretAccessKey) != 40 {
		t.Fatalf("key %+v %q %v", creds, name, err)
	}
	p, c, err := i.Credential(ctx, creds.AccessKeyID)
	if err != nil || c.SecretAccessKey != creds.SecretAccessKey || p.ARN != u.ARN() || p.Kind != model.PrincipalUser {
		t.Fatalf("credential %+v %+v %v", p, c, err)
	}
	if _, _, err := i.CreateAccessKey(ctx, acct, "alice", model.Principal{}); err != nil {
		t.Fatal(err)
	}
	_, _, err = i.CreateAccessKey(ctx, acct, "alice", model.Principal{})
	wantKind(t, err, apierr.LimitExceeded, "AccessKeysPerUser")
	_, err = i.GetUser(ctx, acct, "", model.Principal{Kind: model.PrincipalRoot})
	wantKind(t, err, apierr.InvalidParameter, "Must specify userName")
	if me, err := i.GetUser(ctx, acct, "", p); err != nil || me.Name != "alice" {
		t.Fatalf("get self %+v %v", me, err)
	}
	wantKind(t, i.DeleteUser(ctx, acct, "alice"), apierr.ResourceInUse, "access keys")

	// Policies decide what the user's key may do.
	if err := i.PutUserPolicy(ctx, acct, "alice", "list", listOnly); err != nil {
		t.Fatal(err)
	}
	allowed := func(action string) bool {
		ok, err := i.Authorize(ctx, p, action, "*", nil)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !allowed("ecs:ListClusters") || allowed("ecs:CreateCluster") {
		t.Fatal("inline policy not applied")
	}
	if ok, err := i.Allowed(ctx, u.ARN(), "ecs:ListTasks", "*", nil); err != nil || !ok {
		t.Fatalf("Allowed by ARN: %v %v", ok, err)
	}
	deny, err := i.CreatePolicy(ctx, acct, ops.CreatePolicyInput{Name: "deny", Document: `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"ecs:ListTasks","Resource":"*"}]}`})
	if err != nil {
		t.Fatal(err)
	}
	if err := i.AttachUserPolicy(ctx, acct, "alice", deny.ARN()); err != nil {
		t.Fatal(err)
	}
	if allowed("ecs:ListTasks") || !allowed("ecs:ListClusters") {
		t.Fatal("attached deny not applied")
	}
	if ok, _ := i.Allowed(ctx, model.AccountRootARN(acct), "iam:DeleteAccount", "*", nil); !ok {
		t.Fatal("root denied")
	}
	_, err = i.Allowed(ctx, "arn:aws:iam::000000000000:user/nobody", "ecs:ListClusters", "*", nil)
	wantKind(t, err, apierr.NotFound, "")
	_, _, err = i.Credential(ctx, "AKIANOTAKEYATALL0000")
	wantKind(t, err, apierr.NotFound, "")
}

func TestSTSAssumeRoleAndTaskCredentials(t *testing.T) {
	i, _, clock := newIAM(t)
	ctx := t.Context()
	i.SetEnforce(true)
	i.SetRootKey("test", "test")
	root, rootCreds, err := i.Credential(ctx, "test")
	if err != nil || root.Kind != model.PrincipalRoot || rootCreds.SecretAccessKey != "test" || root.ARN != "arn:aws:iam::000000000000:root" {
		t.Fatalf("root %+v %v", root, err)
	}
	if _, err := i.CreateRole(ctx, acct, ops.CreateRoleInput{Name: "task", AssumeRolePolicy: ecsTrust}); err != nil {
		t.Fatal(err)
	}
	if _, err := i.CreateRole(ctx, acct, ops.CreateRoleInput{Name: "ops", AssumeRolePolicy: accountTrst}); err != nil {
		t.Fatal(err)
	}
	if err := i.PutRolePolicy(ctx, acct, "ops", "list", listOnly); err != nil {
		t.Fatal(err)
	}
	alice, err := i.CreateUser(ctx, acct, "alice", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	alicePr := model.Principal{Kind: model.PrincipalUser, Account: acct, ARN: alice.ARN(), UserID: alice.ID, Name: "alice"}

	// A trust policy naming the account needs an identity policy allowing sts:AssumeRole too;
	// one naming alice herself does not; an explicit deny refuses either way.
	_, err = i.AssumeRole(ctx, alicePr, ops.AssumeRoleInput{RoleARN: "arn:aws:iam::000000000000:role/ops", SessionName: "s1"})
	wantKind(t, err, apierr.AccessDenied, "not authorized to perform: sts:AssumeRole")
	if _, err := i.CreateRole(ctx, acct, ops.CreateRoleInput{Name: "named",
		AssumeRolePolicy: `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:user/alice"},"Action":"sts:AssumeRole"}]}`}); err != nil {
		t.Fatal(err)
	}
	if _, err := i.AssumeRole(ctx, alicePr, ops.AssumeRoleInput{RoleARN: "arn:aws:iam::000000000000:role/named", SessionName: "s1"}); err != nil {
		t.Fatalf("trust naming alice: %v", err)
	}
	if err := i.PutUserPolicy(ctx, acct, "alice", "assume", `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"},
		{"Effect":"Deny","Action":"sts:AssumeRole","Resource":"arn:aws:iam::000000000000:role/named"}]}`); err != nil {
		t.Fatal(err)
	}
	_, err = i.AssumeRole(ctx, alicePr, ops.AssumeRoleInput{RoleARN: "arn:aws:iam::000000000000:role/named", SessionName: "s1"})
	wantKind(t, err, apierr.AccessDenied, "not authorized")
	out, err := i.AssumeRole(ctx, alicePr, ops.AssumeRoleInput{RoleARN: "arn:aws:iam::000000000000:role/ops", SessionName: "s1"})
	if err != nil {
		t.Fatal(err)
	}
	c := out.Credentials
	if !strings.HasPrefix(c.AccessKeyID, "ASIA") || len(c.AccessKeyID) != 20 || len(c.SecretAccessKey) != 40 || c.SessionToken == "" ||
		!c.Expiration.Equal(clock.t.Add(time.Hour)) || out.Principal.ARN != "arn:aws:sts::000000000000:assumed-role/ops/s1" {
		t.Fatalf("assumed %+v", out)
	}
	_, err = i.AssumeRole(ctx, alicePr, ops.AssumeRoleInput{RoleARN: "arn:aws:iam::000000000000:role/task", SessionName: "s1"})
	wantKind(t, err, apierr.AccessDenied, "User: arn:aws:iam::000000000000:user/alice is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::000000000000:role/task")
	_, err = i.AssumeRole(ctx, alicePr, ops.AssumeRoleInput{RoleARN: "arn:aws:iam::000000000000:role/missing", SessionName: "s1"})
	wantKind(t, err, apierr.AccessDenied, "not authorized")
	_, err = i.AssumeRole(ctx, alicePr, ops.AssumeRoleInput{RoleARN: "arn:aws:iam::000000000000:role/ops", SessionName: "x"})
	wantKind(t, err, apierr.InvalidParameter, "roleSessionName")
	long := 7200
	_, err = i.AssumeRole(ctx, alicePr, ops.AssumeRoleInput{RoleARN: "arn:aws:iam::000000000000:role/ops", SessionName: "s1", DurationSeconds: &long})
	wantKind(t, err, apierr.InvalidParameter, "exceeds the MaxSessionDuration")
	short := 899
	_, err = i.AssumeRole(ctx, alicePr, ops.AssumeRoleInput{RoleARN: "arn:aws:iam::000000000000:role/ops", SessionName: "s1", DurationSeconds: &short})
	wantKind(t, err, apierr.InvalidParameter, "greater than or equal to 900")
	// Root may assume any role of its account.
	if _, err := i.AssumeRole(ctx, root, ops.AssumeRoleInput{RoleARN: "arn:aws:iam::000000000000:role/task", SessionName: "root"}); err != nil {
		t.Fatal(err)
	}

	// The session's credentials verify, and the role's policies decide.
	p, got, err := i.Credential(ctx, c.AccessKeyID)
	if err != nil || got.SessionToken != c.SessionToken || got.SecretAccessKey != c.SecretAccessKey || p.ARN != out.Principal.ARN {
		t.Fatalf("session credential %+v %+v %v", p, got, err)
	}
	if ok, _ := i.Authorize(ctx, p, "ecs:ListClusters", "*", nil); !ok {
		t.Fatal("role policy does not allow ListClusters")
	}
	if ok, _ := i.Authorize(ctx, p, "ecs:CreateCluster", "*", nil); ok {
		t.Fatal("role policy allows CreateCluster")
	}
	if ok, err := i.Allowed(ctx, out.Principal.ARN, "ecs:ListServices", "*", nil); err != nil || !ok {
		t.Fatalf("Allowed(session ARN) = %v %v", ok, err)
	}
	if id, err := i.CallerIdentity(ctx, acct, c.AccessKeyID); err != nil || id.ARN != out.Principal.ARN {
		t.Fatalf("caller identity %+v %v", id, err)
	}
	if id, err := i.CallerIdentity(ctx, acct, "whatever"); err != nil || id.Kind != model.PrincipalRoot {
		t.Fatalf("unknown key identity %+v %v", id, err)
	}

	// Task credentials: only for roles that trust ecs-tasks.amazonaws.com.
	tc, err := i.IssueRoleCredentials(ctx, model.Scope{Account: acct, Region: "us-east-1"}, "arn:aws:iam::000000000000:role/task", "task-1", 6*time.Hour)
	if err != nil || !strings.HasPrefix(tc.AccessKeyID, "ASIA") || !tc.Expiration.Equal(clock.t.Add(time.Hour)) {
		t.Fatalf("task credentials %+v %v (clamped to the role's hour)", tc, err)
	}
	if p, _, err := i.Credential(ctx, tc.AccessKeyID); err != nil || p.ARN != "arn:aws:sts::000000000000:assumed-role/task/task-1" {
		t.Fatalf("task principal %+v %v", p, err)
	}
	_, err = i.IssueRoleCredentials(ctx, model.Scope{Account: acct}, "arn:aws:iam::000000000000:role/ops", "t", time.Hour)
	wantKind(t, err, apierr.AccessDenied, "ECS was unable to assume the role")
	_, err = i.IssueRoleCredentials(ctx, model.Scope{Account: acct}, "arn:aws:iam::000000000000:role/none", "t", time.Hour)
	wantKind(t, err, apierr.NotFound, "cannot be found")
	_, err = i.IssueRoleCredentials(ctx, model.Scope{Account: acct}, "nonsense", "t", time.Hour)
	wantKind(t, err, apierr.InvalidParameter, "")

	// Expired credentials are refused and collected.
	clock.t = clock.t.Add(time.Hour)
	_, _, err = i.Credential(ctx, c.AccessKeyID)
	wantKind(t, err, apierr.ExpiredToken, "expired")
	_, _, err = i.Credential(ctx, c.AccessKeyID)
	wantKind(t, err, apierr.NotFound, "") // deleted on first sight
	n, err := i.CollectExpired(ctx)
	if err != nil || n != 3 { // the sessions of root, of the task, and alice's of "named"
		t.Fatalf("collected %d %v", n, err)
	}
	if n, _ := i.CollectExpired(ctx); n != 0 {
		t.Fatalf("collected again %d", n)
	}
}
