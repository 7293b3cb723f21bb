package ops

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"github.com/gantry-dev/gantry/internal/apierr"
)

// FilterPattern matches log event messages with CloudWatch Logs' filter pattern syntax:
// terms (all must appear, case-sensitive), "quoted phrases", ?alternatives, -exclusions, and
// JSON patterns such as { $.level = "error" && $.latency > 100 }, and space-delimited patterns
// such as [ip, user, ..., status_code = 4*, bytes > 1000]; %regex% stands for a term or, after
// = and !=, for a value (at most two per pattern).
type FilterPattern struct {
	all, any, none []filterTerm
	json           jsonExpr
	space          *spacePattern
}

// Match says whether msg matches the pattern.
func (p *FilterPattern) Match(msg string) bool {
	if p.space != nil {
		return p.space.match(msg)
	}
	if p.json != nil {
		var doc any
		if json.Unmarshal([]byte(msg), &doc) != nil {
			return false
		}
		return p.json.eval(doc)
	}
	for _, t := range p.none {
		if t.in(msg) {
			return false
		}
	}
	for _, t := range p.all {
		if !t.in(msg) {
			return false
		}
	}
	if len(p.any) == 0 {
		return true
	}
	for _, t := range p.any {
		if t.in(msg) {
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
		p := &jsonParser{tokens: tokens{toks: lexJSONPattern(s[1 : len(s)-1])}}
		e, err := p.or()
		if err != nil && err.Error() != errFilterPattern().Error() {
			return nil, err // a bad %regex%, told as such
		}
		if err != nil || p.i != len(p.toks) {
			return nil, errFilterPattern()
		}
		return &FilterPattern{json: e}, nil
	case strings.HasPrefix(s, "["):
		if !strings.HasSuffix(s, "]") {
			return nil, errFilterPattern()
		}
		sp, err := parseSpacePattern(s[1 : len(s)-1])
		if err != nil {
			return nil, err
		}
		return &FilterPattern{space: sp}, nil
	}
	return parseTerms(s)
}

func parseTerms(s string) (*FilterPattern, error) {
	p := &FilterPattern{}
	regexes := 0
	for s = strings.TrimSpace(s); s != ""; s = strings.TrimSpace(s) {
		kind := byte(0)
		if s[0] == '?' || s[0] == '-' {
			kind, s = s[0], s[1:]
		}
		var term string
		quoted := strings.HasPrefix(s, `"`)
		if quoted {
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
		ft := filterTerm{s: term}
		if !quoted {
			re, ok, err := parseFilterRegex(term, &regexes)
			if err != nil {
				return nil, err
			}
			if ok {
				ft.re = re
			}
		}
		switch kind {
		case '?':
			p.any = append(p.any, ft)
		case '-':
			p.none = append(p.none, ft)
		default:
			p.all = append(p.all, ft)
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
	re    *regexp.Regexp // a %regex% value, for = and !=
	sel   []string       // field names and [n] indexes
	op    string         // = != < > <= >= or EXISTS, NOT EXISTS, IS NULL, IS TRUE, IS FALSE
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
	eq := wildcardMatch(c.str, s) // '*' wildcards, as AWS's string values allow
	if c.re != nil {
		eq = c.re.MatchString(s)
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
		case c == '%':
			// A %regex% is one token, whatever characters it holds; an unterminated one runs
			// to the end, and the parser refuses it.
			j := strings.IndexByte(s[i+1:], '%')
			if j < 0 {
				toks = append(toks, s[i:])
				i = len(s)
				continue
			}
			toks = append(toks, s[i:i+j+2])
			i += j + 2
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

// tokens is a cursor over a pattern's tokens, shared by the JSON and space-delimited parsers.
type tokens struct {
	toks []string
	i    int
}

func (p *tokens) peek() string {
	if p.i < len(p.toks) {
		return p.toks[p.i]
	}
	return ""
}

func (p *tokens) next() string { t := p.peek(); p.i++; return t }

// chain parses operand (op operand)* left-associatively, joining with join: the && and ||
// levels of both pattern grammars.
func chain[E any](p *tokens, op string, operand func() (E, error), join func(l, r E) E) (E, error) {
	l, err := operand()
	for err == nil && p.peek() == op {
		p.next()
		var r E
		if r, err = operand(); err == nil {
			l = join(l, r)
		}
	}
	return l, err
}

type jsonParser struct {
	tokens
	regexes int
}

func (p *jsonParser) or() (jsonExpr, error) {
	return chain(&p.tokens, "||", p.and, func(l, r jsonExpr) jsonExpr { return jsonOr{l, r} })
}

func (p *jsonParser) and() (jsonExpr, error) {
	return chain(&p.tokens, "&&", p.term, func(l, r jsonExpr) jsonExpr { return jsonAnd{l, r} })
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
	case strings.HasPrefix(v, "%"):
		re, _, err := parseFilterRegex(v, &p.regexes)
		if err != nil {
			return nil, err
		}
		c.re = re
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

// spacePattern is a space-delimited filter pattern: [f1, f2 = v, ..., fn > 10]. An event is split
// into fields at spaces, where text in "double quotes" or [square brackets] is one field; the
// pattern's fields must line up with the event's, each ... standing for any number of fields
// (none included); then every field's conditions must hold.
type spacePattern struct {
	fields []spaceField
}

type spaceField struct {
	ellipsis bool
	name     string
	cond     spaceExpr // nil: any value
}

// spaceExpr is a field's condition: comparisons joined with && and ||, && binding tighter.
type spaceExpr interface {
	eval(vals map[string]string) bool
}

type spaceAnd struct{ l, r spaceExpr }
type spaceOr struct{ l, r spaceExpr }

func (e spaceAnd) eval(v map[string]string) bool { return e.l.eval(v) && e.r.eval(v) }
func (e spaceOr) eval(v map[string]string) bool  { return e.l.eval(v) || e.r.eval(v) }

// spaceCmp compares a named field with a value: numerically when the value is a number (and, for
// = and !=, the field is one too), else as a string where * matches any run of characters.
type spaceCmp struct {
	re             *regexp.Regexp // a %regex% value, for = and !=
	field, op, str string
	num            float64
	isNum          bool
}

func (c spaceCmp) eval(vals map[string]string) bool {
	v, ok := vals[c.field]
	if !ok {
		return false
	}
	if c.isNum {
		if n, err := strconv.ParseFloat(v, 64); err == nil {
			switch c.op {
			case "=":
				return n == c.num
			case "!=":
				return n != c.num
			case "<":
				return n < c.num
			case "<=":
				return n <= c.num
			case ">":
				return n > c.num
			case ">=":
				return n >= c.num
			}
		}
		if c.op != "=" && c.op != "!=" {
			return false // a numeric comparison with a field that is not a number
		}
	}
	eq := wildcardMatch(c.str, v)
	if c.re != nil {
		eq = c.re.MatchString(v)
	}
	if c.op == "!=" {
		return !eq
	}
	return eq
}

// wildcardMatch matches s against pattern, where * is any run of characters and nothing else is
// special.
func wildcardMatch(pattern, s string) bool {
	if !strings.Contains(pattern, "*") {
		return pattern == s
	}
	parts := strings.Split(pattern, "*")
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, mid := range parts[1 : len(parts)-1] {
		i := strings.Index(s, mid)
		if i < 0 {
			return false
		}
		s = s[i+len(mid):]
	}
	return len(s) >= len(last) && strings.HasSuffix(s, last)
}

// splitSpaceFields splits an event into its fields: runs of non-space characters, except that a
// field starting with " or [ runs to the matching " or ] (or the end of the event). The quotes
// and brackets are not part of the field's value.
func splitSpaceFields(msg string) []string {
	var out []string
	for i := 0; i < len(msg); {
		c := msg[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '"' || c == '[':
			closer := byte('"')
			if c == '[' {
				closer = ']'
			}
			end := strings.IndexByte(msg[i+1:], closer)
			if end < 0 {
				out = append(out, msg[i+1:])
				return out
			}
			out = append(out, msg[i+1:i+1+end])
			i += end + 2
		default:
			j := i
			for j < len(msg) && msg[j] != ' ' && msg[j] != '\t' && msg[j] != '\n' && msg[j] != '\r' {
				j++
			}
			out = append(out, msg[i:j])
			i = j
		}
	}
	return out
}

func (p *spacePattern) match(msg string) bool {
	return p.align(splitSpaceFields(msg), 0, 0, map[string]string{})
}

// align lines the pattern's fields from pi up with the event's from fi, trying every length for
// each ellipsis, and checks the conditions once all fields are named.
func (p *spacePattern) align(ev []string, pi, fi int, vals map[string]string) bool {
	if pi == len(p.fields) {
		if fi != len(ev) {
			return false
		}
		for _, f := range p.fields {
			if f.cond != nil && !f.cond.eval(vals) {
				return false
			}
		}
		return true
	}
	f := p.fields[pi]
	if f.ellipsis {
		for n := fi; n <= len(ev); n++ {
			if p.align(ev, pi+1, n, vals) {
				return true
			}
		}
		return false
	}
	if fi >= len(ev) {
		return false
	}
	prev, had := vals[f.name]
	vals[f.name] = ev[fi]
	ok := p.align(ev, pi+1, fi+1, vals)
	if had {
		vals[f.name] = prev
	} else {
		delete(vals, f.name)
	}
	return ok
}

// parseSpacePattern parses the inside of [ ... ]: fields separated by commas, each ..., a name,
// or conditions on names such as status_code = 4* || status_code = 5*.
func parseSpacePattern(s string) (*spacePattern, error) {
	parts, err := splitPatternFields(s)
	if err != nil {
		return nil, err
	}
	p := &spacePattern{}
	regexes := 0
	for i, part := range parts {
		part = strings.TrimSpace(part)
		switch {
		case part == "":
			return nil, errFilterPattern()
		case part == "...":
			p.fields = append(p.fields, spaceField{ellipsis: true})
			continue
		}
		toks := lexJSONPattern(part)
		if len(toks) == 1 {
			if !isFieldName(toks[0]) {
				return nil, errFilterPattern()
			}
			p.fields = append(p.fields, spaceField{name: toks[0]})
			continue
		}
		sp := &spaceParser{tokens: tokens{toks: toks}, regexes: &regexes}
		e, err := sp.or()
		if err != nil && err.Error() != errFilterPattern().Error() {
			return nil, err // a bad %regex%, told as such
		}
		if err != nil || sp.i != len(toks) {
			return nil, errFilterPattern()
		}
		name := sp.first
		if name == "" {
			name = "$" + strconv.Itoa(i)
		}
		p.fields = append(p.fields, spaceField{name: name, cond: e})
	}
	if len(p.fields) == 0 {
		return nil, errFilterPattern()
	}
	return p, nil
}

// splitPatternFields splits at commas outside double quotes.
func splitPatternFields(s string) ([]string, error) {
	var parts []string
	start, quoted, regex := 0, false, false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if quoted {
				i++
			}
		case '"':
			if !regex {
				quoted = !quoted
			}
		case '%':
			if !quoted {
				regex = !regex
			}
		case ',':
			if !quoted && !regex {
				parts = append(parts, s[start:i])
				start = i + 1
			}
		}
	}
	if quoted || regex {
		return nil, errFilterPattern()
	}
	return append(parts, s[start:]), nil
}

func isFieldName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r == '-' || r == '.' || r == '$' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

type spaceParser struct {
	tokens
	first   string // the field the first comparison names: the field this part stands for
	regexes *int   // %regex% values in the whole pattern
}

func (p *spaceParser) or() (spaceExpr, error) {
	return chain(&p.tokens, "||", p.and, func(l, r spaceExpr) spaceExpr { return spaceOr{l, r} })
}

func (p *spaceParser) and() (spaceExpr, error) {
	return chain(&p.tokens, "&&", p.cmp, func(l, r spaceExpr) spaceExpr { return spaceAnd{l, r} })
}

func (p *spaceParser) cmp() (spaceExpr, error) {
	if p.peek() == "(" {
		p.next()
		e, err := p.or()
		if err != nil || p.next() != ")" {
			return nil, errFilterPattern()
		}
		return e, nil
	}
	name := p.next()
	if !isFieldName(name) {
		return nil, errFilterPattern()
	}
	if p.first == "" {
		p.first = name
	}
	c := spaceCmp{field: name}
	switch op := p.next(); op {
	case "=", "!=", "<", "<=", ">", ">=":
		c.op = op
	default:
		return nil, errFilterPattern()
	}
	v := p.next()
	switch {
	case v == "" || v == "&&" || v == "||" || v == "(" || v == ")":
		return nil, errFilterPattern()
	case strings.HasPrefix(v, `"`):
		if len(v) < 2 || !strings.HasSuffix(v, `"`) {
			return nil, errFilterPattern()
		}
		c.str = strings.ReplaceAll(v[1:len(v)-1], `\"`, `"`)
	case strings.HasPrefix(v, "%"):
		re, _, err := parseFilterRegex(v, p.regexes)
		if err != nil {
			return nil, err
		}
		c.re = re
	default:
		c.str = v
		if n, err := strconv.ParseFloat(v, 64); err == nil {
			c.num, c.isNum = n, true
		}
	}
	if !c.isNum && c.op != "=" && c.op != "!=" {
		return nil, errFilterPattern()
	}
	return c, nil
}
