package e2e

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/acm"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/smithy-go"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// vaultClients are the Go SDK v2's Secrets Manager, SSM and ACM clients pointed at s.
type vaultClients struct {
	sm  *secretsmanager.Client
	ssm *ssm.Client
	acm *acm.Client
}

func newVaultClients(t *testing.T, s *Server) vaultClients {
	t.Helper()
	cfg, err := config.LoadDefaultConfig(t.Context(), config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("test", "test", "")),
		config.WithSharedConfigFiles([]string{}), config.WithSharedCredentialsFiles([]string{}))
	if err != nil {
		t.Fatal(err)
	}
	return vaultClients{
		sm:  secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) { o.BaseEndpoint = aws.String(s.URL) }),
		ssm: ssm.NewFromConfig(cfg, func(o *ssm.Options) { o.BaseEndpoint = aws.String(s.URL) }),
		acm: acm.NewFromConfig(cfg, func(o *acm.Options) { o.BaseEndpoint = aws.String(s.URL) }),
	}
}

// apiCode is the AWS error code of an SDK error ("" when it has none).
func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := apiCode(err); got != code {
		t.Fatalf("%s: error %v (code %q), want %s", what, err, got, code)
	}
}

// TestSecretsManagerCLI drives every Secrets Manager operation through the aws CLI.
func TestSecretsManagerCLI(t *testing.T) {
	t.Parallel()
	s := startServer(t, "")
	cli := newCLI(t, s)
	tok := strings.Repeat("t", 32)
	var created struct{ ARN, Name, VersionId string }
	cli.json(&created, "secretsmanager", "create-secret", "--name", "app/db", "--secret-string", `{"user":"u","password":"pw-1"}`,
		"--description", "the database", "--tags", "Key=team,Value=web", "--client-request-token", tok)
	if created.Name != "app/db" || created.VersionId != tok || !strings.HasPrefix(created.ARN, "arn:aws:secretsmanager:us-east-1:000000000000:secret:app/db-") {
		t.Fatalf("create-secret = %+v", created)
	}
	// The same token and value is a retry; another value under that token is refused.
	cli.json(nil, "secretsmanager", "create-secret", "--name", "app/db", "--secret-string", `{"user":"u","password":"pw-1"}`, "--client-request-token", tok)
	cli.fail("ResourceExistsException", "secretsmanager", "create-secret", "--name", "app/db", "--secret-string", "other", "--client-request-token", tok)
	cli.fail("ResourceExistsException", "secretsmanager", "create-secret", "--name", "app/db", "--secret-string", "x")
	cli.fail("InvalidParameterException", "secretsmanager", "create-secret", "--name", "bad name", "--secret-string", "x")

	type value struct {
		ARN, Name, VersionId, SecretString, SecretBinary string
		VersionStages                                    []string
	}
	var got value
	cli.json(&got, "secretsmanager", "get-secret-value", "--secret-id", "app/db")
	if got.SecretString != `{"user":"u","password":"pw-1"}` || !slices.Equal(got.VersionStages, []string{"AWSCURRENT"}) {
		t.Fatalf("get-secret-value = %+v", got)
	}
	var put1, put2 value
	cli.json(&put1, "secretsmanager", "put-secret-value", "--secret-id", created.ARN, "--secret-string", "pw-2")
	cli.json(&put2, "secretsmanager", "put-secret-value", "--secret-id", "app/db", "--secret-string", "pw-3")
	if !slices.Equal(put2.VersionStages, []string{"AWSCURRENT"}) || put1.VersionId == put2.VersionId {
		t.Fatalf("put-secret-value = %+v then %+v", put1, put2)
	}
	cli.json(&got, "secretsmanager", "get-secret-value", "--secret-id", "app/db", "--version-stage", "AWSPREVIOUS")
	if got.SecretString != "pw-2" || got.VersionId != put1.VersionId {
		t.Fatalf("AWSPREVIOUS = %+v", got)
	}
	cli.json(&got, "secretsmanager", "get-secret-value", "--secret-id", "app/db", "--version-id", tok)
	if got.SecretString != `{"user":"u","password":"pw-1"}` {
		t.Fatalf("by version id = %+v", got)
	}
	cli.fail("ResourceNotFoundException", "secretsmanager", "get-secret-value", "--secret-id", "app/db", "--version-stage", "AWSPENDING")
	cli.fail("ResourceNotFoundException", "secretsmanager", "get-secret-value", "--secret-id", "nope")

	cli.json(nil, "secretsmanager", "update-secret", "--secret-id", "app/db", "--description", "new words")
	cli.json(nil, "secretsmanager", "tag-resource", "--secret-id", "app/db", "--tags", "Key=env,Value=prod")
	cli.json(nil, "secretsmanager", "untag-resource", "--secret-id", "app/db", "--tag-keys", "team")
	var desc struct {
		Name, Description  string
		Tags               []struct{ Key, Value string }
		VersionIdsToStages map[string][]string
		DeletedDate        *float64
		SecretString       *string
	}
	cli.json(&desc, "secretsmanager", "describe-secret", "--secret-id", created.ARN)
	if desc.Description != "new words" || len(desc.Tags) != 1 || desc.Tags[0].Key != "env" || desc.SecretString != nil ||
		!slices.Equal(desc.VersionIdsToStages[put1.VersionId], []string{"AWSPREVIOUS"}) ||
		!slices.Equal(desc.VersionIdsToStages[put2.VersionId], []string{"AWSCURRENT"}) || len(desc.VersionIdsToStages) != 2 {
		t.Fatalf("describe-secret = %+v", desc)
	}

	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "bin"), []byte{0, 1, 2, 255}, 0o600); err != nil {
		t.Fatal(err)
	}
	cli.json(nil, "secretsmanager", "create-secret", "--name", "app/bin", "--secret-binary", "fileb://"+filepath.Join(dir, "bin"))
	cli.json(&got, "secretsmanager", "get-secret-value", "--secret-id", "app/bin")
	if got.SecretBinary != base64.StdEncoding.EncodeToString([]byte{0, 1, 2, 255}) {
		t.Fatalf("binary secret = %+v", got)
	}
	var list struct {
		SecretList []struct {
			Name                   string
			SecretVersionsToStages map[string][]string
		}
	}
	cli.json(&list, "secretsmanager", "list-secrets", "--filters", "Key=name,Values=app/d")
	if len(list.SecretList) != 1 || list.SecretList[0].Name != "app/db" || len(list.SecretList[0].SecretVersionsToStages) != 2 {
		t.Fatalf("list-secrets = %+v", list)
	}
	cli.fail("InvalidParameterException", "secretsmanager", "list-secrets", "--filters", "Key=color,Values=x")

	cli.fail("InvalidParameterException", "secretsmanager", "delete-secret", "--secret-id", "app/db", "--recovery-window-in-days", "7", "--force-delete-without-recovery")
	cli.fail("InvalidParameterException", "secretsmanager", "delete-secret", "--secret-id", "app/db", "--recovery-window-in-days", "3")
	var del struct {
		Name         string
		DeletionDate float64
	}
	before := time.Now()
	cli.json(&del, "secretsmanager", "delete-secret", "--secret-id", "app/db", "--recovery-window-in-days", "7")
	if when := time.Unix(int64(del.DeletionDate), 0); when.Before(before.Add(7*24*time.Hour-time.Minute)) || when.After(before.Add(7*24*time.Hour+time.Minute)) {
		t.Fatalf("DeletionDate = %v", when)
	}
	stderr := cli.fail("InvalidRequestException", "secretsmanager", "get-secret-value", "--secret-id", "app/db")
	if !strings.Contains(stderr, "marked for deletion") {
		t.Fatalf("get-secret-value of a deleted secret: %s", stderr)
	}
	cli.fail("InvalidRequestException", "secretsmanager", "create-secret", "--name", "app/db", "--secret-string", "x")
	cli.json(&desc, "secretsmanager", "describe-secret", "--secret-id", "app/db")
	if desc.DeletedDate == nil {
		t.Fatalf("describe-secret of a deleted secret has no DeletedDate: %+v", desc)
	}
	cli.json(&list, "secretsmanager", "list-secrets")
	if len(list.SecretList) != 1 {
		t.Fatalf("list-secrets without planned deletions = %+v", list)
	}
	cli.json(&list, "secretsmanager", "list-secrets", "--include-planned-deletion")
	if len(list.SecretList) != 2 {
		t.Fatalf("list-secrets with planned deletions = %+v", list)
	}
	cli.json(nil, "secretsmanager", "restore-secret", "--secret-id", "app/db")
	cli.json(&got, "secretsmanager", "get-secret-value", "--secret-id", "app/db")
	if got.SecretString != "pw-3" {
		t.Fatalf("after restore = %+v", got)
	}
	cli.json(nil, "secretsmanager", "delete-secret", "--secret-id", "app/db", "--force-delete-without-recovery")
	cli.fail("ResourceNotFoundException", "secretsmanager", "describe-secret", "--secret-id", "app/db")
}

// TestSecretsManagerSDK drives the operations through the Go SDK v2, staging labels included.
func TestSecretsManagerSDK(t *testing.T) {
	t.Parallel()
	s := startServer(t, "")
	c := newVaultClients(t, s).sm
	ctx := t.Context()
	out, err := c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("sdk/one"), SecretString: aws.String("v1"),
		Tags: []smtypes.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
	if err != nil {
		t.Fatal(err)
	}
	v1 := aws.ToString(out.VersionId)
	p2, err := c.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: out.ARN, SecretString: aws.String("v2")})
	if err != nil {
		t.Fatal(err)
	}
	p3, err := c.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String("sdk/one"), SecretString: aws.String("v3"),
		VersionStages: []string{"AWSPENDING"}})
	if err != nil {
		t.Fatal(err)
	}
	d, err := c.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String("sdk/one")})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{v1: {"AWSPREVIOUS"}, aws.ToString(p2.VersionId): {"AWSCURRENT"}, aws.ToString(p3.VersionId): {"AWSPENDING"}}
	if len(d.VersionIdsToStages) != 3 {
		t.Fatalf("VersionIdsToStages = %v", d.VersionIdsToStages)
	}
	for id, stages := range want {
		if !slices.Equal(d.VersionIdsToStages[id], stages) {
			t.Fatalf("VersionIdsToStages = %v, want %v", d.VersionIdsToStages, want)
		}
	}
	for stage, val := range map[string]string{"AWSCURRENT": "v2", "AWSPREVIOUS": "v1", "AWSPENDING": "v3"} {
		g, err := c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: out.ARN, VersionStage: aws.String(stage)})
		if err != nil || aws.ToString(g.SecretString) != val || g.CreatedDate == nil {
			t.Fatalf("GetSecretValue(%s) = %+v, %v", stage, g, err)
		}
	}
	// A partial ARN (without the random suffix) names the secret too.
	partial := aws.ToString(out.ARN)[:len(aws.ToString(out.ARN))-7]
	if g, err := c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(partial)}); err != nil || aws.ToString(g.SecretString) != "v2" {
		t.Fatalf("partial ARN = %+v, %v", g, err)
	}
	if _, err := c.UpdateSecret(ctx, &secretsmanager.UpdateSecretInput{SecretId: out.ARN, SecretString: aws.String("v4")}); err != nil {
		t.Fatal(err)
	}
	if g, _ := c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: out.ARN}); aws.ToString(g.SecretString) != "v4" {
		t.Fatalf("after UpdateSecret = %q", aws.ToString(g.SecretString))
	}
	for i := range 5 {
		if _, err := c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("sdk/many-" + string(rune('a'+i)))}); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	pager := secretsmanager.NewListSecretsPaginator(c, &secretsmanager.ListSecretsInput{MaxResults: aws.Int32(2),
		Filters: []smtypes.Filter{{Key: smtypes.FilterNameStringTypeName, Values: []string{"sdk/many"}}}})
	for pager.HasMorePages() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page.SecretList {
			names = append(names, aws.ToString(e.Name))
		}
	}
	if len(names) != 5 {
		t.Fatalf("paged ListSecrets = %v", names)
	}
	_, err = c.ListSecrets(ctx, &secretsmanager.ListSecretsInput{NextToken: aws.String("bogus")})
	wantCode(t, "ListSecrets with a bad token", err, "InvalidNextTokenException")
	_, err = c.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: out.ARN, RecoveryWindowInDays: aws.Int64(31)})
	wantCode(t, "DeleteSecret window 31", err, "InvalidParameterException")
	del, err := c.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: out.ARN})
	if err != nil || del.DeletionDate == nil || del.DeletionDate.Sub(time.Now()) < 29*24*time.Hour {
		t.Fatalf("DeleteSecret default window = %+v, %v", del, err)
	}
	_, err = c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: out.ARN})
	wantCode(t, "GetSecretValue of a scheduled secret", err, "InvalidRequestException")
	if _, err := c.RestoreSecret(ctx, &secretsmanager.RestoreSecretInput{SecretId: out.ARN}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.TagResource(ctx, &secretsmanager.TagResourceInput{SecretId: out.ARN, Tags: []smtypes.Tag{{Key: aws.String("a"), Value: aws.String("b")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UntagResource(ctx, &secretsmanager.UntagResourceInput{SecretId: out.ARN, TagKeys: []string{"k"}}); err != nil {
		t.Fatal(err)
	}
	d, _ = c.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: out.ARN})
	if len(d.Tags) != 1 || aws.ToString(d.Tags[0].Key) != "a" {
		t.Fatalf("tags = %+v", d.Tags)
	}
	_, err = c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("arn:aws:secretsmanager:us-east-1:000000000000:secret:nope-AbCdEf")})
	wantCode(t, "GetSecretValue of a missing secret", err, "ResourceNotFoundException")
}

// TestSecretsEncryptedAtRest stores secrets, parameters and a certificate's key through a
// server on an external etcd at debug log level, then reads every raw etcd key and the server's
// log for the plaintexts; restarted on the same data dir, the server still decrypts them.
func TestSecretsEncryptedAtRest(t *testing.T) {
	t.Parallel()
	endpoint := startExternalEtcd(t)
	dataDir := newDataDir(t)
	args := []string{"--etcd-endpoints", endpoint, "--log-level", "debug"}
	s, err := Start(t.Context(), Options{Binary: gantryBin, DataDir: dataDir, Args: args})
	if err != nil {
		t.Fatal(err)
	}
	c := newVaultClients(t, s)
	ctx := t.Context()
	secretValue := "plain-SECRET-" + strings.Repeat("q", 12)
	binValue := []byte("plain-BINARY-" + strings.Repeat("b", 12))
	secureValue := "plain-SECURE-" + strings.Repeat("s", 12)
	stringValue := "plain-STRING-" + strings.Repeat("x", 12)
	certPEM, keyPEM, _ := vaultCert(t, "rest.example.test")
	keyBody := keyLine(t, keyPEM)

	sec, err := c.sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("rest/secret"), SecretString: aws.String(secretValue)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: sec.ARN, SecretString: aws.String(secretValue + "-2")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("rest/bin"), SecretBinary: binValue}); err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]ssmtypes.ParameterType{"/rest/secure": ssmtypes.ParameterTypeSecureString, "/rest/string": ssmtypes.ParameterTypeString} {
		val := secureValue
		if v == ssmtypes.ParameterTypeString {
			val = stringValue
		}
		if _, err := c.ssm.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(name), Value: aws.String(val), Type: v}); err != nil {
			t.Fatal(err)
		}
	}
	imp, err := c.acm.ImportCertificate(ctx, &acm.ImportCertificateInput{Certificate: certPEM, PrivateKey: keyPEM})
	if err != nil {
		t.Fatal(err)
	}
	// Reads too: their answers carry the values, which must not reach the log either.
	if _, err := c.sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: sec.ARN}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ssm.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/rest/secure"), WithDecryption: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}

	plaintexts := [][]byte{[]byte(secretValue), binValue, []byte(secureValue), []byte(stringValue), []byte(keyBody)}
	etcd, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoint}, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer etcd.Close()
	resp, err := etcd.Get(ctx, "", clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, kv := range resp.Kvs {
		if bytes.Contains(kv.Key, []byte("secretsmanager/")) || bytes.Contains(kv.Key, []byte("ssm/")) || bytes.Contains(kv.Key, []byte("acm/")) {
			seen++
		}
		for _, p := range plaintexts {
			b64 := []byte(base64.StdEncoding.EncodeToString(p))
			if bytes.Contains(kv.Value, p) || bytes.Contains(kv.Value, b64) || bytes.Contains(kv.Key, p) {
				t.Errorf("etcd key %s holds the plaintext %q", kv.Key, p)
			}
		}
	}
	if seen != 5 {
		t.Fatalf("found %d secret, parameter and certificate records in etcd (%d keys), want 5", seen, len(resp.Kvs))
	}
	for _, p := range plaintexts {
		if strings.Contains(s.Output(), string(p)) {
			t.Errorf("the server's debug log holds the plaintext %q", p)
		}
	}
	if !strings.Contains(s.Output(), "level=DEBUG") && !strings.Contains(s.Output(), `"level":"DEBUG"`) {
		t.Errorf("the server did not log at debug level; the log check proves nothing:\n%s", s.Output())
	}
	if code, err := s.Stop(30 * time.Second); err != nil || code != 0 {
		t.Fatalf("stop: %d, %v", code, err)
	}

	// Same data dir (the master key) and etcd: the values still open.
	s = startServer(t, dataDir, args...)
	c = newVaultClients(t, s)
	g, err := c.sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("rest/secret"), VersionStage: aws.String("AWSPREVIOUS")})
	if err != nil || aws.ToString(g.SecretString) != secretValue {
		t.Fatalf("after restart, AWSPREVIOUS = %+v, %v", g, err)
	}
	b, err := c.sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("rest/bin")})
	if err != nil || !bytes.Equal(b.SecretBinary, binValue) {
		t.Fatalf("after restart, binary = %+v, %v", b, err)
	}
	p, err := c.ssm.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/rest/secure"), WithDecryption: aws.Bool(true)})
	if err != nil || aws.ToString(p.Parameter.Value) != secureValue {
		t.Fatalf("after restart, SecureString = %+v, %v", p, err)
	}
	d, err := c.acm.DescribeCertificate(ctx, &acm.DescribeCertificateInput{CertificateArn: imp.CertificateArn})
	if err != nil || aws.ToString(d.Certificate.DomainName) != "rest.example.test" {
		t.Fatalf("after restart, certificate = %+v, %v", d, err)
	}
}

// keyLine is a line from the middle of a PEM key: what a stored key in clear would contain.
func keyLine(t *testing.T, keyPEM []byte) string {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(string(keyPEM)), "\n")
	if len(lines) < 3 {
		t.Fatalf("short key PEM: %s", keyPEM)
	}
	return lines[1]
}
