package taskrunner

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/gantry-dev/gantry/internal/logx"
	"github.com/gantry-dev/gantry/internal/model"
)

// SecretResolver reads the value a container definition's secrets[].valueFrom (or
// logConfiguration.secretOptions[].valueFrom) names: a Secrets Manager ARN, with the optional
// ":json-key:version-stage:version-id" suffixes, or an SSM parameter name or ARN. It reads as the
// task's execution role (executionRoleARN, "" when the task has none) and fails when that role
// may not. Values never leave memory: the runner puts them in the containers' environment only.
type SecretResolver interface {
	ResolveSecret(ctx context.Context, scope model.Scope, executionRoleARN, valueFrom string) (string, error)
}

// errNoSecretResolver fails tasks with secrets on an agent that was given no way to read them.
var errNoSecretResolver = errors.New("this agent has no access to Secrets Manager or SSM Parameter Store")

// containerSecrets are one container's resolved values, by variable (or log option) name.
type containerSecrets struct {
	env     map[string]string
	logOpts map[string]string
}

// resolveSecrets reads every container's secrets and secretOptions, as the execution role. The
// first failure stops the task with Fargate's reason, naming what could not be read.
func (r *Runner) resolveSecrets(ctx context.Context) (map[string]containerSecrets, error) {
	a := r.cfg.Assignment
	role := executionRole(a)
	out := map[string]containerSecrets{}
	cache := map[string]string{} // one read per valueFrom, as the ECS agent batches them
	get := func(valueFrom string) (string, error) {
		if v, ok := cache[valueFrom]; ok {
			return v, nil
		}
		if r.cfg.Secrets == nil {
			return "", errNoSecretResolver
		}
		v, err := r.cfg.Secrets.ResolveSecret(ctx, a.Task.Scope, role, valueFrom)
		if err != nil {
			return "", err
		}
		cache[valueFrom] = v
		return v, nil
	}
	for _, c := range r.containers {
		cs := containerSecrets{}
		for _, s := range c.def.Secrets {
			v, err := get(s.ValueFrom)
			if err != nil {
				return nil, secretError(s.ValueFrom, err)
			}
			if cs.env == nil {
				cs.env = map[string]string{}
			}
			cs.env[s.Name] = v
		}
		if lc := c.def.LogConfiguration; lc != nil {
			for _, s := range lc.SecretOptions {
				v, err := get(s.ValueFrom)
				if err != nil {
					return nil, secretError(s.ValueFrom, err)
				}
				if cs.logOpts == nil {
					cs.logOpts = map[string]string{}
				}
				cs.logOpts[s.Name] = v
			}
		}
		if cs.env != nil || cs.logOpts != nil {
			out[c.def.Name] = cs
		}
	}
	return out, nil
}

// executionRole is the role the platform acts as for the task: the run's override, else the
// task definition's.
func executionRole(a model.Assignment) string {
	return firstNonEmpty(a.Task.Overrides.ExecutionRoleArn, a.Definition.ExecutionRoleArn)
}

// taskRole is the role the task's own AWS calls run as: the run's override, else the task
// definition's; "" when it has none.
func taskRole(a model.Assignment) string {
	return firstNonEmpty(a.Task.Overrides.TaskRoleArn, a.Definition.TaskRoleArn)
}

// secretError words a failed read as Fargate does in stoppedReason, e.g.
//
//	ResourceInitializationError: unable to pull secrets or registry auth: execution resource
//	retrieval failed: unable to retrieve secret from asm: service call has been retried 1 time(s):
//	failed to fetch secret arn:aws:secretsmanager:...:secret:db-AbCdEf from secrets manager:
//	ResourceNotFoundException: Secrets Manager can't find the specified secret.
//
// and for Parameter Store "unable to retrieve secrets from ssm: service call has been retried 1
// time(s): ...". The cause never carries a value: resolvers return errors about names only.
func secretError(valueFrom string, err error) error {
	const prefix = "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: "
	if isSecretsManagerARN(valueFrom) {
		return fmt.Errorf("%sunable to retrieve secret from asm: service call has been retried 1 time(s): failed to fetch secret %s from secrets manager: %w",
			prefix, secretIDOf(valueFrom), err)
	}
	return fmt.Errorf("%sunable to retrieve secrets from ssm: service call has been retried 1 time(s): failed to fetch parameter %s from ssm: %w",
		prefix, valueFrom, err)
}

// isSecretsManagerARN says whether valueFrom names a Secrets Manager secret; anything else is
// an SSM parameter (a name, or an ssm ARN).
func isSecretsManagerARN(valueFrom string) bool {
	parts := strings.SplitN(valueFrom, ":", 4)
	return len(parts) == 4 && parts[0] == "arn" && parts[2] == "secretsmanager"
}

// secretIDOf cuts the ":json-key:version-stage:version-id" suffixes off a Secrets Manager
// valueFrom: the secret's ARN is its first seven colon-separated fields.
func secretIDOf(valueFrom string) string {
	parts := strings.Split(valueFrom, ":")
	if len(parts) <= 7 {
		return valueFrom
	}
	return strings.Join(parts[:7], ":")
}

// logDef is c's definition with its resolved secretOptions merged into the log options; only
// the log driver sees it (the metadata documents show the definition's own options).
func (c *container) logDef() model.ContainerDefinition {
	d := c.def
	if d.LogConfiguration == nil || len(c.logSecrets) == 0 {
		return d
	}
	lc := *d.LogConfiguration
	lc.Options = make(map[string]string, len(lc.Options)+len(c.logSecrets))
	for k, v := range d.LogConfiguration.Options {
		lc.Options[k] = v
	}
	for k, v := range c.logSecrets {
		lc.Options[k] = v
	}
	d.LogConfiguration = &lc
	return d
}

// readLogSecretsAgain resolves the log drivers' secretOptions of an adopted task, which lived in
// the last agent's memory only.
func (r *Runner) readLogSecretsAgain(ctx context.Context) {
	for _, c := range r.containers {
		lc := c.def.LogConfiguration
		if lc == nil || len(lc.SecretOptions) == 0 || r.cfg.Secrets == nil {
			continue
		}
		c.logSecrets = map[string]string{}
		for _, s := range lc.SecretOptions {
			v, err := r.cfg.Secrets.ResolveSecret(ctx, r.cfg.Assignment.Task.Scope, executionRole(r.cfg.Assignment), s.ValueFrom)
			if err != nil {
				r.log.Warn("read a log secret option again", "container", c.def.Name, "option", s.Name, logx.KeyError, err)
				continue
			}
			c.logSecrets[s.Name] = v
		}
	}
}
