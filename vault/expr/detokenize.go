package expr

import "context"

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
