package policy

import (
	"strings"
	"testing"
)

func mustParse(t *testing.T, doc string, k Kind) *Policy {
	t.Helper()
	p, err := Parse(doc, k)
	if err != nil {
		t.Fatalf("Parse(%s): %v", doc, err)
	}
	return p
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, doc string
		kind      Kind
		want      string // substring of the error; "" means valid
	}{
		{"statement object", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}`, Identity, ""},
		{"statement array", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:Get*"],"Resource":["arn:aws:s3:::b/*"]}]}`, Identity, ""},
		{"old version", `{"Version":"2008-10-17","Statement":{"Effect":"Deny","NotAction":"iam:*","NotResource":"*"}}`, Identity, ""},
		{"no version", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`, Identity, ""},
		{"not json", `{"Version":`, Identity, "Syntax errors in policy."},
		{"trailing garbage", `{"Statement":[]} x`, Identity, "Syntax errors in policy."},
		{"bad version", `{"Version":"2020-01-01","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`, Identity, "legacy parsing"},
		{"no statement", `{"Version":"2012-10-17"}`, Identity, "Missing required field Statement"},
		{"empty statements", `{"Version":"2012-10-17","Statement":[]}`, Identity, "Missing required field Statement"},
		{"unknown top field", `{"Version":"2012-10-17","Foo":1,"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`, Identity, "Unknown field Foo"},
		{"unknown statement field", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Bar":1}}`, Identity, "Unknown field Bar"},
		{"bad effect", `{"Statement":{"Effect":"Maybe","Action":"*","Resource":"*"}}`, Identity, "Invalid effect: Maybe"},
		{"no effect", `{"Statement":{"Action":"*","Resource":"*"}}`, Identity, "Missing required field Effect"},
		{"no action", `{"Statement":{"Effect":"Allow","Resource":"*"}}`, Identity, "must contain actions"},
		{"action and notaction", `{"Statement":{"Effect":"Allow","Action":"*","NotAction":"s3:*","Resource":"*"}}`, Identity, "both Action and NotAction"},
		{"action without vendor", `{"Statement":{"Effect":"Allow","Action":"GetObject","Resource":"*"}}`, Identity, "prefaced by a vendor"},
		{"resource not arn", `{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"bucket"}}`, Identity, "must be in ARN format"},
		{"identity without resource", `{"Statement":{"Effect":"Allow","Action":"s3:*"}}`, Identity, "must contain resources"},
		{"identity with principal", `{"Statement":{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}}`, Identity, "should not specify a principal"},
		{"trust", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}`, Trust, ""},
		{"trust account principal", `{"Statement":[{"Effect":"Allow","Principal":{"AWS":["123456789012","arn:aws:iam::123456789012:root"]},"Action":"sts:AssumeRole"}]}`, Trust, ""},
		{"trust without principal", `{"Statement":[{"Effect":"Allow","Action":"sts:AssumeRole"}]}`, Trust, "Missing required field Principal"},
		{"trust with resource", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Resource":"*"}]}`, Trust, "prohibited field Resource"},
		{"trust bad principal type", `{"Statement":[{"Effect":"Allow","Principal":{"Robot":"x"},"Action":"sts:AssumeRole"}]}`, Trust, "Invalid principal"},
		{"trust bad aws principal", `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"bob"},"Action":"sts:AssumeRole"}]}`, Trust, "Invalid principal"},
		{"bad condition operator", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringSorta":{"aws:username":"x"}}}}`, Identity, "Invalid Condition type : StringSorta"},
		{"condition values", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"NumericLessThan":{"s3:max-keys":10},"Bool":{"aws:SecureTransport":true}}}}`, Identity, ""},
		{"condition bad value", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"k":{"a":1}}}}}`, Identity, "Syntax errors"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.doc, tt.kind)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("unexpected error %v", err)
			case tt.want != "" && err == nil:
				t.Fatalf("parsed; want error %q", tt.want)
			case tt.want != "" && !strings.Contains(err.Error(), tt.want):
				t.Fatalf("error %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestGlob(t *testing.T) {
	tests := []struct {
		pattern, s string
		fold, want bool
	}{
		{"*", "", false, true},
		{"*", "anything", false, true},
		{"ecs:*", "ecs:RunTask", true, true},
		{"ecs:List*", "ecs:ListClusters", true, true},
		{"ecs:list*", "ECS:LISTCLUSTERS", true, true},
		{"ecs:List*", "ecs:CreateCluster", true, false},
		{"ecs:Describe?luster", "ecs:DescribeCluster", true, true},
		{"ecs:Describe?luster", "ecs:DescribeClusters", true, false},
		{"arn:aws:s3:::Bucket/*", "arn:aws:s3:::bucket/x", false, false},
		{"arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/a/b/c", false, true},
		{"a*b*c", "aXXbYYc", false, true},
		{"a*b*c", "aXXbYY", false, false},
		{"*a", "bbbbba", false, true},
		{"??", "ሴx", false, true},
	}
	for _, tt := range tests {
		if got := Glob(tt.pattern, tt.s, tt.fold); got != tt.want {
			t.Errorf("Glob(%q, %q, %v) = %v, want %v", tt.pattern, tt.s, tt.fold, got, tt.want)
		}
	}
}
