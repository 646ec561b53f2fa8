package vault

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/strongroom/strongroom/vault/crypto"
	"github.com/strongroom/strongroom/vault/store"
)

// A token's data is sealed with everything that decides who may read it,
// and how, as the AEAD's associated data: tenant, id, type, privacy,
// containers, mask and expiry. A record rewritten in the store (no master
// key needed for that) no longer opens: it fails closed instead of showing
// a `pci`/`high` card to a `general` reader.
//
// Records of earlier versions bound only tenant and id (AD version 0).
// Open upgrades them once, tenant by tenant, and then rewraps the tenant
// key under tenantKeyAD: a tenant key wrapped that way says every record
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
	var b []byte
	field := func(s string) {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	field("strongroom/token/v2")
	field(r.TenantID)
	field(r.ID)
	field(r.Type)
	field(r.Privacy.Classification)
	field(r.Privacy.ImpactLevel)
	field(r.Privacy.RestrictionPolicy)
	field(strings.Join(r.Containers, "\x00"))
	field(string(r.Mask))
	if r.ExpiresAt != nil {
		field(r.ExpiresAt.UTC().Format(time.RFC3339Nano))
	} else {
		field("")
	}
	return b
}

func legacyTokenAD(tenantID, id string) []byte { return store.Key("token", tenantID, id) }

// tenantKeyAD binds the tenant key's wrapping to the tenant's token
// records being sealed with the full associated data; legacyTenantKeyAD
// is the wrapping of earlier versions.
func tenantKeyAD(tenantID string) []byte       { return store.Key("tkey", tenantID, "token-ad-v2") }
func legacyTenantKeyAD(tenantID string) []byte { return store.Key("tkey", tenantID) }

// openTenantKey unwraps a stored tenant key; legacy reports the wrapping
// of an earlier version.
func openTenantKey(master, wrapped []byte, tenantID string) (key []byte, legacy bool, err error) {
	if k, err := crypto.Open(master, wrapped, tenantKeyAD(tenantID)); err == nil {
		return k, false, nil
	}
	k, err := crypto.Open(master, wrapped, legacyTenantKeyAD(tenantID))
	return k, err == nil, err
}

// upgradeTokenAD reseals the token records of every tenant whose key is
// still wrapped the old way, then rewraps that key. It resumes where it
// stopped: records already upgraded are skipped.
func (v *Vault) upgradeTokenAD() error {
	type wrappedKey struct{ tenantID, wrapped string }
	var legacy []wrappedKey
	pfx := store.Prefix("tkey")
	err := v.store.Scan(pfx, nil, func(k, val []byte) bool {
		legacy = append(legacy, wrappedKey{string(k[len(pfx):]), string(val)})
		return true
	})
	if err != nil {
		return err
	}
	for _, wk := range legacy {
		key, old, err := openTenantKey(v.master, []byte(wk.wrapped), wk.tenantID)
		if err != nil {
			return fmt.Errorf("tenant key of %s: %w", wk.tenantID, err)
		}
		if !old {
			continue
		}
		if err := v.upgradeTenantTokens(wk.tenantID, key); err != nil {
			return fmt.Errorf("upgrade tokens of tenant %s: %w", wk.tenantID, err)
		}
		b := v.store.NewBatch()
		b.Set(store.Key("tkey", wk.tenantID), crypto.Seal(v.master, key, tenantKeyAD(wk.tenantID)))
		if err := v.commit(b); err != nil {
			return err
		}
	}
	return nil
}

// upgradeTenantTokens reseals the tenant's old-layout records with the
// full associated data, in batches.
func (v *Vault) upgradeTenantTokens(tenantID string, key []byte) error {
	const batchSize = 256
	pfx := store.Prefix(tokenCollection, tenantID)
	var start []byte
	for {
		var recs []*tokenRecord
		var next []byte
		var derr error
		err := v.store.Scan(pfx, start, func(k, val []byte) bool {
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
			b := v.store.NewBatch()
			for _, r := range recs {
				plain, err := crypto.OpenEnvelope(key, r.Data, r.aad())
				if err != nil {
					b.Close()
					return fmt.Errorf("token %s: %w", r.ID, err)
				}
				r.AD = tokenADVersion
				r.Data = crypto.SealEnvelope(key, plain, r.aad())
				clear(plain)
				setJSON(b, tokenRecordKey(r.TenantID, r.ID), r)
			}
			if err := v.commit(b); err != nil {
				return err
			}
		}
		if next == nil {
			return nil
		}
		start = next
	}
}
