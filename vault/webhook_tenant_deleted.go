package vault

import (
	"encoding/json"
	"slices"

	"github.com/strongroom/strongroom/vault/internal/kernel"

	"github.com/google/uuid"

	"github.com/strongroom/strongroom/vault/access"
	"github.com/strongroom/strongroom/vault/apitime"
	"github.com/strongroom/strongroom/vault/store"
)

// tenant.deleted outlives what it announces: the tenant's webhooks are
// deleted with it, so the deletion's batch queues each subscribed
// webhook's delivery as a final delivery, outside the tenant's
// collections, carrying a snapshot of its endpoint (the URL; every
// delivery is signed with the vault's own key). The dispatcher sends it
// like any other, retrying as configured, and the purge drops it after
// deliveryRetention.

// finalDeliveryKey is the store key of a deleted tenant's delivery.
func finalDeliveryKey(tenantID, webhookID, id string) []byte {
	return store.Key(kernel.FinalDeliveryCollection, tenantID, webhookID, id)
}

// queueTenantDeleted adds to b the tenant.deleted deliveries of the
// tenant's subscribed webhooks; it reports whether it queued any.
func (v *Vault) queueTenantDeleted(b store.Batch, p *access.Principal, tenantID string) (bool, error) {
	hooks, err := v.TenantWebhooks(tenantID)
	if err != nil {
		return false, err
	}
	var body json.RawMessage
	var eventID string
	queued := false
	for _, w := range hooks {
		if w.Status != "enabled" || !slices.Contains(w.Events, "tenant.deleted") {
			continue
		}
		ts := kernel.Now()
		if body == nil {
			e := kernel.LogEntry(p, tenantID, "tenant", tenantID, "delete", "", ts)
			eventID = uuid.NewString()
			body, _ = json.Marshal(kernel.Event{ID: eventID, Type: "tenant.deleted", Timestamp: apitime.New(ts), TenantID: tenantID,
				TraceID: uuid.NewString(), Data: map[string]any{"tenant": kernel.IDOnly{ID: tenantID},
					"actor": kernel.EventActor{ID: e.ActorID, Type: e.ActorType}}})
		}
		d := &Delivery{ID: kernel.NewID(), WebhookID: w.ID, TenantID: tenantID, EventID: eventID, EventType: "tenant.deleted",
			Status: "pending", Attempts: []Attempt{}, NextAttemptAt: kernel.TimePtr(ts), CreatedAt: kernel.TimePtr(ts), Event: body,
			Endpoint: w.URL}
		kernel.SetJSON(b, finalDeliveryKey(tenantID, w.ID, d.ID), d)
		b.Set(kernel.QueueKey(ts, d), nil)
		queued = true
	}
	return queued, nil
}
