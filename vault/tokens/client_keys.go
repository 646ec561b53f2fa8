package tokens

import (
	"crypto/rand"
	"encoding/json"
	"encoding/pem"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwe"
	"github.com/lestrrat-go/jwx/v2/x25519"

	"github.com/strongroom/strongroom/vault/access"
	"github.com/strongroom/strongroom/vault/crypto"
	"github.com/strongroom/strongroom/vault/internal/kernel"
	"github.com/strongroom/strongroom/vault/problem"
	"github.com/strongroom/strongroom/vault/store"
)

// Client-side encryption keys (hosted docs: client-keys): the vault makes
// an X25519 pair, hands out the public half once, and keeps the private
// half sealed like token data. Browsers encrypt token data to it as a
// compact JWE (ECDH-ES, A256GCM), so the plaintext crosses the client's
// own backend only as ciphertext and is opened inside the vault.

// Default and maximum lifetime of a client encryption key.
const (
	clientKeyDefaultTTL = 30 * 24 * time.Hour
	clientKeyMaxTTL     = 366 * 24 * time.Hour
)

// ClientKey is a client encryption key. PublicKeyPEM is set only in the
// answer to its creation.
type ClientKey struct {
	KeyID        string       `json:"key_id"`
	PublicKeyPEM string       `json:"public_key_pem,omitempty"`
	ExpiresAt    *kernel.Time `json:"expires_at"`
}

// ClientKeyRequest is the body of POST /keys.
type ClientKeyRequest struct {
	ExpiresAt *string `json:"expires_at"`
}

type clientKeyRecord struct {
	ID        string          `json:"id"`
	TenantID  string          `json:"tenant_id"`
	ExpiresAt *kernel.Time    `json:"expires_at"`
	Private   crypto.Envelope `json:"private"` // the X25519 seed, sealed
	kernel.Audited
}

func clientKeyRecordKey(tenantID, id string) []byte {
	return store.Key(kernel.ClientKeyCollection, tenantID, id)
}

func (r *clientKeyRecord) public() ClientKey { return ClientKey{KeyID: r.ID, ExpiresAt: r.ExpiresAt} }

// CreateClientKey generates a key pair and returns the public key, once.
func (v *Service) CreateClientKey(p *access.Principal, req ClientKeyRequest) (*ClientKey, error) {
	if err := kernel.Require(p, "keys:create"); err != nil {
		return nil, err
	}
	ts := kernel.Now()
	exp := ts.Add(clientKeyDefaultTTL)
	if req.ExpiresAt != nil {
		t, err := time.Parse(time.RFC3339Nano, *req.ExpiresAt)
		switch {
		case err != nil:
			return nil, problem.Invalid("expires_at", "Must be an ISO 8601 date-time with a time zone.")
		case !t.After(ts):
			return nil, problem.Invalid("expires_at", "Must be in the future.")
		case t.Sub(ts) > clientKeyMaxTTL:
			return nil, problem.Invalid("expires_at", "Must be at most one year from now.")
		}
		exp = t.UTC()
	}
	pub, priv, err := x25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	k, err := v.TenantKey(p.TenantID)
	if err != nil {
		return nil, err
	}
	rec := &clientKeyRecord{ID: kernel.NewID(), TenantID: p.TenantID, ExpiresAt: kernel.TimePtr(exp)}
	rec.Created(p, ts)
	seed := priv.Seed()
	rec.Private = k.SealEnvelope(seed, clientKeyRecordKey(p.TenantID, rec.ID))
	clear(seed)
	b := v.Store().NewBatch()
	kernel.SetJSON(b, clientKeyRecordKey(p.TenantID, rec.ID), rec)
	if err := v.Commit(b, kernel.LogEntry(p, p.TenantID, "key", rec.ID, "create", "Client encryption key created", ts)); err != nil {
		return nil, err
	}
	out := rec.public()
	out.PublicKeyPEM = string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}))
	return &out, nil
}

func (v *Service) loadClientKey(tenantID, id string) (*clientKeyRecord, error) {
	return kernel.Load[clientKeyRecord](v.Store(), clientKeyRecordKey(tenantID, id), "Key")
}

// GetClientKey returns a key's id and expiry (never the key itself).
func (v *Service) GetClientKey(p *access.Principal, id string) (*ClientKey, error) {
	if err := kernel.Require(p, "keys:read"); err != nil {
		return nil, err
	}
	rec, err := v.loadClientKey(p.TenantID, id)
	if err != nil {
		return nil, err
	}
	out := rec.public()
	return &out, nil
}

// ListClientKeys lists the tenant's keys (a bare array, as node-sdk reads).
func (v *Service) ListClientKeys(p *access.Principal) ([]ClientKey, error) {
	if err := kernel.Require(p, "keys:read"); err != nil {
		return nil, err
	}
	recs, err := kernel.LoadAll[clientKeyRecord](v.Store(), store.Prefix(kernel.ClientKeyCollection, p.TenantID), nil)
	out := make([]ClientKey, len(recs))
	for i, rec := range recs {
		out[i] = rec.public()
	}
	return out, err
}

// DeleteClientKey deletes a key: payloads encrypted to it are refused
// from then on.
func (v *Service) DeleteClientKey(p *access.Principal, id string) error {
	if err := kernel.Require(p, "keys:delete"); err != nil {
		return err
	}
	if _, err := v.loadClientKey(p.TenantID, id); err != nil {
		return err
	}
	b := v.Store().NewBatch()
	b.Delete(clientKeyRecordKey(p.TenantID, id))
	return v.Commit(b, kernel.LogEntry(p, p.TenantID, "key", id, "delete", "Client encryption key deleted", kernel.Now()))
}

// maxEncryptedLen bounds a JWE before it is parsed.
const maxEncryptedLen = 1 << 20

// DecryptPayload opens a compact JWE encrypted to one of the tenant's
// client keys and returns the plaintext JSON. Every failure is the same
// 400 naming field: it never says which check failed beyond what the
// client sent, and never echoes any of it.
func (v *Service) DecryptPayload(tenantID, field, compact string) (json.RawMessage, error) {
	bad := func(msg string) error { return problem.Invalid(field, msg) }
	if len(compact) > maxEncryptedLen || strings.Count(compact, ".") != 4 {
		return nil, bad("Must be a compact JWE (five base64url parts).")
	}
	msg, err := jwe.Parse([]byte(compact))
	if err != nil {
		return nil, bad("Must be a compact JWE (five base64url parts).")
	}
	h := msg.ProtectedHeaders()
	if h.Algorithm() != jwa.ECDH_ES || h.ContentEncryption() != jwa.A256GCM {
		return nil, bad("The JWE must use alg ECDH-ES and enc A256GCM.")
	}
	if h.Compression() != jwa.NoCompress {
		// Token data is small; a compressed payload could inflate far past
		// the request limit.
		return nil, bad("The JWE must not be compressed (zip).")
	}
	kid := h.KeyID()
	if kid == "" || len(kid) > 64 || strings.ContainsRune(kid, 0) {
		return nil, bad("The JWE header must name a client encryption key (kid).")
	}
	rec, err := v.loadClientKey(tenantID, kid)
	if problem.Is(err, 404) {
		return nil, bad("The JWE's key (kid) is not a client encryption key of this tenant.")
	}
	if err != nil {
		return nil, err
	}
	if rec.ExpiresAt != nil && !kernel.Now().Before(rec.ExpiresAt.Time) {
		return nil, bad("The JWE's client encryption key has expired.")
	}
	k, err := v.TenantKey(tenantID)
	if err != nil {
		return nil, err
	}
	seed, err := k.OpenEnvelope(rec.Private, clientKeyRecordKey(tenantID, rec.ID))
	if err != nil {
		return nil, err
	}
	priv, err := x25519.NewKeyFromSeed(seed)
	clear(seed)
	if err != nil {
		return nil, err
	}
	plain, err := jwe.Decrypt([]byte(compact), jwe.WithKey(jwa.ECDH_ES, priv))
	clear(priv)
	if err != nil {
		return nil, bad("The JWE could not be decrypted with its key (tampered, or encrypted to another key).")
	}
	if !json.Valid(plain) {
		clear(plain)
		return nil, bad("The decrypted payload is not JSON.")
	}
	return plain, nil
}

// openEncrypted replaces an encrypted token request's ciphertext with its
// data (in memory only), so the rest of the create path sees plain data.
func (v *Service) openEncrypted(tenantID string, req *TokenRequest, prefix string) error {
	if req.Encrypted == nil {
		return nil
	}
	if len(req.Data) > 0 && string(req.Data) != "null" {
		return problem.Invalid(prefix+"encrypted", "Give data or encrypted, not both.")
	}
	plain, err := v.DecryptPayload(tenantID, prefix+"encrypted", *req.Encrypted)
	if err != nil {
		return err
	}
	req.Data, req.Encrypted = plain, nil
	return nil
}
