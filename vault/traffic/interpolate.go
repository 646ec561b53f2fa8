package traffic

import (
	"context"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/strongroom/strongroom/vault/expr"
)

// Detokenizer resolves the token expressions (`{{ id }}`, or `<< id >>`
// with other delimiters) of one request: its headers, query and body. It
// is the one place `/proxy` and `vault_detokenize` interpolate tokens into
// traffic. A part without an expression is left exactly as it came. One
// memo serves the whole request, so the token limit counts unique tokens
// across every part and each token is resolved once. Not safe for
// concurrent use: one per request.
type Detokenizer struct {
	opts expr.Options
	res  expr.Resolver
}

// NewDetokenizer resolves through r with opts; opts.MaxTokens (0: no
// limit) bounds the unique tokens of the whole request.
func NewDetokenizer(opts expr.Options, r expr.Resolver) *Detokenizer {
	limit := opts.MaxTokens
	if limit <= 0 {
		limit = math.MaxInt
	}
	return &Detokenizer{opts: opts, res: expr.Memo(r, limit)}
}

// SetVars sets the named values that later expressions may read (see
// expr.Options.Vars).
func (d *Detokenizer) SetVars(vars map[string]any) { d.opts.Vars = vars }

func (d *Detokenizer) left() string {
	if d.opts.Left == "" {
		return "{{"
	}
	return d.opts.Left
}

// Body resolves the expressions of a body of the given Content-Type
// (body.go: JSON string by string, forms value by value, else text).
func (d *Detokenizer) Body(ctx context.Context, contentType string, body []byte) ([]byte, error) {
	return DetokenizeBody(ctx, contentType, body, d.opts, d.res)
}

// Headers resolves the expressions in every header value but those of
// the BT-* control headers (the `/proxy` rule). in is not modified: a
// copy is returned when a value changed.
func (d *Detokenizer) Headers(ctx context.Context, in http.Header) (http.Header, error) {
	return d.header(ctx, in, func(name string) bool { return !IsControlHeader(name) })
}

// Header resolves the expressions in the values of the headers named
// (canonical names; the `vault_detokenize { headers }` rule), never a
// BT-* control header. in is not modified, as for Headers.
func (d *Detokenizer) Header(ctx context.Context, in http.Header, names []string) (http.Header, error) {
	return d.header(ctx, in, func(name string) bool { return !IsControlHeader(name) && slices.Contains(names, name) })
}

func (d *Detokenizer) header(ctx context.Context, in http.Header, resolve func(name string) bool) (http.Header, error) {
	left := d.left()
	var out http.Header
	for name, vals := range in {
		if !resolve(name) {
			continue
		}
		for i, val := range vals {
			if !strings.Contains(val, left) {
				continue
			}
			s, err := expr.DetokenizeString(ctx, val, d.opts, d.res)
			if err != nil {
				return nil, err
			}
			if out == nil {
				out = in.Clone()
			}
			out[name][i] = s
		}
	}
	if out == nil {
		return in, nil
	}
	return out, nil
}

// Query resolves the expressions in a raw query's values. Only a
// parameter whose value holds one is rewritten (its value escaped again);
// every other byte, order and escaping included, stays as it came, so a
// signed URL still verifies.
func (d *Detokenizer) Query(ctx context.Context, rawQuery string) (string, error) {
	left := d.left()
	var err error
	out := mapParams(rawQuery, func(key, rawValue string) (string, bool) {
		value, uerr := url.QueryUnescape(rawValue)
		if err != nil || uerr != nil || !strings.Contains(value, left) {
			return "", false
		}
		var s string
		if s, err = expr.DetokenizeString(ctx, value, d.opts, d.res); err != nil {
			return "", false
		}
		return key + "=" + url.QueryEscape(s), true
	})
	if err != nil {
		return "", err
	}
	return out, nil
}

// MayHold reports whether a header value (BT-* headers aside) or the raw
// query may hold an expression, before any is resolved.
func (d *Detokenizer) MayHold(h http.Header, rawQuery string) bool {
	left := d.left()
	if strings.Contains(rawQuery, left) ||
		strings.Contains(rawQuery, "%") && strings.Contains(strings.ToUpper(rawQuery), url.QueryEscape(left)) {
		return true
	}
	for name, vals := range h {
		if IsControlHeader(name) {
			continue
		}
		for _, v := range vals {
			if strings.Contains(v, left) {
				return true
			}
		}
	}
	return false
}
