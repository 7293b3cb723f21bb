package ops

import (
	"regexp"
	"strings"

	"github.com/gantry-dev/gantry/internal/apierr"
)

// filterTerm is a term of a terms pattern: a string the event must contain, or a %regex%.
type filterTerm struct {
	s  string
	re *regexp.Regexp
}

func (t filterTerm) in(msg string) bool {
	if t.re != nil {
		return t.re.MatchString(msg)
	}
	return strings.Contains(msg, t.s)
}

// maxFilterRegexes is how many %regex% a pattern may hold, as AWS allows.
const maxFilterRegexes = 2

// parseFilterRegex compiles a %regex% (with its percent signs) with AWS's rules: letters,
// digits, the symbols :_#=@/;,- and the operators ^$?[]{}|\*+. only; no ( ) groups and no
// multibyte characters. ok is false when v is not a %regex% at all.
func parseFilterRegex(v string, count *int) (re *regexp.Regexp, ok bool, err error) {
	if len(v) < 2 || v[0] != '%' {
		return nil, false, nil
	}
	if len(v) < 3 || v[len(v)-1] != '%' {
		return nil, true, errFilterPattern()
	}
	body := v[1 : len(v)-1]
	for _, r := range body {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(":_#=@/;,-^$?[]{}|\\*+.", r)) {
			return nil, true, apierr.Errorf(apierr.InvalidParameter, "Invalid character(s) in regex term %s: letters, digits, :_#=@/;,- and the operators ^$?[]{}|\\*+. are allowed", v)
		}
	}
	if *count++; *count > maxFilterRegexes {
		return nil, true, apierr.Errorf(apierr.InvalidParameter, "Invalid filter pattern: at most %d regular expressions are allowed in a filter pattern", maxFilterRegexes)
	}
	re, err = regexp.Compile(body)
	if err != nil {
		return nil, true, apierr.Errorf(apierr.InvalidParameter, "Invalid regex term %s", v)
	}
	return re, true, nil
}
