package ec2

import (
	"context"
	"time"

	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/ops"
)

// NetworkInterface is EC2's ENI shape.
type NetworkInterface struct {
	NetworkInterfaceID string                `xml:"networkInterfaceId"`
	SubnetID           string                `xml:"subnetId"`
	VpcID              string                `xml:"vpcId"`
	AvailabilityZone   string                `xml:"availabilityZone"`
	Description        string                `xml:"description"`
	OwnerID            string                `xml:"ownerId"`
	RequesterID        string                `xml:"requesterId,omitempty"`
	RequesterManaged   bool                  `xml:"requesterManaged"`
	Status             string                `xml:"status"`
	MacAddress         string                `xml:"macAddress"`
	PrivateIPAddress   string                `xml:"privateIpAddress"`
	PrivateDNSName     string                `xml:"privateDnsName"`
	SourceDestCheck    bool                  `xml:"sourceDestCheck"`
	InterfaceType      string                `xml:"interfaceType"`
	Groups             []GroupIdentifier     `xml:"groupSet>item"`
	Attachment         *EniAttachment        `xml:"attachment,omitempty"`
	Association        *EniAssociation       `xml:"association,omitempty"`
	PrivateIPAddresses []EniPrivateIPAddress `xml:"privateIpAddressesSet>item"`
	Tags               []Tag                 `xml:"tagSet>item"`
}

// GroupIdentifier names a security group.
type GroupIdentifier struct {
	GroupID   string `xml:"groupId"`
	GroupName string `xml:"groupName"`
}

// EniAttachment is what an ENI is attached to.
type EniAttachment struct {
	AttachmentID        string    `xml:"attachmentId"`
	AttachTime          time.Time `xml:"attachTime"`
	DeleteOnTermination bool      `xml:"deleteOnTermination"`
	DeviceIndex         int32     `xml:"deviceIndex"`
	NetworkCardIndex    int32     `xml:"networkCardIndex"`
	InstanceOwnerID     string    `xml:"instanceOwnerId,omitempty"`
	Status              string    `xml:"status"`
}

// EniAssociation is an ENI's public address.
type EniAssociation struct {
	PublicIP      string `xml:"publicIp"`
	PublicDNSName string `xml:"publicDnsName"`
	IPOwnerID     string `xml:"ipOwnerId"`
}

// EniPrivateIPAddress is one private address of an ENI.
type EniPrivateIPAddress struct {
	Primary          bool            `xml:"primary"`
	PrivateIPAddress string          `xml:"privateIpAddress"`
	PrivateDNSName   string          `xml:"privateDnsName"`
	Association      *EniAssociation `xml:"association,omitempty"`
}

func eniToWire(n model.NetworkInterface, groupNames map[string]string) NetworkInterface {
	dns := model.PrivateDNSName(n.PrivateIP, n.Scope.Region)
	w := NetworkInterface{NetworkInterfaceID: n.ID, SubnetID: n.SubnetID, VpcID: n.VpcID, AvailabilityZone: n.AvailabilityZone,
		Description: n.Description, OwnerID: n.Scope.Account, RequesterManaged: n.RequesterManaged, Status: n.Status,
		MacAddress: n.MacAddress, PrivateIPAddress: n.PrivateIP, PrivateDNSName: dns, SourceDestCheck: true,
		InterfaceType: n.InterfaceType, Tags: tagsToWire(n.Tags)}
	if n.RequesterManaged {
		w.RequesterID = ops.FargateRequesterID
	}
	for _, g := range n.GroupIDs {
		w.Groups = append(w.Groups, GroupIdentifier{GroupID: g, GroupName: groupNames[g]})
	}
	if a := n.Attachment; a != nil {
		w.Attachment = &EniAttachment{AttachmentID: a.ID, AttachTime: a.AttachTime.UTC(), DeleteOnTermination: true,
			DeviceIndex: a.DeviceIndex, InstanceOwnerID: a.InstanceOwnerID, Status: a.Status}
	}
	var assoc *EniAssociation
	if n.PublicIP != "" {
		assoc = &EniAssociation{PublicIP: n.PublicIP, IPOwnerID: "amazon"}
		w.Association = assoc
	}
	w.PrivateIPAddresses = []EniPrivateIPAddress{{Primary: true, PrivateIPAddress: n.PrivateIP, PrivateDNSName: dns, Association: assoc}}
	return w
}

type describeNetworkInterfacesInput struct {
	NetworkInterfaceIDs []string `query:"NetworkInterfaceId"`
	Filters             []filter `query:"Filter"`
	MaxResults          *int32   `query:"MaxResults"`
	NextToken           string   `query:"NextToken"`
}

type describeNetworkInterfacesOutput struct {
	NetworkInterfaces []NetworkInterface `xml:"networkInterfaceSet>item"`
	NextToken         string             `xml:"nextToken,omitempty"`
}

func (h *handler) describeNetworkInterfaces(ctx context.Context, sc model.Scope, in *describeNetworkInterfacesInput) (*describeNetworkInterfacesOutput, error) {
	enis, next, err := h.ops.DescribeNetworkInterfaces(ctx, sc, in.NetworkInterfaceIDs, filtersFromWire(in.Filters), paging(in.MaxResults, in.NextToken))
	if err != nil {
		return nil, err
	}
	names := map[string]string{}
	if len(enis) > 0 {
		groups, _, err := h.ops.DescribeSecurityGroups(ctx, sc, nil, nil, nil, ops.Paging{})
		if err != nil {
			return nil, err
		}
		for _, g := range groups {
			names[g.ID] = g.Name
		}
	}
	out := &describeNetworkInterfacesOutput{NextToken: next, NetworkInterfaces: make([]NetworkInterface, len(enis))}
	for i, n := range enis {
		out.NetworkInterfaces[i] = eniToWire(n, names)
	}
	return out, nil
}
