package network

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/network/netns"
	"github.com/vishvananda/netlink"
)

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("needs root: kernel tests are required, run the suite as root")
	}
}

var uplinkSeq atomic.Uint32

// newPlane returns a Plane over a temporary state dir with its own /24 of 100.64.0.0/10 for
// uplinks, so parallel tests (and parallel runs) do not collide; cleanup removes everything.
func newPlane(t *testing.T) (*Plane, Config) {
	t.Helper()
	requireRoot(t)
	n := (rand.Uint32N(1<<14) + uplinkSeq.Add(97)) % (1 << 14)
	cfg := Config{
		StateDir:         t.TempDir(),
		HostUplinkPrefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{100, byte(64 + n>>8), byte(n), 0}), 24),
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cleanupPlane(t, cfg) })
	t.Cleanup(func() { p.Close() }) // first: it makes no spare after this
	return p, cfg
}

// cleanupPlane removes whatever a Plane over cfg left, through a fresh Plane that recovers it.
func cleanupPlane(t *testing.T, cfg Config) {
	p, err := New(cfg)
	if err != nil {
		t.Error(err)
		return
	}
	defer p.Close()
	ctx := context.Background()
	if err := p.Recover(ctx); err != nil {
		t.Errorf("cleanup recover: %v", err)
	}
	p.mu.Lock()
	var enis, vpcs []string
	for id := range p.enis {
		enis = append(enis, id)
	}
	for id := range p.vpcs {
		vpcs = append(vpcs, id)
	}
	p.mu.Unlock()
	for _, id := range enis {
		if err := p.Detach(ctx, id); err != nil {
			t.Errorf("cleanup detach: %v", err)
		}
	}
	for _, id := range vpcs {
		if err := p.SetLocalAddrs(ctx, VPC{ID: id}, nil); err != nil {
			t.Errorf("cleanup local addresses: %v", err)
		}
		if err := p.DeleteVPC(ctx, id); err != nil {
			t.Errorf("cleanup delete vpc: %v", err)
		}
	}
}

func mustEnsure(t *testing.T, p *Plane, vpc VPC) {
	t.Helper()
	if err := p.EnsureVPC(t.Context(), vpc); err != nil {
		t.Fatal(err)
	}
}

func mustAttach(t *testing.T, p *Plane, eni ENI) string {
	t.Helper()
	path, err := p.Attach(t.Context(), eni)
	if err != nil {
		t.Fatal(err)
	}
	return path
}

func prefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }
func ip(s string) netip.Addr       { return netip.MustParseAddr(s) }

// serveTCP listens on addr inside the namespace at ns. Each connection first gets one line,
// "<name> <remote address>", then has its lines echoed back.
func serveTCP(t *testing.T, ns, addr, name string) {
	t.Helper()
	var ln net.Listener
	listen := func() error {
		var err error
		ln, err = net.Listen("tcp", addr)
		return err
	}
	var err error
	if ns == "" {
		err = listen()
	} else {
		err = netns.Do(ns, listen)
	}
	if err != nil {
		t.Fatalf("listen %s in %s: %v", addr, ns, err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				fmt.Fprintf(c, "%s %s\n", name, c.RemoteAddr())
				sc := bufio.NewScanner(c)
				for sc.Scan() {
					fmt.Fprintf(c, "%s\n", sc.Text())
				}
			}()
		}
	}()
}

// serveUDP answers every datagram to addr inside ns with name.
func serveUDP(t *testing.T, ns, addr, name string) {
	t.Helper()
	var pc net.PacketConn
	if err := netns.Do(ns, func() error {
		var err error
		pc, err = net.ListenPacket("udp", addr)
		return err
	}); err != nil {
		t.Fatalf("listen udp %s: %v", addr, err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			_, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			pc.WriteTo([]byte(name), from)
		}
	}()
}

// session is an open TCP connection from inside a task.
type session struct {
	conn  net.Conn
	r     *bufio.Reader
	hello string
}

// dialTCP connects from inside ns to addr and reads the greeting.
func dialTCP(ns, addr string, timeout time.Duration) (*session, error) {
	var c net.Conn
	err := netns.Do(ns, func() error {
		var err error
		c, err = net.DialTimeout("tcp", addr, timeout)
		return err
	})
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(timeout))
	r := bufio.NewReader(c)
	hello, err := r.ReadString('\n')
	if err != nil {
		c.Close()
		return nil, err
	}
	c.SetDeadline(time.Time{})
	return &session{conn: c, r: r, hello: strings.TrimSpace(hello)}, nil
}

// echo sends a line on an established session and waits for it to come back.
func (s *session) echo(line string, timeout time.Duration) error {
	s.conn.SetDeadline(time.Now().Add(timeout))
	defer s.conn.SetDeadline(time.Time{})
	if _, err := fmt.Fprintf(s.conn, "%s\n", line); err != nil {
		return err
	}
	got, err := s.r.ReadString('\n')
	if err != nil {
		return err
	}
	if strings.TrimSpace(got) != line {
		return fmt.Errorf("echo %q, got %q", line, got)
	}
	return nil
}

// askUDP sends one datagram from inside ns to addr and returns the answer.
func askUDP(ns, addr string, timeout time.Duration) (string, error) {
	var c net.Conn
	if err := netns.Do(ns, func() error {
		var err error
		c, err = net.Dial("udp", addr)
		return err
	}); err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	if _, err := c.Write([]byte("?")); err != nil {
		return "", err
	}
	buf := make([]byte, 100)
	n, err := c.Read(buf)
	return string(buf[:n]), err
}

const (
	allowWait = 3 * time.Second
	denyWait  = 400 * time.Millisecond
)

// reach reports whether a TCP connection from ns to addr succeeds.
func reach(ns, addr string, timeout time.Duration) (string, error) {
	s, err := dialTCP(ns, addr, timeout)
	if err != nil {
		return "", err
	}
	defer s.conn.Close()
	return s.hello, nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// nftList returns `nft list ruleset` inside the namespace at ns.
func nftList(t *testing.T, ns string) string {
	t.Helper()
	var out []byte
	err := netns.Do(ns, func() error {
		var err error
		out, err = exec.Command("nft", "list", "ruleset").CombinedOutput()
		return err
	})
	if err != nil {
		t.Fatalf("nft list ruleset: %v\n%s", err, out)
	}
	return string(out)
}

// checkAddressing checks, from inside a task's namespace, that its eth0 l has the one address
// cidr and that the world is reached via gateway.
func checkAddressing(t *testing.T, l netlink.Link, cidr, gateway string) {
	t.Helper()
	addrs, _ := dumpAgain(func() ([]netlink.Addr, error) { return netlink.AddrList(l, netlink.FAMILY_V4) })
	if len(addrs) != 1 || addrs[0].IPNet.String() != cidr {
		t.Errorf("addresses %v", addrs)
	}
	routes, _ := netlink.RouteGet(net.ParseIP("8.8.8.8"))
	if len(routes) != 1 || routes[0].Gw.String() != gateway {
		t.Errorf("route to the world %v, want via %s", routes, gateway)
	}
}

// TestDumpAgain: an interrupted dump is asked again, and the last of dumpAttempts interrupted
// ones stands; other errors are not retried.
func TestDumpAgain(t *testing.T) {
	calls := 0
	v, err := dumpAgain(func() (int, error) {
		if calls++; calls < 3 {
			return 0, netlink.ErrDumpInterrupted
		}
		return 7, nil
	})
	if v != 7 || err != nil || calls != 3 {
		t.Errorf("after two interruptions: %d, %v in %d calls; want 7, nil in 3", v, err, calls)
	}
	calls = 0
	if _, err := dumpAgain(func() (int, error) { calls++; return 0, netlink.ErrDumpInterrupted }); !errors.Is(err, netlink.ErrDumpInterrupted) || calls != dumpAttempts {
		t.Errorf("always interrupted: %v in %d calls, want the interruption after %d", err, calls, dumpAttempts)
	}
	calls = 0
	if _, err := dumpAgain(func() (int, error) { calls++; return 0, os.ErrPermission }); !errors.Is(err, os.ErrPermission) || calls != 1 {
		t.Errorf("another error: %v in %d calls, want it at once", err, calls)
	}
}
