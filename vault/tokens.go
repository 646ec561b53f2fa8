package vault

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/strongroom/strongroom/vault/access"
	"github.com/strongroom/strongroom/vault/audit"
	"github.com/strongroom/strongroom/vault/crypto"
	"github.com/strongroom/strongroom/vault/expr"
	"github.com/strongroom/strongroom/vault/internal/kernel"
	"github.com/strongroom/strongroom/vault/jsonorder"
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
	ExpiresAt             *Time            `json:"expires_at,omitempty"`
	Extras                *TokenExtras     `json:"_extras,omitempty"`
	Audited
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
	ExpiresAt *Time           `json:"expires_at,omitempty"`
	Order     string          `json:"order"`
	Data      crypto.Envelope `json:"data"`
	AD        int             `json:"ad,omitempty"` // associated-data layout (tokens_ad.go)
	Audited

	dataKey atomic.Pointer[crypto.DataKey] // unwrapped on first read
}

func tokenRecordKey(tenantID, id string) []byte {
	return store.Key(kernel.TokenCollection, tenantID, id)
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

// orderKey sorts tokens by creation time; the random suffix keeps tokens
// created in the same nanosecond apart.
func orderKey(t time.Time) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(t.UnixNano()))
	return hex.EncodeToString(b[:]) + uuid.NewString()[:8]
}

// tenantSecrets are the tenant-scoped keys derived once per tenant.
type tenantSecrets struct {
	data                *crypto.KeySet
	fingerprint, search []byte
}

func (v *Vault) secrets(tenantID string) (tenantSecrets, error) {
	if s, ok := v.tenantSecretsCache.Load(tenantID); ok {
		return s, nil
	}
	gen := v.tenantSecretsCache.Generation()
	k, err := v.tenantKey(tenantID)
	if err != nil {
		return tenantSecrets{}, err
	}
	s := tenantSecrets{
		data:        k,
		fingerprint: crypto.DeriveKey(k.Root(), "fingerprint"),
		search:      crypto.DeriveKey(k.Root(), "search-index"),
	}
	v.tenantSecretsCache.StoreIf(tenantID, s, gen)
	return s, nil
}

func indexMAC(key []byte, value string) string {
	return hex.EncodeToString(crypto.MAC(key, []byte(value)))
}

// decrypt opens a token's data. The unwrapped data key stays with the
// record (which the token cache may keep), so a hot token is unwrapped
// once; the tenant key that unwraps it is in memory anyway.
func (v *Vault) decrypt(r *tokenRecord) (json.RawMessage, error) {
	if r.AD != tokenADVersion {
		return nil, fmt.Errorf("%w: token %s has an old layout", errTokenIntegrity, r.ID)
	}
	dk := r.dataKey.Load()
	if dk == nil {
		k, err := v.tenantKey(r.TenantID)
		if err != nil {
			return nil, err
		}
		if dk, err = k.OpenDataKey(r.Data, r.aad()); err != nil {
			return nil, fmt.Errorf("%w: token %s: %w", errTokenIntegrity, r.ID, err)
		}
		r.dataKey.Store(dk)
	}
	plain, err := dk.Open(r.Data, r.aad())
	if err != nil {
		return nil, fmt.Errorf("%w: token %s: %w", errTokenIntegrity, r.ID, err)
	}
	return plain, nil
}

// loadToken reads a live token of the tenant; expired tokens are gone.
// The record may be shared through the cache: callers never modify it.
func (v *Vault) loadToken(tenantID, id string) (*tokenRecord, error) {
	key := cacheKey(tenantID, id)
	r, epoch := v.cachedToken(key) // feedcache.go: confirmed current on a shared store
	if r == nil {
		r = new(tokenRecord)
		if err := kernel.GetJSON(v.Store(), tokenRecordKey(tenantID, id), "Token", r); err != nil {
			return nil, err
		}
		v.tokens.put(key, r, epoch)
	}
	if r.expired(kernel.Now()) {
		return nil, problem.NotFound("Token")
	}
	return r, nil
}

// decodeData parses raw JSON into generic values with json.Number numbers.
func decodeData(raw []byte) (any, error) {
	if n := len(raw); n >= 2 && raw[0] == '"' {
		// Most token data is one string (card numbers, SSNs): one without
		// escapes is its own text; others skip the general decoder.
		if jsonorder.PlainASCII(raw[1 : n-1]) {
			return string(raw[1 : n-1]), nil
		}
		var s string
		err := json.Unmarshal(raw, &s)
		return s, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

// tokenPlan is a validated token ready to be written.
type tokenPlan struct {
	rec       *tokenRecord
	plain     []byte
	indexVals []string
	dedupe    bool
	mask      any
	clientID  bool   // the id came from the request, so it may collide
	intentID  string // the token intent this token converts (consumed on write)
}

// tenantSettings returns the caller's tenant settings (cached).
func (v *Vault) settings(tenantID string) map[string]string {
	if s, ok := v.tenantSettingsCache.Load(tenantID); ok {
		return s
	}
	gen := v.tenantSettingsCache.Generation()
	t, err := v.tenant(tenantID)
	if err != nil {
		return nil
	}
	s := t.Settings
	if s == nil {
		s = map[string]string{}
	}
	v.tenantSettingsCache.StoreIf(tenantID, s, gen)
	return s
}

// planToken validates req and computes everything derived from its data:
// normalised data, privacy, containers, mask, fingerprint and search
// indexes. prefix names fields inside a larger body (tokenize).
func (v *Vault) planToken(p *access.Principal, req *TokenRequest, prefix string, ts time.Time, perm string) (*tokenPlan, error) {
	if err := v.openEncrypted(p.TenantID, req, prefix); err != nil {
		return nil, err
	}
	intentID, err := v.fromIntent(p, req, prefix)
	if err != nil {
		return nil, err
	}
	f := problem.Fields{}
	typeName := kernel.Deref(req.Type)
	typ, known := token.Lookup(typeName)
	switch {
	case req.Type == nil || typeName == "":
		f.Add(prefix+"type", "The type field is required.")
	case !known:
		f.Add(prefix+"type", fmt.Sprintf("'%s' is not a valid token type.", typeName))
	}
	if len(req.Data) == 0 || string(req.Data) == "null" {
		f.Add(prefix+"data", "The data field is required.")
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	data, err := decodeData(req.Data)
	if err != nil {
		return nil, problem.Invalid(prefix+"data", "The data field is not valid JSON.")
	}
	normalized, ferrs := token.ValidateData(typeName, data)
	f.Merge(prefix, ferrs)
	privacy, perrs := token.ResolvePrivacy(typ, req.Privacy)
	f.Merge(prefix, perrs)
	containers := []string{token.DefaultContainer(privacy)}
	if req.Containers != nil {
		containers = containers[:0]
		if len(req.Containers) != 1 {
			f.Add(prefix+"containers", "Exactly one container is supported.")
		}
		for i, c := range req.Containers {
			n, err := token.ValidateContainer(c)
			if err != nil {
				f.Add(fmt.Sprintf("%scontainers[%d]", prefix, i), err.Error())
			}
			containers = append(containers, n)
		}
	}
	metadata, merr := validateMetadata(req.Metadata)
	if merr != "" {
		f.Add(prefix+"metadata", merr)
	}
	var expiresAt *Time
	if req.ExpiresAt != nil && string(*req.ExpiresAt) != "null" {
		var t Time
		if err := json.Unmarshal(*req.ExpiresAt, &t); err != nil {
			f.Add(prefix+"expires_at", "Must be an ISO 8601 date-time with a time zone.")
		} else if !t.After(ts) {
			f.Add(prefix+"expires_at", "Must be in the future.")
		} else if t.After(kernel.MaxExpiresAt) {
			f.Add(prefix+"expires_at", "Must be no later than "+kernel.MaxExpiresAt.Format(time.RFC3339)+".")
		} else {
			expiresAt = &t
		}
	}
	if err := f.Err(); err != nil {
		return nil, err
	}

	// Everything derived from data is computed from the normalised value.
	plain, err := json.Marshal(normalized)
	if err != nil {
		return nil, err
	}
	if typeName == token.TypeToken {
		plain = req.Data // free-form data is kept byte for byte as sent
	}
	vars := map[string]any{"data": normalized, "metadata": metadataMap(metadata)}
	rec := &tokenRecord{TenantID: p.TenantID, Type: typeName, Privacy: privacy, Containers: containers,
		Metadata: metadata, ExpiresAt: expiresAt, Order: orderKey(ts)}
	rec.Created(p, ts)

	// Mask: the token's own expression, or the type's default.
	plan := &tokenPlan{rec: rec, plain: plain}
	if len(req.Mask) > 0 && string(req.Mask) != "null" {
		m, err := decodeData(req.Mask)
		if err != nil {
			return nil, problem.Invalid(prefix+"mask", "The mask is not valid JSON.")
		}
		if plan.mask, err = expr.EvalMask(m, normalized); err != nil {
			return nil, problem.Invalid(prefix+"mask", exprMessage(err))
		}
		rec.Mask = req.Mask
	} else if m, ok := token.DefaultMask(typeName, normalized); ok {
		plan.mask = m
	}

	secrets, err := v.secrets(p.TenantID)
	if err != nil {
		return nil, err
	}
	settings := v.settings(p.TenantID)
	// Fingerprint: an explicit expression, else the type's default where
	// the type is fingerprinted (seed 001) or the tenant asks for all.
	var fpValue string
	var hasFP bool
	if req.FingerprintExpression != nil && *req.FingerprintExpression != "" {
		rec.FingerprintExpression = *req.FingerprintExpression
		s, err := expr.EvalString(rec.FingerprintExpression, vars)
		if err != nil {
			return nil, problem.Invalid(prefix+"fingerprint_expression", exprMessage(err))
		}
		fpValue, hasFP = s, s != ""
	} else if typ.Fingerprinted || settings["fingerprint_tokens"] == "true" {
		fpValue, hasFP = token.DefaultFingerprintValue(typeName, normalized)
	}
	if hasFP {
		rec.Fingerprint = token.Fingerprint(secrets.fingerprint, typeName, fpValue)
	}
	plan.dedupe = rec.Fingerprint != "" && (req.DeduplicateToken != nil && *req.DeduplicateToken ||
		req.DeduplicateToken == nil && settings["deduplicate_tokens"] == "true")

	// Search indexes: each expression must give one non-empty value.
	rec.SearchIndexes = req.SearchIndexes
	vals := token.DefaultSearchIndexes(typeName, normalized)
	for i, e := range req.SearchIndexes {
		s, err := expr.EvalString(e, vars)
		if err != nil {
			return nil, problem.Invalid(fmt.Sprintf("%ssearch_indexes[%d]", prefix, i), exprMessage(err))
		}
		if strings.TrimSpace(s) == "" {
			return nil, problem.Invalid(fmt.Sprintf("%ssearch_indexes[%d]", prefix, i), "The search index expression evaluated to an empty value.")
		}
		vals = append(vals, s)
	}
	for _, s := range vals {
		mac := indexMAC(secrets.search, s)
		if !slices.Contains(rec.IndexMACs, mac) {
			rec.IndexMACs = append(rec.IndexMACs, mac)
		}
	}
	plan.indexVals = vals

	// Id: generated, literal, or an alias expression over the data.
	plan.clientID = req.ID != nil && *req.ID != ""
	switch {
	case !plan.clientID:
		rec.ID = uuid.NewString()
	case token.IsAliasExpression(*req.ID):
		s, err := expr.EvalString(*req.ID, map[string]any{"data": normalized})
		if err != nil {
			return nil, problem.Invalid(prefix+"id", exprMessage(err))
		}
		rec.ID = s
	default:
		rec.ID = *req.ID
	}
	if err := token.ValidateID(rec.ID); err != nil {
		return nil, problem.Invalid(prefix+"id", err.Error())
	}
	if _, ok := p.TokenTransform(perm, rec.ref()); !ok {
		return nil, problem.Forbidden("The API key does not have permission (" + perm + ") on tokens in " + rec.container())
	}
	plan.intentID = intentID
	return plan, nil
}

func exprMessage(err error) string {
	var ee *expr.ExprError
	if errors.As(err, &ee) {
		return ee.Error()
	}
	return "The expression could not be evaluated."
}

// validateMetadata accepts a JSON object of string values, kept verbatim.
func validateMetadata(raw json.RawMessage) (json.RawMessage, string) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, ""
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, "The metadata must be an object of string values."
	}
	for _, val := range m {
		if _, ok := val.(string); !ok {
			return nil, "The metadata must be an object of string values."
		}
	}
	return raw, ""
}

func metadataMap(raw json.RawMessage) map[string]any {
	var m map[string]any
	if len(raw) > 0 {
		_ = json.Unmarshal(raw, &m)
	}
	return m
}

// writeToken adds plan's record, its indexes and its sealed data to b;
// fresh: the record is a create under a generated id (putTokenRecord).
func (v *Vault) writeToken(b store.Batch, plan *tokenPlan, fresh bool) error {
	r := plan.rec
	k, err := v.tenantKey(r.TenantID)
	if err != nil {
		return err
	}
	r.AD = tokenADVersion
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
	var ts [8]byte
	binary.BigEndian.PutUint64(ts[:], uint64(r.ExpiresAt.UnixNano()))
	return store.Key(kernel.ExpiryIndex, hex.EncodeToString(ts[:]), r.TenantID, r.ID)
}

// unindexToken removes r, every index entry pointing at it and its
// associations.
func unindexToken(b store.Batch, r *tokenRecord) {
	b.Delete(tokenRecordKey(r.TenantID, r.ID))
	removeIndexes(b, r)
	b.DeletePrefix(store.Prefix(kernel.ChildIndex, r.TenantID, r.ID))
}

// CreateToken creates one token (POST /tokens).
func (v *Vault) CreateToken(p *access.Principal, req TokenRequest) (*Token, error) {
	out, err := v.createTokens(p, []*TokenRequest{&req}, []string{""}, "token")
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

// createTokens validates every request, then writes all new tokens in one
// batch: either every token is created or none is.
func (v *Vault) createTokens(p *access.Principal, reqs []*TokenRequest, prefixes []string, entity string) ([]*Token, error) {
	if len(reqs) > MaxTokensPerRequest {
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
func (v *Vault) commitCreates(p *access.Principal, plans []*tokenPlan, prefixes []string, entity string, ts time.Time, also []string) (_ []*Token, busy string, _ error) {
	locks := v.lockCreate(p.TenantID, plans, also)
	defer locks.unlock()

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
			fpKey := fingerprintVersionKey(p.TenantID, plan.rec.Type, plan.rec.Fingerprint)
			ver, err := kernel.ReadVersion(v.Store(), fpKey) // before the search: cluster.go
			if err != nil {
				return nil, "", err
			}
			existing, err := v.findDuplicate(p, plan, plans[:i])
			if err != nil {
				return nil, "", err
			}
			if existing != nil {
				if v.settings(p.TenantID)["token_deduplication_behavior"] == "update_existing" {
					if !locks.holds("token", p.TenantID, existing.ID) {
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
			if _, err := v.Store().Get(tokenRecordKey(p.TenantID, plan.rec.ID)); err == nil {
				return nil, "", problem.Conflict("A token with the id '" + plan.rec.ID + "' already exists.")
			} else if !errors.Is(err, store.ErrNotFound) {
				return nil, "", err
			}
		}
		if err := v.writeToken(b, plan, !plan.clientID); err != nil {
			return nil, "", err
		}
		if plan.clientID {
			kernel.ClaimNew(b, tokenRecordKey(p.TenantID, plan.rec.ID), plan.rec)
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
		v.tokens.invalidate(cacheKey(p.TenantID, id))
	}
	if err == nil {
		v.Metrics().TokensCreated(written)
	}
	return out, "", err
}

// createdView is a create response: no data, the evaluated mask.
func createdView(plan *tokenPlan) *Token {
	t := baseView(plan.rec)
	t.Mask = plan.mask
	return t
}

// baseView is every field of a token except data and mask.
func baseView(r *tokenRecord) *Token {
	t := &Token{ID: r.ID, TenantID: r.TenantID, Type: r.Type, Fingerprint: r.Fingerprint,
		FingerprintExpression: r.FingerprintExpression, Containers: r.Containers,
		Metadata: r.Metadata, SearchIndexes: r.SearchIndexes, ExpiresAt: r.ExpiresAt, Audited: r.Audited}
	priv := r.Privacy
	t.Privacy = &priv
	return t
}

// readTransform is the one read decision: the caller's access rules give a
// transform for the token's container, and a v1 restriction policy of
// redact turns a mask into a redaction.
func readTransform(p *access.Principal, r *tokenRecord, perm string) (string, error) {
	tr, ok, legacy := p.Decide(perm, r.ref())
	if !ok {
		return "", problem.Forbidden("The API key does not have permission to read tokens in " + r.container())
	}
	return restrict(r, tr, legacy), nil
}

// useTransform is readTransform for detokenizing inside an invocation
// (`proxy:invoke`, `reactor:invoke`).
func useTransform(p *access.Principal, r *tokenRecord, invocation string) (string, error) {
	tr, ok, legacy := p.UseTransform(invocation, r.ref())
	if !ok {
		return "", problem.Forbidden("The API key does not have permission to use tokens in " + r.container())
	}
	return restrict(r, tr, legacy), nil
}

// restrict applies the token's v1 restriction policy to a decision made by
// v1 permissions: there, a redact policy overrides a mask. Access rules of
// the current model apply their transform as written.
func restrict(r *tokenRecord, tr string, legacy bool) string {
	if legacy && tr == access.Mask && r.Privacy.RestrictionPolicy == token.PolicyRedact {
		return access.Redact
	}
	return tr
}

var jsonNull = json.RawMessage("null")

// readView renders a token for p with data per its read transform.
func (v *Vault) readView(p *access.Principal, r *tokenRecord) (*Token, error) {
	tr, err := readTransform(p, r, "token:read")
	if err != nil {
		return nil, err
	}
	return v.view(r, tr)
}

// view renders a token with its data revealed, masked or redacted.
func (v *Vault) view(r *tokenRecord, tr string) (*Token, error) {
	t := baseView(r)
	if tr == access.Reveal {
		plain, err := v.decrypt(r)
		if err != nil {
			return nil, err
		}
		raw := json.RawMessage(plain)
		t.Data = &raw
		return t, nil
	}
	t.Data = &jsonNull
	data, err := v.data(r, tr)
	if err != nil || data == nil {
		return t, err
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return nil, err
	}
	rm := json.RawMessage(raw)
	t.Data = &rm
	return t, nil
}

// data is the token's data, decoded, as the transform lets it be seen:
// whole, masked, or nil when redacted (or when no mask applies).
func (v *Vault) data(r *tokenRecord, tr string) (any, error) {
	if tr == access.Redact {
		return nil, nil
	}
	plain, err := v.decrypt(r)
	if err != nil {
		return nil, err
	}
	decoded, err := decodeData(plain)
	if err != nil || tr == access.Reveal {
		return decoded, err
	}
	return recordMask(r, decoded)
}

// recordMask evaluates the token's mask over its current data.
func recordMask(r *tokenRecord, data any) (any, error) {
	if len(r.Mask) > 0 {
		m, err := decodeData(r.Mask)
		if err != nil {
			return nil, err
		}
		return expr.EvalMask(m, data)
	}
	m, _ := token.DefaultMask(r.Type, data)
	return m, nil
}

// GetToken reads one token (GET /tokens/{id}).
func (v *Vault) GetToken(p *access.Principal, id string) (*Token, error) {
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
func (v *Vault) DeleteToken(p *access.Principal, id string) error {
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
	v.tokens.invalidate(cacheKey(p.TenantID, r.ID))
	return err
}

// overwriteDuplicate replaces the data and metadata of the existing token
// with the new request's (tenant setting update_existing), keeping its
// identity; it needs token:update on the existing token.
func (v *Vault) overwriteDuplicate(b store.Batch, p *access.Principal, existing *tokenRecord, plan *tokenPlan, ts time.Time) (*tokenRecord, error) {
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
func (v *Vault) CreateTokens(p *access.Principal, reqs []*TokenRequest, fields []string) ([]*Token, error) {
	prefixes := make([]string, len(fields))
	for i, f := range fields {
		prefixes[i] = f + "."
	}
	return v.createTokens(p, reqs, prefixes, "token")
}
