package policy

import (
	"strings"
)

// Decision is the outcome of evaluating a request.
type Decision int

// Decisions, in AWS's words: no statement allowed (implicit deny), a statement allowed and none
// denied, or a statement denied explicitly (which nothing overrides).
const (
	ImplicitDeny Decision = iota
	Allowed
	ExplicitDeny
)

func (d Decision) String() string {
	switch d {
	case Allowed:
		return "Allow"
	case ExplicitDeny:
		return "ExplicitDeny"
	}
	return "ImplicitDeny"
}

// Principal is who makes a request, for the Principal element of trust policies.
type Principal struct {
	// Type is "AWS", "Service" or "Federated".
	Type string
	// IDs name the principal: for AWS, its ARN (a role session also by its role's ARN); for a
	// service, its name (ecs-tasks.amazonaws.com).
	IDs []string
	// Account is an AWS principal's account; a policy naming the account (or its root ARN)
	// names every principal of it.
	Account string
}

// Request is one request to decide.
type Request struct {
	Action    string // "ecs:RunTask"
	Resource  string // an ARN, or "*"
	Principal *Principal
	// Context holds the condition keys' values; keys are matched without case.
	Context map[string][]string
}

// Evaluate decides req against policies as AWS does within one account: any matching Deny
// statement denies; otherwise any matching Allow allows; otherwise the request is implicitly
// denied. Nil policies are skipped.
func Evaluate(req Request, policies ...*Policy) Decision {
	ctx := lowerKeys(req.Context)
	d := ImplicitDeny
	for _, p := range policies {
		if p == nil {
			continue
		}
		for i := range p.Statements {
			s := &p.Statements[i]
			if !s.matches(req, ctx, p.Version) {
				continue
			}
			if s.Effect == Deny {
				return ExplicitDeny
			}
			d = Allowed
		}
	}
	return d
}

func lowerKeys(m map[string][]string) map[string][]string {
	out := make(map[string][]string, len(m))
	for k, v := range m {
		out[strings.ToLower(k)] = v
	}
	return out
}

func (s *Statement) matches(req Request, ctx map[string][]string, version string) bool {
	if s.Actions != nil && !anyGlob(s.Actions, req.Action, true) {
		return false
	}
	if s.NotActions != nil && anyGlob(s.NotActions, req.Action, true) {
		return false
	}
	vars := version == Version2012
	if s.hasResource && !anyResource(s.Resources, req.Resource, ctx, vars) {
		return false
	}
	if s.hasNotResource && anyResource(s.NotResources, req.Resource, ctx, vars) {
		return false
	}
	if s.Principal != nil && !s.Principal.match(req.Principal) {
		return false
	}
	if s.NotPrincipal != nil && s.NotPrincipal.match(req.Principal) {
		return false
	}
	for _, c := range s.Conditions {
		if !c.holds(ctx, vars) {
			return false
		}
	}
	return true
}

func anyResource(patterns []string, resource string, ctx map[string][]string, vars bool) bool {
	for _, p := range patterns {
		if vars {
			var ok bool
			if p, ok = substitute(p, ctx); !ok {
				continue
			}
		}
		if Glob(p, resource, false) {
			return true
		}
	}
	return false
}

// match says whether the statement's principals name p.
func (ps Principals) match(p *Principal) bool {
	if ids, ok := ps["*"]; ok && len(ids) > 0 {
		return true
	}
	if p == nil {
		return false
	}
	for _, id := range ps[p.Type] {
		switch {
		case id == "*":
			return true
		case p.Type == "AWS" && p.Account != "" && (id == p.Account || id == "arn:aws:iam::"+p.Account+":root"):
			return true
		case p.Type == "Service" && containsFold(p.IDs, id):
			return true
		case p.Type != "Service" && containsExact(p.IDs, id):
			return true
		}
	}
	return false
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

func containsExact(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func anyGlob(patterns []string, s string, fold bool) bool {
	for _, p := range patterns {
		if Glob(p, s, fold) {
			return true
		}
	}
	return false
}

// Glob matches s against pattern, where * matches any run of characters (none included) and ?
// exactly one; fold compares without case (actions), otherwise case matters (resources).
func Glob(pattern, s string, fold bool) bool {
	if fold {
		pattern, s = strings.ToLower(pattern), strings.ToLower(s)
	}
	if isASCII(pattern) && isASCII(s) {
		return glob([]byte(pattern), []byte(s))
	}
	return glob([]rune(pattern), []rune(s))
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// glob is Glob over bytes (ASCII) or runes: a linear-time wildcard match that backtracks only
// to the last star.
func glob[C byte | rune](p, t []C) bool {
	pi, ti := 0, 0
	star, mark := -1, 0
	for ti < len(t) {
		switch {
		case pi < len(p) && (p[pi] == '?' || p[pi] == t[ti]):
			pi++
			ti++
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, ti
			pi++
		case star >= 0:
			pi = star + 1
			mark++
			ti = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// substitute replaces the policy variables ${key} in s by the context's single value of key;
// ${*}, ${?} and ${$} stand for the characters themselves (escaped so they match literally is
// not possible with globs, so they stay wildcards only when written bare). ok is false when a
// variable has no value: then the element matches nothing.
func substitute(s string, ctx map[string][]string) (string, bool) {
	if !strings.Contains(s, "${") {
		return s, true
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String(), true
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			b.WriteString(s)
			return b.String(), true
		}
		b.WriteString(s[:i])
		name := s[i+2 : i+j]
		switch name {
		case "*", "?", "$":
			b.WriteString(name)
		default:
			key, def, hasDef := strings.Cut(name, ",")
			key = strings.TrimSpace(key)
			vals := ctx[strings.ToLower(key)]
			switch {
			case len(vals) == 1:
				b.WriteString(vals[0])
			case hasDef:
				b.WriteString(strings.Trim(strings.TrimSpace(def), "'"))
			default:
				return "", false
			}
		}
		s = s[i+j+1:]
	}
}
