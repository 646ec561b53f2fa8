package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"go.uber.org/zap"

	"github.com/strongroom/strongroom/vault"
	"github.com/strongroom/strongroom/vault/access"
	"github.com/strongroom/strongroom/vault/problem"
	"github.com/strongroom/strongroom/vault/ratelimit"
	"github.com/strongroom/strongroom/vault/traffic"
)

// Proxy request headers.
const (
	ProxyURLHeader = traffic.ProxyURLHeader
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
	a.proxy = &vault.ProxyGateway{Forwarder: cfg.Forwarder, CheckURL: cfg.CheckURL, MaxTokens: cfg.MaxTokens,
		ReadBody: func(r *http.Request) ([]byte, error) { return ReadBody(r, a.MaxBody) }}
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

// proxyRequest decodes a `/proxy` call, has the vault authorize it,
// applies the rate limit, and hands it to the use case with the
// credentials scrubbed and the proxy key out of the query.
func (a *API) proxyRequest(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	_, keyInQuery := q[proxyKeyQuery]
	key, err := proxyKey(r, q)
	if err != nil {
		return err
	}
	call := vault.ProxyCall{Key: key, Destination: r.Header.Get(ProxyURLHeader),
		Caller: func() (*access.Principal, error) { return a.principal(r) }}
	route, err := a.Vault.AuthorizeProxy(call, a.proxy)
	if err != nil {
		return err
	}
	if a.ops.Limits != nil {
		if err := a.limit(w, ratelimit.Proxy, a.proxyCaller(r, route.Principal, route.Anonymous())); err != nil {
			return err
		}
	}
	// Nothing after this point (transform code, expressions, the
	// destination) sees a credential the vault consumed.
	ScrubCredentials(r)
	if keyInQuery {
		u := *r.URL
		u.RawQuery = traffic.DropParam(u.RawQuery, proxyKeyQuery)
		r = r.WithContext(r.Context())
		r.URL = &u
	}
	err = a.Vault.InvokeProxy(w, r, route, a.proxy)
	var cut *traffic.AnswerCutError
	if errors.As(err, &cut) {
		a.Logger.Debug("proxy response copy ended early", zap.Error(cut.Err))
		return nil
	}
	return err
}

// principal returns the authenticated caller: set by vault_auth, or from
// the request's API key.
func (a *API) principal(r *http.Request) (*access.Principal, error) {
	if p := PrincipalFrom(r.Context()); p != nil {
		return p, nil
	}
	return Authenticate(a.Vault, r)
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
