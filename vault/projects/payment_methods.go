package projects

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/strongroom/strongroom/vault/audit"
	"github.com/strongroom/strongroom/vault/crypto"
	"github.com/strongroom/strongroom/vault/internal/kernel"
	"github.com/strongroom/strongroom/vault/problem"
	"github.com/strongroom/strongroom/vault/store"
	"github.com/strongroom/strongroom/vault/token"
)

// Payment methods (seed 000, wire contract §8): cards stored for one end
// user (the JWT's sub) of a project, in the same envelope encryption as
// tokens. The number and expiry are sealed together; the cvc is sealed
// apart and kept at most the configured retention.
//
// Its keys are in kernel/schema.go.

func paymentMethodKey(tenantID, projectID, id string) []byte {
	return store.Key(kernel.PaymentMethodCollection, tenantID, projectID, id)
}

// PaymentMethod is a payment method as the API returns it (camelCase, like
// the rest of this API generation). The card number and cvc never appear.
type PaymentMethod struct {
	ID              string            `json:"id"`
	EntityID        string            `json:"entityId"`
	Card            PaymentMethodCard `json:"card"`
	CredentialTypes []string          `json:"credentialTypes"`
	CreatedAt       kernel.Time       `json:"createdAt"`
}

// PaymentMethodCard is the card of a payment method.
type PaymentMethodCard struct {
	Brand   string      `json:"brand"`
	Details CardDetails `json:"details"`
}

// CardDetails are the displayable card facts. Month and year are strings,
// zero-padded, as clients send them.
type CardDetails struct {
	Bin             string `json:"bin"`
	Last4           string `json:"last4"`
	ExpirationMonth string `json:"expirationMonth"`
	ExpirationYear  string `json:"expirationYear"`
}

// PaymentMethodRequest is the body of POST /projects/{id}/payment-methods.
// Card stays generic so card validation is the card token type's.
type PaymentMethodRequest struct {
	EntityID *string        `json:"entityId"`
	Card     map[string]any `json:"card"`
}

type paymentMethodRecord struct {
	ID           string           `json:"id"`
	TenantID     string           `json:"tenant_id"`
	ProjectID    string           `json:"project_id"`
	EntityID     string           `json:"entity_id"`
	Order        string           `json:"order"`
	Card         crypto.Envelope  `json:"card"`
	CVC          *crypto.Envelope `json:"cvc,omitempty"`
	CVCExpiresAt *kernel.Time     `json:"cvc_expires_at,omitempty"`
	AD           int              `json:"ad,omitempty"` // associated-data layout (tokens_ad.go)
	kernel.Audited
}

// aad binds the card to its owner: the subject (entity) decides which
// JWT may read it, so a record moved to another entity fails to open.
func (r *paymentMethodRecord) aad() []byte {
	if r.AD < kernel.RecordADVersion {
		return store.Key("payment_method", r.TenantID, r.ProjectID, r.ID)
	}
	return kernel.ADFields("strongroom/payment_method/v2", r.TenantID, r.ProjectID, r.ID, r.EntityID)
}

func (r *paymentMethodRecord) cvcAAD() []byte {
	if r.AD < kernel.RecordADVersion {
		return store.Key("payment_method_cvc", r.TenantID, r.ProjectID, r.ID)
	}
	return kernel.ADFields("strongroom/payment_method_cvc/v2", r.TenantID, r.ProjectID, r.ID, r.EntityID)
}

func (r *paymentMethodRecord) subKey() []byte {
	return store.Key(kernel.PaymentMethodSubIndex, r.TenantID, r.ProjectID, r.EntityID, r.Order)
}

func (r *paymentMethodRecord) cvcExpiryKey() []byte {
	return store.Key(kernel.CvcExpiryIndex, kernel.DueStamp(r.CVCExpiresAt.Time), r.TenantID, r.ProjectID, r.ID)
}

// sealedCard is the sealed part of a payment method.
type sealedCard struct {
	Number          string `json:"number"`
	ExpirationMonth int    `json:"expiration_month"`
	ExpirationYear  int    `json:"expiration_year"`
}

// cardFields maps this API's camelCase card fields onto the card token
// type's, whose validation applies.
var cardFields = map[string]string{"number": "number", "expirationMonth": "expiration_month",
	"expirationYear": "expiration_year", "cvc": "cvc"}

// validateEntityID checks a subject or entityId (it is part of store keys).
func validateEntityID(s string) string {
	switch {
	case s == "":
		return "The entityId field is required."
	case len(s) > 255:
		return "The entityId must be at most 255 bytes."
	case !utf8.ValidString(s) || strings.ContainsFunc(s, unicode.IsControl):
		return "The entityId must be printable text."
	}
	return ""
}

// validatePaymentCard validates the card like a card token (number,
// expiry, cvc), with expirationMonth and expirationYear required.
func validatePaymentCard(f problem.Fields, in map[string]any) (sealedCard, string) {
	if in == nil {
		f.Add("card", "The card field is required.")
		return sealedCard{}, ""
	}
	data := make(map[string]any, len(in))
	for k, val := range in {
		if snake, ok := cardFields[k]; ok {
			data[snake] = val
		} else {
			data[k] = val
		}
	}
	normalized, errs := token.ValidateData(token.TypeCard, data)
	for field, msgs := range errs.Rename("data", "card") {
		for camel, snake := range cardFields {
			if field == "card."+snake {
				field = "card." + camel
			}
		}
		for _, m := range msgs {
			for camel, snake := range cardFields {
				m = strings.ReplaceAll(m, snake, camel)
			}
			f.Add(field, m)
		}
	}
	card, _ := normalized.(map[string]any)
	if errs == nil {
		if card["expiration_month"] == nil {
			f.Add("card.expirationMonth", "The expirationMonth field is required.")
		}
		if card["expiration_year"] == nil {
			f.Add("card.expirationYear", "The expirationYear field is required.")
		}
	}
	if len(f) > 0 {
		return sealedCard{}, ""
	}
	number, _ := card["number"].(string)
	month, _ := card["expiration_month"].(int)
	year, _ := card["expiration_year"].(int)
	cvc, _ := card["cvc"].(string)
	return sealedCard{Number: number, ExpirationMonth: month, ExpirationYear: year}, cvc
}

// CreatePaymentMethod stores a card for the caller's subject (a JWT's sub;
// for an API key, the body's entityId).
func (v *Service) CreatePaymentMethod(c *ProjectCaller, req PaymentMethodRequest) (*PaymentMethod, error) {
	if err := c.allow(pmCreate); err != nil {
		return nil, err
	}
	entity := kernel.Deref(req.EntityID)
	if c.Claims != nil {
		if err := c.Claims.CheckEntity(entity); err != nil {
			return nil, err
		}
		entity = c.Claims.Subject
	}
	f := problem.Fields{}
	if msg := validateEntityID(entity); msg != "" {
		f.Add("entityId", msg)
	}
	card, cvc := validatePaymentCard(f, req.Card)
	if err := f.Err(); err != nil {
		return nil, err
	}
	k, err := v.TenantKey(c.TenantID)
	if err != nil {
		return nil, err
	}
	plain, err := json.Marshal(card)
	if err != nil {
		return nil, err
	}
	ts := kernel.Now()
	r := &paymentMethodRecord{ID: kernel.NewID(), TenantID: c.TenantID, ProjectID: c.ProjectID, EntityID: entity, Order: kernel.OrderKey(ts)}
	r.CreatedAt = kernel.TimePtr(ts)
	r.CreatedBy = c.actorID()
	r.AD = kernel.RecordADVersion
	r.Card = k.SealEnvelope(plain, r.aad())
	retain := v.CVCRetention
	if cvc != "" && retain > 0 {
		env := k.SealEnvelope([]byte(cvc), r.cvcAAD())
		r.CVC, r.CVCExpiresAt = &env, kernel.TimePtr(ts.Add(retain))
	}
	b := v.Store().NewBatch()
	kernel.SetJSON(b, paymentMethodKey(r.TenantID, r.ProjectID, r.ID), r)
	b.Set(r.subKey(), []byte(r.ID))
	if r.CVCExpiresAt != nil {
		b.Set(r.cvcExpiryKey(), nil)
	}
	if err := v.Commit(b, c.entry("payment_method", r.ID, "create", "Payment method created", ts)); err != nil {
		return nil, err
	}
	return paymentMethodView(r, card), nil
}

func paymentMethodView(r *paymentMethodRecord, card sealedCard) *PaymentMethod {
	brand := token.Brand(card.Number)
	pm := &PaymentMethod{ID: r.ID, EntityID: r.EntityID, CredentialTypes: credentialTypes(brand),
		Card: PaymentMethodCard{Brand: brand, Details: CardDetails{
			Bin: token.BIN(card.Number), Last4: token.Last4(card.Number),
			ExpirationMonth: fmt.Sprintf("%02d", card.ExpirationMonth),
			ExpirationYear:  fmt.Sprintf("%04d", card.ExpirationYear)}}}
	if r.CreatedAt != nil {
		pm.CreatedAt = *r.CreatedAt
	}
	return pm
}

// credentialTypes are what a purchase intent may issue for a brand (wire
// contract §8: Visa and Mastercard → virtual card; AmEx and Discover →
// network token).
func credentialTypes(brand string) []string {
	switch brand {
	case token.BrandVisa, token.BrandMastercard:
		return []string{"virtual-card"}
	case token.BrandAmericanExpress, token.BrandDiscover:
		return []string{"network-token"}
	}
	return []string{}
}

// loadPaymentMethod reads a payment method visible to c: of its project,
// and for a JWT of its subject. Anything else is a 404.
func (v *Service) loadPaymentMethod(c *ProjectCaller, id string) (*paymentMethodRecord, error) {
	var r paymentMethodRecord
	if id == "" || strings.IndexByte(id, 0) >= 0 {
		return nil, problem.NotFound("Payment method")
	}
	if err := kernel.GetJSON(v.Store(), paymentMethodKey(c.TenantID, c.ProjectID, id), "Payment method", &r); err != nil {
		return nil, err
	}
	if c.Claims != nil && r.EntityID != c.Claims.Subject {
		return nil, problem.NotFound("Payment method")
	}
	return &r, nil
}

func (v *Service) openCard(r *paymentMethodRecord) (sealedCard, error) {
	var card sealedCard
	if r.AD != kernel.RecordADVersion {
		return card, kernel.ErrIntegrity
	}
	k, err := v.TenantKey(r.TenantID)
	if err != nil {
		return card, err
	}
	plain, err := k.OpenEnvelope(r.Card, r.aad())
	if err != nil {
		return card, err
	}
	return card, json.Unmarshal(plain, &card)
}

// GetPaymentMethod returns one payment method of the caller's subject.
func (v *Service) GetPaymentMethod(c *ProjectCaller, id string) (*PaymentMethod, error) {
	if err := c.allow(pmRead); err != nil {
		return nil, err
	}
	r, err := v.loadPaymentMethod(c, id)
	if err != nil {
		return nil, err
	}
	card, err := v.openCard(r)
	if err != nil {
		return nil, err
	}
	v.AuditAsync(c.entry("payment_method", r.ID, "read", "Payment method retrieved", kernel.Now()))
	return paymentMethodView(r, card), nil
}

// PaymentMethodPage is one page of a subject's payment methods with what
// the X-* pagination headers report.
type PaymentMethodPage struct {
	Items         []*PaymentMethod
	Total         int
	Limit, Offset int
}

// HasNext reports whether items follow this page.
func (p *PaymentMethodPage) HasNext() bool { return p.Offset+len(p.Items) < p.Total }

// HasPrevious reports whether items precede this page.
func (p *PaymentMethodPage) HasPrevious() bool { return p.Offset > 0 && p.Total > 0 }

// ListPaymentMethods lists a subject's payment methods in creation order:
// a JWT's sub, or for an API key the entityId filter (all of the project's
// when empty).
func (v *Service) ListPaymentMethods(c *ProjectCaller, entityID string, limit, offset int) (*PaymentMethodPage, error) {
	if err := c.allow(pmRead); err != nil {
		return nil, err
	}
	if c.Claims != nil {
		entityID = c.Claims.Subject
	}
	page := &PaymentMethodPage{Items: []*PaymentMethod{}, Limit: limit, Offset: offset}
	var ids []string
	collect := func(id string) {
		if page.Total >= offset && len(ids) < limit {
			ids = append(ids, id)
		}
		page.Total++
	}
	var err error
	if entityID != "" {
		if validateEntityID(entityID) != "" {
			return page, nil
		}
		err = v.Store().Scan(store.Prefix(kernel.PaymentMethodSubIndex, c.TenantID, c.ProjectID, entityID), nil, func(_, val []byte) bool {
			collect(string(val))
			return true
		})
	} else {
		// Ids are time-ordered UUIDs, so the record keys are in creation order.
		err = v.Store().Scan(store.Prefix(kernel.PaymentMethodCollection, c.TenantID, c.ProjectID), nil, func(k, _ []byte) bool {
			collect(string(k[bytes.LastIndexByte(k, 0)+1:]))
			return true
		})
	}
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		r, err := v.loadPaymentMethod(c, id)
		if problem.Is(err, 404) {
			continue // deleted since the scan
		}
		if err != nil {
			return nil, err
		}
		card, err := v.openCard(r)
		if err != nil {
			return nil, err
		}
		page.Items = append(page.Items, paymentMethodView(r, card))
	}
	v.AuditAsync(c.entry("project", c.ProjectID, "read", "Payment methods listed", kernel.Now()))
	return page, nil
}

// DeletePaymentMethod deletes one payment method of the caller's subject.
func (v *Service) DeletePaymentMethod(c *ProjectCaller, id string) error {
	if err := c.allow(pmDelete); err != nil {
		return err
	}
	return kernel.RewriteErr(v.View, paymentMethodKey(c.TenantID, c.ProjectID, id), []string{"payment_method", c.ProjectID, id}, func(b store.Batch) (audit.Entry, error) {
		r, err := v.loadPaymentMethod(c, id)
		if err != nil {
			return audit.Entry{}, err
		}
		b.Delete(paymentMethodKey(r.TenantID, r.ProjectID, r.ID))
		b.Delete(r.subKey())
		if r.CVCExpiresAt != nil {
			b.Delete(r.cvcExpiryKey())
		}
		return c.entry("payment_method", r.ID, "delete", "Payment method deleted", kernel.Now()), nil
	})
}

// PurgeExpiredCVCs drops every cvc past its retention. Reads never return
// a cvc; this bounds how long one exists at all.
func (v *Service) PurgeExpiredCVCs() error {
	limit := store.Key(kernel.CvcExpiryIndex, kernel.DueStamp(kernel.Now()))
	due, err := kernel.DueKeys(v.Store(), kernel.CvcExpiryIndex, limit)
	if err != nil {
		return err
	}
	var errs []error
	for _, k := range due {
		parts := bytes.Split(k, []byte{0})
		if len(parts) != 5 {
			continue
		}
		errs = append(errs, v.dropCVC(k, string(parts[2]), string(parts[3]), string(parts[4])))
	}
	return errors.Join(errs...)
}

func (v *Service) dropCVC(indexKey []byte, tenantID, projectID, id string) error {
	defer v.Locks.Lock("payment_method", projectID, id)()
	return kernel.RetryUnchangedErr(func() error { return v.dropCVCOnce(indexKey, tenantID, projectID, id) })
}

// dropCVCOnce commits only if the record is unchanged: rewritten over a
// delete on another node, it would bring the card back.
func (v *Service) dropCVCOnce(indexKey []byte, tenantID, projectID, id string) error {
	b := v.Store().NewBatch()
	defer b.Close()
	b.Delete(indexKey)
	raw, err := kernel.ReadVersion(v.Store(), paymentMethodKey(tenantID, projectID, id))
	if err != nil {
		return err
	}
	kernel.ExpectUnchanged(b, paymentMethodKey(tenantID, projectID, id), raw)
	var r paymentMethodRecord
	err = kernel.GetJSON(v.Store(), paymentMethodKey(tenantID, projectID, id), "Payment method", &r)
	switch {
	case problem.Is(err, 404):
		// Deleted with its project or tenant: only the index entry is left.
	case err != nil:
		return err
	case r.CVC != nil:
		r.CVC, r.CVCExpiresAt = nil, nil
		kernel.SetJSON(b, paymentMethodKey(tenantID, projectID, id), &r)
	}
	return v.SyncCommit(b)
}
