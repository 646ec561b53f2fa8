package vault

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/strongroom/strongroom/vault/access"
	"github.com/strongroom/strongroom/vault/apitime"
	"github.com/strongroom/strongroom/vault/internal/kernel"
	"github.com/strongroom/strongroom/vault/problem"
	"github.com/strongroom/strongroom/vault/store"
	"github.com/strongroom/strongroom/vault/traffic"
	"github.com/strongroom/strongroom/vault/webhook"
)

// Webhook deliveries are an outbox in the store: the write that causes an
// event queues its deliveries in the same synced batch (so an acknowledged
// change always gets its events, across kill -9), and one dispatcher sends
// them, retrying with backoff, recording every attempt.
//
//	whd \0 tenant \0 webhook \0 delivery id  → Delivery (event, attempts)
//	whq \0 due (hex ns) \0 tenant \0 webhook \0 delivery id  → "" (the queue)
//
// (DeliveryCollection and QueuePrefix in kernel/schema.go.)

// Delivery is one event on its way to one webhook; Attempt is one try at
// it (their records are the kernel's outbox).
type (
	Delivery = kernel.Delivery
	Attempt  = kernel.Attempt
)

// deliveryRetention is how long finished deliveries stay visible.
const deliveryRetention = 72 * time.Hour

// WebhookSigner returns the vault's webhook signing key, creating it
// (sealed with the master key) on first use.
func (v *Vault) WebhookSigner() (*webhook.Signer, error) {
	st := &v.Outbox
	st.SignerMu.Lock()
	defer st.SignerMu.Unlock()
	if st.Signer != nil {
		return st.Signer, nil
	}
	key := []byte(kernel.SigningKeyKey)
	sealed, err := v.Store().Get(key)
	var der []byte
	switch {
	case errors.Is(err, store.ErrNotFound):
		if der, err = webhook.NewKey(); err != nil {
			return nil, err
		}
		sealed, release, err := v.Keys.SealMaster(der, key)
		if err != nil {
			return nil, err
		}
		b := v.Store().NewBatch()
		b.Insert(key, sealed) // one key for every node
		err = v.Commit(b)
		release()
		if errors.Is(err, store.ErrConflict) { // another node made it first: use theirs
			var theirs []byte
			if theirs, err = v.Store().Get(key); err == nil {
				der, err = v.Keys.OpenMaster(theirs, key)
			}
		}
		if err != nil {
			return nil, err
		}
	case err != nil:
		return nil, err
	default:
		if der, err = v.Keys.OpenMaster(sealed, key); err != nil {
			return nil, fmt.Errorf("webhook signing key: %w", err)
		}
	}
	s, err := webhook.ParseSigner(der)
	clear(der)
	if err != nil {
		return nil, err
	}
	st.Signer = s
	return s, nil
}

// DeliveryOptions configure RunWebhookDeliveries.
type DeliveryOptions struct {
	// Client sends deliveries; the host gives it its egress policy.
	Client *http.Client
	Retry  webhook.Retry
	// OnError reports store or signing failures (never event contents).
	OnError func(error)
}

// deliveryBatch bounds the deliveries one round sends (concurrently).
const deliveryBatch = 64

// RunWebhookDeliveries sends queued deliveries until ctx ends. Rounds of
// concurrent dispatchers (a config reload) are serialised, so a delivery
// is never sent twice at once; one in flight when the process dies is
// sent again after restart (receivers must be idempotent, as documented).
func (v *Vault) RunWebhookDeliveries(ctx context.Context, o DeliveryOptions) {
	o.Retry = o.Retry.WithDefaults()
	wake := v.Outbox.Wake()
	lastPurge := time.Time{}
	for {
		next, err := v.deliverDue(ctx, o)
		if err != nil && ctx.Err() == nil && o.OnError != nil {
			o.OnError(err)
		}
		if time.Since(lastPurge) > 10*time.Minute {
			if err := v.purgeDeliveries(); err != nil && o.OnError != nil {
				o.OnError(err)
			}
			lastPurge = time.Now()
		}
		wait := time.Second
		if !next.IsZero() {
			wait = min(wait, max(time.Until(next), 10*time.Millisecond))
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-wake:
		case <-t.C:
		}
		t.Stop()
	}
}

type dueDelivery struct {
	queueKey []byte
	d        *Delivery
	hook     *Webhook
	final    bool // a deleted tenant's (webhook_tenant_deleted.go)
	attempt  Attempt
	ok       bool
}

// deliverDue sends the deliveries that are due and returns when the next
// one is.
func (v *Vault) deliverDue(ctx context.Context, o DeliveryOptions) (time.Time, error) {
	st := &v.Outbox
	st.Deliver.Lock()
	defer st.Deliver.Unlock()
	if v.Closed() {
		return time.Time{}, nil
	}
	v, held, err := v.lease("webhooks", webhookLeaseTTL) // cluster.go: one node delivers, fenced
	if !held {
		return time.Time{}, err
	}
	due, next, err := v.dueDeliveries()
	if err != nil || len(due) == 0 {
		return next, err
	}
	// The signing key is created on first use: a vault without deliveries
	// writes nothing in the background.
	signer, err := v.WebhookSigner()
	if err != nil {
		return time.Time{}, err
	}
	if err := v.sendDue(ctx, o, signer, due); err != nil {
		return next, err
	}
	if ctx.Err() != nil {
		return next, nil // stopping: unsent deliveries stay due
	}
	at, err := v.recordAttempts(due, o.Retry) // webhook_record.go
	if !at.IsZero() && (next.IsZero() || at.Before(next)) {
		next = at
	}
	return next, err
}

// dueDeliveries reads the queue up to the first entry not yet due, at most
// deliveryBatch of them; next is when the following round should run
// (zero when the queue is empty).
func (v *Vault) dueDeliveries() (due []*dueDelivery, next time.Time, err error) {
	nowNS := kernel.Now().UnixNano()
	err = v.Store().Scan(store.Prefix(kernel.QueuePrefix), nil, func(k, _ []byte) bool {
		parts := strings.Split(string(k), "\x00")
		if len(parts) != 5 {
			return true
		}
		if at := kernel.ParseDueStamp(parts[1]); at > nowNS {
			next = time.Unix(0, at)
			return false
		}
		due = append(due, &dueDelivery{queueKey: append([]byte(nil), k...), d: &Delivery{TenantID: parts[2], WebhookID: parts[3], ID: parts[4]}})
		if len(due) == deliveryBatch {
			next = time.Unix(0, nowNS) // more may be due: the next round starts at once
			return false
		}
		return true
	})
	return due, next, err
}

// sendDue loads each due delivery with its webhook, then sends them all
// concurrently (a slow receiver must not hold up the others), returning
// when every attempt has ended. Every load comes first: a store error
// returns before anything is sent, so no attempt outlives the round's lock
// (the next round would send it again, at the same time).
func (v *Vault) sendDue(ctx context.Context, o DeliveryOptions, signer *webhook.Signer, due []*dueDelivery) error {
	var sendable []*dueDelivery
	for _, dd := range due {
		ok, err := v.loadDue(dd)
		if err != nil {
			return err
		}
		if ok {
			sendable = append(sendable, dd)
		}
	}
	var wg sync.WaitGroup
	for _, dd := range sendable {
		wg.Go(func() { dd.attempt, dd.ok = send(ctx, o.Client, signer, dd.hook.URL, dd.d.Event) })
	}
	wg.Wait()
	return nil
}

// loadDue reads dd's delivery record and its webhook. A deleted tenant's
// deliveries are final records with the endpoint kept in them. It reports
// false when there is nothing to send: the webhook is gone (dd.d is then
// nil, and recordAttempts drops the queue entry) or cannot be read.
func (v *Vault) loadDue(dd *dueDelivery) (bool, error) {
	key := kernel.DeliveryKey(dd.d.TenantID, dd.d.WebhookID, dd.d.ID)
	err := kernel.GetJSON(v.Store(), key, "Delivery", dd.d)
	if problem.Is(err, 404) {
		final := finalDeliveryKey(dd.d.TenantID, dd.d.WebhookID, dd.d.ID)
		if err = kernel.GetJSON(v.Store(), final, "Delivery", dd.d); err == nil {
			dd.final, dd.hook = true, &Webhook{URL: dd.d.Endpoint}
		}
	}
	if problem.Is(err, 404) {
		dd.d = nil // the webhook was deleted: drop the queue entry
		return false, nil
	} else if err != nil {
		return false, err
	}
	if !dd.final {
		if dd.hook, err = v.loadWebhook(dd.d.TenantID, dd.d.WebhookID); err != nil {
			return false, nil // recordAttempts drops it
		}
	}
	return true, nil
}

// maxReceiverAnswer bounds what is read of a receiver's answer.
const maxReceiverAnswer = 64 << 10

// send makes one attempt: the body is the canonical JSON of the envelope,
// signed as the hosted docs' v1 sample verifies.
func send(ctx context.Context, client *http.Client, signer *webhook.Signer, url string, ev json.RawMessage) (Attempt, bool) {
	start := kernel.Now()
	a := Attempt{AttemptedAt: kernel.TimePtr(start)}
	envelope, _ := json.Marshal(map[string]any{"event": ev, "delivered_at": apitime.New(start)})
	body, err := webhook.Canonical(envelope)
	if err != nil {
		a.Error = "the event could not be encoded"
		return a, false
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(string(body)))
	if err != nil {
		a.Error = "invalid url"
		return a, false
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Strongroom-Webhooks/1")
	req.Header.Set(webhook.SignatureHeader, signer.Sign(body))
	req.Header.Set(webhook.SignatureVersionHeader, webhook.SignatureVersion)
	resp, err := client.Do(req)
	a.DurationMS = time.Since(start).Milliseconds()
	if err != nil {
		a.Error = attemptError(err)
		return a, false
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxReceiverAnswer))
	resp.Body.Close()
	a.StatusCode = resp.StatusCode
	return a, resp.StatusCode/100 == 2
}

// attemptError says why an attempt failed in the proxy's words: never a
// resolved address (that would tell a prober what an internal name points
// at) nor the transport's own text.
func attemptError(err error) string {
	p := problem.From(traffic.ExchangeProblem(err))
	for _, msgs := range p.Errors {
		if len(msgs) > 0 {
			return msgs[0]
		}
	}
	return p.Detail
}

// ListWebhookDeliveries lists a webhook's deliveries, newest first, with
// every attempt (the operator's view of the queue).
func (v *Vault) ListWebhookDeliveries(p *access.Principal, webhookID string, pg Page) (Paginated[Delivery], error) {
	if err := kernel.Require(p, "webhooks:read"); err != nil {
		return Paginated[Delivery]{}, err
	}
	if _, err := v.loadWebhook(p.TenantID, webhookID); err != nil {
		return Paginated[Delivery]{}, err
	}
	var all []Delivery
	var ferr error
	err := v.Store().ScanReverse(store.Prefix(kernel.DeliveryCollection, p.TenantID, webhookID), nil, func(_, val []byte) bool {
		var d Delivery
		if ferr = json.Unmarshal(val, &d); ferr != nil {
			return false
		}
		all = append(all, d)
		return true
	})
	return kernel.PageOf(all, pg), errors.Join(err, ferr)
}

// purgeDeliveries deletes finished deliveries past their retention.
func (v *Vault) purgeDeliveries() error {
	return errors.Join(v.purgeDeliveriesOf(kernel.DeliveryCollection), v.purgeDeliveriesOf(kernel.FinalDeliveryCollection))
}

func (v *Vault) purgeDeliveriesOf(collection string) error {
	cutoff := kernel.Now().Add(-deliveryRetention)
	b := v.Store().NewBatch()
	var ferr error
	err := v.Store().Scan(store.Prefix(collection), nil, func(k, val []byte) bool {
		id, err := uuid.Parse(string(k[strings.LastIndexByte(string(k), 0)+1:]))
		if err != nil {
			return true
		}
		if sec, nsec := id.Time().UnixTime(); time.Unix(sec, nsec).After(cutoff) {
			return true
		}
		var d Delivery
		if ferr = json.Unmarshal(val, &d); ferr != nil {
			return false
		}
		if d.Status != "pending" {
			b.Delete(k)
		}
		return true
	})
	if err = errors.Join(err, ferr); err != nil || b.Empty() {
		b.Close()
		return err
	}
	return v.Commit(b)
}
