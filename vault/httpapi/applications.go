package httpapi

import (
	"net/http"

	"github.com/strongroom/strongroom/vault"
	"github.com/strongroom/strongroom/vault/access"
)

// applicationRoutes serve applications and their keys.
func (a *API) applicationRoutes() {
	v := a.Vault
	// Applications (seeds 001, 003).
	a.handle("POST /applications", func(r *http.Request, p *access.Principal) (int, any, error) {
		var req vault.ApplicationRequest
		if err := decode(r, a.MaxBody, &req); err != nil {
			return 0, nil, err
		}
		return created(v.CreateApplication(p, req))
	})
	a.handle("GET /applications", func(r *http.Request, p *access.Principal) (int, any, error) {
		pg, err := page(r)
		if err != nil {
			return 0, nil, err
		}
		q := r.URL.Query()
		return ok(v.ListApplications(p, vault.ApplicationFilter{IDs: q["id"], Types: q["type"]}, pg))
	})
	a.handle("GET /applications/key", func(r *http.Request, p *access.Principal) (int, any, error) {
		return ok(v.GetApplicationByKey(p))
	})
	a.handle("GET /applications/{id}", func(r *http.Request, p *access.Principal) (int, any, error) {
		return ok(v.GetApplication(p, r.PathValue("id")))
	})
	a.handle("PUT /applications/{id}", func(r *http.Request, p *access.Principal) (int, any, error) {
		var req vault.ApplicationRequest
		if err := decode(r, a.MaxBody, &req); err != nil {
			return 0, nil, err
		}
		return ok(v.UpdateApplication(p, r.PathValue("id"), req))
	})
	a.handle("DELETE /applications/{id}", func(r *http.Request, p *access.Principal) (int, any, error) {
		return noContent(v.DeleteApplication(p, r.PathValue("id")))
	})
	a.handle("POST /applications/{id}/regenerate", func(r *http.Request, p *access.Principal) (int, any, error) {
		return ok(v.RegenerateKey(p, r.PathValue("id")))
	})

	// Application keys (seed 002).
	a.handle("POST /applications/{id}/keys", func(r *http.Request, p *access.Principal) (int, any, error) {
		return created(v.CreateApplicationKey(p, r.PathValue("id")))
	})
	a.handle("GET /applications/{id}/keys", func(r *http.Request, p *access.Principal) (int, any, error) {
		// A bare array: every official client (node-sdk 5.x, basis-theory-js
		// 4.x, the Go SDK) parses only that, though seed 002 shows a page.
		return ok(listApplicationKeys(v, r, p))
	})
	a.handle("GET /applications/{id}/keys/{keyId}", func(r *http.Request, p *access.Principal) (int, any, error) {
		return ok(v.GetApplicationKey(p, r.PathValue("id"), r.PathValue("keyId")))
	})
	a.handle("DELETE /applications/{id}/keys/{keyId}", func(r *http.Request, p *access.Principal) (int, any, error) {
		return noContent(v.DeleteApplicationKey(p, r.PathValue("id"), r.PathValue("keyId")))
	})
}
