package tenants

import (
	"encoding/json"
	"time"

	"github.com/strongroom/strongroom/vault/access"
	"github.com/strongroom/strongroom/vault/crypto"
	"github.com/strongroom/strongroom/vault/internal/kernel"
	"github.com/strongroom/strongroom/vault/problem"
	"github.com/strongroom/strongroom/vault/store"
)

// ApplicationKey is one API key of an application (seed 002). Key holds the
// secret only in the response that created it; the store keeps its hash.
type ApplicationKey struct {
	ID       string `json:"id"`
	TenantID string `json:"tenant_id"`
	Key      string `json:"key,omitempty"`
	kernel.Audited
}

// appKey is the stored form of a key.
type appKey struct {
	ID            string `json:"id"`
	TenantID      string `json:"tenant_id"`
	ApplicationID string `json:"application_id"`
	Hash          string `json:"hash"`
	kernel.Audited
}

func (k appKey) public() ApplicationKey {
	return ApplicationKey{ID: k.ID, TenantID: k.TenantID, Audited: k.Audited}
}

func appKeyRecordKey(tenantID, appID, keyID string) []byte {
	return store.Key(kernel.AppKeyCollection, tenantID, appID, keyID)
}

// addKey adds a new key for app to b and returns the secret. When secret is
// non-empty it is used instead of a generated one (a known bootstrap key).
func (v *Service) AddKey(b store.Batch, p *access.Principal, app *Application, ts time.Time, secret string) (string, ApplicationKey) {
	if secret == "" {
		secret = crypto.NewAPIKey()
	}
	k := appKey{ID: kernel.NewID(), TenantID: app.TenantID, ApplicationID: app.ID, Hash: crypto.HashAPIKey(secret)}
	k.Created(p, ts)
	kernel.SetJSON(b, appKeyRecordKey(k.TenantID, k.ApplicationID, k.ID), k)
	// Insert: a known key registered by two nodes at once lands once.
	ref, _ := json.Marshal(KeyRef{TenantID: k.TenantID, ApplicationID: k.ApplicationID, KeyID: k.ID})
	b.Insert(kernel.KeyHashKey(k.Hash), ref)
	pub := k.public()
	pub.Key = secret
	return secret, pub
}

// KeyRef is what the authentication index holds for a key hash.
type KeyRef struct {
	TenantID      string `json:"tenant_id"`
	ApplicationID string `json:"application_id"`
	KeyID         string `json:"key_id"`
}

func (v *Service) appKeys(tenantID, appID string) ([]appKey, error) {
	return kernel.LoadAll[appKey](v.Store(), store.Prefix(kernel.AppKeyCollection, tenantID, appID), nil)
}

func (v *Service) deleteKeys(b store.Batch, tenantID, appID string) error {
	keys, err := v.appKeys(tenantID, appID)
	if err != nil {
		return err
	}
	for _, k := range keys {
		b.Delete(appKeyRecordKey(k.TenantID, k.ApplicationID, k.ID))
		b.Delete(kernel.KeyHashKey(k.Hash))
	}
	return nil
}

// CreateApplicationKey adds a key to an application.
func (v *Service) CreateApplicationKey(p *access.Principal, appID string) (*ApplicationKey, error) {
	if err := kernel.Require(p, "application:create"); err != nil {
		return nil, err
	}
	defer v.Locks.Lock("app", appID)()
	app, err := v.Application(p.TenantID, appID)
	if err != nil {
		return nil, err
	}
	if err := authorizeManage(p, app); err != nil {
		return nil, err
	}
	ts := kernel.Now()
	b := v.Store().NewBatch()
	_, k := v.AddKey(b, p, app, ts, "")
	return &k, v.Commit(b, applicationKeyCreated(kernel.LogEntry(p, app.TenantID, "application", app.ID, "update", "Application key created", ts), app.ID, k))
}

// ListApplicationKeys lists an application's keys (without secrets).
func (v *Service) ListApplicationKeys(p *access.Principal, appID string) ([]ApplicationKey, error) {
	if err := kernel.Require(p, "application:read"); err != nil {
		return nil, err
	}
	if _, err := v.Application(p.TenantID, appID); err != nil {
		return nil, err
	}
	keys, err := v.appKeys(p.TenantID, appID)
	out := make([]ApplicationKey, 0, len(keys))
	for _, k := range keys {
		out = append(out, k.public())
	}
	return out, err
}

// GetApplicationKey returns one key (without its secret).
func (v *Service) GetApplicationKey(p *access.Principal, appID, keyID string) (*ApplicationKey, error) {
	if err := kernel.Require(p, "application:read"); err != nil {
		return nil, err
	}
	if _, err := v.Application(p.TenantID, appID); err != nil {
		return nil, err
	}
	var k appKey
	if err := kernel.GetJSON(v.Store(), appKeyRecordKey(p.TenantID, appID, keyID), "Application Key", &k); err != nil {
		return nil, err
	}
	pub := k.public()
	return &pub, nil
}

// DeleteApplicationKey revokes one key at once; the application's other
// keys keep working.
func (v *Service) DeleteApplicationKey(p *access.Principal, appID, keyID string) error {
	if err := kernel.Require(p, "application:delete"); err != nil {
		return err
	}
	defer v.Locks.Lock("app", appID)()
	app, err := v.Application(p.TenantID, appID)
	if err != nil {
		return err
	}
	if err := authorizeManage(p, app); err != nil {
		return err
	}
	var k appKey
	if err := kernel.GetJSON(v.Store(), appKeyRecordKey(p.TenantID, appID, keyID), "Application Key", &k); err != nil {
		return err
	}
	ts := kernel.Now()
	b := v.Store().NewBatch()
	b.Delete(appKeyRecordKey(k.TenantID, k.ApplicationID, k.ID))
	b.Delete(kernel.KeyHashKey(k.Hash))
	if err := v.Commit(b, applicationKeyDeleted(kernel.LogEntry(p, k.TenantID, "application", appID, "update", "Application key deleted", ts), appID, k.ID)); err != nil {
		return err
	}
	v.AuthCache.Clear()
	return nil
}

// Authenticate resolves an API key to its principal. Unknown, revoked or
// expired keys are a 401 (counted as an auth failure). Hits are served
// from memory; every change to applications or keys invalidates the cache.
func (v *Service) Authenticate(apiKey string) (*access.Principal, error) {
	p, err := v.authenticate(apiKey)
	if problem.Is(err, 401) {
		v.Metrics().AuthFailure()
	}
	return p, err
}

func (v *Service) authenticate(apiKey string) (*access.Principal, error) {
	if apiKey == "" {
		return nil, problem.Unauthorized("The BT-API-KEY header is required.")
	}
	hash := crypto.HashAPIKey(apiKey)
	if e, ok := v.AuthCache.Load(hash); ok && (e.expiresAt.IsZero() || kernel.Now().Before(e.expiresAt)) {
		return e.principal, nil
	}
	gen := v.AuthCache.Generation()
	var ref KeyRef
	if err := kernel.GetJSON(v.Store(), kernel.KeyHashKey(hash), "key", &ref); err != nil {
		if problem.Is(err, 404) {
			return v.authenticateSession(hash, gen) // sessions.go
		}
		return nil, err
	}
	app, err := v.Application(ref.TenantID, ref.ApplicationID)
	if err != nil {
		if problem.Is(err, 404) {
			return nil, problem.Unauthorized("The API key is invalid.")
		}
		return nil, err
	}
	pr := access.NewPrincipal(app.TenantID, app.ID, app.Type, ref.KeyID, app.Permissions, app.Rules)
	e := authEntry{principal: pr}
	if app.ExpiresAt != nil {
		e.expiresAt = app.ExpiresAt.Time
	}
	v.AuthCache.StoreIf(hash, e, gen)
	return pr, nil
}
