package tokens

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/strongroom/strongroom/vault/audit"
	"github.com/strongroom/strongroom/vault/crypto"
	"github.com/strongroom/strongroom/vault/internal/kernel"
	"github.com/strongroom/strongroom/vault/problem"
	"github.com/strongroom/strongroom/vault/store"
)

// Tenant key rotation adds a tenant key version: new data keys are wrapped
// under it at once, older versions stay (every envelope names its
// version), so nothing becomes unreadable. The optional re-encryption job
// then moves the tenant's tokens to the new version in bounded batches,
// each committed with the job's cursor, so it resumes after a crash.
// Records keep their associated data (tokens_ad.go): only the envelope
// changes. Fingerprints and search digests stay keyed by version 1.

// DefaultReencryptBatch bounds the tokens one re-encryption commit moves.
const DefaultReencryptBatch = 256

// TenantKeyStatus is a tenant's key versions and re-encryption progress.
type TenantKeyStatus struct {
	TenantID         string             `json:"tenant_id"`
	Current          uint32             `json:"current"`
	Versions         []uint32           `json:"versions"`
	MasterKeyVersion uint32             `json:"master_key_version"`
	Reencrypt        *ReencryptProgress `json:"reencrypt,omitempty"`
}

// ReencryptProgress is the stored state of a tenant's re-encryption job.
type ReencryptProgress struct {
	Version  uint32 `json:"version"`
	Resealed int    `json:"resealed"`
	Finished bool   `json:"finished"`
	Cursor   []byte `json:"cursor,omitempty"` // last token record key handled
}

// TenantKeyStatus reports a tenant's key versions.
func (v *Service) TenantKeyStatus(tenantID string) (*TenantKeyStatus, error) {
	rec, err := v.tenantKeyRecord(tenantID)
	if err != nil {
		return nil, err
	}
	st := &TenantKeyStatus{TenantID: tenantID, Current: rec.Current, MasterKeyVersion: rec.Master,
		Versions: slices.Sorted(maps.Keys(rec.Keys))}
	var p ReencryptProgress
	if err := kernel.GetJSON(v.Store(), kernel.ReencryptJobKey(tenantID), "job", &p); err == nil {
		st.Reencrypt = &p
	} else if !problem.Is(err, 404) {
		return nil, err
	}
	return st, nil
}

func (v *Service) tenantKeyRecord(tenantID string) (kernel.TenantKeyRecord, error) {
	b, err := v.Store().Get(kernel.TenantKeyRecordKey(tenantID))
	if errors.Is(err, store.ErrNotFound) {
		return kernel.TenantKeyRecord{}, problem.NotFound("Tenant")
	}
	if err != nil {
		return kernel.TenantKeyRecord{}, err
	}
	return kernel.ParseTenantKeyRecord(b), nil
}

// RotateTenantKey adds a new tenant key version and makes it current.
func (v *Service) RotateTenantKey(tenantID string) (*TenantKeyStatus, error) {
	if err := v.rotateTenantKey(tenantID); err != nil {
		return nil, err
	}
	return v.TenantKeyStatus(tenantID)
}

func (v *Service) rotateTenantKey(tenantID string) error {
	v.Keys.Rewrite.Lock()
	defer v.Keys.Rewrite.Unlock()
	rec, err := v.tenantKeyRecord(tenantID)
	if err != nil {
		return err
	}
	keys, _, err := v.Keys.UnwrapTenantKeys(tenantID, rec)
	if err != nil {
		return err
	}
	defer func() {
		for _, k := range keys {
			clear(k)
		}
	}()
	n := slices.Max(slices.Collect(maps.Keys(keys))) + 1
	keys[n] = crypto.NewKey()
	wrapped, err := v.Keys.WrapTenantKeys(tenantID, keys, n)
	if err != nil {
		return err
	}
	b := v.Store().NewBatch()
	b.Set(kernel.TenantKeyRecordKey(tenantID), wrapped)
	ts := kernel.Now()
	err = v.Commit(b, kernel.LogEntry(nil, tenantID, "tenant", tenantID, "update",
		fmt.Sprintf("Tenant key rotated to version %d", n), ts))
	v.forgetTenantKeys(tenantID)
	return err
}

// ReencryptTenant moves the tenant's tokens to the current tenant key
// version, batch tokens per commit, resuming a job left unfinished.
func (v *Service) ReencryptTenant(tenantID string, batch int) (*TenantKeyStatus, error) {
	if batch <= 0 {
		batch = DefaultReencryptBatch
	}
	ks, err := v.TenantKey(tenantID)
	if err != nil {
		return nil, err
	}
	var p ReencryptProgress
	if err := kernel.GetJSON(v.Store(), kernel.ReencryptJobKey(tenantID), "job", &p); err != nil && !problem.Is(err, 404) {
		return nil, err
	}
	if p.Version != ks.Current() {
		p = ReencryptProgress{Version: ks.Current()}
	}
	for !p.Finished {
		if err := v.reencryptBatch(tenantID, ks, &p, batch); err != nil {
			return nil, err
		}
	}
	return v.TenantKeyStatus(tenantID)
}

// reencryptBatch reseals the next batch of tokens after p.Cursor and
// commits them with the advanced cursor (and, at the end, the audit entry).
func (v *Service) reencryptBatch(tenantID string, ks *crypto.KeySet, p *ReencryptProgress, batch int) error {
	pfx := store.Prefix(kernel.TokenCollection, tenantID)
	var start []byte
	if p.Cursor != nil {
		start = append(slices.Clone(p.Cursor), 0) // just after the cursor
	}
	var ids []string
	var last []byte
	err := v.Store().Scan(pfx, start, func(k, _ []byte) bool {
		ids = append(ids, string(k[len(pfx):]))
		last = slices.Clone(k)
		return len(ids) < batch
	})
	if err != nil {
		return err
	}
	locks := v.Locks.Set()
	for _, id := range ids {
		locks.Add("token", tenantID, id)
	}
	locks.Lock()
	defer locks.Unlock()
	b := v.Store().NewBatch()
	var changed []string
	for _, id := range ids {
		r := new(tokenRecord)
		if err := kernel.GetJSON(v.Store(), kernel.TokenRecordKey(tenantID, id), "Token", r); problem.Is(err, 404) {
			continue // deleted meanwhile
		} else if err != nil {
			b.Close()
			return err
		}
		if r.AD != kernel.RecordADVersion {
			continue // an old layout is upgraded at start-up, not here
		}
		env, resealed, err := ks.Reseal(r.Data, r.aad())
		if err != nil {
			b.Close()
			return fmt.Errorf("%w: token %s: %w", kernel.ErrIntegrity, id, err)
		}
		if resealed {
			r.Data = env
			kernel.SetJSON(b, kernel.TokenRecordKey(tenantID, id), r)
			changed = append(changed, id)
		}
	}
	p.Resealed += len(changed)
	p.Cursor = last
	var entries []audit.Entry
	if len(ids) < batch {
		p.Finished, p.Cursor = true, nil
		entries = append(entries, kernel.LogEntry(nil, tenantID, "tenant", tenantID, "update",
			fmt.Sprintf("Tenant data re-encrypted under tenant key version %d (%d tokens)", p.Version, p.Resealed), kernel.Now()))
	}
	kernel.SetJSON(b, kernel.ReencryptJobKey(tenantID), p)
	if err := v.Commit(b, entries...); err != nil {
		return err
	}
	for _, id := range changed {
		v.Records.invalidate(cacheKey(tenantID, id))
	}
	return nil
}

// forgetTenantKeys drops a tenant's cached keys after they changed.
func (v *Service) forgetTenantKeys(tenantID string) {
	v.Keys.Tenant.Delete(tenantID)
	v.SecretsCache.Delete(tenantID)
}
