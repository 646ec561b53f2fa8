package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"go.uber.org/zap"

	"github.com/strongroom/strongroom/vault"
	"github.com/strongroom/strongroom/vault/access"
	"github.com/strongroom/strongroom/vault/expr"
	"github.com/strongroom/strongroom/vault/jsonorder"
	"github.com/strongroom/strongroom/vault/problem"
	"github.com/strongroom/strongroom/vault/ratelimit"
	"github.com/strongroom/strongroom/vault/reactor"
	"github.com/strongroom/strongroom/vault/traffic"
)

// Proxy request headers.
const (
	ProxyURLHeader = "BT-PROXY-URL"
	ProxyKeyHeader = "BT-PROXY-KEY"
	proxyKeyQuery  = "bt-proxy-key"
)

// ProxyConfig enables `/proxy`.
type ProxyConfig struct {
	Forwarder *traffic.Forwarder
	// CheckURL validates a BT-PROXY-URL against the egress policy.
	CheckURL func(raw string) (*url.URL, error)
	// MaxTokens caps the unique tokens of one request (seed 001: 100).
	MaxTokens int
}

// EnableProxy turns on `/proxy` with cfg.
func (a *API) EnableProxy(cfg ProxyConfig) {
	if cfg.MaxTokens <= 0 {
		cfg.MaxTokens = 100
	}
	a.proxy = &cfg
}

// isProxyPath reports whether a path is the proxy's (`/proxy`, `/proxy/…`).
func isProxyPath(p string) bool { return p == "/proxy" || strings.HasPrefix(p, "/proxy/") }

// writeProxyProblem writes an error of the proxy itself wrapped as
// `{"proxy_error": <problem>}`, so clients can tell it from a
// destination's answer.
func writeProxyProblem(w http.ResponseWriter, r *http.Request, err error) {
	auditDenied(r, err)
	p := problem.From(err)
	cp := *p
	cp.Instance = r.URL.Path
	body, _ := json.Marshal(map[string]any{"proxy_error": &cp})
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(cp.Status)
	w.Write(body)
}

// ServeProxy is the `vault_proxy` handler: `/proxy` on its own route.
func (a *API) ServeProxy(w http.ResponseWriter, r *http.Request) {
	ensureTrace(w, r)
	if a.ops.CORS.apply(w, r) {
		return
	}
	a.serveProxy(w, withAuditor(r, a.Vault))
}

// serveProxy handles `/proxy[/**]`: ephemeral (BT-PROXY-URL) or
// pre-configured (BT-PROXY-KEY or ?bt-proxy-key=). Expressions in the
// body, headers and query are resolved with the caller's permissions;
// nothing reaches the destination unless every check passed.
func (a *API) serveProxy(w http.ResponseWriter, r *http.Request) {
	if a.proxy == nil {
		writeProxyProblem(w, r, problem.New(http.StatusNotFound, "The proxy is not enabled on this server."))
		return
	}
	if err := checkPath(r); err != nil {
		writeProxyProblem(w, r, err)
		return
	}
	if err := a.proxyRequest(w, r); err != nil {
		writeProxyProblem(w, r, err)
	}
}

func (a *API) proxyRequest(w http.ResponseWriter, r *http.Request) error {
	v := a.Vault
	q := r.URL.Query()
	_, keyInQuery := q[proxyKeyQuery]
	key, err := proxyKey(r, q)
	if err != nil {
		return err
	}
	q.Del(proxyKeyQuery)

	var (
		p          *access.Principal
		dest       *url.URL
		tenantID   string
		proxyID    string
		configured *vault.Proxy
	)
	if key != "" {
		px, err := v.ProxyByKey(key)
		if err != nil {
			if problem.Is(err, http.StatusNotFound) {
				return problem.Unauthorized("The proxy key is invalid.")
			}
			return err
		}
		if px.RequestReactorID != "" || px.ResponseReactorID != "" {
			return problem.New(http.StatusNotImplemented, "Proxies with request_reactor_id/response_reactor_id (retired in 2023) are not supported; use request_transform and response_transform.")
		}
		configured = px
		if px.RequireAuth {
			if p, err = a.principal(r); err != nil {
				return err
			}
			if p.TenantID != px.TenantID {
				return problem.Unauthorized("The proxy key is invalid.")
			}
			if !p.Has("proxy:invoke") {
				return problem.Forbidden("The API key does not have the proxy:invoke permission.")
			}
		} else if px.ApplicationID != "" {
			if p, err = v.ApplicationPrincipal(px.TenantID, px.ApplicationID); err != nil {
				return err
			}
		}
		if dest, err = a.proxy.CheckURL(px.DestinationURL); err != nil {
			return traffic.DestinationProblem(err)
		}
		tenantID, proxyID = px.TenantID, px.ID
	} else {
		var err error
		if p, err = a.principal(r); err != nil {
			return err
		}
		if !p.Has("proxy:invoke") {
			return problem.Forbidden("The API key does not have permission to use the proxy.")
		}
		if v.TenantSetting(p.TenantID, "disable_ephemeral_proxy") == "true" {
			return problem.Forbidden("The ephemeral proxy is disabled for this tenant.")
		}
		raw := r.Header.Get(ProxyURLHeader)
		if raw == "" {
			return problem.Invalid(ProxyURLHeader, "The BT-PROXY-URL header is required.")
		}
		if dest, err = a.proxy.CheckURL(raw); err != nil {
			return traffic.DestinationProblem(err)
		}
		tenantID = p.TenantID
	}
	if a.ops.Limits != nil {
		anonymous := configured != nil && !configured.RequireAuth
		if err := a.limit(w, ratelimit.Proxy, a.proxyCaller(r, p, anonymous)); err != nil {
			return err
		}
	}
	// Nothing after this point (transform code, expressions, the
	// destination) sees a credential the vault consumed.
	ScrubCredentials(r)

	// A body that goes to no request transform and cannot hold expressions
	// (or will not be detokenized) streams to the destination; any other
	// is read whole, up to MaxBody.
	transformed := configured != nil && len(configured.RequestChain()) > 0
	detokenize := configured == nil || !configured.DisableDetokenization
	stream := !transformed && (!detokenize || !traffic.MayHoldExpressions(r.Header))
	var body []byte
	if !stream {
		if body, err = ReadBody(r, a.MaxBody); err != nil {
			return err
		}
	}
	rawQuery := r.URL.RawQuery // without the proxy key
	if keyInQuery {
		rawQuery = q.Encode()
	}
	if transformed {
		if body, err = a.requestTransform(w, r, configured, body, rawQuery); err != nil || body == nil {
			return err
		}
	}
	resolver := expr.Memo(a.proxyResolver(p), a.proxy.MaxTokens)
	opts := expr.Options{MaxTokens: a.proxy.MaxTokens, StringPrimitives: true}
	// The caller's body, headers and query never resolve the proxy's
	// configuration (`{{ config: key }}`, proxy.config): it holds the
	// proxy's secrets, which only its own transforms read.
	ctx := r.Context()
	header := r.Header
	if detokenize {
		if body, err = traffic.DetokenizeBody(ctx, r.Header.Get("Content-Type"), body, opts, resolver); err != nil {
			return vault.ExprProblem(err)
		}
		// Headers and the query may also copy the request itself:
		// `{{ proxy | json: '$.request.headers.X' }}`, proxy.request.body
		// (as detokenized).
		if holdsExpression(r.Header, r.URL.RawQuery) {
			opts.Vars = proxyVars(r, body, stream)
		}
		if header, err = detokenizeHeader(ctx, r.Header, opts, resolver); err != nil {
			return vault.ExprProblem(err)
		}
		if rawQuery, err = detokenizeQuery(ctx, r.URL.RawQuery, q, keyInQuery, opts, resolver); err != nil {
			return vault.ExprProblem(err)
		}
	}
	target, err := traffic.Target(dest, strings.TrimPrefix(r.URL.EscapedPath(), "/proxy"), rawQuery)
	if err != nil {
		return problem.Invalid("path", "The request path is not valid.")
	}
	out, err := traffic.Outbound(ctx, r, target, header, body)
	if err != nil {
		return problem.Invalid(ProxyURLHeader, "The destination URL is not valid.")
	}
	if stream && r.ContentLength != 0 {
		out.Body, out.ContentLength = r.Body, r.ContentLength
	}
	v.ProxyInvoked(p, tenantID, proxyID)
	if configured != nil && len(configured.ResponseChain()) > 0 {
		return a.forwardTransformed(w, out, configured)
	}
	if err := a.proxy.Forwarder.Forward(w, out); err != nil {
		if _, ok := err.(*problem.Problem); ok {
			return err
		}
		a.Logger.Debug("proxy response copy ended early", zap.Error(err))
	}
	return nil
}

// principal returns the authenticated caller: set by vault_auth, or from
// the request's API key.
func (a *API) principal(r *http.Request) (*access.Principal, error) {
	if p := PrincipalFrom(r.Context()); p != nil {
		return p, nil
	}
	return Authenticate(a.Vault, r)
}

// proxyResolver resolves tokens for a proxied request. Without a principal
// (an anonymous pre-configured proxy with no application) no token can be
// used.
func (a *API) proxyResolver(p *access.Principal) expr.Resolver {
	if p == nil {
		return expr.ResolverFunc(func(context.Context, string) (expr.Token, error) {
			return expr.Token{}, problem.Forbidden("This proxy has no application, so it cannot detokenize.")
		})
	}
	return a.Vault.Resolver(p, "proxy:invoke")
}

// holdsExpression reports whether a header value (BT-* headers aside) or
// the query may hold an expression.
func holdsExpression(h http.Header, rawQuery string) bool {
	if strings.Contains(rawQuery, "{{") || strings.Contains(rawQuery, "%7B%7B") || strings.Contains(rawQuery, "%7b%7b") {
		return true
	}
	for name, vals := range h {
		if traffic.IsControlHeader(name) {
			continue
		}
		for _, v := range vals {
			if strings.Contains(v, "{{") {
				return true
			}
		}
	}
	return false
}

// proxyVars are the variables header and query expressions see: `proxy`
// with the request's headers (BT-* excluded, credentials already scrubbed)
// and its body as detokenized ("" when it streamed). proxy.config is
// empty: the configuration is not the caller's to read.
func proxyVars(r *http.Request, body []byte, streamed bool) map[string]any {
	headers := make(map[string]any, len(r.Header))
	for name, vals := range r.Header {
		if !traffic.IsControlHeader(name) {
			headers[name] = strings.Join(vals, ", ")
		}
	}
	b := ""
	if !streamed {
		b = string(body)
	}
	request := map[string]any{"headers": headers, "body": b}
	return map[string]any{"proxy": map[string]any{"request": request, "config": map[string]any{}}}
}

// detokenizeHeader resolves expressions in header values (BT-* control
// headers excluded).
func detokenizeHeader(ctx context.Context, in http.Header, opts expr.Options, r expr.Resolver) (http.Header, error) {
	left := opts.Left
	if left == "" {
		left = "{{"
	}
	var out http.Header // copied only when a value holds an expression
	for name, vals := range in {
		if traffic.IsControlHeader(name) {
			continue
		}
		for i, val := range vals {
			if !strings.Contains(val, left) {
				continue
			}
			s, err := expr.DetokenizeString(ctx, val, opts, r)
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
		return in, nil // Outbound drops the BT-* control headers
	}
	return out, nil
}

// detokenizeQuery resolves expressions in query values. An untouched
// query is forwarded exactly as it came.
func detokenizeQuery(ctx context.Context, rawQuery string, q url.Values, keyRemoved bool, opts expr.Options, r expr.Resolver) (string, error) {
	changed := keyRemoved
	for k, vals := range q {
		for i, val := range vals {
			if !strings.Contains(val, "{{") && (opts.Left == "" || !strings.Contains(val, opts.Left)) {
				continue
			}
			s, err := expr.DetokenizeString(ctx, val, opts, r)
			if err != nil {
				return "", err
			}
			q[k][i], changed = s, true
		}
	}
	if !changed {
		return rawQuery, nil
	}
	return q.Encode(), nil
}

func (a *API) proxyRoutes() {
	v := a.Vault
	a.handle("POST /proxies", func(r *http.Request, p *access.Principal) (int, any, error) {
		var req vault.ProxyRequest
		if err := decode(r, a.MaxBody, &req); err != nil {
			return 0, nil, err
		}
		return created(v.CreateProxy(p, req))
	})
	a.handle("GET /proxies", func(r *http.Request, p *access.Principal) (int, any, error) {
		pg, err := page(r)
		if err != nil {
			return 0, nil, err
		}
		return ok(v.ListProxies(p, r.URL.Query()["id"], r.URL.Query().Get("name"), pg))
	})
	a.handle("GET /proxies/{id}", func(r *http.Request, p *access.Principal) (int, any, error) {
		return ok(v.GetProxy(p, r.PathValue("id")))
	})
	a.handle("PUT /proxies/{id}", func(r *http.Request, p *access.Principal) (int, any, error) {
		var req vault.ProxyRequest
		if err := decode(r, a.MaxBody, &req); err != nil {
			return 0, nil, err
		}
		return ok(v.UpdateProxy(p, r.PathValue("id"), req))
	})
	a.handle("PATCH /proxies/{id}", func(r *http.Request, p *access.Principal) (int, any, error) {
		body, err := a.readMergePatch(r)
		if err != nil {
			return 0, nil, err
		}
		return noContent(v.PatchProxy(p, r.PathValue("id"), body))
	})
	a.handle("DELETE /proxies/{id}", func(r *http.Request, p *access.Principal) (int, any, error) {
		return noContent(v.DeleteProxy(p, r.PathValue("id")))
	})
}

// transformCode returns the code of a transform ({code} or {type:"code",
// code}); other transform types are refused.
func transformCode(raw []byte) (string, error) {
	var t struct {
		Type string `json:"type"`
		Code string `json:"code"`
	}
	if err := json.Unmarshal(raw, &t); err != nil || t.Type != "" && t.Type != "code" {
		return "", problem.New(http.StatusNotImplemented, "Only code transforms are supported.")
	}
	return t.Code, nil
}

// bodyValue is a body as transform code sees it: parsed JSON when the
// content type says JSON, else text.
func bodyValue(contentType string, body []byte) any {
	if traffic.IsJSON(contentType) && len(body) > 0 {
		if v, err := jsonorder.Decode(body); err == nil {
			return v
		}
	}
	return string(body)
}

// bodyBytes turns a transform's returned body back into bytes.
func bodyBytes(v any) ([]byte, error) {
	switch b := v.(type) {
	case nil:
		return []byte{}, nil
	case string:
		return []byte(b), nil
	}
	return jsonorder.Marshal(v)
}

func flatHeaders(h http.Header) map[string]any {
	out := make(map[string]any, len(h))
	for k := range h {
		out[k] = h.Get(k)
	}
	return out
}

// members returns the members of a JSON object value from the sandbox
// (ordered or not); nil for anything else.
func members(v any) map[string]any {
	switch o := v.(type) {
	case *jsonorder.Object:
		return o.Values
	case map[string]any:
		return o
	}
	return nil
}

// applyHeaders sets the headers a transform returned.
func applyHeaders(h http.Header, v any) {
	for k, val := range members(v) {
		if s, ok := val.(string); ok {
			h.Set(k, s)
		}
	}
}

// requestTransform runs a pre-configured proxy's request transform. It
// returns the new body (headers are updated in place), or nil after
// writing a CustomHttpResponseError's response itself.
func (a *API) requestTransform(w http.ResponseWriter, r *http.Request, px *vault.Proxy, body []byte, rawQuery string) ([]byte, error) {
	for _, raw := range px.RequestChain() {
		code, err := transformCode(raw)
		if err != nil {
			return nil, err
		}
		args := map[string]any{"body": bodyValue(r.Header.Get("Content-Type"), body), "headers": flatHeaders(r.Header),
			"method": r.Method, "path": strings.TrimPrefix(r.URL.Path, "/proxy"), "query": queryWithMark(rawQuery)}
		res, err := a.Vault.RunProxyTransform(r.Context(), px, code, args)
		if custom, ok := customResponse(err); ok {
			writeCustom(w, custom)
			return nil, nil
		}
		if err != nil {
			return nil, vault.ReactorProblem(err)
		}
		out := members(res.Value)
		if hv, ok := out["headers"]; ok {
			applyHeaders(r.Header, hv)
		}
		if bv, ok := out["body"]; ok {
			if body, err = bodyBytes(bv); err != nil {
				return nil, err
			}
		}
	}
	return body, nil
}

func queryWithMark(raw string) string {
	if raw == "" {
		return ""
	}
	return "?" + raw
}

// forwardTransformed sends the request and, when the destination answers
// 2xx, runs the response transform on its (buffered) answer.
func (a *API) forwardTransformed(w http.ResponseWriter, out *http.Request, px *vault.Proxy) error {
	// Every step is checked before the destination is called.
	type step struct {
		mask *traffic.Mask
		code string
	}
	var steps []step
	for i, raw := range px.ResponseChain() {
		if spec, ok := traffic.ParseMaskSpec(raw); ok {
			mask, err := traffic.CompileMask(spec)
			if err != nil { // validated on save: not reached
				return problem.Invalid(fmt.Sprintf("response_transforms[%d]", i), err.Error())
			}
			steps = append(steps, step{mask: mask})
			continue
		}
		code, err := transformCode(raw)
		if err != nil {
			return err
		}
		steps = append(steps, step{code: code})
	}
	// The transforms must see the answer as text: without the caller's
	// Accept-Encoding the client asks for gzip itself and decodes it (a
	// compressed answer would pass a mask unmasked).
	out.Header.Del("Accept-Encoding")
	resp, err := a.proxy.Forwarder.Client.Do(out)
	if err != nil {
		return traffic.ExchangeProblem(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTransformedResponse+1))
	if err != nil {
		return problem.New(http.StatusBadGateway, "The destination's answer could not be read.")
	}
	if len(body) > maxTransformedResponse {
		return problem.New(http.StatusBadGateway, "The destination's answer is too large for a response transform.")
	}
	header := resp.Header.Clone()
	// A mask covers what the client reads: the decoded answer (also when
	// the destination compressed it unasked), whatever its status.
	if body, err = traffic.Decode(header.Get("Content-Encoding"), body, maxTransformedResponse); err != nil {
		return problem.New(http.StatusBadGateway, "The destination's answer could not be decoded for its response transform.")
	}
	header.Del("Content-Encoding")
	header.Del("Etag")
	if resp.StatusCode/100 != 2 {
		// Code transforms run on success only (wire contract §4.3).
		masks := steps[:0]
		for _, st := range steps {
			if st.mask != nil {
				masks = append(masks, st)
			}
		}
		steps = masks
	}
	for _, st := range steps {
		if st.mask != nil {
			body = st.mask.Apply(body)
			continue
		}
		args := map[string]any{"body": bodyValue(header.Get("Content-Type"), body), "headers": flatHeaders(header)}
		res, err := a.Vault.RunProxyTransform(out.Context(), px, st.code, args)
		if custom, ok := customResponse(err); ok {
			writeCustom(w, custom)
			return nil
		}
		if err != nil {
			return vault.ReactorProblem(err)
		}
		m := members(res.Value)
		if hv, ok := m["headers"]; ok {
			applyHeaders(header, hv)
		}
		if bv, ok := m["body"]; ok {
			if body, err = bodyBytes(bv); err != nil {
				return err
			}
		}
	}
	for k, vals := range header {
		w.Header()[k] = vals
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.Header().Del("Transfer-Encoding")
	w.Header().Set(traffic.DestinationStatusHeader, strconv.Itoa(resp.StatusCode))
	w.WriteHeader(resp.StatusCode)
	_, err = w.Write(body)
	return err
}

// maxTransformedResponse bounds a destination answer buffered for a
// response transform (the reactor payload limit applies inside too).
const maxTransformedResponse = 8 << 20

func customResponse(err error) (*reactor.CustomHTTPResponse, bool) {
	var c *reactor.CustomHTTPResponse
	if errors.As(err, &c) {
		return c, true
	}
	return nil, false
}

// writeCustom sends a CustomHttpResponseError as is (not wrapped).
func writeCustom(w http.ResponseWriter, c *reactor.CustomHTTPResponse) {
	for k, v := range c.Headers {
		w.Header().Set(k, v)
	}
	body, _ := bodyBytes(c.Body)
	if _, isString := c.Body.(string); !isString && c.Body != nil && w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(c.Status)
	w.Write(body)
}
