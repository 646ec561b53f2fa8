package vault

import (
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
	return kernel.Changed(e, "proxy", &proxyEvent{ID: p.ID, Name: p.Name, ApplicationID: p.ApplicationID,
		DestinationURL: p.DestinationURL, RequireAuthentication: p.RequireAuth, Audited: p.Audited})
}

func proxyDeleted(e audit.Entry, id string) audit.Entry {
	return kernel.Deleted(e, "proxy", id)
}

// reactorEvent is a reactor in reactor.created and .updated.
type reactorEvent struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Audited
}

func reactorChanged(e audit.Entry, r *reactorRecord) audit.Entry {
	return kernel.Changed(e, "reactor", &reactorEvent{ID: r.ID, Name: r.Name, Audited: r.Audited})
}

func reactorDeleted(e audit.Entry, id string) audit.Entry {
	return kernel.Deleted(e, "reactor", id)
}

// The event types of sessions and token intents.
var sessionEventTypes = []string{"session.created", "session.authorized",
	"token-intent.created", "token-intent.deleted", "token-intent.converted"}
