package tokens

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/strongroom/strongroom/vault/access"
	"github.com/strongroom/strongroom/vault/audit"
	"github.com/strongroom/strongroom/vault/crypto"
	"github.com/strongroom/strongroom/vault/internal/kernel"
	"github.com/strongroom/strongroom/vault/problem"
	"github.com/strongroom/strongroom/vault/store"
	"github.com/strongroom/strongroom/vault/token"
)

// Token is a token as the API returns it. Data is nil when the response
// carries no data (create responses), and JSON null when redacted.
type Token struct {
	ID                    string           `json:"id"`
	TenantID              string           `json:"tenant_id"`
	Type                  string           `json:"type"`
	Data                  *json.RawMessage `json:"data,omitempty"`
	Mask                  any              `json:"mask,omitempty"`
	Fingerprint           string           `json:"fingerprint,omitempty"`
	FingerprintExpression string           `json:"fingerprint_expression,omitempty"`
	Privacy               *token.Privacy   `json:"privacy,omitempty"`
	Containers            []string         `json:"containers,omitempty"`
	Metadata              json.RawMessage  `json:"metadata,omitempty"`
	SearchIndexes         []string         `json:"search_indexes,omitempty"`
	ExpiresAt             *kernel.Time     `json:"expires_at,omitempty"`
	Extras                *TokenExtras     `json:"_extras,omitempty"`
	kernel.Audited
}

// TokenExtras reports what a create did (deduplication).
type TokenExtras struct {
	Deduplicated bool `json:"deduplicated"`
}

// TokenRequest is the body of POST /tokens (and each token request inside
// POST /tokenize). Data stays raw so its bytes are kept as sent.
type TokenRequest struct {
	ID                    *string          `json:"id"`
	Type                  *string          `json:"type"`
	Data                  json.RawMessage  `json:"data"`
	Privacy               *token.Privacy   `json:"privacy"`
	Metadata              json.RawMessage  `json:"metadata"`
	Mask                  json.RawMessage  `json:"mask"`
	Containers            []string         `json:"containers"`
	SearchIndexes         []string         `json:"search_indexes"`
	FingerprintExpression *string          `json:"fingerprint_expression"`
	DeduplicateToken      *bool            `json:"deduplicate_token"`
	ExpiresAt             *json.RawMessage `json:"expires_at"`
	Encryption            json.RawMessage  `json:"encryption"`
	TokenIntentID         *string          `json:"token_intent_id"` // token_intents.go
	// Encrypted is data sent as a JWE to a client encryption key
	// (client_keys.go); it replaces data before anything else reads it.
	Encrypted *string `json:"encrypted"`
}

// tokenRecord is a token as stored: everything but data in clear, data in
// an envelope sealed with the tenant key and bound to the token's identity.
type tokenRecord struct {
	ID                    string          `json:"id"`
	TenantID              string          `json:"tenant_id"`
	Type                  string          `json:"type"`
	Privacy               token.Privacy   `json:"privacy"`
	Containers            []string        `json:"containers"`
	Metadata              json.RawMessage `json:"metadata,omitempty"`
	Mask                  json.RawMessage `json:"mask,omitempty"`
	Fingerprint           string          `json:"fingerprint,omitempty"`
	FingerprintExpression string          `json:"fingerprint_expression,omitempty"`
	SearchIndexes         []string        `json:"search_indexes,omitempty"`
	// IndexMACs are keyed digests of the evaluated search indexes: search
	// matches them without the index values ever being stored in clear.
	IndexMACs []string        `json:"index_macs,omitempty"`
	ExpiresAt *kernel.Time    `json:"expires_at,omitempty"`
	Order     string          `json:"order"`
	Data      crypto.Envelope `json:"data"`
	AD        int             `json:"ad,omitempty"` // associated-data layout (tokens_ad.go)
	kernel.Audited

	dataKey atomic.Pointer[crypto.DataKey] // unwrapped on first read
}

func (r *tokenRecord) container() string {
	if len(r.Containers) > 0 {
		return r.Containers[0]
	}
	return "/"
}

func (r *tokenRecord) ref() access.TokenRef {
	return access.TokenRef{ID: r.ID, Container: r.container()}
}

func (r *tokenRecord) expired(t time.Time) bool {
	return r.ExpiresAt != nil && !r.ExpiresAt.After(t)
}

// tenantSecrets are the tenant-scoped keys derived once per tenant.
type tenantSecrets struct {
	data                *crypto.KeySet
	fingerprint, search []byte
}

func (v *Service) secrets(tenantID string) (tenantSecrets, error) {
	return v.SecretsCache.Get(tenantID, func() (tenantSecrets, error) {
		k, err := v.TenantKey(tenantID)
		if err != nil {
			return tenantSecrets{}, err
		}
		return tenantSecrets{
			data:        k,
			fingerprint: crypto.DeriveKey(k.Root(), "fingerprint"),
			search:      crypto.DeriveKey(k.Root(), "search-index"),
		}, nil
	})
}

func indexMAC(key []byte, value string) string {
	return hex.EncodeToString(crypto.MAC(key, []byte(value)))
}

// decrypt opens a token's data. The unwrapped data key stays with the
// record (which the token cache may keep), so a hot token is unwrapped
// once; the tenant key that unwraps it is in memory anyway.
func (v *Service) decrypt(r *tokenRecord) (json.RawMessage, error) {
	if r.AD != kernel.RecordADVersion {
		return nil, fmt.Errorf("%w: token %s has an old layout", kernel.ErrIntegrity, r.ID)
	}
	dk := r.dataKey.Load()
	if dk == nil {
		k, err := v.TenantKey(r.TenantID)
		if err != nil {
			return nil, err
		}
		if dk, err = k.OpenDataKey(r.Data, r.aad()); err != nil {
			return nil, fmt.Errorf("%w: token %s: %w", kernel.ErrIntegrity, r.ID, err)
		}
		r.dataKey.Store(dk)
	}
	plain, err := dk.Open(r.Data, r.aad())
	if err != nil {
		return nil, fmt.Errorf("%w: token %s: %w", kernel.ErrIntegrity, r.ID, err)
	}
	return plain, nil
}

// loadToken reads a live token of the tenant; expired tokens are gone.
// The record may be shared through the cache: callers never modify it.
func (v *Service) loadToken(tenantID, id string) (*tokenRecord, error) {
	key := cacheKey(tenantID, id)
	r, epoch := v.cachedToken(key) // tokencache.go: confirmed current on a shared store
	if r == nil {
		r = new(tokenRecord)
		if err := kernel.GetJSON(v.Store(), kernel.TokenRecordKey(tenantID, id), "Token", r); err != nil {
			return nil, err
		}
		v.Records.put(key, r, epoch)
	}
	if r.expired(kernel.Now()) {
		return nil, problem.NotFound("Token")
	}
	return r, nil
}

// writeToken adds plan's record, its indexes and its sealed data to b;
// fresh: the record is a create under a generated id (putTokenRecord).
func (v *Service) writeToken(b store.Batch, plan *tokenPlan, fresh bool) error {
	r := plan.rec
	k, err := v.TenantKey(r.TenantID)
	if err != nil {
		return err
	}
	r.AD = kernel.RecordADVersion
	r.Data = k.SealEnvelope(plan.plain, r.aad())
	putTokenRecord(b, r, fresh)
	b.Set(store.Key(kernel.OrderIndex, r.TenantID, r.Order), []byte(r.ID))
	if r.Fingerprint != "" {
		b.Set(store.Key(kernel.FingerprintIndex, r.TenantID, r.Type, r.Fingerprint, r.ID), nil)
	}
	for _, mac := range r.IndexMACs {
		b.Set(store.Key(kernel.SearchIndex, r.TenantID, mac, r.ID), nil)
	}
	if r.ExpiresAt != nil {
		b.Set(expiryKey(r), nil)
	}
	v.indexCVC(b, plan) // token_cvc.go
	return nil
}

func expiryKey(r *tokenRecord) []byte {
	return store.Key(kernel.ExpiryIndex, kernel.DueStamp(r.ExpiresAt.Time), r.TenantID, r.ID)
}

// unindexToken removes r, every index entry pointing at it and its
// associations.
func unindexToken(b store.Batch, r *tokenRecord) {
	b.Delete(kernel.TokenRecordKey(r.TenantID, r.ID))
	removeIndexes(b, r)
	b.DeletePrefix(store.Prefix(kernel.ChildIndex, r.TenantID, r.ID))
}

// CreateToken creates one token (POST /tokens).
func (v *Service) CreateToken(p *access.Principal, req TokenRequest) (*Token, error) {
	out, err := v.createTokens(p, []*TokenRequest{&req}, []string{""}, "token")
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

// createTokens validates every request, then writes all new tokens in one
// batch: either every token is created or none is.
func (v *Service) createTokens(p *access.Principal, reqs []*TokenRequest, prefixes []string, entity string) ([]*Token, error) {
	if len(reqs) > kernel.MaxTokensPerRequest {
		return nil, kernel.TooManyTokens(len(reqs))
	}
	ts := kernel.Now()
	plans := make([]*tokenPlan, len(reqs))
	for i, req := range reqs {
		plan, err := v.planToken(p, req, prefixes[i], ts, "token:create")
		if err != nil {
			return nil, err
		}
		plans[i] = plan
	}
	// Client-supplied ids must be unique: hold their locks until commit.
	var ids []string
	for _, plan := range plans {
		ids = append(ids, plan.rec.ID)
	}
	slices.Sort(ids)
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			return nil, problem.Conflict("A token with the id '" + id + "' is requested more than once.")
		}
		seen[id] = true
	}
	for i, plan := range plans {
		if plan.intentID == "" {
			continue
		}
		if seen[intentLock(plan.intentID)] {
			return nil, problem.Invalid(prefixes[i]+"token_intent_id", "A token intent converts into one token only.")
		}
		seen[intentLock(plan.intentID)] = true
	}
	var also []string // matched tokens an update_existing overwrite must hold the lock of
	for conflicts := 0; ; {
		out, busy, err := v.commitCreates(p, plans, prefixes, entity, ts, also)
		if errors.Is(err, store.ErrConflict) && conflicts < 3 {
			// Another node took an id or created a duplicate meanwhile:
			// the rerun sees it (409 for the id, the match for dedup).
			conflicts++
			continue
		}
		if errors.Is(err, store.ErrConflict) {
			return nil, problem.Conflict("The tokens changed concurrently; retry the request.")
		}
		if busy == "" {
			return out, err
		}
		if len(also) == 3 {
			return nil, problem.Conflict("The token matched by deduplication keeps changing; retry the request.")
		}
		also = append(also, busy)
	}
}

// commitCreates writes the plans in one batch under their locks (and those
// of also). An overwrite of a matched token whose lock is not held returns
// its id as busy, for the caller to retry holding it.
func (v *Service) commitCreates(p *access.Principal, plans []*tokenPlan, prefixes []string, entity string, ts time.Time, also []string) (_ []*Token, busy string, _ error) {
	locks := v.lockCreate(p.TenantID, plans, also)
	defer locks.Unlock()

	out := make([]*Token, len(plans))
	b := v.Store().NewBatch()
	defer b.Close()
	var entries []audit.Entry
	var changed []string // existing tokens this batch rewrites
	written := 0         // new tokens
	for i, plan := range plans {
		if err := v.consumeIntent(b, p.TenantID, plan.intentID, prefixes[i]); err != nil {
			return nil, "", err
		}
		if plan.dedupe {
			fpKey := kernel.FingerprintVersionKey(p.TenantID, plan.rec.Type, plan.rec.Fingerprint)
			ver, err := kernel.ReadVersion(v.Store(), fpKey) // before the search: cluster.go
			if err != nil {
				return nil, "", err
			}
			existing, err := v.findDuplicate(p, plan, plans[:i])
			if err != nil {
				return nil, "", err
			}
			if existing != nil {
				if v.Settings(p.TenantID)["token_deduplication_behavior"] == "update_existing" {
					if !locks.Holds("token", p.TenantID, existing.ID) {
						return nil, existing.ID, nil
					}
					if existing, err = v.overwriteDuplicate(b, p, existing, plan, ts); err != nil {
						return nil, "", err
					}
					changed = append(changed, existing.ID)
					entries = append(entries, withToken(kernel.LogEntry(p, p.TenantID, entity, existing.ID, "update", "Token updated by deduplication", ts), existing))
				}
				out[i], err = v.dedupedView(p, existing)
				if err != nil {
					return nil, "", err
				}
				if plan.intentID != "" { // the intent became the matched token
					entries = append(entries, tokenIntentConverted(p, plan.intentID, existing, ts))
				}
				continue
			}
			kernel.ClaimVersion(b, fpKey, ver)
		}
		if plan.clientID {
			if _, err := v.Store().Get(kernel.TokenRecordKey(p.TenantID, plan.rec.ID)); err == nil {
				return nil, "", problem.Conflict("A token with the id '" + plan.rec.ID + "' already exists.")
			} else if !errors.Is(err, store.ErrNotFound) {
				return nil, "", err
			}
		}
		if err := v.writeToken(b, plan, !plan.clientID); err != nil {
			return nil, "", err
		}
		if plan.clientID {
			kernel.ClaimNew(b, kernel.TokenRecordKey(p.TenantID, plan.rec.ID), plan.rec)
		}
		written++
		entries = append(entries, withToken(kernel.LogEntry(p, p.TenantID, entity, plan.rec.ID, "create", "Token created", ts), plan.rec))
		if plan.intentID != "" {
			entries = append(entries, tokenIntentConverted(p, plan.intentID, plan.rec, ts))
		}
		out[i] = createdView(plan)
	}
	if b.Empty() {
		return out, "", nil
	}
	err := v.Commit(b, entries...)
	for _, id := range changed {
		v.Records.invalidate(cacheKey(p.TenantID, id))
	}
	if err == nil {
		v.Metrics().TokensCreated(written)
	}
	return out, "", err
}

// GetToken reads one token (GET /tokens/{id}).
func (v *Service) GetToken(p *access.Principal, id string) (*Token, error) {
	r, err := v.loadToken(p.TenantID, id)
	if err != nil {
		return nil, err
	}
	t, err := v.readView(p, r)
	if err != nil {
		return nil, err
	}
	v.AuditAsync(v.tokenRead(kernel.LogEntry(p, p.TenantID, "token", r.ID, "read", "Token retrieved", kernel.Now()), r))
	v.Metrics().TokensRead(1)
	return t, nil
}

// DeleteToken deletes a token and its associations.
func (v *Service) DeleteToken(p *access.Principal, id string) error {
	defer v.Locks.Lock("token", p.TenantID, id)()
	r, err := v.loadToken(p.TenantID, id)
	if err != nil {
		return err
	}
	if _, ok := p.TokenTransform("token:delete", r.ref()); !ok {
		return problem.Forbidden("The API key does not have permission to delete tokens in " + r.container())
	}
	ts := kernel.Now()
	b := v.Store().NewBatch()
	unindexToken(b, r)
	err = v.Commit(b, withToken(kernel.LogEntry(p, p.TenantID, "token", r.ID, "delete", "Token deleted", ts), r))
	v.Records.invalidate(cacheKey(p.TenantID, r.ID))
	return err
}

// overwriteDuplicate replaces the data and metadata of the existing token
// with the new request's (tenant setting update_existing), keeping its
// identity; it needs token:update on the existing token.
func (v *Service) overwriteDuplicate(b store.Batch, p *access.Principal, existing *tokenRecord, plan *tokenPlan, ts time.Time) (*tokenRecord, error) {
	if _, ok := p.TokenTransform("token:update", existing.ref()); !ok {
		return nil, problem.Forbidden("The API key does not have permission to update the existing token in " + existing.container())
	}
	n := plan.rec
	n.ID, n.Order, n.Audited, n.Containers = existing.ID, existing.Order, existing.Audited, existing.Containers
	n.Privacy, n.Mask = existing.Privacy, existing.Mask // only data and metadata are overwritten
	n.Modified(p, ts)
	if err := authorizeUpdate(p, existing, n); err != nil {
		return nil, err
	}
	removeIndexes(b, existing)
	if err := v.writeToken(b, plan, false); err != nil {
		return nil, err
	}
	return n, nil
}

// CreateTokens creates several tokens in one atomic batch (the tokenize
// middleware's path): every token is created or none is. fields names each
// request in error messages.
func (v *Service) CreateTokens(p *access.Principal, reqs []*TokenRequest, fields []string) ([]*Token, error) {
	prefixes := make([]string, len(fields))
	for i, f := range fields {
		prefixes[i] = f + "."
	}
	return v.createTokens(p, reqs, prefixes, "token")
}

// TokenRevision names the state of a live token: its last change.
func (v *Service) TokenRevision(tenantID, id string) (string, bool) {
	r, err := v.loadToken(tenantID, id)
	if err != nil {
		return "", false
	}
	at := r.CreatedAt
	if r.ModifiedAt != nil {
		at = r.ModifiedAt
	}
	if at == nil {
		return "", true
	}
	return at.Format(time.RFC3339Nano), true
}
