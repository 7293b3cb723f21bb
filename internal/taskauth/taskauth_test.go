package taskauth_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/taskauth"
)

type fakeSource map[string]string

func (f fakeSource) ResolveValueFrom(_ context.Context, _ model.Scope, valueFrom string) (string, error) {
	v, ok := f[valueFrom]
	if !ok {
		return "", apierr.New(apierr.NotFound, "Secrets Manager can't find the specified secret.")
	}
	return v, nil
}

// fakeIAM allows exactly the (principal, action, resource) triples it lists.
type fakeIAM struct {
	allow map[[3]string]bool
	asked [][3]string
}

func (f *fakeIAM) Allowed(_ context.Context, p, action, resource string, _ map[string][]string) (bool, error) {
	k := [3]string{p, action, resource}
	f.asked = append(f.asked, k)
	return f.allow[k], nil
}

func (f *fakeIAM) IssueRoleCredentials(_ context.Context, _ model.Scope, role, session string, d time.Duration) (model.Credentials, error) {
	return model.Credentials{AccessKeyID: "ASIA" + session, Expiration: time.Unix(0, 0).Add(d)}, nil
}

const (
	exec     = "arn:aws:iam::000000000000:role/exec"
	secret   = "arn:aws:secretsmanager:us-east-1:000000000000:secret:db-AbCdEf"
	paramARN = "arn:aws:ssm:us-east-1:000000000000:parameter/prod/key"
)

var scope = model.Scope{Account: "000000000000", Region: "us-east-1"}

func TestResolveSecretEnforced(t *testing.T) {
	src := fakeSource{secret + ":password::": "v1", "/prod/key": "v2", "prod/key": "v3"}
	iam := &fakeIAM{allow: map[[3]string]bool{
		{exec, "secretsmanager:GetSecretValue", secret}: true,
		{exec, "ssm:GetParameters", paramARN}:           true,
	}}
	a := taskauth.New(src, iam, true)
	for vf, want := range map[string]string{secret + ":password::": "v1", "/prod/key": "v2", "prod/key": "v3"} {
		got, err := a.ResolveSecret(t.Context(), scope, exec, vf)
		if err != nil || got != want {
			t.Errorf("%s: %q, %v; want %q", vf, got, err, want)
		}
	}
	// Denied: another role, or no role at all.
	_, err := a.ResolveSecret(t.Context(), scope, "arn:aws:iam::000000000000:role/other", secret+":password::")
	if err == nil || !strings.HasPrefix(err.Error(), "AccessDeniedException: ") || !strings.Contains(err.Error(), secret) {
		t.Errorf("denied read: %v", err)
	}
	if _, err := a.ResolveSecret(t.Context(), scope, "", "/prod/key"); err == nil || !strings.Contains(err.Error(), "executionRoleArn") {
		t.Errorf("no execution role: %v", err)
	}
	// Allowed but missing: the service's code.
	iam.allow[[3]string{exec, "secretsmanager:GetSecretValue", secret + "x"}] = true
	if _, err := a.ResolveSecret(t.Context(), scope, exec, secret+"x"); err == nil || !strings.HasPrefix(err.Error(), "ResourceNotFoundException: ") {
		t.Errorf("missing secret: %v", err)
	}
}

func TestResolveSecretNotEnforced(t *testing.T) {
	iam := &fakeIAM{}
	a := taskauth.New(fakeSource{"/p": "v"}, iam, false)
	if v, err := a.ResolveSecret(t.Context(), scope, "", "/p"); err != nil || v != "v" {
		t.Errorf("%q %v", v, err)
	}
	if _, err := a.ResolveSecret(t.Context(), scope, "", "/missing"); err == nil || !strings.HasPrefix(err.Error(), "ParameterNotFound: ") {
		t.Errorf("missing parameter: %v", err)
	}
	if len(iam.asked) != 0 {
		t.Errorf("IAM asked without enforcement: %v", iam.asked)
	}
	c, err := a.IssueRoleCredentials(t.Context(), scope, "arn:aws:iam::000000000000:role/app", "task1", time.Hour)
	if err != nil || c.AccessKeyID != "ASIAtask1" {
		t.Errorf("credentials %+v %v", c, err)
	}
}

// TestCheckExecutionRole: enforced, the execution role's policies decide what the platform does
// for the task, and a denial names the role's session (the task id); with no role nothing is
// allowed; not enforced, everything is.
func TestCheckExecutionRole(t *testing.T) {
	const repo = "arn:aws:ecr:us-east-1:000000000000:repository/app"
	iam := &fakeIAM{allow: map[[3]string]bool{{exec, "ecr:BatchGetImage", repo}: true}}
	a := taskauth.New(nil, iam, true)
	if err := a.CheckExecutionRole(t.Context(), scope, exec, "t1", "ecr:BatchGetImage", repo); err != nil {
		t.Errorf("allowed: %v", err)
	}
	err := a.CheckExecutionRole(t.Context(), scope, "arn:aws:iam::000000000000:role/service-role/other", "t1", "ecr:GetDownloadUrlForLayer", repo)
	want := "AccessDeniedException: User: arn:aws:sts::000000000000:assumed-role/other/t1 is not authorized to perform: ecr:GetDownloadUrlForLayer on resource: " +
		repo + " because no identity-based policy allows the ecr:GetDownloadUrlForLayer action"
	if err == nil || err.Error() != want {
		t.Errorf("denied: %v\nwant %s", err, want)
	}
	if err := a.CheckExecutionRole(t.Context(), scope, "", "t1", "logs:CreateLogStream", "arn:aws:logs:us-east-1:000000000000:log-group:g:log-stream:s"); err == nil ||
		!strings.HasPrefix(err.Error(), "AccessDeniedException: ") || !strings.Contains(err.Error(), "executionRoleArn") || !strings.Contains(err.Error(), "logs:CreateLogStream") {
		t.Errorf("no execution role: %v", err)
	}
	if n := len(iam.asked); n != 2 {
		t.Errorf("asked IAM %d times, want 2 (none without a role)", n)
	}

	off := taskauth.New(nil, iam, false)
	for _, role := range []string{"", exec, "arn:aws:iam::000000000000:role/other"} {
		if err := off.CheckExecutionRole(t.Context(), scope, role, "t1", "ecr:BatchGetImage", repo); err != nil {
			t.Errorf("not enforced, role %q: %v", role, err)
		}
	}
	if n := len(iam.asked); n != 2 {
		t.Errorf("not enforced: asked IAM %d times in all, want 2", n)
	}
}
