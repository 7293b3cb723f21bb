package taskrunner

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/gantry-dev/gantry/internal/model"
)

// ExecutionRoleChecker decides whether a task's execution role may perform an action the
// platform performs for the task: pulling its images from gantry's registry and creating its
// awslogs streams. executionRoleARN is "" when the task has none; taskID names the role's
// session. It returns nil when allowed, else an error worded as the service's answer
// ("AccessDeniedException: User: ... is not authorized to perform: ..."). A Config.Secrets that
// implements it is asked; without one nothing is checked (gantry server --iam off).
type ExecutionRoleChecker interface {
	CheckExecutionRole(ctx context.Context, scope model.Scope, executionRoleARN, taskID, action, resource string) error
}

// The execution role's actions for a pull from ECR and for the awslogs driver.
const (
	actionECRToken     = "ecr:GetAuthorizationToken"
	actionECRImage     = "ecr:BatchGetImage"
	actionECRLayer     = "ecr:GetDownloadUrlForLayer"
	actionLogsGroup    = "logs:CreateLogGroup"
	actionLogsStream   = "logs:CreateLogStream"
	actionLogsPutEvent = "logs:PutLogEvents"
)

// ecrHostParts reads the account and region from an ECR registry host,
// <account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn] or <account>.dkr-ecr[-fips].<region>.on.aws.
var ecrHostParts = regexp.MustCompile(`^([0-9]{12})\.(?:dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?|dkr-ecr(?:-fips)?\.([a-z0-9-]+)\.on\.aws)$`)

// ecrRepository is the ECR repository an image reference names when it is in gantry's own
// registry: an ECR name (its account and region from the host) or localHost/<repo> (the task's
// account and region). ok is false for images from other registries, which need no role.
func ecrRepository(ref, localHost string, sc model.Scope) (repoARN string, ok bool) {
	host, rest, found := strings.Cut(ref, "/")
	if !found || rest == "" {
		return "", false
	}
	account, region := sc.Account, sc.Region
	if m := ecrHostParts.FindStringSubmatch(strings.ToLower(host)); m != nil {
		account, region = m[1], m[2]+m[3]
	} else if localHost == "" || !strings.EqualFold(host, localHost) {
		return "", false
	}
	name, _, _ := strings.Cut(rest, "@")
	if i := strings.LastIndexByte(name, ':'); i > strings.LastIndexByte(name, '/') {
		name = name[:i]
	}
	return "arn:aws:ecr:" + region + ":" + account + ":repository/" + name, true
}

// executionChecker is the runner's checker, nil when nothing is checked.
func (r *Runner) executionChecker() ExecutionRoleChecker {
	c, _ := r.cfg.Secrets.(ExecutionRoleChecker)
	return c
}

// authorizePull checks that the execution role may pull image from gantry's registry. The
// reason is Fargate's: a denied registry token fails the task's "registry auth", a denied
// manifest or layer fails the pull; "" when allowed.
func (r *Runner) authorizePull(ctx context.Context, image string, tokenChecked map[string]bool) string {
	chk := r.executionChecker()
	if chk == nil {
		return ""
	}
	a := r.cfg.Assignment
	repo, ok := ecrRepository(image, r.cfg.LocalRegistryHost, a.Task.Scope)
	if !ok {
		return ""
	}
	region := strings.Split(repo, ":")[3]
	sc := a.Task.Scope
	sc.Region = region
	role := executionRole(a)
	if !tokenChecked[region] {
		if err := chk.CheckExecutionRole(ctx, sc, role, a.Task.ID, actionECRToken, "*"); err != nil {
			return "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: " +
				"unable to retrieve ecr registry auth: service call has been retried 3 time(s): " + err.Error()
		}
		tokenChecked[region] = true
	}
	for _, action := range []string{actionECRImage, actionECRLayer} {
		if err := chk.CheckExecutionRole(ctx, sc, role, a.Task.ID, action, repo); err != nil {
			return fmt.Sprintf("CannotPullContainerError: pull image manifest has been retried 1 time(s): failed to resolve ref %s: %v", image, err)
		}
	}
	return ""
}

// authorizeLogs checks that the execution role may create cfg's stream (and group, with
// awslogs-create-group) and put events into it; the error is worded as the awslogs driver's.
func (r *Runner) authorizeLogs(ctx context.Context, cfg awslogs) error {
	chk := r.executionChecker()
	if chk == nil {
		return nil
	}
	a := r.cfg.Assignment
	sc := cfg.dst.Scope
	groupARN := "arn:aws:logs:" + sc.Region + ":" + sc.Account + ":log-group:" + cfg.dst.Group + ":log-stream:"
	type check struct{ action, resource, what string }
	checks := []check{{actionLogsStream, groupARN + cfg.dst.Stream, "create stream has been retried 1 times: failed to create Cloudwatch log stream"},
		{actionLogsPutEvent, groupARN + cfg.dst.Stream, "failed to put log events"}}
	if cfg.createGroup {
		checks = append([]check{{actionLogsGroup, groupARN, "failed to create Cloudwatch log group"}}, checks...)
	}
	for _, c := range checks {
		if err := chk.CheckExecutionRole(ctx, sc, executionRole(a), a.Task.ID, c.action, c.resource); err != nil {
			return fmt.Errorf("%s: %w", c.what, err)
		}
	}
	return nil
}
