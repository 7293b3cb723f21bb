package model

import (
	"testing"
	"time"
)

func TestIAMARNs(t *testing.T) {
	if got := (Role{Account: "000000000000", Name: "web", Path: "/app/"}).ARN(); got != "arn:aws:iam::000000000000:role/app/web" {
		t.Errorf("role ARN %s", got)
	}
	if got := (User{Account: "000000000000", Name: "alice"}).ARN(); got != "arn:aws:iam::000000000000:user/alice" {
		t.Errorf("user ARN %s", got)
	}
	if got := (ManagedPolicy{Account: "aws", Name: "P", Path: "/service-role/"}).ARN(); got != "arn:aws:iam::aws:policy/service-role/P" {
		t.Errorf("policy ARN %s", got)
	}
	if got := AssumedRoleARN("000000000000", "r", "s"); got != "arn:aws:sts::000000000000:assumed-role/r/s" {
		t.Errorf("session ARN %s", got)
	}
	if got := AccountRootARN("123456789012"); got != "arn:aws:iam::123456789012:root" {
		t.Errorf("root ARN %s", got)
	}
	tests := []struct {
		arn, account, name string
		ok                 bool
	}{
		{"arn:aws:iam::000000000000:role/web", "000000000000", "web", true},
		{"arn:aws:iam::000000000000:role/app/team/web", "000000000000", "web", true},
		{"arn:aws:iam::000000000000:user/web", "", "", false},
		{"arn:aws:iam::000000000000:role/", "", "", false},
		{"arn:aws:iam::000000000000:role/app/", "", "", false},
		{"arn:aws:sts::000000000000:assumed-role/r/s", "", "", false},
		{"web", "", "", false},
	}
	for _, tt := range tests {
		account, name, ok := RoleNameFromARN(tt.arn)
		if account != tt.account || name != tt.name || ok != tt.ok {
			t.Errorf("RoleNameFromARN(%s) = %q %q %v", tt.arn, account, name, ok)
		}
	}
}

func TestPolicyVersionsAndExpiry(t *testing.T) {
	p := ManagedPolicy{DefaultVersion: "v2", Versions: []PolicyVersion{{ID: "v1", Document: "a"}, {ID: "v2", Document: "b"}}}
	if p.DefaultDocument() != "b" {
		t.Errorf("default document %q", p.DefaultDocument())
	}
	if _, ok := p.Version("v3"); ok {
		t.Error("v3 exists")
	}
	now := time.Unix(1000, 0)
	for _, tt := range []struct {
		exp  time.Time
		want bool
	}{{time.Time{}, false}, {now.Add(time.Second), false}, {now, true}, {now.Add(-time.Second), true}} {
		if got := (AccessKey{Expiration: tt.exp}).Expired(now); got != tt.want {
			t.Errorf("expiration %v: expired=%v", tt.exp, got)
		}
	}
}
