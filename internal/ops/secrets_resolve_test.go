package ops_test

import (
	"strings"
	"testing"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/ops"
)

func TestResolveValueFrom(t *testing.T) {
	v := newVault(t)
	ctx := t.Context()
	tok1, tok2 := strings.Repeat("1", 32), strings.Repeat("2", 32)
	db, err := v.secrets.CreateSecret(ctx, vaultScope, ops.CreateSecretInput{Name: "db", Token: tok1,
		Value: &ops.SecretValue{String: str(`{"username":"admin","password":"pw-old","port":5432}`)}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.secrets.PutSecretValue(ctx, vaultScope, "db", tok2, &ops.SecretValue{String: str(`{"username":"admin","password":"pw-new","port":5432}`)}, nil); err != nil {
		t.Fatal(err)
	}
	plain, err := v.secrets.CreateSecret(ctx, vaultScope, ops.CreateSecretInput{Name: "token", Value: &ops.SecretValue{String: str("tok-value")}})
	if err != nil {
		t.Fatal(err)
	}
	bin, _ := v.secrets.CreateSecret(ctx, vaultScope, ops.CreateSecretInput{Name: "bin", Value: &ops.SecretValue{Binary: []byte{1, 2}}})
	put(t, v, ops.PutParameterInput{Name: "/app/key", Value: "param-secure", Type: model.ParamSecureString})
	put(t, v, ops.PutParameterInput{Name: "/app/key", Value: "param-secure-2", Overwrite: true})
	put(t, v, ops.PutParameterInput{Name: "flat", Value: "flat-value", Type: model.ParamString})
	partial := strings.TrimSuffix(db.ARN, db.ARN[len(db.ARN)-7:])

	for _, tc := range []struct {
		name, ref, want string
	}{
		{"secret ARN", plain.ARN, "tok-value"},
		{"whole JSON secret", db.ARN, `{"username":"admin","password":"pw-new","port":5432}`},
		{"json key", db.ARN + ":password::", "pw-new"},
		{"json key without trailing colons", db.ARN + ":username", "admin"},
		{"json key of a number", db.ARN + ":port::", "5432"},
		{"json key and stage", db.ARN + ":password:AWSPREVIOUS:", "pw-old"},
		{"json key and version id", db.ARN + ":password::" + tok1, "pw-old"},
		{"stage only", db.ARN + "::AWSCURRENT:", `{"username":"admin","password":"pw-new","port":5432}`},
		{"partial ARN", partial + ":password::", "pw-new"},
		{"parameter name", "/app/key", "param-secure-2"},
		{"parameter version", "/app/key:1", "param-secure"},
		{"parameter ARN", "arn:aws:ssm:us-east-1:000000000000:parameter/app/key", "param-secure-2"},
		{"flat parameter ARN", "arn:aws:ssm:us-east-1:000000000000:parameter/flat", "flat-value"},
		{"flat parameter name", "flat", "flat-value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := v.secrets.ResolveValueFrom(ctx, vaultScope, tc.ref)
			if err != nil || got != tc.want {
				t.Fatalf("ResolveValueFrom(%s) = %q, %v; want %q", tc.ref, got, err, tc.want)
			}
		})
	}

	_, _, _ = v.secrets.DeleteSecret(ctx, vaultScope, "token", nil, false)
	for _, tc := range []struct {
		name, ref string
		kind      apierr.Kind
	}{
		{"missing secret", "arn:aws:secretsmanager:us-east-1:000000000000:secret:nope-AbCdEf", apierr.NotFound},
		{"missing json key", db.ARN + ":nokey::", apierr.NotFound},
		{"missing stage", db.ARN + "::AWSPENDING:", apierr.NotFound},
		{"missing version", db.ARN + ":::" + strings.Repeat("9", 32), apierr.NotFound},
		{"too many segments", db.ARN + ":a:b:c:d", apierr.InvalidParameter},
		{"scheduled for deletion", plain.ARN, apierr.InvalidRequest},
		{"binary secret", bin.ARN, apierr.InvalidRequest},
		{"json key of a non-JSON secret", bin.ARN + ":k::", apierr.InvalidRequest},
		{"missing parameter", "/app/nope", apierr.NotFound},
		{"missing parameter version", "/app/key:9", apierr.VersionNotFound},
		{"other service ARN", "arn:aws:s3:::bucket/key", apierr.InvalidParameter},
		{"ssm ARN that is not a parameter", "arn:aws:ssm:us-east-1:000000000000:document/x", apierr.InvalidParameter},
		{"empty", "", apierr.InvalidParameter},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := v.secrets.ResolveValueFrom(ctx, vaultScope, tc.ref)
			if apierr.KindOf(err) != tc.kind {
				t.Fatalf("ResolveValueFrom(%s) = %v (%s), want %s", tc.ref, err, apierr.KindOf(err), tc.kind)
			}
			if !strings.HasPrefix(apierr.Message(err), "secret "+tc.ref+": ") {
				t.Fatalf("message %q does not name the reference", apierr.Message(err))
			}
		})
	}
}
