package ops

import (
	"context"
	"slices"
	"strconv"
	"time"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/model"
)

// RunTask's limits on awsvpcConfiguration, as ECS states them.
const (
	MaxAwsVpcSubnets        = 16
	MaxAwsVpcSecurityGroups = 5
)

// ValidateAwsVpc checks a task's awsvpcConfiguration: one to 16 subnets that exist and share one
// VPC, and at most five security groups of that VPC. It returns the VPC and the groups to use,
// the VPC's default group when none is given. Errors are InvalidParameter (NotFound for a
// subnet or group that does not exist), with EC2's codes for callers that want them.
func (e *EC2) ValidateAwsVpc(ctx context.Context, sc model.Scope, subnets, groups []string) (string, []string, error) {
	if err := e.EnsureDefaultVPC(ctx, sc); err != nil {
		return "", nil, err
	}
	switch {
	case len(subnets) == 0:
		return "", nil, ec2Errorf(apierr.InvalidParameter, CodeMissingParameter, "subnets can not be empty.")
	case len(subnets) > MaxAwsVpcSubnets:
		return "", nil, invalidValue("subnets can have at most %d items.", MaxAwsVpcSubnets)
	case len(groups) > MaxAwsVpcSecurityGroups:
		return "", nil, invalidValue("securityGroups can have at most %d items.", MaxAwsVpcSecurityGroups)
	}
	vpcID := ""
	for _, id := range subnets {
		s, err := e.subnet(ctx, sc, id)
		if err != nil {
			return "", nil, err
		}
		if vpcID != "" && s.Value.VpcID != vpcID {
			return "", nil, invalidValue("Subnets %s and %s are in different VPCs; all subnets must belong to the same VPC.", subnets[0], id)
		}
		vpcID = s.Value.VpcID
	}
	if len(groups) == 0 {
		vpc, err := e.vpc(ctx, sc, vpcID)
		if err != nil {
			return "", nil, err
		}
		return vpcID, []string{vpc.Value.DefaultGroupID}, nil
	}
	for _, id := range groups {
		g, err := e.group(ctx, sc, id)
		if err != nil {
			return "", nil, err
		}
		if g.Value.VpcID != vpcID {
			return "", nil, invalidValue("Security group %s does not belong to VPC %s of the subnets.", id, vpcID)
		}
	}
	return vpcID, slices.Compact(slices.Clone(groups)), nil
}

var eniFilters = filterSpec[model.NetworkInterface]{
	"network-interface-id":         func(n model.NetworkInterface) []string { return []string{n.ID} },
	"subnet-id":                    func(n model.NetworkInterface) []string { return []string{n.SubnetID} },
	"vpc-id":                       func(n model.NetworkInterface) []string { return []string{n.VpcID} },
	"availability-zone":            func(n model.NetworkInterface) []string { return []string{n.AvailabilityZone} },
	"group-id":                     func(n model.NetworkInterface) []string { return n.GroupIDs },
	"private-ip-address":           func(n model.NetworkInterface) []string { return []string{n.PrivateIP} },
	"addresses.private-ip-address": func(n model.NetworkInterface) []string { return []string{n.PrivateIP} },
	"private-dns-name": func(n model.NetworkInterface) []string {
		return []string{model.PrivateDNSName(n.PrivateIP, n.Scope.Region)}
	},
	"mac-address":           func(n model.NetworkInterface) []string { return []string{n.MacAddress} },
	"status":                func(n model.NetworkInterface) []string { return []string{n.Status} },
	"interface-type":        func(n model.NetworkInterface) []string { return []string{n.InterfaceType} },
	"description":           func(n model.NetworkInterface) []string { return []string{n.Description} },
	"requester-managed":     func(n model.NetworkInterface) []string { return boolValues(n.RequesterManaged) },
	"owner-id":              func(n model.NetworkInterface) []string { return []string{n.Scope.Account} },
	"association.public-ip": func(n model.NetworkInterface) []string { return nonEmpty(n.PublicIP) },
	"attachment.attachment-id": func(n model.NetworkInterface) []string {
		return attachValue(n, func(a model.EniAttachment) string { return a.ID })
	},
	"attachment.status": func(n model.NetworkInterface) []string {
		return attachValue(n, func(a model.EniAttachment) string { return a.Status })
	},
	"attachment.instance-owner-id": func(n model.NetworkInterface) []string {
		return attachValue(n, func(a model.EniAttachment) string { return a.InstanceOwnerID })
	},
	"attachment.device-index": func(n model.NetworkInterface) []string {
		return attachValue(n, func(a model.EniAttachment) string { return strconv.Itoa(int(a.DeviceIndex)) })
	},
	"attachment.attach-time": func(n model.NetworkInterface) []string {
		return attachValue(n, func(a model.EniAttachment) string { return a.AttachTime.UTC().Format(time.RFC3339Nano) })
	},
	"attachment.delete-on-termination": func(n model.NetworkInterface) []string {
		return attachValue(n, func(model.EniAttachment) string { return "true" }) // as DescribeNetworkInterfaces shows it
	},
	// Task ENIs are attached to no instance.
	"attachment.instance-id": func(model.NetworkInterface) []string { return nil },
	"requester-id": func(n model.NetworkInterface) []string {
		if !n.RequesterManaged {
			return nil
		}
		return []string{FargateRequesterID}
	},
	"source-dest-check":               func(model.NetworkInterface) []string { return []string{"true"} },
	"addresses.primary":               func(model.NetworkInterface) []string { return []string{"true"} },
	"addresses.association.public-ip": func(n model.NetworkInterface) []string { return nonEmpty(n.PublicIP) },
	"association.ip-owner-id": func(n model.NetworkInterface) []string {
		if n.PublicIP == "" {
			return nil
		}
		return []string{"amazon"}
	},
}

// FargateRequesterID is the account AWS's Fargate-managed ENIs name as their requester.
const FargateRequesterID = "578734482556"

// eniNameFilters are the filters that need the names of the interfaces' groups. (EC2 takes
// group-name though botocore's list no longer names it.)
func eniNameFilters(names map[string]string) filterSpec[model.NetworkInterface] {
	return filterSpec[model.NetworkInterface]{
		"group-name": func(n model.NetworkInterface) []string {
			out := make([]string, 0, len(n.GroupIDs))
			for _, g := range n.GroupIDs {
				out = append(out, names[g])
			}
			return out
		},
	}
}

func attachValue(n model.NetworkInterface, f func(model.EniAttachment) string) []string {
	if n.Attachment == nil {
		return nil
	}
	return nonEmpty(f(*n.Attachment))
}

// DescribeNetworkInterfaces lists the network interfaces named by ids (all when empty) that
// match filters.
func (e *EC2) DescribeNetworkInterfaces(ctx context.Context, sc model.Scope, ids []string, filters []Filter, p Paging) ([]model.NetworkInterface, string, error) {
	if err := e.EnsureDefaultVPC(ctx, sc); err != nil {
		return nil, "", err
	}
	all, err := e.store.NetworkInterfaces().List(ctx, sc)
	if err != nil {
		return nil, "", err
	}
	id := func(n model.NetworkInterface) string { return n.ID }
	enis, err := byIDs(values(all), id, ids, func(i string) error {
		return ec2Errorf(apierr.NotFound, CodeNetworkInterfaceNotFound, "The networkInterface ID '%s' does not exist", i)
	})
	if err != nil {
		return nil, "", err
	}
	spec, err := withNames(ctx, e, sc, filters, eniFilters, eniNameFilters)
	if err != nil {
		return nil, "", err
	}
	if enis, err = applyFilters(spec, func(n model.NetworkInterface) []model.Tag { return n.Tags }, filters, enis); err != nil {
		return nil, "", err
	}
	return paginate(enis, id, p)
}
