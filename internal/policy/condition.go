package policy

import (
	"encoding/base64"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// set operators
const (
	setNone = iota
	setAny
	setAll
)

// baseOperators maps each base operator to whether it is negated.
var baseOperators = map[string]bool{
	"StringEquals": false, "StringNotEquals": true, "StringEqualsIgnoreCase": false, "StringNotEqualsIgnoreCase": true,
	"StringLike": false, "StringNotLike": true,
	"NumericEquals": false, "NumericNotEquals": true, "NumericLessThan": false, "NumericLessThanEquals": false,
	"NumericGreaterThan": false, "NumericGreaterThanEquals": false,
	"DateEquals": false, "DateNotEquals": true, "DateLessThan": false, "DateLessThanEquals": false,
	"DateGreaterThan": false, "DateGreaterThanEquals": false,
	"Bool": false, "BinaryEquals": false,
	"IpAddress": false, "NotIpAddress": true,
	"ArnEquals": false, "ArnNotEquals": true, "ArnLike": false, "ArnNotLike": true,
	"Null": false,
}

// splitOperator parses "ForAnyValue:StringLikeIfExists" into its set operator, base operator
// and IfExists suffix.
func splitOperator(op string) (set int, base string, ifExists bool, err error) {
	base = op
	if rest, ok := strings.CutPrefix(base, "ForAnyValue:"); ok {
		set, base = setAny, rest
	} else if rest, ok := strings.CutPrefix(base, "ForAllValues:"); ok {
		set, base = setAll, rest
	}
	if rest, ok := strings.CutSuffix(base, "IfExists"); ok && base != "Null" {
		base, ifExists = rest, true
	}
	if _, ok := baseOperators[base]; !ok || (base == "Null" && (set != setNone || ifExists)) {
		return 0, "", false, malformed("Invalid Condition type : %s", op)
	}
	return set, base, ifExists, nil
}

// holds says whether the condition is true for the request context (keys lowercased).
func (c Condition) holds(ctx map[string][]string, vars bool) bool {
	set, base, ifExists, err := splitOperator(c.Operator)
	if err != nil {
		return false
	}
	vals, present := ctx[strings.ToLower(c.Key)]
	if base == "Null" {
		// "true": the key must be absent; "false": present.
		want := len(c.Values) > 0 && strings.EqualFold(c.Values[0], "true")
		return want == (!present || len(vals) == 0)
	}
	if !present || len(vals) == 0 {
		switch {
		case ifExists:
			return true
		case set == setAll:
			return true
		case set == setAny:
			return false
		}
		return baseOperators[base] // a negated operator holds when the key is missing
	}
	condVals := c.Values
	if vars && (strings.HasPrefix(base, "String") || strings.HasPrefix(base, "Arn")) {
		condVals = make([]string, 0, len(c.Values))
		for _, v := range c.Values {
			if s, ok := substitute(v, ctx); ok {
				condVals = append(condVals, s)
			}
		}
	}
	negated := baseOperators[base]
	pred := func(v string) bool {
		m := false
		for _, cv := range condVals {
			if matchOne(base, v, cv) {
				m = true
				break
			}
		}
		return m != negated
	}
	all := func() bool {
		for _, v := range vals {
			if !pred(v) {
				return false
			}
		}
		return true
	}
	anyOf := func() bool {
		for _, v := range vals {
			if pred(v) {
				return true
			}
		}
		return false
	}
	switch {
	case set == setAll:
		return all()
	case set == setAny:
		return anyOf()
	case negated:
		return all() // none of the context values matches any condition value
	}
	return anyOf()
}

// matchOne compares one context value v with one condition value cv under the (negation-free)
// sense of base: a negated operator's matchOne is its positive twin's.
func matchOne(base, v, cv string) bool {
	switch base {
	case "StringEquals", "StringNotEquals":
		return v == cv
	case "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase":
		return strings.EqualFold(v, cv)
	case "StringLike", "StringNotLike":
		return Glob(cv, v, false)
	case "ArnEquals", "ArnNotEquals", "ArnLike", "ArnNotLike":
		return arnLike(cv, v)
	case "Bool":
		return strings.EqualFold(v, cv)
	case "BinaryEquals":
		a, err1 := base64.StdEncoding.DecodeString(v)
		b, err2 := base64.StdEncoding.DecodeString(cv)
		return err1 == nil && err2 == nil && string(a) == string(b)
	case "IpAddress", "NotIpAddress":
		return ipIn(v, cv)
	}
	if strings.HasPrefix(base, "Numeric") {
		a, err1 := strconv.ParseFloat(v, 64)
		b, err2 := strconv.ParseFloat(cv, 64)
		return err1 == nil && err2 == nil && compare(strings.TrimPrefix(base, "Numeric"), cmpFloat(a, b))
	}
	if strings.HasPrefix(base, "Date") {
		a, ok1 := parseDate(v)
		b, ok2 := parseDate(cv)
		return ok1 && ok2 && compare(strings.TrimPrefix(base, "Date"), a.Compare(b))
	}
	return false
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// compare applies a comparison suffix (Equals, NotEquals, LessThan ...) to c = compare(v, cv).
// NotEquals answers as Equals: the caller negates.
func compare(suffix string, c int) bool {
	switch suffix {
	case "Equals", "NotEquals":
		return c == 0
	case "LessThan":
		return c < 0
	case "LessThanEquals":
		return c <= 0
	case "GreaterThan":
		return c > 0
	case "GreaterThanEquals":
		return c >= 0
	}
	return false
}

// parseDate reads ISO 8601 dates and times (with or without seconds or zone) or epoch seconds.
func parseDate(s string) (time.Time, bool) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(n, 0), true
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02T15:04:05", "2006-01-02T15:04Z07:00", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// ipIn says whether the address v lies in cv, a CIDR block or a single address.
func ipIn(v, cv string) bool {
	addr, err := netip.ParseAddr(v)
	if err != nil {
		return false
	}
	if !strings.Contains(cv, "/") {
		other, err := netip.ParseAddr(cv)
		return err == nil && other.Unmap() == addr.Unmap()
	}
	p, err := netip.ParsePrefix(cv)
	return err == nil && p.Masked().Contains(addr.Unmap())
}

// arnLike matches an ARN against a pattern segment by segment: the first five colon-separated
// segments must match each on its own, the resource (the rest) as a whole; wildcards apply.
func arnLike(pattern, arn string) bool {
	ps, as := strings.SplitN(pattern, ":", 6), strings.SplitN(arn, ":", 6)
	if len(ps) != 6 || len(as) != 6 {
		return Glob(pattern, arn, false)
	}
	for i := range ps {
		if !Glob(ps[i], as[i], false) {
			return false
		}
	}
	return true
}
