package image

import "testing"

func TestResolve(t *testing.T) {
	const local = "127.0.0.1:4566"
	tests := []struct{ in, want string }{
		{"123456789012.dkr.ecr.us-east-1.amazonaws.com/app:v1", local + "/app:v1"},
		{"000000000000.dkr.ecr.eu-west-3.amazonaws.com/team/app@sha256:abc", local + "/team/app@sha256:abc"},
		{"123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com/app", local + "/app"},
		{"123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/app:v1", local + "/app:v1"},
		{"123456789012.DKR.ECR.us-east-1.amazonaws.com/app:v1", local + "/app:v1"},
		{"123456789012.dkr-ecr.us-west-2.on.aws/app:v1", local + "/app:v1"},
		{"public.ecr.aws/nginx/nginx:latest", "public.ecr.aws/nginx/nginx:latest"},
		{"12345.dkr.ecr.us-east-1.amazonaws.com/app", "12345.dkr.ecr.us-east-1.amazonaws.com/app"},
		{"nginx:latest", "nginx:latest"},
		{"docker.io/library/busybox", "docker.io/library/busybox"},
		{"evil.com/123456789012.dkr.ecr.us-east-1.amazonaws.com/app", "evil.com/123456789012.dkr.ecr.us-east-1.amazonaws.com/app"},
	}
	for _, tt := range tests {
		if got := Resolve(tt.in, local); got != tt.want {
			t.Errorf("Resolve(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if !IsECR("123456789012.dkr.ecr.us-east-1.amazonaws.com/app") || IsECR("nginx") {
		t.Error("IsECR")
	}
}
