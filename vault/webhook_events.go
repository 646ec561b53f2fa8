package vault

import (
	"time"

	"github.com/strongroom/strongroom/vault/access"
	"github.com/strongroom/strongroom/vault/audit"
	"github.com/strongroom/strongroom/vault/internal/kernel"
)

// Webhook events other than the token's: the write that causes one tags its
// audit entry with withEvent, and queueEvents turns the tag into deliveries
// in the same batch. The payloads are the hosted docs' (webhooks/eventdata),
// built here and only here, from explicit fields: never a key, a proxy's
// configuration or transforms, nor a reactor's code or configuration.
// The event types of applications, their keys, proxies and reactors.
var entityEventTypes = []string{
	"application.created", "application.updated", "application.deleted",
	"application.key.created", "application.key.deleted",
	"proxy.created", "proxy.updated", "proxy.deleted",
	"reactor.created", "reactor.updated", "reactor.deleted",
	"tenant.updated", "tenant.deleted", "token.property.expired",
}

// changed tags a create or update entry with <name>.created or .updated.
func changed(e audit.Entry, name string, object any) audit.Entry {
	if e.Operation == "create" {
		return kernel.WithEvent(e, name+".created", name, object)
	}
	return kernel.WithEvent(e, name+".updated", name, object)
}

// deleted tags a delete entry with <name>.deleted, carrying only the id.
func deleted(e audit.Entry, name, id string) audit.Entry {
	return kernel.WithEvent(e, name+".deleted", name, kernel.IDOnly{ID: id})
}

// applicationEvent is an application in application.created and .updated.
type applicationEvent struct {
	ID          string        `json:"id"`
	Type        string        `json:"type"`
	Name        string        `json:"name"`
	Permissions []string      `json:"permissions"`
	Rules       []access.Rule `json:"rules"`
	Audited
}

func applicationChanged(e audit.Entry, a *Application) audit.Entry {
	return changed(e, "application", &applicationEvent{ID: a.ID, Type: a.Type, Name: a.Name,
		Permissions: nonNil(a.Permissions), Rules: nonNilRules(a.Rules), Audited: a.Audited})
}

func applicationDeleted(e audit.Entry, id string) audit.Entry {
	return deleted(e, "application", id)
}

// applicationKeyEvent is a key (never its secret) in application.key.*.
type applicationKeyEvent struct {
	ID            string `json:"id"`
	ApplicationID string `json:"application_id"`
	CreatedBy     string `json:"created_by,omitempty"`
	CreatedAt     *Time  `json:"created_at,omitempty"`
}

func applicationKeyCreated(e audit.Entry, appID string, k ApplicationKey) audit.Entry {
	return kernel.WithEvent(e, "application.key.created", "application_key",
		&applicationKeyEvent{ID: k.ID, ApplicationID: appID, CreatedBy: k.CreatedBy, CreatedAt: k.CreatedAt})
}

func applicationKeyDeleted(e audit.Entry, appID, keyID string) audit.Entry {
	return kernel.WithEvent(e, "application.key.deleted", "application_key", &applicationKeyEvent{ID: keyID, ApplicationID: appID})
}

// proxyEvent is a proxy in proxy.created and .updated.
type proxyEvent struct {
	ID                    string `json:"id"`
	Name                  string `json:"name"`
	ApplicationID         string `json:"application_id,omitempty"`
	DestinationURL        string `json:"destination_url"`
	RequireAuthentication bool   `json:"require_authentication"`
	Audited
}

func proxyChanged(e audit.Entry, p *Proxy) audit.Entry {
	return changed(e, "proxy", &proxyEvent{ID: p.ID, Name: p.Name, ApplicationID: p.ApplicationID,
		DestinationURL: p.DestinationURL, RequireAuthentication: p.RequireAuth, Audited: p.Audited})
}

func proxyDeleted(e audit.Entry, id string) audit.Entry {
	return deleted(e, "proxy", id)
}

// reactorEvent is a reactor in reactor.created and .updated.
type reactorEvent struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Audited
}

func reactorChanged(e audit.Entry, r *reactorRecord) audit.Entry {
	return changed(e, "reactor", &reactorEvent{ID: r.ID, Name: r.Name, Audited: r.Audited})
}

func reactorDeleted(e audit.Entry, id string) audit.Entry {
	return deleted(e, "reactor", id)
}

// The event types of sessions and token intents.
var sessionEventTypes = []string{"session.created", "session.authorized",
	"token-intent.created", "token-intent.deleted", "token-intent.converted"}

// sessionEvent is a session in session.created and .authorized: never its
// key, nor the nonce that authorizes it.
type sessionEvent struct {
	ID          string        `json:"id"`
	CreatedBy   string        `json:"created_by,omitempty"`
	CreatedAt   *Time         `json:"created_at,omitempty"`
	ExpiresAt   Time          `json:"expires_at"`
	Permissions []string      `json:"permissions,omitempty"`
	Rules       []access.Rule `json:"rules,omitempty"`
	IssuedTo    struct {
		ID   string `json:"id"`
		Name string `json:"name,omitempty"`
	} `json:"issued_to_application"`
}

// sessionChanged tags a session's create (session.created) or authorize
// (session.authorized) entry.
func (v *Vault) sessionChanged(e audit.Entry, s *sessionRecord) audit.Entry {
	ev := &sessionEvent{ID: s.ID, CreatedBy: s.CreatedBy, CreatedAt: s.CreatedAt, ExpiresAt: s.ExpiresAt}
	ev.IssuedTo.ID = s.ApplicationID
	if app, err := v.application(s.TenantID, s.ApplicationID); err == nil {
		ev.IssuedTo.Name = app.Name
	}
	if !s.Authorized {
		return kernel.WithEvent(e, "session.created", "session", ev)
	}
	ev.Permissions, ev.Rules = nonNil(s.Permissions), nonNilRules(s.Rules)
	return kernel.WithEvent(e, "session.authorized", "session", ev)
}

// tokenIntentEvent is a token intent in token-intent.created: never its
// data nor its card summary.
type tokenIntentEvent struct {
	ID          string `json:"id"`
	Type        string `json:"type"`
	Fingerprint string `json:"fingerprint,omitempty"`
	CreatedBy   string `json:"created_by,omitempty"`
	CreatedAt   *Time  `json:"created_at,omitempty"`
	ExpiresAt   Time   `json:"expires_at"`
}

func tokenIntentCreated(e audit.Entry, it *TokenIntent) audit.Entry {
	return kernel.WithEvent(e, "token-intent.created", "token_intent", &tokenIntentEvent{ID: it.ID, Type: it.Type,
		Fingerprint: it.Fingerprint, CreatedBy: it.CreatedBy, CreatedAt: it.CreatedAt, ExpiresAt: it.ExpiresAt})
}

func tokenIntentDeleted(e audit.Entry, id string) audit.Entry {
	return kernel.WithEvent(e, "token-intent.deleted", "token_intent", kernel.IDOnly{ID: id})
}

// tenantUpdated tags a tenant's update: its name and audit fields, never
// its settings.
func tenantUpdated(e audit.Entry, t *Tenant) audit.Entry {
	return kernel.WithEvent(e, "tenant.updated", "tenant", &struct {
		ID   string `json:"id"`
		Name string `json:"name"`
		Audited
	}{t.ID, t.Name, t.Audited})
}

// tokenIntentConverted is the audit entry (and token-intent.converted
// event) of an intent consumed by the token it became.
func tokenIntentConverted(p *access.Principal, intentID string, tok *tokenRecord, t time.Time) audit.Entry {
	e := kernel.LogEntry(p, tok.TenantID, "token_intent", intentID, "delete", "Token intent converted into token "+tok.ID, t)
	type ref struct {
		ID   string `json:"id"`
		Type string `json:"type"`
	}
	return kernel.WithObjects(e, "token-intent.converted", map[string]any{
		"token_intent": ref{intentID, tok.Type}, "token": ref{tok.ID, tok.Type}})
}
