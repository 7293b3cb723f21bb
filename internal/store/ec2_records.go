package store

import (
	"time"

	"github.com/gantry-dev/gantry/internal/model"
)

// Storage records of the EC2 resources besides the VPC (vpcs.go), schema version 1, with their
// conversions.

type subnetRecord struct {
	Account             string      `json:"account"`
	Region              string      `json:"region"`
	ID                  string      `json:"id"`
	VpcID               string      `json:"vpcId"`
	CidrBlock           string      `json:"cidr"`
	AvailabilityZone    string      `json:"az"`
	AvailabilityZoneID  string      `json:"azId"`
	State               string      `json:"state"`
	DefaultForAz        bool        `json:"defaultForAz,omitempty"`
	MapPublicIPOnLaunch bool        `json:"mapPublicIp,omitempty"`
	Tags                []tagRecord `json:"tags,omitempty"`
	CreatedAt           time.Time   `json:"createdAt"`
}

func recordFromSubnet(s model.Subnet) subnetRecord {
	return subnetRecord{Account: s.Scope.Account, Region: s.Scope.Region, ID: s.ID, VpcID: s.VpcID,
		CidrBlock: s.CidrBlock, AvailabilityZone: s.AvailabilityZone, AvailabilityZoneID: s.AvailabilityZoneID,
		State: s.State, DefaultForAz: s.DefaultForAz, MapPublicIPOnLaunch: s.MapPublicIPOnLaunch,
		Tags: tagsToRecords(s.Tags), CreatedAt: s.CreatedAt}
}

func subnetFromRecord(r subnetRecord) model.Subnet {
	return model.Subnet{Scope: model.Scope{Account: r.Account, Region: r.Region}, ID: r.ID, VpcID: r.VpcID,
		CidrBlock: r.CidrBlock, AvailabilityZone: r.AvailabilityZone, AvailabilityZoneID: r.AvailabilityZoneID,
		State: r.State, DefaultForAz: r.DefaultForAz, MapPublicIPOnLaunch: r.MapPublicIPOnLaunch,
		Tags: tagsFromRecords(r.Tags), CreatedAt: r.CreatedAt}
}

type securityGroupRecord struct {
	Account     string         `json:"account"`
	Region      string         `json:"region"`
	ID          string         `json:"id"`
	Name        string         `json:"name"`
	Description string         `json:"description"`
	VpcID       string         `json:"vpcId"`
	Rules       []sgRuleRecord `json:"rules,omitempty"`
	Tags        []tagRecord    `json:"tags,omitempty"`
	CreatedAt   time.Time      `json:"createdAt"`
}

type sgRuleRecord struct {
	ID          string `json:"id"`
	Egress      bool   `json:"egress,omitempty"`
	Protocol    string `json:"protocol"`
	FromPort    int32  `json:"from"`
	ToPort      int32  `json:"to"`
	CidrIPv4    string `json:"cidr,omitempty"`
	GroupID     string `json:"group,omitempty"`
	Description string `json:"description,omitempty"`
}

func recordFromSecurityGroup(g model.SecurityGroup) securityGroupRecord {
	return securityGroupRecord{Account: g.Scope.Account, Region: g.Scope.Region, ID: g.ID, Name: g.Name,
		Description: g.Description, VpcID: g.VpcID, Tags: tagsToRecords(g.Tags), CreatedAt: g.CreatedAt,
		Rules: convertAll(g.Rules, func(r model.SecurityGroupRule) sgRuleRecord { return sgRuleRecord(r) })}
}

func securityGroupFromRecord(r securityGroupRecord) model.SecurityGroup {
	return model.SecurityGroup{Scope: model.Scope{Account: r.Account, Region: r.Region}, ID: r.ID, Name: r.Name,
		Description: r.Description, VpcID: r.VpcID, Tags: tagsFromRecords(r.Tags), CreatedAt: r.CreatedAt,
		Rules: convertAll(r.Rules, func(r sgRuleRecord) model.SecurityGroupRule { return model.SecurityGroupRule(r) })}
}

type internetGatewayRecord struct {
	Account string      `json:"account"`
	Region  string      `json:"region"`
	ID      string      `json:"id"`
	VpcID   string      `json:"vpcId,omitempty"`
	Tags    []tagRecord `json:"tags,omitempty"`
}

func recordFromInternetGateway(g model.InternetGateway) internetGatewayRecord {
	return internetGatewayRecord{Account: g.Scope.Account, Region: g.Scope.Region, ID: g.ID, VpcID: g.VpcID, Tags: tagsToRecords(g.Tags)}
}

func internetGatewayFromRecord(r internetGatewayRecord) model.InternetGateway {
	return model.InternetGateway{Scope: model.Scope{Account: r.Account, Region: r.Region}, ID: r.ID, VpcID: r.VpcID, Tags: tagsFromRecords(r.Tags)}
}

type elasticIPRecord struct {
	Account        string      `json:"account"`
	Region         string      `json:"region"`
	AllocationID   string      `json:"allocationId"`
	PublicIP       string      `json:"publicIp"`
	Domain         string      `json:"domain"`
	AssociatedWith string      `json:"associatedWith,omitempty"`
	Tags           []tagRecord `json:"tags,omitempty"`
}

func recordFromElasticIP(a model.ElasticIP) elasticIPRecord {
	return elasticIPRecord{Account: a.Scope.Account, Region: a.Scope.Region, AllocationID: a.AllocationID,
		PublicIP: a.PublicIP, Domain: a.Domain, AssociatedWith: a.AssociatedWith, Tags: tagsToRecords(a.Tags)}
}

func elasticIPFromRecord(r elasticIPRecord) model.ElasticIP {
	return model.ElasticIP{Scope: model.Scope{Account: r.Account, Region: r.Region}, AllocationID: r.AllocationID,
		PublicIP: r.PublicIP, Domain: r.Domain, AssociatedWith: r.AssociatedWith, Tags: tagsFromRecords(r.Tags)}
}

type natGatewayRecord struct {
	Account          string      `json:"account"`
	Region           string      `json:"region"`
	ID               string      `json:"id"`
	VpcID            string      `json:"vpcId"`
	SubnetID         string      `json:"subnetId"`
	AllocationID     string      `json:"allocationId,omitempty"`
	PublicIP         string      `json:"publicIp,omitempty"`
	PrivateIP        string      `json:"privateIp,omitempty"`
	ConnectivityType string      `json:"connectivity"`
	State            string      `json:"state"`
	Tags             []tagRecord `json:"tags,omitempty"`
	CreatedAt        time.Time   `json:"createdAt"`
	DeletedAt        time.Time   `json:"deletedAt,omitzero"`
}

func recordFromNatGateway(n model.NatGateway) natGatewayRecord {
	return natGatewayRecord{Account: n.Scope.Account, Region: n.Scope.Region, ID: n.ID, VpcID: n.VpcID,
		SubnetID: n.SubnetID, AllocationID: n.AllocationID, PublicIP: n.PublicIP, PrivateIP: n.PrivateIP,
		ConnectivityType: n.ConnectivityType, State: n.State, Tags: tagsToRecords(n.Tags), CreatedAt: n.CreatedAt, DeletedAt: n.DeletedAt}
}

func natGatewayFromRecord(r natGatewayRecord) model.NatGateway {
	return model.NatGateway{Scope: model.Scope{Account: r.Account, Region: r.Region}, ID: r.ID, VpcID: r.VpcID,
		SubnetID: r.SubnetID, AllocationID: r.AllocationID, PublicIP: r.PublicIP, PrivateIP: r.PrivateIP,
		ConnectivityType: r.ConnectivityType, State: r.State, Tags: tagsFromRecords(r.Tags), CreatedAt: r.CreatedAt, DeletedAt: r.DeletedAt}
}

type routeTableRecord struct {
	Account      string           `json:"account"`
	Region       string           `json:"region"`
	ID           string           `json:"id"`
	VpcID        string           `json:"vpcId"`
	Main         bool             `json:"main,omitempty"`
	Routes       []routeRecord    `json:"routes,omitempty"`
	Associations []rtbAssocRecord `json:"associations,omitempty"`
	Tags         []tagRecord      `json:"tags,omitempty"`
}

type routeRecord struct {
	DestinationCidrBlock string `json:"dest"`
	GatewayID            string `json:"gateway,omitempty"`
	NatGatewayID         string `json:"nat,omitempty"`
	Origin               string `json:"origin"`
	Blackhole            bool   `json:"blackhole,omitempty"`
}

type rtbAssocRecord struct {
	ID       string `json:"id"`
	SubnetID string `json:"subnetId,omitempty"`
	Main     bool   `json:"main,omitempty"`
}

func recordFromRouteTable(t model.RouteTable) routeTableRecord {
	return routeTableRecord{Account: t.Scope.Account, Region: t.Scope.Region, ID: t.ID, VpcID: t.VpcID, Main: t.Main,
		Routes:       convertAll(t.Routes, func(r model.Route) routeRecord { return routeRecord(r) }),
		Associations: convertAll(t.Associations, func(a model.RouteTableAssociation) rtbAssocRecord { return rtbAssocRecord(a) }),
		Tags:         tagsToRecords(t.Tags)}
}

func routeTableFromRecord(r routeTableRecord) model.RouteTable {
	return model.RouteTable{Scope: model.Scope{Account: r.Account, Region: r.Region}, ID: r.ID, VpcID: r.VpcID, Main: r.Main,
		Routes:       convertAll(r.Routes, func(r routeRecord) model.Route { return model.Route(r) }),
		Associations: convertAll(r.Associations, func(a rtbAssocRecord) model.RouteTableAssociation { return model.RouteTableAssociation(a) }),
		Tags:         tagsFromRecords(r.Tags)}
}

type networkInterfaceRecord struct {
	Account          string           `json:"account"`
	Region           string           `json:"region"`
	ID               string           `json:"id"`
	SubnetID         string           `json:"subnetId"`
	VpcID            string           `json:"vpcId"`
	AvailabilityZone string           `json:"az"`
	Description      string           `json:"description,omitempty"`
	GroupIDs         []string         `json:"groups,omitempty"`
	InterfaceType    string           `json:"type"`
	MacAddress       string           `json:"mac"`
	PrivateIP        string           `json:"privateIp"`
	PublicIP         string           `json:"publicIp,omitempty"`
	Status           string           `json:"status"`
	RequesterManaged bool             `json:"requesterManaged,omitempty"`
	Attachment       *eniAttachRecord `json:"attachment,omitempty"`
	Tags             []tagRecord      `json:"tags,omitempty"`
	CreatedAt        time.Time        `json:"createdAt"`
}

type eniAttachRecord struct {
	ID              string    `json:"id"`
	Status          string    `json:"status"`
	AttachTime      time.Time `json:"attachTime"`
	DeviceIndex     int32     `json:"deviceIndex"`
	InstanceOwnerID string    `json:"instanceOwnerId,omitempty"`
}

func recordFromNetworkInterface(n model.NetworkInterface) networkInterfaceRecord {
	return networkInterfaceRecord{Account: n.Scope.Account, Region: n.Scope.Region, ID: n.ID, SubnetID: n.SubnetID,
		VpcID: n.VpcID, AvailabilityZone: n.AvailabilityZone, Description: n.Description, GroupIDs: n.GroupIDs,
		InterfaceType: n.InterfaceType, MacAddress: n.MacAddress, PrivateIP: n.PrivateIP, PublicIP: n.PublicIP,
		Status: n.Status, RequesterManaged: n.RequesterManaged, Tags: tagsToRecords(n.Tags), CreatedAt: n.CreatedAt,
		Attachment: convertPtr(n.Attachment, func(a model.EniAttachment) eniAttachRecord { return eniAttachRecord(a) })}
}

func networkInterfaceFromRecord(r networkInterfaceRecord) model.NetworkInterface {
	return model.NetworkInterface{Scope: model.Scope{Account: r.Account, Region: r.Region}, ID: r.ID, SubnetID: r.SubnetID,
		VpcID: r.VpcID, AvailabilityZone: r.AvailabilityZone, Description: r.Description, GroupIDs: r.GroupIDs,
		InterfaceType: r.InterfaceType, MacAddress: r.MacAddress, PrivateIP: r.PrivateIP, PublicIP: r.PublicIP,
		Status: r.Status, RequesterManaged: r.RequesterManaged, Tags: tagsFromRecords(r.Tags), CreatedAt: r.CreatedAt,
		Attachment: convertPtr(r.Attachment, func(a eniAttachRecord) model.EniAttachment { return model.EniAttachment(a) })}
}
