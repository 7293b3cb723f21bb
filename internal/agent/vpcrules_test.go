package agent

import (
	"net/netip"
	"reflect"
	"slices"
	"testing"

	"github.com/gantry-dev/gantry/internal/model"
	"github.com/gantry-dev/gantry/internal/network"
)

func TestPermissionFromRule(t *testing.T) {
	cidr := func(s string) []netip.Prefix { return []netip.Prefix{netip.MustParsePrefix(s)} }
	tests := []struct {
		name    string
		rule    model.SecurityGroupRule
		want    network.Permission
		wantErr bool
	}{
		{"all traffic", model.SecurityGroupRule{Protocol: "-1", FromPort: -1, ToPort: -1, CidrIPv4: "0.0.0.0/0"},
			network.Permission{Protocol: "-1", FromPort: -1, ToPort: -1, CIDRs: cidr("0.0.0.0/0")}, false},
		{"all traffic ignores stray ports", model.SecurityGroupRule{Protocol: "-1", FromPort: 80, ToPort: 90, GroupID: "sg-a"},
			network.Permission{Protocol: "-1", FromPort: -1, ToPort: -1, Groups: []string{"sg-a"}}, false},
		{"tcp port", model.SecurityGroupRule{Protocol: "6", FromPort: 8080, ToPort: 8080, CidrIPv4: "10.1.1.0/24"},
			network.Permission{Protocol: "tcp", FromPort: 8080, ToPort: 8080, CIDRs: cidr("10.1.1.0/24")}, false},
		{"tcp by name, host bits masked", model.SecurityGroupRule{Protocol: "TCP", FromPort: 1, ToPort: 1024, CidrIPv4: "10.1.1.7/24"},
			network.Permission{Protocol: "tcp", FromPort: 1, ToPort: 1024, CIDRs: cidr("10.1.1.0/24")}, false},
		{"udp range from a group", model.SecurityGroupRule{Protocol: "17", FromPort: 53, ToPort: 60, GroupID: "sg-b", Egress: true},
			network.Permission{Protocol: "udp", FromPort: 53, ToPort: 60, Groups: []string{"sg-b"}}, false},
		{"tcp all ports", model.SecurityGroupRule{Protocol: "6", FromPort: -1, ToPort: -1, CidrIPv4: "10.0.0.0/8"},
			network.Permission{Protocol: "tcp", FromPort: -1, ToPort: -1, CIDRs: cidr("10.0.0.0/8")}, false},
		{"icmp echo", model.SecurityGroupRule{Protocol: "1", FromPort: 8, ToPort: -1, CidrIPv4: "10.0.0.0/8"},
			network.Permission{Protocol: "icmp", FromPort: 8, ToPort: -1, CIDRs: cidr("10.0.0.0/8")}, false},
		{"other protocol number", model.SecurityGroupRule{Protocol: "47", FromPort: 5, ToPort: 6, CidrIPv4: "10.0.0.0/8"},
			network.Permission{Protocol: "47", FromPort: -1, ToPort: -1, CIDRs: cidr("10.0.0.0/8")}, false},
		{"unknown protocol", model.SecurityGroupRule{Protocol: "sctp-ish", CidrIPv4: "10.0.0.0/8"}, network.Permission{}, true},
		{"inverted ports", model.SecurityGroupRule{Protocol: "6", FromPort: 90, ToPort: 80, CidrIPv4: "10.0.0.0/8"}, network.Permission{}, true},
		{"ipv6 cidr", model.SecurityGroupRule{Protocol: "6", FromPort: 80, ToPort: 80, CidrIPv4: "::/0"}, network.Permission{}, true},
		{"no peer", model.SecurityGroupRule{Protocol: "6", FromPort: 80, ToPort: 80}, network.Permission{}, true},
		{"two peers", model.SecurityGroupRule{Protocol: "6", FromPort: 80, ToPort: 80, CidrIPv4: "10.0.0.0/8", GroupID: "sg-a"}, network.Permission{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := permissionFromRule(tt.rule)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if !tt.wantErr && !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestPlanRules(t *testing.T) {
	a := netip.MustParseAddr
	snap := model.NetworkSnapshot{
		Groups: []model.SecurityGroup{{ID: "sg-web", Rules: []model.SecurityGroupRule{
			{ID: "sgr-1", Protocol: "6", FromPort: 8080, ToPort: 8080, GroupID: "sg-client"},
			{ID: "sgr-bad", Protocol: "6", FromPort: 80, ToPort: 80},
			{ID: "sgr-2", Protocol: "-1", FromPort: -1, ToPort: -1, CidrIPv4: "0.0.0.0/0", Egress: true},
		}}, {ID: "sg-client"}},
		Members:   map[string][]string{"sg-client": {"10.1.1.20", "not-an-ip"}, "sg-web": {"10.1.1.10"}},
		ENIGroups: map[string][]string{"10.1.1.10": {"sg-web"}, "10.1.1.20": {"sg-client"}, "10.1.1.30": {"sg-client", "sg-web"}},
	}
	local := []localENI{
		{IP: a("10.1.1.10"), Groups: []string{"sg-other"}}, // the snapshot knows better
		{IP: a("10.1.1.40"), Groups: []string{"sg-web"}},   // not in the snapshot yet
	}
	plan, err := planRules(snap, local)
	if err == nil {
		t.Error("unreadable rule and member: no error")
	}
	if len(plan.Groups) != 2 || len(plan.Groups[0].Ingress) != 1 || len(plan.Groups[0].Egress) != 1 ||
		!slices.Equal(plan.Groups[0].Ingress[0].Groups, []string{"sg-client"}) {
		t.Errorf("groups = %+v", plan.Groups)
	}
	wantENIs := map[netip.Addr][]string{a("10.1.1.10"): {"sg-web"}, a("10.1.1.40"): {"sg-web"}}
	if !reflect.DeepEqual(plan.ENIGroups, wantENIs) {
		t.Errorf("eni groups = %v, want only this host's: %v", plan.ENIGroups, wantENIs)
	}
	wantMembers := map[string][]netip.Addr{"sg-client": {a("10.1.1.20")}, "sg-web": {a("10.1.1.10"), a("10.1.1.40")}}
	if !reflect.DeepEqual(plan.Members, wantMembers) {
		t.Errorf("members = %v, want %v", plan.Members, wantMembers)
	}
}

func TestVPCFromSnapshot(t *testing.T) {
	cidr := netip.MustParsePrefix("10.1.0.0/16")
	snap := &model.NetworkSnapshot{Subnets: []model.SubnetRoute{
		{ID: "subnet-b", Cidr: "10.1.2.0/24", NAT: true},
		{ID: "subnet-a", Cidr: "10.1.1.0/24", Public: true},
		{ID: "subnet-x", Cidr: "10.9.0.0/24"}, // outside the vpc
	}}
	local := map[string]network.Subnet{
		"subnet-a": {ID: "subnet-a", CIDR: netip.MustParsePrefix("10.1.1.0/24")}, // stale: the snapshot wins
		"subnet-c": {ID: "subnet-c", CIDR: netip.MustParsePrefix("10.1.3.0/24")},
	}
	vpc, err := vpcFromSnapshot("vpc-1", cidr, snap, local)
	if err == nil {
		t.Error("subnet outside the vpc: no error")
	}
	want := []network.Subnet{
		{ID: "subnet-a", CIDR: netip.MustParsePrefix("10.1.1.0/24"), Public: true},
		{ID: "subnet-b", CIDR: netip.MustParsePrefix("10.1.2.0/24"), NAT: true},
		{ID: "subnet-c", CIDR: netip.MustParsePrefix("10.1.3.0/24")},
	}
	if !reflect.DeepEqual(vpc.Subnets, want) {
		t.Errorf("subnets = %+v, want %+v", vpc.Subnets, want)
	}
}

// TestENIFromModelPublicIP: the ENI's public IP reaches the data plane (it decides egress from
// a public subnet) and survives the agent's record of the task's interface.
func TestENIFromModelPublicIP(t *testing.T) {
	tn := model.TaskNetwork{VpcID: "vpc-1", VpcCidr: "10.1.0.0/16", ENIID: "eni-1", PrivateIP: "10.1.1.5",
		Subnet: model.SubnetRoute{ID: "subnet-1", Cidr: "10.1.1.0/24", Public: true}, PublicIP: "198.51.100.7"}
	for name, n := range map[string]model.TaskNetwork{"model": tn, "record": taskNetworkFromRecord(recordFromTaskNetwork("t", tn))} {
		eni, _, _, err := eniFromModel(n)
		if err != nil || eni.PublicIP != netip.MustParseAddr("198.51.100.7") {
			t.Errorf("%s: public ip %v, %v", name, eni.PublicIP, err)
		}
	}
	tn.PublicIP = ""
	if eni, _, _, err := eniFromModel(tn); err != nil || eni.PublicIP.IsValid() {
		t.Errorf("no public ip: %v, %v", eni.PublicIP, err)
	}
	tn.PublicIP = "nope"
	if _, _, _, err := eniFromModel(tn); err == nil {
		t.Error("a bad public ip was accepted")
	}
}
