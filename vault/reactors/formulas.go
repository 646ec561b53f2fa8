package reactors

// Reactor formulas (seed 001): reusable reactor code that reactors name.

import (
	"fmt"
	"slices"
	"strings"

	"github.com/strongroom/strongroom/vault/access"
	"github.com/strongroom/strongroom/vault/audit"
	"github.com/strongroom/strongroom/vault/internal/kernel"
	"github.com/strongroom/strongroom/vault/problem"
	"github.com/strongroom/strongroom/vault/store"
)

// Formula is a reactor formula (seed 001 "Reactor Formulas").
type Formula struct {
	ID                string             `json:"id"`
	TenantID          string             `json:"tenant_id,omitempty"`
	Name              string             `json:"name"`
	Description       string             `json:"description,omitempty"`
	Type              string             `json:"type"`
	SourceTokenType   string             `json:"source_token_type,omitempty"`
	Icon              string             `json:"icon,omitempty"`
	Code              string             `json:"code"`
	Configuration     []FormulaSetting   `json:"configuration"`
	RequestParameters []FormulaParameter `json:"request_parameters"`
	kernel.Audited
}

// FormulaSetting declares one configuration value of a formula.
type FormulaSetting struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Type        string `json:"type"`
}

// FormulaParameter declares one request parameter of a formula.
type FormulaParameter struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Type        string `json:"type"`
	Optional    bool   `json:"optional"`
}

// FormulaRequest is the body of POST and PUT /reactor-formulas.
type FormulaRequest struct {
	Name              *string            `json:"name"`
	Description       string             `json:"description"`
	Type              *string            `json:"type"`
	SourceTokenType   string             `json:"source_token_type"`
	Icon              string             `json:"icon"`
	Code              *string            `json:"code"`
	Configuration     []FormulaSetting   `json:"configuration"`
	RequestParameters []FormulaParameter `json:"request_parameters"`
}

// settingTypes are the types a formula setting or parameter may declare.
var settingTypes = []string{"string", "boolean", "number"}

func (v *Service) validateFormula(req *FormulaRequest) error {
	f := problem.Fields{}
	kernel.ValidateName(f, req.Name)
	if req.Type == nil || (*req.Type != "official" && *req.Type != "private") {
		f.Add("type", "The type must be official or private.")
	}
	if req.Code == nil || strings.TrimSpace(*req.Code) == "" {
		f.Add("code", "The code field is required.")
	}
	for i, c := range req.Configuration {
		if c.Name == "" {
			f.Add(fmt.Sprintf("configuration[%d].name", i), "The name is required.")
		}
		if !slices.Contains(settingTypes, c.Type) {
			f.Add(fmt.Sprintf("configuration[%d].type", i), "The type must be string, boolean or number.")
		}
	}
	for i, rp := range req.RequestParameters {
		if rp.Name == "" {
			f.Add(fmt.Sprintf("request_parameters[%d].name", i), "The name is required.")
		}
		if !slices.Contains(settingTypes, rp.Type) {
			f.Add(fmt.Sprintf("request_parameters[%d].type", i), "The type must be string, boolean or number.")
		}
	}
	if err := f.Err(); err != nil {
		return err
	}
	_, err := v.compile("code", *req.Code)
	return err
}

func formulaKey(tenantID, id string) []byte { return store.Key(kernel.FormulaCollection, tenantID, id) }

func (f *Formula) apply(req *FormulaRequest) {
	f.Name, f.Description, f.Type = *req.Name, req.Description, *req.Type
	f.SourceTokenType, f.Icon, f.Code = req.SourceTokenType, req.Icon, *req.Code
	f.Configuration, f.RequestParameters = req.Configuration, req.RequestParameters
	if f.Configuration == nil {
		f.Configuration = []FormulaSetting{}
	}
	if f.RequestParameters == nil {
		f.RequestParameters = []FormulaParameter{}
	}
}

// CreateFormula creates a private reactor formula.
func (v *Service) CreateFormula(p *access.Principal, req FormulaRequest) (*Formula, error) {
	if err := kernel.Require(p, "reactor:create"); err != nil {
		return nil, err
	}
	if err := v.validateFormula(&req); err != nil {
		return nil, err
	}
	ts := kernel.Now()
	f := &Formula{ID: kernel.NewID(), TenantID: p.TenantID}
	f.apply(&req)
	f.Created(p, ts)
	b := v.Store().NewBatch()
	kernel.SetJSON(b, formulaKey(p.TenantID, f.ID), f)
	return f, v.Commit(b, kernel.LogEntry(p, p.TenantID, "reactor_formula", f.ID, "create", "Reactor formula created", ts))
}

func (v *Service) formula(tenantID, id string) (*Formula, error) {
	return kernel.Load[Formula](v.Store(), formulaKey(tenantID, id), "Reactor formula")
}

// GetFormula returns one formula.
func (v *Service) GetFormula(p *access.Principal, id string) (*Formula, error) {
	if err := kernel.Require(p, "reactor:read"); err != nil {
		return nil, err
	}
	return v.formula(p.TenantID, id)
}

// ListFormulas lists the tenant's formulas, filtered by name (substring,
// case-insensitive) and source token type.
func (v *Service) ListFormulas(p *access.Principal, name, sourceTokenType string, pg kernel.Page) (kernel.Paginated[Formula], error) {
	if err := kernel.Require(p, "reactor:read"); err != nil {
		return kernel.Paginated[Formula]{}, err
	}
	all, err := kernel.LoadAll(v.Store(), store.Prefix(kernel.FormulaCollection, p.TenantID), func(f *Formula) bool {
		return (name == "" || strings.Contains(strings.ToLower(f.Name), strings.ToLower(name))) &&
			(sourceTokenType == "" || f.SourceTokenType == sourceTokenType)
	})
	return kernel.PageOf(all, pg), err
}

// UpdateFormula replaces a formula (PUT).
func (v *Service) UpdateFormula(p *access.Principal, id string, req FormulaRequest) (*Formula, error) {
	if err := kernel.Require(p, "reactor:update"); err != nil {
		return nil, err
	}
	if err := v.validateFormula(&req); err != nil {
		return nil, err
	}
	defer v.forgetFormula(p.TenantID, id) // after the commit
	return kernel.Rewrite(v.View, formulaKey(p.TenantID, id), []string{"formula", p.TenantID, id}, func(b store.Batch) (*Formula, audit.Entry, error) {
		f, err := v.formula(p.TenantID, id)
		if err != nil {
			return nil, audit.Entry{}, err
		}
		ts := kernel.Now()
		f.apply(&req)
		f.Modified(p, ts)
		kernel.SetJSON(b, formulaKey(p.TenantID, f.ID), f)
		return f, kernel.LogEntry(p, p.TenantID, "reactor_formula", f.ID, "update", "Reactor formula updated", ts), nil
	})
}

// DeleteFormula deletes a formula.
func (v *Service) DeleteFormula(p *access.Principal, id string) error {
	if err := kernel.Require(p, "reactor:delete"); err != nil {
		return err
	}
	defer v.forgetFormula(p.TenantID, id) // after the commit
	return kernel.RewriteErr(v.View, formulaKey(p.TenantID, id), []string{"formula", p.TenantID, id}, func(b store.Batch) (audit.Entry, error) {
		if _, err := v.formula(p.TenantID, id); err != nil {
			return audit.Entry{}, err
		}
		b.Delete(formulaKey(p.TenantID, id))
		return kernel.LogEntry(p, p.TenantID, "reactor_formula", id, "delete", "Reactor formula deleted", kernel.Now()), nil
	})
}
