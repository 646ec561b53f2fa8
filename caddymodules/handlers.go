package caddymodules

import (
	"net/http"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/strongroom/strongroom/vault/httpapi"
	"github.com/strongroom/strongroom/vault/traffic"
)

func init() {
	caddy.RegisterModule(Auth{})
	caddy.RegisterModule(API{})
}

// Auth is `vault_auth`: it authenticates `BT-API-KEY` (or the legacy
// `X-API-KEY`), and on project resources (`/projects/{id}/payment-methods`,
// seed 000) an `Authorization: Bearer <JWT>`, and puts the caller in the
// request context for the handlers after it. Unauthenticated requests get
// a 401 in the shape of the path's API generation.
type Auth struct {
	app *App
}

// CaddyModule returns the Caddy module information.
func (Auth) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "http.handlers.vault_auth", New: func() caddy.Module { return new(Auth) }}
}

// Provision finds the vault app.
func (h *Auth) Provision(ctx caddy.Context) (err error) {
	h.app, err = vaultApp(ctx)
	return err
}

func (h *Auth) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	authed, err := httpapi.AuthenticateRequest(h.app.Vault(), r)
	if err != nil {
		httpapi.WriteAuthError(w, r, err)
		return nil
	}
	// The handlers after it (reverse_proxy among them) never see the
	// credential; the caller travels in the context.
	httpapi.ScrubAuthentication(authed)
	return next.ServeHTTP(w, authed)
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

var (
	_ caddyhttp.MiddlewareHandler = (*Auth)(nil)
	_ caddyhttp.MiddlewareHandler = (*API)(nil)
	_ caddy.Provisioner           = (*Auth)(nil)
	_ caddy.Provisioner           = (*API)(nil)
)

// newAPI builds the REST API, with `/proxy`, over the vault app.
func newAPI(app *App, ctx caddy.Context) *httpapi.API {
	api := httpapi.New(app.Vault(), app.MaxBodySize, ctx.Logger())
	policy := app.Egress()
	api.EnableProxy(httpapi.ProxyConfig{Forwarder: traffic.NewForwarder(policy), CheckURL: policy.CheckURL})
	app.enableOps(api)
	return api
}
