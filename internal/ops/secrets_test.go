package ops_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/logx"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/ops"
	"github.com/gantry-dev/gantry/internal/sealer"
	"github.com/gantry-dev/gantry/internal/store"
	"github.com/gantry-dev/gantry/internal/testutil"
)

var vaultScope = model.Scope{Account: model.DefaultAccount, Region: "us-east-1"}

// vault is the three services over one etcd, with the raw client to inspect what is stored.
type vault struct {
	secrets *ops.Secrets
	ssm     *ops.SSM
	acm     *ops.ACM
	cli     *clientv3.Client
	prefix  string
	now     *time.Time
}

func newVault(t testing.TB) *vault {
	t.Helper()
	cli, prefix := testutil.Etcd(t)
	seal, err := sealer.Open(t.TempDir() + "/keys/master.key")
	if err != nil {
		t.Fatal(err)
	}
	st := store.New(cli, prefix)
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	v := &vault{secrets: ops.NewSecrets(st, seal, logx.Discard()), ssm: ops.NewSSM(st, seal, logx.Discard()),
		acm: ops.NewACM(st, seal, logx.Discard()), cli: cli, prefix: prefix, now: &now}
	clock := func() time.Time { return *v.now }
	v.secrets.SetClock(clock)
	v.ssm.SetClock(clock)
	v.acm.SetClock(clock)
	return v
}

// requireNotStored fails when any stored key or value under the store's prefix contains one of
// the plaintexts, as is or base64 encoded (as JSON stores bytes).
func (v *vault) requireNotStored(t *testing.T, plaintexts ...string) {
	t.Helper()
	resp, err := v.cli.Get(t.Context(), v.prefix, clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Kvs) == 0 {
		t.Fatal("nothing stored under the prefix")
	}
	for _, kv := range resp.Kvs {
		for _, p := range plaintexts {
			b64 := base64.StdEncoding.EncodeToString([]byte(p))
			if bytes.Contains(kv.Value, []byte(p)) || bytes.Contains(kv.Key, []byte(p)) || bytes.Contains(kv.Value, []byte(b64)) {
				t.Fatalf("key %s holds the plaintext %q", kv.Key, p)
			}
		}
	}
}

func str(s string) *string { return &s }

func TestSecretLifecycleAndStages(t *testing.T) {
	v := newVault(t)
	ctx := t.Context()
	tok1 := strings.Repeat("a", 32)
	out, err := v.secrets.CreateSecret(ctx, vaultScope, ops.CreateSecretInput{Name: "db/password", Token: tok1,
		Value: &ops.SecretValue{String: str("hunter2-first")}, Description: str("the db"), Tags: []model.Tag{{Key: "team", Value: "a"}}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.ARN, "arn:aws:secretsmanager:us-east-1:000000000000:secret:db/password-") || len(out.ARN) != len("arn:aws:secretsmanager:us-east-1:000000000000:secret:db/password-")+6 {
		t.Fatalf("ARN = %s", out.ARN)
	}
	if out.VersionID != tok1 {
		t.Fatalf("VersionId = %s, want the token", out.VersionID)
	}
	// The same token and value again is a retry; another value with that token is refused.
	if again, err := v.secrets.CreateSecret(ctx, vaultScope, ops.CreateSecretInput{Name: "db/password", Token: tok1,
		Value: &ops.SecretValue{String: str("hunter2-first")}}); err != nil || again.ARN != out.ARN {
		t.Fatalf("retried CreateSecret = %+v, %v", again, err)
	}
	_, err = v.secrets.CreateSecret(ctx, vaultScope, ops.CreateSecretInput{Name: "db/password", Token: tok1, Value: &ops.SecretValue{String: str("other")}})
	if apierr.KindOf(err) != apierr.AlreadyExists {
		t.Fatalf("same token, other value = %v, want AlreadyExists", err)
	}
	_, err = v.secrets.CreateSecret(ctx, vaultScope, ops.CreateSecretInput{Name: "db/password", Value: &ops.SecretValue{String: str("x")}})
	if apierr.KindOf(err) != apierr.AlreadyExists || !strings.Contains(apierr.Message(err), "already exists") {
		t.Fatalf("second CreateSecret = %v", err)
	}

	tok2 := strings.Repeat("b", 32)
	put, err := v.secrets.PutSecretValue(ctx, vaultScope, "db/password", tok2, &ops.SecretValue{String: str("hunter2-second")}, nil)
	if err != nil || !slices.Equal(put.Stages, []string{model.StageCurrent}) {
		t.Fatalf("PutSecretValue = %+v, %v", put, err)
	}
	tok3 := strings.Repeat("c", 32)
	if _, err := v.secrets.PutSecretValue(ctx, vaultScope, out.ARN, tok3, &ops.SecretValue{String: str("hunter2-third")}, nil); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ id, version, stage, want string }{
		{"db/password", "", "", "hunter2-third"},
		{out.ARN, "", model.StageCurrent, "hunter2-third"},
		{"arn:aws:secretsmanager:us-east-1:000000000000:secret:db/password", "", model.StagePrevious, "hunter2-second"},
		{"db/password", tok1, "", "hunter2-first"},
		{"db/password", tok2, model.StagePrevious, "hunter2-second"},
	} {
		got, err := v.secrets.GetSecretValue(ctx, vaultScope, tc.id, tc.version, tc.stage)
		if err != nil || got.Value.String == nil || *got.Value.String != tc.want {
			t.Fatalf("GetSecretValue(%s, %q, %q) = %+v, %v; want %s", tc.id, tc.version, tc.stage, got, err, tc.want)
		}
	}
	desc, err := v.secrets.DescribeSecret(ctx, vaultScope, "db/password")
	if err != nil {
		t.Fatal(err)
	}
	stages := map[string][]string{}
	for _, ver := range desc.Versions {
		if ver.Sealed != nil {
			t.Fatal("DescribeSecret returned a sealed value")
		}
		stages[ver.ID] = ver.Stages
	}
	if len(stages[tok1]) != 0 || !slices.Equal(stages[tok2], []string{model.StagePrevious}) || !slices.Equal(stages[tok3], []string{model.StageCurrent}) {
		t.Fatalf("stages = %v", stages)
	}
	v.requireNotStored(t, "hunter2", "hunter2-first", "hunter2-second", "hunter2-third")

	for _, tc := range []struct {
		name, id, version, stage string
		kind                     apierr.Kind
		msg                      string
	}{
		{"missing secret", "nope", "", "", apierr.NotFound, "Secrets Manager can't find the specified secret."},
		{"missing version", "db/password", "x", "", apierr.NotFound, "Secrets Manager can't find the specified secret value for VersionId: x"},
		{"missing stage", "db/password", "", model.StagePending, apierr.NotFound, "Secrets Manager can't find the specified secret value for staging label: AWSPENDING"},
		{"wrong ARN suffix", out.ARN[:len(out.ARN)-6] + "ZZZZZZ", "", "", apierr.NotFound, "Secrets Manager can't find the specified secret."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := v.secrets.GetSecretValue(ctx, vaultScope, tc.id, tc.version, tc.stage)
			if apierr.KindOf(err) != tc.kind || apierr.Message(err) != tc.msg {
				t.Fatalf("GetSecretValue = %v (%s), want %s %q", err, apierr.KindOf(err), tc.kind, tc.msg)
			}
		})
	}
}

func TestSecretDeleteRestore(t *testing.T) {
	v := newVault(t)
	ctx := t.Context()
	for _, n := range []string{"a", "b"} {
		if _, err := v.secrets.CreateSecret(ctx, vaultScope, ops.CreateSecretInput{Name: n, Value: &ops.SecretValue{String: str("v-" + n)}}); err != nil {
			t.Fatal(err)
		}
	}
	seven, six := 7, 6
	if _, _, err := v.secrets.DeleteSecret(ctx, vaultScope, "a", &seven, true); apierr.KindOf(err) != apierr.InvalidParameter {
		t.Fatalf("window and force = %v", err)
	}
	if _, _, err := v.secrets.DeleteSecret(ctx, vaultScope, "a", &six, false); apierr.KindOf(err) != apierr.InvalidParameter {
		t.Fatalf("window 6 = %v", err)
	}
	_, when, err := v.secrets.DeleteSecret(ctx, vaultScope, "a", &seven, false)
	if err != nil || !when.Equal(v.now.Add(7*24*time.Hour)) {
		t.Fatalf("DeleteSecret = %v, %v", when, err)
	}
	_, err = v.secrets.GetSecretValue(ctx, vaultScope, "a", "", "")
	if apierr.KindOf(err) != apierr.InvalidRequest || !strings.Contains(apierr.Message(err), "marked for deletion") {
		t.Fatalf("GetSecretValue of a scheduled secret = %v", err)
	}
	if _, err := v.secrets.PutSecretValue(ctx, vaultScope, "a", "", &ops.SecretValue{String: str("x")}, nil); apierr.KindOf(err) != apierr.InvalidRequest {
		t.Fatalf("PutSecretValue of a scheduled secret = %v", err)
	}
	list, _, err := v.secrets.ListSecrets(ctx, vaultScope, ops.SecretQuery{})
	if err != nil || len(list) != 1 || list[0].Name != "b" {
		t.Fatalf("ListSecrets = %v, %v", list, err)
	}
	list, _, _ = v.secrets.ListSecrets(ctx, vaultScope, ops.SecretQuery{IncludeDeleted: true})
	if len(list) != 2 {
		t.Fatalf("ListSecrets with planned deletions = %d secrets", len(list))
	}
	if _, err := v.secrets.RestoreSecret(ctx, vaultScope, "a"); err != nil {
		t.Fatal(err)
	}
	if got, err := v.secrets.GetSecretValue(ctx, vaultScope, "a", "", ""); err != nil || *got.Value.String != "v-a" {
		t.Fatalf("after restore = %+v, %v", got, err)
	}
	// Scheduled again, then the window passes: the secret is gone and its name free.
	if _, _, err := v.secrets.DeleteSecret(ctx, vaultScope, "a", nil, false); err != nil {
		t.Fatal(err)
	}
	*v.now = v.now.Add(31 * 24 * time.Hour)
	if _, err := v.secrets.DescribeSecret(ctx, vaultScope, "a"); apierr.KindOf(err) != apierr.NotFound {
		t.Fatalf("after the window = %v", err)
	}
	if _, err := v.secrets.CreateSecret(ctx, vaultScope, ops.CreateSecretInput{Name: "a"}); err != nil {
		t.Fatalf("name reuse after the window: %v", err)
	}
	if _, _, err := v.secrets.DeleteSecret(ctx, vaultScope, "b", nil, true); err != nil {
		t.Fatal(err)
	}
	if _, err := v.secrets.DescribeSecret(ctx, vaultScope, "b"); !errors.Is(err, apierr.NotFound) {
		t.Fatalf("after force delete = %v", err)
	}
}

func TestSecretValidation(t *testing.T) {
	v := newVault(t)
	ctx := t.Context()
	for _, tc := range []struct {
		name string
		in   ops.CreateSecretInput
		want string
	}{
		{"empty name", ops.CreateSecretInput{}, "You must provide a value for the Name parameter."},
		{"bad name", ops.CreateSecretInput{Name: "a b"}, "Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!"},
		{"both values", ops.CreateSecretInput{Name: "x", Value: &ops.SecretValue{String: str("a"), Binary: []byte("b")}}, "You can't specify both a binary secret value and a string secret value in the same secret."},
		{"too large", ops.CreateSecretInput{Name: "x", Value: &ops.SecretValue{String: str(strings.Repeat("x", 65537))}}, "The secret value is 65537 bytes; SecretString and SecretBinary can have at most 65536 bytes."},
		{"short token", ops.CreateSecretInput{Name: "x", Token: "abc"}, "ClientRequestToken must be between 32 and 64 characters; it has 3."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := v.secrets.CreateSecret(ctx, vaultScope, tc.in)
			if apierr.KindOf(err) != apierr.InvalidParameter || apierr.Message(err) != tc.want {
				t.Fatalf("CreateSecret = %v, want InvalidParameter %q", err, tc.want)
			}
		})
	}
}

func TestListSecretsFiltersAndPaging(t *testing.T) {
	v := newVault(t)
	ctx := t.Context()
	for i, n := range []string{"prod/db", "prod/api", "dev/db", "Prod/x"} {
		*v.now = v.now.Add(time.Second)
		_, err := v.secrets.CreateSecret(ctx, vaultScope, ops.CreateSecretInput{Name: n, Description: str([]string{"Database", "API", "database", "x"}[i]),
			Tags: []model.Tag{{Key: "env", Value: strings.ToLower(strings.Split(n, "/")[0])}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	names := func(q ops.SecretQuery) []string {
		t.Helper()
		list, _, err := v.secrets.ListSecrets(ctx, vaultScope, q)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, s := range list {
			out = append(out, s.Name)
		}
		return out
	}
	for _, tc := range []struct {
		name    string
		filters []ops.SecretFilter
		want    []string
	}{
		{"name prefix is case-sensitive", []ops.SecretFilter{{Key: "name", Values: []string{"prod/"}}}, []string{"prod/db", "prod/api"}},
		{"description ignores case", []ops.SecretFilter{{Key: "description", Values: []string{"data"}}}, []string{"prod/db", "dev/db"}},
		{"negation", []ops.SecretFilter{{Key: "tag-value", Values: []string{"!prod"}}}, []string{"dev/db"}},
		{"tag key", []ops.SecretFilter{{Key: "tag-key", Values: []string{"env"}}}, []string{"prod/db", "prod/api", "dev/db", "Prod/x"}},
		{"all", []ops.SecretFilter{{Key: "all", Values: []string{"api"}}}, []string{"prod/api"}},
		{"all words, any attribute", []ops.SecretFilter{{Key: "all", Values: []string{"DATA dev"}}}, []string{"dev/db"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := names(ops.SecretQuery{Filters: tc.filters}); !slices.Equal(got, tc.want) {
				t.Fatalf("names = %v, want %v", got, tc.want)
			}
		})
	}
	var all []string
	token := ""
	for range 10 {
		list, next, err := v.secrets.ListSecrets(ctx, vaultScope, ops.SecretQuery{MaxResults: 3, Token: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range list {
			all = append(all, s.Name)
		}
		if token = next; token == "" {
			break
		}
	}
	if !slices.Equal(all, []string{"prod/db", "prod/api", "dev/db", "Prod/x"}) {
		t.Fatalf("paged = %v", all)
	}
	if _, _, err := v.secrets.ListSecrets(ctx, vaultScope, ops.SecretQuery{Token: "garbage!"}); apierr.KindOf(err) != apierr.InvalidNextToken {
		t.Fatalf("bad token = %v", err)
	}
	if _, _, err := v.secrets.ListSecrets(ctx, vaultScope, ops.SecretQuery{Filters: []ops.SecretFilter{{Key: "color", Values: []string{"x"}}}}); apierr.KindOf(err) != apierr.InvalidParameter {
		t.Fatalf("bad filter key = %v", err)
	}
}

// TestSealedValuesNeedTheKey reads values stored under one master key with another: each read
// is a DecryptionFailure naming the record, never a value or a panic.
func TestSealedValuesNeedTheKey(t *testing.T) {
	v := newVault(t)
	ctx := t.Context()
	sec, err := v.secrets.CreateSecret(ctx, vaultScope, ops.CreateSecretInput{Name: "k", Value: &ops.SecretValue{String: str("under-key-one")}})
	if err != nil {
		t.Fatal(err)
	}
	put(t, v, ops.PutParameterInput{Name: "/k", Value: "under-key-one", Type: model.ParamSecureString})
	other, err := sealer.Open(t.TempDir() + "/other.key")
	if err != nil {
		t.Fatal(err)
	}
	st := store.New(v.cli, v.prefix)
	if _, err := ops.NewSecrets(st, other, logx.Discard()).GetSecretValue(ctx, vaultScope, "k", "", ""); apierr.KindOf(err) != apierr.DecryptionFailure || !strings.Contains(apierr.Message(err), sec.ARN) {
		t.Fatalf("GetSecretValue under another key = %v", err)
	}
	if _, err := ops.NewSSM(st, other, logx.Discard()).GetParameter(ctx, vaultScope, "/k", true); apierr.KindOf(err) != apierr.DecryptionFailure {
		t.Fatalf("GetParameter under another key = %v", err)
	}
}

func TestFirstVersionIsCurrent(t *testing.T) {
	v := newVault(t)
	ctx := t.Context()
	if _, err := v.secrets.CreateSecret(ctx, vaultScope, ops.CreateSecretInput{Name: "empty"}); err != nil {
		t.Fatal(err)
	}
	if _, err := v.secrets.GetSecretValue(ctx, vaultScope, "empty", "", ""); apierr.Message(err) != "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT" {
		t.Fatalf("GetSecretValue without versions = %v", err)
	}
	out, err := v.secrets.PutSecretValue(ctx, vaultScope, "empty", "", &ops.SecretValue{String: str("first")}, []string{model.StagePending})
	if err != nil || !slices.Equal(out.Stages, []string{model.StageCurrent, model.StagePending}) {
		t.Fatalf("first PutSecretValue = %+v, %v", out, err)
	}
	out, err = v.secrets.PutSecretValue(ctx, vaultScope, "empty", "", &ops.SecretValue{String: str("second")}, []string{model.StagePending})
	if err != nil || !slices.Equal(out.Stages, []string{model.StagePending}) {
		t.Fatalf("second PutSecretValue = %+v, %v", out, err)
	}
	if got, _ := v.secrets.GetSecretValue(ctx, vaultScope, "empty", "", ""); got.Value.String == nil || *got.Value.String != "first" {
		t.Fatalf("AWSCURRENT = %+v", got)
	}
}
