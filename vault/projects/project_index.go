package projects

import (
	"encoding/json"
	"errors"

	"github.com/strongroom/strongroom/vault/internal/kernel"
	"github.com/strongroom/strongroom/vault/problem"
	"github.com/strongroom/strongroom/vault/store"
)

// The global indexes behind per-tenant project ids (kernel/schema.go). The URL of
// a JWT call names a project id but no tenant, so kernel.ProjectTenantIndex lists
// the tenants holding each id; and a public key belongs to one tenant
// (kernel.PublicKeyIndex), so no tenant can make another tenant's tokens
// ambiguous by registering its public key (recoverable from signatures)
// under the same project id and kid. Entries are checked against the
// tenant's own records, which decide: an entry left by a deleted tenant is
// ignored.

func projectTenantKey(id, tenantID string) []byte {
	return store.Key(kernel.ProjectTenantIndex, id, tenantID)
}

func publicKeyKey(thumbprint string) []byte { return store.Key(kernel.PublicKeyIndex, thumbprint) }

// publicKeyOwner is the tenant a public key belongs to.
type publicKeyOwner struct {
	TenantID string `json:"tenant_id"`
}

// clearProject removes what a project id holds in a tenant besides its
// record: keys, payment methods (their cvc expiry entries are dropped by
// Sweep).
func clearProject(b store.Batch, tenantID, id string) {
	b.DeletePrefix(store.Prefix(kernel.ProjectKeyIndex, tenantID, id))
	b.DeletePrefix(store.Prefix(kernel.PaymentMethodCollection, tenantID, id))
	b.DeletePrefix(store.Prefix(kernel.PaymentMethodSubIndex, tenantID, id))
}

// lockKeyRegistry serialises the registrations and removals of project
// keys (rare, operator-paced), taken after the project's lock.
func (s *projectState) lockKeyRegistry() func() {
	s.keyRegistry.Lock()
	return s.keyRegistry.Unlock
}

// claimPublicKey records rec's tenant as the owner of its public key in b,
// or refuses a key that a project of another tenant holds. The caller
// holds the key registry lock.
func (v *Service) claimPublicKey(b store.Batch, rec projectKeyRecord) error {
	var owner publicKeyOwner
	err := kernel.GetJSON(v.Store(), publicKeyKey(rec.Thumbprint), "Public key", &owner)
	switch {
	case err == nil && owner.TenantID == rec.TenantID:
		return nil
	case err == nil:
		held, err := v.tenantHoldsPublicKey(owner.TenantID, rec.Thumbprint)
		if err != nil {
			return err
		}
		if held {
			return problem.Conflict("This public key is registered in another tenant: generate a new key pair for this project.")
		}
	case !problem.Is(err, 404):
		return err
	}
	kernel.SetJSON(b, publicKeyKey(rec.Thumbprint), publicKeyOwner{rec.TenantID})
	return nil
}

// tenantHoldsPublicKey reports whether a project key of the tenant has the
// thumbprint: the tenant's records decide, so an owner entry outlives
// neither the keys nor the tenant.
func (v *Service) tenantHoldsPublicKey(tenantID, thumbprint string) (bool, error) {
	held := false
	var derr error
	err := v.Store().Scan(store.Prefix(kernel.ProjectKeyIndex, tenantID), nil, func(_, val []byte) bool {
		var r projectKeyRecord
		derr = json.Unmarshal(val, &r)
		held = derr == nil && r.Thumbprint == thumbprint
		return derr == nil && !held
	})
	return held, errors.Join(err, derr)
}

// projectTenants lists the tenants holding a project id. An index entry
// whose project record is gone (its tenant was deleted) is skipped.
func (v *Service) projectTenants(id string) ([]string, error) {
	if !projectIDPattern.MatchString(id) {
		return nil, nil
	}
	var out []string
	pfx := store.Prefix(kernel.ProjectTenantIndex, id)
	err := v.Store().Scan(pfx, nil, func(k, _ []byte) bool {
		out = append(out, string(k[len(pfx):]))
		return true
	})
	if err != nil {
		return nil, err
	}
	live := out[:0]
	for _, t := range out {
		if _, err := v.Store().Get(projectRecordKey(t, id)); err == nil {
			live = append(live, t)
		} else if !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
	}
	return live, nil
}

// UpgradeProjectIndex brings stores written before per-tenant project ids
// up to date at open, in one batch (nothing when they are): the global
// project pointers become kernel.ProjectTenantIndex entries, and every public key
// without an owner gets its first holder as owner.
func (v *Service) UpgradeProjectIndex() error {
	b := v.Store().NewBatch()
	pfx := store.Prefix(kernel.LegacyProjectPointer)
	var derr error
	err := v.Store().Scan(pfx, nil, func(k, val []byte) bool {
		var ptr struct {
			TenantID string `json:"tenant_id"`
		}
		if derr = json.Unmarshal(val, &ptr); derr != nil {
			return false
		}
		b.Set(projectTenantKey(string(k[len(pfx):]), ptr.TenantID), nil)
		b.Delete(k)
		return true
	})
	var recs []projectKeyRecord
	if err == nil && derr == nil {
		err = v.Store().Scan(store.Prefix(kernel.ProjectKeyIndex), nil, func(_, val []byte) bool {
			var r projectKeyRecord
			if derr = json.Unmarshal(val, &r); derr == nil {
				recs = append(recs, r)
			}
			return derr == nil
		})
	}
	if err = errors.Join(err, derr); err != nil {
		b.Close()
		return err
	}
	for _, r := range recs { // the first tenant to hold a key owns it
		if err := v.claimPublicKey(b, r); err != nil && !problem.Is(err, 409) {
			b.Close()
			return err
		}
	}
	if b.Empty() {
		b.Close()
		return nil
	}
	return v.Commit(b)
}
