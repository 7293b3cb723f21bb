package lb

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gantry-dev/gantry/internal/logx"
)

var (
	errTargetTimeout = errors.New("target timed out")
	errDrainCut      = errors.New("target deregistration delay passed")
)

// clientConnKey carries a *clientConn in each client connection's context.
type clientConnKey struct{}

// clientConn is per client connection state: the target its last request went to, so the
// next response on that connection says Connection: close when that target drains.
type clientConn struct {
	last atomic.Pointer[target]
}

// routeKey carries the *route of a forwarded request to the proxy's hooks.
type routeKey struct{}

type route struct {
	t        *target
	cl       *compiledListener
	cookies  []*http.Cookie // stickiness cookies for the response
	appStick string         // app_cookie: the application's cookie name
	appFor   time.Duration
	timedOut atomic.Bool
}

// handler serves one listener socket; it reads the current snapshot for every request.
type handler struct {
	lb  *LB
	key listenerKey
}

var proxy = &httputil.ReverseProxy{
	Rewrite:        rewrite,
	Transport:      roundTripper{},
	ErrorHandler:   proxyError,
	ModifyResponse: modifyResponse,
	BufferPool:     bufPool{},
	ErrorLog:       log.New(io.Discard, "", 0),
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	cc, _ := r.Context().Value(clientConnKey{}).(*clientConn)
	if cc != nil && r.ProtoMajor == 1 {
		if last := cc.last.Load(); last != nil && last.draining.Load() {
			w.Header().Set("Connection", "close")
			cc.last.Store(nil)
		}
	}
	src := clientAddr(r.RemoteAddr)
	snap := h.lb.snap.Load()
	for {
		if h.serve(w, r, snap, src, cc) {
			return
		}
		// No target: if an Apply came in between (a group retired with its rule), route
		// again by the new snapshot rather than fail.
		next := h.lb.snap.Load()
		if next == snap {
			errorPage(w, http.StatusServiceUnavailable)
			return
		}
		snap = next
	}
}

// serve answers r by snap; false when the forward action found no target.
func (h *handler) serve(w http.ResponseWriter, r *http.Request, snap *snapshot, src netip.Addr, cc *clientConn) bool {
	cl := snap.listeners[h.key]
	if cl == nil {
		errorPage(w, http.StatusServiceUnavailable)
		return true
	}
	rule := matchRule(cl.rules, r, src)
	if rule == nil {
		errorPage(w, http.StatusServiceUnavailable)
		return true
	}
	switch rule.action.Type {
	case Redirect:
		redirect(w, r, cl, rule.action.Redirect)
	case FixedResponse:
		fixed(w, rule.action.FixedResponse)
	case Forward:
		return h.forward(w, r, cl, rule.forward, cc)
	}
	return true
}

func (h *handler) forward(w http.ResponseWriter, r *http.Request, cl *compiledListener, f *compiledForward, cc *clientConn) bool {
	rt := &route{cl: cl}
	g := pickGroup(f, r, rt)
	var t *target
	for range 3 { // a target picked just as it starts draining is skipped
		t = pickTarget(g, r, rt)
		if t == nil || t.acquire() {
			break
		}
		t = nil
	}
	if t == nil {
		return false
	}
	defer t.release()
	rt.t = t
	if cc != nil {
		cc.last.Store(t)
	}
	if r.Header.Get("Upgrade") != "" {
		proxy.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), routeKey{}, rt)))
		return true
	}
	forwardLean(w, r, rt)
	return true
}

// forwardHeaders sets what ALB adds: the client appended to X-Forwarded-For,
// X-Forwarded-Proto/Port naming the listener, and X-Amzn-Trace-Id when the client sent none.
func forwardHeaders(out http.Header, in *http.Request, rt *route) {
	client := clientAddr(in.RemoteAddr).Unmap().String()
	if prior := in.Header.Values("X-Forwarded-For"); len(prior) > 0 {
		client = strings.Join(prior, ", ") + ", " + client
	}
	out.Set("X-Forwarded-For", client)
	if rt.cl.protocol == HTTPS {
		out.Set("X-Forwarded-Proto", "https")
	} else {
		out.Set("X-Forwarded-Proto", "http")
	}
	out.Set("X-Forwarded-Port", rt.cl.port)
	if out.Get("X-Amzn-Trace-Id") == "" {
		out.Set("X-Amzn-Trace-Id", traceID())
	}
	if _, ok := out["User-Agent"]; !ok {
		out["User-Agent"] = nil // do not let the client code add Go's
	}
}

// rewrite builds the request to the target: the Host header is kept; X-Forwarded-For gets
// the client appended; X-Forwarded-Proto/Port name the listener.
func rewrite(pr *httputil.ProxyRequest) {
	rt := pr.In.Context().Value(routeKey{}).(*route)
	pr.Out.URL.Scheme = "http"
	if rt.t.g.view.Load().cfg.Protocol == HTTPS {
		pr.Out.URL.Scheme = "https"
	}
	pr.Out.URL.Host = rt.t.addr.String()
	pr.Out.Host = pr.In.Host
	forwardHeaders(pr.Out.Header, pr.In, rt)
}

func modifyResponse(resp *http.Response) error {
	rt := resp.Request.Context().Value(routeKey{}).(*route)
	for _, c := range rt.cookies {
		resp.Header.Add("Set-Cookie", c.String())
	}
	if rt.appStick != "" && responseSetsCookie(resp, rt.appStick) {
		c := targetCookie(appCookieName, rt.t, rt.appFor)
		resp.Header.Add("Set-Cookie", c.String())
	}
	if rt.t.draining.Load() && resp.Request.ProtoMajor == 1 && resp.StatusCode != http.StatusSwitchingProtocols {
		resp.Header.Set("Connection", "close")
	}
	return nil
}

func responseSetsCookie(resp *http.Response, name string) bool {
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return true
		}
	}
	return false
}

// proxyError answers 504 when the target timed out, 502 when it failed otherwise.
func proxyError(w http.ResponseWriter, r *http.Request, err error) {
	rt := r.Context().Value(routeKey{}).(*route)
	if r.Context().Err() != nil {
		return // the client went away
	}
	if rt.timedOut.Load() || errors.Is(err, errTargetTimeout) {
		errorPage(w, http.StatusGatewayTimeout)
		return
	}
	rt.t.g.lb.log.Debug("target failed", "target", rt.t.addr, logx.KeyError, err)
	errorPage(w, http.StatusBadGateway)
}

// roundTripper sends a request over its target's pooled connections; the target must send
// response headers within the load balancer's idle timeout, counted from the last byte of
// request body it read.
type roundTripper struct{}

func (roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	rt := req.Context().Value(routeKey{}).(*route)
	ctx, cancel := context.WithCancel(req.Context())
	timer := time.AfterFunc(rt.cl.idle, func() {
		rt.timedOut.Store(true)
		cancel()
	})
	if req.Body != nil && req.Body != http.NoBody {
		req.Body = &idleBody{ReadCloser: req.Body, timer: timer, idle: rt.cl.idle}
	}
	resp, err := rt.t.transport.RoundTrip(req.WithContext(ctx))
	if !timer.Stop() && err == nil {
		resp.Body.Close()
		err = errTargetTimeout
	}
	if err != nil {
		cancel()
		return nil, err
	}
	if resp.StatusCode == http.StatusSwitchingProtocols {
		context.AfterFunc(req.Context(), cancel)
		return resp, nil
	}
	resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

// idleBody pushes the response timeout back on every read of the request body, so a slow
// upload is not a target timeout.
type idleBody struct {
	io.ReadCloser
	timer *time.Timer
	idle  time.Duration
}

func (b *idleBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.timer.Reset(b.idle)
	return n, err
}

type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// errorPage writes an ALB-generated error response.
func errorPage(w http.ResponseWriter, code int) {
	text := fmt.Sprintf("%d %s", code, http.StatusText(code))
	h := w.Header()
	h.Set("Server", "awselb/2.0")
	h.Set("Content-Type", "text/html")
	h.Del("Content-Length")
	body := "<html>\r\n<head><title>" + text + "</title></head>\r\n<body>\r\n<center><h1>" + text +
		"</h1></center>\r\n</body>\r\n</html>\r\n"
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	io.WriteString(w, body)
}

func fixed(w http.ResponseWriter, f *FixedResponseAction) {
	h := w.Header()
	h.Set("Server", "awselb/2.0")
	if f.ContentType != "" {
		h.Set("Content-Type", f.ContentType)
	}
	h.Set("Content-Length", strconv.Itoa(len(f.Body)))
	w.WriteHeader(f.StatusCode)
	io.WriteString(w, f.Body)
}

// redirect answers with the action's Location, placeholders filled from the request.
func redirect(w http.ResponseWriter, r *http.Request, cl *compiledListener, a *RedirectAction) {
	proto := "http"
	if cl.protocol == HTTPS {
		proto = "https"
	}
	port := strconv.Itoa(int(cl.key.addr.Port()))
	path := strings.TrimPrefix(r.URL.EscapedPath(), "/")
	fill := func(s, def string) string {
		if s == "" {
			s = def
		}
		return strings.NewReplacer("#{protocol}", proto, "#{host}", hostOnly(r.Host), "#{port}", port,
			"#{path}", path, "#{query}", r.URL.RawQuery).Replace(s)
	}
	scheme := strings.ToLower(fill(a.Protocol, "#{protocol}"))
	loc := scheme + "://" + fill(a.Host, "#{host}") + ":" + fill(a.Port, "#{port}") + fill(a.Path, "/#{path}")
	if q := fill(a.Query, "#{query}"); q != "" {
		loc += "?" + q
	}
	h := w.Header()
	h.Set("Server", "awselb/2.0")
	h.Set("Location", loc)
	h.Set("Content-Type", "text/html")
	w.WriteHeader(a.StatusCode)
}

func clientAddr(remote string) netip.Addr {
	ap, err := netip.ParseAddrPort(remote)
	if err != nil {
		host, _, _ := net.SplitHostPort(remote)
		a, _ := netip.ParseAddr(host)
		return a
	}
	return ap.Addr()
}

// traceID makes an X-Amzn-Trace-Id: Root=1-<epoch seconds, 8 hex>-<96 random bits, 24 hex>.
func traceID() string {
	var b [4 + 12]byte
	binary.BigEndian.PutUint32(b[0:], uint32(time.Now().Unix()))
	binary.BigEndian.PutUint32(b[4:], rand.Uint32())
	binary.BigEndian.PutUint64(b[8:], rand.Uint64())
	out := make([]byte, 0, 7+8+1+24)
	out = append(out, "Root=1-"...)
	out = hex.AppendEncode(out, b[:4])
	out = append(out, '-')
	out = hex.AppendEncode(out, b[4:])
	return string(out)
}

type bufPool struct{}

var buffers = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

func (bufPool) Get() []byte  { return *buffers.Get().(*[]byte) }
func (bufPool) Put(b []byte) { buffers.Put(&b) }
