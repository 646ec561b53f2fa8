package tokens

import (
	"bytes"

	"github.com/strongroom/strongroom/vault/access"
	"github.com/strongroom/strongroom/vault/internal/kernel"
	"github.com/strongroom/strongroom/vault/problem"
	"github.com/strongroom/strongroom/vault/store"
)

// Deduplication (deduplicate_token, or the tenant's deduplicate_tokens):
// a create whose type and fingerprint match a token the caller may read
// returns that token instead. A caller that may not read any match is never
// told one exists: it gets a new token, answered like any other create, so
// a create-only key learns neither that a value is stored nor another
// application's token id.

// lockCreate takes, until the create batch commits, the lock of every
// client-supplied token id (it must stay unique), of the fingerprint of
// every deduplicating plan, so two concurrent creates of one value cannot
// both find no match, and of the tokens in also (matches an overwrite
// rewrites). Locks are taken in index order, so creates never deadlock.
// A generated id takes no lock: no other writer can name it yet, and as
// the locks are held across the synced commit, 64 concurrent creates on
// 64 stripes made about a third of them wait for another's sync.
func (v *Service) lockCreate(tenantID string, plans []*tokenPlan, also []string) *kernel.LockSet {
	l := v.Locks.Set()
	for _, plan := range plans {
		if plan.clientID { // a generated id is new: no other writer can name it yet
			l.Add("token", tenantID, plan.rec.ID)
		}
		if plan.dedupe {
			l.Add("fingerprint", tenantID, plan.rec.Type, plan.rec.Fingerprint)
		}
		if plan.intentID != "" { // an intent converts into one token only
			l.Add("token", tenantID, intentLock(plan.intentID))
		}
	}
	for _, id := range also {
		l.Add("token", tenantID, id)
	}
	l.Lock()
	return l
}

// findDuplicate returns the oldest live token with the plan's type and
// fingerprint that p may read: one already stored, else one created
// earlier in the same batch (earlier). The caller holds the fingerprint's lock.
func (v *Service) findDuplicate(p *access.Principal, plan *tokenPlan, earlier []*tokenPlan) (*tokenRecord, error) {
	r := plan.rec
	var ids []string
	err := v.Store().Scan(store.Prefix(kernel.FingerprintIndex, r.TenantID, r.Type, r.Fingerprint), nil, func(k, _ []byte) bool {
		ids = append(ids, string(k[bytes.LastIndexByte(k, 0)+1:]))
		return true
	})
	if err != nil {
		return nil, err
	}
	var oldest *tokenRecord // several match once callers that could not read made their own
	for _, id := range ids {
		existing, err := v.loadToken(r.TenantID, id)
		if problem.Is(err, 404) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if _, err := readTransform(p, existing, "token:read"); err == nil && (oldest == nil || existing.Order < oldest.Order) {
			oldest = existing
		}
	}
	if oldest != nil {
		return oldest, nil
	}
	for _, e := range earlier {
		if e.rec.Type == r.Type && e.rec.Fingerprint == r.Fingerprint {
			if _, err := readTransform(p, e.rec, "token:read"); err == nil {
				return e.rec, nil
			}
		}
	}
	return nil, nil
}

// dedupedView answers a deduplicated create with the existing token, as
// the caller may read it.
func (v *Service) dedupedView(p *access.Principal, r *tokenRecord) (*Token, error) {
	t, err := v.readView(p, r)
	if err != nil {
		return nil, err
	}
	t.Extras = &TokenExtras{Deduplicated: true}
	return t, nil
}
