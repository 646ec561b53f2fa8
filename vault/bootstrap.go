package vault

import (
	"errors"
	"os"
	"path/filepath"

	"github.com/strongroom/strongroom/vault/access"
	"github.com/strongroom/strongroom/vault/crypto"
	"github.com/strongroom/strongroom/vault/store"
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
	tenants, err := v.Tenants()
	if err != nil {
		return err
	}
	if len(tenants) == 0 {
		claim, err := v.readVersion(bootstrapClaim)
		if err != nil {
			return err
		}
		t, app, err := v.createTenant("Default Tenant", TenantProduction, opts.ManagementKey, func(b store.Batch, _ string) {
			claimVersion(b, bootstrapClaim, claim)
		})
		if err != nil {
			return err
		}
		v.Events.TenantID = t.ID
		if opts.ManagementKey == "" {
			path := filepath.Join(opts.DataDir, bootstrapFile)
			if err := os.WriteFile(path, []byte(app.Key+"\n"), 0o600); err != nil {
				return err
			}
			v.Events.BootstrapKey, v.Events.BootstrapKeyFile = app.Key, path
		}
		return nil
	}
	v.Events.TenantID = tenants[0].ID
	if opts.ManagementKey == "" {
		return nil
	}
	if _, err := v.store.Get(keyHashKey(crypto.HashAPIKey(opts.ManagementKey))); err == nil {
		return nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	_, err = v.AddManagementKey(tenants[0].ID, opts.ManagementKey)
	return err
}

// AddManagementKey creates a management application with every management
// permission in the tenant, keyed by secret (generated when empty), and
// returns the key. It is the operator's way in (CLI and bootstrap).
func (v *Vault) AddManagementKey(tenantID, secret string) (string, error) {
	if _, err := v.tenant(tenantID); err != nil {
		return "", err
	}
	ts := now()
	app := &Application{ID: newID(), TenantID: tenantID, Name: "Management", Type: access.TypeManagement,
		Permissions: access.ManagementPermissions(), Rules: []access.Rule{}}
	app.created(nil, ts)
	b := v.store.NewBatch()
	setJSON(b, appRecordKey(tenantID, app.ID), app)
	key, rec := v.addKey(b, nil, app, ts, secret)
	if err := v.commit(b, logEntry(nil, tenantID, "application", app.ID, "create", "Management application created by the operator", ts),
		logEntry(nil, tenantID, "key", rec.ID, "create", "Management key minted by the operator", ts)); err != nil {
		return "", err
	}
	v.auth.invalidate()
	return key, nil
}
