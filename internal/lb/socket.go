package lb

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// A socket is one listening address of one load balancer. It owns the accept loop and hands
// each connection to its current generation: an http.Server with the listener's protocol and
// idle timeout. When either changes, a new generation takes the new connections while the
// old one finishes its own, so the address never stops accepting.
type socket struct {
	ln net.Listener

	mu  sync.Mutex
	cur *generation
	old []*generation // still serving the connections they accepted
}

// maxOldGenerations bounds the servers kept for connections accepted before a change; the
// oldest is shut down (its idle connections closed) beyond it.
const maxOldGenerations = 4

type generation struct {
	protocol Protocol
	idle     time.Duration
	srv      *http.Server
	ln       *chanListener
}

// applySocketsLocked closes the sockets snap no longer wants, then opens the new ones (in
// that order, so that an address can move between load balancers), and switches sockets
// whose protocol or idle timeout changed to a new generation.
func (l *LB) applySocketsLocked(snap *snapshot) error {
	for k, s := range l.sockets {
		if snap.listeners[k] == nil {
			delete(l.sockets, k)
			s.close(true)
		}
	}
	var errs []error
	for k, cl := range snap.listeners {
		s := l.sockets[k]
		if s == nil {
			ln, err := l.opts.Listen(l.ctx, k.lbID, cl.vpc, k.addr)
			if err != nil {
				errs = append(errs, fmt.Errorf("load balancer %q listener on %s: %w", k.lbID, k.addr, err))
				continue
			}
			s = &socket{ln: ln}
			l.sockets[k] = s
			s.switchTo(l.newGeneration(cl, ln.Addr()))
			go s.acceptLoop(l.log)
			continue
		}
		if s.cur.protocol != cl.protocol || s.cur.idle != cl.idle {
			s.switchTo(l.newGeneration(cl, s.ln.Addr()))
		}
	}
	return errors.Join(errs...)
}

func (l *LB) newGeneration(cl *compiledListener, addr net.Addr) *generation {
	key := cl.key
	gen := &generation{protocol: cl.protocol, idle: cl.idle, ln: newChanListener(addr)}
	gen.srv = &http.Server{
		Handler:     &handler{lb: l, key: key},
		IdleTimeout: cl.idle,
		ErrorLog:    slog.NewLogLogger(l.log.Handler(), slog.LevelDebug),
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, clientConnKey{}, &clientConn{})
		},
	}
	if cl.protocol == HTTPS {
		gen.srv.TLSConfig = &tls.Config{
			// The certificates and ALPN protocols of the current snapshot.
			GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
				cl := l.snap.Load().listeners[key]
				if cl == nil || cl.tls == nil {
					return nil, errors.New("listener gone")
				}
				return cl.tls, nil
			},
			NextProtos: []string{"h2", "http/1.1"},
		}
		go gen.srv.ServeTLS(gen.ln, "", "")
	} else {
		go gen.srv.Serve(gen.ln)
	}
	return gen
}

// switchTo makes gen take new connections. The previous generation stops accepting but
// keeps serving its connections with its settings: closing them, even idle ones, would race
// with requests clients are sending on them.
func (s *socket) switchTo(gen *generation) {
	s.mu.Lock()
	prev := s.cur
	s.cur = gen
	var retire *generation
	if prev != nil {
		prev.ln.Close()
		s.old = append(s.old, prev)
		if len(s.old) > maxOldGenerations {
			retire, s.old = s.old[0], s.old[1:]
		}
	}
	s.mu.Unlock()
	if retire != nil {
		shutdown(retire.srv)
	}
}

func (s *socket) acceptLoop(log *slog.Logger) {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			log.Warn("accept", "addr", s.ln.Addr(), "err", err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		for {
			s.mu.Lock()
			gen := s.cur
			s.mu.Unlock()
			if gen.ln.deliver(c) {
				break
			}
			if !s.hasNewer(gen) { // gen closed with the socket
				c.Close()
				break
			}
		}
	}
}

func (s *socket) hasNewer(gen *generation) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur != gen
}

// close stops accepting; graceful lets requests in flight finish, else they are cut.
func (s *socket) close(graceful bool) {
	s.ln.Close()
	s.mu.Lock()
	gens := append([]*generation{s.cur}, s.old...)
	s.mu.Unlock()
	for _, gen := range gens {
		if graceful {
			shutdown(gen.srv)
		} else {
			gen.srv.Close()
		}
	}
}

// shutdown stops a server in the background: idle connections close at once, active ones
// finish (for at most 5 minutes).
func shutdown(srv *http.Server) {
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		if srv.Shutdown(ctx) != nil {
			srv.Close()
		}
	}()
}

// chanListener is a net.Listener fed by a socket's accept loop.
type chanListener struct {
	addr net.Addr
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
}

func newChanListener(addr net.Addr) *chanListener {
	return &chanListener{addr: addr, ch: make(chan net.Conn), done: make(chan struct{})}
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *chanListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *chanListener) Addr() net.Addr { return l.addr }

// deliver hands c to the server; false when this listener is closed.
func (l *chanListener) deliver(c net.Conn) bool {
	select {
	case l.ch <- c:
		return true
	case <-l.done:
		return false
	}
}
