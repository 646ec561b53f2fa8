package expr

import (
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/osteele/liquid/expressions"

	"github.com/strongroom/strongroom/vault/jsonpath"
)

// dexpr is one parsed detokenization expression.
type dexpr struct {
	raw   string // source including delimiters
	id    string // token id or Vars name
	whole bool   // token: prefix — bind the whole token
	isVar bool   // id names an Options.Vars entry
	key   string // config: the configuration entry (id is ConfigVar)
	path  string // generation A bare JSONPath, applied first
	chain expressions.Expression
}

// seg is a piece of a string: literal text, or an expression.
type seg struct {
	text string
	x    *dexpr
}

// maxIDLen is the longest token id Basis Theory accepts (§7.3).
const maxIDLen = 400

// validID reports whether s could be a token id (§7.3): 3–400 characters and
// none of the forbidden characters.
func validID(s string) bool {
	if len(s) < 3 || utf8.RuneCountInString(s) > maxIDLen {
		return false
	}
	return !strings.ContainsAny(s, "#/\\+?[]|&=%<>{}^")
}

// parseSegments splits s into text and expressions delimited by l and r. It
// returns nil segments when s holds no expression.
func (e *Engine) parseSegments(s, l, r string, vars map[string]any) ([]seg, error) {
	var segs []seg
	found := false
	text := 0 // start of pending literal text
	for pos := 0; pos < len(s); {
		i := strings.Index(s[pos:], l)
		if i < 0 {
			break
		}
		i += pos
		j := strings.Index(s[i+len(l):], r)
		if j < 0 {
			break
		}
		inner := s[i+len(l) : i+len(l)+j]
		end := i + len(l) + j + len(r)
		x, ok, err := e.parseExpr(inner, vars)
		if err != nil {
			raw := s[i:end]
			var ee *ExprError
			if errors.As(err, &ee) {
				return nil, &ExprError{Expr: raw, Msg: ee.Msg, Err: ee.Err}
			}
			return nil, exprError(raw, err)
		}
		if !ok {
			pos = i + len(l) // not an expression: keep scanning after the delimiter
			continue
		}
		x.raw = s[i:end]
		if text < i {
			segs = append(segs, seg{text: s[text:i]})
		}
		segs = append(segs, seg{x: x})
		found = true
		pos, text = end, end
	}
	if !found {
		return nil, nil
	}
	if text < len(s) {
		segs = append(segs, seg{text: s[text:]})
	}
	return segs, nil
}

// parseExpr parses the inside of one delimiter pair:
// `[token:] <id> [| $.bare.path] [| filter ...]`. ok is false when the content
// is not a detokenization expression and must stay verbatim.
func (e *Engine) parseExpr(inner string, vars map[string]any) (x *dexpr, ok bool, err error) {
	c := strings.TrimSpace(inner)
	if c == "" {
		return nil, false, nil
	}
	head, rest, piped := strings.Cut(c, "|")
	head = strings.TrimSpace(head)
	x = &dexpr{}
	if kw, after, found := strings.Cut(head, ":"); found {
		switch strings.TrimSpace(kw) {
		case "token":
			x.whole = true
			head = strings.TrimSpace(after)
		case "token_intent":
			return nil, false, errorf("token_intent expressions are not supported")
		case "config":
			if _, ok := vars[ConfigVar]; !ok {
				return nil, false, errorf("configuration expressions are not resolved in request content (transform and reactor code read the configuration)")
			}
			if x.key = strings.TrimSpace(after); x.key == "" {
				return nil, false, errorf("a configuration expression names a key")
			}
			x.isVar, head = true, ConfigVar
		}
	}
	if _, isVar := vars[head]; isVar && !x.whole {
		x.isVar = true
	} else if !x.isVar && !validID(head) {
		if x.whole {
			return nil, false, errorf("invalid token id")
		}
		return nil, false, nil
	}
	x.id = head
	if !piped {
		return x, true, nil
	}
	rest = strings.TrimSpace(rest)
	if rest == "" {
		return nil, false, errorf("empty filter")
	}
	if rest[0] == '$' {
		path, after, more := splitPipe(rest)
		x.path = strings.TrimSpace(path)
		rest = ""
		if more {
			if rest = strings.TrimSpace(after); rest == "" {
				return nil, false, errorf("empty filter")
			}
		}
	}
	if rest != "" {
		chain, err := e.compile(chainVar + " | " + rest)
		if err != nil {
			return nil, false, err
		}
		x.chain = chain
	}
	return x, true, nil
}

// chainVar is the variable a detokenized value is bound to for its filters.
const chainVar = "__v"

// splitPipe splits s at the first '|' outside quotes, brackets and parentheses.
func splitPipe(s string) (before, after string, found bool) {
	before = s
	jsonpath.EachUnquoted(s, func(i, depth int) bool {
		if s[i] == '|' && depth == 0 {
			before, after, found = s[:i], s[i+1:], true
			return false
		}
		return true
	})
	return before, after, found
}
