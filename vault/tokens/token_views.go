package tokens

import (
	"encoding/json"

	"github.com/strongroom/strongroom/vault/access"
	"github.com/strongroom/strongroom/vault/expr"
	"github.com/strongroom/strongroom/vault/internal/kernel"
	"github.com/strongroom/strongroom/vault/problem"
	"github.com/strongroom/strongroom/vault/token"
)

// How a token is shown: the one read decision (the caller's transform for
// the token's container, narrowed by a v1 restriction policy) and the
// views it renders.

// createdView is a create response: no data, the evaluated mask.
func createdView(plan *tokenPlan) *Token {
	t := baseView(plan.rec)
	t.Mask = plan.mask
	return t
}

// baseView is every field of a token except data and mask.
func baseView(r *tokenRecord) *Token {
	t := &Token{ID: r.ID, TenantID: r.TenantID, Type: r.Type, Fingerprint: r.Fingerprint,
		FingerprintExpression: r.FingerprintExpression, Containers: r.Containers,
		Metadata: r.Metadata, SearchIndexes: r.SearchIndexes, ExpiresAt: r.ExpiresAt, Audited: r.Audited}
	priv := r.Privacy
	t.Privacy = &priv
	return t
}

// readTransform is the one read decision: the caller's access rules give a
// transform for the token's container, and a v1 restriction policy of
// redact turns a mask into a redaction.
func readTransform(p *access.Principal, r *tokenRecord, perm string) (string, error) {
	tr, ok, legacy := p.Decide(perm, r.ref())
	if !ok {
		return "", problem.Forbidden("The API key does not have permission to read tokens in " + r.container())
	}
	return restrict(r, tr, legacy), nil
}

// useTransform is readTransform for detokenizing inside an invocation
// (`proxy:invoke`, `reactor:invoke`).
func useTransform(p *access.Principal, r *tokenRecord, invocation string) (string, error) {
	tr, ok, legacy := p.UseTransform(invocation, r.ref())
	if !ok {
		return "", problem.Forbidden("The API key does not have permission to use tokens in " + r.container())
	}
	return restrict(r, tr, legacy), nil
}

// restrict applies the token's v1 restriction policy to a decision made by
// v1 permissions: there, a redact policy overrides a mask. Access rules of
// the current model apply their transform as written.
func restrict(r *tokenRecord, tr string, legacy bool) string {
	if legacy && tr == access.Mask && r.Privacy.RestrictionPolicy == token.PolicyRedact {
		return access.Redact
	}
	return tr
}

var jsonNull = json.RawMessage("null")

// readView renders a token for p with data per its read transform.
func (v *Service) readView(p *access.Principal, r *tokenRecord) (*Token, error) {
	tr, err := readTransform(p, r, "token:read")
	if err != nil {
		return nil, err
	}
	return v.view(r, tr)
}

// view renders a token with its data revealed, masked or redacted.
func (v *Service) view(r *tokenRecord, tr string) (*Token, error) {
	t := baseView(r)
	if tr == access.Reveal {
		plain, err := v.decrypt(r)
		if err != nil {
			return nil, err
		}
		raw := json.RawMessage(plain)
		t.Data = &raw
		return t, nil
	}
	t.Data = &jsonNull
	data, err := v.data(r, tr)
	if err != nil || data == nil {
		return t, err
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return nil, err
	}
	rm := json.RawMessage(raw)
	t.Data = &rm
	return t, nil
}

// data is the token's data, decoded, as the transform lets it be seen:
// whole, masked, or nil when redacted (or when no mask applies).
func (v *Service) data(r *tokenRecord, tr string) (any, error) {
	if tr == access.Redact {
		return nil, nil
	}
	plain, err := v.decrypt(r)
	if err != nil {
		return nil, err
	}
	decoded, err := kernel.DecodeData(plain)
	if err != nil || tr == access.Reveal {
		return decoded, err
	}
	return recordMask(r, decoded)
}

// recordMask evaluates the token's mask over its current data.
func recordMask(r *tokenRecord, data any) (any, error) {
	if len(r.Mask) > 0 {
		m, err := kernel.DecodeData(r.Mask)
		if err != nil {
			return nil, err
		}
		return expr.EvalMask(m, data)
	}
	m, _ := token.DefaultMask(r.Type, data)
	return m, nil
}
