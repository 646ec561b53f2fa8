package tenants

import (
	"github.com/strongroom/strongroom/vault/access"
	"github.com/strongroom/strongroom/vault/audit"
	"github.com/strongroom/strongroom/vault/internal/kernel"
)

// The webhook payloads of tenants, applications, their keys and sessions
// (the hosted docs' webhooks/eventdata), built from explicit fields: never
// a key or a session's nonce.

// applicationEvent is an application in application.created and .updated.
type applicationEvent struct {
	ID          string        `json:"id"`
	Type        string        `json:"type"`
	Name        string        `json:"name"`
	Permissions []string      `json:"permissions"`
	Rules       []access.Rule `json:"rules"`
	kernel.Audited
}

// ApplicationChanged tags an application create or update entry.
func ApplicationChanged(e audit.Entry, a *Application) audit.Entry {
	return kernel.Changed(e, "application", &applicationEvent{ID: a.ID, Type: a.Type, Name: a.Name,
		Permissions: nonNil(a.Permissions), Rules: nonNilRules(a.Rules), Audited: a.Audited})
}

func applicationDeleted(e audit.Entry, id string) audit.Entry {
	return kernel.Deleted(e, "application", id)
}

// applicationKeyEvent is a key (never its secret) in application.key.*.
type applicationKeyEvent struct {
	ID            string       `json:"id"`
	ApplicationID string       `json:"application_id"`
	CreatedBy     string       `json:"created_by,omitempty"`
	CreatedAt     *kernel.Time `json:"created_at,omitempty"`
}

func applicationKeyCreated(e audit.Entry, appID string, k ApplicationKey) audit.Entry {
	return kernel.WithEvent(e, "application.key.created", "application_key",
		&applicationKeyEvent{ID: k.ID, ApplicationID: appID, CreatedBy: k.CreatedBy, CreatedAt: k.CreatedAt})
}

func applicationKeyDeleted(e audit.Entry, appID, keyID string) audit.Entry {
	return kernel.WithEvent(e, "application.key.deleted", "application_key", &applicationKeyEvent{ID: keyID, ApplicationID: appID})
}

// sessionEvent is a session in session.created and .authorized: never its
// key, nor the nonce that authorizes it.
type sessionEvent struct {
	ID          string        `json:"id"`
	CreatedBy   string        `json:"created_by,omitempty"`
	CreatedAt   *kernel.Time  `json:"created_at,omitempty"`
	ExpiresAt   kernel.Time   `json:"expires_at"`
	Permissions []string      `json:"permissions,omitempty"`
	Rules       []access.Rule `json:"rules,omitempty"`
	IssuedTo    struct {
		ID   string `json:"id"`
		Name string `json:"name,omitempty"`
	} `json:"issued_to_application"`
}

// sessionChanged tags a session's create (session.created) or authorize
// (session.authorized) entry.
func (v *Service) sessionChanged(e audit.Entry, s *sessionRecord) audit.Entry {
	ev := &sessionEvent{ID: s.ID, CreatedBy: s.CreatedBy, CreatedAt: s.CreatedAt, ExpiresAt: s.ExpiresAt}
	ev.IssuedTo.ID = s.ApplicationID
	if app, err := v.Application(s.TenantID, s.ApplicationID); err == nil {
		ev.IssuedTo.Name = app.Name
	}
	if !s.Authorized {
		return kernel.WithEvent(e, "session.created", "session", ev)
	}
	ev.Permissions, ev.Rules = nonNil(s.Permissions), nonNilRules(s.Rules)
	return kernel.WithEvent(e, "session.authorized", "session", ev)
}

// tenantUpdated tags a tenant's update: its name and audit fields, never
// its settings.
func tenantUpdated(e audit.Entry, t *Tenant) audit.Entry {
	return kernel.WithEvent(e, "tenant.updated", "tenant", &struct {
		ID   string `json:"id"`
		Name string `json:"name"`
		kernel.Audited
	}{t.ID, t.Name, t.Audited})
}
