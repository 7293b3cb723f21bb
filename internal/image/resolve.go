package image

import (
	"regexp"
	"strings"
)

// ecrHost matches Amazon ECR private registry hosts, including FIPS, China and dual-stack
// endpoints: <account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn] and
// <account>.dkr-ecr[-fips].<region>.on.aws.
var ecrHost = regexp.MustCompile(`^[0-9]{12}\.(dkr\.ecr(-fips)?\.[a-z0-9-]+\.amazonaws\.com(\.cn)?|dkr-ecr(-fips)?\.[a-z0-9-]+\.on\.aws)$`)

// Resolve rewrites a reference to an ECR registry so it points at gantry's built-in registry at
// localHost (e.g. "127.0.0.1:4566"), keeping the repository, tag and digest; other references
// are returned unchanged. Call it before Pull.
func Resolve(ref, localHost string) string {
	host, rest, ok := strings.Cut(ref, "/")
	if !ok || localHost == "" || !ecrHost.MatchString(strings.ToLower(host)) {
		return ref
	}
	return localHost + "/" + rest
}

// IsECR reports whether ref names an image in an ECR registry.
func IsECR(ref string) bool {
	host, _, ok := strings.Cut(ref, "/")
	return ok && ecrHost.MatchString(strings.ToLower(host))
}
