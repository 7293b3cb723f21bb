package ops

import (
	"encoding/json"
	"fmt"
	"path"
	"strconv"
	"strings"
	"unicode"

	"github.com/gantry-dev/gantry/internal/apierr"
)

// FilterPattern matches log event messages with CloudWatch Logs' filter pattern syntax:
// terms (all must appear, case-sensitive), "quoted phrases", ?alternatives, -exclusions, and
// JSON patterns such as { $.level = "error" && $.latency > 100 }.
type FilterPattern struct {
	all, any, none []string
	json           jsonExpr
}

// Match says whether msg matches the pattern.
func (p *FilterPattern) Match(msg string) bool {
	if p.json != nil {
		var doc any
		if json.Unmarshal([]byte(msg), &doc) != nil {
			return false
		}
		return p.json.eval(doc)
	}
	for _, t := range p.none {
		if strings.Contains(msg, t) {
			return false
		}
	}
	for _, t := range p.all {
		if !strings.Contains(msg, t) {
			return false
		}
	}
	if len(p.any) == 0 {
		return true
	}
	for _, t := range p.any {
		if strings.Contains(msg, t) {
			return true
		}
	}
	return false
}

func errFilterPattern() error {
	return apierr.New(apierr.InvalidParameter, "Invalid filter pattern")
}

// ParseFilterPattern parses a filter pattern; the empty pattern matches every event.
func ParseFilterPattern(s string) (*FilterPattern, error) {
	if len(s) > 1024 {
		return nil, invalidLogsParam("filterPattern", "Member must have length less than or equal to 1024")
	}
	s = strings.TrimSpace(s)
	switch {
	case strings.HasPrefix(s, "{"):
		if !strings.HasSuffix(s, "}") {
			return nil, errFilterPattern()
		}
		p := &jsonParser{toks: lexJSONPattern(s[1 : len(s)-1])}
		e, err := p.or()
		if err != nil || p.i != len(p.toks) {
			return nil, errFilterPattern()
		}
		return &FilterPattern{json: e}, nil
	case strings.HasPrefix(s, "["):
		return nil, apierr.New(apierr.Unsupported, "space-delimited filter patterns are not supported yet")
	}
	return parseTerms(s)
}

func parseTerms(s string) (*FilterPattern, error) {
	p := &FilterPattern{}
	for s = strings.TrimSpace(s); s != ""; s = strings.TrimSpace(s) {
		kind := byte(0)
		if s[0] == '?' || s[0] == '-' {
			kind, s = s[0], s[1:]
		}
		var term string
		if strings.HasPrefix(s, `"`) {
			end := strings.IndexByte(s[1:], '"')
			if end < 0 {
				return nil, errFilterPattern()
			}
			term, s = s[1:1+end], s[2+end:]
		} else {
			end := strings.IndexFunc(s, unicode.IsSpace)
			if end < 0 {
				end = len(s)
			}
			term, s = s[:end], s[end:]
		}
		if term == "" {
			continue
		}
		switch kind {
		case '?':
			p.any = append(p.any, term)
		case '-':
			p.none = append(p.none, term)
		default:
			p.all = append(p.all, term)
		}
	}
	return p, nil
}

// jsonExpr is a node of a JSON filter pattern.
type jsonExpr interface{ eval(doc any) bool }

type jsonAnd struct{ l, r jsonExpr }
type jsonOr struct{ l, r jsonExpr }

func (e jsonAnd) eval(d any) bool { return e.l.eval(d) && e.r.eval(d) }
func (e jsonOr) eval(d any) bool  { return e.l.eval(d) || e.r.eval(d) }

// jsonCmp compares the value at a selector with a literal.
type jsonCmp struct {
	sel   []string // field names and [n] indexes
	op    string   // = != < > <= >= or EXISTS, NOT EXISTS, IS NULL, IS TRUE, IS FALSE
	str   string
	num   float64
	isNum bool
}

func (c jsonCmp) eval(doc any) bool {
	v, found := selectJSON(doc, c.sel)
	switch c.op {
	case "EXISTS":
		return found
	case "NOT EXISTS":
		return !found
	case "IS NULL":
		return found && v == nil
	case "IS TRUE", "IS FALSE":
		b, ok := v.(bool)
		return ok && b == (c.op == "IS TRUE")
	}
	if !found {
		return false
	}
	if c.isNum {
		n, ok := v.(float64)
		if !ok {
			return false
		}
		switch c.op {
		case "=":
			return n == c.num
		case "!=":
			return n != c.num
		case "<":
			return n < c.num
		case ">":
			return n > c.num
		case "<=":
			return n <= c.num
		case ">=":
			return n >= c.num
		}
		return false
	}
	var s string
	switch t := v.(type) {
	case string:
		s = t
	case float64, bool:
		s = fmt.Sprint(t)
	default:
		return false
	}
	eq, _ := path.Match(c.str, s) // '*' wildcards, as AWS's string values allow
	if !strings.ContainsAny(c.str, "*?[\\") {
		eq = s == c.str
	}
	switch c.op {
	case "=":
		return eq
	case "!=":
		return !eq
	}
	return false
}

func selectJSON(doc any, sel []string) (any, bool) {
	cur := doc
	for _, s := range sel {
		if strings.HasPrefix(s, "[") {
			i, err := strconv.Atoi(s[1 : len(s)-1])
			arr, ok := cur.([]any)
			if err != nil || !ok || i < 0 || i >= len(arr) {
				return nil, false
			}
			cur = arr[i]
			continue
		}
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[s]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// lexJSONPattern splits the inside of { ... } into tokens: ( ) && || operators, selectors,
// quoted strings (kept with their quotes) and bare words.
func lexJSONPattern(s string) []string {
	var toks []string
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			i++
		case c == '(' || c == ')':
			toks = append(toks, string(c))
			i++
		case strings.HasPrefix(s[i:], "&&") || strings.HasPrefix(s[i:], "||") || strings.HasPrefix(s[i:], "!=") ||
			strings.HasPrefix(s[i:], "<=") || strings.HasPrefix(s[i:], ">="):
			toks = append(toks, s[i:i+2])
			i += 2
		case c == '=' || c == '<' || c == '>':
			toks = append(toks, string(c))
			i++
		case c == '"':
			j := i + 1
			for j < len(s) && s[j] != '"' {
				if s[j] == '\\' {
					j++
				}
				j++
			}
			toks = append(toks, s[i:min(j+1, len(s))])
			i = j + 1
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\n()=<>!&|\"", rune(s[j])) {
				j++
			}
			if j == i {
				j++ // a stray character: its own token, which the parser refuses
			}
			toks = append(toks, s[i:j])
			i = j
		}
	}
	return toks
}

type jsonParser struct {
	toks []string
	i    int
}

func (p *jsonParser) peek() string {
	if p.i < len(p.toks) {
		return p.toks[p.i]
	}
	return ""
}

func (p *jsonParser) next() string { t := p.peek(); p.i++; return t }

func (p *jsonParser) or() (jsonExpr, error) {
	l, err := p.and()
	for err == nil && p.peek() == "||" {
		p.next()
		var r jsonExpr
		if r, err = p.and(); err == nil {
			l = jsonOr{l, r}
		}
	}
	return l, err
}

func (p *jsonParser) and() (jsonExpr, error) {
	l, err := p.term()
	for err == nil && p.peek() == "&&" {
		p.next()
		var r jsonExpr
		if r, err = p.term(); err == nil {
			l = jsonAnd{l, r}
		}
	}
	return l, err
}

func (p *jsonParser) term() (jsonExpr, error) {
	if p.peek() == "(" {
		p.next()
		e, err := p.or()
		if err != nil || p.next() != ")" {
			return nil, errFilterPattern()
		}
		return e, nil
	}
	sel, err := parseSelector(p.next())
	if err != nil {
		return nil, err
	}
	c := jsonCmp{sel: sel}
	switch op := p.next(); op {
	case "=", "!=", "<", ">", "<=", ">=":
		c.op = op
	case "EXISTS":
		c.op = op
		return c, nil
	case "NOT":
		if p.next() != "EXISTS" {
			return nil, errFilterPattern()
		}
		c.op = "NOT EXISTS"
		return c, nil
	case "IS":
		v := p.next()
		if v != "NULL" && v != "TRUE" && v != "FALSE" {
			return nil, errFilterPattern()
		}
		c.op = "IS " + v
		return c, nil
	default:
		return nil, errFilterPattern()
	}
	v := p.next()
	switch {
	case v == "":
		return nil, errFilterPattern()
	case strings.HasPrefix(v, `"`):
		if len(v) < 2 || !strings.HasSuffix(v, `"`) {
			return nil, errFilterPattern()
		}
		c.str = strings.ReplaceAll(v[1:len(v)-1], `\"`, `"`)
	default:
		if n, err := strconv.ParseFloat(v, 64); err == nil {
			c.num, c.isNum = n, true
		} else {
			c.str = v
		}
	}
	if c.isNum == false && c.op != "=" && c.op != "!=" {
		return nil, errFilterPattern()
	}
	return c, nil
}

// parseSelector splits $.a.b[0].c into a, b, [0], c.
func parseSelector(s string) ([]string, error) {
	rest, ok := strings.CutPrefix(s, "$")
	if !ok {
		return nil, errFilterPattern()
	}
	var sel []string
	for rest != "" {
		switch rest[0] {
		case '.':
			end := strings.IndexAny(rest[1:], ".[")
			if end < 0 {
				end = len(rest) - 1
			}
			if end == 0 {
				return nil, errFilterPattern()
			}
			sel, rest = append(sel, rest[1:1+end]), rest[1+end:]
		case '[':
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				return nil, errFilterPattern()
			}
			sel, rest = append(sel, rest[:end+1]), rest[end+1:]
		default:
			return nil, errFilterPattern()
		}
	}
	if len(sel) == 0 {
		return nil, errFilterPattern()
	}
	return sel, nil
}
