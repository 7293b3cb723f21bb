// Package taskauth gives the agent in the server's process what a task is entitled to: its secrets, image pulls and awslogs streams, decided as its execution role, and its task role's credentials, over the Secrets Manager, SSM and IAM operations.
package taskauth

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/model"
)

// SecretSource reads the value a task definition's valueFrom names (ops.Secrets).
type SecretSource interface {
	ResolveValueFrom(ctx context.Context, scope model.Scope, valueFrom string) (string, error)
}

// IAM decides requests by policy and issues role credentials (ops.IAM).
type IAM interface {
	Allowed(ctx context.Context, principalARN, action, resource string, conditionContext map[string][]string) (bool, error)
	IssueRoleCredentials(ctx context.Context, scope model.Scope, roleARN, sessionName string, d time.Duration) (model.Credentials, error)
}

// Auth is the agent's taskrunner.SecretResolver and agent.TaskCredentials.
type Auth struct {
	secrets SecretSource
	iam     IAM
	enforce bool
}

// New returns an Auth. With enforce (gantry server --iam enforce) every secret read is decided
// by the execution role's policies, as on AWS; without it any task may read any secret.
func New(secrets SecretSource, iam IAM, enforce bool) *Auth {
	return &Auth{secrets: secrets, iam: iam, enforce: enforce}
}

// ResolveSecret reads valueFrom as executionRoleARN. Its errors name what failed and never
// carry a value: "<Code>: <message>", with the code the service would answer.
func (a *Auth) ResolveSecret(ctx context.Context, scope model.Scope, executionRoleARN, valueFrom string) (string, error) {
	sm := isSecretsManager(valueFrom)
	if a.enforce {
		action, resource := "ssm:GetParameters", parameterARN(scope, valueFrom)
		if sm {
			action, resource = "secretsmanager:GetSecretValue", secretARN(valueFrom)
		}
		if executionRoleARN == "" {
			return "", fmt.Errorf("AccessDeniedException: the task definition has no executionRoleArn, so nothing may read %s", resource)
		}
		if a.iam == nil {
			return "", fmt.Errorf("AccessDeniedException: no IAM to decide whether %s may perform %s on %s", executionRoleARN, action, resource)
		}
		ok, err := a.iam.Allowed(ctx, executionRoleARN, action, resource, nil)
		if err != nil {
			return "", fmt.Errorf("AccessDeniedException: %s: %s", executionRoleARN, apierr.Message(err))
		}
		if !ok {
			return "", fmt.Errorf("AccessDeniedException: User: %s is not authorized to perform: %s on resource: %s because no identity-based policy allows the %s action",
				executionRoleARN, action, resource, action)
		}
	}
	if a.secrets == nil {
		return "", fmt.Errorf("InternalFailure: this server has no Secrets Manager or Parameter Store")
	}
	v, err := a.secrets.ResolveValueFrom(ctx, scope, valueFrom)
	if err != nil {
		return "", fmt.Errorf("%s: %s", errorCode(err, sm), apierr.Message(err))
	}
	return v, nil
}

// IssueRoleCredentials issues the task role's credentials.
func (a *Auth) IssueRoleCredentials(ctx context.Context, scope model.Scope, roleARN, sessionName string, d time.Duration) (model.Credentials, error) {
	if a.iam == nil {
		return model.Credentials{}, apierr.New(apierr.Unsupported, "this server has no IAM")
	}
	return a.iam.IssueRoleCredentials(ctx, scope, roleARN, sessionName, d)
}

// errorCode is the code Secrets Manager or SSM answers for err's kind.
func errorCode(err error, sm bool) string {
	switch k := apierr.KindOf(err); {
	case k == apierr.NotFound && sm:
		return "ResourceNotFoundException"
	case k == apierr.NotFound || k == apierr.VersionNotFound && !sm:
		return "ParameterNotFound"
	case k == apierr.VersionNotFound:
		return "ResourceNotFoundException"
	case k == apierr.AccessDenied:
		return "AccessDeniedException"
	case k == apierr.InvalidRequest:
		return "InvalidRequestException"
	case k == apierr.DecryptionFailure:
		return "DecryptionFailure"
	case k == apierr.InvalidParameter && sm:
		return "InvalidParameterException"
	case k == apierr.InvalidParameter:
		return "ValidationException"
	}
	return "InternalServiceError"
}

func isSecretsManager(valueFrom string) bool {
	p := strings.SplitN(valueFrom, ":", 4)
	return len(p) == 4 && p[0] == "arn" && p[2] == "secretsmanager"
}

// secretARN is the secret's ARN without the ":json-key:version-stage:version-id" suffixes.
func secretARN(valueFrom string) string {
	p := strings.Split(valueFrom, ":")
	if len(p) <= 7 {
		return valueFrom
	}
	return strings.Join(p[:7], ":")
}

// parameterARN is the ARN of an SSM parameter named by name or ARN.
func parameterARN(scope model.Scope, valueFrom string) string {
	if strings.HasPrefix(valueFrom, "arn:") {
		return valueFrom
	}
	return "arn:aws:ssm:" + scope.Region + ":" + scope.Account + ":parameter/" + strings.TrimPrefix(valueFrom, "/")
}

// CheckExecutionRole decides whether the task's execution role may perform action on resource
// for the platform (pull the task's images from ECR, create its awslogs streams), as on Fargate
// where the agent acts as a session of that role named after the task. Without enforce it
// allows everything. Its errors read as the service's: "AccessDeniedException: User:
// arn:aws:sts::<acct>:assumed-role/<role>/<task id> is not authorized to perform: ...".
func (a *Auth) CheckExecutionRole(ctx context.Context, scope model.Scope, executionRoleARN, taskID, action, resource string) error {
	if !a.enforce {
		return nil
	}
	if executionRoleARN == "" {
		return fmt.Errorf("AccessDeniedException: the task definition has no executionRoleArn, so nothing may perform %s on resource: %s", action, resource)
	}
	if a.iam == nil {
		return fmt.Errorf("AccessDeniedException: no IAM to decide whether %s may perform %s on %s", executionRoleARN, action, resource)
	}
	ok, err := a.iam.Allowed(ctx, executionRoleARN, action, resource, nil)
	if err != nil {
		return fmt.Errorf("AccessDeniedException: %s: %s", executionRoleARN, apierr.Message(err))
	}
	if !ok {
		return fmt.Errorf("AccessDeniedException: User: %s is not authorized to perform: %s on resource: %s because no identity-based policy allows the %s action",
			sessionARN(scope, executionRoleARN, taskID), action, resource, action)
	}
	return nil
}

// sessionARN is the assumed-role ARN the agent acts as: the role's name (without its path)
// and the task's id as the session name.
func sessionARN(scope model.Scope, roleARN, taskID string) string {
	account := scope.Account
	if p := strings.Split(roleARN, ":"); len(p) == 6 && p[4] != "" {
		account = p[4]
	}
	return "arn:aws:sts::" + account + ":assumed-role/" + roleARN[strings.LastIndexByte(roleARN, '/')+1:] + "/" + taskID
}
