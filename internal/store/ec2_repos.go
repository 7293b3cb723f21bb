package store

import "github.com/gantry-dev/gantry/internal/model"

// Subnets is the repository of subnets.
type Subnets struct {
	ec2Table[model.Subnet, subnetRecord]
}

// Subnets returns the subnet repository.
func (s *Store) Subnets() Subnets {
	return Subnets{newEC2Table(s, "subnets", recordFromSubnet, subnetFromRecord,
		subnetKey)}
}

// SecurityGroups is the repository of security groups, rules included.
type SecurityGroups struct {
	ec2Table[model.SecurityGroup, securityGroupRecord]
}

// SecurityGroups returns the security group repository.
func (s *Store) SecurityGroups() SecurityGroups {
	return SecurityGroups{newEC2Table(s, "securitygroups", recordFromSecurityGroup, securityGroupFromRecord,
		securityGroupKey)}
}

// InternetGateways is the repository of internet gateways.
type InternetGateways struct {
	ec2Table[model.InternetGateway, internetGatewayRecord]
}

// InternetGateways returns the internet gateway repository.
func (s *Store) InternetGateways() InternetGateways {
	return InternetGateways{newEC2Table(s, "internetgateways", recordFromInternetGateway, internetGatewayFromRecord,
		func(v model.InternetGateway) (model.Scope, string) { return v.Scope, v.ID })}
}

// ElasticIPs is the repository of allocated addresses, keyed by public IP so that one address is
// never allocated twice; find one by allocation id with List.
type ElasticIPs struct {
	ec2Table[model.ElasticIP, elasticIPRecord]
}

// ElasticIPs returns the elastic IP repository.
func (s *Store) ElasticIPs() ElasticIPs {
	return ElasticIPs{newEC2Table(s, "addresses", recordFromElasticIP, elasticIPFromRecord,
		func(v model.ElasticIP) (model.Scope, string) { return v.Scope, v.PublicIP })}
}

// NatGateways is the repository of NAT gateways.
type NatGateways struct {
	ec2Table[model.NatGateway, natGatewayRecord]
}

// NatGateways returns the NAT gateway repository.
func (s *Store) NatGateways() NatGateways {
	return NatGateways{newEC2Table(s, "natgateways", recordFromNatGateway, natGatewayFromRecord,
		func(v model.NatGateway) (model.Scope, string) { return v.Scope, v.ID })}
}

// RouteTables is the repository of route tables, routes and associations included.
type RouteTables struct {
	ec2Table[model.RouteTable, routeTableRecord]
}

// RouteTables returns the route table repository.
func (s *Store) RouteTables() RouteTables {
	return RouteTables{newEC2Table(s, "routetables", recordFromRouteTable, routeTableFromRecord,
		routeTableKey)}
}

// NetworkInterfaces is the repository of ENIs.
type NetworkInterfaces struct {
	ec2Table[model.NetworkInterface, networkInterfaceRecord]
}

// NetworkInterfaces returns the ENI repository.
func (s *Store) NetworkInterfaces() NetworkInterfaces {
	return NetworkInterfaces{newEC2Table(s, "networkinterfaces", recordFromNetworkInterface, networkInterfaceFromRecord,
		networkInterfaceKey)}
}

// The scope and id of each kind of record a VpcState holds: its key in its table, and what
// VpcState.Apply finds it by.
func subnetKey(v model.Subnet) (model.Scope, string)               { return v.Scope, v.ID }
func securityGroupKey(v model.SecurityGroup) (model.Scope, string) { return v.Scope, v.ID }
func routeTableKey(v model.RouteTable) (model.Scope, string)       { return v.Scope, v.ID }
func networkInterfaceKey(v model.NetworkInterface) (model.Scope, string) {
	return v.Scope, v.ID
}
