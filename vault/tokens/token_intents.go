package tokens

import (
	"encoding/json"
	"errors"
	"time"

	"github.com/strongroom/strongroom/vault/access"
	"github.com/strongroom/strongroom/vault/crypto"
	"github.com/strongroom/strongroom/vault/internal/kernel"
	"github.com/strongroom/strongroom/vault/problem"
	"github.com/strongroom/strongroom/vault/store"
	"github.com/strongroom/strongroom/vault/token"
)

// Token intents: short-lived pre-tokens (24 h) that hold validated data
// sealed like token data and are converted into a token by POST /tokens or
// /tokenize with `token_intent_id`, which consumes them. Their data is
// never returned.

// TokenIntentLifetime is how long an unconverted intent lives.
const TokenIntentLifetime = 24 * time.Hour

// TokenIntent is an intent as the API returns it (node-sdk TokenIntent).
type TokenIntent struct {
	ID          string       `json:"id"`
	TenantID    string       `json:"tenant_id"`
	Type        string       `json:"type"`
	Fingerprint string       `json:"fingerprint,omitempty"`
	Card        *CardSummary `json:"card,omitempty"`
	ExpiresAt   kernel.Time  `json:"expires_at"`
	kernel.Audited
}

// CardSummary is what a card intent shows of its card.
type CardSummary struct {
	Bin             string `json:"bin,omitempty"`
	Last4           string `json:"last4,omitempty"`
	ExpirationMonth int    `json:"expiration_month,omitempty"`
	ExpirationYear  int    `json:"expiration_year,omitempty"`
	Brand           string `json:"brand,omitempty"`
}

type tokenIntentRecord struct {
	TokenIntent
	Data crypto.Envelope `json:"data"`
}

// TokenIntentRequest is the body of POST /token-intents.
type TokenIntentRequest struct {
	Type *string         `json:"type"`
	Data json.RawMessage `json:"data"`
}

func tokenIntentAAD(tenantID, id string) []byte { return store.Key("token-intent", tenantID, id) }

// intentLock names an intent in the token lock space, so converting it and
// creating the token hold one set of locks (taken in one order).
func intentLock(id string) string { return "intent\x00" + id }

// CreateTokenIntent validates and seals data as a token of its type would.
func (v *Service) CreateTokenIntent(p *access.Principal, req TokenIntentRequest) (*TokenIntent, error) {
	if err := kernel.Require(p, "token-intent:create"); err != nil {
		return nil, err
	}
	f := problem.Fields{}
	typeName := kernel.Deref(req.Type)
	if _, known := token.Lookup(typeName); !known {
		if typeName == "" {
			f.Add("type", "The type field is required.")
		} else {
			f.Add("type", "'"+typeName+"' is not a valid token type.")
		}
	}
	if len(req.Data) == 0 || string(req.Data) == "null" {
		f.Add("data", "The data field is required.")
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	data, err := kernel.DecodeData(req.Data)
	if err != nil {
		return nil, problem.Invalid("data", "The data field is not valid JSON.")
	}
	normalized, ferrs := token.ValidateData(typeName, data)
	f.Merge("", ferrs)
	if err := f.Err(); err != nil {
		return nil, err
	}
	plain, err := json.Marshal(normalized)
	if typeName == token.TypeToken {
		plain = req.Data
	}
	if err != nil {
		return nil, err
	}
	secrets, err := v.secrets(p.TenantID)
	if err != nil {
		return nil, err
	}
	ts := kernel.Now()
	it := TokenIntent{ID: kernel.NewID(), TenantID: p.TenantID, Type: typeName, ExpiresAt: kernel.Time{Time: ts.Add(TokenIntentLifetime)}}
	it.Created(p, ts)
	if fp, ok := token.DefaultFingerprintValue(typeName, normalized); ok {
		it.Fingerprint = token.Fingerprint(secrets.fingerprint, typeName, fp)
	}
	if c, ok := normalized.(map[string]any); ok && typeName == token.TypeCard {
		number, _ := c["number"].(string)
		month, _ := c["expiration_month"].(int)
		year, _ := c["expiration_year"].(int)
		it.Card = &CardSummary{Bin: token.BIN(number), Last4: token.Last4(number),
			ExpirationMonth: month, ExpirationYear: year, Brand: token.Brand(number)}
	}
	rec := tokenIntentRecord{TokenIntent: it,
		Data: secrets.data.SealEnvelope(plain, tokenIntentAAD(it.TenantID, it.ID))}
	b := v.Store().NewBatch()
	kernel.SetJSON(b, kernel.TokenIntentKey(it.TenantID, it.ID), &rec)
	if err := v.Commit(b, tokenIntentCreated(kernel.LogEntry(p, it.TenantID, "token_intent", it.ID, "create", "Token intent created", ts), &it)); err != nil {
		return nil, err
	}
	return &it, nil
}

func (v *Service) tokenIntent(tenantID, id string) (*tokenIntentRecord, error) {
	var rec tokenIntentRecord
	if err := kernel.GetJSON(v.Store(), kernel.TokenIntentKey(tenantID, id), "Token intent", &rec); err != nil {
		return nil, err
	}
	if !rec.ExpiresAt.After(kernel.Now()) {
		return nil, problem.NotFound("Token intent")
	}
	return &rec, nil
}

// GetTokenIntent returns an intent, never its data.
func (v *Service) GetTokenIntent(p *access.Principal, id string) (*TokenIntent, error) {
	if err := kernel.Require(p, "token-intent:read"); err != nil {
		return nil, err
	}
	rec, err := v.tokenIntent(p.TenantID, id)
	if err != nil {
		return nil, err
	}
	return &rec.TokenIntent, nil
}

// DeleteTokenIntent deletes an intent.
func (v *Service) DeleteTokenIntent(p *access.Principal, id string) error {
	if err := kernel.Require(p, "token-intent:delete"); err != nil {
		return err
	}
	defer v.Locks.Lock("token", p.TenantID, intentLock(id))()
	if _, err := v.tokenIntent(p.TenantID, id); err != nil {
		return err
	}
	ts := kernel.Now()
	b := v.Store().NewBatch()
	b.Delete(kernel.TokenIntentKey(p.TenantID, id))
	return v.Commit(b, tokenIntentDeleted(kernel.LogEntry(p, p.TenantID, "token_intent", id, "delete", "Token intent deleted", ts), id))
}

// fromIntent fills a token request naming token_intent_id with the intent's
// type and data (a card without its cvc, which is never kept on a token).
// It returns the intent's id so the write consumes it.
func (v *Service) fromIntent(p *access.Principal, req *TokenRequest, prefix string) (string, error) {
	if req.TokenIntentID == nil {
		return "", nil
	}
	id := *req.TokenIntentID
	if req.Type != nil || len(req.Data) > 0 {
		return "", problem.Invalid(prefix+"token_intent_id", "Send either type and data, or token_intent_id.")
	}
	if id == "" {
		return "", problem.Invalid(prefix+"token_intent_id", "The token_intent_id must not be empty.")
	}
	rec, err := v.tokenIntent(p.TenantID, id)
	if problem.Is(err, 404) {
		return "", problem.Invalid(prefix+"token_intent_id", "The token intent does not exist or has expired.")
	}
	if err != nil {
		return "", err
	}
	k, err := v.TenantKey(p.TenantID)
	if err != nil {
		return "", err
	}
	plain, err := k.OpenEnvelope(rec.Data, tokenIntentAAD(rec.TenantID, rec.ID))
	if err != nil {
		return "", err
	}
	if rec.Type == token.TypeCard {
		var card map[string]json.RawMessage
		if err := json.Unmarshal(plain, &card); err != nil {
			return "", err
		}
		delete(card, "cvc")
		if plain, err = json.Marshal(card); err != nil {
			return "", err
		}
	}
	typ := rec.Type
	req.Type, req.Data = &typ, plain
	return id, nil
}

// consumeIntent deletes a converted intent in the token's batch; the caller
// holds the intent's lock, so an intent converts into one token only.
func (v *Service) consumeIntent(b store.Batch, tenantID, id, prefix string) error {
	if id == "" {
		return nil
	}
	_, err := v.Store().Get(kernel.TokenIntentKey(tenantID, id))
	if errors.Is(err, store.ErrNotFound) {
		return problem.Invalid(prefix+"token_intent_id", "The token intent does not exist or has expired.")
	}
	if err != nil {
		return err
	}
	b.Delete(kernel.TokenIntentKey(tenantID, id))
	return nil
}

// PurgeExpiredTokenIntents deletes intents past their lifetime.
func (v *Service) PurgeExpiredTokenIntents() error {
	return kernel.PurgeExpired(v.Store(), kernel.TokenIntentCollection)
}
