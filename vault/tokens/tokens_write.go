package tokens

import (
	"bytes"
	"encoding/json"
	"errors"
	"sort"

	"github.com/strongroom/strongroom/vault/access"
	"github.com/strongroom/strongroom/vault/audit"
	"github.com/strongroom/strongroom/vault/internal/kernel"
	"github.com/strongroom/strongroom/vault/problem"
	"github.com/strongroom/strongroom/vault/store"
	"github.com/strongroom/strongroom/vault/token"
)

// tokenPatch is the body of PATCH /tokens/{id} (RFC 7386 merge patch):
// data, mask and metadata merge; the other fields replace.
type tokenPatch struct {
	Data                  json.RawMessage  `json:"data"`
	Mask                  json.RawMessage  `json:"mask"`
	Metadata              json.RawMessage  `json:"metadata"`
	Privacy               *token.Privacy   `json:"privacy"`
	Containers            []string         `json:"containers"`
	SearchIndexes         *[]string        `json:"search_indexes"`
	FingerprintExpression *string          `json:"fingerprint_expression"`
	DeduplicateToken      *bool            `json:"deduplicate_token"`
	ExpiresAt             *json.RawMessage `json:"expires_at"`
}

// UpdateToken applies a merge patch to a token. Derived values
// (fingerprint, mask, search indexes) are recomputed from the new data.
func (v *Service) UpdateToken(p *access.Principal, id string, body []byte) (*Token, error) {
	old, n, err := v.updateToken(p, id, body)
	if err != nil {
		return nil, err
	}
	return v.updatedView(p, old, n)
}

// updateToken applies the patch under the token's lock and returns the
// token before and after it.
func (v *Service) updateToken(p *access.Principal, id string, body []byte) (old, n *tokenRecord, err error) {
	var patch tokenPatch
	if err := json.Unmarshal(body, &patch); err != nil {
		return nil, nil, problem.Invalid("body", "The merge patch must be a JSON object.")
	}
	defer v.Locks.Lock("token", p.TenantID, id)()
	// Under the lock, whether or not the commit held: the next writer
	// loads the record this one wrote, never a cached one.
	defer v.Records.invalidate(cacheKey(p.TenantID, id))
	type update struct{ old, n *tokenRecord }
	u, err := kernel.Rewrite(v.View, kernel.TokenRecordKey(p.TenantID, id), nil, func(b store.Batch) (update, audit.Entry, error) {
		r, err := v.loadToken(p.TenantID, id)
		if err != nil {
			return update{}, audit.Entry{}, err
		}
		if _, ok := p.TokenTransform("token:update", r.ref()); !ok {
			return update{}, audit.Entry{}, problem.Forbidden("The API key does not have permission to update tokens in " + r.container())
		}
		plain, err := v.decrypt(r)
		if err != nil {
			return update{}, audit.Entry{}, err
		}
		req, err := patchedRequest(r, plain, patch)
		if err != nil {
			return update{}, audit.Entry{}, err
		}
		ts := kernel.Now()
		plan, err := v.planToken(p, &req, "", ts, "token:update")
		if err != nil {
			return update{}, audit.Entry{}, err
		}
		n := plan.rec
		n.Order, n.Audited = r.Order, r.Audited
		n.Modified(p, ts)
		if err := authorizeUpdate(p, r, n); err != nil {
			return update{}, audit.Entry{}, err
		}
		removeIndexes(b, r)
		if err := v.writeToken(b, plan, false); err != nil {
			return update{}, audit.Entry{}, err
		}
		return update{r, n}, withToken(kernel.LogEntry(p, p.TenantID, "token", r.ID, "update", "Token updated", ts), n), nil
	})
	return u.old, u.n, err
}

// patchedRequest is the create request an update plans: the stored token
// r (data plain) with patch merged into it.
func patchedRequest(r *tokenRecord, plain json.RawMessage, patch tokenPatch) (TokenRequest, error) {
	var err error
	req := TokenRequest{ID: &r.ID, Type: &r.Type, Data: plain, Metadata: r.Metadata, Mask: r.Mask,
		Containers: r.Containers, SearchIndexes: r.SearchIndexes, DeduplicateToken: new(bool)}
	priv := r.Privacy
	req.Privacy = &priv
	if r.FingerprintExpression != "" {
		req.FingerprintExpression = &r.FingerprintExpression
	}
	if r.ExpiresAt != nil {
		raw, _ := json.Marshal(r.ExpiresAt)
		rm := json.RawMessage(raw)
		req.ExpiresAt = &rm
	}
	if req.Data, err = kernel.MergeRaw(req.Data, patch.Data, "data"); err != nil {
		return req, err
	}
	if req.Metadata, err = kernel.MergeRaw(req.Metadata, patch.Metadata, "metadata"); err != nil {
		return req, err
	}
	if req.Mask, err = kernel.MergeRaw(req.Mask, patch.Mask, "mask"); err != nil {
		return req, err
	}
	if patch.Privacy != nil {
		if patch.Privacy.Classification != "" && patch.Privacy.Classification != r.Privacy.Classification {
			return req, problem.Invalid("privacy.classification", "The classification of a token cannot be changed.")
		}
		if patch.Privacy.ImpactLevel != "" {
			req.Privacy.ImpactLevel = patch.Privacy.ImpactLevel
		}
		if patch.Privacy.RestrictionPolicy != "" {
			req.Privacy.RestrictionPolicy = patch.Privacy.RestrictionPolicy
		}
	}
	if patch.Containers != nil {
		req.Containers = patch.Containers
	} else if *req.Privacy != r.Privacy && len(r.Containers) == 1 && r.Containers[0] == token.DefaultContainer(r.Privacy) {
		// A token in its default container moves with its privacy: a
		// raised impact level must raise the read level needed.
		req.Containers = nil
	}
	if patch.SearchIndexes != nil {
		req.SearchIndexes = *patch.SearchIndexes
	}
	if patch.FingerprintExpression != nil {
		req.FingerprintExpression = patch.FingerprintExpression
	}
	if patch.ExpiresAt != nil {
		req.ExpiresAt = patch.ExpiresAt
	}
	return req, nil
}

// removeIndexes drops r's record and index entries but keeps its
// associations (an update rewrites them right after).
func removeIndexes(b store.Batch, r *tokenRecord) {
	b.Delete(store.Key(kernel.OrderIndex, r.TenantID, r.Order))
	if r.Fingerprint != "" {
		b.Delete(store.Key(kernel.FingerprintIndex, r.TenantID, r.Type, r.Fingerprint, r.ID))
	}
	for _, mac := range r.IndexMACs {
		b.Delete(store.Key(kernel.SearchIndex, r.TenantID, mac, r.ID))
	}
	if r.ExpiresAt != nil {
		b.Delete(expiryKey(r))
	}
}

// readable loads a token and checks the caller may read it.
func (v *Service) readable(p *access.Principal, id string) (*tokenRecord, error) {
	r, err := v.loadToken(p.TenantID, id)
	if err != nil {
		return nil, err
	}
	if _, err := readTransform(p, r, "token:read"); err != nil {
		return nil, err
	}
	return r, nil
}

// AssociateTokens links child under parent; reading both is required. It
// holds the parent's lock, so a parent deleted meanwhile keeps no link.
func (v *Service) AssociateTokens(p *access.Principal, parentID, childID string) error {
	defer v.Locks.Lock("token", p.TenantID, parentID)()
	parent, err := v.readable(p, parentID)
	if err != nil {
		return err
	}
	if _, err := v.readable(p, childID); err != nil {
		return err
	}
	ts := kernel.Now()
	b := v.Store().NewBatch()
	b.Set(store.Key(kernel.ChildIndex, p.TenantID, parent.ID, childID), nil)
	return v.Commit(b, withToken(kernel.LogEntry(p, p.TenantID, "token", parent.ID, "update", "Token association created", ts), parent))
}

// DissociateTokens removes the link; deleting on the parent is required.
func (v *Service) DissociateTokens(p *access.Principal, parentID, childID string) error {
	defer v.Locks.Lock("token", p.TenantID, parentID)()
	parent, err := v.loadToken(p.TenantID, parentID)
	if err != nil {
		return err
	}
	if _, ok := p.TokenTransform("token:delete", parent.ref()); !ok {
		return problem.Forbidden("The API key does not have permission to delete tokens in " + parent.container())
	}
	key := store.Key(kernel.ChildIndex, p.TenantID, parent.ID, childID)
	if _, err := v.Store().Get(key); errors.Is(err, store.ErrNotFound) {
		return problem.NotFound("Token association")
	} else if err != nil {
		return err
	}
	ts := kernel.Now()
	b := v.Store().NewBatch()
	b.Delete(key)
	return v.Commit(b, withToken(kernel.LogEntry(p, p.TenantID, "token", parent.ID, "update", "Token association deleted", ts), parent))
}

// CreateChildToken creates a token associated under parent in one batch,
// holding the parent's lock (and the new id's) from the parent's check on.
func (v *Service) CreateChildToken(p *access.Principal, parentID string, req TokenRequest) (*Token, error) {
	if _, err := v.readable(p, parentID); err != nil {
		return nil, err // refused before any plaintext is planned
	}
	ts := kernel.Now()
	plan, err := v.planToken(p, &req, "", ts, "token:create")
	if err != nil {
		return nil, err
	}
	defer v.Locks.Each([]string{"token", p.TenantID, parentID}, []string{"token", p.TenantID, plan.rec.ID})()
	parent, err := v.readable(p, parentID)
	if err != nil {
		return nil, err
	}
	if _, err := v.Store().Get(kernel.TokenRecordKey(p.TenantID, plan.rec.ID)); err == nil {
		return nil, problem.Conflict("A token with the id '" + plan.rec.ID + "' already exists.")
	}
	b := v.Store().NewBatch()
	if err := v.writeToken(b, plan, !plan.clientID); err != nil {
		b.Close()
		return nil, err
	}
	b.Set(store.Key(kernel.ChildIndex, p.TenantID, parent.ID, plan.rec.ID), nil)
	kernel.ClaimNew(b, kernel.TokenRecordKey(p.TenantID, plan.rec.ID), plan.rec) // cluster.go
	err = v.Commit(b, withToken(kernel.LogEntry(p, p.TenantID, "token", plan.rec.ID, "create", "Child token created", ts), plan.rec))
	if errors.Is(err, store.ErrConflict) {
		return nil, problem.Conflict("A token with the id '" + plan.rec.ID + "' already exists.")
	}
	return createdView(plan), err
}

// ListChildTokens lists the tokens associated under parent.
func (v *Service) ListChildTokens(p *access.Principal, parentID string, f TokenFilter, pg kernel.Page) (kernel.Paginated[Token], error) {
	if _, err := v.readable(p, parentID); err != nil {
		return kernel.Paginated[Token]{}, err
	}
	var ids []string
	pfx := store.Prefix(kernel.ChildIndex, p.TenantID, parentID)
	err := v.Store().Scan(pfx, nil, func(k, _ []byte) bool {
		ids = append(ids, string(k[len(pfx):]))
		return true
	})
	if err != nil {
		return kernel.Paginated[Token]{}, err
	}
	var recs []*tokenRecord
	for _, id := range ids {
		r, err := v.loadToken(p.TenantID, id)
		if problem.Is(err, 404) {
			continue
		}
		if err != nil {
			return kernel.Paginated[Token]{}, err
		}
		if _, ok := p.TokenTransform("token:read", r.ref()); ok && f.matches(r) {
			recs = append(recs, r)
		}
	}
	sort.Slice(recs, func(i, j int) bool { return recs[i].Order > recs[j].Order })
	pageRecs := kernel.PageOf(recs, pg)
	items, err := v.views(p, pageRecs.Data)
	return kernel.Paginate(items, len(recs), pg), err
}

// PurgeExpiredTokens deletes tokens whose expires_at has passed. Reads
// already treat them as gone; this reclaims their storage.
func (v *Service) PurgeExpiredTokens() error {
	t := kernel.Now()
	// Keys of tokens expiring at exactly t sort just below limit.
	limit := append(append(store.Prefix(kernel.ExpiryIndex), kernel.DueStamp(t)...), 1)
	due, err := kernel.DueKeys(v.Store(), kernel.ExpiryIndex, limit)
	if err != nil {
		return err
	}
	var expired [][2]string
	var keys [][]byte
	for _, k := range due {
		if parts := bytes.Split(k, []byte{0}); len(parts) == 4 {
			expired = append(expired, [2]string{string(parts[2]), string(parts[3])})
			keys = append(keys, k)
		}
	}
	for i, e := range expired {
		tenantID, id := e[0], e[1]
		unlock := v.Locks.Lock("token", tenantID, id)
		var r tokenRecord
		err := kernel.GetJSON(v.Store(), kernel.TokenRecordKey(tenantID, id), "Token", &r)
		switch {
		case err == nil && r.expired(t):
			b := v.Store().NewBatch()
			unindexToken(b, &r)
			err = v.Commit(b, withToken(kernel.LogEntry(nil, tenantID, "token", id, "delete", "Expired token deleted", t), &r))
			v.Records.invalidate(cacheKey(tenantID, id))
		case problem.Is(err, 404):
			// The token is gone (deleted, or its tenant was): drop the
			// orphaned index entry so no sweep scans it again.
			b := v.Store().NewBatch()
			b.Delete(keys[i])
			err = v.Commit(b)
		}
		unlock()
		if err != nil && !problem.Is(err, 404) {
			return err
		}
	}
	return nil
}
