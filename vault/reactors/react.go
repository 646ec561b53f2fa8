package reactors

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"github.com/strongroom/strongroom/vault/access"
	"github.com/strongroom/strongroom/vault/expr"
	"github.com/strongroom/strongroom/vault/internal/kernel"
	"github.com/strongroom/strongroom/vault/jsonorder"
	"github.com/strongroom/strongroom/vault/problem"
	"github.com/strongroom/strongroom/vault/reactor"
	"github.com/strongroom/strongroom/vault/tokens"
)

// ReactRequest is the body of POST /reactors/{id}/react.
type ReactRequest struct {
	Args        json.RawMessage `json:"args"`
	CallbackURL string          `json:"callback_url"`
}

// AtomicReactRequest is the body of POST /atomic/{cards|banks}/{id}/react.
type AtomicReactRequest struct {
	ReactorID         string          `json:"reactor_id"`
	RequestParameters json.RawMessage `json:"request_parameters"`
	Metadata          json.RawMessage `json:"metadata"`
}

// ReactResponse is what a reaction returns: the tokens created from the
// code's `tokenize` output and its `raw` output.
type ReactResponse struct {
	Tokens any `json:"tokens,omitempty"`
	Raw    any `json:"raw,omitempty"`
}

// maxReactTokens caps the unique tokens one react request may use.
const maxReactTokens = 100

// React runs a reactor with detokenized args (current API).
func (v *Service) React(ctx context.Context, p *access.Principal, id string, req ReactRequest) (*ReactResponse, error) {
	if !p.Has("reactor:invoke") {
		return nil, problem.Forbidden("The API key does not have permission to invoke reactors.")
	}
	r, err := v.invocable(p.TenantID, id)
	if err != nil {
		return nil, err
	}
	var args any = map[string]any{}
	if len(req.Args) > 0 && string(req.Args) != "null" {
		if args, err = kernel.DecodeData(req.Args); err != nil {
			return nil, problem.Invalid("args", "The args must be JSON.")
		}
	}
	// The caller's args never resolve the reactor's configuration (its
	// secrets): the code reads it as req.configuration.
	opts := expr.Options{MaxTokens: maxReactTokens}
	if args, err = expr.Detokenize(ctx, args, opts, v.Resolver(p, "reactor:invoke")); err != nil {
		return nil, tokens.ExprProblem(err)
	}
	code, formula, err := v.reactorCode(r)
	if err != nil {
		return nil, err
	}
	if formula != nil && len(formula.RequestParameters) > 0 {
		if args, err = validateArgs(formula.RequestParameters, args, "args"); err != nil {
			return nil, err
		}
	}
	arg := map[string]any{"args": args, "configuration": r.config}
	return v.runReactor(ctx, p, r, code, arg)
}

// AtomicReact runs a formula reactor with an atomic card or bank as its
// source token (seed 001; `token:<class>:use:reactor`).
func (v *Service) AtomicReact(ctx context.Context, p *access.Principal, k tokens.AtomicKind, id string, req AtomicReactRequest) (*ReactResponse, error) {
	if req.ReactorID == "" {
		return nil, problem.Invalid("reactor_id", "The reactor_id field is required.")
	}
	view, err := v.AtomicForReactor(p, k, id)
	if err != nil {
		return nil, err
	}
	r, err := v.invocable(p.TenantID, req.ReactorID)
	if problem.Is(err, 404) {
		return nil, problem.Invalid("reactor_id", "No reactor has this id.")
	}
	if err != nil {
		return nil, err
	}
	code, formula, err := v.reactorCode(r)
	if err != nil {
		return nil, err
	}
	var params any = map[string]any{}
	if len(req.RequestParameters) > 0 && string(req.RequestParameters) != "null" {
		if params, err = kernel.DecodeData(req.RequestParameters); err != nil {
			return nil, problem.Invalid("request_parameters", "The request_parameters must be a JSON object.")
		}
	}
	if formula != nil && len(formula.RequestParameters) > 0 {
		if params, err = validateArgs(formula.RequestParameters, params, "request_parameters"); err != nil {
			return nil, err
		}
	}
	source, err := toGeneric(view)
	if err != nil {
		return nil, err
	}
	arg := map[string]any{"sourceToken": source, "configuration": r.config, "requestParameters": params, "args": params}
	if m, ok := params.(map[string]any); ok {
		for key, val := range m {
			if _, taken := arg[key]; !taken {
				arg[key] = val
			}
		}
	}
	return v.runReactor(ctx, p, r, code, arg)
}

// reactorCode returns the code a reactor runs and its formula, if any.
func (v *Service) reactorCode(r *reactorRecord) (string, *Formula, error) {
	if r.FormulaID == "" {
		return r.Code, nil, nil
	}
	f, err := v.invocableFormula(r.TenantID, r.FormulaID)
	if problem.Is(err, 404) {
		return "", nil, problem.New(422, "The reactor's formula no longer exists.")
	}
	if err != nil {
		return "", nil, err
	}
	return f.Code, f, nil
}

// runReactor runs code with arg, then tokenizes its `tokenize` output in
// one atomic batch, as POST /tokenize would.
func (v *Service) runReactor(ctx context.Context, p *access.Principal, r *reactorRecord, code string, arg map[string]any) (_ *ReactResponse, err error) {
	prog, err := v.compile("code", code)
	if err != nil {
		return nil, err
	}
	actor := p
	var bt reactor.BTClient
	if r.ApplicationID != "" {
		if actor, err = v.ApplicationPrincipal(r.TenantID, r.ApplicationID); err != nil {
			return nil, err
		}
		bt = &btClient{v: v, p: actor}
	}
	defer v.reactorInvoked(p, r)(&err) // the audit entry now; reactor.completed/failed at return
	res, err := v.RunCode(ctx, prog, reactor.Invocation{TenantID: p.TenantID, Arg: arg, BT: bt})
	if err != nil {
		return nil, ReactorProblem(err)
	}
	out := &ReactResponse{}
	if res.HasRaw {
		out.Raw = res.Raw
	}
	if res.HasTokenize && res.Tokenize != nil {
		if out.Tokens, err = v.Tokenize(actor, res.Tokenize); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ReactorProblem maps reactor runtime errors onto API problems: a thrown
// reactor error class keeps its status, detail and errors; anything else
// is the runtime's own (already client-safe) error.
func ReactorProblem(err error) error {
	var re *reactor.Error
	var ch *reactor.CustomHTTPResponse
	switch {
	case errors.As(err, &re):
		p := problem.New(re.Status, re.Detail)
		if re.Status == 500 {
			p.Title = "Reactor Runtime Error"
		}
		if re.Errors != nil {
			p.Errors = re.Errors
		}
		return p
	case errors.As(err, &ch):
		p := problem.New(ch.Status, "The reactor answered with a custom response.")
		return p
	}
	return err
}

// validateArgs checks args against a formula's request parameters (seed
// 001, after detokenization): names are exact, dots nest, undeclared args
// are dropped, missing required ones are a 400, and values are coerced to
// the declared type.
func validateArgs(params []FormulaParameter, args any, field string) (any, error) {
	in, _ := args.(map[string]any)
	out := map[string]any{}
	f := problem.Fields{}
	for _, rp := range params {
		val, ok := lookupPath(in, rp.Name)
		if !ok || val == nil {
			if !rp.Optional {
				f.Add(field+"."+rp.Name, "The request parameter is required.")
			}
			continue
		}
		coerced, cerr := coerce(val, rp.Type)
		if cerr != "" {
			f.Add(field+"."+rp.Name, cerr)
			continue
		}
		setPath(out, rp.Name, coerced)
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

func lookupPath(m map[string]any, path string) (any, bool) {
	if v, ok := m[path]; ok {
		return v, true
	}
	var cur any = m
	for _, part := range strings.Split(path, ".") {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = mm[part]; !ok {
			return nil, false
		}
	}
	return cur, true
}

func setPath(m map[string]any, path string, v any) {
	parts := strings.Split(path, ".")
	for _, part := range parts[:len(parts)-1] {
		next, ok := m[part].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[part] = next
		}
		m = next
	}
	m[parts[len(parts)-1]] = v
}

func coerce(v any, typ string) (any, string) {
	switch typ {
	case "string":
		switch x := v.(type) {
		case string:
			return x, ""
		case json.Number:
			return x.String(), ""
		case bool:
			return strconv.FormatBool(x), ""
		}
		return nil, "Must be a string."
	case "number":
		switch x := v.(type) {
		case json.Number:
			return x, ""
		case string:
			// Only text that is a JSON number ("12.5", not "NaN" or "0x1p4").
			if _, err := strconv.ParseFloat(x, 64); err == nil && json.Valid([]byte(x)) {
				return json.Number(x), ""
			}
		}
		return nil, "Must be a number."
	case "boolean":
		switch x := v.(type) {
		case bool:
			return x, ""
		case string:
			if b, err := strconv.ParseBool(x); err == nil {
				return b, ""
			}
		}
		return nil, "Must be a boolean."
	}
	return v, ""
}

// toGeneric converts a response struct into plain JSON values.
func toGeneric(v any) (any, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return kernel.DecodeData(raw)
}

// btClient is the vault seen by reactor code as its application (req.bt).
type btClient struct {
	v *Service
	p *access.Principal
}

func (c *btClient) Tokenize(_ context.Context, body any) (any, error) {
	out, err := c.v.Tokenize(c.p, body)
	if err != nil {
		return nil, err
	}
	return toGeneric(out)
}

func (c *btClient) CreateToken(_ context.Context, req any) (any, error) {
	raw, err := jsonorder.Marshal(req)
	if err != nil {
		return nil, problem.BadRequest("The token request is not JSON.")
	}
	var tr tokens.TokenRequest
	if err := kernel.DecodeStrict(raw, &tr); err != nil {
		return nil, problem.BadRequest(err.Error())
	}
	t, err := c.v.CreateToken(c.p, tr)
	if err != nil {
		return nil, err
	}
	return toGeneric(t)
}

func (c *btClient) GetToken(_ context.Context, id string) (any, error) {
	t, err := c.v.GetToken(c.p, id)
	if err != nil {
		return nil, err
	}
	return toGeneric(t)
}

func (c *btClient) DeleteToken(_ context.Context, id string) error {
	return c.v.DeleteToken(c.p, id)
}

func (c *btClient) SearchTokens(_ context.Context, query any) (any, error) {
	var req tokens.SearchRequest
	switch q := query.(type) {
	case string:
		req.Query = q
	default:
		raw, _ := json.Marshal(q)
		if err := json.Unmarshal(raw, &req); err != nil {
			return nil, problem.BadRequest("The search request is not valid.")
		}
	}
	out, err := c.v.SearchTokens(c.p, req)
	if err != nil {
		return nil, err
	}
	return toGeneric(out)
}

var _ reactor.BTClient = (*btClient)(nil)

// Transformer is whose transform code runs: a pre-configured proxy's
// tenant, the application its req.bt acts as (none: no bt) and its
// configuration.
type Transformer struct {
	TenantID, ApplicationID string
	Configuration           map[string]string
}

// RunProxyTransform runs a pre-configured proxy's request or response
// transform (wire contract §5.4): the code gets {args, configuration, bt}
// and returns {body, headers}. A thrown CustomHttpResponseError comes back
// as *reactor.CustomHTTPResponse for the caller to send as is.
func (v *Service) RunProxyTransform(ctx context.Context, px Transformer, code string, args map[string]any) (*reactor.Result, error) {
	prog, err := v.compile("code", code)
	if err != nil {
		return nil, err
	}
	var bt reactor.BTClient
	if px.ApplicationID != "" {
		p, err := v.ApplicationPrincipal(px.TenantID, px.ApplicationID)
		if err != nil {
			return nil, err
		}
		bt = &btClient{v: v, p: p}
	}
	conf := px.Configuration
	if conf == nil {
		conf = map[string]string{}
	}
	return v.RunCode(ctx, prog, reactor.Invocation{TenantID: px.TenantID,
		Arg: map[string]any{"args": args, "configuration": conf}, BT: bt})
}
