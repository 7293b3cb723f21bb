package sts_test

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/gantry-dev/gantry/internal/api"
	apists "github.com/gantry-dev/gantry/internal/api/sts"
	"github.com/gantry-dev/gantry/internal/logx"
	"github.com/gantry-dev/gantry/internal/ops"
	"github.com/gantry-dev/gantry/internal/sealer"
	"github.com/gantry-dev/gantry/internal/store"
	"github.com/gantry-dev/gantry/internal/testutil"
)

func TestSTSWire(t *testing.T) {
	cli, prefix := testutil.Etcd(t)
	seal, err := sealer.New(make([]byte, sealer.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	o := ops.NewIAM(store.New(cli, prefix), seal, logx.Discard())
	ctx := t.Context()
	if _, err := o.CreateRole(ctx, "000000000000", ops.CreateRoleInput{Name: "r",
		AssumeRolePolicy: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"000000000000"},"Action":"sts:AssumeRole"}]}`}); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(api.New(logx.Discard(), apists.Service(o)))
	t.Cleanup(ts.Close)
	client := func(key, secret, token string) *sts.Client {
		return sts.New(sts.Options{Region: "us-east-1", BaseEndpoint: aws.String(ts.URL),
			Credentials: credentials.NewStaticCredentialsProvider(key, secret, token)})
	}
	root := client("test", "test", "")
	id, err := root.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(id.Arn) != "arn:aws:iam::000000000000:root" || aws.ToString(id.Account) != "000000000000" || aws.ToString(id.UserId) != "000000000000" {
		t.Fatalf("root identity %+v %v", id, err)
	}
	out, err := root.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::000000000000:role/r"), RoleSessionName: aws.String("me"), DurationSeconds: aws.Int32(900)})
	if err != nil {
		t.Fatal(err)
	}
	c := out.Credentials
	if !strings.HasPrefix(aws.ToString(c.AccessKeyId), "ASIA") || c.Expiration == nil || aws.ToString(out.AssumedRoleUser.Arn) != "arn:aws:sts::000000000000:assumed-role/r/me" ||
		!strings.HasSuffix(aws.ToString(out.AssumedRoleUser.AssumedRoleId), ":me") {
		t.Fatalf("assumed %+v %+v", c, out.AssumedRoleUser)
	}
	id, err = client(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken)).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(id.Arn) != "arn:aws:sts::000000000000:assumed-role/r/me" {
		t.Fatalf("session identity %+v %v", id, err)
	}
	for _, in := range []*sts.AssumeRoleInput{
		{RoleArn: aws.String("arn:aws:iam::000000000000:role/r"), RoleSessionName: aws.String("bad name!")},
		{RoleArn: aws.String("arn:aws:iam::000000000000:role/r"), RoleSessionName: aws.String("ok"), DurationSeconds: aws.Int32(3601)},
		{RoleArn: aws.String("arn:aws:iam::000000000000:role/r"), RoleSessionName: aws.String("ok"), Policy: aws.String("{}")},
		{RoleArn: aws.String("not-a-role-arn-but-long"), RoleSessionName: aws.String("ok")},
	} {
		_, err := root.AssumeRole(ctx, in)
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != "ValidationError" {
			t.Errorf("AssumeRole(%s, %s): %v, want ValidationError", aws.ToString(in.RoleArn), aws.ToString(in.RoleSessionName), err)
		}
	}
	_, err = root.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::000000000000:role/none"), RoleSessionName: aws.String("ok")})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "AccessDenied" {
		t.Errorf("missing role: %v", err)
	}
}
