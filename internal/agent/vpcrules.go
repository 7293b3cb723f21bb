package agent

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/network"
)

// localENI is an interface of this host in a VPC, as the rules need it.
type localENI struct {
	IP     netip.Addr
	Groups []string
}

// rulePlan is what one ApplySecurityGroups call takes.
type rulePlan struct {
	Groups    []network.SecurityGroup
	Members   map[string][]netip.Addr
	ENIGroups map[netip.Addr][]string
}

// planRules turns a VPC's snapshot into the data plane's rules for this host. Groups and their
// members come from the snapshot (members on any host: rules name them as peers). Interface
// entries are kept to this host's interfaces, and each of them is present even when the
// snapshot does not list it yet, with the groups its task was placed with: a task that is here
// is always filtered by its own groups. Rules that cannot be read are left out (which denies
// what they would have allowed) and returned as the error, next to a usable plan.
func planRules(snap model.NetworkSnapshot, local []localENI) (rulePlan, error) {
	var errs []error
	plan := rulePlan{Members: map[string][]netip.Addr{}, ENIGroups: map[netip.Addr][]string{}}
	for _, g := range snap.Groups {
		sg, err := groupFromModel(g)
		errs = append(errs, err)
		plan.Groups = append(plan.Groups, sg)
	}
	for _, id := range slices.Sorted(maps.Keys(snap.Members)) {
		for _, s := range snap.Members[id] {
			ip, err := netip.ParseAddr(s)
			if err != nil || !ip.Is4() {
				errs = append(errs, fmt.Errorf("group %s member %q: not an IPv4 address", id, s))
				continue
			}
			plan.Members[id] = appendNew(plan.Members[id], ip)
		}
	}
	for _, e := range local {
		groups := e.Groups
		if gs, ok := snap.ENIGroups[e.IP.String()]; ok {
			groups = gs
		}
		groups = slices.Compact(slices.Sorted(slices.Values(groups)))
		plan.ENIGroups[e.IP] = groups
		for _, g := range groups {
			plan.Members[g] = appendNew(plan.Members[g], e.IP)
		}
	}
	return plan, errors.Join(errs...)
}

func appendNew(s []netip.Addr, a netip.Addr) []netip.Addr {
	if slices.Contains(s, a) {
		return s
	}
	return append(s, a)
}

// groupFromModel converts a group's rules, leaving out (and naming) those it cannot read.
func groupFromModel(g model.SecurityGroup) (network.SecurityGroup, error) {
	sg := network.SecurityGroup{ID: g.ID}
	var errs []error
	for _, r := range g.Rules {
		p, err := permissionFromRule(r)
		if err != nil {
			errs = append(errs, fmt.Errorf("group %s rule %s: %w", g.ID, r.ID, err))
			continue
		}
		if r.Egress {
			sg.Egress = append(sg.Egress, p)
		} else {
			sg.Ingress = append(sg.Ingress, p)
		}
	}
	return sg, errors.Join(errs...)
}

// permissionFromRule converts one stored rule to an IpPermission of the data plane: the
// protocol by name where nftables matches ports or icmp types ("6" -> tcp, "17" -> udp,
// "1" -> icmp), "-1" for all traffic, other protocol numbers as they are; the port range, or
// for icmp the type and code (-1: any); the peer as a CIDR or a group whose members it means.
func permissionFromRule(r model.SecurityGroupRule) (network.Permission, error) {
	p := network.Permission{FromPort: int(r.FromPort), ToPort: int(r.ToPort)}
	switch proto := strings.ToLower(strings.TrimSpace(r.Protocol)); proto {
	case model.ProtocolAll, "all", "":
		p.Protocol, p.FromPort, p.ToPort = "-1", -1, -1
	case model.ProtocolTCP, "tcp":
		p.Protocol = "tcp"
	case model.ProtocolUDP, "udp":
		p.Protocol = "udp"
	case model.ProtocolICMP, "icmp":
		p.Protocol = "icmp"
	default:
		n, err := strconv.Atoi(proto)
		if err != nil || n < 0 || n > 255 {
			return p, fmt.Errorf("protocol %q: want -1, tcp, udp, icmp or a number 0-255", r.Protocol)
		}
		p.Protocol, p.FromPort, p.ToPort = proto, -1, -1
	}
	if (p.Protocol == "tcp" || p.Protocol == "udp") && p.FromPort != -1 &&
		(p.FromPort < 0 || p.ToPort > 65535 || p.FromPort > p.ToPort) {
		return p, fmt.Errorf("port range %d-%d: want 0 <= from <= to <= 65535", p.FromPort, p.ToPort)
	}
	switch {
	case r.CidrIPv4 != "" && r.GroupID != "":
		return p, fmt.Errorf("both cidr %s and group %s: want one peer", r.CidrIPv4, r.GroupID)
	case r.CidrIPv4 != "":
		c, err := netip.ParsePrefix(r.CidrIPv4)
		if err != nil || !c.Addr().Is4() {
			return p, fmt.Errorf("cidr %q: want an IPv4 CIDR", r.CidrIPv4)
		}
		p.CIDRs = []netip.Prefix{c.Masked()}
	case r.GroupID != "":
		p.Groups = []string{r.GroupID}
	default:
		return p, errors.New("no peer: want a cidr or a group")
	}
	return p, nil
}

// vpcFromSnapshot is the VPC as the data plane builds it: the snapshot's subnets (their routes
// as its route tables say) and, so that no local task loses its gateway, the subnets of this
// host's tasks the snapshot does not list.
func vpcFromSnapshot(id string, cidr netip.Prefix, snap *model.NetworkSnapshot, local map[string]network.Subnet) (network.VPC, error) {
	vpc := network.VPC{ID: id, CIDR: cidr}
	var errs []error
	seen := map[string]bool{}
	if snap != nil {
		for _, s := range snap.Subnets {
			sub, err := subnetFromModel(s)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if !cidr.Contains(sub.CIDR.Addr()) {
				errs = append(errs, fmt.Errorf("subnet %s %s is outside vpc %s %s", s.ID, s.Cidr, id, cidr))
				continue
			}
			seen[sub.ID] = true
			vpc.Subnets = append(vpc.Subnets, sub)
		}
	}
	for _, sid := range slices.Sorted(maps.Keys(local)) {
		if !seen[sid] {
			vpc.Subnets = append(vpc.Subnets, local[sid])
		}
	}
	slices.SortFunc(vpc.Subnets, func(a, b network.Subnet) int { return strings.Compare(a.ID, b.ID) })
	return vpc, errors.Join(errs...)
}

func subnetFromModel(s model.SubnetRoute) (network.Subnet, error) {
	c, err := netip.ParsePrefix(s.Cidr)
	if err != nil || !c.Addr().Is4() {
		return network.Subnet{}, fmt.Errorf("subnet %s cidr %q: want an IPv4 CIDR", s.ID, s.Cidr)
	}
	return network.Subnet{ID: s.ID, CIDR: c.Masked(), Public: s.Public, NAT: s.NAT}, nil
}

// eniFromModel is the data plane's view of a task's interface, with its VPC's CIDR and subnet.
func eniFromModel(tn model.TaskNetwork) (network.ENI, network.Subnet, netip.Prefix, error) {
	var errs []error
	cidr, err := netip.ParsePrefix(tn.VpcCidr)
	if err != nil || !cidr.Addr().Is4() {
		errs = append(errs, fmt.Errorf("vpc %s cidr %q: want an IPv4 CIDR", tn.VpcID, tn.VpcCidr))
	}
	sub, err := subnetFromModel(tn.Subnet)
	errs = append(errs, err)
	ip, err := netip.ParseAddr(tn.PrivateIP)
	if err != nil || !ip.Is4() {
		errs = append(errs, fmt.Errorf("eni %s private ip %q: want an IPv4 address", tn.ENIID, tn.PrivateIP))
	}
	var mac net.HardwareAddr
	if tn.MacAddress != "" {
		if mac, err = net.ParseMAC(tn.MacAddress); err != nil || len(mac) != 6 {
			errs = append(errs, fmt.Errorf("eni %s mac %q: want six bytes", tn.ENIID, tn.MacAddress))
		}
	}
	var public netip.Addr
	if tn.PublicIP != "" {
		if public, err = netip.ParseAddr(tn.PublicIP); err != nil || !public.Is4() {
			errs = append(errs, fmt.Errorf("eni %s public ip %q: want an IPv4 address", tn.ENIID, tn.PublicIP))
		}
	}
	if tn.ENIID == "" || tn.VpcID == "" {
		errs = append(errs, errors.New("task network without an eni or vpc id"))
	}
	eni := network.ENI{ID: tn.ENIID, VPCID: tn.VpcID, SubnetID: tn.Subnet.ID, IP: ip, SubnetCIDR: sub.CIDR,
		MAC: mac, SecurityGroups: slices.Clone(tn.SecurityGroups), PublicIP: public}
	return eni, sub, cidr.Masked(), errors.Join(errs...)
}
