package vault

import (
	"errors"
	"time"

	"github.com/strongroom/strongroom/vault/internal/kernel"

	"github.com/strongroom/strongroom/vault/problem"
	"github.com/strongroom/strongroom/vault/store"
	"github.com/strongroom/strongroom/vault/webhook"
)

// recordAttempts writes the outcomes of one dispatcher round: one synced
// batch per webhook rather than one per delivery, so read and invocation
// events (one per call) drain at the rate they are raised. It returns when
// the earliest rescheduled delivery is due.
func (v *Vault) recordAttempts(due []*dueDelivery, r webhook.Retry) (time.Time, error) {
	groups := map[string][]*dueDelivery{}
	var order []string
	for _, dd := range due {
		g := "" // dropped queue entries and final deliveries: no webhook to hold
		if dd.d != nil && !dd.final {
			g = dd.d.TenantID + "\x00" + dd.d.WebhookID
		}
		if _, ok := groups[g]; !ok {
			order = append(order, g)
		}
		groups[g] = append(groups[g], dd)
	}
	var next time.Time
	var errs []error
	for _, g := range order {
		at, err := v.recordGroup(groups[g], g != "", r)
		if err != nil {
			errs = append(errs, err)
		} else if !at.IsZero() && (next.IsZero() || at.Before(next)) {
			next = at
		}
	}
	return next, errors.Join(errs...)
}

// recordGroup writes the outcomes of deliveries of one webhook (ofWebhook)
// or of none. It holds the webhook's lock, so deliveries of a webhook
// deleted meanwhile are dropped rather than written back.
func (v *Vault) recordGroup(group []*dueDelivery, ofWebhook bool, r webhook.Retry) (time.Time, error) {
	b := v.Store().NewBatch()
	if ofWebhook {
		d := group[0].d
		defer v.Locks.Lock("whook", d.TenantID, d.WebhookID)()
		if _, err := v.loadWebhook(d.TenantID, d.WebhookID); problem.Is(err, 404) {
			for _, dd := range group {
				b.Delete(dd.queueKey)
				b.Delete(kernel.DeliveryKey(dd.d.TenantID, dd.d.WebhookID, dd.d.ID))
			}
			return time.Time{}, v.Commit(b)
		} else if err != nil {
			b.Close() // not recorded this round: they stay due
			return time.Time{}, err
		}
	}
	var next time.Time
	for _, dd := range group {
		if at := recordOutcome(b, dd, r); !at.IsZero() && (next.IsZero() || at.Before(next)) {
			next = at
		}
	}
	if b.Empty() {
		b.Close()
		return next, nil
	}
	return next, v.Commit(b)
}

// recordOutcome adds one attempt's outcome to b, rescheduling it when it
// failed with attempts left (returning when).
func recordOutcome(b store.Batch, dd *dueDelivery, r webhook.Retry) time.Time {
	d := dd.d
	if d != nil && dd.hook == nil {
		return time.Time{} // not sent this round: it stays due
	}
	b.Delete(dd.queueKey)
	if d == nil {
		return time.Time{} // its webhook was deleted
	}
	key := kernel.DeliveryKey(d.TenantID, d.WebhookID, d.ID)
	if dd.final {
		key = finalDeliveryKey(d.TenantID, d.WebhookID, d.ID)
	}
	var at time.Time
	d.Attempts = append(d.Attempts, dd.attempt)
	wait, retry := r.After(len(d.Attempts))
	switch {
	case dd.ok:
		d.Status, d.NextAttemptAt = "delivered", nil
	case retry:
		at = kernel.Now().Add(wait)
		d.NextAttemptAt = kernel.TimePtr(at)
		b.Set(kernel.QueueKey(at, d), nil)
	default:
		d.Status, d.NextAttemptAt = "failed", nil
	}
	kernel.SetJSON(b, key, d)
	return at
}
