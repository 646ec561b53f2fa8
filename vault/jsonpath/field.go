package jsonpath

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/ohler55/ojg/jp"
)

// ParseField parses the path of a field to tokenize: `$.a.b`, `$.list[0]`,
// `$.list[*].x`, `$['odd key']` and `.*` only. Tokenizing fails closed on
// names that look like a field without being it (Keys), which needs every
// member the path can reach to be named in it: no descent, filter or union.
// The grammar is the vault's own (a dot member runs to the next '.' or '['
// whatever it holds, where ojg's dot notation refuses some names and drops a
// trailing '@'); what it builds is an ojg expression, evaluated like any.
func ParseField(s string) (Path, error) {
	p := Path{src: s}
	if !strings.HasPrefix(s, "$") {
		return p, fmt.Errorf("a JSONPath starts with $: %q", s)
	}
	x := jp.R()
	for rest := s[1:]; rest != ""; {
		switch {
		case strings.HasPrefix(rest, ".*"):
			x, rest = x.W(), rest[2:]
		case rest[0] == '.':
			end := strings.IndexAny(rest[1:], ".[")
			if end < 0 {
				end = len(rest) - 1
			}
			name := rest[1 : end+1]
			if name == "" {
				return p, fmt.Errorf("empty member name in %q", s)
			}
			x, rest = x.C(name), rest[end+1:]
		case rest[0] == '[':
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				return p, fmt.Errorf("unclosed [ in %q", s)
			}
			f, err := bracketFrag(rest[1:end])
			if err != nil {
				return p, fmt.Errorf("%v in %q", err, s)
			}
			x, rest = append(x, f), rest[end+1:]
		default:
			return p, fmt.Errorf("unexpected %q in %q", rest[:1], s)
		}
	}
	if len(x) == 1 {
		return p, fmt.Errorf("the path %q selects the whole document", s)
	}
	p.x = x
	return p, nil
}

// bracketFrag reads what a field path's brackets hold: *, a quoted member
// (taken verbatim between its quotes) or an index.
func bracketFrag(in string) (jp.Frag, error) {
	switch {
	case in == "*":
		return jp.Wildcard('*'), nil
	case len(in) >= 2 && (in[0] == '\'' || in[0] == '"') && in[len(in)-1] == in[0]:
		return jp.Child(in[1 : len(in)-1]), nil
	}
	n, err := strconv.Atoi(in)
	if err != nil || n < 0 {
		return nil, fmt.Errorf("bad index [%s]", in)
	}
	return jp.Nth(n), nil
}

// Keys returns the member names the path selects by name, in order.
func (p Path) Keys() []string {
	var out []string
	for _, f := range p.x {
		if c, ok := f.(jp.Child); ok {
			out = append(out, string(c))
		}
	}
	return out
}
