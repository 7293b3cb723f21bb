package network

import (
	"encoding/json"
	"net/netip"
	"os"
	"syscall"
	"testing"
)

// TestUnchangedRecordNotRewritten checks that applying a VPC's groups again, unchanged, leaves
// its record file alone (the agent does so after every attach and detach), and that a change
// is written.
func TestUnchangedRecordNotRewritten(t *testing.T) {
	t.Parallel()
	p, _ := newPlane(t)
	vpc := VPC{ID: "vpc-records", CIDR: prefix("10.9.0.0/16"), Subnets: []Subnet{{ID: "subnet-a", CIDR: prefix("10.9.1.0/24")}}}
	mustEnsure(t, p, vpc)
	sg := []string{"sg-a"}
	mustAttach(t, p, ENI{ID: "eni-records", VPCID: vpc.ID, SubnetID: "subnet-a", IP: ip("10.9.1.5"), SecurityGroups: sg})
	members := map[string][]netip.Addr{"sg-a": {ip("10.9.1.5")}}
	eniGroups := map[netip.Addr][]string{ip("10.9.1.5"): sg}
	apply := func(groups ...SecurityGroup) uint64 {
		t.Helper()
		if err := p.ApplySecurityGroups(t.Context(), vpc.ID, groups, members, eniGroups); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(p.vpcFile(vpc.ID))
		if err != nil {
			t.Fatal(err)
		}
		return fi.Sys().(*syscall.Stat_t).Ino
	}
	closed := SecurityGroup{ID: "sg-a"}
	open := SecurityGroup{ID: "sg-a", Egress: []Permission{allEgress}}
	first := apply(closed)
	if again := apply(closed); again != first {
		t.Errorf("unchanged groups rewrote the VPC's record (inode %d, then %d)", first, again)
	}
	if changed := apply(open); changed == first {
		t.Error("changed groups did not rewrite the VPC's record")
	}
	b, err := os.ReadFile(p.vpcFile(vpc.ID))
	if err != nil {
		t.Fatal(err)
	}
	var rec vpcRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatal(err)
	}
	if len(rec.Groups) != 1 || len(rec.Groups[0].Egress) != 1 {
		t.Errorf("record's groups = %+v, want the open group", rec.Groups)
	}
}
