package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// cliAs is the aws CLI of c signing with other credentials.
func cliAs(c *awsCLI, key, secret, token string) *awsCLI {
	env := []string{"AWS_ACCESS_KEY_ID=" + key, "AWS_SECRET_ACCESS_KEY=" + secret}
	if token != "" {
		env = append(env, "AWS_SESSION_TOKEN="+token)
	}
	for _, kv := range c.env {
		if !strings.HasPrefix(kv, "AWS_ACCESS_KEY_ID=") && !strings.HasPrefix(kv, "AWS_SECRET_ACCESS_KEY=") {
			env = append(env, kv)
		}
	}
	return &awsCLI{t: c.t, bin: c.bin, env: env}
}

// TestIAMEnforce runs a server with --iam enforce on an external etcd: the root's well-known
// test/test key keeps working; a user's key gets exactly what its policy allows; bad signatures
// and unknown keys get the protocol's signature errors; AssumeRole hands out credentials that
// GetCallerIdentity reports as the role's session and whose role policies decide; expired
// credentials are refused; secrets are sealed in etcd.
func TestIAMEnforce(t *testing.T) {
	t.Parallel()
	endpoint := startExternalEtcd(t)
	s := startServer(t, "", "--iam", "enforce", "--etcd-endpoints", endpoint)
	ctx := t.Context()
	root := newIDClients(t, s, "test", "test", "")
	cli := newCLI(t, s)

	// The root works as before, through the CLI and the SDK.
	cli.json(nil, "ecs", "list-clusters")
	cli.json(nil, "iam", "create-user", "--user-name", "alice")
	if _, err := root.ecs.ListClusters(ctx, &ecs.ListClustersInput{}); err != nil {
		t.Fatalf("root ListClusters: %v", err)
	}

	// alice may list clusters and assume roles, nothing else.
	cli.json(nil, "iam", "put-user-policy", "--user-name", "alice", "--policy-name", "p", "--policy-document",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ecs:ListClusters","sts:AssumeRole"],"Resource":"*"}]}`)
	var key struct {
		AccessKey struct{ AccessKeyId, SecretAccessKey string }
	}
	cli.json(&key, "iam", "create-access-key", "--user-name", "alice")
	ak, sk := key.AccessKey.AccessKeyId, key.AccessKey.SecretAccessKey
	alice := newIDClients(t, s, ak, sk, "")
	if _, err := alice.ecs.ListClusters(ctx, &ecs.ListClustersInput{}); err != nil {
		t.Fatalf("alice ListClusters: %v", err)
	}
	_, err := alice.ecs.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("nope")})
	if iamErrCode(err) != "AccessDeniedException" || !strings.Contains(err.Error(),
		"User: arn:aws:iam::000000000000:user/alice is not authorized to perform: ecs:CreateCluster on resource: arn:aws:ecs:us-east-1:000000000000:cluster/nope") {
		t.Fatalf("alice CreateCluster: %v", err)
	}
	_, err = alice.iam.ListRoles(ctx, &iam.ListRolesInput{})
	if iamErrCode(err) != "AccessDenied" {
		t.Fatalf("alice ListRoles: %v", err)
	}
	aliceCLI := cliAs(cli, ak, sk, "")
	aliceCLI.json(nil, "ecs", "list-clusters")
	aliceCLI.fail("AccessDeniedException", "ecs", "create-cluster", "--cluster-name", "nope")
	var id struct{ Arn string }
	aliceCLI.json(&id, "sts", "get-caller-identity")
	if id.Arn != "arn:aws:iam::000000000000:user/alice" {
		t.Fatalf("alice identity %+v", id)
	}

	// Wrong secrets and unknown keys.
	cliAs(cli, ak, "wrong-secret", "").fail("InvalidSignatureException", "ecs", "list-clusters")
	cliAs(cli, ak, "wrong-secret", "").fail("SignatureDoesNotMatch", "iam", "list-roles")
	wrong := newIDClients(t, s, ak, "wrong-secret", "")
	if _, err := wrong.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); iamErrCode(err) != "SignatureDoesNotMatch" {
		t.Fatalf("wrong secret sts: %v", err)
	}
	unknown := newIDClients(t, s, "AKIAUNKNOWNUNKNOWN00", "x", "")
	if _, err := unknown.ecs.ListClusters(ctx, &ecs.ListClustersInput{}); iamErrCode(err) != "UnrecognizedClientException" {
		t.Fatalf("unknown key ecs: %v", err)
	}
	if _, err := unknown.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); iamErrCode(err) != "InvalidClientTokenId" {
		t.Fatalf("unknown key sts: %v", err)
	}

	// Unsigned requests: refused on the AWS routes, not on health and the registry.
	resp, err := http.Post(s.URL+"/", "application/x-www-form-urlencoded", strings.NewReader("Action=ListRoles&Version=2010-05-08"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !bytes.Contains(body, []byte("<Code>MissingAuthenticationToken</Code>")) {
		t.Fatalf("unsigned: %d %s", resp.StatusCode, body)
	}
	for _, path := range []string{"/_gantry/health", "/v2/"} {
		resp, err := http.Get(s.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if bytes.Contains(body, []byte("MissingAuthenticationToken")) || resp.StatusCode >= 500 {
			t.Fatalf("%s: %d %s", path, resp.StatusCode, body)
		}
	}

	// A presigned GetCallerIdentity (as EKS tokens are made) verifies.
	presigned, err := sts.NewPresignClient(alice.sts).PresignGetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(ctx, presigned.Method, presigned.URL, nil)
	for k, v := range presigned.SignedHeader {
		if k != "Host" {
			req.Header[k] = v
		}
	}
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Contains(body, []byte("arn:aws:iam::000000000000:user/alice")) {
		t.Fatalf("presigned GetCallerIdentity: %d %s", resp.StatusCode, body)
	}

	// AssumeRole: the trust policy decides who may, the role's policies what the session may.
	cli.json(nil, "iam", "create-role", "--role-name", "deployer", "--assume-role-policy-document", accountTrustDoc)
	cli.json(nil, "iam", "put-role-policy", "--role-name", "deployer", "--policy-name", "create", "--policy-document",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecs:CreateCluster","Resource":"arn:aws:ecs:*:*:cluster/deploy-*"}]}`)
	cli.json(nil, "iam", "create-role", "--role-name", "tasks-only", "--assume-role-policy-document", ecsTasksTrust)
	ar, err := alice.sts.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::000000000000:role/deployer"), RoleSessionName: aws.String("ci")})
	if err != nil {
		t.Fatalf("alice AssumeRole deployer: %v", err)
	}
	_, err = alice.sts.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::000000000000:role/tasks-only"), RoleSessionName: aws.String("ci")})
	if iamErrCode(err) != "AccessDenied" {
		t.Fatalf("alice AssumeRole tasks-only: %v", err)
	}
	c := ar.Credentials
	sess := newIDClients(t, s, aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken))
	who, err := sess.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(who.Arn) != "arn:aws:sts::000000000000:assumed-role/deployer/ci" {
		t.Fatalf("session identity: %+v %v", who, err)
	}
	if _, err := sess.ecs.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("deploy-1")}); err != nil {
		t.Fatalf("session CreateCluster deploy-1: %v", err)
	}
	if _, err := sess.ecs.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("other")}); iamErrCode(err) != "AccessDeniedException" ||
		!strings.Contains(err.Error(), "User: arn:aws:sts::000000000000:assumed-role/deployer/ci is not authorized to perform: ecs:CreateCluster") {
		t.Fatalf("session CreateCluster other: %v", err)
	}
	if _, err := sess.ecs.ListClusters(ctx, &ecs.ListClustersInput{}); iamErrCode(err) != "AccessDeniedException" {
		t.Fatalf("session ListClusters: %v", err)
	}
	sessCLI := cliAs(cli, aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken))
	sessCLI.json(&id, "sts", "get-caller-identity")
	if id.Arn != "arn:aws:sts::000000000000:assumed-role/deployer/ci" {
		t.Fatalf("session CLI identity %+v", id)
	}
	noToken := newIDClients(t, s, aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), "")
	if _, err := noToken.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); iamErrCode(err) != "InvalidClientTokenId" {
		t.Fatalf("session without its token: %v", err)
	}

	// Secrets and session tokens are sealed in etcd: no raw value holds them.
	etcd, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoint}, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer etcd.Close()
	all, err := etcd.Get(ctx, "", clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	var sessKey string
	for _, kv := range all.Kvs {
		for _, secret := range []string{sk, aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken)} {
			if bytes.Contains(kv.Value, []byte(secret)) {
				t.Fatalf("etcd key %s holds a secret in the clear", kv.Key)
			}
		}
		if strings.HasSuffix(string(kv.Key), "/iam/keys/"+aws.ToString(c.AccessKeyId)) {
			sessKey = string(kv.Key)
		}
	}
	if sessKey == "" {
		t.Fatal("the session's key is not in etcd")
	}

	// Expired credentials: move the session's expiration into the past, as time would.
	got, err := etcd.Get(ctx, sessKey)
	if err != nil || len(got.Kvs) != 1 {
		t.Fatalf("read %s: %v", sessKey, err)
	}
	var env map[string]any
	if err := json.Unmarshal(got.Kvs[0].Value, &env); err != nil {
		t.Fatal(err)
	}
	env["body"].(map[string]any)["expiration"] = time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
	raw, _ := json.Marshal(env)
	if _, err := etcd.Put(ctx, sessKey, string(raw)); err != nil {
		t.Fatal(err)
	}
	if _, err := sess.ecs.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("deploy-2")}); iamErrCode(err) != "ExpiredTokenException" {
		t.Fatalf("expired session ecs: %v", err)
	}
	sessCLI.fail("InvalidClientTokenId", "sts", "get-caller-identity") // refused once, then collected
	if gone, err := etcd.Get(ctx, sessKey); err != nil || len(gone.Kvs) != 0 {
		t.Fatalf("expired key still stored: %v %v", gone, err)
	}
}
