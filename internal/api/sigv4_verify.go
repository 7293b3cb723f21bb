package api

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

// sigAlgorithm is the only signing algorithm accepted.
const sigAlgorithm = "AWS4-HMAC-SHA256"

// MaxClockSkew is how far a request's X-Amz-Date may be from the server's clock.
const MaxClockSkew = 15 * time.Minute

// amzDateFormat is SigV4's ISO 8601 basic format.
const amzDateFormat = "20060102T150405Z"

// signedRequest is what a SigV4 signature covers, read from the Authorization header or, for a
// presigned request, from the query.
type signedRequest struct {
	accessKey     string
	scopeDate     string
	region        string
	service       string
	signedHeaders []string
	signature     string
	amzDate       string
	date          time.Time
	securityToken string
	presigned     bool
	expires       time.Duration // presigned only
}

// authFailure is why a request's signature is refused; its reason names the AWS error, which
// each protocol spells its own way (authCode).
type authFailure struct {
	reason  authReason
	message string
}

func (e *authFailure) Error() string { return e.message }

type authReason int

const (
	authMissing      authReason = iota + 1 // no signature at all
	authIncomplete                         // a signature without all its parts
	authUnknownKey                         // an access key (or session token) that is not ours
	authBadSignature                       // the signature does not match
	authExpiredToken                       // temporary credentials past their expiration
	authSkewed                             // X-Amz-Date too far from now, or a presigned URL past its expiry
	authDenied                             // signed fine, but the policies do not allow the action
)

func authErr(r authReason, format string, args ...any) *authFailure {
	return &authFailure{reason: r, message: fmt.Sprintf(format, args...)}
}

const (
	msgBadSignature = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	msgUnknownKey   = "The security token included in the request is invalid."
	msgExpiredToken = "The security token included in the request is expired"
)

// parseSigned reads the signature's parts from r, without checking them against any key.
func parseSigned(r *http.Request) (signedRequest, *authFailure) {
	var s signedRequest
	var cred string
	var fail *authFailure
	switch q := r.URL.Query(); {
	case r.Header.Get("Authorization") != "":
		s, cred, fail = parseAuthHeader(r)
	case q.Get("X-Amz-Signature") != "" || q.Get("X-Amz-Credential") != "":
		s, cred, fail = parsePresigned(q)
	default:
		return s, authErr(authMissing, "Request is missing Authentication Token")
	}
	if fail != nil {
		return s, fail
	}
	fields := strings.Split(cred, "/")
	if len(fields) != 5 || fields[4] != "aws4_request" || fields[0] == "" {
		return s, authErr(authIncomplete, "Credential should be scoped to a valid region, service and terminated by 'aws4_request'. Credential=%s", cred)
	}
	s.accessKey, s.scopeDate, s.region, s.service = fields[0], fields[1], fields[2], fields[3]
	t, err := parseAmzDate(s.amzDate)
	if err != nil {
		return s, authErr(authIncomplete, "Date must be in ISO-8601 'basic format'. Got '%s'. See http://en.wikipedia.org/wiki/ISO_8601", s.amzDate)
	}
	s.date = t
	if s.scopeDate != t.Format("20060102") {
		return s, authErr(authBadSignature, "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s', from '%s'.",
			s.scopeDate, t.Format("20060102"), s.amzDate)
	}
	if !slices.Contains(s.signedHeaders, "host") {
		return s, authErr(authBadSignature, "'Host' must be a 'SignedHeader' in the AWS Authorization.")
	}
	return s, nil
}

// parseAuthHeader reads "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...".
func parseAuthHeader(r *http.Request) (signedRequest, string, *authFailure) {
	var s signedRequest
	auth := r.Header.Get("Authorization")
	alg, rest, _ := strings.Cut(auth, " ")
	if alg != sigAlgorithm {
		return s, "", authErr(authIncomplete, "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=%s", auth)
	}
	parts := map[string]string{}
	for _, p := range strings.Split(rest, ",") {
		if k, v, ok := strings.Cut(strings.TrimSpace(p), "="); ok {
			parts[k] = v
		}
	}
	for _, k := range []string{"Credential", "SignedHeaders", "Signature"} {
		if parts[k] == "" {
			return s, "", authErr(authIncomplete, "Authorization header requires '%s' parameter. Authorization=%s", k, auth)
		}
	}
	s.signature, s.signedHeaders = parts["Signature"], strings.Split(parts["SignedHeaders"], ";")
	if s.amzDate = r.Header.Get("X-Amz-Date"); s.amzDate == "" {
		s.amzDate = r.Header.Get("Date")
	}
	if s.amzDate == "" {
		return s, "", authErr(authIncomplete, "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=%s", auth)
	}
	s.securityToken = r.Header.Get("X-Amz-Security-Token")
	return s, parts["Credential"], nil
}

// parsePresigned reads a presigned request's X-Amz-* query parameters.
func parsePresigned(q url.Values) (signedRequest, string, *authFailure) {
	s := signedRequest{presigned: true, expires: 7 * 24 * time.Hour}
	if q.Get("X-Amz-Algorithm") != sigAlgorithm {
		return s, "", authErr(authIncomplete, "AWS query-string parameters must include 'X-Amz-Algorithm'. Re-examine the query-string parameters.")
	}
	for _, k := range []string{"X-Amz-Credential", "X-Amz-Signature", "X-Amz-SignedHeaders", "X-Amz-Date"} {
		if q.Get(k) == "" {
			return s, "", authErr(authIncomplete, "AWS query-string parameters must include '%s'. Re-examine the query-string parameters.", k)
		}
	}
	s.signature, s.amzDate = q.Get("X-Amz-Signature"), q.Get("X-Amz-Date")
	s.signedHeaders = strings.Split(q.Get("X-Amz-SignedHeaders"), ";")
	s.securityToken = q.Get("X-Amz-Security-Token")
	if e := q.Get("X-Amz-Expires"); e != "" {
		n, err := strconv.Atoi(e)
		if err != nil || n < 0 {
			return s, "", authErr(authIncomplete, "X-Amz-Expires must be a non-negative integer")
		}
		s.expires = time.Duration(n) * time.Second
	}
	return s, q.Get("X-Amz-Credential"), nil
}

func parseAmzDate(s string) (time.Time, error) {
	if t, err := time.Parse(amzDateFormat, s); err == nil {
		return t, nil
	}
	return time.Parse(http.TimeFormat, s)
}

// checkTime refuses requests signed too far from now, and presigned ones past their expiry.
func (s signedRequest) checkTime(now time.Time) *authFailure {
	if s.presigned {
		if now.After(s.date.Add(s.expires)) {
			return authErr(authSkewed, "Request has expired")
		}
		if s.date.After(now.Add(MaxClockSkew)) {
			return authErr(authSkewed, "Signature not yet current: %s is still later than %s (%s + 15 min.)",
				s.amzDate, now.Add(MaxClockSkew).UTC().Format(amzDateFormat), now.UTC().Format(amzDateFormat))
		}
		return nil
	}
	switch {
	case s.date.Before(now.Add(-MaxClockSkew)):
		return authErr(authSkewed, "Signature expired: %s is now earlier than %s (%s - 15 min.)",
			s.amzDate, now.Add(-MaxClockSkew).UTC().Format(amzDateFormat), now.UTC().Format(amzDateFormat))
	case s.date.After(now.Add(MaxClockSkew)):
		return authErr(authSkewed, "Signature not yet current: %s is still later than %s (%s + 15 min.)",
			s.amzDate, now.Add(MaxClockSkew).UTC().Format(amzDateFormat), now.UTC().Format(amzDateFormat))
	}
	return nil
}

// canonicalRequests returns the canonical requests a client may have signed for r: AWS's SDKs
// encode the path once (S3) or twice (every other service), so both are tried.
func canonicalRequests(r *http.Request, s signedRequest, body []byte) []string {
	headers := canonicalHeaders(r, s.signedHeaders)
	query := canonicalQuery(r.URL.Query(), s.presigned)
	payload := payloadHash(r, s, body)
	once := canonicalURI(r.URL.Path)
	twice := canonicalURI(r.URL.EscapedPath())
	var out []string
	for _, uri := range []string{once, twice} {
		out = append(out, strings.Join([]string{r.Method, uri, query, headers, strings.Join(s.signedHeaders, ";"), payload}, "\n"))
		if once == twice {
			break
		}
	}
	return out
}

// payloadHash is the hex SHA-256 of the body, or what X-Amz-Content-Sha256 says it is.
func payloadHash(r *http.Request, s signedRequest, body []byte) string {
	if h := r.Header.Get("X-Amz-Content-Sha256"); h != "" {
		return h
	}
	if s.presigned {
		if h := r.URL.Query().Get("X-Amz-Content-Sha256"); h != "" {
			return h
		}
	}
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}

// canonicalURI normalizes an absolute path (dot segments, repeated slashes) and URI-encodes it.
func canonicalURI(p string) string {
	if p == "" {
		return "/"
	}
	clean := path.Clean("/" + p)
	if strings.HasSuffix(p, "/") && clean != "/" {
		clean += "/"
	}
	segs := strings.Split(clean, "/")
	for i, seg := range segs {
		segs[i] = uriEncode(seg)
	}
	return strings.Join(segs, "/")
}

// uriEncode percent-encodes every byte but RFC 3986's unreserved characters, in upper case.
func uriEncode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func canonicalQuery(q url.Values, presigned bool) string {
	var pairs []string
	for k, vs := range q {
		if presigned && k == "X-Amz-Signature" {
			continue
		}
		for _, v := range vs {
			pairs = append(pairs, uriEncode(k)+"="+uriEncode(v))
		}
	}
	slices.Sort(pairs)
	return strings.Join(pairs, "&")
}

func canonicalHeaders(r *http.Request, signed []string) string {
	var b strings.Builder
	for _, name := range signed {
		var vals []string
		switch name {
		case "host":
			vals = []string{r.Host}
		case "content-length":
			vals = r.Header.Values(name)
			if len(vals) == 0 && r.ContentLength >= 0 {
				vals = []string{strconv.FormatInt(r.ContentLength, 10)}
			}
		default:
			vals = r.Header.Values(name)
		}
		for i, v := range vals {
			vals[i] = strings.Join(strings.Fields(v), " ")
		}
		b.WriteString(name + ":" + strings.Join(vals, ",") + "\n")
	}
	return b.String()
}

// stringToSign is what the signature signs for one canonical request.
func stringToSign(s signedRequest, canonical string) string {
	sum := sha256.Sum256([]byte(canonical))
	return strings.Join([]string{sigAlgorithm, s.amzDate, s.scopeDate + "/" + s.region + "/" + s.service + "/aws4_request",
		hex.EncodeToString(sum[:])}, "\n")
}

// signature computes the hex signature of sts under secret.
func signature(secret string, s signedRequest, sts string) string {
	k := hmacSHA256([]byte("AWS4"+secret), s.scopeDate)
	k = hmacSHA256(k, s.region)
	k = hmacSHA256(k, s.service)
	k = hmacSHA256(k, "aws4_request")
	return hex.EncodeToString(hmacSHA256(k, sts))
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// verifySignature says whether s's signature is the one secret makes for r.
func verifySignature(r *http.Request, s signedRequest, body []byte, secret string) bool {
	for _, c := range canonicalRequests(r, s, body) {
		want := signature(secret, s, stringToSign(s, c))
		if hmac.Equal([]byte(want), []byte(strings.ToLower(s.signature))) {
			return true
		}
	}
	return false
}
