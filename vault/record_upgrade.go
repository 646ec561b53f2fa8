package vault

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/strongroom/strongroom/vault/crypto"
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
		if err := v.upgradeTenantPaymentMethods(wk.tenantID, key); err != nil {
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

// upgradeTenantPaymentMethods reseals the tenant's old-layout payment
// methods (card and cvc) bound to their entity. They are few per tenant
// next to tokens, so one batch does.
func (v *Vault) upgradeTenantPaymentMethods(tenantID string, key []byte) error {
	var recs []*paymentMethodRecord
	var derr error
	err := v.Store().Scan(store.Prefix(kernel.PaymentMethodCollection, tenantID), nil, func(_, val []byte) bool {
		r := new(paymentMethodRecord)
		if derr = json.Unmarshal(val, r); derr != nil {
			return false
		}
		if r.AD < kernel.RecordADVersion {
			recs = append(recs, r)
		}
		return true
	})
	if err = errors.Join(err, derr); err != nil || len(recs) == 0 {
		return err
	}
	b := v.Store().NewBatch()
	reseal := func(env crypto.Envelope, oldAD, newAD []byte) (crypto.Envelope, error) {
		plain, err := crypto.OpenEnvelope(key, env, oldAD)
		if err != nil {
			return env, err
		}
		defer clear(plain)
		return crypto.SealEnvelope(key, plain, newAD), nil
	}
	for _, r := range recs {
		oldCard, oldCVC := r.aad(), r.cvcAAD()
		r.AD = kernel.RecordADVersion
		card, err := reseal(r.Card, oldCard, r.aad())
		if err != nil {
			b.Close()
			return fmt.Errorf("payment method %s: %w", r.ID, err)
		}
		r.Card = card
		if r.CVC != nil {
			cvc, err := reseal(*r.CVC, oldCVC, r.cvcAAD())
			if err != nil {
				b.Close()
				return fmt.Errorf("payment method %s cvc: %w", r.ID, err)
			}
			r.CVC = &cvc
		}
		kernel.SetJSON(b, paymentMethodKey(r.TenantID, r.ProjectID, r.ID), r)
	}
	return v.Commit(b)
}
