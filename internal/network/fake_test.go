package network

import (
	"errors"
	"net/netip"
	"testing"
)

func TestFake(t *testing.T) {
	var dp DataPlane = NewFake()
	f := dp.(*Fake)
	ctx := t.Context()
	vpc := matrixVPC("vpc-fake")
	if err := dp.EnsureVPC(ctx, vpc); err != nil {
		t.Fatal(err)
	}
	if _, err := dp.Attach(ctx, ENI{ID: "eni-x", VPCID: "vpc-nope", SubnetID: "subnet-a", IP: ip("10.0.1.5")}); !errors.Is(err, ErrVPCNotFound) {
		t.Fatalf("unknown vpc: %v", err)
	}
	path, err := dp.Attach(ctx, ENI{ID: "eni-x", VPCID: vpc.ID, SubnetID: "subnet-a", IP: ip("10.0.1.5")})
	if err != nil || path == "" {
		t.Fatalf("Attach = %q, %v", path, err)
	}
	if _, err := dp.Attach(ctx, ENI{ID: "eni-y", VPCID: vpc.ID, SubnetID: "subnet-a", IP: ip("10.0.1.5")}); !errors.Is(err, ErrConflict) {
		t.Fatalf("duplicate address: %v", err)
	}
	if err := dp.ApplySecurityGroups(ctx, vpc.ID, matrixGroups(true), nil, map[netip.Addr][]string{ip("10.0.1.5"): {"sg-web"}}); err != nil {
		t.Fatal(err)
	}
	if v, _ := f.VPC(vpc.ID); len(v.Groups) != 3 || len(v.ENIGroups) != 1 {
		t.Fatalf("recorded %+v", v)
	}
	if err := dp.DeleteVPC(ctx, vpc.ID); !errors.Is(err, ErrVPCInUse) {
		t.Fatalf("DeleteVPC in use: %v", err)
	}
	if got := f.ENIs(); len(got) != 1 || len(got[0].MAC) != 6 {
		t.Fatalf("ENIs = %+v", got)
	}
	if err := dp.Detach(ctx, "eni-x"); err != nil {
		t.Fatal(err)
	}
	if err := dp.DeleteVPC(ctx, vpc.ID); err != nil {
		t.Fatal(err)
	}
	f.AttachErr = errors.New("subnet full")
	if _, err := dp.Attach(ctx, ENI{ID: "eni-z"}); err == nil {
		t.Fatal("AttachErr ignored")
	}
}
