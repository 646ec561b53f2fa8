package vault

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/strongroom/strongroom/vault/crypto"
	"github.com/strongroom/strongroom/vault/internal/kernel"
	"github.com/strongroom/strongroom/vault/store"
)

// A token's data is sealed with everything that decides who may read it,
// and how, as the AEAD's associated data: tenant, id, type, privacy,
// containers, mask and expiry. A record rewritten in the store (no master
// key needed for that) no longer opens: it fails closed instead of showing
// a `pci`/`high` card to a `general` reader.
//
// Payment methods are bound the same way to their entity (the JWT subject
// that may read them), under the same version and upgrade.
//
// Records of earlier versions bound only tenant and id (AD version 0).
// Open upgrades them once, tenant by tenant, and then rewraps the tenant
// key under kernel.TenantKeyAD: a tenant key wrapped that way says every record
// of the tenant is sealed with the full associated data, so an old-style
// record found later is refused, never upgraded. Reads accept only the
// current version.

// tokenADVersion is the associated-data layout of records written now.
const tokenADVersion = 2

// errTokenIntegrity is a record whose access attributes do not match its
// sealed data (or whose layout is not the current one).
var errTokenIntegrity = errors.New("vault: token record failed its integrity check")

// aad is the associated data the record's data is sealed with.
func (r *tokenRecord) aad() []byte {
	if r.AD < tokenADVersion {
		return legacyTokenAD(r.TenantID, r.ID)
	}
	expires := ""
	if r.ExpiresAt != nil {
		expires = r.ExpiresAt.UTC().Format(time.RFC3339Nano)
	}
	return adFields("strongroom/token/v2", r.TenantID, r.ID, r.Type, r.Privacy.Classification,
		r.Privacy.ImpactLevel, r.Privacy.RestrictionPolicy, strings.Join(r.Containers, "\x00"),
		string(r.Mask), expires)
}

// adFields encodes associated data unambiguously: each field is
// length-prefixed, so no value can shift into its neighbour.
func adFields(fields ...string) []byte {
	var b []byte
	for _, f := range fields {
		b = binary.AppendUvarint(b, uint64(len(f)))
		b = append(b, f...)
	}
	return b
}

func legacyTokenAD(tenantID, id string) []byte { return store.Key("token", tenantID, id) }

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
		if err := v.upgradeTenantTokens(wk.tenantID, key); err != nil {
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

// upgradeTenantTokens reseals the tenant's old-layout records with the
// full associated data, in batches.
func (v *Vault) upgradeTenantTokens(tenantID string, key []byte) error {
	const batchSize = 256
	pfx := store.Prefix(kernel.TokenCollection, tenantID)
	var start []byte
	for {
		var recs []*tokenRecord
		var next []byte
		var derr error
		err := v.Store().Scan(pfx, start, func(k, val []byte) bool {
			if len(recs) == batchSize {
				next = append([]byte(nil), k...)
				return false
			}
			r := new(tokenRecord)
			if derr = json.Unmarshal(val, r); derr != nil {
				return false
			}
			if r.AD < tokenADVersion {
				recs = append(recs, r)
			}
			return true
		})
		if err = errors.Join(err, derr); err != nil {
			return err
		}
		if len(recs) > 0 {
			b := v.Store().NewBatch()
			for _, r := range recs {
				plain, err := crypto.OpenEnvelope(key, r.Data, r.aad())
				if err != nil {
					b.Close()
					return fmt.Errorf("token %s: %w", r.ID, err)
				}
				r.AD = tokenADVersion
				r.Data = crypto.SealEnvelope(key, plain, r.aad())
				clear(plain)
				kernel.SetJSON(b, tokenRecordKey(r.TenantID, r.ID), r)
			}
			if err := v.Commit(b); err != nil {
				return err
			}
		}
		if next == nil {
			return nil
		}
		start = next
	}
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
		if r.AD < tokenADVersion {
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
		r.AD = tokenADVersion
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
