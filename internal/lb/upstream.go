package lb

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gantry-dev/gantry/internal/logx"
)

// The HTTP/1.1 client to targets. Unlike http.Transport, a request is written and its
// response read on the handler's goroutine (a request body streams from a second one), and
// the target's response timeout is a read deadline rather than a timer and a context: the
// per-request cost is what decides throughput against HAProxy. Upgrades go through
// httputil.ReverseProxy and the target's http.Transport instead.

const (
	maxIdlePerTarget = 1024
	idleConnTimeout  = 55 * time.Second // below the usual 60s keep-alive of target servers
	freshConn        = time.Second      // for requests with a body; Node.js closes after 5s
)

// upConn is a kept-alive connection to a target.
type upConn struct {
	conn     net.Conn
	br       *bufio.Reader
	bw       *bufio.Writer
	lastUsed time.Time
}

// upPool is a target's idle connections, most recently used last.
type upPool struct {
	mu   sync.Mutex
	idle []*upConn
}

// getConn returns an idle connection used within maxIdle, or a new one.
func (t *target) getConn(ctx context.Context, maxIdle time.Duration) (uc *upConn, reused bool, err error) {
	p := &t.pool
	p.mu.Lock()
	for len(p.idle) > 0 {
		uc = p.idle[len(p.idle)-1]
		idle := time.Since(uc.lastUsed)
		if idle >= maxIdle && idle < idleConnTimeout {
			break // fine for others, not for this request: dial
		}
		p.idle = p.idle[:len(p.idle)-1]
		if idle < maxIdle {
			p.mu.Unlock()
			return uc, true, nil
		}
		uc.conn.Close()
	}
	p.mu.Unlock()
	c, err := t.dial(ctx)
	if err != nil {
		return nil, false, err
	}
	return &upConn{conn: c, br: bufio.NewReaderSize(c, 16<<10), bw: bufio.NewWriterSize(c, 16<<10)}, false, nil
}

// dial connects to t (TLS for HTTPS groups) within dialTimeout.
func (t *target) dial(ctx context.Context) (net.Conn, error) {
	ctx, cancel := context.WithTimeoutCause(ctx, dialTimeout, errTargetTimeout)
	defer cancel()
	c, err := t.dialRaw(ctx)
	if err != nil || !t.https {
		return c, err
	}
	tc := tls.Client(c, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}}) // ALB does not verify targets
	if err := tc.HandshakeContext(ctx); err != nil {
		c.Close()
		if context.Cause(ctx) == errTargetTimeout {
			return nil, errTargetTimeout
		}
		return nil, err
	}
	return tc, nil
}

// dialRaw opens a TCP connection to t, tracked for the cut.
func (t *target) dialRaw(ctx context.Context) (net.Conn, error) {
	ctx, cancel := context.WithTimeoutCause(ctx, dialTimeout, errTargetTimeout)
	defer cancel()
	c, err := t.g.lb.opts.Dial(ctx, t.vpc, t.addr)
	if err != nil {
		if context.Cause(ctx) == errTargetTimeout {
			return nil, errTargetTimeout
		}
		return nil, err
	}
	return t.track(c)
}

func (t *target) putConn(uc *upConn) {
	if t.draining.Load() {
		uc.conn.Close()
		return
	}
	uc.lastUsed = time.Now()
	p := &t.pool
	p.mu.Lock()
	if len(p.idle) < maxIdlePerTarget {
		p.idle = append(p.idle, uc)
		uc = nil
	}
	p.mu.Unlock()
	if uc != nil {
		uc.conn.Close()
	}
}

// closeIdle closes every idle connection (draining, cut, close).
func (t *target) closeIdle() {
	p := &t.pool
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	for _, uc := range idle {
		uc.conn.Close()
	}
	t.transport.CloseIdleConnections()
}

// hopHeaders are removed in both directions (RFC 9110 7.6.1), with those Connection names.
var hopHeaders = []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

func removeHopHeaders(h http.Header) {
	for _, v := range h["Connection"] {
		for name := range strings.SplitSeq(v, ",") {
			if name = textproto.TrimString(name); name != "" {
				h.Del(name)
			}
		}
	}
	for _, name := range hopHeaders {
		delete(h, name)
	}
}

// forwardLean proxies a request that is not an upgrade over t's pooled connections. The
// inbound request's header map is reused for the outbound request (the handler owns it).
func forwardLean(w http.ResponseWriter, r *http.Request, rt *route) {
	out := &http.Request{
		Method:        r.Method,
		URL:           r.URL,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        r.Header,
		Body:          r.Body,
		ContentLength: r.ContentLength,
		Host:          r.Host,
	}
	if out.Host == "" {
		out.Host = rt.t.addr.String()
	}
	if r.ContentLength == 0 {
		out.Body = nil
	} else {
		// Keep streaming the request body while the response goes out (the HTTP/1 server
		// would otherwise discard what is left of it at the first response byte).
		http.NewResponseController(w).EnableFullDuplex()
	}
	removeHopHeaders(out.Header)
	if len(r.Trailer) > 0 {
		out.Trailer = r.Trailer // announced by Request.Write, sent after a chunked body
	}
	forwardHeaders(out.Header, r, rt)
	// stopBody ends a request body copy blocked on a stalled client.
	stopBody := func() { http.NewResponseController(w).SetReadDeadline(time.Unix(1, 0)) }
	resp, uc, wait, err := roundTripLean(r.Context(), out, rt, stopBody)
	if err != nil {
		if err == errClientGone {
			return
		}
		rt.t.g.lb.log.Debug("target failed", "target", rt.t.addr, logx.KeyError, err)
		code := http.StatusBadGateway
		if errors.Is(err, errTargetTimeout) {
			code = http.StatusGatewayTimeout
		}
		errorPage(w, code)
		return
	}
	err = copyResponse(w, r, resp, rt)
	reusable := err == nil && !resp.Close
	if wait != nil {
		select {
		case werr := <-wait:
			reusable = reusable && werr == nil
		default:
			if db, ok := out.Body.(*deadlineBody); ok && db.done.Load() {
				// The client's body has ended; the copy is finishing its last write.
				reusable = reusable && <-wait == nil
				break
			}
			// The target answered before reading the whole body.
			uc.conn.Close()
			stopCopy(out.Body, wait, stopBody)
			reusable = false
		}
	}
	if reusable {
		rt.t.putConn(uc)
	} else {
		uc.conn.Close()
	}
	if err != nil {
		// The body broke off (target or client): a status can no longer tell the client.
		panic(http.ErrAbortHandler)
	}
}

// roundTripLean writes out and reads its response head. wait, when not nil, yields the
// request body's write error once written. A reused connection that the target had closed
// is replaced once for requests without a body.
func roundTripLean(ctx context.Context, out *http.Request, rt *route, stopBody func()) (resp *http.Response, uc *upConn, wait chan error, err error) {
	idle := rt.cl.idle
	for attempt := 0; ; attempt++ {
		var reused bool
		// A request with a body cannot be sent again if the target closed a connection
		// that idled: it only takes one used a moment ago, when that is unlikely.
		maxIdle := idleConnTimeout
		if out.Body != nil {
			maxIdle = freshConn
		}
		uc, reused, err = rt.t.getConn(ctx, maxIdle)
		if err != nil {
			if ctx.Err() != nil {
				err = errClientGone
			}
			return nil, nil, nil, err
		}
		uc.conn.SetReadDeadline(time.Now().Add(idle))
		if out.Body == nil {
			err = out.Write(uc.bw)
			if err == nil {
				err = uc.bw.Flush()
			}
		} else {
			out.Body = &deadlineBody{ReadCloser: out.Body, conn: uc.conn, idle: idle}
			wait = make(chan error, 1)
			go func(uc *upConn) {
				err := out.Write(uc.bw)
				if err == nil {
					err = uc.bw.Flush()
				}
				wait <- err
			}(uc)
		}
		if err == nil {
			// A client that goes away stops the wait (and the connection, unusable now).
			conn := uc.conn
			stop := context.AfterFunc(ctx, func() { conn.SetReadDeadline(time.Unix(1, 0)) })
			resp, err = readResponse(uc.br, out)
			if !stop() && err == nil {
				resp.Body.Close()
				err = ctx.Err()
			}
		}
		if err == nil {
			uc.conn.SetReadDeadline(time.Time{})
			return resp, uc, wait, nil
		}
		uc.conn.Close()
		if ctx.Err() != nil {
			err = errClientGone
		}
		if wait != nil {
			stopCopy(out.Body, wait, stopBody)
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return nil, nil, nil, errTargetTimeout
		}
		if !reused || out.Body != nil || attempt > 0 || err == errClientGone {
			return nil, nil, nil, err
		}
	}
}

// readResponse reads a final response, skipping 1xx interim ones (101 is handled elsewhere).
func readResponse(br *bufio.Reader, out *http.Request) (*http.Response, error) {
	for {
		resp, err := http.ReadResponse(br, out)
		if err != nil || resp.StatusCode >= 200 || resp.StatusCode < 100 {
			return resp, err
		}
	}
}

// deadlineBody pushes the response deadline back on every read of the request body, so a
// slow upload is not a target timeout.
type deadlineBody struct {
	io.ReadCloser
	conn net.Conn
	idle time.Duration
	done atomic.Bool // the client's body ended (EOF or error): the copy no longer waits on it
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.conn.SetReadDeadline(time.Now().Add(b.idle))
	if err != nil {
		b.done.Store(true)
	}
	return n, err
}

// stopCopy ends the request body copy: at once when the client's body has ended, else by
// failing the client connection's reads (stopBody), which also cancels the request.
func stopCopy(body io.ReadCloser, wait chan error, stopBody func()) error {
	if db, ok := body.(*deadlineBody); !ok || !db.done.Load() {
		stopBody()
	}
	return <-wait
}

// copyResponse sends resp to the client; nil when the whole body went through.
func copyResponse(w http.ResponseWriter, r *http.Request, resp *http.Response, rt *route) error {
	h := w.Header()
	removeHopHeaders(resp.Header)
	for k, vs := range resp.Header {
		h[k] = vs
	}
	if rt.t.draining.Load() && r.ProtoMajor == 1 {
		h.Set("Connection", "close")
	}
	for _, c := range rt.cookies {
		h.Add("Set-Cookie", c.String())
	}
	if rt.appStick != "" && responseSetsCookie(resp, rt.appStick) {
		h.Add("Set-Cookie", targetCookie(appCookieName, rt.t, rt.appFor).String())
	}
	for k := range resp.Trailer {
		h.Add("Trailer", k)
	}
	w.WriteHeader(resp.StatusCode)
	buf := buffers.Get().(*[]byte)
	defer buffers.Put(buf)
	var err error
	if resp.ContentLength == -1 {
		err = copyFlushing(w, resp.Body, *buf) // streaming: each chunk as it comes
	} else {
		_, err = io.CopyBuffer(writerOnly{w}, resp.Body, *buf)
	}
	resp.Body.Close()
	for k, vs := range resp.Trailer {
		h[http.TrailerPrefix+k] = vs
	}
	return err
}

var (
	errClientWrite = errors.New("client write failed")
	errClientGone  = errors.New("client went away")
)

func copyFlushing(w http.ResponseWriter, body io.Reader, buf []byte) error {
	rc := http.NewResponseController(w)
	for {
		n, err := body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return errClientWrite
			}
			rc.Flush()
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// writerOnly hides ReadFrom so that io.CopyBuffer uses the pooled buffer; client write
// failures are told apart from target read failures.
type writerOnly struct{ w io.Writer }

func (w writerOnly) Write(p []byte) (int, error) {
	n, err := w.w.Write(p)
	if err != nil {
		return n, errClientWrite
	}
	return n, nil
}
