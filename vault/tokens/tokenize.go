package tokens

// Tokenize and detokenize: whole JSON bodies turned into tokens, and
// expressions over tokens resolved for the caller.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/strongroom/strongroom/vault/access"
	"github.com/strongroom/strongroom/vault/apitime"
	"github.com/strongroom/strongroom/vault/expr"
	"github.com/strongroom/strongroom/vault/internal/kernel"
	"github.com/strongroom/strongroom/vault/jsonorder"
	"github.com/strongroom/strongroom/vault/problem"
	"github.com/strongroom/strongroom/vault/token"
	"github.com/strongroom/strongroom/vault/traffic"
)

// Tokenize walks any JSON value (objects as *jsonorder.Object, which keeps
// their member order, or map[string]any, taken in key order): each primitive becomes a `token` token and
// is replaced by its id; each object with `type` and `data` is a token
// request replaced by the created token; other objects and arrays keep
// their shape. Every token is written in one batch, or none.
func (v *Service) Tokenize(p *access.Principal, body any) (any, error) {
	var w tokenizeWalk
	var result any
	top, err := w.walk(body, "", func(t any) { result = t })
	if err != nil {
		return nil, err
	}
	if top != nil {
		result = top
	}
	if len(w.reqs) == 0 {
		return result, nil
	}
	created, err := v.createTokens(p, w.reqs, w.prefixes, "token")
	if err != nil {
		return nil, err
	}
	for i, t := range created {
		w.slots[i](t)
	}
	if top != nil {
		return top, nil
	}
	return result, nil
}

// tokenizeWalk collects a body's token requests; slots[i] puts the token
// created for reqs[i] where its request (or primitive) was.
type tokenizeWalk struct {
	reqs     []*TokenRequest
	prefixes []string
	slots    []func(*Token)
}

// walk copies val, leaving nil (and a slot set fills) where a token goes.
func (w *tokenizeWalk) walk(val any, path string, set func(any)) (any, error) {
	switch x := val.(type) {
	case *jsonorder.Object:
		if isTokenRequest(x) {
			raw, err := jsonorder.Marshal(x)
			if err != nil {
				return nil, err
			}
			var req TokenRequest
			if err := kernel.DecodeStrict(raw, &req); err != nil {
				return nil, problem.Invalid(path, err.Error())
			}
			w.add(&req, path, func(t *Token) { set(t) })
			return nil, nil
		}
		out := &jsonorder.Object{Keys: x.Keys, Values: make(map[string]any, len(x.Keys))}
		for _, k := range x.Keys {
			r, err := w.walk(x.Values[k], joinPath(path, k), func(t any) { out.Values[k] = t })
			if err != nil {
				return nil, err
			}
			out.Values[k] = r
		}
		return out, nil
	case map[string]any:
		return w.walk(jsonorder.FromMap(x), path, set)
	case []any:
		out := make([]any, len(x))
		for i := range x {
			r, err := w.walk(x[i], fmt.Sprintf("%s[%d]", path, i), func(t any) { out[i] = t })
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	case nil:
		return nil, nil
	default:
		raw, err := json.Marshal(x)
		if err != nil {
			return nil, err
		}
		typ := token.TypeToken
		w.add(&TokenRequest{Type: &typ, Data: raw}, path, func(t *Token) { set(t.ID) })
		return nil, nil
	}
}

func (w *tokenizeWalk) add(req *TokenRequest, path string, slot func(*Token)) {
	w.reqs, w.prefixes, w.slots = append(w.reqs, req), append(w.prefixes, prefixFor(path)), append(w.slots, slot)
}

// isTokenRequest: an object with a type and data (or encrypted data), or
// one converting a token intent, is a token request.
func isTokenRequest(x *jsonorder.Object) bool {
	_, hasType := x.Get("type")
	_, hasData := x.Get("data")
	_, fromIntent := x.Get("token_intent_id")
	_, hasEncrypted := x.Get("encrypted")
	return hasType && (hasData || hasEncrypted) || fromIntent
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func prefixFor(path string) string {
	if path == "" {
		return ""
	}
	return path + "."
}

// Resolver returns the token resolver of expressions for p. With an empty
// invocation it reads (POST /detokenize); with `proxy:invoke` or
// `reactor:invoke` it uses tokens inside that invocation. Either way each
// token's data is rendered with the transform the caller's rules give.
func (v *Service) Resolver(p *access.Principal, invocation string) expr.Resolver {
	return expr.ResolverFunc(func(_ context.Context, id string) (expr.Token, error) {
		r, err := v.loadToken(p.TenantID, id)
		if problem.Is(err, 404) {
			return expr.Token{}, fmt.Errorf("%w: %s", expr.ErrNotFound, id)
		}
		if err != nil {
			return expr.Token{}, err
		}
		var tr string
		if invocation == "" {
			tr, err = readTransform(p, r, "token:read")
		} else {
			tr, err = useTransform(p, r, invocation)
		}
		if err != nil {
			return expr.Token{}, err
		}
		data, err := v.data(r, tr)
		if err != nil {
			return expr.Token{}, err
		}
		v.AuditAsync(v.tokenRead(kernel.LogEntry(p, p.TenantID, "token", r.ID, "read", "Token detokenized", kernel.Now()), r))
		v.Metrics().TokensRead(1)
		return expr.Lazy(data, func() (map[string]any, error) { return tokenObject(r, data) }), nil
	})
}

// tokenObject is the token as `{{ token: id }}` binds it: its fields as
// JSON values, with data as the caller may see it.
func tokenObject(r *tokenRecord, data any) (map[string]any, error) {
	m := map[string]any{"id": r.ID, "tenant_id": r.TenantID, "type": r.Type, "data": data,
		"privacy": map[string]any{"classification": r.Privacy.Classification,
			"impact_level": r.Privacy.ImpactLevel, "restriction_policy": r.Privacy.RestrictionPolicy}}
	if len(r.Metadata) > 0 {
		md, err := kernel.DecodeData(r.Metadata)
		if err != nil {
			return nil, err
		}
		m["metadata"] = md
	}
	if r.Fingerprint != "" {
		m["fingerprint"] = r.Fingerprint
	}
	if len(r.Containers) > 0 {
		cs := make([]any, len(r.Containers))
		for i, c := range r.Containers {
			cs[i] = c
		}
		m["containers"] = cs
	}
	if r.CreatedAt != nil {
		m["created_at"] = r.CreatedAt.Format(apitime.Layout)
	}
	return m, nil
}

// Detokenize evaluates every expression in a JSON body (POST
// /detokenize). Only the strings holding expressions change; everything
// else comes back byte for byte.
func (v *Service) Detokenize(ctx context.Context, p *access.Principal, body []byte) ([]byte, error) {
	if err := requireAnyRead(p); err != nil {
		return nil, err
	}
	out, err := traffic.DetokenizeBody(ctx, "application/json", body, expr.Options{MaxTokens: 100}, v.Resolver(p, ""))
	return out, ExprProblem(err)
}

// ExprProblem maps expression-engine errors onto API problems.
func ExprProblem(err error) error {
	if err == nil {
		return nil
	}
	var nf *expr.NotFoundError
	var tm *expr.TooManyTokensError
	var ee *expr.ExprError
	switch {
	case errors.As(err, &nf):
		return problem.BadRequest(nf.Error())
	case errors.As(err, &tm):
		return problem.BadRequest(tm.Error())
	case errors.As(err, &ee):
		return problem.BadRequest(ee.Error())
	}
	return err
}
