package kernel

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/strongroom/strongroom/vault/crypto"
	"github.com/strongroom/strongroom/vault/keywrap"
	"github.com/strongroom/strongroom/vault/store"
)

// TenantKeyRecord is the stored form of a tenant's keys: every version,
// wrapped under one master key version. A record written before versions
// is the raw seal of version 1 under master key version 1 (Raw).
type TenantKeyRecord struct {
	Master  uint32            `json:"m"`
	Current uint32            `json:"cur"`
	Keys    map[uint32][]byte `json:"keys"`
	Raw     bool              `json:"-"`
}

// ParseTenantKeyRecord decodes a stored tenant key record.
func ParseTenantKeyRecord(b []byte) TenantKeyRecord {
	if len(b) > 0 && b[0] == '{' {
		var r TenantKeyRecord
		if json.Unmarshal(b, &r) == nil && r.Master > 0 && r.Keys[r.Current] != nil {
			return r
		}
	}
	return TenantKeyRecord{Master: 1, Current: 1, Keys: map[uint32][]byte{1: b}, Raw: true}
}

// TenantKeyAD binds a raw tenant key's wrapping to the tenant's token
// records being sealed with the full associated data; legacyTenantKeyAD
// is the wrapping of earlier versions (the vault's tokens_ad.go upgrades
// them).
func TenantKeyAD(tenantID string) []byte {
	return store.Key(TenantKeyCollection, tenantID, "token-ad-v2")
}

func legacyTenantKeyAD(tenantID string) []byte { return TenantKeyRecordKey(tenantID) }

// openRawTenantKey unwraps a raw tenant key; legacy reports the wrapping
// of an earlier version.
func openRawTenantKey(master keywrap.Key, wrapped []byte, tenantID string) (key []byte, legacy bool, err error) {
	if k, err := master.Open(wrapped, TenantKeyAD(tenantID)); err == nil {
		return k, false, nil
	}
	k, err := master.Open(wrapped, legacyTenantKeyAD(tenantID))
	return k, err == nil, err
}

// tenantVersionAD binds a wrapped tenant key to its tenant and version.
func tenantVersionAD(tenantID string, version uint32) []byte {
	if version == 1 {
		return TenantKeyAD(tenantID)
	}
	return store.Key(TenantKeyCollection, tenantID, "token-ad-v2", strconv.FormatUint(uint64(version), 10))
}

// UnwrapTenantKeys opens every version of a tenant's keys. legacyAD
// reports a record of before the full token associated data.
func (k *Keys) UnwrapTenantKeys(tenantID string, rec TenantKeyRecord) (keys map[uint32][]byte, legacyAD bool, err error) {
	mk, err := k.Master(rec.Master)
	if err != nil {
		return nil, false, err
	}
	keys = map[uint32][]byte{}
	for n, wrapped := range rec.Keys {
		var key []byte
		if rec.Raw {
			key, legacyAD, err = openRawTenantKey(mk, wrapped, tenantID)
		} else {
			key, err = mk.Open(wrapped, tenantVersionAD(tenantID, n))
		}
		if err != nil {
			return nil, false, fmt.Errorf("tenant key version %d: %w", n, err)
		}
		keys[n] = key
	}
	return keys, legacyAD, nil
}

// WrapTenantKeys seals a tenant's key versions under the current master
// key version.
func (k *Keys) WrapTenantKeys(tenantID string, keys map[uint32][]byte, current uint32) ([]byte, error) {
	ring := k.ring.Load()
	rec := TenantKeyRecord{Master: ring.current, Current: current, Keys: map[uint32][]byte{}}
	for n, key := range keys {
		w, err := ring.keys[ring.current].Seal(key, tenantVersionAD(tenantID, n))
		if err != nil {
			return nil, err
		}
		rec.Keys[n] = w
	}
	return json.Marshal(rec)
}

// TenantKey returns the tenant's unwrapped key versions (cached in
// Keys.Tenant).
func (v *View) TenantKey(tenantID string) (*crypto.KeySet, error) {
	return v.Keys.Tenant.Get(tenantID, func() (*crypto.KeySet, error) {
		b, err := v.Store().Get(TenantKeyRecordKey(tenantID))
		if err != nil {
			return nil, fmt.Errorf("tenant key: %w", err)
		}
		rec := ParseTenantKeyRecord(b)
		keys, _, err := v.Keys.UnwrapTenantKeys(tenantID, rec)
		if err != nil {
			return nil, fmt.Errorf("tenant key: %w", err)
		}
		return crypto.NewKeySet(rec.Current, keys)
	})
}

// NewTenantKey adds a new tenant's first key to b; the caller commits b,
// then calls release.
func (k *Keys) NewTenantKey(b store.Batch, tenantID string) (release func(), err error) {
	key := crypto.NewKey()
	defer clear(key)
	k.sealing.RLock()
	rec, err := k.WrapTenantKeys(tenantID, map[uint32][]byte{1: key}, 1)
	if err != nil {
		k.sealing.RUnlock()
		return nil, fmt.Errorf("wrap the tenant key: %w", err)
	}
	b.Set(TenantKeyRecordKey(tenantID), rec)
	return k.sealing.RUnlock, nil
}
