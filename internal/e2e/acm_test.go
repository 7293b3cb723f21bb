package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/acm"
	acmtypes "github.com/aws/aws-sdk-go-v2/service/acm/types"
)

// vaultCert makes an RSA 2048 certificate for names, signed by a fresh ECDSA CA: the leaf's
// PEM, its key's PEM and the chain (the CA's PEM).
func vaultCert(t *testing.T, names ...string) (certPEM, keyPEM, chainPEM []byte) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "e2e CA"}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(48 * time.Hour)}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ = x509.ParseCertificate(caDER)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	leaf := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: names[0]}, DNSNames: names,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, leaf, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
}

// TestACMCLI imports a certificate made with crypto/x509 through the aws CLI, describes, lists,
// tags, re-imports and deletes it, and checks ACM's errors for bad input.
func TestACMCLI(t *testing.T) {
	t.Parallel()
	s := startServer(t, "")
	cli := newCLI(t, s)
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return "fileb://" + p
	}
	cert, key, chain := vaultCert(t, "www.example.test", "api.example.test")
	cert2, key2, _ := vaultCert(t, "other.example.test")
	var imp struct{ CertificateArn string }
	cli.json(&imp, "acm", "import-certificate", "--certificate", write("cert.pem", cert), "--private-key", write("key.pem", key),
		"--certificate-chain", write("chain.pem", chain), "--tags", "Key=team,Value=web")
	var desc struct {
		Certificate struct {
			CertificateArn, DomainName, Status, Type, KeyAlgorithm, Issuer, SignatureAlgorithm string
			SubjectAlternativeNames, InUseBy                                                   []string
			NotBefore, NotAfter, ImportedAt                                                    float64
		}
	}
	cli.json(&desc, "acm", "describe-certificate", "--certificate-arn", imp.CertificateArn)
	c := desc.Certificate
	if c.CertificateArn != imp.CertificateArn || c.DomainName != "www.example.test" || c.Status != "ISSUED" || c.Type != "IMPORTED" ||
		c.KeyAlgorithm != "RSA_2048" || c.Issuer != "CN=e2e CA" || c.SignatureAlgorithm != "SHA256WITHECDSA" ||
		!slices.Equal(c.SubjectAlternativeNames, []string{"www.example.test", "api.example.test"}) || c.InUseBy == nil ||
		c.NotAfter <= c.NotBefore || c.ImportedAt == 0 {
		t.Fatalf("describe-certificate = %+v", c)
	}
	var list struct {
		CertificateSummaryList []struct{ CertificateArn, DomainName, Status string }
	}
	cli.json(&list, "acm", "list-certificates", "--certificate-statuses", "ISSUED")
	if len(list.CertificateSummaryList) != 1 || list.CertificateSummaryList[0].CertificateArn != imp.CertificateArn {
		t.Fatalf("list-certificates = %+v", list)
	}
	cli.json(&list, "acm", "list-certificates", "--certificate-statuses", "EXPIRED")
	if len(list.CertificateSummaryList) != 0 {
		t.Fatalf("list-certificates EXPIRED = %+v", list)
	}
	var got struct{ Certificate, CertificateChain string }
	cli.json(&got, "acm", "get-certificate", "--certificate-arn", imp.CertificateArn)
	if got.Certificate != string(cert) || got.CertificateChain != string(chain) {
		t.Fatalf("get-certificate = %+v", got)
	}
	cli.json(nil, "acm", "add-tags-to-certificate", "--certificate-arn", imp.CertificateArn, "--tags", "Key=env,Value=prod")
	cli.json(nil, "acm", "remove-tags-from-certificate", "--certificate-arn", imp.CertificateArn, "--tags", "Key=team")
	var tags struct{ Tags []struct{ Key, Value string } }
	cli.json(&tags, "acm", "list-tags-for-certificate", "--certificate-arn", imp.CertificateArn)
	if len(tags.Tags) != 1 || tags.Tags[0].Key != "env" {
		t.Fatalf("list-tags-for-certificate = %+v", tags)
	}

	cli.fail("ValidationException", "acm", "import-certificate", "--certificate", write("c2.pem", cert2), "--private-key", write("k1.pem", key))
	cli.fail("ValidationException", "acm", "import-certificate", "--certificate", write("junk.pem", []byte("not a certificate")), "--private-key", write("k1.pem", key))
	cli.fail("ResourceNotFoundException", "acm", "describe-certificate", "--certificate-arn", "arn:aws:acm:us-east-1:000000000000:certificate/00000000-0000-0000-0000-000000000000")
	cli.fail("InvalidArnException", "acm", "describe-certificate", "--certificate-arn", "arn:aws:s3:::not-a-certificate")

	// Re-import another certificate into the same ARN.
	cli.json(&imp, "acm", "import-certificate", "--certificate-arn", imp.CertificateArn, "--certificate", write("c2.pem", cert2),
		"--private-key", write("k2.pem", key2))
	cli.json(&desc, "acm", "describe-certificate", "--certificate-arn", imp.CertificateArn)
	if desc.Certificate.DomainName != "other.example.test" {
		t.Fatalf("after re-import = %+v", desc.Certificate)
	}
	cli.json(nil, "acm", "delete-certificate", "--certificate-arn", imp.CertificateArn)
	cli.fail("ResourceNotFoundException", "acm", "describe-certificate", "--certificate-arn", imp.CertificateArn)
}

// TestACMSDK imports and lists certificates through the Go SDK v2.
func TestACMSDK(t *testing.T) {
	t.Parallel()
	s := startServer(t, "")
	c := newVaultClients(t, s).acm
	ctx := t.Context()
	var arns []string
	for _, name := range []string{"a.example.test", "b.example.test", "c.example.test"} {
		cert, key, chain := vaultCert(t, name)
		out, err := c.ImportCertificate(ctx, &acm.ImportCertificateInput{Certificate: cert, PrivateKey: key, CertificateChain: chain,
			Tags: []acmtypes.Tag{{Key: aws.String("n"), Value: aws.String(name)}}})
		if err != nil {
			t.Fatal(err)
		}
		arns = append(arns, aws.ToString(out.CertificateArn))
	}
	var listed []string
	pager := acm.NewListCertificatesPaginator(c, &acm.ListCertificatesInput{MaxItems: aws.Int32(2)})
	for pager.HasMorePages() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range page.CertificateSummaryList {
			listed = append(listed, aws.ToString(s.CertificateArn))
			if s.Type != acmtypes.CertificateTypeImported || s.Status != acmtypes.CertificateStatusIssued || s.KeyAlgorithm != acmtypes.KeyAlgorithmRsa2048 {
				t.Fatalf("summary = %+v", s)
			}
		}
	}
	slices.Sort(listed)
	slices.Sort(arns)
	if !slices.Equal(listed, arns) {
		t.Fatalf("listed %v, imported %v", listed, arns)
	}
	d, err := c.DescribeCertificate(ctx, &acm.DescribeCertificateInput{CertificateArn: aws.String(arns[0])})
	if err != nil || d.Certificate.Type != acmtypes.CertificateTypeImported || d.Certificate.NotAfter == nil {
		t.Fatalf("DescribeCertificate = %+v, %v", d, err)
	}
	tags, err := c.ListTagsForCertificate(ctx, &acm.ListTagsForCertificateInput{CertificateArn: aws.String(arns[0])})
	if err != nil || len(tags.Tags) != 1 {
		t.Fatalf("ListTagsForCertificate = %+v, %v", tags, err)
	}
	if _, err := c.DeleteCertificate(ctx, &acm.DeleteCertificateInput{CertificateArn: aws.String(arns[0])}); err != nil {
		t.Fatal(err)
	}
	_, err = c.DeleteCertificate(ctx, &acm.DeleteCertificateInput{CertificateArn: aws.String(arns[0])})
	wantCode(t, "DeleteCertificate twice", err, "ResourceNotFoundException")
	_, err = c.ImportCertificate(ctx, &acm.ImportCertificateInput{Certificate: []byte("junk"), PrivateKey: []byte("junk")})
	wantCode(t, "ImportCertificate junk", err, "ValidationException")
}
