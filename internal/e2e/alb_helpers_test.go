package e2e

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

func newELB(t *testing.T, s *Server) *elb.Client {
	t.Helper()
	cfg, err := config.LoadDefaultConfig(t.Context(), config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("test", "test", "")),
		config.WithSharedConfigFiles([]string{}), config.WithSharedCredentialsFiles([]string{}))
	if err != nil {
		t.Fatalf("load SDK config: %v", err)
	}
	return elb.NewFromConfig(cfg, func(o *elb.Options) { o.BaseEndpoint = aws.String(s.URL) })
}

// resolveVia asks the DNS server at server (udp) for name's addresses.
func resolveVia(t *testing.T, server, name string) []string {
	t.Helper()
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "udp", server)
	}}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	addrs, err := r.LookupHost(ctx, name)
	if err != nil {
		t.Fatalf("resolve %s via %s: %v", name, server, err)
	}
	return addrs
}

// whoami is what the test app's /whoami answers.
type whoami struct {
	IP, Remote, Host, XFF, Proto, Port, HTTPVersion string
}

// albClient makes requests to one load balancer address without keeping connections (each
// request is a new connection, so every one is balanced afresh).
type albClient struct {
	t    *testing.T
	base string // http://host:port
	c    *http.Client
}

func newALBClient(t *testing.T, addr string) *albClient {
	return &albClient{t: t, base: "http://" + addr, c: &http.Client{Timeout: 20 * time.Second,
		Transport: &http.Transport{DisableKeepAlives: true}}}
}

// get returns the status and body of GET path with the Host header host (when not empty).
func (a *albClient) get(path, host string) (int, string, error) {
	req, err := http.NewRequestWithContext(a.t.Context(), http.MethodGet, a.base+path, nil)
	if err != nil {
		return 0, "", err
	}
	if host != "" {
		req.Host = host
	}
	resp, err := a.c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// who returns which task answered path (status 200 required).
func (a *albClient) who(path, host string) whoami {
	a.t.Helper()
	code, body, err := a.get(path, host)
	if err != nil || code != 200 {
		a.t.Fatalf("GET %s (host %q): %d %q, %v", path, host, code, body, err)
	}
	var w whoami
	if err := json.Unmarshal([]byte(body), &w); err != nil {
		a.t.Fatalf("GET %s: %v: %q", path, err, body)
	}
	return w
}

// health returns each target's state and reason of a target group.
func health(t *testing.T, client *elb.Client, tg string) map[string][2]string {
	t.Helper()
	out, err := client.DescribeTargetHealth(t.Context(), &elb.DescribeTargetHealthInput{TargetGroupArn: aws.String(tg)})
	if err != nil {
		t.Fatalf("DescribeTargetHealth: %v", err)
	}
	m := map[string][2]string{}
	for _, d := range out.TargetHealthDescriptions {
		m[aws.ToString(d.Target.Id)] = [2]string{string(d.TargetHealth.State), string(d.TargetHealth.Reason)}
	}
	return m
}

// waitHealth waits until target ip of tg is in state (with reason, when not empty).
func waitHealth(t *testing.T, client *elb.Client, tg, ip, state, reason string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last [2]string
	for time.Now().Before(deadline) {
		last = health(t, client, tg)[ip]
		if last[0] == state && (reason == "" || last[1] == reason) {
			return
		}
		time.Sleep(300 * time.Millisecond)
	}
	t.Fatalf("target %s of %s: %v after %s, want %s %s", ip, tg, last, timeout, state, reason)
}

func forwardTo(groups ...elbtypes.TargetGroupTuple) []elbtypes.Action {
	return []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, ForwardConfig: &elbtypes.ForwardActionConfig{TargetGroups: groups}}}
}

func weighted(tg string, w int32) elbtypes.TargetGroupTuple {
	return elbtypes.TargetGroupTuple{TargetGroupArn: aws.String(tg), Weight: aws.Int32(w)}
}

// selfSigned returns a PEM certificate for name and its PEM private key.
func selfSigned(t *testing.T, name string) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		DNSNames: []string{name}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})
}

// wsEcho opens a WebSocket to addr's path, sends msg and returns the echo.
func wsEcho(t *testing.T, addr, path, msg string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	key := base64.StdEncoding.EncodeToString([]byte("gantry-e2e-key16"))
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n", path, addr, key)
	r := bufio.NewReader(c)
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatalf("websocket handshake: %v", err)
	}
	sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	if resp.StatusCode != 101 || resp.Header.Get("Sec-WebSocket-Accept") != base64.StdEncoding.EncodeToString(sum[:]) {
		t.Fatalf("websocket handshake: %s %v", resp.Status, resp.Header)
	}
	var last string
	for _, m := range []string{msg, msg + " again"} { // two messages on one connection
		mask := [4]byte{1, 2, 3, 4}
		frame := []byte{0x81, 0x80 | byte(len(m))}
		frame = append(frame, mask[:]...)
		for i := range len(m) {
			frame = append(frame, m[i]^mask[i%4])
		}
		if _, err := c.Write(frame); err != nil {
			t.Fatal(err)
		}
		var h [2]byte
		if _, err := io.ReadFull(r, h[:]); err != nil {
			t.Fatalf("websocket read: %v", err)
		}
		n := int(h[1] & 0x7F)
		if n == 126 {
			var b [2]byte
			io.ReadFull(r, b[:])
			n = int(binary.BigEndian.Uint16(b[:]))
		}
		body := make([]byte, n)
		if _, err := io.ReadFull(r, body); err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(string(body), " "+m) {
			t.Fatalf("websocket echo %q, want \"<ip> %s\"", body, m)
		}
		last = string(body)
	}
	return last
}

// pool is a certificate pool of one PEM certificate.
func pool(t *testing.T, certPEM []byte) *x509.CertPool {
	t.Helper()
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(certPEM) {
		t.Fatal("bad certificate PEM")
	}
	return p
}
