package reactor

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode"

	"github.com/dop251/goja"

	"github.com/strongroom/strongroom/vault/jsonorder"
	"github.com/strongroom/strongroom/vault/problem"
)

// BTClient is the vault, in process, acting as the reactor's application:
// what req.bt calls. Bodies given to it are JSON values as jsonorder.Decode
// returns them, in the REST API's snake_case (req.bt converts from the
// camelCase basis-theory-js callers use). Results may be anything
// jsonorder.Marshal encodes, shaped like the REST response bodies. An error
// that is a *problem.Problem reaches the reactor as a BasisTheoryApiError
// with its status and body; any other error as a 500 with no detail.
type BTClient interface {
	Tokenize(ctx context.Context, body any) (any, error)
	CreateToken(ctx context.Context, req any) (any, error)
	GetToken(ctx context.Context, id string) (any, error)
	DeleteToken(ctx context.Context, id string) error
	SearchTokens(ctx context.Context, query any) (any, error)
}

// newBT builds req.bt, shaped like a basis-theory-js instance:
// bt.tokenize(body), bt.tokens.create(req), bt.tokens.retrieve(id),
// bt.tokens.delete(id), bt.tokens.search(query), each returning a promise.
// Like basis-theory-js (wire contract §1.2), token requests and responses
// are converted between camelCase and snake_case except the data and
// metadata members, and tokenize passes both ways unconverted.
func newBT(c *Call, client BTClient) goja.Value {
	b := &btBinding{c: c, limit: c.rt.limits.MaxPayload}
	deleteToken := func(ctx context.Context, id string) (any, error) { return nil, client.DeleteToken(ctx, id) }
	bt := c.VM.NewObject()
	_ = bt.Set("tokenize", b.withBody(nil, client.Tokenize, nil))
	tokens := c.VM.NewObject()
	_ = tokens.Set("create", b.withBody(snakeToken, client.CreateToken, camelToken))
	_ = tokens.Set("retrieve", b.withID(client.GetToken, camelToken))
	_ = tokens.Set("delete", b.withID(deleteToken, nil))
	_ = tokens.Set("search", b.withBody(snakeDeep, client.SearchTokens, pageKeys))
	_ = bt.Set("tokens", tokens)
	return bt
}

// btBinding builds req.bt's functions for one call; limit bounds what
// crosses the sandbox either way.
type btBinding struct {
	c     *Call
	limit int
}

// withBody is a bt function taking a request body: in renames the body's
// members for the vault (nil: as given), out the result's for JavaScript.
func (b *btBinding) withBody(in func(any) any, do func(ctx context.Context, body any) (any, error), out func(any) any) goja.Value {
	return b.c.Function(func(fc goja.FunctionCall) (goja.Value, error) {
		body, err := b.body(fc.Argument(0))
		if err != nil {
			return nil, err
		}
		if in != nil {
			body = in(body)
		}
		return b.call(func(ctx context.Context) (any, error) { return do(ctx, body) }, out), nil
	})
}

// withID is a bt function taking a token id; out renames the result's
// members for JavaScript (nil: as given).
func (b *btBinding) withID(do func(ctx context.Context, id string) (any, error), out func(any) any) goja.Value {
	return b.c.Function(func(fc goja.FunctionCall) (goja.Value, error) {
		id, err := tokenID(b.c, fc.Argument(0))
		if err != nil {
			return nil, err
		}
		return b.call(func(ctx context.Context) (any, error) { return do(ctx, id) }, out), nil
	})
}

// body exports a JavaScript argument as a JSON value. A body too large or
// without a JSON form is thrown as a TypeError the reactor can read; the
// exporter's own errors never carry host details, so their text is kept.
func (b *btBinding) body(v goja.Value) (any, error) {
	vm := b.c.VM
	val, ok, err := newExporter(vm, b.limit).export("", v, 0)
	if errors.Is(err, errTooLarge) {
		return nil, Reject(vm.NewTypeError("The request body exceeds %d bytes", b.limit))
	}
	var ee *exportError
	if errors.As(err, &ee) {
		return nil, Reject(vm.NewTypeError("The request body is not JSON-serialisable: %s", ee.msg))
	}
	if err != nil {
		return nil, err // a JavaScript exception or an interrupt: rethrown
	}
	if !ok {
		return nil, nil
	}
	return val, nil
}

// call runs one vault call off the event loop and returns its promise.
// The result is converted to JSON shapes (and reshaped) off the loop too;
// only building the JavaScript value needs the runtime's own goroutine.
func (b *btBinding) call(do func(ctx context.Context) (any, error), shape func(any) any) goja.Value {
	c := b.c
	return c.Async(func(ctx context.Context) func(*goja.Runtime) (goja.Value, error) {
		res, err := do(ctx)
		if err != nil {
			return func(vm *goja.Runtime) (goja.Value, error) { return nil, Reject(apiError(c, err)) }
		}
		if res == nil {
			return func(*goja.Runtime) (goja.Value, error) { return goja.Undefined(), nil }
		}
		d, err := toDecoded(res, b.limit)
		if err != nil {
			return func(*goja.Runtime) (goja.Value, error) { return nil, Reject(apiError(c, err)) }
		}
		if shape != nil {
			d = shape(d)
		}
		return func(vm *goja.Runtime) (goja.Value, error) { return decodedToJS(vm, d), nil }
	})
}

// snakeToken, camelToken and snakeDeep are the renamings basis-theory-js
// applies: a token's members but not its data and metadata, or (a search
// query) every member.
func snakeToken(v any) any { return tokenKeys(v, snakeCase) }
func camelToken(v any) any { return tokenKeys(v, camelCase) }
func snakeDeep(v any) any  { return deepKeys(v, snakeCase) }

func tokenID(c *Call, v goja.Value) (string, error) {
	if !goja.IsString(v) || v.String() == "" {
		return "", Reject(c.VM.NewTypeError("The token id must be a non-empty string"))
	}
	return v.String(), nil
}

// apiError builds what basis-theory-js rejects with: a BasisTheoryApiError
// with status and data (the problem body). Errors that are not problems
// say nothing about themselves.
func apiError(c *Call, err error) goja.Value {
	status := 500
	var data any = map[string]any{"status": 500, "title": "Internal Server Error"}
	var p *problem.Problem
	if errors.As(err, &p) {
		status, data = p.Status, p
	}
	e := c.NewError(fmt.Sprintf("Request failed with status code %d", status))
	_ = e.Set("name", "BasisTheoryApiError")
	_ = e.Set("status", status)
	if v, err := goToJS(c.VM, data, c.rt.limits.MaxPayload); err == nil {
		_ = e.Set("data", v)
	}
	return e
}

// tokenKeys converts a token's member names, leaving the content of data
// and metadata alone.
func tokenKeys(v any, conv func(string) string) any {
	o, ok := v.(*jsonorder.Object)
	if !ok {
		return v
	}
	out := &jsonorder.Object{Values: make(map[string]any, len(o.Keys))}
	for _, k := range o.Keys {
		val := o.Values[k]
		if k != "data" && k != "metadata" {
			val = deepKeys(val, conv)
		}
		out.Set(conv(k), val)
	}
	return out
}

// pageKeys converts a page of tokens: the envelope deep, each item of data
// as a token (basis-theory-js ≥ 1.77.1).
func pageKeys(v any) any {
	o, ok := v.(*jsonorder.Object)
	if !ok {
		return v
	}
	out := &jsonorder.Object{Values: make(map[string]any, len(o.Keys))}
	for _, k := range o.Keys {
		val := o.Values[k]
		if items, ok := val.([]any); ok && k == "data" {
			conv := make([]any, len(items))
			for i, it := range items {
				conv[i] = tokenKeys(it, camelCase)
			}
			val = conv
		} else {
			val = deepKeys(val, camelCase)
		}
		out.Set(camelCase(k), val)
	}
	return out
}

// deepKeys converts every member name, at every depth.
func deepKeys(v any, conv func(string) string) any {
	switch x := v.(type) {
	case *jsonorder.Object:
		out := &jsonorder.Object{Values: make(map[string]any, len(x.Keys))}
		for _, k := range x.Keys {
			out.Set(conv(k), deepKeys(x.Values[k], conv))
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = deepKeys(e, conv)
		}
		return out
	default:
		return v
	}
}

// snakeCase is the snakecase-keys conversion: searchIndexes → search_indexes,
// fingerprintExpression → fingerprint_expression.
func snakeCase(s string) string {
	rs := []rune(s)
	var b strings.Builder
	for i, r := range rs {
		switch {
		case r == '-' || r == ' ':
			b.WriteByte('_')
			continue
		case unicode.IsUpper(r):
			if i > 0 {
				prev := rs[i-1]
				nextLower := i+1 < len(rs) && unicode.IsLower(rs[i+1])
				if unicode.IsLower(prev) || unicode.IsDigit(prev) || (unicode.IsUpper(prev) && nextLower) {
					b.WriteByte('_')
				}
			}
			b.WriteRune(unicode.ToLower(r))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// camelCase is the camelcase-keys conversion: created_at → createdAt.
func camelCase(s string) string {
	if !strings.ContainsAny(s, "_-") {
		return s
	}
	parts := strings.FieldsFunc(s, func(r rune) bool { return r == '_' || r == '-' })
	var b strings.Builder
	for i, p := range parts {
		rs := []rune(p)
		if i == 0 {
			rs[0] = unicode.ToLower(rs[0])
		} else {
			rs[0] = unicode.ToUpper(rs[0])
		}
		b.WriteString(string(rs))
	}
	if b.Len() == 0 {
		return s
	}
	return b.String()
}
