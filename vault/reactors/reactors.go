package reactors

import (
	"errors"
	"slices"
	"strings"

	"github.com/strongroom/strongroom/vault/access"
	"github.com/strongroom/strongroom/vault/audit"
	"github.com/strongroom/strongroom/vault/crypto"
	"github.com/strongroom/strongroom/vault/internal/kernel"
	"github.com/strongroom/strongroom/vault/problem"
	"github.com/strongroom/strongroom/vault/reactor"
	"github.com/strongroom/strongroom/vault/store"
)

// Reactor is a configured reactor: a formula (seed 001) or inline code
// (current API) with its configuration.
type Reactor struct {
	ID            string            `json:"id"`
	TenantID      string            `json:"tenant_id"`
	Name          string            `json:"name"`
	Formula       *Formula          `json:"formula,omitempty"`
	Code          string            `json:"code,omitempty"`
	Configuration map[string]string `json:"configuration"`
	Application   *struct {
		ID string `json:"id"`
	} `json:"application,omitempty"`
	kernel.Audited
}

// ReactorRequest is the body of POST and PUT /reactors.
type ReactorRequest struct {
	Name          *string           `json:"name"`
	Code          *string           `json:"code"`
	Configuration map[string]string `json:"configuration"`
	Formula       *struct {
		ID string `json:"id"`
	} `json:"formula"`
	Application *struct {
		ID string `json:"id"`
	} `json:"application"`
}

// reactorRecord is the stored reactor: configuration values are secrets
// (vendor credentials), sealed like token data.
type reactorRecord struct {
	ID            string           `json:"id"`
	TenantID      string           `json:"tenant_id"`
	Name          string           `json:"name"`
	FormulaID     string           `json:"formula_id,omitempty"`
	Code          string           `json:"code,omitempty"`
	ApplicationID string           `json:"application_id,omitempty"`
	SealedConfig  *crypto.Envelope `json:"sealed_configuration,omitempty"`
	kernel.Audited
	config map[string]string
}

// compile checks reactor code: 400 when it does not compile, 422 when it
// does not export a function (seed 001 "Reactor Errors").
func (v *Service) compile(field, code string) (*reactor.Program, error) {
	if v.Runtime == nil {
		return nil, problem.New(501, "Reactors are not enabled on this server.")
	}
	prog, err := v.Runtime.Compile(code)
	var ce *reactor.CompileError
	switch {
	case errors.As(err, &ce) && ce.NotAFunction:
		p := problem.New(422, ce.Message)
		p.Errors[field] = []string{ce.Message}
		return nil, p
	case errors.As(err, &ce):
		return nil, problem.Invalid(field, ce.Message)
	case err != nil:
		return nil, err
	}
	return prog, nil
}

func reactorKey(tenantID, id string) []byte { return store.Key(kernel.ReactorCollection, tenantID, id) }

// validateReactor checks a reactor request: a formula of the tenant or
// inline code that compiles, an existing application.
func (v *Service) validateReactor(p *access.Principal, req *ReactorRequest) error {
	f := problem.Fields{}
	kernel.ValidateName(f, req.Name)
	hasFormula := req.Formula != nil && req.Formula.ID != ""
	hasCode := req.Code != nil && strings.TrimSpace(*req.Code) != ""
	switch {
	case hasFormula && hasCode:
		f.Add("code", "Give either code or formula.id, not both.")
	case !hasFormula && !hasCode:
		f.Add("code", "The code field (or formula.id) is required.")
	case hasFormula:
		if _, err := v.formula(p.TenantID, req.Formula.ID); problem.Is(err, 404) {
			f.Add("formula.id", "No reactor formula has this id.")
		} else if err != nil {
			return err
		}
	}
	if req.Application != nil && req.Application.ID != "" {
		if _, err := v.Application(p.TenantID, req.Application.ID); problem.Is(err, 404) {
			f.Add("application.id", "No application has this id.")
		} else if err != nil {
			return err
		}
	}
	if err := f.Err(); err != nil {
		return err
	}
	if hasCode {
		if _, err := v.compile("code", *req.Code); err != nil {
			return err
		}
	}
	return nil
}

func (v *Service) saveReactor(b store.Batch, r *reactorRecord) error {
	env, err := v.SealConfig(r.TenantID, reactorKey(r.TenantID, r.ID), r.config)
	if err != nil {
		return err
	}
	r.SealedConfig = env
	kernel.SetJSON(b, reactorKey(r.TenantID, r.ID), r)
	return nil
}

// loadReactor reads a reactor from the store and opens its configuration.
func (v *Service) loadReactor(tenantID, id string) (*reactorRecord, error) {
	r, err := v.readReactor(tenantID, id)
	if err != nil {
		return nil, err
	}
	if err := v.openReactorConfig(tenantID, id, r); err != nil {
		return nil, err
	}
	return r, nil
}

// readReactor reads a reactor from the store, its configuration sealed.
func (v *Service) readReactor(tenantID, id string) (*reactorRecord, error) {
	return kernel.Load[reactorRecord](v.Store(), reactorKey(tenantID, id), "Reactor")
}

// openReactorConfig opens the sealed configuration of r, read from the
// reactor id of tenantID (the key it is sealed to), into a map of its own.
func (v *Service) openReactorConfig(tenantID, id string, r *reactorRecord) error {
	r.config = map[string]string{}
	return v.OpenConfig(tenantID, reactorKey(tenantID, id), r.SealedConfig, &r.config)
}

func (v *Service) reactorView(r *reactorRecord) (*Reactor, error) {
	out := &Reactor{ID: r.ID, TenantID: r.TenantID, Name: r.Name, Code: r.Code, Configuration: r.config, Audited: r.Audited}
	if r.FormulaID != "" {
		f, err := v.formula(r.TenantID, r.FormulaID)
		if err != nil && !problem.Is(err, 404) {
			return nil, err
		}
		out.Formula = f
	}
	if r.ApplicationID != "" {
		out.Application = &struct {
			ID string `json:"id"`
		}{r.ApplicationID}
	}
	return out, nil
}

func (r *reactorRecord) apply(req *ReactorRequest) {
	r.Name, r.Code, r.FormulaID, r.ApplicationID = *req.Name, kernel.Deref(req.Code), "", ""
	if req.Formula != nil {
		r.FormulaID = req.Formula.ID
	}
	if req.Application != nil {
		r.ApplicationID = req.Application.ID
	}
	r.config = req.Configuration
	if r.config == nil {
		r.config = map[string]string{}
	}
}

// CreateReactor creates a reactor from a formula or inline code.
func (v *Service) CreateReactor(p *access.Principal, req ReactorRequest) (*Reactor, error) {
	if err := kernel.Require(p, "reactor:create"); err != nil {
		return nil, err
	}
	if err := v.validateReactor(p, &req); err != nil {
		return nil, err
	}
	ts := kernel.Now()
	r := &reactorRecord{ID: kernel.NewID(), TenantID: p.TenantID}
	r.apply(&req)
	r.Created(p, ts)
	b := v.Store().NewBatch()
	if err := v.saveReactor(b, r); err != nil {
		b.Close()
		return nil, err
	}
	if err := v.Commit(b, reactorChanged(kernel.LogEntry(p, p.TenantID, "reactor", r.ID, "create", "Reactor created", ts), r)); err != nil {
		return nil, err
	}
	return v.reactorView(r)
}

// GetReactor returns one reactor.
func (v *Service) GetReactor(p *access.Principal, id string) (*Reactor, error) {
	if err := kernel.Require(p, "reactor:read"); err != nil {
		return nil, err
	}
	r, err := v.loadReactor(p.TenantID, id)
	if err != nil {
		return nil, err
	}
	return v.reactorView(r)
}

// ListReactors lists reactors, filtered by ids, name and (seed 001) the
// source token type of their formula.
func (v *Service) ListReactors(p *access.Principal, ids []string, name, sourceTokenType string, pg kernel.Page) (kernel.Paginated[Reactor], error) {
	if err := kernel.Require(p, "reactor:read"); err != nil {
		return kernel.Paginated[Reactor]{}, err
	}
	var all []Reactor
	pfx := store.Prefix(kernel.ReactorCollection, p.TenantID)
	var ferr error
	err := v.Store().Scan(pfx, nil, func(k, _ []byte) bool {
		id := string(k[len(pfx):])
		if len(ids) > 0 && !slices.Contains(ids, id) {
			return true
		}
		r, err := v.loadReactor(p.TenantID, id)
		if err == nil && name != "" && !strings.Contains(strings.ToLower(r.Name), strings.ToLower(name)) {
			return true
		}
		var view *Reactor
		if err == nil {
			view, err = v.reactorView(r)
		}
		if err != nil {
			ferr = err
			return false
		}
		if sourceTokenType != "" && (view.Formula == nil || view.Formula.SourceTokenType != sourceTokenType) {
			return true
		}
		all = append(all, *view)
		return true
	})
	return kernel.PageOf(all, pg), errors.Join(err, ferr)
}

// UpdateReactor replaces a reactor (PUT).
func (v *Service) UpdateReactor(p *access.Principal, id string, req ReactorRequest) (*Reactor, error) {
	return v.replaceReactor(p, id, func(*reactorRecord) (ReactorRequest, error) { return req, nil })
}

// replaceReactor is every reactor update: under the reactor's lock it
// loads the reactor, asks next for the request that replaces it (a PATCH
// merges onto what it is given), then validates and stores it.
func (v *Service) replaceReactor(p *access.Principal, id string, next func(*reactorRecord) (ReactorRequest, error)) (*Reactor, error) {
	if err := kernel.Require(p, "reactor:update"); err != nil {
		return nil, err
	}
	defer v.forgetReactor(p.TenantID, id) // after the commit
	r, err := kernel.Rewrite(v.View, reactorKey(p.TenantID, id), []string{"reactor", p.TenantID, id}, func(b store.Batch) (*reactorRecord, audit.Entry, error) {
		r, err := v.loadReactor(p.TenantID, id)
		if err != nil {
			return nil, audit.Entry{}, err
		}
		req, err := next(r)
		if err != nil {
			return nil, audit.Entry{}, err
		}
		if req.Formula == nil && req.Code == nil && r.FormulaID != "" {
			// The seed-001 PUT body has no formula: the reactor keeps its own.
			req.Formula = &struct {
				ID string `json:"id"`
			}{r.FormulaID}
		}
		if err := v.validateReactor(p, &req); err != nil {
			return nil, audit.Entry{}, err
		}
		ts := kernel.Now()
		r.apply(&req)
		r.Modified(p, ts)
		if err := v.saveReactor(b, r); err != nil {
			return nil, audit.Entry{}, err
		}
		return r, reactorChanged(kernel.LogEntry(p, p.TenantID, "reactor", r.ID, "update", "Reactor updated", ts), r), nil
	})
	if err != nil {
		return nil, err
	}
	return v.reactorView(r)
}

// PatchReactor applies a merge patch to a reactor (PATCH, answered 204).
func (v *Service) PatchReactor(p *access.Principal, id string, patch []byte) error {
	_, err := v.replaceReactor(p, id, func(rec *reactorRecord) (ReactorRequest, error) {
		return v.patchedReactor(rec, patch)
	})
	return err
}

// patchedReactor merges patch onto the reactor rec's fields.
func (v *Service) patchedReactor(rec *reactorRecord, patch []byte) (ReactorRequest, error) {
	cur, err := v.reactorView(rec)
	if err != nil {
		return ReactorRequest{}, err
	}
	m := map[string]any{"name": cur.Name, "configuration": cur.Configuration}
	if cur.Code != "" {
		m["code"] = cur.Code
	}
	if cur.Formula != nil {
		m["formula"] = map[string]string{"id": cur.Formula.ID}
	}
	if cur.Application != nil {
		m["application"] = map[string]string{"id": cur.Application.ID}
	}
	return kernel.PatchRequest[ReactorRequest](m, patch, "reactor")
}

// DeleteReactor deletes a reactor.
func (v *Service) DeleteReactor(p *access.Principal, id string) error {
	if err := kernel.Require(p, "reactor:delete"); err != nil {
		return err
	}
	defer v.forgetReactor(p.TenantID, id) // after the commit
	return kernel.RewriteErr(v.View, reactorKey(p.TenantID, id), []string{"reactor", p.TenantID, id}, func(b store.Batch) (audit.Entry, error) {
		if _, err := v.loadReactor(p.TenantID, id); err != nil {
			return audit.Entry{}, err
		}
		b.Delete(reactorKey(p.TenantID, id))
		return reactorDeleted(kernel.LogEntry(p, p.TenantID, "reactor", id, "delete", "Reactor deleted", kernel.Now()), id), nil
	})
}
