package api

import (
	"net/http/httptest"
	"testing"
)

func TestParseCredentialScope(t *testing.T) {
	tests := []struct {
		name   string
		header string
		query  string
		want   credentialScope
	}{
		{"header", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/eu-west-1/ecs/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc",
			"", credentialScope{"AKIDEXAMPLE", "20260101", "eu-west-1", "ecs"}},
		{"header without spaces", "AWS4-HMAC-SHA256 Credential=AK/20260101/us-east-2/elasticloadbalancing/aws4_request,SignedHeaders=host,Signature=abc",
			"", credentialScope{"AK", "20260101", "us-east-2", "elasticloadbalancing"}},
		{"presigned", "", "X-Amz-Credential=AK%2F20260101%2Fus-west-2%2Fsts%2Faws4_request",
			credentialScope{"AK", "20260101", "us-west-2", "sts"}},
		{"garbage", "AWS4-HMAC-SHA256 Credential=nonsense", "", credentialScope{}},
		{"no auth", "", "", credentialScope{}},
		{"sigv2", "AWS AKID:sig", "", credentialScope{}},
		{"lone prefix", "AWS4-", "", credentialScope{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/?"+tt.query, nil)
			if tt.header != "" {
				r.Header.Set("Authorization", tt.header)
			}
			if got := parseCredentialScope(r); got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}
