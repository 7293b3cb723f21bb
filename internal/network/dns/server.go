package dns

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"
)

// DefaultTimeout bounds a forwarded query: past it the client gets SERVFAIL.
const DefaultTimeout = 2 * time.Second

// localTTL is the TTL of the private names' answers (AWS gives 60 s).
const localTTL = 60

// maxInflight bounds the queries being answered at once; more are dropped (the client retries).
const maxInflight = 256

// Server is one VPC's resolver.
type Server struct {
	// VPC is the VPC's CIDR: private names answer only for addresses inside it.
	VPC netip.Prefix
	// Upstreams are the resolvers ("ip:port") names outside the private zone go to, tried in
	// order within Timeout. None: such queries get SERVFAIL.
	Upstreams []string
	// Timeout bounds a forwarded query (DefaultTimeout when zero).
	Timeout time.Duration
	// Dial opens the connections to the upstreams; a plain net.Dialer when nil. The Plane's
	// server listens inside the VPC's router and forwards from the host's namespace.
	Dial func(ctx context.Context, network, address string) (net.Conn, error)
	// Names, when set, is asked first: a name it knows (a load balancer's DNS name) is
	// answered with its addresses, authoritatively, whatever the zone.
	Names func(name string) ([]netip.Addr, bool)
	// NamesOnly answers only what Names knows and REFUSES every other query: the host's
	// resolver of load balancer names, which must not become an open forwarder.
	NamesOnly bool
	Logger    *slog.Logger

	once sync.Once
	sem  chan struct{}
	wg   sync.WaitGroup
}

func (s *Server) init() {
	s.once.Do(func() { s.sem = make(chan struct{}, maxInflight) })
}

// Answer returns the response to the message req, or nil when it deserves none (a response,
// not a query).
func (s *Server) Answer(ctx context.Context, network string, req []byte) []byte {
	q, err := ParseQuery(req)
	if err != nil {
		if len(req) >= 4 && binary.BigEndian.Uint16(req[2:])&flagQR != 0 {
			return nil
		}
		if errors.Is(err, errNotQuery) {
			return ErrorResponse(req, RcodeNotImp)
		}
		return ErrorResponse(req, RcodeFormErr)
	}
	if s.Names != nil {
		if addrs, ok := s.Names(q.Name); ok {
			switch {
			case q.Class != ClassIN:
				return Response(q, RcodeNXDomain, true, 0)
			case q.Type == TypeA || q.Type == TypeANY:
				return Response(q, RcodeSuccess, true, localTTL, only4(addrs)...)
			}
			return Response(q, RcodeSuccess, true, 0)
		}
	}
	if s.NamesOnly {
		return Response(q, RcodeRefused, false, 0)
	}
	z := Lookup(q.Name, s.VPC)
	if !z.Local {
		return s.forward(ctx, network, q, req)
	}
	switch {
	case q.Class != ClassIN:
		return Response(q, RcodeNXDomain, true, 0)
	case z.Apex:
		return Response(q, RcodeSuccess, true, 0)
	case !z.Addr.IsValid():
		return Response(q, RcodeNXDomain, true, 0)
	case q.Type == TypeA || q.Type == TypeANY:
		return Response(q, RcodeSuccess, true, localTTL, z.Addr)
	}
	return Response(q, RcodeSuccess, true, 0) // the name exists, with no record of that type
}

func only4(addrs []netip.Addr) []netip.Addr {
	out := make([]netip.Addr, 0, len(addrs))
	for _, a := range addrs {
		if a.Unmap().Is4() {
			out = append(out, a.Unmap())
		}
	}
	return out
}

// forward asks the upstreams in turn, all within the timeout, and relays the first answer
// (SERVFAIL when none comes).
func (s *Server) forward(ctx context.Context, network string, q Query, req []byte) []byte {
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	dial := s.Dial
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	start := time.Now()
	for i, up := range s.Upstreams {
		if ctx.Err() != nil {
			break
		}
		// Each upstream gets an equal share of what is left: a dead first one does not starve
		// the others.
		share := (timeout - time.Since(start)) / time.Duration(len(s.Upstreams)-i)
		uctx, ucancel := context.WithTimeout(ctx, share)
		resp, err := exchange(uctx, dial, network, up, req)
		ucancel()
		if err != nil {
			s.log().Debug("dns forward", "upstream", up, "name", q.Name, "err", err)
			continue
		}
		return resp
	}
	return Response(q, RcodeServFail, false, 0)
}

// exchange sends req to addr and returns its answer with the same id.
func exchange(ctx context.Context, dial func(context.Context, string, string) (net.Conn, error), network, addr string, req []byte) ([]byte, error) {
	c, err := dial(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	id := binary.BigEndian.Uint16(req)
	if network == "tcp" {
		if _, err := c.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(req))), req...)); err != nil {
			return nil, err
		}
		return readTCP(bufio.NewReader(c))
	}
	if _, err := c.Write(req); err != nil {
		return nil, err
	}
	buf := make([]byte, 65535)
	for {
		n, err := c.Read(buf)
		if err != nil {
			return nil, err
		}
		if n >= headerLen && binary.BigEndian.Uint16(buf) == id {
			return append([]byte(nil), buf[:n]...), nil
		}
	}
}

func readTCP(r io.Reader) ([]byte, error) {
	var l [2]byte
	if _, err := io.ReadFull(r, l[:]); err != nil {
		return nil, err
	}
	b := make([]byte, binary.BigEndian.Uint16(l[:]))
	_, err := io.ReadFull(r, b)
	return b, err
}

func (s *Server) log() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

// ServeUDP answers the queries arriving on pc until pc is closed; each is answered on its own
// goroutine, so a slow forward holds up nothing else.
func (s *Server) ServeUDP(pc net.PacketConn) error {
	s.init()
	buf := make([]byte, 65535)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				s.wg.Wait()
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			s.wg.Wait()
			return err
		}
		select {
		case s.sem <- struct{}{}:
		default:
			continue // too busy: the client will ask again
		}
		req := append([]byte(nil), buf[:n]...)
		s.wg.Add(1)
		go func() {
			defer func() { <-s.sem; s.wg.Done() }()
			resp := s.Answer(context.Background(), "udp", req)
			if resp == nil {
				return
			}
			if len(resp) > maxUDP {
				resp = truncate(resp)
			}
			_, _ = pc.WriteTo(resp, from)
		}()
	}
}

// truncate keeps a response's header and question and sets TC: the client asks again over TCP.
func truncate(resp []byte) []byte {
	q, err := ParseQuery(append(append([]byte(nil), resp[:2]...), append([]byte{0, 0}, resp[4:]...)...))
	if err != nil {
		return resp[:headerLen]
	}
	out := append([]byte(nil), resp[:headerLen]...)
	out = append(out, q.question...)
	binary.BigEndian.PutUint16(out[2:], binary.BigEndian.Uint16(resp[2:])|flagTC)
	binary.BigEndian.PutUint16(out[6:], 0)
	binary.BigEndian.PutUint16(out[8:], 0)
	binary.BigEndian.PutUint16(out[10:], 0)
	return out
}

// ServeTCP answers queries on the connections ln accepts until ln is closed.
func (s *Server) ServeTCP(ln net.Listener) error {
	s.init()
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return err
		}
		go func() {
			defer c.Close()
			r := bufio.NewReader(c)
			for {
				_ = c.SetDeadline(time.Now().Add(10 * time.Second))
				req, err := readTCP(r)
				if err != nil {
					return
				}
				resp := s.Answer(context.Background(), "tcp", req)
				if resp == nil {
					return
				}
				if _, err := c.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(resp))), resp...)); err != nil {
					return
				}
			}
		}()
	}
}

// Upstreams returns the nameservers of a resolv.conf ("ip:53"), leaving out those in skip
// (the VPC resolvers themselves, which would loop).
func Upstreams(path string, skip func(netip.Addr) bool) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 || fields[0] != "nameserver" {
			continue
		}
		a, err := netip.ParseAddr(strings.Split(fields[1], "%")[0])
		if err != nil || (skip != nil && skip(a)) {
			continue
		}
		out = append(out, netip.AddrPortFrom(a, 53).String())
	}
	return out
}
