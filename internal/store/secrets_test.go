package store_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/store"
	"github.com/gantry-dev/gantry/internal/testutil"
)

func TestSecretsRoundTrip(t *testing.T) {
	cli, prefix := testutil.Etcd(t)
	repo := store.New(cli, prefix).Secrets()
	ctx := t.Context()
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	want := model.ManagedSecret{Scope: clusterScope, Name: "db/pw", ARN: "arn:aws:secretsmanager:us-east-1:000000000000:secret:db/pw-AbCdEf",
		Description: "d", KMSKeyID: "k", Tags: []model.Tag{{Key: "a", Value: "b"}}, CreatedAt: at, ChangedAt: at,
		DeletedAt: at, DeleteAfter: at.Add(time.Hour),
		Versions: []model.SecretVersion{{ID: "v1", Stages: []string{"AWSCURRENT"}, CreatedAt: at, Sealed: []byte{1, 2, 3}},
			{ID: "v2", CreatedAt: at, Binary: true, Sealed: []byte{4}}}}
	if _, err := repo.Create(ctx, want); err != nil {
		t.Fatal(err)
	}
	if _, err := repo.Create(ctx, want); !errors.Is(err, apierr.AlreadyExists) {
		t.Fatalf("second Create = %v", err)
	}
	got, err := repo.Get(ctx, clusterScope, "db/pw")
	if err != nil || !reflect.DeepEqual(got.Value, want) {
		t.Fatalf("Get = %+v, %v; want %+v", got.Value, err, want)
	}
	page, err := repo.List(ctx, clusterScope, "", 0)
	if err != nil || len(page.Items) != 1 {
		t.Fatalf("List = %+v, %v", page, err)
	}
	if err := repo.Delete(ctx, clusterScope, "db/pw", got.Revision); err != nil {
		t.Fatal(err)
	}
	if _, err := repo.Get(ctx, clusterScope, "db/pw"); !errors.Is(err, apierr.NotFound) {
		t.Fatalf("Get after delete = %v", err)
	}
}

func TestParametersRoundTripAndPathPrefix(t *testing.T) {
	cli, prefix := testutil.Etcd(t)
	repo := store.New(cli, prefix).Parameters()
	ctx := t.Context()
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	mk := func(name string) model.Parameter {
		return model.Parameter{Scope: clusterScope, Name: name, Tags: []model.Tag{{Key: "a", Value: "b"}},
			Versions: []model.ParameterVersion{{Version: 1, Type: "SecureString", Description: "d", AllowedPattern: ".*", KeyID: "alias/aws/ssm",
				Tier: "Standard", DataType: "text", Labels: []string{"l"}, ModifiedAt: at, ModifiedBy: "me", Sealed: []byte{9}}}}
	}
	for _, n := range []string{"/app/a", "/app/sub/b", "/apple", "flat"} {
		if _, err := repo.Create(ctx, mk(n)); err != nil {
			t.Fatal(err)
		}
	}
	got, err := repo.Get(ctx, clusterScope, "/app/a")
	if err != nil || !reflect.DeepEqual(got.Value, mk("/app/a")) {
		t.Fatalf("Get = %+v, %v", got.Value, err)
	}
	page, err := repo.List(ctx, clusterScope, "/app/", "", 0)
	if err != nil || len(page.Items) != 2 || page.Items[0].Value.Name != "/app/a" || page.Items[1].Value.Name != "/app/sub/b" {
		t.Fatalf("List /app/ = %+v, %v", page.Items, err)
	}
	p := got.Value
	p.Versions = append(p.Versions, model.ParameterVersion{Version: 2, Type: "String", ModifiedAt: at, Sealed: []byte{1}})
	if _, err := repo.Update(ctx, p, got.Revision); err != nil {
		t.Fatal(err)
	}
	if _, err := repo.Update(ctx, p, got.Revision); !errors.Is(err, apierr.Conflict) {
		t.Fatalf("stale Update = %v", err)
	}
}

func TestCertificatesRoundTrip(t *testing.T) {
	cli, prefix := testutil.Etcd(t)
	repo := store.New(cli, prefix).Certificates()
	ctx := t.Context()
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	want := model.Certificate{Scope: clusterScope, ID: "id-1", ARN: "arn:aws:acm:us-east-1:000000000000:certificate/id-1",
		CertificatePEM: "pem", ChainPEM: "chain", SealedKey: []byte{1, 2}, DomainName: "a.test", SANs: []string{"a.test"},
		Subject: "CN=a.test", Issuer: "CN=ca", Serial: "01", KeyAlgorithm: "RSA_2048", SignatureAlgorithm: "SHA256WITHRSA",
		NotBefore: at, NotAfter: at.Add(time.Hour), CreatedAt: at, ImportedAt: at, Tags: []model.Tag{{Key: "k", Value: "v"}}}
	if _, err := repo.Create(ctx, want); err != nil {
		t.Fatal(err)
	}
	got, err := repo.Get(ctx, clusterScope, "id-1")
	if err != nil || !reflect.DeepEqual(got.Value, want) {
		t.Fatalf("Get = %+v, %v", got.Value, err)
	}
	if _, err := repo.Mutate(ctx, clusterScope, "id-1", func(c *model.Certificate) error { c.Tags = nil; return nil }); err != nil {
		t.Fatal(err)
	}
	page, err := repo.List(ctx, clusterScope, "", 0)
	if err != nil || len(page.Items) != 1 || page.Items[0].Value.Tags != nil {
		t.Fatalf("List = %+v, %v", page.Items, err)
	}
}
