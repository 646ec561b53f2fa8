package vault

import (
	"fmt"
	"net/mail"
	"slices"
	"strings"

	"github.com/strongroom/strongroom/vault/access"
	"github.com/strongroom/strongroom/vault/audit"
	"github.com/strongroom/strongroom/vault/internal/kernel"
	"github.com/strongroom/strongroom/vault/problem"
	"github.com/strongroom/strongroom/vault/store"
)

// Webhook is a tenant's subscription to events (kernel/outbox.go, which
// every write consults).
type Webhook = kernel.Webhook

// WebhookRequest is the body of POST and PUT /webhooks.
type WebhookRequest struct {
	Name        *string  `json:"name"`
	URL         *string  `json:"url"`
	NotifyEmail *string  `json:"notify_email"`
	Events      []string `json:"events"`
}

// WebhookEventTypes are the events this vault emits, in the hosted
// service's dotted names. Deliveries never carry token data.
var WebhookEventTypes = slices.Concat([]string{"token.created", "token.updated", "token.deleted", "token.expired"},
	entityEventTypes, sessionEventTypes, invocationEventTypes)

// WebhookList is the list envelope node-sdk reads (cursor pagination
// there; one page holds every webhook of a tenant here).
type WebhookList struct {
	Pagination struct {
		PageSize int `json:"page_size"`
	} `json:"pagination"`
	Data []Webhook `json:"data"`
}

func webhookRecordKey(tenantID, id string) []byte {
	return store.Key(kernel.WebhookCollection, tenantID, id)
}

func (v *Vault) validateWebhook(req *WebhookRequest) error {
	f := problem.Fields{}
	kernel.ValidateName(f, req.Name)
	switch {
	case req.URL == nil || strings.TrimSpace(*req.URL) == "":
		f.Add("url", "The url field is required.")
	default:
		// The same egress policy as the proxy: a webhook is an outbound call
		// the API client chooses.
		if _, err := v.Egress.CheckURL(*req.URL); err != nil {
			f.Add("url", err.Error())
		}
	}
	if req.NotifyEmail != nil && *req.NotifyEmail != "" {
		if a, err := mail.ParseAddress(*req.NotifyEmail); err != nil || a.Address != *req.NotifyEmail {
			f.Add("notify_email", "Must be an email address.")
		}
	}
	if len(req.Events) == 0 {
		f.Add("events", "At least one event type is required.")
	}
	for i, e := range req.Events {
		// The SDKs' own examples write "token:created"; both spellings name
		// the same event.
		req.Events[i] = strings.Replace(e, ":", ".", 1)
		if !slices.Contains(WebhookEventTypes, req.Events[i]) {
			f.Add(fmt.Sprintf("events[%d]", i), "Unknown event type; GET /webhooks/event-types lists them.")
		}
	}
	return f.Err()
}

func applyWebhook(w *Webhook, req *WebhookRequest) {
	w.Name, w.URL, w.NotifyEmail = *req.Name, *req.URL, kernel.Deref(req.NotifyEmail)
	w.Events = slices.Compact(slices.Sorted(slices.Values(req.Events)))
}

// CreateWebhook subscribes a URL to events.
func (v *Vault) CreateWebhook(p *access.Principal, req WebhookRequest) (*Webhook, error) {
	if err := kernel.Require(p, "webhooks:create"); err != nil {
		return nil, err
	}
	if err := v.validateWebhook(&req); err != nil {
		return nil, err
	}
	ts := kernel.Now()
	w := &Webhook{ID: kernel.NewID(), TenantID: p.TenantID, Status: "enabled"}
	applyWebhook(w, &req)
	w.Created(p, ts)
	b := v.Store().NewBatch()
	kernel.SetJSON(b, webhookRecordKey(w.TenantID, w.ID), w)
	defer v.Outbox.Invalidate(p.TenantID)
	return w, v.Commit(b, kernel.LogEntry(p, p.TenantID, "webhook", w.ID, "create", "Webhook created", ts))
}

func (v *Vault) loadWebhook(tenantID, id string) (*Webhook, error) {
	return kernel.Load[Webhook](v.Store(), webhookRecordKey(tenantID, id), "Webhook")
}

// GetWebhook returns one webhook.
func (v *Vault) GetWebhook(p *access.Principal, id string) (*Webhook, error) {
	if err := kernel.Require(p, "webhooks:read"); err != nil {
		return nil, err
	}
	return v.loadWebhook(p.TenantID, id)
}

// ListWebhooks lists the tenant's webhooks.
func (v *Vault) ListWebhooks(p *access.Principal) (*WebhookList, error) {
	if err := kernel.Require(p, "webhooks:read"); err != nil {
		return nil, err
	}
	all, err := v.TenantWebhooks(p.TenantID)
	if err != nil {
		return nil, err
	}
	out := &WebhookList{Data: append([]Webhook{}, all...)}
	out.Pagination.PageSize = len(all)
	return out, nil
}

// UpdateWebhook replaces a webhook's settings (PUT).
func (v *Vault) UpdateWebhook(p *access.Principal, id string, req WebhookRequest) (*Webhook, error) {
	if err := kernel.Require(p, "webhooks:update"); err != nil {
		return nil, err
	}
	if err := v.validateWebhook(&req); err != nil {
		return nil, err
	}
	defer v.Outbox.Invalidate(p.TenantID)
	return kernel.Rewrite(v.View, webhookRecordKey(p.TenantID, id), []string{"whook", p.TenantID, id}, func(b store.Batch) (*Webhook, audit.Entry, error) {
		w, err := v.loadWebhook(p.TenantID, id)
		if err != nil {
			return nil, audit.Entry{}, err
		}
		ts := kernel.Now()
		applyWebhook(w, &req)
		w.Modified(p, ts)
		kernel.SetJSON(b, webhookRecordKey(w.TenantID, w.ID), w)
		return w, kernel.LogEntry(p, p.TenantID, "webhook", w.ID, "update", "Webhook updated", ts), nil
	})
}

// DeleteWebhook deletes a webhook and its pending deliveries.
func (v *Vault) DeleteWebhook(p *access.Principal, id string) error {
	if err := kernel.Require(p, "webhooks:delete"); err != nil {
		return err
	}
	defer v.Outbox.Invalidate(p.TenantID)
	return kernel.RewriteErr(v.View, webhookRecordKey(p.TenantID, id), []string{"whook", p.TenantID, id}, func(b store.Batch) (audit.Entry, error) {
		if _, err := v.loadWebhook(p.TenantID, id); err != nil {
			return audit.Entry{}, err
		}
		b.Delete(webhookRecordKey(p.TenantID, id))
		// Queue entries of its deliveries are dropped when they come due.
		b.DeletePrefix(store.Prefix(kernel.DeliveryCollection, p.TenantID, id))
		return kernel.LogEntry(p, p.TenantID, "webhook", id, "delete", "Webhook deleted", kernel.Now()), nil
	})
}

// EventTypes lists the webhook event types (any authenticated caller).
func (v *Vault) EventTypes(p *access.Principal) ([]string, error) {
	if p == nil {
		return nil, problem.New(401, "Unauthorized")
	}
	return slices.Clone(WebhookEventTypes), nil
}
