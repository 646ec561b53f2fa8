package vault

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/strongroom/strongroom/vault/access"
	"github.com/strongroom/strongroom/vault/apitime"
	"github.com/strongroom/strongroom/vault/expr"
	"github.com/strongroom/strongroom/vault/internal/kernel"
	"github.com/strongroom/strongroom/vault/jsonorder"
	"github.com/strongroom/strongroom/vault/problem"
	"github.com/strongroom/strongroom/vault/store"
	"github.com/strongroom/strongroom/vault/token"
	"github.com/strongroom/strongroom/vault/traffic"
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
func (v *Vault) UpdateToken(p *access.Principal, id string, body []byte) (*Token, error) {
	old, n, err := v.updateToken(p, id, body)
	if err != nil {
		return nil, err
	}
	return v.updatedView(p, old, n)
}

// updateToken applies the patch under the token's lock and returns the
// token before and after it.
func (v *Vault) updateToken(p *access.Principal, id string, body []byte) (old, n *tokenRecord, err error) {
	var patch tokenPatch
	if err := json.Unmarshal(body, &patch); err != nil {
		return nil, nil, problem.Invalid("body", "The merge patch must be a JSON object.")
	}
	defer v.Locks.Lock("token", p.TenantID, id)()
	// The lock orders this node's writers; another node's are caught by
	// committing only if the record is still the one read (cluster.go).
	for attempt := 0; ; attempt++ {
		old, n, err = v.updateTokenOnce(p, id, patch)
		if !errors.Is(err, store.ErrConflict) {
			return old, n, err
		}
		if attempt == 3 {
			return nil, nil, problem.Conflict("The token keeps changing concurrently; retry the request.")
		}
	}
}

func (v *Vault) updateTokenOnce(p *access.Principal, id string, patch tokenPatch) (old, n *tokenRecord, err error) {
	raw, err := kernel.ReadVersion(v.Store(), tokenRecordKey(p.TenantID, id))
	if err != nil {
		return nil, nil, err
	}
	r, err := v.loadToken(p.TenantID, id)
	if err != nil {
		return nil, nil, err
	}
	if _, ok := p.TokenTransform("token:update", r.ref()); !ok {
		return nil, nil, problem.Forbidden("The API key does not have permission to update tokens in " + r.container())
	}
	plain, err := v.decrypt(r)
	if err != nil {
		return nil, nil, err
	}
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
	if req.Data, err = mergeRaw(req.Data, patch.Data, "data"); err != nil {
		return nil, nil, err
	}
	if req.Metadata, err = mergeRaw(req.Metadata, patch.Metadata, "metadata"); err != nil {
		return nil, nil, err
	}
	if req.Mask, err = mergeRaw(req.Mask, patch.Mask, "mask"); err != nil {
		return nil, nil, err
	}
	if patch.Privacy != nil {
		if patch.Privacy.Classification != "" && patch.Privacy.Classification != r.Privacy.Classification {
			return nil, nil, problem.Invalid("privacy.classification", "The classification of a token cannot be changed.")
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
	ts := kernel.Now()
	plan, err := v.planToken(p, &req, "", ts, "token:update")
	if err != nil {
		return nil, nil, err
	}
	n = plan.rec
	n.Order, n.Audited = r.Order, r.Audited
	n.Modified(p, ts)
	if err := authorizeUpdate(p, r, n); err != nil {
		return nil, nil, err
	}
	b := v.Store().NewBatch()
	if raw != nil {
		b.Expect(tokenRecordKey(p.TenantID, id), raw)
	}
	removeIndexes(b, r)
	if err := v.writeToken(b, plan, false); err != nil {
		b.Close()
		return nil, nil, err
	}
	err = v.Commit(b, withToken(kernel.LogEntry(p, p.TenantID, "token", r.ID, "update", "Token updated", ts), n))
	v.tokens.invalidate(cacheKey(p.TenantID, r.ID))
	if err != nil {
		return nil, nil, err
	}
	return r, n, nil
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
func (v *Vault) readable(p *access.Principal, id string) (*tokenRecord, error) {
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
func (v *Vault) AssociateTokens(p *access.Principal, parentID, childID string) error {
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
func (v *Vault) DissociateTokens(p *access.Principal, parentID, childID string) error {
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
func (v *Vault) CreateChildToken(p *access.Principal, parentID string, req TokenRequest) (*Token, error) {
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
	if _, err := v.Store().Get(tokenRecordKey(p.TenantID, plan.rec.ID)); err == nil {
		return nil, problem.Conflict("A token with the id '" + plan.rec.ID + "' already exists.")
	}
	b := v.Store().NewBatch()
	if err := v.writeToken(b, plan, !plan.clientID); err != nil {
		b.Close()
		return nil, err
	}
	b.Set(store.Key(kernel.ChildIndex, p.TenantID, parent.ID, plan.rec.ID), nil)
	kernel.ClaimNew(b, tokenRecordKey(p.TenantID, plan.rec.ID), plan.rec) // cluster.go
	err = v.Commit(b, withToken(kernel.LogEntry(p, p.TenantID, "token", plan.rec.ID, "create", "Child token created", ts), plan.rec))
	if errors.Is(err, store.ErrConflict) {
		return nil, problem.Conflict("A token with the id '" + plan.rec.ID + "' already exists.")
	}
	return createdView(plan), err
}

// ListChildTokens lists the tokens associated under parent.
func (v *Vault) ListChildTokens(p *access.Principal, parentID string, f TokenFilter, pg Page) (Paginated[Token], error) {
	if _, err := v.readable(p, parentID); err != nil {
		return Paginated[Token]{}, err
	}
	var ids []string
	pfx := store.Prefix(kernel.ChildIndex, p.TenantID, parentID)
	err := v.Store().Scan(pfx, nil, func(k, _ []byte) bool {
		ids = append(ids, string(k[len(pfx):]))
		return true
	})
	if err != nil {
		return Paginated[Token]{}, err
	}
	var recs []*tokenRecord
	for _, id := range ids {
		r, err := v.loadToken(p.TenantID, id)
		if problem.Is(err, 404) {
			continue
		}
		if err != nil {
			return Paginated[Token]{}, err
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

// Tokenize walks any JSON value (objects as *jsonorder.Object, which keeps
// their member order, or map[string]any, taken in key order): each primitive becomes a `token` token and
// is replaced by its id; each object with `type` and `data` is a token
// request replaced by the created token; other objects and arrays keep
// their shape. Every token is written in one batch, or none.
func (v *Vault) Tokenize(p *access.Principal, body any) (any, error) {
	var reqs []*TokenRequest
	var prefixes []string
	var slots []func(*Token)
	var walk func(val any, path string, set func(any)) (any, error)
	walk = func(val any, path string, set func(any)) (any, error) {
		switch x := val.(type) {
		case *jsonorder.Object:
			_, hasType := x.Get("type")
			_, hasData := x.Get("data")
			_, fromIntent := x.Get("token_intent_id")
			_, hasEncrypted := x.Get("encrypted")
			if hasType && (hasData || hasEncrypted) || fromIntent {
				raw, err := jsonorder.Marshal(x)
				if err != nil {
					return nil, err
				}
				var req TokenRequest
				if err := decodeStrict(raw, &req); err != nil {
					return nil, problem.Invalid(path, err.Error())
				}
				reqs, prefixes = append(reqs, &req), append(prefixes, prefixFor(path))
				slots = append(slots, func(t *Token) { set(t) })
				return nil, nil
			}
			out := &jsonorder.Object{Keys: x.Keys, Values: make(map[string]any, len(x.Keys))}
			for _, k := range x.Keys {
				k := k
				r, err := walk(x.Values[k], joinPath(path, k), func(t any) { out.Values[k] = t })
				if err != nil {
					return nil, err
				}
				out.Values[k] = r
			}
			return out, nil
		case map[string]any:
			return walk(jsonorder.FromMap(x), path, set)
		case []any:
			out := make([]any, len(x))
			for i := range x {
				i := i
				r, err := walk(x[i], fmt.Sprintf("%s[%d]", path, i), func(t any) { out[i] = t })
				if err != nil {
					return nil, err
				}
				out[i] = r
			}
			return out, nil
		case nil:
			return nil, nil
		default:
			raw, err := json.Marshal(x)
			if err != nil {
				return nil, err
			}
			typ := token.TypeToken
			reqs = append(reqs, &TokenRequest{Type: &typ, Data: raw})
			prefixes = append(prefixes, prefixFor(path))
			slots = append(slots, func(t *Token) { set(t.ID) })
			return nil, nil
		}
	}
	var result any
	top, err := walk(body, "", func(t any) { result = t })
	if err != nil {
		return nil, err
	}
	if top != nil {
		result = top
	}
	if len(reqs) == 0 {
		return result, nil
	}
	created, err := v.createTokens(p, reqs, prefixes, "token")
	if err != nil {
		return nil, err
	}
	for i, t := range created {
		slots[i](t)
	}
	if top != nil {
		return top, nil
	}
	return result, nil
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func prefixFor(path string) string {
	if path == "" {
		return ""
	}
	return path + "."
}

// Resolver returns the token resolver of expressions for p. With an empty
// invocation it reads (POST /detokenize); with `proxy:invoke` or
// `reactor:invoke` it uses tokens inside that invocation. Either way each
// token's data is rendered with the transform the caller's rules give.
func (v *Vault) Resolver(p *access.Principal, invocation string) expr.Resolver {
	return expr.ResolverFunc(func(_ context.Context, id string) (expr.Token, error) {
		r, err := v.loadToken(p.TenantID, id)
		if problem.Is(err, 404) {
			return expr.Token{}, fmt.Errorf("%w: %s", expr.ErrNotFound, id)
		}
		if err != nil {
			return expr.Token{}, err
		}
		var tr string
		if invocation == "" {
			tr, err = readTransform(p, r, "token:read")
		} else {
			tr, err = useTransform(p, r, invocation)
		}
		if err != nil {
			return expr.Token{}, err
		}
		data, err := v.data(r, tr)
		if err != nil {
			return expr.Token{}, err
		}
		v.AuditAsync(v.tokenRead(kernel.LogEntry(p, p.TenantID, "token", r.ID, "read", "Token detokenized", kernel.Now()), r))
		v.Metrics().TokensRead(1)
		return expr.Lazy(data, func() (map[string]any, error) { return tokenObject(r, data) }), nil
	})
}

// tokenObject is the token as `{{ token: id }}` binds it: its fields as
// JSON values, with data as the caller may see it.
func tokenObject(r *tokenRecord, data any) (map[string]any, error) {
	m := map[string]any{"id": r.ID, "tenant_id": r.TenantID, "type": r.Type, "data": data,
		"privacy": map[string]any{"classification": r.Privacy.Classification,
			"impact_level": r.Privacy.ImpactLevel, "restriction_policy": r.Privacy.RestrictionPolicy}}
	if len(r.Metadata) > 0 {
		md, err := decodeData(r.Metadata)
		if err != nil {
			return nil, err
		}
		m["metadata"] = md
	}
	if r.Fingerprint != "" {
		m["fingerprint"] = r.Fingerprint
	}
	if len(r.Containers) > 0 {
		cs := make([]any, len(r.Containers))
		for i, c := range r.Containers {
			cs[i] = c
		}
		m["containers"] = cs
	}
	if r.CreatedAt != nil {
		m["created_at"] = r.CreatedAt.Format(apitime.Layout)
	}
	return m, nil
}

// Detokenize evaluates every expression in a JSON body (POST
// /detokenize). Only the strings holding expressions change; everything
// else comes back byte for byte.
func (v *Vault) Detokenize(ctx context.Context, p *access.Principal, body []byte) ([]byte, error) {
	if err := requireAnyRead(p); err != nil {
		return nil, err
	}
	out, err := traffic.DetokenizeBody(ctx, "application/json", body, expr.Options{MaxTokens: 100}, v.Resolver(p, ""))
	return out, ExprProblem(err)
}

// ExprProblem maps expression-engine errors onto API problems.
func ExprProblem(err error) error {
	if err == nil {
		return nil
	}
	var nf *expr.NotFoundError
	var tm *expr.TooManyTokensError
	var ee *expr.ExprError
	switch {
	case errors.As(err, &nf):
		return problem.BadRequest(nf.Error())
	case errors.As(err, &tm):
		return problem.BadRequest(tm.Error())
	case errors.As(err, &ee):
		return problem.BadRequest(ee.Error())
	}
	return err
}

// purgeExpiredTokens deletes tokens whose expires_at has passed. Reads
// already treat them as gone; this reclaims their storage.
func (v *Vault) purgeExpiredTokens() error {
	t := kernel.Now()
	var ts [8]byte
	binary.BigEndian.PutUint64(ts[:], uint64(t.UnixNano()))
	// Keys of tokens expiring at exactly t sort just below limit.
	limit := append(append(store.Prefix(kernel.ExpiryIndex), hex.EncodeToString(ts[:])...), 1)
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
		err := kernel.GetJSON(v.Store(), tokenRecordKey(tenantID, id), "Token", &r)
		switch {
		case err == nil && r.expired(t):
			b := v.Store().NewBatch()
			unindexToken(b, &r)
			err = v.Commit(b, withToken(kernel.LogEntry(nil, tenantID, "token", id, "delete", "Expired token deleted", t), &r))
			v.tokens.invalidate(cacheKey(tenantID, id))
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
