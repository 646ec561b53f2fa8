package vault

import (
	"errors"
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
	Audited
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
func (v *Vault) GetTenant(p *access.Principal) (*Tenant, error) {
	if err := kernel.Require(p, "tenant:read"); err != nil {
		return nil, err
	}
	return v.tenant(p.TenantID)
}

func (v *Vault) tenant(id string) (*Tenant, error) {
	var t Tenant
	if err := kernel.GetJSON(v.Store(), kernel.TenantRecordKey(id), "Tenant", &t); err != nil {
		return nil, err
	}
	return &t, nil
}

// TenantUpdate is the body of PUT /tenants/self.
type TenantUpdate struct {
	Name     *string           `json:"name"`
	Settings map[string]string `json:"settings"`
}

// UpdateTenant replaces the tenant's name and settings.
func (v *Vault) UpdateTenant(p *access.Principal, req TenantUpdate) (*Tenant, error) {
	if err := kernel.Require(p, "tenant:update"); err != nil {
		return nil, err
	}
	f := problem.Fields{}
	validateName(f, req.Name)
	for k, val := range req.Settings {
		allowed, known := tenantSettings[k]
		switch {
		case !known:
			f.Add("settings."+k, "'"+k+"' is not a tenant setting")
		case allowed == nil && val != "true" && val != "false":
			f.Add("settings."+k, "must be \"true\" or \"false\"")
		case allowed != nil && !contains(allowed, val):
			f.Add("settings."+k, "must be one of "+strings.Join(allowed, ", "))
		}
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	defer v.Locks.Lock("tenant", p.TenantID)()
	t, err := v.tenant(p.TenantID)
	if err != nil {
		return nil, err
	}
	ts := kernel.Now()
	t.Name, t.Settings = *req.Name, req.Settings
	t.Modified(p, ts)
	b := v.Store().NewBatch()
	kernel.SetJSON(b, kernel.TenantRecordKey(t.ID), t)
	err = v.Commit(b, tenantUpdated(kernel.LogEntry(p, t.ID, "tenant", t.ID, "update", "Tenant updated", ts), t))
	v.tenantSettingsCache.Delete(t.ID)
	return t, err
}

// DeleteTenant removes the tenant and everything it owns; its keys stop
// working at once.
func (v *Vault) DeleteTenant(p *access.Principal) error {
	if err := kernel.Require(p, "tenant:delete"); err != nil {
		return err
	}
	return v.deleteTenantBy(p, p.TenantID)
}

func (v *Vault) deleteTenant(id string) error { return v.deleteTenantBy(nil, id) }

func (v *Vault) deleteTenantBy(p *access.Principal, id string) error {
	defer v.Locks.Lock("tenant", id)()
	if _, err := v.tenant(id); err != nil {
		return err
	}
	b := v.Store().NewBatch()
	defer b.Close()
	ts := kernel.Now()
	if err := v.deleteTenantHead(b, id, ts); err != nil { // tenant_purge.go
		return err
	}
	v.retireTenantLog(b, id, ts)
	b.Delete(kernel.TenantRecordKey(id))
	b.Delete(kernel.TenantKeyRecordKey(id))
	b.Delete(reencryptKey(id))                    // tenantkeys.go
	queued, err := v.queueTenantDeleted(b, p, id) // webhook_tenant_deleted.go
	if err != nil {
		return err
	}
	if err := v.SyncCommit(b); err != nil {
		return err
	}
	v.Outbox.Invalidate(id)
	if queued {
		v.Outbox.Signal()
	}
	v.auth.Clear()
	v.projects.invalidate()
	v.Keys.Tenant.Delete(id)
	v.tenantSettingsCache.Delete(id)
	v.tenantSecretsCache.Delete(id)
	v.tokens.clear()
	v.finishTenantPurge(id)
	return nil
}

// CreateTenant creates a tenant with a management application and returns
// the application's key (the CLI and bootstrap path; no principal).
func (v *Vault) CreateTenant(name, typ string) (*Tenant, *Application, error) {
	return v.createTenant(name, typ, "")
}

// createTenant is CreateTenant with an optional known management key.
func (v *Vault) createTenant(name, typ, secret string, conditions ...func(b store.Batch, tenantID string)) (*Tenant, *Application, error) {
	f := problem.Fields{}
	validateName(f, &name)
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
	kernel.SetJSON(b, appRecordKey(t.ID, app.ID), app)
	key, rec := v.addKey(b, nil, app, ts, secret)
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
func (v *Vault) Tenants() ([]Tenant, error) {
	var out []Tenant
	var derr error
	err := v.Store().Scan(store.Prefix(kernel.TenantCollection), nil, func(_, val []byte) bool {
		var t Tenant
		if derr = jsonUnmarshal(val, &t); derr != nil {
			return false
		}
		out = append(out, t)
		return true
	})
	return out, errors.Join(err, derr)
}

func validateName(f problem.Fields, name *string) {
	switch {
	case name == nil || strings.TrimSpace(*name) == "":
		f.Add("name", "The name field is required.")
	case len([]rune(*name)) > 200:
		f.Add("name", "The name field has a maximum length of 200.")
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TenantSetting returns one tenant setting ("" when unset).
func (v *Vault) TenantSetting(tenantID, name string) string {
	return v.settings(tenantID)[name]
}

// settings returns the caller's tenant settings (cached).
func (v *Vault) settings(tenantID string) map[string]string {
	if s, ok := v.tenantSettingsCache.Load(tenantID); ok {
		return s
	}
	gen := v.tenantSettingsCache.Generation()
	t, err := v.tenant(tenantID)
	if err != nil {
		return nil
	}
	s := t.Settings
	if s == nil {
		s = map[string]string{}
	}
	v.tenantSettingsCache.StoreIf(tenantID, s, gen)
	return s
}
