package tenants

import (
	"slices"
	"strings"

	"github.com/strongroom/strongroom/vault/access"
	"github.com/strongroom/strongroom/vault/internal/kernel"
	"github.com/strongroom/strongroom/vault/problem"
	"github.com/strongroom/strongroom/vault/store"
)

// Tenant is an isolated set of applications and tokens.
type Tenant struct {
	ID       string            `json:"id"`
	OwnerID  string            `json:"owner_id"`
	Name     string            `json:"name"`
	Type     string            `json:"type"`
	Settings map[string]string `json:"settings,omitempty"`
	kernel.Audited
}

// Tenant types: a test tenant accepts only the documented test cards for
// atomic cards.
const (
	TenantProduction = "production"
	TenantTest       = "test"
)

// tenantSettings lists the settings a tenant accepts, with their allowed
// values (nil means a boolean string).
var tenantSettings = map[string][]string{
	"deduplicate_tokens":           nil,
	"fingerprint_tokens":           nil,
	"disable_ephemeral_proxy":      nil,
	"token_deduplication_behavior": {"read_existing", "update_existing"},
}

// GetTenant returns the caller's tenant.
func (v *Service) GetTenant(p *access.Principal) (*Tenant, error) {
	if err := kernel.Require(p, "tenant:read"); err != nil {
		return nil, err
	}
	return v.Tenant(p.TenantID)
}

func (v *Service) Tenant(id string) (*Tenant, error) {
	return kernel.Load[Tenant](v.Store(), kernel.TenantRecordKey(id), "Tenant")
}

// TenantUpdate is the body of PUT /tenants/self.
type TenantUpdate struct {
	Name     *string           `json:"name"`
	Settings map[string]string `json:"settings"`
}

// UpdateTenant replaces the tenant's name and settings.
func (v *Service) UpdateTenant(p *access.Principal, req TenantUpdate) (*Tenant, error) {
	if err := kernel.Require(p, "tenant:update"); err != nil {
		return nil, err
	}
	f := problem.Fields{}
	kernel.ValidateName(f, req.Name)
	for k, val := range req.Settings {
		allowed, known := tenantSettings[k]
		switch {
		case !known:
			f.Add("settings."+k, "'"+k+"' is not a tenant setting")
		case allowed == nil && val != "true" && val != "false":
			f.Add("settings."+k, "must be \"true\" or \"false\"")
		case allowed != nil && !slices.Contains(allowed, val):
			f.Add("settings."+k, "must be one of "+strings.Join(allowed, ", "))
		}
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	defer v.Locks.Lock("tenant", p.TenantID)()
	t, err := v.Tenant(p.TenantID)
	if err != nil {
		return nil, err
	}
	ts := kernel.Now()
	t.Name, t.Settings = *req.Name, req.Settings
	t.Modified(p, ts)
	b := v.Store().NewBatch()
	kernel.SetJSON(b, kernel.TenantRecordKey(t.ID), t)
	err = v.Commit(b, tenantUpdated(kernel.LogEntry(p, t.ID, "tenant", t.ID, "update", "Tenant updated", ts), t))
	v.SettingsCache.Delete(t.ID)
	return t, err
}

// CreateTenant creates a tenant with a management application and returns
// the application's key (the CLI and bootstrap path; no principal).
func (v *Service) CreateTenant(name, typ string) (*Tenant, *Application, error) {
	return v.CreateTenantWith(name, typ, "")
}

// CreateTenantWith is CreateTenant with an optional known management key.
func (v *Service) CreateTenantWith(name, typ, secret string, conditions ...func(b store.Batch, tenantID string)) (*Tenant, *Application, error) {
	f := problem.Fields{}
	kernel.ValidateName(f, &name)
	if typ != TenantProduction && typ != TenantTest {
		f.Add("type", "must be production or test")
	}
	if err := f.Err(); err != nil {
		return nil, nil, err
	}
	ts := kernel.Now()
	t := &Tenant{ID: kernel.NewID(), Name: name, Type: typ}
	t.Created(nil, ts)
	app := &Application{ID: kernel.NewID(), TenantID: t.ID, Name: "Management", Type: access.TypeManagement,
		Permissions: access.ManagementPermissions(), Rules: []access.Rule{}}
	// A self-hosted tenant has no portal user: its owner is the management
	// application created with it.
	t.OwnerID = app.ID
	app.Created(nil, ts)
	b := v.Store().NewBatch()
	kernel.SetJSON(b, kernel.TenantRecordKey(t.ID), t)
	release, err := v.Keys.NewTenantKey(b, t.ID) // keyring.go
	if err != nil {
		b.Close()
		return nil, nil, err
	}
	defer release() // after the commit
	kernel.SetJSON(b, kernel.AppRecordKey(t.ID, app.ID), app)
	key, rec := v.AddKey(b, nil, app, ts, secret)
	app.Key = key
	for _, c := range conditions {
		c(b, t.ID)
	}
	err = v.Commit(b,
		kernel.LogEntry(nil, t.ID, "tenant", t.ID, "create", "Tenant created", ts),
		kernel.LogEntry(nil, t.ID, "application", app.ID, "create", "Application created", ts),
		kernel.LogEntry(nil, t.ID, "key", rec.ID, "create", "Management key minted", ts))
	if err != nil {
		return nil, nil, err
	}
	return t, app, nil
}

// Tenants lists every tenant (operator tooling).
func (v *Service) Tenants() ([]Tenant, error) {
	return kernel.LoadAll[Tenant](v.Store(), store.Prefix(kernel.TenantCollection), nil)
}

// TenantSetting returns one tenant setting ("" when unset).
func (v *Service) TenantSetting(tenantID, name string) string {
	return v.Settings(tenantID)[name]
}

// settings returns the caller's tenant settings (cached).
func (v *Service) Settings(tenantID string) map[string]string {
	s, err := v.SettingsCache.Get(tenantID, func() (map[string]string, error) {
		t, err := v.Tenant(tenantID)
		if err != nil {
			return nil, err
		}
		if t.Settings == nil {
			return map[string]string{}, nil
		}
		return t.Settings, nil
	})
	if err != nil {
		return nil
	}
	return s
}
