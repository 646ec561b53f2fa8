package httpapi

import (
	"net/http"

	"github.com/strongroom/strongroom/vault"
	"github.com/strongroom/strongroom/vault/access"
)

// webhookRoutes serves webhooks (with their delivery attempts), client
// encryption keys and the ping.
func (a *API) webhookRoutes() {
	v := a.Vault
	a.handle("GET /ping", func(r *http.Request, p *access.Principal) (int, any, error) {
		return http.StatusOK, nil, nil
	})
	a.handle("GET /webhooks/event-types", func(r *http.Request, p *access.Principal) (int, any, error) {
		return ok(v.EventTypes(p))
	})
	a.handle("POST /webhooks", func(r *http.Request, p *access.Principal) (int, any, error) {
		var req vault.WebhookRequest
		if err := decode(r, a.MaxBody, &req); err != nil {
			return 0, nil, err
		}
		return created(v.CreateWebhook(p, req))
	})
	a.handle("GET /webhooks", func(r *http.Request, p *access.Principal) (int, any, error) {
		return ok(v.ListWebhooks(p))
	})
	a.handle("GET /webhooks/{id}", func(r *http.Request, p *access.Principal) (int, any, error) {
		return ok(v.GetWebhook(p, r.PathValue("id")))
	})
	a.handle("PUT /webhooks/{id}", func(r *http.Request, p *access.Principal) (int, any, error) {
		var req vault.WebhookRequest
		if err := decode(r, a.MaxBody, &req); err != nil {
			return 0, nil, err
		}
		return ok(v.UpdateWebhook(p, r.PathValue("id"), req))
	})
	a.handle("DELETE /webhooks/{id}", func(r *http.Request, p *access.Principal) (int, any, error) {
		return noContent(v.DeleteWebhook(p, r.PathValue("id")))
	})
	a.handle("GET /webhooks/{id}/deliveries", func(r *http.Request, p *access.Principal) (int, any, error) {
		pg, err := page(r)
		if err != nil {
			return 0, nil, err
		}
		return ok(v.ListWebhookDeliveries(p, r.PathValue("id"), pg))
	})

	// Client encryption keys; node-sdk sends POST /keys as
	// application/json-patch+json, which decode reads as the JSON it is.
	a.handle("POST /keys", func(r *http.Request, p *access.Principal) (int, any, error) {
		var req vault.ClientKeyRequest
		if err := decode(r, a.MaxBody, &req); err != nil {
			return 0, nil, err
		}
		return created(v.CreateClientKey(p, req))
	})
	a.handle("GET /keys", func(r *http.Request, p *access.Principal) (int, any, error) {
		return ok(v.ListClientKeys(p))
	})
	a.handle("GET /keys/{id}", func(r *http.Request, p *access.Principal) (int, any, error) {
		return ok(v.GetClientKey(p, r.PathValue("id")))
	})
	a.handle("DELETE /keys/{id}", func(r *http.Request, p *access.Principal) (int, any, error) {
		return noContent(v.DeleteClientKey(p, r.PathValue("id")))
	})
}
