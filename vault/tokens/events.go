package tokens

import (
	"time"

	"github.com/strongroom/strongroom/vault/access"
	"github.com/strongroom/strongroom/vault/audit"
	"github.com/strongroom/strongroom/vault/internal/kernel"
)

// The webhook payloads of tokens and token intents (the hosted docs'
// webhooks/eventdata): a token's event carries everything but its data.

// eventToken is the token of an event: everything but its data.
func eventToken(r *tokenRecord) *Token {
	return &Token{ID: r.ID, TenantID: r.TenantID, Type: r.Type, Fingerprint: r.Fingerprint,
		FingerprintExpression: r.FingerprintExpression, Containers: r.Containers, Metadata: r.Metadata,
		SearchIndexes: r.SearchIndexes, ExpiresAt: r.ExpiresAt, Audited: r.Audited}
}

// withToken attaches the token an entry is about, for its webhook event.
func withToken(e audit.Entry, r *tokenRecord) audit.Entry {
	e.Subject = eventToken(r)
	return e
}

// idType names a token in token.read: its id and type only.
type idType struct {
	ID   string `json:"id"`
	Type string `json:"type"`
}

// tokenRead tags a token read's audit entry with token.read when the
// tenant listens to it.
func (v *Service) tokenRead(e audit.Entry, r *tokenRecord) audit.Entry {
	if !v.Subscribed(r.TenantID, "token.read") {
		return e
	}
	return kernel.WithEvent(e, "token.read", "token", idType{r.ID, r.Type})
}

// tokenIntentEvent is a token intent in token-intent.created: never its
// data nor its card summary.
type tokenIntentEvent struct {
	ID          string       `json:"id"`
	Type        string       `json:"type"`
	Fingerprint string       `json:"fingerprint,omitempty"`
	CreatedBy   string       `json:"created_by,omitempty"`
	CreatedAt   *kernel.Time `json:"created_at,omitempty"`
	ExpiresAt   kernel.Time  `json:"expires_at"`
}

func tokenIntentCreated(e audit.Entry, it *TokenIntent) audit.Entry {
	return kernel.WithEvent(e, "token-intent.created", "token_intent", &tokenIntentEvent{ID: it.ID, Type: it.Type,
		Fingerprint: it.Fingerprint, CreatedBy: it.CreatedBy, CreatedAt: it.CreatedAt, ExpiresAt: it.ExpiresAt})
}

func tokenIntentDeleted(e audit.Entry, id string) audit.Entry {
	return kernel.WithEvent(e, "token-intent.deleted", "token_intent", kernel.IDOnly{ID: id})
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
