package model

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
