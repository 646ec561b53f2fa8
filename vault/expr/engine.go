// Package expr implements Basis Theory's expression language: Liquid
// (github.com/osteele/liquid) with Basis Theory's filters, used for
// fingerprint expressions, search indexes, masks, alias ids and for
// detokenizing JSON documents (proxy bodies, reactor args, POST /detokenize).
//
// Expression results are kept typed wherever a value stands alone: a string
// that is exactly one `{{ … }}` evaluates to the Go value of the expression
// (string, number, bool, nil, map[string]any, []any); text mixed with
// expressions is concatenated, objects and arrays rendering as JSON text.
package expr

import (
	"fmt"
	"strings"
	"sync"

	"github.com/osteele/liquid"
	"github.com/osteele/liquid/expressions"
	"github.com/osteele/liquid/filters"
	"github.com/osteele/liquid/render"

	"github.com/strongroom/strongroom/vault/jsonpath"
)

const cacheSize = 2048

// Engine evaluates expressions. It holds one osteele/liquid engine and one
// expression configuration sharing the same filter functions, plus bounded LRU
// caches of compiled expressions, templates and JSONPaths. An Engine is safe
// for concurrent use; build it once (or use Default).
type Engine struct {
	cfg   expressions.Config
	liq   *liquid.Engine
	exprs *lru[expressions.Expression]
	tmpls *lru[*template]
	paths *lru[jsonpath.Path]
}

// NewEngine returns an Engine with the standard Liquid filters and the Basis
// Theory filters registered. The {% include %} tag is disabled.
func NewEngine() *Engine {
	e := &Engine{
		cfg:   expressions.NewConfig(),
		liq:   liquid.NewEngine(),
		exprs: newLRU[expressions.Expression](cacheSize),
		tmpls: newLRU[*template](cacheSize),
		paths: newLRU[jsonpath.Path](cacheSize),
	}
	filters.AddStandardFilters(&e.cfg)
	for name, fn := range e.btFilters() {
		e.cfg.AddFilter(name, fn)
		e.liq.RegisterFilter(name, fn)
	}
	// include reads files from disk: never reachable from tenant input.
	e.liq.RegisterTag("include", func(render.Context) (string, error) {
		return "", errorf("the include tag is not supported")
	})
	return e
}

var defaultEngine = sync.OnceValue(NewEngine)

// Default returns the process-wide shared Engine used by the package-level
// functions.
func Default() *Engine { return defaultEngine() }

// EvalString evaluates a Liquid template with Default(); see Engine.EvalString.
func EvalString(expr string, vars map[string]any) (string, error) {
	return Default().EvalString(expr, vars)
}

// EvalMask evaluates a mask with Default(); see Engine.EvalMask.
func EvalMask(mask any, data any) (any, error) {
	return Default().EvalMask(mask, data)
}

// ---------------------------------------------------------------- templates

// template is a parsed EvalString source: either a sequence of text and
// `{{ expression }}` parts evaluated by this package, or (when the source uses
// tags or whitespace control) a full liquid.Template.
type template struct {
	parts []part
	liq   *liquid.Template
}

type part struct {
	text string
	src  string
	x    expressions.Expression // nil for text
}

// lone reports whether the template is exactly one expression.
func (t *template) lone() bool { return t.liq == nil && len(t.parts) == 1 && t.parts[0].x != nil }

func (e *Engine) template(src string) (*template, error) {
	return e.tmpls.getOrCompile(src, e.parseTemplate)
}

func (e *Engine) parseTemplate(src string) (t *template, err error) {
	if strings.Contains(src, "{%") || strings.Contains(src, "{{-") || strings.Contains(src, "-}}") {
		if markupHasRange(src) {
			return nil, &ExprError{Expr: src, Msg: "range literals are not supported"}
		}
		defer func() {
			if r := recover(); r != nil {
				t, err = nil, &ExprError{Expr: src, Msg: "syntax error", Err: fmt.Errorf("panic: %v", r)}
			}
		}()
		lt, serr := e.liq.ParseString(src)
		if serr != nil {
			return nil, &ExprError{Expr: src, Msg: "syntax error", Err: serr}
		}
		return &template{liq: lt}, nil
	}
	t = &template{}
	for rest := src; rest != ""; {
		i := strings.Index(rest, "{{")
		if i < 0 {
			t.parts = append(t.parts, part{text: rest})
			break
		}
		j := strings.Index(rest[i+2:], "}}")
		if j < 0 {
			return nil, &ExprError{Expr: src, Msg: "unterminated {{"}
		}
		if i > 0 {
			t.parts = append(t.parts, part{text: rest[:i]})
		}
		body := strings.TrimSpace(rest[i+2 : i+2+j])
		x, err := e.compile(body)
		if err != nil {
			return nil, err
		}
		t.parts = append(t.parts, part{src: body, x: x})
		rest = rest[i+2+j+2:]
	}
	return t, nil
}

// compile parses a Liquid expression (the inside of {{ }}) through the cache.
func (e *Engine) compile(src string) (expressions.Expression, error) {
	return e.exprs.getOrCompile(src, func(src string) (x expressions.Expression, err error) {
		if strings.TrimSpace(src) == "" {
			return nil, &ExprError{Expr: src, Msg: "empty expression"}
		}
		if hasRange(src) {
			return nil, &ExprError{Expr: src, Msg: "range literals are not supported"}
		}
		defer func() {
			if r := recover(); r != nil {
				x, err = nil, &ExprError{Expr: src, Msg: "syntax error", Err: fmt.Errorf("panic: %v", r)}
			}
		}()
		x, err = expressions.Parse(src)
		if err != nil {
			return nil, exprError(src, err)
		}
		return x, nil
	})
}

// eval evaluates a compiled expression with vars bound, turning every panic
// (the library re-panics runtime errors raised inside filters) into an error.
func (e *Engine) eval(src string, x expressions.Expression, vars map[string]any) (v any, err error) {
	defer func() {
		if r := recover(); r != nil {
			v, err = nil, &ExprError{Expr: src, Msg: "evaluation failed", Err: fmt.Errorf("panic: %v", r)}
		}
	}()
	v, err = x.Evaluate(expressions.NewContext(vars, e.cfg))
	if err != nil {
		return nil, exprError(src, err)
	}
	return v, nil
}

// evalTemplate evaluates t; typed selects the typed value of a lone expression.
func (e *Engine) evalTemplate(src string, t *template, vars map[string]any, typed bool) (out any, err error) {
	if t.liq != nil {
		defer func() {
			if r := recover(); r != nil {
				out, err = nil, &ExprError{Expr: src, Msg: "evaluation failed", Err: fmt.Errorf("panic: %v", r)}
			}
		}()
		s, serr := t.liq.RenderString(vars)
		if serr != nil {
			return nil, exprError(src, serr)
		}
		return s, nil
	}
	if typed && t.lone() {
		return e.eval(t.parts[0].src, t.parts[0].x, vars)
	}
	var b strings.Builder
	for _, p := range t.parts {
		if p.x == nil {
			b.WriteString(p.text)
			continue
		}
		v, err := e.eval(p.src, p.x, vars)
		if err != nil {
			return nil, err
		}
		s, err := toText(v)
		if err != nil {
			return nil, exprError(p.src, err)
		}
		b.WriteString(s)
	}
	return b.String(), nil
}

// EvalString renders a Liquid template (fingerprint_expression, a search
// index, an alias id, a string mask) with vars bound — typically "data" and,
// for fingerprints, "metadata". Text outside {{ }} is kept; each expression's
// value is rendered as text (nil → "", objects and arrays → JSON text).
// Templates using tags ({% … %}) or whitespace control ({{- -}}) are rendered
// by the Liquid engine itself. The vars map is not modified.
func (e *Engine) EvalString(expr string, vars map[string]any) (string, error) {
	t, err := e.template(expr)
	if err != nil {
		return "", err
	}
	v, err := e.evalTemplate(expr, t, vars, false)
	if err != nil {
		return "", err
	}
	return v.(string), nil
}

// EvalMask applies a token mask to data (bound as "data"). A mask is a string
// template or an object (or array), possibly nested, whose string leaves are
// templates; the result has the mask's shape, so properties the mask leaves
// out are dropped. A leaf that is exactly one expression keeps the typed value
// (e.g. `"{{ data.expiration_month }}"` → 12); other leaves are strings.
// Non-string leaves (numbers, booleans, null) are copied as they are.
func (e *Engine) EvalMask(mask any, data any) (any, error) {
	return e.evalMask(mask, map[string]any{"data": data}, 0)
}

const maxMaskDepth = 64

func (e *Engine) evalMask(mask any, vars map[string]any, depth int) (any, error) {
	if depth > maxMaskDepth {
		return nil, &ExprError{Msg: "mask is nested too deeply"}
	}
	switch m := mask.(type) {
	case string:
		t, err := e.template(m)
		if err != nil {
			return nil, err
		}
		return e.evalTemplate(m, t, vars, true)
	case map[string]any:
		out := make(map[string]any, len(m))
		for k, c := range m {
			v, err := e.evalMask(c, vars, depth+1)
			if err != nil {
				return nil, err
			}
			out[k] = v
		}
		return out, nil
	case []any:
		out := make([]any, len(m))
		for i, c := range m {
			v, err := e.evalMask(c, vars, depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	default:
		return m, nil
	}
}

// hasRange reports whether src contains a Liquid range literal ("..") outside
// quotes; ranges materialize arrays of arbitrary size, so they are refused.
func hasRange(src string) bool {
	found := false
	jsonpath.EachUnquoted(src, func(i, _ int) bool {
		found = src[i] == '.' && i+1 < len(src) && src[i+1] == '.'
		return !found
	})
	return found
}

// markupHasRange applies hasRange to the insides of {{ }} and {% %} in a
// template, ignoring plain text.
func markupHasRange(src string) bool {
	for rest := src; ; {
		i := strings.IndexByte(rest, '{')
		if i < 0 || i+1 >= len(rest) {
			return false
		}
		var closing string
		switch rest[i+1] {
		case '{':
			closing = "}}"
		case '%':
			closing = "%}"
		default:
			rest = rest[i+1:]
			continue
		}
		body := rest[i+2:]
		j := strings.Index(body, closing)
		if j < 0 {
			return hasRange(body)
		}
		if hasRange(body[:j]) {
			return true
		}
		rest = body[j+2:]
	}
}
