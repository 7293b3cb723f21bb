package model

import (
	"net/netip"
	"strings"
)

// TaskNetwork is a task's place in its VPC, decided by the control plane at RunTask (the ENI,
// its subnet and address) and plumbed by the agent of the task's host.
type TaskNetwork struct {
	VpcID   string
	VpcCidr string
	Subnet  SubnetRoute
	// ENI is the task's network interface: its id, private IPv4 address, MAC and groups.
	ENIID          string
	PrivateIP      string
	MacAddress     string
	SecurityGroups []string
	PrivateDNSName string
	// PublicIP is the ENI's public address when RunTask's assignPublicIp was ENABLED (and one
	// was free); "" otherwise. In a subnet routed to an internet gateway, only ENIs with one
	// reach outside the VPC, as on AWS.
	PublicIP string
}

// ResolvConf is the task's /etc/resolv.conf: the VPC's resolver (the VPC's base + 2, AWS's
// AmazonProvidedDNS) and the private DNS zone as the search domain (ec2.internal in us-east-1,
// <region>.compute.internal elsewhere); "" when the VPC's CIDR cannot be read.
func (n TaskNetwork) ResolvConf() string {
	cidr, err := netip.ParsePrefix(n.VpcCidr)
	if err != nil || !cidr.Addr().Is4() {
		return ""
	}
	out := "nameserver " + cidr.Masked().Addr().Next().Next().String() + "\n"
	if _, zone, ok := strings.Cut(n.PrivateDNSName, "."); ok && zone != "" {
		out += "search " + zone + "\n"
	}
	return out
}

// SubnetRoute is what a host needs to know of a subnet to route it: its range and whether its
// route table sends traffic out through an internet gateway (Public) or a NAT gateway (NAT).
type SubnetRoute struct {
	ID     string
	Cidr   string
	Public bool
	NAT    bool
}

// NetworkSnapshot is one VPC's security state as every host enforcing it needs it: the groups
// with their rules, and which private addresses are in which group (ENIs on any host). Hosts
// apply snapshots whole; a newer Revision replaces an older one.
type NetworkSnapshot struct {
	VpcID   string
	VpcCidr string
	Subnets []SubnetRoute
	Groups  []SecurityGroup
	// Members maps a group id to the private IPs of the ENIs in it.
	Members map[string][]string
	// ENIGroups maps an ENI's private IP to its group ids.
	ENIGroups map[string][]string
	Revision  int64
}
