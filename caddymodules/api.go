package caddymodules

import (
	"net/http"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/strongroom/strongroom/vault/httpapi"
	"github.com/strongroom/strongroom/vault/traffic"
)

func init() {
	caddy.RegisterModule(API{})
	caddy.RegisterModule(Proxy{})
}

// API is `vault_api`: the whole Basis Theory REST API. It authenticates the
// caller itself unless vault_auth ran before it, and answers every request
// it receives (unknown routes are a 404 problem).
type API struct {
	api *httpapi.API
}

// CaddyModule returns the Caddy module information.
func (API) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "http.handlers.vault_api", New: func() caddy.Module { return new(API) }}
}

// Provision builds the API over the vault app.
func (h *API) Provision(ctx caddy.Context) error {
	app, err := vaultApp(ctx)
	if err != nil {
		return err
	}
	h.api = newAPI(app, ctx)
	return nil
}

func (h *API) ServeHTTP(w http.ResponseWriter, r *http.Request, _ caddyhttp.Handler) error {
	h.api.ServeHTTP(w, r)
	return nil
}

// Proxy is `vault_proxy`: the detokenizing `/proxy` endpoint on a route of
// its own (vault_api serves it too).
type Proxy struct {
	api *httpapi.API
}

// CaddyModule returns the Caddy module information.
func (Proxy) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "http.handlers.vault_proxy", New: func() caddy.Module { return new(Proxy) }}
}

// Provision builds the proxy over the vault app.
func (h *Proxy) Provision(ctx caddy.Context) error {
	app, err := vaultApp(ctx)
	if err != nil {
		return err
	}
	h.api = newAPI(app, ctx)
	return nil
}

func (h *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request, _ caddyhttp.Handler) error {
	h.api.ServeProxy(w, r)
	return nil
}

// newAPI builds the REST API, with `/proxy`, over the vault app.
func newAPI(app *App, ctx caddy.Context) *httpapi.API {
	api := httpapi.New(app.Vault(), app.MaxBodySize, ctx.Logger())
	policy := app.Egress()
	api.EnableProxy(httpapi.ProxyConfig{Forwarder: traffic.NewForwarder(policy), CheckURL: policy.CheckURL})
	app.enableOps(api)
	return api
}

// bodyLimit is the app's request body limit, for the middleware.
func bodyLimit(app *App) int64 {
	if app.MaxBodySize > 0 {
		return app.MaxBodySize
	}
	return httpapi.DefaultMaxBody
}

var (
	_ caddyhttp.MiddlewareHandler = (*API)(nil)
	_ caddyhttp.MiddlewareHandler = (*Proxy)(nil)
	_ caddy.Provisioner           = (*API)(nil)
	_ caddy.Provisioner           = (*Proxy)(nil)
)
