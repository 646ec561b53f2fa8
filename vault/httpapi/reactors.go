package httpapi

import (
	"net/http"

	"github.com/strongroom/strongroom/vault"
	"github.com/strongroom/strongroom/vault/access"
)

// formulaRoutes serve reactor formulas.
func (a *API) formulaRoutes() {
	v := a.Vault
	a.handle("POST /reactor-formulas", func(r *http.Request, p *access.Principal) (int, any, error) {
		var req vault.FormulaRequest
		if err := decode(r, a.MaxBody, &req); err != nil {
			return 0, nil, err
		}
		return created(v.CreateFormula(p, req))
	})
	a.handle("GET /reactor-formulas", func(r *http.Request, p *access.Principal) (int, any, error) {
		pg, err := page(r)
		if err != nil {
			return 0, nil, err
		}
		q := r.URL.Query()
		return ok(v.ListFormulas(p, q.Get("name"), q.Get("source_token_type"), pg))
	})
	a.handle("GET /reactor-formulas/{id}", func(r *http.Request, p *access.Principal) (int, any, error) {
		return ok(v.GetFormula(p, r.PathValue("id")))
	})
	a.handle("PUT /reactor-formulas/{id}", func(r *http.Request, p *access.Principal) (int, any, error) {
		var req vault.FormulaRequest
		if err := decode(r, a.MaxBody, &req); err != nil {
			return 0, nil, err
		}
		return ok(v.UpdateFormula(p, r.PathValue("id"), req))
	})
	a.handle("DELETE /reactor-formulas/{id}", func(r *http.Request, p *access.Principal) (int, any, error) {
		return noContent(v.DeleteFormula(p, r.PathValue("id")))
	})
}

// reactorRoutes serve reactors and invoking them.
func (a *API) reactorRoutes() {
	v := a.Vault
	a.handle("POST /reactors", func(r *http.Request, p *access.Principal) (int, any, error) {
		var req vault.ReactorRequest
		if err := decode(r, a.MaxBody, &req); err != nil {
			return 0, nil, err
		}
		return created(v.CreateReactor(p, req))
	})
	a.handle("GET /reactors", func(r *http.Request, p *access.Principal) (int, any, error) {
		pg, err := page(r)
		if err != nil {
			return 0, nil, err
		}
		q := r.URL.Query()
		return ok(v.ListReactors(p, q["id"], q.Get("name"), q.Get("source_token_type"), pg))
	})
	a.handle("GET /reactors/{id}", func(r *http.Request, p *access.Principal) (int, any, error) {
		return ok(v.GetReactor(p, r.PathValue("id")))
	})
	a.handle("PUT /reactors/{id}", func(r *http.Request, p *access.Principal) (int, any, error) {
		var req vault.ReactorRequest
		if err := decode(r, a.MaxBody, &req); err != nil {
			return 0, nil, err
		}
		return ok(v.UpdateReactor(p, r.PathValue("id"), req))
	})
	a.handle("PATCH /reactors/{id}", func(r *http.Request, p *access.Principal) (int, any, error) {
		body, err := a.readMergePatch(r)
		if err != nil {
			return 0, nil, err
		}
		return noContent(v.PatchReactor(p, r.PathValue("id"), body))
	})
	a.handle("DELETE /reactors/{id}", func(r *http.Request, p *access.Principal) (int, any, error) {
		return noContent(v.DeleteReactor(p, r.PathValue("id")))
	})
	a.handle("POST /reactors/{id}/react", func(r *http.Request, p *access.Principal) (int, any, error) {
		var req vault.ReactRequest
		if err := decode(r, a.MaxBody, &req); err != nil {
			return 0, nil, err
		}
		return ok(v.React(r.Context(), p, r.PathValue("id"), req))
	})
	for _, k := range []vault.AtomicKind{vault.AtomicCard, vault.AtomicBank} {
		a.handle("POST /atomic/"+string(k)+"s/{id}/react", func(r *http.Request, p *access.Principal) (int, any, error) {
			var req vault.AtomicReactRequest
			if err := decode(r, a.MaxBody, &req); err != nil {
				return 0, nil, err
			}
			return ok(v.AtomicReact(r.Context(), p, k, r.PathValue("id"), req))
		})
	}
}
