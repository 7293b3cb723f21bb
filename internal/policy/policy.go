// Package policy parses IAM JSON policy documents and evaluates requests against them as AWS does.
package policy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Effect is what a matching statement decides.
type Effect int

// Effects.
const (
	Allow Effect = iota + 1
	Deny
)

// Policy is a parsed policy document.
type Policy struct {
	Version    string
	ID         string
	Statements []Statement
}

// Statement is one statement of a policy. Exactly one of Actions / NotActions is set, at most
// one of Resources / NotResources (identity policies need one; trust policies have neither),
// and Principal / NotPrincipal only in resource-based (trust) policies.
type Statement struct {
	Sid          string
	Effect       Effect
	Principal    Principals // nil when absent
	NotPrincipal Principals
	Actions      []string
	NotActions   []string
	Resources    []string
	NotResources []string
	// hasResource and hasNotResource tell an absent element from an empty one.
	hasResource, hasNotResource bool
	Conditions                  []Condition
}

// Principals maps a principal type ("AWS", "Service", "Federated", "CanonicalUser") to its
// identifiers; the anonymous "*" principal is {"*": ["*"]}.
type Principals map[string][]string

// Condition is one key's test under one operator: Operator is the whole name as written
// ("ForAnyValue:StringLikeIfExists"), Key the condition key (compared without case).
type Condition struct {
	Operator string
	Key      string
	Values   []string
}

// Kind says which sort of policy a document is, for the rules its elements follow.
type Kind int

// Kinds.
const (
	Identity Kind = iota + 1 // attached to a user or role: no Principal, Resource required
	Trust                    // a role's trust policy: Principal required, no Resource
)

// Error is a malformed document; its text is worded as IAM's MalformedPolicyDocument messages.
type Error struct{ Msg string }

func (e *Error) Error() string { return e.Msg }

func malformed(format string, args ...any) error { return &Error{Msg: fmt.Sprintf(format, args...)} }

// Versions a document may name.
const (
	Version2012 = "2012-10-17"
	Version2008 = "2008-10-17"
)

// Parse parses and validates a policy document of kind k.
func Parse(doc string, k Kind) (*Policy, error) {
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.UseNumber()
	var top map[string]json.RawMessage
	if err := dec.Decode(&top); err != nil || dec.More() {
		return nil, malformed("Syntax errors in policy.")
	}
	p := &Policy{}
	var rawStatements json.RawMessage
	for key, raw := range top {
		switch key {
		case "Version":
			if err := json.Unmarshal(raw, &p.Version); err != nil {
				return nil, malformed("Syntax errors in policy.")
			}
		case "Id":
			if err := json.Unmarshal(raw, &p.ID); err != nil {
				return nil, malformed("Syntax errors in policy.")
			}
		case "Statement":
			rawStatements = raw
		default:
			return nil, malformed("Unknown field %s", key)
		}
	}
	switch p.Version {
	case "", Version2008, Version2012:
	default:
		return nil, malformed("The policy failed legacy parsing")
	}
	if rawStatements == nil {
		return nil, malformed("Missing required field Statement")
	}
	var list []json.RawMessage
	if bytes.HasPrefix(bytes.TrimSpace(rawStatements), []byte("[")) {
		if err := json.Unmarshal(rawStatements, &list); err != nil {
			return nil, malformed("Syntax errors in policy.")
		}
	} else {
		list = []json.RawMessage{rawStatements}
	}
	if len(list) == 0 {
		return nil, malformed("Missing required field Statement")
	}
	for _, raw := range list {
		s, err := parseStatement(raw, k)
		if err != nil {
			return nil, err
		}
		p.Statements = append(p.Statements, s)
	}
	return p, nil
}

func parseStatement(raw json.RawMessage, k Kind) (Statement, error) {
	var fields map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&fields); err != nil || fields == nil {
		return Statement{}, malformed("Syntax errors in policy.")
	}
	var s Statement
	var err error
	for key, v := range fields {
		switch key {
		case "Sid":
			if json.Unmarshal(v, &s.Sid) != nil {
				return s, malformed("Syntax errors in policy.")
			}
		case "Effect":
			var e string
			if json.Unmarshal(v, &e) != nil {
				return s, malformed("Syntax errors in policy.")
			}
			switch e {
			case "Allow":
				s.Effect = Allow
			case "Deny":
				s.Effect = Deny
			default:
				return s, malformed("Invalid effect: %s", e)
			}
		case "Action":
			s.Actions, err = stringOrList(v)
		case "NotAction":
			s.NotActions, err = stringOrList(v)
		case "Resource":
			s.Resources, err = stringOrList(v)
			s.hasResource = true
		case "NotResource":
			s.NotResources, err = stringOrList(v)
			s.hasNotResource = true
		case "Principal":
			s.Principal, err = parsePrincipals(v)
		case "NotPrincipal":
			s.NotPrincipal, err = parsePrincipals(v)
		case "Condition":
			s.Conditions, err = parseConditions(v)
		default:
			return s, malformed("Unknown field %s", key)
		}
		if err != nil {
			return s, err
		}
	}
	return s, validateStatement(&s, k)
}

func validateStatement(s *Statement, k Kind) error {
	if s.Effect == 0 {
		return malformed("Missing required field Effect")
	}
	switch {
	case s.Actions == nil && s.NotActions == nil:
		return malformed("Policy statement must contain actions.")
	case s.Actions != nil && s.NotActions != nil:
		return malformed("Statement can not contain both Action and NotAction.")
	case s.hasResource && s.hasNotResource:
		return malformed("Statement can not contain both Resource and NotResource.")
	case s.Principal != nil && s.NotPrincipal != nil:
		return malformed("Statement can not contain both Principal and NotPrincipal.")
	}
	for _, a := range append(append([]string{}, s.Actions...), s.NotActions...) {
		if a != "*" && (!strings.Contains(a, ":") || strings.HasPrefix(a, ":")) {
			return malformed("Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.")
		}
	}
	for _, r := range append(append([]string{}, s.Resources...), s.NotResources...) {
		if r != "*" && !strings.HasPrefix(r, "arn:") {
			return malformed("Resource %s must be in ARN format or \"*\".", r)
		}
	}
	switch k {
	case Identity:
		if s.Principal != nil || s.NotPrincipal != nil {
			return malformed("Policy document should not specify a principal.")
		}
		if !s.hasResource && !s.hasNotResource {
			return malformed("Policy statement must contain resources.")
		}
	case Trust:
		if s.Principal == nil && s.NotPrincipal == nil {
			return malformed("Missing required field Principal")
		}
		if s.hasResource || s.hasNotResource {
			return malformed("Has prohibited field Resource")
		}
	}
	return nil
}

// stringOrList reads a JSON string or array of strings.
func stringOrList(raw json.RawMessage) ([]string, error) {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}, nil
	}
	var many []string
	if err := json.Unmarshal(raw, &many); err != nil {
		return nil, malformed("Syntax errors in policy.")
	}
	if many == nil {
		many = []string{}
	}
	return many, nil
}

func parsePrincipals(raw json.RawMessage) (Principals, error) {
	var star string
	if json.Unmarshal(raw, &star) == nil {
		if star != "*" {
			return nil, malformed("Invalid principal in policy: %q", star)
		}
		return Principals{"*": {"*"}}, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || len(m) == 0 {
		return nil, malformed("Invalid principal in policy")
	}
	out := Principals{}
	for typ, v := range m {
		switch typ {
		case "AWS", "Service", "Federated", "CanonicalUser":
		default:
			return nil, malformed("Invalid principal in policy: %q", typ)
		}
		ids, err := stringOrList(v)
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			if typ == "AWS" && id != "*" && !strings.HasPrefix(id, "arn:") && !isAccountID(id) {
				return nil, malformed("Invalid principal in policy: \"AWS\":\"%s\"", id)
			}
		}
		out[typ] = ids
	}
	return out, nil
}

func isAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	_, err := strconv.ParseUint(s, 10, 64)
	return err == nil
}

func parseConditions(raw json.RawMessage) ([]Condition, error) {
	var blocks map[string]map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&blocks); err != nil {
		return nil, malformed("Syntax errors in policy.")
	}
	ops := make([]string, 0, len(blocks))
	for op := range blocks {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	var out []Condition
	for _, op := range ops {
		if _, _, _, err := splitOperator(op); err != nil {
			return nil, err
		}
		keys := make([]string, 0, len(blocks[op]))
		for k := range blocks[op] {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, key := range keys {
			vals, err := conditionValues(blocks[op][key])
			if err != nil {
				return nil, err
			}
			out = append(out, Condition{Operator: op, Key: key, Values: vals})
		}
	}
	return out, nil
}

// conditionValues reads a condition's value: a string, number or boolean, or a list of them.
func conditionValues(raw json.RawMessage) ([]string, error) {
	var list []json.RawMessage
	if bytes.HasPrefix(bytes.TrimSpace(raw), []byte("[")) {
		if err := json.Unmarshal(raw, &list); err != nil {
			return nil, malformed("Syntax errors in policy.")
		}
	} else {
		list = []json.RawMessage{raw}
	}
	out := make([]string, 0, len(list))
	for _, v := range list {
		var s string
		if json.Unmarshal(v, &s) == nil {
			out = append(out, s)
			continue
		}
		var n json.Number
		if json.Unmarshal(v, &n) == nil {
			out = append(out, n.String())
			continue
		}
		var b bool
		if json.Unmarshal(v, &b) == nil {
			out = append(out, strconv.FormatBool(b))
			continue
		}
		return nil, malformed("Syntax errors in policy.")
	}
	return out, nil
}
