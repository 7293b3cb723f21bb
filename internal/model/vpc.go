package model

import (
	"net/netip"
	"strings"
	"time"
)

// EC2 resource id prefixes; the rest of an id is 17 lowercase hex digits.
const (
	PrefixVpc              = "vpc-"
	PrefixSubnet           = "subnet-"
	PrefixSecurityGroup    = "sg-"
	PrefixSecurityRule     = "sgr-"
	PrefixInternetGateway  = "igw-"
	PrefixNatGateway       = "nat-"
	PrefixRouteTable       = "rtb-"
	PrefixRouteAssociation = "rtbassoc-"
	PrefixAllocation       = "eipalloc-"
	PrefixNetworkInterface = "eni-"
	PrefixEniAttachment    = "eni-attach-"
	PrefixCidrAssociation  = "vpc-cidr-assoc-"
	PrefixDhcpOptions      = "dopt-"
)

// EC2 resource states as EC2 reports them.
const (
	StateAvailable = "available"
	StateAttached  = "attached"
	StateActive    = "active"
	StateInUse     = "in-use"
	// StateBlackhole is a route whose target is gone: an internet gateway detached from the
	// VPC, a NAT gateway deleted. It carries no traffic.
	StateBlackhole = "blackhole"
	// StateDeleting and StateDeleted are a NAT gateway's last states.
	StateDeleting = "deleting"
	StateDeleted  = "deleted"
)

// DefaultVpcCIDR is the CIDR of every default VPC, as on AWS.
const DefaultVpcCIDR = "172.31.0.0/16"

// DefaultGroupName is the name of the security group every VPC is created with.
const DefaultGroupName = "default"

// Vpc is a virtual network: an IPv4 CIDR, with subnets, security groups and route tables in it.
type Vpc struct {
	Scope              Scope
	ID                 string
	CidrBlock          string
	CidrAssociationID  string
	State              string
	DhcpOptionsID      string
	InstanceTenancy    string
	IsDefault          bool
	EnableDNSSupport   bool
	EnableDNSHostnames bool
	// MainRouteTableID and DefaultGroupID name the route table and security group created with it.
	MainRouteTableID string
	DefaultGroupID   string
	Tags             []Tag
	CreatedAt        time.Time
}

// Subnet is a range of a VPC's addresses in one availability zone.
type Subnet struct {
	Scope               Scope
	ID                  string
	VpcID               string
	CidrBlock           string
	AvailabilityZone    string
	AvailabilityZoneID  string
	State               string
	DefaultForAz        bool
	MapPublicIPOnLaunch bool
	Tags                []Tag
	CreatedAt           time.Time
}

// SubnetReservedIPs is how many addresses of every subnet AWS keeps: the network address, the
// next three (router, DNS, future use) and the broadcast address.
const SubnetReservedIPs = 5

// Size returns the number of addresses in the subnet's CIDR, reserved ones included.
func (s Subnet) Size() int {
	p, err := netip.ParsePrefix(s.CidrBlock)
	if err != nil || !p.Addr().Is4() {
		return 0
	}
	return 1 << (32 - p.Bits())
}

// SecurityGroup is a stateful firewall attached to network interfaces: traffic is denied unless a
// rule allows it.
type SecurityGroup struct {
	Scope       Scope
	ID          string
	Name        string
	Description string
	VpcID       string
	Rules       []SecurityGroupRule
	Tags        []Tag
	CreatedAt   time.Time
}

// IsDefault says whether the group is its VPC's default group, which cannot be deleted.
func (g SecurityGroup) IsDefault() bool { return g.Name == DefaultGroupName }

// Protocols of security group rules, as stored: "-1" (all) or a protocol number.
const (
	ProtocolAll  = "-1"
	ProtocolTCP  = "6"
	ProtocolUDP  = "17"
	ProtocolICMP = "1"
)

// SecurityGroupRule allows one kind of traffic from (ingress) or to (egress) one peer: a CIDR or
// the members of a security group.
type SecurityGroupRule struct {
	ID     string
	Egress bool
	// Protocol is ProtocolAll or a protocol number ("6", "17", "1" ...).
	Protocol string
	// FromPort and ToPort bound the port range of tcp and udp; for icmp they are the type and the
	// code (-1: all). Both are -1 for ProtocolAll.
	FromPort int32
	ToPort   int32
	// Exactly one of CidrIPv4 and GroupID is set.
	CidrIPv4    string
	GroupID     string
	Description string
}

// SameTraffic says whether r and o allow the same traffic to the same peer (a duplicate rule);
// descriptions and ids do not count.
func (r SecurityGroupRule) SameTraffic(o SecurityGroupRule) bool {
	return r.Egress == o.Egress && r.Protocol == o.Protocol && r.FromPort == o.FromPort &&
		r.ToPort == o.ToPort && r.CidrIPv4 == o.CidrIPv4 && r.GroupID == o.GroupID
}

// InternetGateway connects a VPC to the outside; VpcID is empty while detached.
type InternetGateway struct {
	Scope Scope
	ID    string
	VpcID string
	Tags  []Tag
}

// ElasticIP is a public address allocated to the account, used by a NAT gateway or an ENI.
type ElasticIP struct {
	Scope        Scope
	AllocationID string
	PublicIP     string
	Domain       string
	// AssociatedWith is the NAT gateway or network interface using the address, if any.
	AssociatedWith string
	Tags           []Tag
}

// NatGateway translates outbound traffic of private subnets to its elastic IP.
type NatGateway struct {
	Scope            Scope
	ID               string
	VpcID            string
	SubnetID         string
	AllocationID     string
	PublicIP         string
	PrivateIP        string
	ConnectivityType string
	State            string
	Tags             []Tag
	CreatedAt        time.Time
	// DeletedAt is when DeleteNatGateway deleted it; zero before.
	DeletedAt time.Time
}

// RouteTable routes the traffic of the subnets associated with it; the VPC's main table routes
// the subnets associated with no other.
type RouteTable struct {
	Scope        Scope
	ID           string
	VpcID        string
	Main         bool
	Routes       []Route
	Associations []RouteTableAssociation
	Tags         []Tag
}

// Route targets of a route, and their origin.
const (
	RouteTargetLocal       = "local"
	RouteOriginCreateTable = "CreateRouteTable"
	RouteOriginCreateRoute = "CreateRoute"
)

// Route sends a destination CIDR to a gateway: "local" (the VPC), an internet gateway or a NAT
// gateway.
type Route struct {
	DestinationCidrBlock string
	GatewayID            string
	NatGatewayID         string
	Origin               string
	// Blackhole is set while the target is gone (see StateBlackhole); the route stays until
	// deleted, and comes back to life if its internet gateway is attached again.
	Blackhole bool
}

// State is the route's state as DescribeRouteTables shows it: active or blackhole.
func (r Route) State() string {
	if r.Blackhole {
		return StateBlackhole
	}
	return StateActive
}

// Target is the gateway the route sends traffic to: its internet or NAT gateway id, or "local".
func (r Route) Target() string {
	if r.NatGatewayID != "" {
		return r.NatGatewayID
	}
	return r.GatewayID
}

// RouteTableAssociation ties a subnet to a route table, or marks the table as the VPC's main one.
type RouteTableAssociation struct {
	ID       string
	SubnetID string
	Main     bool
}

// NetworkInterface is an ENI: a task's interface in a subnet, with a private IP, a MAC and
// security groups.
type NetworkInterface struct {
	Scope            Scope
	ID               string
	SubnetID         string
	VpcID            string
	AvailabilityZone string
	Description      string
	GroupIDs         []string
	InterfaceType    string
	MacAddress       string
	PrivateIP        string
	PublicIP         string
	Status           string
	RequesterManaged bool
	Attachment       *EniAttachment
	Tags             []Tag
	CreatedAt        time.Time
}

// EniAttachment says what a network interface is attached to.
type EniAttachment struct {
	ID          string
	Status      string
	AttachTime  time.Time
	DeviceIndex int32
	// InstanceOwnerID is who owns the attachment (the account, or "amazon-aws" for Fargate).
	InstanceOwnerID string
}

// PrivateDNSName is the EC2 host name of a private IPv4 address in region:
// ip-10-0-1-5.ec2.internal in us-east-1, ip-10-0-1-5.<region>.compute.internal elsewhere.
func PrivateDNSName(ip, region string) string {
	if ip == "" {
		return ""
	}
	host := "ip-" + strings.ReplaceAll(ip, ".", "-")
	if region == DefaultRegion {
		return host + ".ec2.internal"
	}
	return host + "." + region + ".compute.internal"
}

// AvailabilityZone is one zone of a region, named <region><letter>.
type AvailabilityZone struct {
	Name   string
	ZoneID string
	Region string
}

// ZoneLetters are the availability zones every region has, in order.
const ZoneLetters = "abcdef"

// AvailabilityZones returns the zones of region: <region>a to <region>f, with ids
// <abbreviation>-az1 ... (use1-az1 for us-east-1a).
func AvailabilityZones(region string) []AvailabilityZone {
	zones := make([]AvailabilityZone, 0, len(ZoneLetters))
	for i, l := range ZoneLetters {
		zones = append(zones, AvailabilityZone{Name: region + string(l), ZoneID: regionAbbrev(region) + "-az" + string(rune('1'+i)), Region: region})
	}
	return zones
}

// regionAbbrev shortens a region as AWS's zone ids do: us-east-1 -> use1, eu-west-2 -> euw2,
// ap-southeast-1 -> apse1.
func regionAbbrev(region string) string {
	parts := strings.Split(region, "-")
	if len(parts) != 3 {
		return region
	}
	dir := map[string]string{"east": "e", "west": "w", "north": "n", "south": "s", "central": "c",
		"northeast": "ne", "southeast": "se", "northwest": "nw", "southwest": "sw"}[parts[1]]
	if dir == "" {
		dir = parts[1][:1]
	}
	return parts[0] + dir + parts[2]
}

// EC2ARN is the ARN of an EC2 resource such as "subnet/subnet-0123..." or "security-group/sg-...".
func EC2ARN(sc Scope, resource string) string {
	return "arn:aws:ec2:" + sc.Region + ":" + sc.Account + ":" + resource
}
