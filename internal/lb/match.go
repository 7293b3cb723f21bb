package lb

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
)

// compiledCondition is a condition ready to test a request.
type compiledCondition struct {
	field    ConditionField
	patterns []string // lowercased for case-insensitive fields
	header   string   // canonical header name (http-header)
	query    []QueryValue
	prefixes []netip.Prefix
}

func compileCondition(c Condition) (compiledCondition, error) {
	cc := compiledCondition{field: c.Field}
	switch c.Field {
	case PathPattern, HTTPRequestMethod:
		cc.patterns = c.Values
	case HostHeader:
		for _, v := range c.Values {
			cc.patterns = append(cc.patterns, strings.ToLower(v))
		}
	case HTTPHeader:
		if c.HeaderName == "" {
			return cc, fmt.Errorf("http-header condition needs a header name")
		}
		cc.header = http.CanonicalHeaderKey(c.HeaderName)
		for _, v := range c.Values {
			cc.patterns = append(cc.patterns, strings.ToLower(v))
		}
	case QueryString:
		for _, q := range c.QueryValues {
			cc.query = append(cc.query, QueryValue{Key: strings.ToLower(q.Key), Value: strings.ToLower(q.Value)})
		}
		if len(cc.query) == 0 {
			return cc, fmt.Errorf("query-string condition needs key/value pairs")
		}
		return cc, nil
	case SourceIP:
		if len(c.SourceIPs) == 0 {
			return cc, fmt.Errorf("source-ip condition needs CIDR blocks")
		}
		for _, p := range c.SourceIPs {
			cc.prefixes = append(cc.prefixes, p.Masked())
		}
		return cc, nil
	default:
		return cc, fmt.Errorf("condition field %q is not one of path-pattern, host-header, http-header, http-request-method, query-string, source-ip", c.Field)
	}
	if len(cc.patterns) == 0 {
		return cc, fmt.Errorf("%s condition needs values", c.Field)
	}
	return cc, nil
}

// match reports whether r (from client address src) satisfies the condition.
func (c *compiledCondition) match(r *http.Request, src netip.Addr) bool {
	switch c.field {
	case PathPattern:
		return anyGlob(c.patterns, r.URL.Path)
	case HostHeader:
		return anyGlob(c.patterns, strings.ToLower(hostOnly(r.Host)))
	case HTTPRequestMethod:
		for _, p := range c.patterns {
			if p == r.Method {
				return true
			}
		}
		return false
	case HTTPHeader:
		for _, v := range r.Header[c.header] {
			if anyGlob(c.patterns, strings.ToLower(v)) {
				return true
			}
		}
		return false
	case QueryString:
		return c.matchQuery(r.URL.RawQuery)
	case SourceIP:
		src = src.Unmap()
		for _, p := range c.prefixes {
			if p.Contains(src) {
				return true
			}
		}
	}
	return false
}

func (c *compiledCondition) matchQuery(raw string) bool {
	q, _ := url.ParseQuery(raw)
	for _, want := range c.query {
		for k, vs := range q {
			lk := strings.ToLower(k)
			if want.Key != "" && !glob(want.Key, lk) {
				continue
			}
			for _, v := range vs {
				if glob(want.Value, strings.ToLower(v)) {
					return true
				}
			}
		}
	}
	return false
}

// matchRule returns the first rule (by priority, default last) whose conditions all match.
func matchRule(rules []*compiledRule, r *http.Request, src netip.Addr) *compiledRule {
next:
	for _, rule := range rules {
		for i := range rule.conds {
			if !rule.conds[i].match(r, src) {
				continue next
			}
		}
		return rule
	}
	return nil
}

func anyGlob(patterns []string, s string) bool {
	for _, p := range patterns {
		if glob(p, s) {
			return true
		}
	}
	return false
}

// glob matches s against p, where * matches any run of characters and ? one character.
// It backtracks only to the last star, so it runs in O(len(p)*len(s)) at worst.
func glob(p, s string) bool {
	pi, si := 0, 0
	star, mark := -1, 0
	for si < len(s) {
		switch {
		case pi < len(p) && (p[pi] == '?' || p[pi] == s[si]):
			pi++
			si++
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, si
			pi++
		case star >= 0:
			pi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// hostOnly strips the port from a Host header value.
func hostOnly(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return strings.TrimSuffix(strings.TrimPrefix(hostport, "["), "]")
}
