package proxies

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/strongroom/strongroom/vault/access"
	"github.com/strongroom/strongroom/vault/expr"
	"github.com/strongroom/strongroom/vault/internal/kernel"
	"github.com/strongroom/strongroom/vault/problem"
	"github.com/strongroom/strongroom/vault/store"
	"github.com/strongroom/strongroom/vault/tokens"
	"github.com/strongroom/strongroom/vault/traffic"
)

// ProxyGateway is how one configuration's `/proxy` reaches destinations:
// its egress policy and forwarder, the token limit of a request, and the
// wire layer's body reader (which owns the size limit and its 413).
type ProxyGateway struct {
	Forwarder *traffic.Forwarder
	// CheckURL validates a destination against the egress policy.
	CheckURL func(raw string) (*url.URL, error)
	// MaxTokens caps the unique tokens of one request (seed 001: 100).
	MaxTokens int
	ReadBody  func(*http.Request) ([]byte, error)
}

// ProxyCall is what a `/proxy` request asks for: a pre-configured proxy
// by its key, or the ephemeral proxy to a destination.
type ProxyCall struct {
	// Key is the BT-PROXY-KEY (or bt-proxy-key); "" for the ephemeral
	// proxy, which goes to Destination (BT-PROXY-URL).
	Key, Destination string
	// Caller authenticates the request; it is called only when the proxy
	// needs a caller.
	Caller func() (*access.Principal, error)
}

// ProxyRoute is an authorized `/proxy` call: who calls, through which
// proxy, to where.
type ProxyRoute struct {
	// Principal is the caller, or the proxy's application; nil for an
	// anonymous proxy without one (which cannot detokenize).
	Principal   *access.Principal
	Proxy       *Proxy // nil for the ephemeral proxy
	Destination *url.URL
	TenantID    string
}

// Anonymous reports whether the route needs no caller (a pre-configured
// proxy with require_auth off), so rate limits key it by client address.
func (rt *ProxyRoute) Anonymous() bool { return rt.Proxy != nil && !rt.Proxy.RequireAuth }

// AuthorizeProxy decides a `/proxy` call before anything is read: the
// proxy key or the caller's `proxy:invoke`, the tenant's policy, and the
// destination under the egress policy.
func (v *Service) AuthorizeProxy(call ProxyCall, gw *ProxyGateway) (*ProxyRoute, error) {
	if call.Key != "" {
		return v.authorizeConfigured(call, gw)
	}
	p, err := call.Caller()
	if err != nil {
		return nil, err
	}
	if !p.Has("proxy:invoke") {
		return nil, problem.Forbidden("The API key does not have permission to use the proxy.")
	}
	if v.TenantSetting(p.TenantID, "disable_ephemeral_proxy") == "true" {
		return nil, problem.Forbidden("The ephemeral proxy is disabled for this tenant.")
	}
	if call.Destination == "" {
		return nil, problem.Invalid(traffic.ProxyURLHeader, "The BT-PROXY-URL header is required.")
	}
	dest, err := gw.CheckURL(call.Destination)
	if err != nil {
		return nil, traffic.DestinationProblem(err)
	}
	return &ProxyRoute{Principal: p, Destination: dest, TenantID: p.TenantID}, nil
}

// authorizeConfigured authorizes a call to a pre-configured proxy: with
// require_auth a caller of its tenant holding `proxy:invoke`, else the
// proxy's application (or nobody).
func (v *Service) authorizeConfigured(call ProxyCall, gw *ProxyGateway) (*ProxyRoute, error) {
	px, err := v.proxyByKey(call.Key)
	if problem.Is(err, http.StatusNotFound) {
		return nil, problem.Unauthorized("The proxy key is invalid.")
	}
	if err != nil {
		return nil, err
	}
	if px.RequestReactorID != "" || px.ResponseReactorID != "" {
		return nil, problem.New(http.StatusNotImplemented, "Proxies with request_reactor_id/response_reactor_id (retired in 2023) are not supported; use request_transform and response_transform.")
	}
	rt := &ProxyRoute{Proxy: px, TenantID: px.TenantID}
	switch {
	case px.RequireAuth:
		if rt.Principal, err = call.Caller(); err != nil {
			return nil, err
		}
		if rt.Principal.TenantID != px.TenantID {
			return nil, problem.Unauthorized("The proxy key is invalid.")
		}
		if !rt.Principal.Has("proxy:invoke") {
			return nil, problem.Forbidden("The API key does not have the proxy:invoke permission.")
		}
	case px.ApplicationID != "":
		if rt.Principal, err = v.ApplicationPrincipal(px.TenantID, px.ApplicationID); err != nil {
			return nil, err
		}
	}
	if rt.Destination, err = gw.CheckURL(px.DestinationURL); err != nil {
		return nil, traffic.DestinationProblem(err)
	}
	return rt, nil
}

// InvokeProxy carries r along an authorized route: the request transforms,
// the caller's expressions in body, headers and query resolved with the
// route's principal, the exchange with the destination, the response
// transforms, and the audit entry. r's query no longer holds the proxy
// key and its headers no credential. Nothing reaches the destination
// unless every step before it passed. An error after the answer started
// is a *traffic.AnswerCutError.
func (v *Service) InvokeProxy(w http.ResponseWriter, r *http.Request, rt *ProxyRoute, gw *ProxyGateway) error {
	px := rt.Proxy
	transformed := px != nil && len(px.RequestChain()) > 0
	detokenize := px == nil || !px.DisableDetokenization
	// A body that goes to no request transform and cannot hold expressions
	// (or will not be detokenized) streams to the destination; any other
	// is read whole.
	stream := !transformed && (!detokenize || !traffic.MayHoldExpressions(r.Header))
	var body []byte
	var err error
	if !stream {
		if body, err = gw.ReadBody(r); err != nil {
			return err
		}
	}
	if transformed {
		var answered bool
		if body, answered, err = v.requestTransform(w, r, px, body); err != nil || answered {
			return err
		}
	}
	header, rawQuery := r.Header, r.URL.RawQuery
	if detokenize {
		d := traffic.NewDetokenizer(expr.Options{MaxTokens: gw.MaxTokens, StringPrimitives: true}, proxyResolver(v, rt.Principal))
		if header, rawQuery, body, err = detokenizeProxied(r, d, body, stream); err != nil {
			return tokens.ExprProblem(err)
		}
	}
	target, err := traffic.Target(rt.Destination, strings.TrimPrefix(r.URL.EscapedPath(), "/proxy"), rawQuery)
	if err != nil {
		return problem.Invalid("path", "The request path is not valid.")
	}
	out, err := traffic.Outbound(r.Context(), r, target, header, body)
	if err != nil {
		return problem.Invalid(traffic.ProxyURLHeader, "The destination URL is not valid.")
	}
	if stream && r.ContentLength != 0 {
		out.Body, out.ContentLength = r.Body, r.ContentLength
	}
	proxyID := ""
	if px != nil {
		proxyID = px.ID
	}
	v.proxyInvoked(rt.Principal, rt.TenantID, proxyID)
	w, done := v.watchProxy(w, r, rt) // webhook_invocations.go: proxy.invoked
	if px != nil && len(px.ResponseChain()) > 0 {
		return done(v.forwardTransformed(w, out, px, gw.Forwarder))
	}
	return done(gw.Forwarder.Forward(w, out))
}

// proxyResolver resolves tokens for a proxied request. Without a principal
// (an anonymous pre-configured proxy with no application) no token can be
// used.
func proxyResolver(v *Service, p *access.Principal) expr.Resolver {
	if p == nil {
		return expr.ResolverFunc(func(context.Context, string) (expr.Token, error) {
			return expr.Token{}, problem.Forbidden("This proxy has no application, so it cannot detokenize.")
		})
	}
	return v.Resolver(p, "proxy:invoke")
}

// detokenizeProxied resolves the caller's expressions in the body, then in
// the headers and query, which may also copy the request itself:
// `{{ proxy | json: '$.request.headers.X' }}`, proxy.request.body (as
// detokenized). None of them resolves the proxy's configuration
// (`{{ config: key }}`, proxy.config): it holds the proxy's secrets,
// which only its own transforms read.
func detokenizeProxied(r *http.Request, d *traffic.Detokenizer, body []byte, streamed bool) (http.Header, string, []byte, error) {
	ctx := r.Context()
	body, err := d.Body(ctx, r.Header.Get("Content-Type"), body)
	if err != nil {
		return nil, "", nil, err
	}
	if d.MayHold(r.Header, r.URL.RawQuery) {
		d.SetVars(proxyVars(r.Header, body, streamed))
	}
	header, err := d.Headers(ctx, r.Header)
	if err != nil {
		return nil, "", nil, err
	}
	rawQuery, err := d.Query(ctx, r.URL.RawQuery)
	if err != nil {
		return nil, "", nil, err
	}
	return header, rawQuery, body, nil
}

// proxyVars are the variables header and query expressions see: `proxy`
// with the request's headers (BT-* excluded, credentials already scrubbed)
// and its body as detokenized ("" when it streamed). proxy.config is
// empty: the configuration is not the caller's to read.
func proxyVars(h http.Header, body []byte, streamed bool) map[string]any {
	headers := make(map[string]any, len(h))
	for name, vals := range h {
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

// proxyByKey finds the proxy a `BT-PROXY-KEY` names, for invocation.
func (v *Service) proxyByKey(key string) (*Proxy, error) {
	ref, err := v.Store().Get(proxyKeyIndex(key))
	if errors.Is(err, store.ErrNotFound) {
		return nil, problem.NotFound("Proxy")
	}
	if err != nil {
		return nil, err
	}
	tenantID, id, _ := strings.Cut(string(ref), "\x00")
	rec, err := v.loadProxy(tenantID, id)
	if err != nil {
		return nil, err
	}
	return rec.public(), nil
}

// proxyInvoked records an invocation in the audit log (asynchronously:
// the destination's answer is not held for it).
func (v *Service) proxyInvoked(p *access.Principal, tenantID, proxyID string) {
	v.AuditAsync(kernel.LogEntry(p, tenantID, "proxy", proxyID, "invoke", "Proxy invoked", kernel.Now()))
	v.Metrics().ProxyRequest()
}
