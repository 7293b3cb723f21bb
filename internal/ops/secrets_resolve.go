package ops

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/model"
)

// ResolveValueFrom returns the plaintext a task definition's secret names in valueFrom:
//
//   - a Secrets Manager secret ARN (full or partial), optionally followed by
//     :json-key:version-stage:version-id, each segment possibly empty
//     (arn:aws:secretsmanager:us-east-1:000000000000:secret:db-AbCdEf:password::);
//     json-key picks a top-level key of a JSON secret (a string as is, anything else as JSON);
//   - an SSM parameter ARN (arn:aws:ssm:<region>:<acct>:parameter/name) or name, optionally
//     with :version or :label; a SecureString is decrypted.
//
// Errors keep their apierr kind (NotFound, InvalidRequest, InvalidParameter ...) and their
// message names the reference: "secret <valueFrom>: <why>".
func (s *Secrets) ResolveValueFrom(ctx context.Context, sc model.Scope, valueFrom string) (string, error) {
	v, err := s.resolve(ctx, sc, valueFrom)
	if err != nil {
		return "", &apierr.Error{Kind: apierr.KindOf(err), Message: fmt.Sprintf("secret %s: %s", valueFrom, apierr.Message(err))}
	}
	return v, nil
}

func (s *Secrets) resolve(ctx context.Context, sc model.Scope, ref string) (string, error) {
	switch {
	case ref == "":
		return "", apierr.New(apierr.InvalidParameter, "valueFrom is empty")
	case strings.HasPrefix(ref, "arn:") && strings.Count(ref, ":") >= 2 && strings.Split(ref, ":")[2] == "secretsmanager":
		return s.resolveSecret(ctx, sc, ref)
	case strings.HasPrefix(ref, "arn:") && strings.Count(ref, ":") >= 2 && strings.Split(ref, ":")[2] == "ssm":
		if !strings.Contains(ref, ":parameter/") {
			return "", apierr.New(apierr.InvalidParameter, "an SSM ARN must name a parameter (arn:aws:ssm:<region>:<account>:parameter/<name>)")
		}
		return s.resolveParameter(ctx, sc, ref)
	case strings.HasPrefix(ref, "arn:"):
		return "", apierr.New(apierr.InvalidParameter, "valueFrom must be a Secrets Manager secret ARN or an SSM parameter name or ARN")
	}
	return s.resolveParameter(ctx, sc, ref)
}

// secretRef is a parsed Secrets Manager valueFrom.
type secretRef struct {
	ARN, JSONKey, Stage, VersionID string
}

func parseSecretRef(ref string) (secretRef, error) {
	parts := strings.Split(ref, ":")
	if len(parts) < 7 || parts[5] != "secret" || parts[6] == "" {
		return secretRef{}, apierr.New(apierr.InvalidParameter, "a secret ARN has the form arn:aws:secretsmanager:<region>:<account>:secret:<name>[:json-key:version-stage:version-id]")
	}
	if len(parts) > 10 {
		return secretRef{}, apierr.Errorf(apierr.InvalidParameter, "a secret reference has at most 3 segments after the ARN (json-key:version-stage:version-id); it has %d", len(parts)-7)
	}
	r := secretRef{ARN: strings.Join(parts[:7], ":")}
	extra := append(parts[7:], "", "", "")
	r.JSONKey, r.Stage, r.VersionID = extra[0], extra[1], extra[2]
	return r, nil
}

func (s *Secrets) resolveSecret(ctx context.Context, sc model.Scope, ref string) (string, error) {
	r, err := parseSecretRef(ref)
	if err != nil {
		return "", err
	}
	out, err := s.GetSecretValue(ctx, sc, r.ARN, r.VersionID, r.Stage)
	if err != nil {
		return "", err
	}
	if out.Value.String == nil {
		return "", apierr.New(apierr.InvalidRequest, "the secret has a binary value (SecretBinary); only SecretString values can be injected")
	}
	if r.JSONKey == "" {
		return *out.Value.String, nil
	}
	return jsonKeyValue(*out.Value.String, r.JSONKey)
}

// jsonKeyValue picks a top-level key of a JSON object: a string as is, other values as JSON.
func jsonKeyValue(doc, key string) (string, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(doc), &obj); err != nil {
		return "", apierr.Errorf(apierr.InvalidRequest, "the secret value is not a JSON object, so json key %q cannot be read from it", key)
	}
	raw, ok := obj[key]
	if !ok {
		return "", apierr.Errorf(apierr.NotFound, "json key %q not found in the secret value", key)
	}
	var str string
	if err := json.Unmarshal(raw, &str); err == nil {
		return str, nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return string(raw), nil
	}
	return buf.String(), nil
}

func (s *Secrets) resolveParameter(ctx context.Context, sc model.Scope, ref string) (string, error) {
	if strings.HasPrefix(ref, "arn:") {
		parts := strings.SplitN(ref, ":", 6)
		if len(parts) == 6 && parts[3] != "" && parts[4] != "" {
			sc = model.Scope{Region: parts[3], Account: parts[4]}
		}
	}
	p, err := readParameter(ctx, s.params, s.seal, sc, ref, true)
	if err != nil {
		return "", err
	}
	return p.Value, nil
}
