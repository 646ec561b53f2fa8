package tenants

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mr-tron/base58"

	"github.com/strongroom/strongroom/vault/access"
	"github.com/strongroom/strongroom/vault/crypto"
	"github.com/strongroom/strongroom/vault/internal/kernel"
	"github.com/strongroom/strongroom/vault/problem"
	"github.com/strongroom/strongroom/vault/store"
)

// Sessions (wire contract §4.1): a public application creates a session
// and gets a short-lived session key and a one-time nonce; a private
// application authorizes the nonce with permissions or access rules, which
// it must hold itself. Until then the session key can do nothing; after,
// exactly what was granted, until the session expires.

const (
	// SessionLifetime is a session's life unless authorize sets expires_at.
	SessionLifetime = 3 * time.Minute
	// maxSessionLifetime bounds expires_at on authorize.
	maxSessionLifetime = 24 * time.Hour

	// SessionAppType is the application type a session key acts as.
	SessionAppType = "session"
)

type sessionRecord struct {
	ID            string        `json:"id"`
	TenantID      string        `json:"tenant_id"`
	ApplicationID string        `json:"application_id"` // the public application that created it
	KeyHash       string        `json:"key_hash"`
	Nonce         string        `json:"nonce"`
	ExpiresAt     kernel.Time   `json:"expires_at"`
	Authorized    bool          `json:"authorized"`
	Permissions   []string      `json:"permissions,omitempty"`
	Rules         []access.Rule `json:"rules,omitempty"`
	AuthorizedBy  string        `json:"authorized_by,omitempty"`
	kernel.Audited
}

type sessionRef struct {
	TenantID string `json:"tenant_id"`
	ID       string `json:"id"`
}

func (s *sessionRecord) Expired(t time.Time) bool { return !s.ExpiresAt.After(t) }

// CreateSessionResponse is the answer of POST /sessions.
type CreateSessionResponse struct {
	SessionKey string      `json:"session_key"`
	Nonce      string      `json:"nonce"`
	ExpiresAt  kernel.Time `json:"expires_at"`
}

// AuthorizeSessionRequest is the body of POST /sessions/authorize.
type AuthorizeSessionRequest struct {
	Nonce       *string       `json:"nonce"`
	Permissions []string      `json:"permissions"`
	Rules       []access.Rule `json:"rules"`
	ExpiresAt   *kernel.Time  `json:"expires_at"`
}

func isPublicType(t string) bool  { return t == access.TypePublic || t == access.TypeElements }
func isPrivateType(t string) bool { return t == access.TypePrivate || t == access.TypeServerToServer }

func randomCode(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base58.Encode(b)
}

// CreateSession starts a session for a public application.
func (v *Service) CreateSession(p *access.Principal) (*CreateSessionResponse, error) {
	if !isPublicType(p.AppType) {
		return nil, problem.Forbidden("Sessions are created with the key of a public application.")
	}
	ts := kernel.Now()
	secret := "key_sess_" + randomCode(24)
	s := &sessionRecord{ID: kernel.NewID(), TenantID: p.TenantID, ApplicationID: p.ApplicationID,
		KeyHash: crypto.HashAPIKey(secret), Nonce: randomCode(16), ExpiresAt: kernel.Time{Time: ts.Add(SessionLifetime)}}
	s.Created(p, ts)
	b := v.Store().NewBatch()
	kernel.SetJSON(b, store.Key(kernel.SessionCollection, s.TenantID, s.ID), s)
	kernel.SetJSON(b, store.Key(kernel.SessionKeyIndex, s.KeyHash), sessionRef{TenantID: s.TenantID, ID: s.ID})
	b.Set(store.Key(kernel.SessionNonceIndex, s.TenantID, s.Nonce), []byte(s.ID))
	if err := v.Commit(b, v.sessionChanged(kernel.LogEntry(p, s.TenantID, "session", s.ID, "create", "Session created", ts), s)); err != nil {
		return nil, err
	}
	return &CreateSessionResponse{SessionKey: secret, Nonce: s.Nonce, ExpiresAt: s.ExpiresAt}, nil
}

// AuthorizeSession grants the session of req.Nonce what req lists. The
// caller must be a private application holding every grant itself; the
// nonce works once.
func (v *Service) AuthorizeSession(p *access.Principal, req AuthorizeSessionRequest) error {
	if !isPrivateType(p.AppType) {
		return problem.Forbidden("Sessions are authorized with the key of a private application.")
	}
	nonce := kernel.Deref(req.Nonce)
	if nonce == "" || strings.ContainsRune(nonce, 0) {
		return problem.Invalid("nonce", "The nonce field is required.")
	}
	if err := validateSessionGrants(&req); err != nil {
		return err
	}
	if err := sessionGrantsHeld(p, &req); err != nil {
		return err
	}
	nk := store.Key(kernel.SessionNonceIndex, p.TenantID, nonce)
	defer v.Locks.Lock(string(nk))()
	invalid := problem.Invalid("nonce", "The nonce is unknown, expired or already used.")
	id, err := v.Store().Get(nk)
	if errors.Is(err, store.ErrNotFound) {
		return invalid
	}
	if err != nil {
		return err
	}
	var s sessionRecord
	if err := kernel.GetJSON(v.Store(), store.Key(kernel.SessionCollection, p.TenantID, string(id)), "Session", &s); err != nil {
		if problem.Is(err, 404) {
			return invalid
		}
		return err
	}
	ts := kernel.Now()
	if s.Expired(ts) || s.Authorized {
		return invalid
	}
	if req.ExpiresAt != nil {
		if !req.ExpiresAt.After(ts) || req.ExpiresAt.Sub(s.CreatedAt.Time) > maxSessionLifetime {
			return problem.Invalid("expires_at", "Must be in the future and within a day of the session's creation.")
		}
		s.ExpiresAt = *req.ExpiresAt
	}
	s.Authorized, s.Permissions, s.Rules, s.AuthorizedBy = true, req.Permissions, nonNilRules(req.Rules), p.ApplicationID
	s.Modified(p, ts)
	b := v.Store().NewBatch()
	b.Expect(nk, id) // the nonce is used once, on whichever node takes it first
	kernel.SetJSON(b, store.Key(kernel.SessionCollection, s.TenantID, s.ID), &s)
	b.Delete(nk)
	if err := v.Commit(b, v.sessionChanged(kernel.LogEntry(p, s.TenantID, "session", s.ID, "update", "Session authorized", ts), &s)); errors.Is(err, store.ErrConflict) {
		return invalid
	} else if err != nil {
		return err
	}
	v.AuthCache.Clear()
	return nil
}

// validateSessionGrants checks permissions and rules as those of a private
// application, except that rules may carry conditions (and then need no
// container), as sessions' rules do.
func validateSessionGrants(req *AuthorizeSessionRequest) error {
	f := problem.Fields{}
	if len(req.Permissions) == 0 && len(req.Rules) == 0 {
		f.Add("permissions", "Either permissions or rules is required to be non-empty.")
	}
	for i, perm := range req.Permissions {
		if !access.GrantableTo(perm, access.TypePrivate) {
			f.Add(fmt.Sprintf("permissions[%d]", i), fmt.Sprintf("'%s' is not a valid permission for a session.", perm))
		}
	}
	for i := range req.Rules {
		r := &req.Rules[i]
		prefix := fmt.Sprintf("rules[%d].", i)
		conds := r.Conditions
		r.Conditions = nil
		if len(conds) > 0 && r.Container == "" {
			r.Container = "/"
		}
		validateRule(f, prefix, r, access.TypePrivate)
		for j, c := range conds {
			cp := fmt.Sprintf("%sconditions[%d].", prefix, j)
			if c.Attribute != "id" && c.Attribute != "container" {
				f.Add(cp+"attribute", "Must be id or container.")
			}
			if c.Operator != "starts_with" && c.Operator != "equals" {
				f.Add(cp+"operator", "Must be starts_with or equals.")
			}
		}
		r.Conditions = conds
	}
	return f.Err()
}

// sessionGrantsHeld refuses grants the authorizing application does not
// hold itself: a session never escalates its authorizer.
func sessionGrantsHeld(p *access.Principal, req *AuthorizeSessionRequest) error {
	pr := problem.Forbidden("A session can only be granted what the authorizing application holds.")
	for i, perm := range req.Permissions {
		if !p.Covers(perm) {
			pr.Errors[fmt.Sprintf("permissions[%d]", i)] = []string{fmt.Sprintf("The application does not hold '%s'.", perm)}
		}
	}
	for i, r := range req.Rules {
		if !p.CoversRule(r) {
			pr.Errors[fmt.Sprintf("rules[%d]", i)] = []string{"The application does not hold this rule's permissions with this transform on its container."}
		}
	}
	if len(pr.Errors) > 0 {
		return pr
	}
	return nil
}

// authenticateSession resolves a session key (called by Authenticate when
// the key is no application key). An unauthorized session acts with no
// grant at all, so every protected call is a 403.
func (v *Service) authenticateSession(hash string, gen uint64) (*access.Principal, error) {
	invalid := problem.Unauthorized("The API key is invalid.")
	var ref sessionRef
	if err := kernel.GetJSON(v.Store(), store.Key(kernel.SessionKeyIndex, hash), "Session", &ref); err != nil {
		if problem.Is(err, 404) {
			return nil, invalid
		}
		return nil, err
	}
	var s sessionRecord
	if err := kernel.GetJSON(v.Store(), store.Key(kernel.SessionCollection, ref.TenantID, ref.ID), "Session", &s); err != nil {
		if problem.Is(err, 404) {
			return nil, invalid
		}
		return nil, err
	}
	if s.Expired(kernel.Now()) {
		return nil, invalid
	}
	if _, err := v.Application(s.TenantID, s.ApplicationID); err != nil {
		if problem.Is(err, 404) {
			return nil, invalid
		}
		return nil, err
	}
	pr := access.NewPrincipal(s.TenantID, s.ApplicationID, SessionAppType, s.ID, s.Permissions, s.Rules)
	v.AuthCache.StoreIf(hash, authEntry{principal: pr, expiresAt: s.ExpiresAt.Time}, gen)
	return pr, nil
}

// PurgeExpiredSessions deletes expired sessions with their indexes.
func (v *Service) PurgeExpiredSessions() error {
	return kernel.PurgeCollection(v.Store(), kernel.SessionCollection, func(b store.Batch, k, val []byte, t time.Time) {
		var s sessionRecord
		if json.Unmarshal(val, &s) != nil || !s.Expired(t) {
			return
		}
		b.Delete(k)
		b.Delete(store.Key(kernel.SessionKeyIndex, s.KeyHash))
		b.Delete(store.Key(kernel.SessionNonceIndex, s.TenantID, s.Nonce))
	})
}
