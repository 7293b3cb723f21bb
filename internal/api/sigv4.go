package api

import (
	"net/http"
	"strings"
)

// credentialScope is what a SigV4 signature says about the caller: the access key and the
// scope's date, region and service. Verification is a separate step; parsing never fails.
type credentialScope struct {
	AccessKey string
	Date      string
	Region    string
	Service   string
}

// parseCredentialScope reads the scope from the Authorization header
// ("AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/ecs/aws4_request, ...") or, for
// presigned requests, from the X-Amz-Credential query parameter.
func parseCredentialScope(r *http.Request) credentialScope {
	cred := ""
	if auth := r.Header.Get("Authorization"); strings.HasPrefix(auth, "AWS4-") {
		for _, part := range strings.FieldsFunc(auth[strings.IndexByte(auth, ' ')+1:], func(c rune) bool { return c == ',' || c == ' ' }) {
			if v, ok := strings.CutPrefix(part, "Credential="); ok {
				cred = v
				break
			}
		}
	} else if v := r.URL.Query().Get("X-Amz-Credential"); v != "" {
		cred = v
	}
	fields := strings.Split(cred, "/")
	if len(fields) != 5 || fields[4] != "aws4_request" {
		return credentialScope{}
	}
	return credentialScope{AccessKey: fields[0], Date: fields[1], Region: fields[2], Service: fields[3]}
}
