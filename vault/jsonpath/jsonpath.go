// Package jsonpath selects values in a decoded JSON tree by the small
// JSONPath subset a field list needs: `$.a.b`, `$.list[0]`, `$.list[*].x`,
// `$['odd key']` and `.*`. It works on jsonorder trees (and plain maps), so
// a rewritten body keeps its member order.
package jsonpath

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/strongroom/strongroom/vault/jsonorder"
)

// Path is a parsed path.
type Path struct {
	src  string
	segs []seg
}

type seg struct {
	key   string
	index int  // -1 when key is used
	wild  bool // [*] or .*
}

// String returns the path as written.
func (p Path) String() string { return p.src }

// Parse parses a path starting with `$`.
func Parse(s string) (Path, error) {
	p := Path{src: s}
	if !strings.HasPrefix(s, "$") {
		return p, fmt.Errorf("a JSONPath starts with $: %q", s)
	}
	rest := s[1:]
	for rest != "" {
		switch {
		case strings.HasPrefix(rest, ".*"):
			p.segs, rest = append(p.segs, seg{index: -1, wild: true}), rest[2:]
		case rest[0] == '.':
			end := strings.IndexAny(rest[1:], ".[")
			if end < 0 {
				end = len(rest) - 1
			}
			name := rest[1 : end+1]
			if name == "" {
				return p, fmt.Errorf("empty member name in %q", s)
			}
			p.segs, rest = append(p.segs, seg{key: name, index: -1}), rest[end+1:]
		case rest[0] == '[':
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				return p, fmt.Errorf("unclosed [ in %q", s)
			}
			in := rest[1:end]
			switch {
			case in == "*":
				p.segs = append(p.segs, seg{index: -1, wild: true})
			case len(in) >= 2 && (in[0] == '\'' || in[0] == '"') && in[len(in)-1] == in[0]:
				p.segs = append(p.segs, seg{key: in[1 : len(in)-1], index: -1})
			default:
				n, err := strconv.Atoi(in)
				if err != nil || n < 0 {
					return p, fmt.Errorf("bad index [%s] in %q", in, s)
				}
				p.segs = append(p.segs, seg{index: n})
			}
			rest = rest[end+1:]
		default:
			return p, fmt.Errorf("unexpected %q in %q", rest[:1], s)
		}
	}
	if len(p.segs) == 0 {
		return p, fmt.Errorf("the path %q selects the whole document", s)
	}
	return p, nil
}

// Replace calls fn for each value the path selects and stores what fn
// returns in its place. fn gets the location as a concrete path.
func (p Path) Replace(doc any, fn func(at string, v any) any) {
	replace(doc, p.segs, "$", fn)
}

func replace(node any, segs []seg, at string, fn func(string, any) any) {
	s, rest := segs[0], segs[1:]
	visit := func(get func() any, set func(any), where string) {
		if len(rest) == 0 {
			set(fn(where, get()))
			return
		}
		replace(get(), rest, where, fn)
	}
	switch n := node.(type) {
	case *jsonorder.Object:
		for _, k := range n.Keys {
			if s.wild || s.index < 0 && s.key == k {
				k := k
				visit(func() any { return n.Values[k] }, func(v any) { n.Values[k] = v }, at+"."+k)
			}
		}
	case map[string]any:
		for k := range n {
			if s.wild || s.index < 0 && s.key == k {
				k := k
				visit(func() any { return n[k] }, func(v any) { n[k] = v }, at+"."+k)
			}
		}
	case []any:
		for i := range n {
			if s.wild || s.index == i {
				i := i
				visit(func() any { return n[i] }, func(v any) { n[i] = v }, fmt.Sprintf("%s[%d]", at, i))
			}
		}
	}
}

// Keys returns the member names the path selects by name, in order.
func (p Path) Keys() []string {
	var out []string
	for _, s := range p.segs {
		if !s.wild && s.index < 0 {
			out = append(out, s.key)
		}
	}
	return out
}
