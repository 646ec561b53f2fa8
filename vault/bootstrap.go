package vault

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/strongroom/strongroom/vault/access"
	"github.com/strongroom/strongroom/vault/audit"
	"github.com/strongroom/strongroom/vault/crypto"
	"github.com/strongroom/strongroom/vault/internal/kernel"
	"github.com/strongroom/strongroom/vault/store"
	"github.com/strongroom/strongroom/vault/tenants"
)

// bootstrapFile holds a generated management key, shown once at first start.
const bootstrapFile = "management.key"

// bootstrap makes a fresh store usable: on first start it creates a tenant
// and a management application holding every management permission. Its key
// is opts.ManagementKey when given (registered on later starts too, so CI
// can rely on a known key), else generated, printed once and written 0600.
//
// Nodes of a cluster may start at once on an empty database: the first
// tenant is created under a claim (commit-if-unchanged on bootstrapClaim)
// and a known key's hash is inserted only if absent, so the losers of the
// race find the winner's tenant and key on their retry.
func (v *Vault) bootstrap(opts Options) error {
	for attempt := 0; ; attempt++ {
		err := v.bootstrapOnce(opts)
		if !errors.Is(err, store.ErrConflict) || attempt == 3 {
			return err
		}
	}
}

// bootstrapClaim is the version moved on by each bootstrap that creates
// the first tenant.
var bootstrapClaim = []byte("meta\x00bootstrap")

func (v *Vault) bootstrapOnce(opts Options) error {
	existing, err := v.Tenants()
	if err != nil {
		return err
	}
	if len(existing) == 0 {
		claim, err := kernel.ReadVersion(v.Store(), bootstrapClaim)
		if err != nil {
			return err
		}
		t, app, err := v.CreateTenantWith("Default Tenant", TenantProduction, opts.ManagementKey, func(b store.Batch, _ string) {
			kernel.ClaimVersion(b, bootstrapClaim, claim)
		})
		if err != nil {
			return err
		}
		v.Events.TenantID = t.ID
		if err := v.grantNewManagementPermissions([]Tenant{*t}); err != nil { // records the catalog
			return err
		}
		if opts.ManagementKey == "" {
			path := filepath.Join(opts.DataDir, bootstrapFile)
			if err := os.WriteFile(path, []byte(app.Key+"\n"), 0o600); err != nil {
				return err
			}
			v.Events.BootstrapKey, v.Events.BootstrapKeyFile = app.Key, path
		}
		return nil
	}
	v.Events.TenantID = existing[0].ID
	if err := v.grantNewManagementPermissions(existing); err != nil {
		return err
	}
	if opts.ManagementKey == "" {
		return nil
	}
	if _, err := v.Store().Get(kernel.KeyHashKey(crypto.HashAPIKey(opts.ManagementKey))); err == nil {
		return nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	_, err = v.AddManagementKey(existing[0].ID, opts.ManagementKey)
	return err
}

// Management permissions added after a store was created (keys:*,
// webhooks:*, ...) reach the applications the vault itself created with
// every management permission (the bootstrap application of each tenant and
// the operator's management keys, the only ones with no creator), at the
// first open that knows them, each addition audited. The store records the
// catalog it last granted from, so a permission an operator later took away
// from such an application is never given back, and applications made
// through the API keep exactly what their creator chose.
const managementCatalogKey = "meta\x00management-permissions"

// laterManagementPermissions came after the first release: a store without
// a recorded catalog was written before them.
var laterManagementPermissions = []string{
	"keys:create", "keys:delete", "keys:read",
	"project:create", "project:delete", "project:read", "project:update",
	"token-intent:create", "token-intent:delete", "token-intent:read",
	"webhooks:create", "webhooks:delete", "webhooks:read", "webhooks:update",
}

func (v *Vault) grantNewManagementPermissions(existing []Tenant) error {
	all := access.ManagementPermissions()
	var known []string
	switch raw, err := v.Store().Get([]byte(managementCatalogKey)); {
	case errors.Is(err, store.ErrNotFound):
		known = slices.DeleteFunc(slices.Clone(all), func(p string) bool { return slices.Contains(laterManagementPermissions, p) })
	case err != nil:
		return err
	default:
		if err := json.Unmarshal(raw, &known); err != nil {
			return err
		}
		if slices.Equal(known, all) {
			return nil
		}
	}
	added := slices.DeleteFunc(slices.Clone(all), func(p string) bool { return slices.Contains(known, p) })
	ts := kernel.Now()
	b := v.Store().NewBatch()
	var entries []audit.Entry
	for _, t := range existing {
		apps, err := v.systemManagementApps(t.ID)
		if err != nil {
			b.Close()
			return err
		}
		for _, app := range apps {
			missing := slices.DeleteFunc(slices.Clone(added), func(p string) bool { return slices.Contains(app.Permissions, p) })
			if len(missing) == 0 {
				continue
			}
			app.Permissions = slices.Sorted(slices.Values(append(app.Permissions, missing...)))
			app.Modified(nil, ts)
			kernel.SetJSON(b, kernel.AppRecordKey(app.TenantID, app.ID), app)
			entries = append(entries, tenants.ApplicationChanged(kernel.LogEntry(nil, app.TenantID, "application", app.ID, "update",
				"Management permissions added by the upgrade: "+strings.Join(missing, ", "), ts), app))
		}
	}
	kernel.SetJSON(b, []byte(managementCatalogKey), all)
	if err := v.Commit(b, entries...); err != nil {
		return err
	}
	v.AuthCache.Clear()
	return nil
}

// systemManagementApps are the tenant's management applications the vault
// created itself (no creator).
func (v *Vault) systemManagementApps(tenantID string) ([]*Application, error) {
	apps, err := kernel.LoadAll(v.Store(), store.Prefix(kernel.AppCollection, tenantID), func(a *Application) bool {
		return a.Type == access.TypeManagement && a.CreatedBy == ""
	})
	out := make([]*Application, len(apps))
	for i := range apps {
		out[i] = &apps[i]
	}
	return out, err
}
