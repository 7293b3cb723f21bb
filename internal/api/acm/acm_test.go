package acm_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/api"
	"github.com/gantry-dev/gantry/internal/api/acm"
	"github.com/gantry-dev/gantry/internal/logx"
	"github.com/gantry-dev/gantry/internal/ops"
	"github.com/gantry-dev/gantry/internal/sealer"
	"github.com/gantry-dev/gantry/internal/store"
	"github.com/gantry-dev/gantry/internal/testutil"
)

func newServer(t *testing.T) *httptest.Server {
	t.Helper()
	cli, prefix := testutil.Etcd(t)
	seal, err := sealer.Open(t.TempDir() + "/master.key")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.New(logx.Discard(), acm.Service(ops.NewACM(store.New(cli, prefix), seal, logx.Discard()))))
	t.Cleanup(srv.Close)
	return srv
}

func call(t *testing.T, srv *httptest.Server, op string, in any) (int, string, map[string]any) {
	t.Helper()
	body, _ := json.Marshal(in)
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/", strings.NewReader(string(body)))
	req.Header.Set("X-Amz-Target", acm.TargetPrefix+"."+op)
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s: %s", op, raw)
	}
	return resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), out
}

func selfSigned(t *testing.T) (certPEM, keyPEM []byte) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "x.test"}, DNSNames: []string{"x.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	k, _ := x509.MarshalECPrivateKey(key)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: k})
}

func TestWireShapesAndErrors(t *testing.T) {
	srv := newServer(t)
	cert, key := selfSigned(t)
	b64 := base64.StdEncoding.EncodeToString
	code, _, out := call(t, srv, "ImportCertificate", map[string]any{"Certificate": b64(cert), "PrivateKey": b64(key)})
	arn, _ := out["CertificateArn"].(string)
	if code != 200 || !strings.HasPrefix(arn, "arn:aws:acm:us-east-1:000000000000:certificate/") {
		t.Fatalf("ImportCertificate = %d %v", code, out)
	}
	_, _, out = call(t, srv, "DescribeCertificate", map[string]any{"CertificateArn": arn})
	c := out["Certificate"].(map[string]any)
	if c["DomainName"] != "x.test" || c["KeyAlgorithm"] != "EC_secp384r1" || c["Type"] != "IMPORTED" || c["Status"] != "ISSUED" ||
		c["InUseBy"] == nil || c["NotAfter"] == nil || c["Serial"] != "07" {
		t.Fatalf("DescribeCertificate = %v", c)
	}
	_, _, out = call(t, srv, "ListCertificates", map[string]any{"Includes": map[string]any{"keyTypes": []string{"EC_secp384r1"}}})
	if l := out["CertificateSummaryList"].([]any); len(l) != 1 || l[0].(map[string]any)["CertificateArn"] != arn {
		t.Fatalf("ListCertificates = %v", out)
	}
	for _, tc := range []struct {
		op   string
		in   map[string]any
		code string
	}{
		{"ImportCertificate", map[string]any{"Certificate": b64([]byte("junk")), "PrivateKey": b64(key)}, "ValidationException"},
		{"DescribeCertificate", map[string]any{"CertificateArn": "nope"}, "InvalidArnException"},
		{"DescribeCertificate", map[string]any{"CertificateArn": "arn:aws:acm:us-east-1:000000000000:certificate/none"}, "ResourceNotFoundException"},
		{"ListCertificates", map[string]any{"CertificateStatuses": []string{"GOOD"}}, "ValidationException"},
	} {
		if code, typ, out := call(t, srv, tc.op, tc.in); code != 400 || typ != tc.code {
			t.Errorf("%s %v = %d %s %v, want %s", tc.op, tc.in, code, typ, out, tc.code)
		}
	}
	if code, _, _ := call(t, srv, "DeleteCertificate", map[string]any{"CertificateArn": arn}); code != 200 {
		t.Fatalf("DeleteCertificate = %d", code)
	}
}
