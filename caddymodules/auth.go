package caddymodules

import (
	"net/http"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/strongroom/strongroom/vault/access"
	"github.com/strongroom/strongroom/vault/httpapi"
)

func init() {
	caddy.RegisterModule(Auth{})
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

// principal is the caller put in the context by vault_auth, or the one the
// request's API key names.
func principal(app *App, r *http.Request) (*access.Principal, error) {
	if p := httpapi.PrincipalFrom(r.Context()); p != nil {
		return p, nil
	}
	return httpapi.Authenticate(app.Vault(), r)
}

var (
	_ caddyhttp.MiddlewareHandler = (*Auth)(nil)
	_ caddy.Provisioner           = (*Auth)(nil)
)
