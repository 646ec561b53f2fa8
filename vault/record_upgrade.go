package vault

import (
	"fmt"

	"github.com/strongroom/strongroom/vault/internal/kernel"
	"github.com/strongroom/strongroom/vault/store"
)

// Records sealed before the full associated data (tokens_ad.go) are
// upgraded once at Open, tenant by tenant: the tenant's tokens, then its
// payment methods, then its key is rewrapped the new way, which says every
// record of the tenant is sealed with the full associated data.

// upgradeTokenAD reseals the token records of every tenant whose key is
// still wrapped the old way, then rewraps that key. It resumes where it
// stopped: records already upgraded are skipped.
func (v *Vault) upgradeTokenAD() error {
	type wrappedKey struct{ tenantID, wrapped string }
	var legacy []wrappedKey
	pfx := store.Prefix(kernel.TenantKeyCollection)
	err := v.Store().Scan(pfx, nil, func(k, val []byte) bool {
		legacy = append(legacy, wrappedKey{string(k[len(pfx):]), string(val)})
		return true
	})
	if err != nil {
		return err
	}
	for _, wk := range legacy {
		rec := kernel.ParseTenantKeyRecord([]byte(wk.wrapped))
		if !rec.Raw {
			continue // written with versions, so with the full associated data
		}
		keys, old, err := v.Keys.UnwrapTenantKeys(wk.tenantID, rec) // kernel/tenantkeys.go
		if err != nil {
			return fmt.Errorf("tenant key of %s: %w", wk.tenantID, err)
		}
		if !old {
			continue
		}
		key := keys[1]
		if err := v.UpgradeTenantTokens(wk.tenantID, key); err != nil {
			return fmt.Errorf("upgrade tokens of tenant %s: %w", wk.tenantID, err)
		}
		if err := v.UpgradeTenantPaymentMethods(wk.tenantID, key); err != nil {
			return fmt.Errorf("upgrade payment methods of tenant %s: %w", wk.tenantID, err)
		}
		wrapped, err := v.Keys.WrapTenantKeys(wk.tenantID, keys, 1)
		if err != nil {
			return err
		}
		b := v.Store().NewBatch()
		b.Set(kernel.TenantKeyRecordKey(wk.tenantID), wrapped)
		if err := v.Commit(b); err != nil {
			return err
		}
	}
	return nil
}
