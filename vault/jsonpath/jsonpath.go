// Package jsonpath is the vault's one JSONPath engine (ojg's jp): the
// expression filter `json: '$.path'` reads with it (Parse, Get), and
// vault_tokenize replaces the fields it names (ParseField, Replace, Keys),
// on jsonorder trees as well as plain maps, so a rewritten body keeps its
// member order.
package jsonpath

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/ohler55/ojg/jp"

	"github.com/strongroom/strongroom/vault/jsonorder"
)

// Path is a parsed path.
type Path struct {
	src string
	x   jp.Expr
}

// String returns the path as written.
func (p Path) String() string { return p.src }

// Parse parses any JSONPath ojg reads (filters, recursive descent, slices,
// unions). Header names in dot notation ($.request.headers.X-User-Id, as the
// hosted docs write them) are read as bracketed members.
func Parse(s string) (Path, error) {
	x, err := jp.ParseString(s)
	if err != nil && strings.Contains(s, "-") {
		x, err = jp.ParseString(bracketHyphenated(s))
	}
	if err != nil {
		return Path{src: s}, fmt.Errorf("invalid JSONPath %q: %w", s, err)
	}
	return Path{src: s, x: x}, nil
}

// Get returns every value the path selects. ojg compares only native numbers
// in filter scripts (json.Number is a string type to it), so a path with a
// filter reads a copy of v with native numbers.
func (p Path) Get(v any) []any {
	if strings.Contains(p.src, "?(") {
		v = nativeNumbers(v)
	}
	res := p.x.Get(view(v))
	for i, r := range res {
		res[i] = unview(r)
	}
	return res
}

// Replace calls fn for each value the path selects and stores what fn
// returns in its place. fn gets the location as a concrete path
// (`$.list[0].x`).
func (p Path) Replace(doc any, fn func(at string, v any) any) {
	for _, loc := range p.x.Locate(view(doc), 0) {
		replaceAt(doc, loc, "$", fn)
	}
}

// bracketHyphenated rewrites dot-notation members holding '-' outside
// quotes and brackets into bracket notation: `$.h.X-Id` → `$.h['X-Id']`.
func bracketHyphenated(path string) string {
	var b strings.Builder
	last := 0
	EachUnquoted(path, func(i, depth int) bool {
		if path[i] != '.' || depth != 0 {
			return true
		}
		j := i + 1
		for j < len(path) && (path[j] == '-' || path[j] == '_' || path[j] >= '0' && path[j] <= '9' ||
			path[j] >= 'a' && path[j] <= 'z' || path[j] >= 'A' && path[j] <= 'Z') {
			j++
		}
		if name := path[i+1 : j]; strings.Contains(name, "-") {
			b.WriteString(path[last:i])
			if i > 0 && path[i-1] == '.' {
				b.WriteByte('.') // recursive descent keeps its second dot
			}
			b.WriteString("['" + name + "']")
			last = j
		}
		return true
	})
	return b.String() + path[last:]
}

// nativeNumbers returns a copy of v with json.Number replaced by int64/float64.
func nativeNumbers(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, c := range v {
			out[k] = nativeNumbers(c)
		}
		return out
	case *jsonorder.Object:
		out := &jsonorder.Object{Keys: v.Keys, Values: make(map[string]any, len(v.Values))}
		for k, c := range v.Values {
			out.Values[k] = nativeNumbers(c)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, c := range v {
			out[i] = nativeNumbers(c)
		}
		return out
	case json.Number:
		if i, err := v.Int64(); err == nil {
			return i
		}
		if f, err := v.Float64(); err == nil {
			return f
		}
	}
	return v
}

// EachUnquoted calls fn for each byte of s outside single- or double-quoted
// text, with the nesting depth of parentheses and brackets around it, until
// fn returns false. Expressions quote their paths and filter arguments alike,
// so expr scans with it too.
func EachUnquoted(s string, fn func(i, depth int) bool) {
	var quote byte
	depth := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		default:
			if c == ')' || c == ']' {
				depth = max(0, depth-1)
			}
			if !fn(i, depth) {
				return
			}
			if c == '(' || c == '[' {
				depth++
			}
		}
	}
}
