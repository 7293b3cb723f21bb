package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/netip"
	"slices"

	"github.com/gantry-dev/gantry/internal/lbsync"
	"github.com/gantry-dev/gantry/internal/logx"
	"github.com/gantry-dev/gantry/internal/network"
	"github.com/gantry-dev/gantry/internal/network/dns"
	"github.com/gantry-dev/gantry/internal/ops"
)

// lbNetwork is lbsync's Network over the VPC data plane.
type lbNetwork struct{ plane *network.Plane }

func (n lbNetwork) SetNodes(ctx context.Context, vpc lbsync.VPC, nodes map[netip.Addr][]string) error {
	v := network.VPC{ID: vpc.ID, CIDR: vpc.CIDR}
	for _, s := range vpc.Subnets {
		v.Subnets = append(v.Subnets, network.Subnet{ID: s.ID, CIDR: s.CIDR, Public: s.Public, NAT: s.NAT})
	}
	return n.plane.SetLocalAddrs(ctx, v, nodes)
}

func (n lbNetwork) NodeVPCs() []string { return slices.Collect(maps.Keys(n.plane.LocalAddrs())) }

func (n lbNetwork) SetDNSNames(vpcID string, names map[string][]netip.Addr) {
	n.plane.SetDNSNames(vpcID, names)
}

func (n lbNetwork) ListenInVPC(ctx context.Context, vpcID string, addr netip.AddrPort) (net.Listener, error) {
	return n.plane.ListenInVPC(ctx, vpcID, addr.String())
}

func (n lbNetwork) DialFrom(ctx context.Context, vpcID string, src netip.Addr, dst netip.AddrPort) (net.Conn, error) {
	return n.plane.DialFrom(ctx, vpcID, src, dst)
}

// acmCertificates is lbsync's Certificates over the ACM operations (acm set once they are built).
type acmCertificates struct{ acm *ops.ACM }

func (a *acmCertificates) Certificate(ctx context.Context, arn string) (tls.Certificate, error) {
	if a.acm == nil {
		return tls.Certificate{}, errors.New("no certificate manager")
	}
	certPEM, keyPEM, err := a.acm.KeyPair(ctx, arn)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.X509KeyPair(certPEM, keyPEM)
}

// hostNames is lbsync's HostNames: the table the host's resolver (--dns-listen) answers from.
type hostNames struct{ table *dns.Table }

func (h hostNames) SetNames(names map[string][]netip.Addr) { h.table.Set(names) }

// serveHostDNS answers the load balancers' DNS names on addr (udp and tcp) with their host
// addresses, and refuses every other query, until the returned stop. Empty addr: nothing.
func serveHostDNS(addr string, table *dns.Table, logger *slog.Logger) (func(), error) {
	if addr == "" {
		return func() {}, nil
	}
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("--dns-listen %s: %w", addr, err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		pc.Close()
		return nil, fmt.Errorf("--dns-listen %s: %w", addr, err)
	}
	srv := &dns.Server{Names: table.Lookup, NamesOnly: true, Logger: logger}
	go func() {
		if err := srv.ServeUDP(pc); err != nil {
			logger.Warn("load balancer dns stopped", logx.KeyError, err)
		}
	}()
	go func() {
		if err := srv.ServeTCP(ln); err != nil {
			logger.Warn("load balancer dns stopped", logx.KeyError, err)
		}
	}()
	return func() { pc.Close(); ln.Close() }, nil
}
