package kernel

import (
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/strongroom/strongroom/vault/audit"
	"github.com/strongroom/strongroom/vault/egress"
	"github.com/strongroom/strongroom/vault/jwtauth"
	"github.com/strongroom/strongroom/vault/metrics"
	"github.com/strongroom/strongroom/vault/reactor"
	"github.com/strongroom/strongroom/vault/store"
)

// Base is the pooled part of an open vault every domain writes through: the
// store, the entity locks, the read-audit queue and the webhook outbox. It
// outlives config reloads; no config writes into it (each reads it through
// its own View).
type Base struct {
	store store.Store
	// Locks order this node's read-modify-write of one entity.
	Locks Locks
	// Outbox is the webhook subscriptions cache and dispatcher wake-up.
	Outbox Outbox
	// Keys is the master key ring and the tenant key cache (keyring.go).
	Keys Keys

	feed      store.Feed // a shared store's change feed, else nil
	audits    chan audit.Entry
	auditDone chan struct{}
	closed    atomic.Bool
}

// NewBase wraps an open store; Start starts its audit writer.
func NewBase(s store.Store) *Base {
	return &Base{store: s, audits: make(chan audit.Entry, auditQueue), auditDone: make(chan struct{})}
}

// Follow records the shared store's change feed, which Fresh consults.
func (b *Base) Follow(f store.Feed) { b.feed = f }

// Feed is the shared store's change feed (nil on a store of its own).
func (b *Base) Feed() store.Feed { return b.feed }

// FreshnessBound is how long a node keeps serving its caches without
// confirming it has every other node's changes (store.FreshnessBound):
// the writes of other nodes wait for it at most.
const FreshnessBound = store.FreshnessBound

// Fresh reports whether the caches may be served: always on a store of
// its own, within FreshnessBound of the feed's last confirmation on a
// shared one.
func (b *Base) Fresh() bool {
	return b.feed == nil || time.Since(b.feed.FreshAsOf()) <= FreshnessBound
}

// Closed reports whether Close has begun.
func (b *Base) Closed() bool { return b.closed.Load() }

// Close flushes pending audit entries and closes the store.
func (b *Base) Close() error {
	b.closed.Store(true)
	close(b.audits)
	<-b.auditDone
	return b.store.Close()
}

// View is one config's view of a Base: the settings, reactor runtime,
// outbound policy and metrics of that config, and the store its writes go
// to (a background job's is fenced by its lease). Bind makes it; nothing
// changes it after.
type View struct {
	*Base

	store store.Store
	// Fence is the lease tenure of a background job's view (Lease).
	Fence store.Fence

	// Runtime runs reactor code; nil disables reactors.
	Runtime *reactor.Runtime
	// Egress decides which proxy and webhook destinations are accepted.
	Egress egress.Policy
	// MetricSet is what the view counts into (nil: nothing).
	MetricSet *metrics.Set
	// JWT validates project JWTs.
	JWT jwtauth.Validator
	// CVCRetention bounds how long a payment method's cvc is kept;
	// AuditRetention how long a deleted tenant's log is.
	CVCRetention, AuditRetention time.Duration
}

// Bind returns v's settings as a view of b, writing to b's store.
func (b *Base) Bind(v View) *View {
	v.Base, v.store = b, b.store
	return &v
}

// Store is the store this view reads and writes.
func (v *View) Store() store.Store { return v.store }

// Start runs the read-audit writer of v's Base on v (once, at Open).
func (v *View) Start() { go v.runAuditWriter(v.auditDone) }

// holderID names this process as a lease holder.
var holderID = uuid.NewString()

// Lease reports whether this node runs the background job name, and the
// view the job runs on: always on a store of its own, on a shared one
// while it holds the lease (taken on the database's clock, so node clocks
// cannot give it to two at once), with every write of the job fenced by
// this tenure of the lease: a holder that stalls past its lease cannot
// write after the next one took over.
func (v *View) Lease(name string, ttl time.Duration) (*View, bool, error) {
	l, ok := v.store.(store.Leaser)
	if !ok {
		return v, true, nil
	}
	f, held, err := l.Lease(name, holderID, ttl)
	if !held {
		return v, false, err
	}
	job := *v
	job.store, job.Fence = l.Fenced(f), f
	return &job, true, nil
}

// Store is the open store itself (unfenced).
func (b *Base) Store() store.Store { return b.store }

// PendingAudits is the number of read-audit entries waiting to be written.
func (b *Base) PendingAudits() int { return len(b.audits) }
