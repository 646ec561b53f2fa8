package kernel

import (
	"encoding/json"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/strongroom/strongroom/vault/apitime"
	"github.com/strongroom/strongroom/vault/audit"
	"github.com/strongroom/strongroom/vault/store"
	"github.com/strongroom/strongroom/vault/webhook"
)

// The webhook outbox every write emits into: the write that causes an
// event tags its audit entry (WithEvent), and Commit turns the tag into
// deliveries in the same batch for every webhook subscribed to it. The
// webhooks domain manages the subscriptions and dispatches the queue.

// Outbox is the vault's webhook machinery (one per open vault): the
// subscriptions cache, the dispatcher's wake-up and the signing key.
type Outbox struct {
	cache sync.Map // tenant id → []Webhook
	mu    sync.Mutex
	gen   atomic.Uint64

	wakeOnce sync.Once
	wake     chan struct{}
	Deliver  sync.Mutex // one dispatcher round at a time (config reloads overlap)

	SignerMu sync.Mutex
	Signer   *webhook.Signer
}

// Wake is the channel Signal wakes the dispatcher on.
func (st *Outbox) Wake() chan struct{} {
	st.wakeOnce.Do(func() { st.wake = make(chan struct{}, 1) })
	return st.wake
}

// Signal wakes the dispatcher: deliveries were queued.
func (st *Outbox) Signal() {
	select {
	case st.Wake() <- struct{}{}:
	default:
	}
}

// InvalidateAll drops every tenant's cached webhooks.
func (st *Outbox) InvalidateAll() {
	st.mu.Lock()
	st.gen.Add(1)
	st.cache.Clear()
	st.mu.Unlock()
}

// TenantWebhooks returns the tenant's webhooks, cached until one changes:
// every write consults it to decide whether it has events to queue.
func (v *View) TenantWebhooks(tenantID string) ([]Webhook, error) {
	st := &v.Outbox
	if c, ok := st.cache.Load(tenantID); ok && v.Fresh() {
		return c.([]Webhook), nil
	}
	gen := st.gen.Load()
	all, err := LoadAll[Webhook](v.store, store.Prefix(WebhookCollection, tenantID), nil)
	if err != nil {
		return nil, err
	}
	st.mu.Lock()
	if st.gen.Load() == gen { // no webhook changed while we read: cache it
		st.cache.Store(tenantID, all)
	}
	st.mu.Unlock()
	return all, nil
}

// Invalidate drops the tenant's cached webhooks after a change.
func (st *Outbox) Invalidate(tenantID string) {
	st.mu.Lock()
	st.gen.Add(1)
	st.cache.Delete(tenantID)
	st.mu.Unlock()
}

// Webhook is a tenant's subscription to events (hosted docs: webhooks/api).
type Webhook struct {
	ID          string   `json:"id"`
	TenantID    string   `json:"tenant_id"`
	Status      string   `json:"status"`
	Name        string   `json:"name"`
	URL         string   `json:"url"`
	NotifyEmail string   `json:"notify_email,omitempty"`
	Events      []string `json:"events"`
	Audited
}

// Delivery is one event on its way to one webhook.
type Delivery struct {
	ID            string          `json:"id"`
	WebhookID     string          `json:"webhook_id"`
	TenantID      string          `json:"tenant_id"`
	EventID       string          `json:"event_id"`
	EventType     string          `json:"event_type"`
	Status        string          `json:"status"` // pending, delivered, failed
	Attempts      []Attempt       `json:"attempts"`
	NextAttemptAt *Time           `json:"next_attempt_at,omitempty"`
	CreatedAt     *Time           `json:"created_at"`
	Event         json.RawMessage `json:"event"`
	// Endpoint is the URL of a deleted tenant's final delivery, whose
	// webhook is gone (webhook_tenant_deleted.go).
	Endpoint string `json:"endpoint,omitempty"`
}

// Attempt is one try at a delivery.
type Attempt struct {
	AttemptedAt *Time  `json:"attempted_at"`
	StatusCode  int    `json:"status_code,omitempty"`
	Error       string `json:"error,omitempty"`
	DurationMS  int64  `json:"duration_ms"`
}

// Event is the body of a delivery (hosted docs: webhooks/eventdata).
type Event struct {
	ID        string         `json:"id"`
	Type      string         `json:"type"`
	Timestamp apitime.Time   `json:"timestamp"`
	TenantID  string         `json:"tenant_id"`
	TraceID   string         `json:"trace_id"`
	Data      map[string]any `json:"data"` // <name>: the object, actor
}

// EventActor is who caused an event.
type EventActor struct {
	ID   string `json:"id,omitempty"`
	Type string `json:"type"`
}

// EventOf is the webhook event an audit entry describes: its type ("" for
// none) and the objects event.data carries, by name.
func EventOf(e audit.Entry) (typ string, objects map[string]any) {
	if s, ok := e.Subject.(*EventSubject); ok {
		return s.typ, s.objects
	}
	if e.EntityType != "token" {
		return "", nil
	}
	var object any = IDOnly{e.EntityID}
	if e.Subject != nil {
		object = e.Subject
	}
	switch e.Operation {
	case "create":
		typ = "token.created"
	case "update":
		typ = "token.updated"
	case "delete":
		typ = "token.deleted"
		if e.ActorType == "system" {
			typ = "token.expired"
		}
	}
	return typ, map[string]any{"token": object}
}

// EventSubject is what an audit entry's event says: its type and the
// objects of event.data, by name.
type EventSubject struct {
	typ     string
	objects map[string]any
	// unlogged: the entry only carries the event (EventOnly).
	unlogged bool
}

// WithEvent tags e with the event typ carrying object as event.data.<name>.
func WithEvent(e audit.Entry, typ, name string, object any) audit.Entry {
	e.Subject = &EventSubject{typ: typ, objects: map[string]any{name: object}}
	return e
}

// WithObjects tags e with the event typ carrying objects as event.data.
func WithObjects(e audit.Entry, typ string, objects map[string]any) audit.Entry {
	e.Subject = &EventSubject{typ: typ, objects: objects}
	return e
}

// IDOnly is an event object that carries only an id.
type IDOnly struct {
	ID string `json:"id"`
}

// EventOnly is an entry that queues the typ event and writes no log line
// (the invocation it follows is logged already).
func EventOnly(e audit.Entry, typ string, objects map[string]any) audit.Entry {
	e.Subject = &EventSubject{typ: typ, objects: objects, unlogged: true}
	return e
}

// QueueKey is the queue entry of a delivery due at due.
func QueueKey(due time.Time, d *Delivery) []byte {
	return store.Key(QueuePrefix, DueStamp(due), d.TenantID, d.WebhookID, d.ID)
}

// DeliveryKey is the store key of a delivery.
func DeliveryKey(tenantID, webhookID, id string) []byte {
	return store.Key(DeliveryCollection, tenantID, webhookID, id)
}

// QueueEvents adds to b a delivery for every webhook subscribed to an event
// the entries describe; it reports whether it queued any.
func (v *View) QueueEvents(b store.Batch, entries []audit.Entry) (bool, error) {
	queued := false
	for _, e := range entries {
		typ, objects := EventOf(e)
		if typ == "" {
			continue
		}
		hooks, err := v.TenantWebhooks(e.TenantID)
		if err != nil {
			return false, err
		}
		var body json.RawMessage
		var eventID string
		for _, w := range hooks {
			if w.Status != "enabled" || !slices.Contains(w.Events, typ) {
				continue
			}
			if body == nil {
				eventID = uuid.NewString()
				ev := Event{ID: eventID, Type: typ, Timestamp: e.CreatedAt, TenantID: e.TenantID, TraceID: uuid.NewString(),
					Data: map[string]any{"actor": EventActor{ID: e.ActorID, Type: e.ActorType}}}
				for name, o := range objects {
					ev.Data[name] = o
				}
				body, _ = json.Marshal(ev)
			}
			ts := Now()
			d := &Delivery{ID: NewID(), WebhookID: w.ID, TenantID: e.TenantID, EventID: eventID, EventType: typ,
				Status: "pending", Attempts: []Attempt{}, NextAttemptAt: TimePtr(ts), CreatedAt: TimePtr(ts), Event: body}
			SetJSON(b, DeliveryKey(d.TenantID, d.WebhookID, d.ID), d)
			b.Set(QueueKey(ts, d), nil)
			queued = true
		}
	}
	return queued, nil
}

// Subscribed reports whether an enabled webhook of the tenant listens to
// typ (from the cache every write consults; a store error means no).
func (v *View) Subscribed(tenantID, typ string) bool {
	hooks, err := v.TenantWebhooks(tenantID)
	if err != nil {
		return false
	}
	for _, w := range hooks {
		if w.Status == "enabled" && slices.Contains(w.Events, typ) {
			return true
		}
	}
	return false
}

// AppendAudit adds e to b unless it only carries an event.
func AppendAudit(b store.Batch, e audit.Entry) {
	if s, ok := e.Subject.(*EventSubject); ok && s.unlogged {
		return
	}
	audit.Append(b, e)
}

// writeReads writes queued read audit entries and the deliveries of their
// events in one buffered batch. A failure to queue the events never costs
// the entries: they are written without them.
func (v *View) writeReads(entries []audit.Entry) {
	b := v.store.NewBatch()
	for _, e := range entries {
		AppendAudit(b, e)
	}
	queued, err := v.QueueEvents(b, entries)
	if err != nil {
		b.Close()
		b = v.store.NewBatch()
		for _, e := range entries {
			AppendAudit(b, e)
		}
		queued = false
	}
	if b.CommitBuffered() == nil && queued {
		v.Outbox.Signal()
	}
	b.Close()
}

// Changed tags a create or update entry with <name>.created or .updated.
func Changed(e audit.Entry, name string, object any) audit.Entry {
	if e.Operation == "create" {
		return WithEvent(e, name+".created", name, object)
	}
	return WithEvent(e, name+".updated", name, object)
}

// Deleted tags a delete entry with <name>.deleted, carrying only the id.
func Deleted(e audit.Entry, name, id string) audit.Entry {
	return WithEvent(e, name+".deleted", name, IDOnly{ID: id})
}
