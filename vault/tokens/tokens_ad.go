package tokens

import (
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

// aad is the associated data the record's data is sealed with.
func (r *tokenRecord) aad() []byte {
	if r.AD < kernel.RecordADVersion {
		return legacyTokenAD(r.TenantID, r.ID)
	}
	expires := ""
	if r.ExpiresAt != nil {
		expires = r.ExpiresAt.UTC().Format(time.RFC3339Nano)
	}
	return kernel.ADFields("strongroom/token/v2", r.TenantID, r.ID, r.Type, r.Privacy.Classification,
		r.Privacy.ImpactLevel, r.Privacy.RestrictionPolicy, strings.Join(r.Containers, "\x00"),
		string(r.Mask), expires)
}

func legacyTokenAD(tenantID, id string) []byte { return store.Key("token", tenantID, id) }

// UpgradeTenantTokens reseals the tenant's old-layout records with the
// full associated data, in batches.
func (v *Service) UpgradeTenantTokens(tenantID string, key []byte) error {
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
			if r.AD < kernel.RecordADVersion {
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
				r.AD = kernel.RecordADVersion
				r.Data = crypto.SealEnvelope(key, plain, r.aad())
				clear(plain)
				kernel.SetJSON(b, kernel.TokenRecordKey(r.TenantID, r.ID), r)
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
