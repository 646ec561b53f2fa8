package tenants

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/strongroom/strongroom/vault/access"
	"github.com/strongroom/strongroom/vault/audit"
	"github.com/strongroom/strongroom/vault/internal/kernel"
	"github.com/strongroom/strongroom/vault/problem"
	"github.com/strongroom/strongroom/vault/store"
	"github.com/strongroom/strongroom/vault/token"
)

// Application is an API client of a tenant (seeds 001 and 003).
type Application struct {
	ID                            string        `json:"id"`
	TenantID                      string        `json:"tenant_id"`
	Name                          string        `json:"name"`
	Key                           string        `json:"key,omitempty"`
	Type                          string        `json:"type"`
	Permissions                   []string      `json:"permissions"`
	Rules                         []access.Rule `json:"rules"`
	ExpiresAt                     *kernel.Time  `json:"expires_at,omitempty"`
	CanCreateExpiringApplications *bool         `json:"can_create_expiring_applications,omitempty"`
	kernel.Audited
}

// ApplicationRequest is the body of POST and PUT /applications.
type ApplicationRequest struct {
	Name                          *string       `json:"name"`
	Type                          *string       `json:"type"`
	Permissions                   []string      `json:"permissions"`
	Rules                         []access.Rule `json:"rules"`
	CreateKey                     *bool         `json:"create_key"`
	ExpiresAt                     *kernel.Time  `json:"expires_at"`
	CanCreateExpiringApplications *bool         `json:"can_create_expiring_applications"`
}

// maxExpiringLifetime bounds an expiring application's life (seed 003).
const maxExpiringLifetime = 24 * time.Hour

// validateApplication checks req for an application of type typ.
func validateApplication(req *ApplicationRequest, typ string, creating bool, ts time.Time) error {
	f := problem.Fields{}
	kernel.ValidateName(f, req.Name)
	if !access.ValidAppType(typ) {
		if typ == "" {
			f.Add("type", "The type field is required.")
		} else {
			f.Add("type", fmt.Sprintf("'%s' is not a valid application type (%s).", typ, strings.Join(access.AppTypes, ", ")))
		}
		return f.Err()
	}
	for i, perm := range req.Permissions {
		if !access.GrantableTo(perm, typ) {
			f.Add(fmt.Sprintf("permissions[%d]", i), fmt.Sprintf("'%s' is not a valid permission for a %s application.", perm, typ))
		}
	}
	for i := range req.Rules {
		validateRule(f, fmt.Sprintf("rules[%d].", i), &req.Rules[i], typ)
	}
	if len(req.Permissions) == 0 && len(req.Rules) == 0 {
		f.Add("permissions", "Either permissions or rules is required to be non-empty.")
	}
	if typ == access.TypeExpiring {
		if req.ExpiresAt == nil {
			req.ExpiresAt = kernel.TimePtr(ts.Add(time.Minute))
		}
		if !req.ExpiresAt.After(ts) || req.ExpiresAt.Sub(ts) > maxExpiringLifetime {
			f.Add("expires_at", "Must be in the future and within a day.")
		}
	} else if req.ExpiresAt != nil && creating {
		f.Add("expires_at", "Only applies to expiring applications.")
	}
	if req.CanCreateExpiringApplications != nil && typ != access.TypePrivate && typ != access.TypeServerToServer {
		f.Add("can_create_expiring_applications", "Only applies to private applications.")
	}
	return f.Err()
}

var transforms = []string{access.Redact, access.Mask, access.Reveal}

func validateRule(f problem.Fields, prefix string, r *access.Rule, typ string) {
	if r.Priority < 1 {
		f.Add(prefix+"priority", "Must be an integer of at least 1.")
	}
	if !slices.Contains(transforms, r.Transform) {
		f.Add(prefix+"transform", "Must be one of redact, mask, reveal.")
	}
	if len(r.Permissions) == 0 {
		f.Add(prefix+"permissions", "At least one permission is required.")
	}
	for j, perm := range r.Permissions {
		if !strings.HasPrefix(perm, "token:") || !access.GrantableTo(perm, typ) {
			f.Add(fmt.Sprintf("%spermissions[%d]", prefix, j), fmt.Sprintf("'%s' is not a valid rule permission for a %s application.", perm, typ))
		}
	}
	if typ == access.TypeExpiring {
		if r.Container != "" {
			f.Add(prefix+"container", "Expiring applications use conditions, not containers.")
		}
		if len(r.Conditions) == 0 {
			f.Add(prefix+"conditions", "At least one condition is required for expiring applications.")
		}
		for j, c := range r.Conditions {
			cp := fmt.Sprintf("%sconditions[%d].", prefix, j)
			if c.Attribute != "id" && c.Attribute != "container" {
				f.Add(cp+"attribute", "Must be id or container.")
			}
			if c.Operator != "starts_with" && c.Operator != "equals" {
				f.Add(cp+"operator", "Must be starts_with or equals.")
			}
		}
		return
	}
	if len(r.Conditions) > 0 {
		f.Add(prefix+"conditions", "Conditions only apply to expiring applications.")
	}
	c, err := token.ValidateContainer(r.Container)
	if err != nil {
		f.Add(prefix+"container", err.Error())
	}
	r.Container = c
}

// CreateApplication creates an application and, unless create_key is false,
// its first key (returned only in this response).
func (v *Service) CreateApplication(p *access.Principal, req ApplicationRequest) (*Application, error) {
	if err := kernel.Require(p, "application:create"); err != nil {
		return nil, err
	}
	ts := kernel.Now()
	typ := kernel.Deref(req.Type)
	if err := validateApplication(&req, typ, true, ts); err != nil {
		return nil, err
	}
	if err := authorizeGrant(p, req.Permissions, "permissions"); err != nil {
		return nil, err
	}
	app := &Application{ID: kernel.NewID(), TenantID: p.TenantID, Name: *req.Name, Type: typ,
		Permissions: nonNil(req.Permissions), Rules: nonNilRules(req.Rules),
		CanCreateExpiringApplications: req.CanCreateExpiringApplications}
	if typ == access.TypeExpiring {
		app.ExpiresAt = req.ExpiresAt
	}
	app.Created(p, ts)
	b := v.Store().NewBatch()
	kernel.SetJSON(b, kernel.AppRecordKey(app.TenantID, app.ID), app)
	if req.CreateKey == nil || *req.CreateKey {
		app.Key, _ = v.AddKey(b, p, app, ts, "")
	}
	return app, v.Commit(b, ApplicationChanged(kernel.LogEntry(p, app.TenantID, "application", app.ID, "create", "Application created", ts), app))
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// nonNilRules returns the rules ordered by priority (stable, so rules of
// equal priority keep the order they were given in).
func nonNilRules(r []access.Rule) []access.Rule {
	if r == nil {
		return []access.Rule{}
	}
	slices.SortStableFunc(r, func(a, b access.Rule) int { return a.Priority - b.Priority })
	return r
}

// application loads an application of the tenant; expired ones are gone.
func (v *Service) Application(tenantID, id string) (*Application, error) {
	var app Application
	if err := kernel.GetJSON(v.Store(), kernel.AppRecordKey(tenantID, id), "Application", &app); err != nil {
		return nil, err
	}
	if app.Expired(kernel.Now()) {
		return nil, problem.NotFound("Application")
	}
	return &app, nil
}

func (a *Application) Expired(t time.Time) bool {
	return a.ExpiresAt != nil && !a.ExpiresAt.After(t)
}

// GetApplication returns one application.
func (v *Service) GetApplication(p *access.Principal, id string) (*Application, error) {
	if err := kernel.Require(p, "application:read"); err != nil {
		return nil, err
	}
	return v.Application(p.TenantID, id)
}

// GetApplicationByKey returns the application of the calling key.
func (v *Service) GetApplicationByKey(p *access.Principal) (*Application, error) {
	if err := kernel.Require(p, "application:read"); err != nil {
		return nil, err
	}
	return v.Application(p.TenantID, p.ApplicationID)
}

// ApplicationFilter selects applications to list.
type ApplicationFilter struct {
	IDs   []string
	Types []string
}

// ListApplications lists the tenant's applications in creation order.
func (v *Service) ListApplications(p *access.Principal, f ApplicationFilter, pg kernel.Page) (kernel.Paginated[Application], error) {
	if err := kernel.Require(p, "application:read"); err != nil {
		return kernel.Paginated[Application]{}, err
	}
	t := kernel.Now()
	all, err := kernel.LoadAll(v.Store(), store.Prefix(kernel.AppCollection, p.TenantID), func(a *Application) bool {
		return !a.Expired(t) && (len(f.IDs) == 0 || slices.Contains(f.IDs, a.ID)) && (len(f.Types) == 0 || slices.Contains(f.Types, a.Type))
	})
	return kernel.PageOf(all, pg), err
}

// UpdateApplication replaces name, permissions and rules (PUT).
func (v *Service) UpdateApplication(p *access.Principal, id string, req ApplicationRequest) (*Application, error) {
	if err := kernel.Require(p, "application:update"); err != nil {
		return nil, err
	}
	return v.rewriteApplication(p, id, func(b store.Batch, app *Application) (audit.Entry, error) {
		ts := kernel.Now()
		if req.Type != nil && *req.Type != app.Type {
			return audit.Entry{}, problem.Invalid("type", "The type of an application cannot be changed.")
		}
		req.ExpiresAt = app.ExpiresAt
		if err := validateApplication(&req, app.Type, false, ts); err != nil {
			return audit.Entry{}, err
		}
		if err := authorizeGrant(p, req.Permissions, "permissions"); err != nil {
			return audit.Entry{}, err
		}
		app.Name, app.Permissions, app.Rules = *req.Name, nonNil(req.Permissions), nonNilRules(req.Rules)
		if req.CanCreateExpiringApplications != nil {
			app.CanCreateExpiringApplications = req.CanCreateExpiringApplications
		}
		app.Modified(p, ts)
		kernel.SetJSON(b, kernel.AppRecordKey(app.TenantID, app.ID), app)
		return ApplicationChanged(kernel.LogEntry(p, app.TenantID, "application", app.ID, "update", "Application updated", ts), app), nil
	})
}

// rewriteApplication is every change of one of p's tenant's applications
// (kernel.Rewrite): change gets the application p may manage and fills b;
// principals cached from its keys are dropped once it commits.
func (v *Service) rewriteApplication(p *access.Principal, id string, change func(b store.Batch, app *Application) (audit.Entry, error)) (*Application, error) {
	app, err := kernel.Rewrite(v.View, kernel.AppRecordKey(p.TenantID, id), []string{"app", id}, func(b store.Batch) (*Application, audit.Entry, error) {
		app, err := v.Application(p.TenantID, id)
		if err != nil {
			return nil, audit.Entry{}, err
		}
		if err := authorizeManage(p, app); err != nil {
			return nil, audit.Entry{}, err
		}
		e, err := change(b, app)
		return app, e, err
	})
	if err != nil {
		return nil, err
	}
	v.AuthCache.Clear()
	return app, nil
}

// RegenerateKey replaces every key of the application with a new one.
func (v *Service) RegenerateKey(p *access.Principal, id string) (*Application, error) {
	if err := kernel.Require(p, "application:update"); err != nil {
		return nil, err
	}
	return v.rewriteApplication(p, id, func(b store.Batch, app *Application) (audit.Entry, error) {
		ts := kernel.Now()
		if err := v.deleteKeys(b, app.TenantID, app.ID); err != nil {
			return audit.Entry{}, err
		}
		app.Key, _ = v.AddKey(b, p, app, ts, "")
		app.Modified(p, ts)
		stored := *app
		stored.Key = ""
		kernel.SetJSON(b, kernel.AppRecordKey(app.TenantID, app.ID), &stored)
		return ApplicationChanged(kernel.LogEntry(p, app.TenantID, "application", app.ID, "update", "Application key regenerated", ts), &stored), nil
	})
}

// DeleteApplication removes the application and its keys.
func (v *Service) DeleteApplication(p *access.Principal, id string) error {
	if err := kernel.Require(p, "application:delete"); err != nil {
		return err
	}
	_, err := v.rewriteApplication(p, id, func(b store.Batch, app *Application) (audit.Entry, error) {
		if err := v.deleteKeys(b, app.TenantID, app.ID); err != nil {
			return audit.Entry{}, err
		}
		b.Delete(kernel.AppRecordKey(app.TenantID, app.ID))
		return applicationDeleted(kernel.LogEntry(p, app.TenantID, "application", app.ID, "delete", "Application deleted", kernel.Now()), app.ID), nil
	})
	return err
}

// PurgeExpiredApplications deletes expired applications of every tenant.
func (v *Service) PurgeExpiredApplications() error {
	t := kernel.Now()
	var expired []Application
	err := v.Store().Scan(store.Prefix(kernel.AppCollection), nil, func(_, val []byte) bool {
		var a Application
		if json.Unmarshal(val, &a) == nil && a.Expired(t) {
			expired = append(expired, a)
		}
		return true
	})
	if err != nil {
		return err
	}
	for _, a := range expired {
		b := v.Store().NewBatch()
		if err := v.deleteKeys(b, a.TenantID, a.ID); err != nil {
			b.Close()
			return err
		}
		b.Delete(kernel.AppRecordKey(a.TenantID, a.ID))
		if err := v.Commit(b, applicationDeleted(kernel.LogEntry(nil, a.TenantID, "application", a.ID, "delete", "Expired application deleted", t), a.ID)); err != nil {
			return err
		}
	}
	if len(expired) > 0 {
		v.AuthCache.Clear()
	}
	return nil
}

// ApplicationPrincipal is the principal of an application, for a
// pre-configured proxy or reactor that acts as its application.
func (v *Service) ApplicationPrincipal(tenantID, appID string) (*access.Principal, error) {
	app, err := v.Application(tenantID, appID)
	if err != nil {
		if problem.Is(err, 404) {
			return nil, problem.Forbidden("The proxy's application no longer exists.")
		}
		return nil, err
	}
	return access.NewPrincipal(app.TenantID, app.ID, app.Type, "", app.Permissions, app.Rules), nil
}

// AddManagementKey creates a management application with every management
// permission in the tenant, keyed by secret (generated when empty), and
// returns the key. It is the operator's way in (CLI and bootstrap).
func (v *Service) AddManagementKey(tenantID, secret string) (string, error) {
	if _, err := v.Tenant(tenantID); err != nil {
		return "", err
	}
	ts := kernel.Now()
	app := &Application{ID: kernel.NewID(), TenantID: tenantID, Name: "Management", Type: access.TypeManagement,
		Permissions: access.ManagementPermissions(), Rules: []access.Rule{}}
	app.Created(nil, ts)
	b := v.Store().NewBatch()
	kernel.SetJSON(b, kernel.AppRecordKey(tenantID, app.ID), app)
	key, rec := v.AddKey(b, nil, app, ts, secret)
	if err := v.Commit(b, ApplicationChanged(kernel.LogEntry(nil, tenantID, "application", app.ID, "create", "Management application created by the operator", ts), app),
		kernel.LogEntry(nil, tenantID, "key", rec.ID, "create", "Management key minted by the operator", ts)); err != nil {
		return "", err
	}
	v.AuthCache.Clear()
	return key, nil
}
