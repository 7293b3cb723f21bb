// Package network is the VPC data plane: a router network namespace per VPC, a veth pair per
// task interface (ENI), security groups as nftables rules in the router, and masqueraded egress
// to the host where the subnet's route table allows it. It knows nothing of ECS.
//
// Layout on one host:
//
//	host ns ── gvXXXXXXXXXX ══ up0 ── router ns (one per VPC) ── eniXXXXXXXXXXXX ══ eth0 ── task ns
//	           100.64.0.0/31         lo: subnet gateways (.1),     route 10.0.1.5/32        10.0.1.5/24 noprefixroute
//	                                     load balancer nodes
//	                                 nft: table inet gantry                                 default via 10.0.1.1 onlink
//
// The host has a route only to each uplink's /31, never to a VPC's CIDR, so VPCs may overlap.
package network

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"regexp"

	"github.com/gantry-dev/gantry/internal/network/nft"
)

// Errors, for callers to test with errors.Is.
var (
	ErrVPCNotFound    = errors.New("vpc not found")
	ErrSubnetNotFound = errors.New("subnet not found in vpc")
	ErrVPCInUse       = errors.New("vpc has attached network interfaces")
	ErrConflict       = errors.New("conflicts with an existing network interface or vpc")
	ErrInvalid        = errors.New("invalid network configuration")
	ErrUplinksFull    = errors.New("host uplink prefix has no room for another vpc")
)

// MetadataAddr is where a task will find its metadata and credentials. Not served yet: the plan
// is a listener inside the router namespace (RunInVPC) on this address on the router's lo,
// which sees each task's real source address, plus an input-chain rule letting tasks reach it.
var MetadataAddr = netip.MustParseAddr("169.254.170.2")

// ResolverAddr is the VPC's DNS resolver: the VPC's base address + 2, as on AWS (10.0.0.2 for
// 10.0.0.0/16, 172.31.0.2 for the default VPC).
func ResolverAddr(vpcCIDR netip.Prefix) netip.Addr {
	return vpcCIDR.Masked().Addr().Next().Next()
}

// VPC is one virtual network.
type VPC struct {
	ID      string
	CIDR    netip.Prefix
	Subnets []Subnet
}

// Subnet is one subnet of a VPC and what its route table says about leaving the VPC.
type Subnet struct {
	ID   string
	CIDR netip.Prefix
	// Gateway is the router's address in the subnet; the zero value means the first host.
	Gateway netip.Addr
	// Public subnets route to an internet gateway: their ENIs with a public IP may leave the
	// VPC. NAT subnets route to a NAT gateway: all their ENIs may. Traffic leaving is
	// masqueraded to the VPC's uplink address.
	Public bool
	NAT    bool
}

// ENI is a task's network interface.
type ENI struct {
	ID         string
	VPCID      string
	SubnetID   string
	IP         netip.Addr
	SubnetCIDR netip.Prefix
	// MAC is derived from ID when empty (locally administered, like AWS's 02:...).
	MAC            net.HardwareAddr
	SecurityGroups []string
	// PublicIP is the ENI's public address, if it has one. In a Public subnet only ENIs with
	// one may leave the VPC (AWS: an internet gateway translates only addresses that have a
	// public IP); in a NAT subnet every ENI may. The address itself is not configured anywhere:
	// egress is masqueraded to the VPC's uplink address.
	PublicIP netip.Addr
}

// SecurityGroup and Permission are AWS's security group and IpPermission.
type (
	SecurityGroup = nft.SecurityGroup
	Permission    = nft.Permission
)

// DataPlane is what the agent needs of the VPC data plane; Plane is the real one, Fake the one
// for other packages' tests.
type DataPlane interface {
	EnsureVPC(ctx context.Context, vpc VPC) error
	DeleteVPC(ctx context.Context, id string) error
	Attach(ctx context.Context, eni ENI) (netnsPath string, err error)
	// NetnsPath is the path Attach gives the ENI's namespace, known before Attach runs.
	NetnsPath(eniID string) string
	Detach(ctx context.Context, eniID string) error
	ApplySecurityGroups(ctx context.Context, vpcID string, groups []SecurityGroup,
		members map[string][]netip.Addr, eniGroups map[netip.Addr][]string) error
	RunInVPC(ctx context.Context, vpcID string, fn func() error) error
	DialContext(ctx context.Context, vpcID, network, address string) (net.Conn, error)
	Recover(ctx context.Context) error
}

var (
	_ DataPlane = (*Plane)(nil)
	_ DataPlane = (*Fake)(nil)
)

// Config configures a Plane.
type Config struct {
	// StateDir holds the namespaces' bind mounts and the state files Recover reads.
	StateDir string
	// HostUplinkPrefix is carved into one /31 per VPC for the router<->host link, e.g.
	// 169.254.128.0/17 or a slice of 100.64.0.0/10. It must not be used elsewhere on the host.
	HostUplinkPrefix netip.Prefix
	// ResolvConf names the host's resolvers, where each VPC's resolver forwards the names it
	// does not answer itself; /etc/resolv.conf when empty.
	ResolvConf string
	Logger     *slog.Logger
}

var idPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

func checkID(kind, id string) error {
	if !idPattern.MatchString(id) {
		return fmt.Errorf("%s id %q: want 1-64 letters, digits, '-' or '_': %w", kind, id, ErrInvalid)
	}
	return nil
}

// validateVPC checks vpc and fills in default gateways.
func validateVPC(vpc VPC) (VPC, error) {
	if err := checkID("vpc", vpc.ID); err != nil {
		return vpc, err
	}
	if !vpc.CIDR.IsValid() || !vpc.CIDR.Addr().Is4() {
		return vpc, fmt.Errorf("vpc %s cidr %s: want IPv4: %w", vpc.ID, vpc.CIDR, ErrInvalid)
	}
	vpc.CIDR = vpc.CIDR.Masked()
	subnets := make([]Subnet, len(vpc.Subnets))
	for i, s := range vpc.Subnets {
		if err := checkID("subnet", s.ID); err != nil {
			return vpc, err
		}
		s.CIDR = s.CIDR.Masked()
		if !s.CIDR.IsValid() || !vpc.CIDR.Contains(s.CIDR.Addr()) || s.CIDR.Bits() < vpc.CIDR.Bits() {
			return vpc, fmt.Errorf("subnet %s cidr %s not inside vpc cidr %s: %w", s.ID, s.CIDR, vpc.CIDR, ErrInvalid)
		}
		if !s.Gateway.IsValid() {
			s.Gateway = s.CIDR.Addr().Next()
		}
		if !s.CIDR.Contains(s.Gateway) {
			return vpc, fmt.Errorf("subnet %s gateway %s outside %s: %w", s.ID, s.Gateway, s.CIDR, ErrInvalid)
		}
		for _, o := range subnets[:i] {
			if o.CIDR.Overlaps(s.CIDR) || o.ID == s.ID {
				return vpc, fmt.Errorf("subnet %s (%s) overlaps subnet %s (%s): %w", s.ID, s.CIDR, o.ID, o.CIDR, ErrInvalid)
			}
		}
		subnets[i] = s
	}
	vpc.Subnets = subnets
	return vpc, nil
}

func (v VPC) subnet(id string) (Subnet, bool) {
	for _, s := range v.Subnets {
		if s.ID == id {
			return s, true
		}
	}
	return Subnet{}, false
}

// egressSubnets returns the subnets whose traffic may leave the VPC whatever the ENI: those
// behind a NAT gateway.
func (v VPC) egressSubnets() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range v.Subnets {
		if s.NAT {
			out = append(out, s.CIDR)
		}
	}
	return out
}

// egressENI says whether eni may leave the VPC on its own account: a public IP in a subnet
// routed to an internet gateway. (In a NAT subnet the subnet's rule covers it.)
func (v VPC) egressENI(eni ENI) bool {
	s, ok := v.subnet(eni.SubnetID)
	return ok && s.Public && !s.NAT && eni.PublicIP.IsValid()
}
