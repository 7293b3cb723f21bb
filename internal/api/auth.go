package api

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gantry-dev/gantry/internal/apierr"
	"github.com/gantry-dev/gantry/internal/model"
)

// Authenticator is what the front door needs of IAM to enforce SigV4 and policies; the IAM
// operations implement it (cmd/gantry wires them in).
type Authenticator interface {
	// Credential returns the principal behind an access key and its secret (and session token,
	// for temporary credentials): apierr.NotFound for an unknown key, apierr.ExpiredToken for
	// expired temporary credentials.
	Credential(ctx context.Context, accessKeyID string) (model.Principal, model.Credentials, error)
	// Authorize evaluates p's identity policies for one request.
	Authorize(ctx context.Context, p model.Principal, action, resource string, conditionContext map[string][]string) (bool, error)
}

// Enforce makes the front door verify every request's SigV4 signature against the keys auth
// knows and decide it with the caller's policies. Call it before serving.
func (s *Server) Enforce(auth Authenticator) { s.auth = auth }

// clock is the front door's clock for signature times (tests replace it through s.now).
func (s *Server) clock() time.Time {
	if s.now != nil {
		return s.now()
	}
	return time.Now()
}

// authenticate verifies r's signature and authorizes the request; on success it fills
// req.Caller and the account. The error is an *authFailure or an internal error.
func (s *Server) authenticate(ctx context.Context, r *http.Request, svc *Service, req *Request) error {
	signed, fail := parseSigned(r)
	if fail != nil {
		return fail
	}
	p, creds, err := s.auth.Credential(ctx, signed.accessKey)
	switch apierr.KindOf(err) {
	case apierr.NotFound:
		return authErr(authUnknownKey, msgUnknownKey)
	case apierr.ExpiredToken:
		return authErr(authExpiredToken, msgExpiredToken)
	}
	if err != nil {
		return err
	}
	if subtle.ConstantTimeCompare([]byte(creds.SessionToken), []byte(signed.securityToken)) != 1 {
		return authErr(authUnknownKey, msgUnknownKey)
	}
	if !verifySignature(r, signed, req.payload, creds.SecretAccessKey) {
		return authErr(authBadSignature, msgBadSignature)
	}
	now := s.clock()
	if fail := signed.checkTime(now); fail != nil {
		return fail
	}
	if !creds.Expiration.IsZero() && !now.Before(creds.Expiration) {
		return authErr(authExpiredToken, msgExpiredToken)
	}
	req.Caller = p
	req.Scope.Account = p.Account
	action := actionPrefix(svc.SigningName) + ":" + req.Operation
	switch action {
	case "sts:GetCallerIdentity":
		return nil // needs no permission, as in AWS
	case "sts:AssumeRole":
		return nil // the operation decides: the role's trust policy with the caller's policies
	}
	resource := requestResource(svc, req)
	ok, err := s.auth.Authorize(ctx, p, action, resource, requestContext(r, req, now))
	if err != nil {
		return err
	}
	if !ok {
		return authErr(authDenied, "User: %s is not authorized to perform: %s on resource: %s because no identity-based policy allows the %s action",
			p.ARN, action, resource, action)
	}
	return nil
}

// actionPrefix is the IAM service prefix of a signing name.
func actionPrefix(signingName string) string {
	switch signingName {
	case "monitoring":
		return "cloudwatch"
	}
	return signingName
}

// requestContext is the global condition keys the front door knows of a request.
func requestContext(r *http.Request, req *Request, now time.Time) map[string][]string {
	m := map[string][]string{
		"aws:CurrentTime":     {now.UTC().Format(time.RFC3339)},
		"aws:EpochTime":       {strconv.FormatInt(now.Unix(), 10)},
		"aws:SecureTransport": {strconv.FormatBool(r.TLS != nil)},
		"aws:RequestedRegion": {req.Scope.Region},
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		m["aws:SourceIp"] = []string{host}
	}
	return m
}

// requestResource names the operation's target as an ARN where the request names it plainly,
// else "*".
func requestResource(svc *Service, req *Request) string {
	sc := req.Scope
	if svc.Protocol != JSON {
		f := req.Form
		switch svc.SigningName {
		case "iam":
			switch {
			case f.Get("PolicyArn") != "" && !strings.Contains(req.Operation, "Role") && !strings.Contains(req.Operation, "User"):
				return f.Get("PolicyArn")
			case f.Get("RoleName") != "":
				return model.IAMARN(sc.Account, "role", "/", f.Get("RoleName"))
			case f.Get("UserName") != "":
				return model.IAMARN(sc.Account, "user", "/", f.Get("UserName"))
			}
		case "sts":
			if arn := f.Get("RoleArn"); arn != "" {
				return arn
			}
		case "elasticloadbalancing":
			for _, k := range []string{"LoadBalancerArn", "TargetGroupArn", "ListenerArn", "RuleArn"} {
				if v := f.Get(k); v != "" {
					return v
				}
			}
		}
		return "*"
	}
	var body map[string]any
	if json.Unmarshal(req.Body, &body) != nil {
		return "*"
	}
	str := func(k string) string { v, _ := body[k].(string); return v }
	switch svc.SigningName {
	case "ecs":
		if c := str("cluster"); c != "" {
			if strings.HasPrefix(c, "arn:") {
				return c
			}
			return model.ClusterARN(sc, c)
		}
		if c := str("clusterName"); c != "" {
			return model.ClusterARN(sc, c)
		}
	case "secretsmanager":
		if id := str("SecretId"); strings.HasPrefix(id, "arn:") {
			return id
		}
	case "ssm":
		if n := str("Name"); n != "" {
			return fmt.Sprintf("arn:aws:ssm:%s:%s:parameter/%s", sc.Region, sc.Account, strings.TrimPrefix(n, "/"))
		}
	case "logs":
		if g := str("logGroupName"); g != "" {
			return fmt.Sprintf("arn:aws:logs:%s:%s:log-group:%s", sc.Region, sc.Account, g)
		}
	}
	return "*"
}

// authCode names an authentication failure in a protocol's words, with its HTTP status.
func authCode(proto Protocol, reason authReason) (string, int) {
	type pair struct{ query, json, ec2 string }
	codes := map[authReason]pair{
		authMissing:      {"MissingAuthenticationToken", "MissingAuthenticationTokenException", "AuthFailure"},
		authIncomplete:   {"IncompleteSignature", "IncompleteSignatureException", "AuthFailure"},
		authUnknownKey:   {"InvalidClientTokenId", "UnrecognizedClientException", "AuthFailure"},
		authBadSignature: {"SignatureDoesNotMatch", "InvalidSignatureException", "AuthFailure"},
		authExpiredToken: {"ExpiredToken", "ExpiredTokenException", "RequestExpired"},
		authSkewed:       {"SignatureDoesNotMatch", "InvalidSignatureException", "RequestExpired"},
		authDenied:       {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"},
	}
	c := codes[reason]
	status := http.StatusForbidden
	if reason == authIncomplete || reason == authMissing && proto != JSON {
		status = http.StatusBadRequest
	}
	switch proto {
	case JSON:
		if reason == authUnknownKey || reason == authBadSignature || reason == authSkewed || reason == authDenied {
			status = http.StatusBadRequest
		}
		return c.json, status
	case EC2Query:
		return c.ec2, status
	}
	return c.query, status
}

// writeAuthError answers an authentication or authorization failure in svc's protocol.
func writeAuthError(w http.ResponseWriter, req *Request, svc *Service, enc encoder, fail *authFailure) {
	proto := Query
	if svc != nil {
		proto = svc.Protocol
	}
	if _, ok := enc.(jsonEncoder); ok {
		proto = JSON
	}
	code, status := authCode(proto, fail.reason)
	named := &Service{Protocol: proto, ErrorCode: func(apierr.Kind) string { return code }}
	if svc != nil {
		named.SigningName, named.XMLNamespace = svc.SigningName, svc.XMLNamespace
	}
	enc.writeError(&statusWriter{ResponseWriter: w, status: status}, req, named, apierr.New(apierr.AccessDenied, fail.message))
}

// statusWriter replaces the status an encoder writes.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(int) { s.ResponseWriter.WriteHeader(s.status) }
