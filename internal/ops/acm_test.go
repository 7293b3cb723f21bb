package ops_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/ops"
)

// testCert makes a certificate for names signed by a fresh CA: the leaf's PEM, its key's PEM
// and the CA's PEM (the chain).
func testCert(t *testing.T, key any, names ...string) (certPEM, keyPEM, chainPEM []byte) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"}, IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(48 * time.Hour)}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ = x509.ParseCertificate(caDER)
	leaf := &x509.Certificate{SerialNumber: big.NewInt(0x1234), Subject: pkix.Name{CommonName: names[0]}, DNSNames: names,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	var pub any
	switch k := key.(type) {
	case *rsa.PrivateKey:
		pub = &k.PublicKey
	case *ecdsa.PrivateKey:
		pub = &k.PublicKey
	}
	der, err := x509.CreateCertificate(rand.Reader, leaf, ca, pub, caKey)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
}

func TestImportDescribeKeyPair(t *testing.T) {
	v := newVault(t)
	ctx := t.Context()
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	cert, key, chain := testCert(t, rsaKey, "www.example.test", "api.example.test")
	arn, err := v.acm.ImportCertificate(ctx, vaultScope, ops.ImportCertificateInput{Certificate: cert, PrivateKey: key, Chain: chain,
		Tags: []model.Tag{{Key: "team", Value: "web"}}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(arn, "arn:aws:acm:us-east-1:000000000000:certificate/") {
		t.Fatalf("ARN = %s", arn)
	}
	d, err := v.acm.DescribeCertificate(ctx, vaultScope, arn)
	if err != nil {
		t.Fatal(err)
	}
	if d.DomainName != "www.example.test" || !slices.Equal(d.SANs, []string{"www.example.test", "api.example.test"}) ||
		d.KeyAlgorithm != "RSA_2048" || d.Status != "ISSUED" || d.SignatureAlgorithm != "SHA256WITHECDSA" || d.Serial != "12:34" ||
		d.SealedKey != nil || d.NotAfter.IsZero() {
		t.Fatalf("DescribeCertificate = %+v", d)
	}
	certPEM, keyPEM, err := v.acm.KeyPair(ctx, arn)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil || len(pair.Certificate) != 2 {
		t.Fatalf("X509KeyPair = %d certificates, %v", len(pair.Certificate), err)
	}
	if err := v.acm.CertificateExists(ctx, vaultScope, arn); err != nil {
		t.Fatal(err)
	}
	if err := v.acm.CertificateExists(ctx, model.Scope{Account: model.DefaultAccount, Region: "eu-west-1"}, arn); apierr.KindOf(err) != apierr.NotFound {
		t.Fatalf("exists in another region = %v", err)
	}
	v.requireNotStored(t, string(key[28:80]), string(key))

	// Re-import another key pair into the same ARN.
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	cert2, key2, _ := testCert(t, ecKey, "new.example.test")
	if got, err := v.acm.ImportCertificate(ctx, vaultScope, ops.ImportCertificateInput{ARN: arn, Certificate: cert2, PrivateKey: key2}); err != nil || got != arn {
		t.Fatalf("re-import = %s, %v", got, err)
	}
	d, _ = v.acm.DescribeCertificate(ctx, vaultScope, arn)
	if d.DomainName != "new.example.test" || d.KeyAlgorithm != "EC_prime256v1" || len(d.Tags) != 1 {
		t.Fatalf("after re-import = %+v", d)
	}
	if _, keyPEM, _ := v.acm.KeyPair(ctx, arn); string(keyPEM) != string(key2) {
		t.Fatal("KeyPair after re-import is not the new key")
	}

	list, _, err := v.acm.ListCertificates(ctx, vaultScope, ops.CertificateQuery{})
	if err != nil || len(list) != 0 {
		t.Fatalf("default list (RSA 1024/2048 only) = %d, %v", len(list), err)
	}
	list, _, _ = v.acm.ListCertificates(ctx, vaultScope, ops.CertificateQuery{KeyTypes: []string{"EC_prime256v1"}, Statuses: []string{"ISSUED"}})
	if len(list) != 1 {
		t.Fatalf("EC list = %d", len(list))
	}

	v.acm.SetUsage(func(ctx context.Context, sc model.Scope, a string) ([]string, error) {
		return []string{"arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/app/web/1"}, nil
	})
	if err := v.acm.DeleteCertificate(ctx, vaultScope, arn); apierr.KindOf(err) != apierr.ResourceInUse {
		t.Fatalf("delete in use = %v", err)
	}
	v.acm.SetUsage(nil)
	if err := v.acm.DeleteCertificate(ctx, vaultScope, arn); err != nil {
		t.Fatal(err)
	}
	if _, _, err := v.acm.KeyPair(ctx, arn); apierr.KindOf(err) != apierr.NotFound {
		t.Fatalf("KeyPair after delete = %v", err)
	}
}

func TestImportRefusals(t *testing.T) {
	v := newVault(t)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	otherKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	cert, key, chain := testCert(t, rsaKey, "a.test")
	_, otherPEM, _ := testCert(t, otherKey, "b.test")
	for _, tc := range []struct {
		name string
		in   ops.ImportCertificateInput
		kind apierr.Kind
		msg  string
	}{
		{"not PEM", ops.ImportCertificateInput{Certificate: []byte("hello"), PrivateKey: key}, apierr.InvalidParameter, "Unable to parse certificate. Please ensure the certificate is in PEM format."},
		{"two certificates", ops.ImportCertificateInput{Certificate: append(append([]byte{}, cert...), chain...), PrivateKey: key}, apierr.InvalidParameter, "The certificate field contains more than one certificate. You can specify only one certificate in this field."},
		{"key does not match", ops.ImportCertificateInput{Certificate: cert, PrivateKey: otherPEM}, apierr.InvalidParameter, "The private key does not match the public key in the certificate."},
		{"key not PEM", ops.ImportCertificateInput{Certificate: cert, PrivateKey: []byte("xx")}, apierr.InvalidParameter, "The private key is not supported."},
		{"missing ARN", ops.ImportCertificateInput{ARN: "arn:aws:acm:us-east-1:000000000000:certificate/nope", Certificate: cert, PrivateKey: key}, apierr.NotFound, "Certificate with arn 'arn:aws:acm:us-east-1:000000000000:certificate/nope' not found in account '000000000000'"},
		{"malformed ARN", ops.ImportCertificateInput{ARN: "nope", Certificate: cert, PrivateKey: key}, apierr.InvalidARN, "String 'nope' is not a valid certificate ARN."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := v.acm.ImportCertificate(t.Context(), vaultScope, tc.in)
			if apierr.KindOf(err) != tc.kind || apierr.Message(err) != tc.msg {
				t.Fatalf("ImportCertificate = %v (%s), want %s %q", err, apierr.KindOf(err), tc.kind, tc.msg)
			}
		})
	}
}
