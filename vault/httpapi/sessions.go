package httpapi

import (
	"net/http"

	"github.com/strongroom/strongroom/vault"
	"github.com/strongroom/strongroom/vault/access"
)

// sessionRoutes serves sessions and token intents (the current API
// generation's short-lived grants and pre-tokens).
func (a *API) sessionRoutes() {
	v := a.Vault
	a.handle("POST /sessions", func(r *http.Request, p *access.Principal) (int, any, error) {
		return ok(v.CreateSession(p))
	})
	a.handle("POST /sessions/authorize", func(r *http.Request, p *access.Principal) (int, any, error) {
		var req vault.AuthorizeSessionRequest
		if err := decode(r, a.MaxBody, &req); err != nil {
			return 0, nil, err
		}
		return noContent(v.AuthorizeSession(p, req))
	})

	a.handle("POST /token-intents", func(r *http.Request, p *access.Principal) (int, any, error) {
		var req vault.TokenIntentRequest
		if err := decode(r, a.MaxBody, &req); err != nil {
			return 0, nil, err
		}
		return created(v.CreateTokenIntent(p, req))
	})
	a.handle("GET /token-intents/{id}", func(r *http.Request, p *access.Principal) (int, any, error) {
		return ok(v.GetTokenIntent(p, r.PathValue("id")))
	})
	a.handle("DELETE /token-intents/{id}", func(r *http.Request, p *access.Principal) (int, any, error) {
		return noContent(v.DeleteTokenIntent(p, r.PathValue("id")))
	})
}
