package tokens

import (
	"encoding/json"
	"strings"

	"github.com/strongroom/strongroom/vault/access"
	"github.com/strongroom/strongroom/vault/internal/kernel"
	"github.com/strongroom/strongroom/vault/problem"
	"github.com/strongroom/strongroom/vault/tenants"
	"github.com/strongroom/strongroom/vault/token"
)

// Atomic cards and banks (seed 001) are card and bank tokens seen through
// the v1 shape: the object sits under `card` or `bank` instead of `data`,
// responses are masked, and plaintext needs the decrypt endpoint.

// AtomicKind is "card" or "bank".
type AtomicKind string

// The two atomic kinds.
const (
	AtomicCard AtomicKind = "card"
	AtomicBank AtomicKind = "bank"
)

// Atomic is an atomic card or bank as the API returns it.
type Atomic struct {
	ID          string          `json:"id"`
	TenantID    string          `json:"tenant_id"`
	Type        string          `json:"type"`
	Card        any             `json:"card,omitempty"`
	Bank        any             `json:"bank,omitempty"`
	Fingerprint string          `json:"fingerprint,omitempty"`
	Metadata    json.RawMessage `json:"metadata,omitempty"`
	kernel.Audited
}

// AtomicRequest is the body of POST and PATCH /atomic/{cards|banks}.
type AtomicRequest struct {
	Card     json.RawMessage `json:"card"`
	Bank     json.RawMessage `json:"bank"`
	Metadata json.RawMessage `json:"metadata"`
}

func (k AtomicKind) object(req *AtomicRequest) json.RawMessage {
	if k == AtomicCard {
		return req.Card
	}
	return req.Bank
}

func (k AtomicKind) view(r *tokenRecord, obj any) *Atomic {
	a := &Atomic{ID: r.ID, TenantID: r.TenantID, Type: r.Type, Fingerprint: r.Fingerprint,
		Metadata: r.Metadata, Audited: r.Audited}
	if k == AtomicCard {
		a.Card = obj
	} else {
		a.Bank = obj
	}
	return a
}

// renameData reports validation errors on `data…` under the atomic field.
func (k AtomicKind) renameData(err error) error {
	p, ok := err.(*problem.Problem)
	if !ok || p.Status != 400 {
		return err
	}
	cp := *p
	cp.Errors = map[string][]string{}
	for f, msgs := range p.Errors {
		if rest, ok := strings.CutPrefix(f, "data"); ok {
			f = string(k) + rest
		}
		cp.Errors[f] = msgs
	}
	return &cp
}

// CreateAtomic creates an atomic card or bank.
func (v *Service) CreateAtomic(p *access.Principal, k AtomicKind, req AtomicRequest) (*Atomic, error) {
	obj := k.object(&req)
	if len(obj) == 0 || string(obj) == "null" {
		return nil, problem.Invalid(string(k), "The "+string(k)+" field is required.")
	}
	if err := v.checkTestCard(p, k, obj); err != nil {
		return nil, err
	}
	typ := string(k)
	plans, err := v.createTokens(p, []*TokenRequest{{Type: &typ, Data: obj, Metadata: req.Metadata}}, []string{""}, typ)
	if err != nil {
		return nil, k.renameData(err)
	}
	t := plans[0]
	r := &tokenRecord{ID: t.ID, TenantID: t.TenantID, Type: t.Type, Fingerprint: t.Fingerprint, Metadata: t.Metadata, Audited: t.Audited}
	return k.view(r, t.Mask), nil
}

// checkTestCard enforces that a test tenant stores only the documented
// test card numbers.
func (v *Service) checkTestCard(p *access.Principal, k AtomicKind, obj json.RawMessage) error {
	if k != AtomicCard {
		return nil
	}
	t, err := v.Tenant(p.TenantID)
	if err != nil || t.Type != tenants.TenantTest {
		return err
	}
	var c struct {
		Number string `json:"number"`
	}
	if json.Unmarshal(obj, &c) == nil && c.Number != "" && !token.IsTestCard(c.Number) {
		return problem.Invalid("card.number", "Only test card numbers are accepted in a test tenant.")
	}
	return nil
}

// atomic loads a token of the atomic kind.
func (v *Service) atomic(p *access.Principal, k AtomicKind, id string) (*tokenRecord, error) {
	r, err := v.loadToken(p.TenantID, id)
	if err != nil {
		return nil, err
	}
	if r.Type != string(k) {
		return nil, problem.NotFound("Atomic " + string(k))
	}
	return r, nil
}

// atomicView renders r for p. Seed 001 documents a bank in plaintext with
// read:high and masked below, and a card always masked (plaintext only
// through the decrypt endpoint, which needs the reveal level). A read
// never shows a cvc.
func (v *Service) atomicView(p *access.Principal, k AtomicKind, r *tokenRecord, decrypt bool) (*Atomic, error) {
	tr, err := readTransform(p, r, "token:read")
	if err != nil {
		return nil, err
	}
	if decrypt && tr != access.Reveal {
		return nil, problem.Forbidden("Decrypting requires permission to read " + string(k) + " data in plaintext.")
	}
	if k == AtomicCard && !decrypt {
		tr = access.Mask
	}
	return v.atomicData(k, r, tr, decrypt)
}

// atomicData renders r with the transform tr (a cvc only when decrypting).
func (v *Service) atomicData(k AtomicKind, r *tokenRecord, tr string, decrypt bool) (*Atomic, error) {
	if tr == access.Redact {
		return k.view(r, nil), nil
	}
	plain, err := v.decrypt(r)
	if err != nil {
		return nil, err
	}
	data, err := kernel.DecodeData(plain)
	if err != nil {
		return nil, err
	}
	if tr == access.Reveal {
		if m, ok := data.(map[string]any); ok && !decrypt {
			delete(m, "cvc")
		}
		return k.view(r, data), nil
	}
	m, err := recordMask(r, data)
	if err != nil {
		return nil, err
	}
	return k.view(r, m), nil
}

// GetAtomic reads one atomic card or bank, masked or decrypted.
func (v *Service) GetAtomic(p *access.Principal, k AtomicKind, id string, decrypt bool) (*Atomic, error) {
	r, err := v.atomic(p, k, id)
	if err != nil {
		return nil, err
	}
	a, err := v.atomicView(p, k, r, decrypt)
	if err == nil {
		v.AuditAsync(kernel.LogEntry(p, p.TenantID, string(k), r.ID, "read", "Atomic "+string(k)+" retrieved", kernel.Now()))
		v.Metrics().TokensRead(1)
	}
	return a, err
}

// ListAtomic lists atomic cards or banks, masked.
func (v *Service) ListAtomic(p *access.Principal, k AtomicKind, ids []string, pg kernel.Page) (kernel.Paginated[Atomic], error) {
	page, total, err := v.pageTokens(p, &TokenFilter{IDs: ids, Types: []string{string(k)}}, pg)
	if err != nil {
		return kernel.Paginated[Atomic]{}, err
	}
	items := make([]Atomic, 0, len(page))
	for _, r := range page {
		a, err := v.atomicView(p, k, r, false)
		if err != nil {
			return kernel.Paginated[Atomic]{}, err
		}
		items = append(items, *a)
	}
	return kernel.Paginate(items, total, pg), nil
}

// UpdateAtomic merges the given object fields (and metadata) into the
// atomic card or bank. At least one property is required.
func (v *Service) UpdateAtomic(p *access.Principal, k AtomicKind, id string, req AtomicRequest) (*Atomic, error) {
	obj := k.object(&req)
	if (len(obj) == 0 || string(obj) == "null") && len(req.Metadata) == 0 {
		return nil, problem.Invalid(string(k), "At least one property is required.")
	}
	if _, err := v.atomic(p, k, id); err != nil {
		return nil, err
	}
	if err := v.checkTestCard(p, k, obj); err != nil {
		return nil, err
	}
	patch := map[string]json.RawMessage{}
	if len(obj) > 0 && string(obj) != "null" {
		patch["data"] = obj
	}
	if len(req.Metadata) > 0 {
		patch["metadata"] = req.Metadata
	}
	body, _ := json.Marshal(patch)
	old, n, err := v.updateToken(p, id, body)
	if err != nil {
		return nil, k.renameData(err)
	}
	// Seed 001: the answer is masked, whatever the caller may read; and, as
	// for every update, never more than it could read before.
	tr, ok := updateTransform(p, old, n)
	if !ok {
		return k.view(n, nil), nil
	}
	return v.atomicData(k, n, access.LeastRevealing(tr, access.Mask), false)
}

// DeleteAtomic deletes an atomic card or bank.
func (v *Service) DeleteAtomic(p *access.Principal, k AtomicKind, id string) error {
	if _, err := v.atomic(p, k, id); err != nil {
		return err
	}
	return v.DeleteToken(p, id)
}

// AtomicForReactor is an atomic card or bank revealed for a reactor: the
// caller must be allowed to use it in plaintext (reactor:invoke).
func (v *Service) AtomicForReactor(p *access.Principal, k AtomicKind, id string) (*Token, error) {
	src, err := v.atomic(p, k, id)
	if err != nil {
		return nil, err
	}
	tr, err := useTransform(p, src, "reactor:invoke")
	if err != nil {
		return nil, err
	}
	if tr != access.Reveal {
		return nil, problem.Forbidden("The API key may not use this " + string(k) + " in plaintext in a reactor.")
	}
	return v.view(src, access.Reveal)
}
