package expr

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/osteele/liquid/expressions"
)

// Token is a resolved token as expressions see it: its data for the
// `{{ id }}` forms and, for `{{ token: id }}` bindings, the whole object as
// the API would return it ("id", "type", "data", "metadata", ...), which is
// built only when an expression asks for it. Tokens are read-only.
type Token struct {
	Data   any
	object func() (map[string]any, error)
}

// FromObject makes a Token from a whole token object.
func FromObject(m map[string]any) Token {
	return Token{Data: m["data"], object: func() (map[string]any, error) { return m, nil }}
}

// Lazy makes a Token from its data and a function that builds the whole
// object when a `token:` binding needs it.
func Lazy(data any, object func() (map[string]any, error)) Token {
	return Token{Data: data, object: object}
}

// Object is the whole token object (nil for the zero Token).
func (t Token) Object() (map[string]any, error) {
	if t.object == nil {
		return nil, nil
	}
	return t.object()
}

// Resolver looks up the tokens a document refers to. Detokenize calls Resolve
// once per unique id per call. An error matching ErrNotFound (errors.Is) marks
// the id unknown; any other error (e.g. the caller's forbidden error) aborts
// Detokenize and is returned unchanged.
type Resolver interface {
	Resolve(ctx context.Context, id string) (Token, error)
}

// ResolverFunc adapts a function to Resolver.
type ResolverFunc func(ctx context.Context, id string) (Token, error)

// Resolve calls f.
func (f ResolverFunc) Resolve(ctx context.Context, id string) (Token, error) { return f(ctx, id) }

// Memo resolves each token once for a whole request, however many places
// (body, headers, query) use it, and holds the request to max unique
// tokens. It is not safe for concurrent use: one per request.
func Memo(next Resolver, max int) Resolver {
	return &memo{next: next, seen: map[string]Token{}, max: max}
}

type memo struct {
	next Resolver
	seen map[string]Token
	max  int
}

func (m *memo) Resolve(ctx context.Context, id string) (Token, error) {
	if t, ok := m.seen[id]; ok {
		return t, nil
	}
	if len(m.seen) >= m.max {
		return Token{}, &TooManyTokensError{Limit: m.max, Count: len(m.seen) + 1}
	}
	t, err := m.next.Resolve(ctx, id)
	if err == nil {
		m.seen[id] = t
	}
	return t, err
}

// Options controls Detokenize and DetokenizeString. The zero value uses
// `{{ }}`, has no token limit and keeps lone expressions typed.
type Options struct {
	// Left and Right are the expression delimiters; empty means "{{" / "}}".
	// "<<" / ">>" (or any other pair) work the same way.
	Left, Right string
	// MaxTokens caps the unique token ids per call (Basis Theory: 20 per
	// proxy request, 100 per reactor request); 0 means no limit. Exceeding it
	// returns *TooManyTokensError before anything is resolved.
	MaxTokens int
	// StringPrimitives makes a string that is exactly one expression take the
	// text of a number or boolean result ("month":"11", the proxy-body
	// behaviour) instead of its JSON type ("expiration_month":11, the reactor
	// args and POST /detokenize behaviour). Objects and arrays are embedded and
	// null stays null either way.
	StringPrimitives bool
	// Vars are named values an expression may use in place of a token id,
	// e.g. {"proxy": …} for `{{ proxy | json: '$.request.headers.X' }}`. Such
	// names are never resolved, take precedence over token ids in the data
	// form, and are also visible as variables inside filter arguments.
	Vars map[string]any
}

// ConfigVar is the Vars entry holding a proxy's or reactor's configuration
// map (map[string]any), which `{{ config: <key> }}` reads. Without it a
// configuration expression is an error.
const ConfigVar = "config"

// Config is a proxy's or reactor's configuration as Vars[ConfigVar] holds it.
func Config(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func (o Options) delims() (string, string) {
	l, r := o.Left, o.Right
	if l == "" {
		l = "{{"
	}
	if r == "" {
		r = "}}"
	}
	return l, r
}

// Detokenize evaluates detokenization expressions with Default(); see
// Engine.Detokenize.
func Detokenize(ctx context.Context, doc any, opts Options, r Resolver) (any, error) {
	return Default().Detokenize(ctx, doc, opts, r)
}

// DetokenizeString evaluates the expressions in one string with Default(); see
// Engine.DetokenizeString.
func DetokenizeString(ctx context.Context, s string, opts Options, r Resolver) (string, error) {
	return Default().DetokenizeString(ctx, s, opts, r)
}

// Detokenize replaces the detokenization expressions in the string values of
// a decoded JSON document (map[string]any, []any, string, json.Number, ...)
// and returns the resulting document; map keys and non-string values are left
// alone. The input is never modified: containers on the path to a change are
// copied, and a document without expressions is returned as is.
//
// Grammar inside the delimiters (all Basis Theory generations):
//
//	{{<uuid>}}  {{ id }}                          token data (≡ {{ token: id | json: '$.data' }})
//	{{ id | $.json.path }}                        generation A bare JSONPath pipe
//	{{ id | json: '$.path' | filter: args ... }}  generations B/C Liquid filters
//	{{ token: id | json: '$.data.x' }}            the whole token object
//
// A bare JSONPath may be followed by more filters. Any string may be an id
// (aliases), but content that can never be a token id — empty, shorter than 3
// or longer than 400 characters, or containing one of # / \ + ? [ ] | & = % < >
// { } ^ (§7.3) — is not an expression and stays verbatim, as generation A left
// non-uuid content. Everything else is resolved, so an unknown id fails with
// *NotFoundError listing every unknown id. `token_intent:` is rejected.
//
// A string that is exactly one expression becomes the expression's value
// (typed unless Options.StringPrimitives; objects and arrays embedded); text
// mixed with expressions, or several expressions, is concatenated as a string
// with objects and arrays rendered as JSON text and null as "".
//
// Errors: *ExprError (bad syntax or a failing filter; checked for the whole
// document before anything is resolved), *TooManyTokensError,
// *NotFoundError, or the Resolver's own error unchanged.
func (e *Engine) Detokenize(ctx context.Context, doc any, opts Options, r Resolver) (any, error) {
	d := detok{e: e, opts: opts}
	d.l, d.r = opts.delims()
	if err := d.collect(doc); err != nil {
		return nil, err
	}
	if d.parsed == nil {
		return doc, nil
	}
	if err := d.resolve(ctx, r); err != nil {
		return nil, err
	}
	out, _, err := d.substitute(doc)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DetokenizeString is Detokenize for a header or query value: the result is
// always a string (a lone object or array result becomes its JSON text, null
// becomes "").
func (e *Engine) DetokenizeString(ctx context.Context, s string, opts Options, r Resolver) (string, error) {
	v, err := e.Detokenize(ctx, s, opts, r)
	if err != nil {
		return "", err
	}
	out, err := toText(v)
	if err != nil {
		return "", exprError(s, err)
	}
	return out, nil
}

// ---------------------------------------------------------------- parsing

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
	eachUnquoted(s, func(i, depth int) bool {
		if s[i] == '|' && depth == 0 {
			before, after, found = s[:i], s[i+1:], true
			return false
		}
		return true
	})
	return before, after, found
}

// eachUnquoted calls fn for each byte of s outside single- or double-quoted
// text, with the nesting depth of parentheses and brackets around it, until
// fn returns false.
func eachUnquoted(s string, fn func(i, depth int) bool) {
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

// ---------------------------------------------------------------- evaluation

type detok struct {
	e      *Engine
	opts   Options
	l, r   string
	parsed map[string][]seg // strings holding expressions (nil: none anywhere)
	seen   map[string]bool  // unique token ids
	ids    []string         // unique token ids, first-appearance order
	tokens map[string]Token
}

func (d *detok) collect(v any) error {
	switch v := v.(type) {
	case string:
		return d.collectString(v)
	case map[string]any:
		for _, c := range v {
			if err := d.collect(c); err != nil {
				return err
			}
		}
	case []any:
		for _, c := range v {
			if err := d.collect(c); err != nil {
				return err
			}
		}
	}
	return nil
}

func (d *detok) collectString(s string) error {
	if !strings.Contains(s, d.l) || !strings.Contains(s, d.r) {
		return nil
	}
	if _, done := d.parsed[s]; done {
		return nil
	}
	segs, err := d.e.parseSegments(s, d.l, d.r, d.opts.Vars)
	if err != nil || segs == nil {
		return err
	}
	if d.parsed == nil {
		d.parsed = map[string][]seg{}
		d.seen = map[string]bool{}
	}
	d.parsed[s] = segs
	for _, sg := range segs {
		if sg.x != nil && !sg.x.isVar && !d.seen[sg.x.id] {
			d.seen[sg.x.id] = true
			d.ids = append(d.ids, sg.x.id)
		}
	}
	return nil
}

func (d *detok) resolve(ctx context.Context, r Resolver) error {
	if d.opts.MaxTokens > 0 && len(d.ids) > d.opts.MaxTokens {
		return &TooManyTokensError{Limit: d.opts.MaxTokens, Count: len(d.ids)}
	}
	if len(d.ids) == 0 {
		return nil
	}
	if r == nil {
		return errors.New("expr: Detokenize needs a Resolver")
	}
	d.tokens = make(map[string]Token, len(d.ids))
	missing := map[string]error{}
	for _, id := range d.ids {
		if err := ctx.Err(); err != nil {
			return err
		}
		t, err := r.Resolve(ctx, id)
		if err != nil {
			if errors.Is(err, ErrNotFound) {
				missing[id] = err
				continue
			}
			return err
		}
		d.tokens[id] = t
	}
	if len(missing) > 0 {
		nf := &NotFoundError{IDs: slices.Sorted(maps.Keys(missing))}
		for _, id := range nf.IDs {
			nf.Errs = append(nf.Errs, missing[id])
		}
		return nf
	}
	return nil
}

func (d *detok) substitute(v any) (any, bool, error) {
	switch v := v.(type) {
	case string:
		segs := d.parsed[v]
		if segs == nil {
			return v, false, nil
		}
		out, err := d.render(segs)
		return out, true, err
	case map[string]any:
		var out map[string]any
		for k, c := range v {
			nc, changed, err := d.substitute(c)
			if err != nil {
				return nil, false, err
			}
			if changed {
				if out == nil {
					out = maps.Clone(v)
				}
				out[k] = nc
			}
		}
		if out == nil {
			return v, false, nil
		}
		return out, true, nil
	case []any:
		var out []any
		for i, c := range v {
			nc, changed, err := d.substitute(c)
			if err != nil {
				return nil, false, err
			}
			if changed {
				if out == nil {
					out = slices.Clone(v)
				}
				out[i] = nc
			}
		}
		if out == nil {
			return v, false, nil
		}
		return out, true, nil
	}
	return v, false, nil
}

func (d *detok) render(segs []seg) (any, error) {
	if len(segs) == 1 && segs[0].x != nil {
		v, err := d.eval(segs[0].x)
		if err != nil {
			return nil, err
		}
		if d.opts.StringPrimitives {
			if _, isNum := numberOf(v); isNum {
				return toText(v)
			}
			if _, isBool := v.(bool); isBool {
				return toText(v)
			}
		}
		return deepCopy(v), nil
	}
	var b strings.Builder
	for _, sg := range segs {
		if sg.x == nil {
			b.WriteString(sg.text)
			continue
		}
		v, err := d.eval(sg.x)
		if err != nil {
			return nil, err
		}
		s, err := toText(v)
		if err != nil {
			return nil, exprError(sg.x.raw, err)
		}
		b.WriteString(s)
	}
	return b.String(), nil
}

func (d *detok) eval(x *dexpr) (v any, err error) {
	switch {
	case x.isVar:
		v = d.opts.Vars[x.id]
		if x.key != "" {
			cfg, _ := v.(map[string]any)
			var ok bool
			if v, ok = cfg[x.key]; !ok {
				return nil, exprError(x.raw, fmt.Errorf("the configuration has no %q entry", x.key))
			}
		}
	case x.whole:
		if t, ok := d.tokens[x.id]; ok {
			obj, err := t.Object()
			if err != nil {
				return nil, err
			}
			if obj != nil {
				v = obj
			}
		}
	default:
		v = d.tokens[x.id].Data
	}
	if x.path != "" {
		if v, err = d.e.safeJSONPath(v, x.path); err != nil {
			return nil, exprError(x.raw, err)
		}
	}
	if x.chain != nil {
		vars := make(map[string]any, len(d.opts.Vars)+1)
		maps.Copy(vars, d.opts.Vars)
		vars[chainVar] = v
		if v, err = d.e.eval(x.raw, x.chain, vars); err != nil {
			var ee *ExprError
			if errors.As(err, &ee) {
				return nil, &ExprError{Expr: x.raw, Msg: ee.Msg, Err: ee.Err}
			}
			return nil, err
		}
	}
	return v, nil
}

// safeJSONPath is jsonPath with panics from the JSONPath library turned into
// errors.
func (e *Engine) safeJSONPath(v any, path string) (out any, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, &ExprError{Expr: path, Msg: "invalid JSONPath", Err: fmt.Errorf("panic: %v", r)}
		}
	}()
	return e.jsonPath(v, path)
}

// deepCopy copies maps and slices so results never alias Resolver data.
func deepCopy(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, c := range v {
			out[k] = deepCopy(c)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, c := range v {
			out[i] = deepCopy(c)
		}
		return out
	}
	return v
}
