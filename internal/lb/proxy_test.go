package lb

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestForwardHeaders(t *testing.T) {
	var got http.Header
	var host string
	b := newBackend(t, "b1", func(w http.ResponseWriter, r *http.Request) {
		got, host = r.Header.Clone(), r.Host
		io.WriteString(w, "ok")
	})
	addr := freeAddr(t)
	l := newLB(t, nil)
	mustApply(t, l, simple(addr, nil, b.target()))

	req, _ := http.NewRequest("GET", lbURL(addr, "/x"), nil)
	req.Host = "app.example.com"
	req.Header.Set("X-Forwarded-For", "203.0.113.9")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("X-Backend") != "b1" {
		t.Fatalf("status %d backend %q", resp.StatusCode, resp.Header.Get("X-Backend"))
	}
	if xff := got.Get("X-Forwarded-For"); xff != "203.0.113.9, 127.0.0.1" {
		t.Errorf("X-Forwarded-For = %q", xff)
	}
	if p := got.Get("X-Forwarded-Proto"); p != "http" {
		t.Errorf("X-Forwarded-Proto = %q", p)
	}
	if p := got.Get("X-Forwarded-Port"); p != fmt.Sprint(addr.Port()) {
		t.Errorf("X-Forwarded-Port = %q, want %d", p, addr.Port())
	}
	if !regexp.MustCompile(`^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$`).MatchString(got.Get("X-Amzn-Trace-Id")) {
		t.Errorf("X-Amzn-Trace-Id = %q", got.Get("X-Amzn-Trace-Id"))
	}
	if host != "app.example.com" {
		t.Errorf("Host = %q, want the client's", host)
	}
	// A trace id the client sent is kept.
	req.Header.Set("X-Amzn-Trace-Id", "Root=1-00000001-000000000000000000000001")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got.Get("X-Amzn-Trace-Id") != "Root=1-00000001-000000000000000000000001" {
		t.Errorf("trace id replaced: %q", got.Get("X-Amzn-Trace-Id"))
	}
}

// TestKeepAlive: many requests over one client connection reuse pooled target connections.
func TestKeepAlive(t *testing.T) {
	var mu sync.Mutex
	remotes := map[string]bool{}
	b := newBackend(t, "b1", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		remotes[r.RemoteAddr] = true
		mu.Unlock()
	})
	addr := freeAddr(t)
	l := newLB(t, nil)
	mustApply(t, l, simple(addr, nil, b.target()))
	c := &http.Client{Transport: &http.Transport{}}
	for range 50 {
		get(t, c, lbURL(addr, "/"))
	}
	mu.Lock()
	defer mu.Unlock()
	if len(remotes) != 1 {
		t.Errorf("backend saw %d connections for 50 sequential requests, want 1", len(remotes))
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// TestStreaming: 64 MiB up (chunked) and 64 MiB down (chunked), without the LB holding bodies.
func TestStreaming(t *testing.T) {
	const size = 64 << 20
	b := newBackend(t, "b1", func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "POST" {
			n, err := io.Copy(io.Discard, r.Body)
			fmt.Fprintf(w, "%d %v", n, err)
			return
		}
		io.Copy(w, io.LimitReader(zeros{}, size)) // no Content-Length: chunked
	})
	addr := freeAddr(t)
	l := newLB(t, nil)
	mustApply(t, l, simple(addr, nil, b.target()))

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	req, _ := http.NewRequest("POST", lbURL(addr, "/up"), io.LimitReader(zeros{}, size))
	req.ContentLength = -1
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != fmt.Sprintf("%d <nil>", size) {
		t.Fatalf("upload: backend read %q", body)
	}
	resp, err = http.Get(lbURL(addr, "/down"))
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if n != size || err != nil || resp.TransferEncoding[0] != "chunked" {
		t.Fatalf("download: %d bytes, %v, %v", n, err, resp.TransferEncoding)
	}
	runtime.ReadMemStats(&after)
	// Client, LB and backend share this process: 128 MiB moved, far less allocated.
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16<<20 {
		t.Errorf("allocated %d MiB to move 128 MiB: bodies are buffered", alloc>>20)
	}
}

// TestWebSocket: an Upgrade passes through; bytes flow both ways over the hijacked conns.
func TestWebSocket(t *testing.T) {
	b := newBackend(t, "ws", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "websocket" {
			http.Error(w, "no upgrade", 400)
			return
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		brw.Flush()
		io.Copy(conn, brw) // echo
	})
	addr := freeAddr(t)
	l := newLB(t, nil)
	mustApply(t, l, simple(addr, nil, b.target()))

	conn, err := net.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 101 {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	for _, msg := range []string{"hello", "world, again"} {
		io.WriteString(conn, msg)
		buf := make([]byte, len(msg))
		if _, err := io.ReadFull(br, buf); err != nil || string(buf) != msg {
			t.Fatalf("echo %q: got %q, %v", msg, buf, err)
		}
	}
}

// selfSigned makes a certificate for names, valid now.
func selfSigned(t *testing.T, names ...string) (tls.Certificate, *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: names[0]},
		DNSNames:     names,
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, leaf
}

// TestHTTPS: h2 by ALPN to the client, HTTP/1.1 to the target; SNI picks the certificate.
func TestHTTPS(t *testing.T) {
	var targetProto, fwdProto string
	b := newBackend(t, "b1", func(w http.ResponseWriter, r *http.Request) {
		targetProto, fwdProto = r.Proto, r.Header.Get("X-Forwarded-Proto")
		if r.Method == "POST" {
			body, _ := io.ReadAll(r.Body)
			w.Write(body) // echo
			return
		}
		io.WriteString(w, "secure")
	})
	defCert, defLeaf := selfSigned(t, "default.example.com")
	apiCert, apiLeaf := selfSigned(t, "api.example.com")
	addr := freeAddr(t)
	cfg := simple(addr, nil, b.target())
	cfg.LoadBalancers[0].HTTP2 = true
	cfg.LoadBalancers[0].Listeners[0].Protocol = HTTPS
	cfg.LoadBalancers[0].Listeners[0].Certificates = []tls.Certificate{defCert, apiCert}
	l := newLB(t, nil)
	mustApply(t, l, cfg)

	roots := x509.NewCertPool()
	roots.AddCert(defLeaf)
	roots.AddCert(apiLeaf)
	for _, name := range []string{"default.example.com", "api.example.com"} {
		c := &http.Client{Transport: &http.Transport{
			ForceAttemptHTTP2: true,
			TLSClientConfig:   &tls.Config{RootCAs: roots, ServerName: name},
		}}
		resp, body := get(t, c, "https://"+addr.String()+"/")
		if resp.ProtoMajor != 2 || body != "secure" {
			t.Errorf("%s: proto %s body %q, want HTTP/2 and the backend's", name, resp.Proto, body)
		}
		if got := resp.TLS.PeerCertificates[0].Subject.CommonName; got != name {
			t.Errorf("SNI %s got certificate %s", name, got)
		}
	}
	// An HTTP/2 request body streams to the target over HTTP/1.1.
	c2 := &http.Client{Transport: &http.Transport{ForceAttemptHTTP2: true, TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: "api.example.com"}}}
	resp, err := c2.Post("https://"+addr.String()+"/echo", "text/plain", strings.NewReader(strings.Repeat("h2 body ", 10000)))
	if err != nil {
		t.Fatal(err)
	}
	echo, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.ProtoMajor != 2 || string(echo) != strings.Repeat("h2 body ", 10000) {
		t.Errorf("h2 POST: %s, %d bytes echoed", resp.Proto, len(echo))
	}
	if targetProto != "HTTP/1.1" || fwdProto != "https" {
		t.Errorf("target saw %s with X-Forwarded-Proto %q", targetProto, fwdProto)
	}

	// routing.http2.enabled false: HTTP/1.1 only.
	cfg.LoadBalancers[0].HTTP2 = false
	mustApply(t, l, cfg)
	c := &http.Client{Transport: &http.Transport{ForceAttemptHTTP2: true, TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: "api.example.com"}}}
	if resp, _ := get(t, c, "https://"+addr.String()+"/"); resp.ProtoMajor != 1 {
		t.Errorf("http2 disabled: got %s", resp.Proto)
	}
}

func isALBPage(resp *http.Response, body string, code int) bool {
	return resp.StatusCode == code && resp.Header.Get("Server") == "awselb/2.0" &&
		strings.Contains(body, fmt.Sprintf("<h1>%d %s</h1>", code, http.StatusText(code)))
}

func TestErrors(t *testing.T) {
	refused := freeAddr(t) // nothing listens
	garbage, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer garbage.Close()
	go func() {
		for {
			c, err := garbage.Accept()
			if err != nil {
				return
			}
			go func() {
				c.Read(make([]byte, 4096))
				io.WriteString(c, "SSH-2.0-not-http\r\n\r\n")
				c.Close()
			}()
		}
	}()
	slow := newBackend(t, "slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(3 * time.Second):
		case <-r.Context().Done():
		}
	})
	reset, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer reset.Close()
	go func() {
		for {
			c, err := reset.Accept()
			if err != nil {
				return
			}
			c.Read(make([]byte, 4096))
			c.(*net.TCPConn).SetLinger(0)
			c.Close()
		}
	}()
	tgt := func(a netip.AddrPort) Target { return Target{IP: a.Addr(), Port: int(a.Port())} }
	for _, tc := range []struct {
		name    string
		targets []Target
		code    int
	}{
		{"no targets", nil, 503},
		{"refused", []Target{tgt(refused)}, 502},
		{"garbage", []Target{tgt(netip.MustParseAddrPort(garbage.Addr().String()))}, 502},
		{"reset", []Target{tgt(netip.MustParseAddrPort(reset.Addr().String()))}, 502},
		{"timeout", []Target{slow.target()}, 504},
		{"only draining", []Target{{IP: slow.addr.Addr(), Port: int(slow.addr.Port()), Draining: true}}, 503},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := freeAddr(t)
			l := newLB(t, nil)
			cfg := simple(addr, nil, tc.targets...)
			cfg.LoadBalancers[0].IdleTimeout = 300 * time.Millisecond
			mustApply(t, l, cfg)
			start := time.Now()
			resp, body := get(t, http.DefaultClient, lbURL(addr, "/"))
			if !isALBPage(resp, body, tc.code) {
				t.Fatalf("got %d %v %q, want the ALB's %d page", resp.StatusCode, resp.Header, body, tc.code)
			}
			if tc.code == 504 && time.Since(start) > 2*time.Second {
				t.Errorf("504 after %v, want about the idle timeout", time.Since(start))
			}
		})
	}
}

func TestRedirectAndFixedResponse(t *testing.T) {
	addr := freeAddr(t)
	cfg := Config{LoadBalancers: []LoadBalancer{{ID: "lb", Listeners: []Listener{{Addr: addr, Protocol: HTTP, Rules: []Rule{
		{Priority: 1, Conditions: []Condition{{Field: PathPattern, Values: []string{"/old/*"}}},
			Action: Action{Type: Redirect, Redirect: &RedirectAction{Protocol: "HTTPS", Port: "443", Path: "/new/#{path}", StatusCode: 301}}},
		{Priority: 2, Conditions: []Condition{{Field: PathPattern, Values: []string{"/moved"}}},
			Action: Action{Type: Redirect, Redirect: &RedirectAction{Host: "other.example.com", Query: "from=#{host}&#{query}", StatusCode: 302}}},
		{Default: true, Action: Action{Type: FixedResponse, FixedResponse: &FixedResponseAction{StatusCode: 418, ContentType: "application/json", Body: `{"teapot":true}`}}},
	}}}}}}
	l := newLB(t, nil)
	mustApply(t, l, cfg)
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tc := range []struct {
		path, host string
		code       int
		location   string
	}{
		{"/old/a/b?x=1", "shop.example.com", 301, "https://shop.example.com:443/new/old/a/b?x=1"},
		{"/moved?q=2", "shop.example.com:8080", 302, fmt.Sprintf("http://other.example.com:%d/moved?from=shop.example.com&q=2", addr.Port())},
	} {
		req, _ := http.NewRequest("GET", lbURL(addr, tc.path), nil)
		req.Host = tc.host
		resp, err := noFollow.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.code || resp.Header.Get("Location") != tc.location {
			t.Errorf("%s: %d %q, want %d %q", tc.path, resp.StatusCode, resp.Header.Get("Location"), tc.code, tc.location)
		}
	}
	resp, body := get(t, noFollow, lbURL(addr, "/anything"))
	if resp.StatusCode != 418 || body != `{"teapot":true}` || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("fixed response: %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
}

// TestRoutingRules: path and host rules pick different target groups over real sockets.
func TestRoutingRules(t *testing.T) {
	api := newBackend(t, "api", nil)
	web := newBackend(t, "web", nil)
	addr := freeAddr(t)
	cfg := Config{
		LoadBalancers: []LoadBalancer{{ID: "lb", Listeners: []Listener{{Addr: addr, Protocol: HTTP, Rules: []Rule{
			{Default: true, Action: forwardTo("web")},
			{Priority: 5, Conditions: []Condition{{Field: PathPattern, Values: []string{"/api/*"}}}, Action: forwardTo("api")},
			{Priority: 6, Conditions: []Condition{{Field: HostHeader, Values: []string{"api.*"}}}, Action: forwardTo("api")},
		}}}}},
		TargetGroups: []TargetGroup{
			{ID: "api", Protocol: HTTP, Port: 80, Targets: []Target{api.target()}},
			{ID: "web", Protocol: HTTP, Port: 80, Targets: []Target{web.target()}},
		},
	}
	l := newLB(t, nil)
	mustApply(t, l, cfg)
	for _, tc := range []struct{ host, path, want string }{
		{"x", "/api/v1", "api"},
		{"x", "/index.html", "web"},
		{"API.example.com", "/", "api"},
	} {
		req, _ := http.NewRequest("GET", lbURL(addr, tc.path), nil)
		req.Host = tc.host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !bytes.Equal(b, []byte(tc.want)) {
			t.Errorf("%s %s went to %q, want %q", tc.host, tc.path, b, tc.want)
		}
	}
}

// TestHTTPSTargets: an HTTPS target group is reached over TLS (its certificate unverified,
// as on AWS) for traffic and health checks.
func TestHTTPSTargets(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil {
			http.Error(w, "plain", 400)
			return
		}
		io.WriteString(w, "tls "+r.URL.Path)
	}))
	defer srv.Close()
	ap := netip.MustParseAddrPort(srv.Listener.Addr().String())
	ev := newEvents()
	l := newLB(t, ev)
	addr := freeAddr(t)
	hc := fastCheck()
	hc.Protocol = HTTPS
	cfg := simple(addr, hc, Target{IP: ap.Addr(), Port: int(ap.Port())})
	cfg.TargetGroups[0].Protocol = HTTPS
	mustApply(t, l, cfg)
	ev.waitFor(t, 5*time.Second, "healthy over HTTPS", func() bool {
		return ev.lastHealth(Target{IP: ap.Addr(), Port: int(ap.Port())}).State == HealthHealthy
	})
	for range 3 {
		if resp, body := get(t, http.DefaultClient, lbURL(addr, "/p")); resp.StatusCode != 200 || body != "tls /p" {
			t.Fatalf("got %d %q", resp.StatusCode, body)
		}
	}
}

// TestFullDuplex: a target that answers while still reading the upload (an echo streaming
// both ways) gets the whole body through the LB.
func TestFullDuplex(t *testing.T) {
	b := newBackend(t, "echo", func(w http.ResponseWriter, r *http.Request) {
		http.NewResponseController(w).EnableFullDuplex()
		w.WriteHeader(200)
		buf := make([]byte, 1024)
		for {
			n, err := r.Body.Read(buf)
			w.Write(buf[:n])
			http.NewResponseController(w).Flush()
			if err != nil {
				return
			}
		}
	})
	addr := freeAddr(t)
	l := newLB(t, nil)
	mustApply(t, l, simple(addr, nil, b.target()))
	pr, pw := io.Pipe()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", lbURL(addr, "/"), pr)
	respc := make(chan *http.Response, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			close(respc)
			return
		}
		respc <- resp
	}()
	// Ping-pong: each line comes back before the next is sent.
	io.WriteString(pw, "line 0\n")
	resp := <-respc
	if resp == nil {
		t.FailNow()
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	for i := range 5 {
		line, err := br.ReadString('\n')
		if err != nil || line != fmt.Sprintf("line %d\n", i) {
			t.Fatalf("echo %d: %q %v", i, line, err)
		}
		fmt.Fprintf(pw, "line %d\n", i+1)
	}
	pw.Close()
}

// TestStalledUpload: a client that stops sending its body gets 504 after the idle timeout
// when the target waits for the rest.
func TestStalledUpload(t *testing.T) {
	b := newBackend(t, "b", func(w http.ResponseWriter, r *http.Request) { io.Copy(io.Discard, r.Body) })
	addr := freeAddr(t)
	l := newLB(t, nil)
	cfg := simple(addr, nil, b.target())
	cfg.LoadBalancers[0].IdleTimeout = 300 * time.Millisecond
	mustApply(t, l, cfg)
	conn, err := net.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(conn, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\npartial")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a stalled upload: %v", err)
	}
	if resp.StatusCode != 504 {
		t.Errorf("stalled upload: %d, want 504", resp.StatusCode)
	}
}

// TestStaleTargetConnections: a target that closes idle keep-alive connections after a short
// while (Node.js: 5s) costs no failed request, with or without a body.
func TestStaleTargetConnections(t *testing.T) {
	b := newBackend(t, "b", func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, "ok")
	})
	addr := freeAddr(t)
	l := newLB(t, nil)
	mustApply(t, l, simple(addr, nil, b.target()))
	for i := range 6 {
		if resp, body := get(t, http.DefaultClient, lbURL(addr, "/")); body != "ok" {
			t.Fatalf("GET %d: %d", i, resp.StatusCode)
		}
		resp, err := http.Post(lbURL(addr, "/"), "text/plain", strings.NewReader("data"))
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("POST %d: %v %v", i, resp, err)
		}
		resp.Body.Close()
		if i == 2 {
			b.srv.CloseClientConnections() // the target drops its idle connections
			time.Sleep(1100 * time.Millisecond)
		}
		if i == 4 {
			b.srv.CloseClientConnections()
		}
	}
}
