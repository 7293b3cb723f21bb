package network

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"

	"github.com/gantry-dev/gantry/internal/network/dns"
	"github.com/gantry-dev/gantry/internal/network/netns"
)

// vpcResolver is the VPC's DNS resolver: sockets opened inside the router namespace on the
// VPC's base + 2 (they stay in it), served by goroutines of this process. Forwarded queries
// leave from the host's namespace, towards the host's own resolvers.
type vpcResolver struct {
	pc net.PacketConn
	ln net.Listener
}

// ensureResolverLocked starts the VPC's resolver unless it runs. Its address is on the
// router's lo already (ensureGateways).
func (p *Plane) ensureResolverLocked(rt *vpcRuntime) error {
	if rt.dns != nil {
		return nil
	}
	addr := net.JoinHostPort(ResolverAddr(rt.rec.VPC.CIDR).String(), strconv.Itoa(53))
	r := &vpcResolver{}
	err := netns.Do(rt.nsPath, func() error {
		var err error
		if r.pc, err = net.ListenPacket("udp4", addr); err != nil {
			return err
		}
		r.ln, err = net.Listen("tcp4", addr)
		return err
	})
	if err != nil {
		r.close()
		return fmt.Errorf("resolver on %s: %w", addr, err)
	}
	vpcID := rt.rec.VPC.ID
	srv := &dns.Server{VPC: rt.rec.VPC.CIDR, Upstreams: dns.Upstreams(p.resolvConf, nil),
		Names:  func(name string) ([]netip.Addr, bool) { return p.lookupName(vpcID, name) },
		Logger: p.log.With("vpc", rt.rec.VPC.ID)}
	go func() {
		if err := srv.ServeUDP(r.pc); err != nil {
			p.log.Warn("vpc resolver stopped", "vpc", rt.rec.VPC.ID, "err", err)
		}
	}()
	go func() {
		if err := srv.ServeTCP(r.ln); err != nil {
			p.log.Warn("vpc resolver stopped", "vpc", rt.rec.VPC.ID, "err", err)
		}
	}()
	rt.dns = r
	return nil
}

func (r *vpcResolver) close() error {
	if r == nil {
		return nil
	}
	var errs []error
	if r.pc != nil {
		errs = append(errs, r.pc.Close())
	}
	if r.ln != nil {
		errs = append(errs, r.ln.Close())
	}
	return errors.Join(errs...)
}

func (rt *vpcRuntime) stopResolver() {
	_ = rt.dns.close()
	rt.dns = nil
}
