package model

import "testing"

func TestTaskNetworkResolvConf(t *testing.T) {
	tests := []struct {
		n    TaskNetwork
		want string
	}{
		{TaskNetwork{VpcCidr: "172.31.0.0/16", PrivateDNSName: "ip-172-31-0-5.ec2.internal"}, "nameserver 172.31.0.2\nsearch ec2.internal\n"},
		{TaskNetwork{VpcCidr: "10.1.0.0/16", PrivateDNSName: "ip-10-1-0-5.eu-west-1.compute.internal"}, "nameserver 10.1.0.2\nsearch eu-west-1.compute.internal\n"},
		{TaskNetwork{VpcCidr: "10.1.2.0/24"}, "nameserver 10.1.2.2\n"},
		{TaskNetwork{VpcCidr: "bogus"}, ""},
	}
	for _, tt := range tests {
		if got := tt.n.ResolvConf(); got != tt.want {
			t.Errorf("%+v.ResolvConf() = %q, want %q", tt.n, got, tt.want)
		}
	}
}
