package projects

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/strongroom/strongroom/vault/crypto"
	"github.com/strongroom/strongroom/vault/internal/kernel"
	"github.com/strongroom/strongroom/vault/store"
)

// UpgradeTenantPaymentMethods reseals the tenant's old-layout payment
// methods (card and cvc) bound to their entity. They are few per tenant
// next to tokens, so one batch does.
func (v *Service) UpgradeTenantPaymentMethods(tenantID string, key []byte) error {
	var recs []*paymentMethodRecord
	var derr error
	err := v.Store().Scan(store.Prefix(kernel.PaymentMethodCollection, tenantID), nil, func(_, val []byte) bool {
		r := new(paymentMethodRecord)
		if derr = json.Unmarshal(val, r); derr != nil {
			return false
		}
		if r.AD < kernel.RecordADVersion {
			recs = append(recs, r)
		}
		return true
	})
	if err = errors.Join(err, derr); err != nil || len(recs) == 0 {
		return err
	}
	b := v.Store().NewBatch()
	reseal := func(env crypto.Envelope, oldAD, newAD []byte) (crypto.Envelope, error) {
		plain, err := crypto.OpenEnvelope(key, env, oldAD)
		if err != nil {
			return env, err
		}
		defer clear(plain)
		return crypto.SealEnvelope(key, plain, newAD), nil
	}
	for _, r := range recs {
		oldCard, oldCVC := r.aad(), r.cvcAAD()
		r.AD = kernel.RecordADVersion
		card, err := reseal(r.Card, oldCard, r.aad())
		if err != nil {
			b.Close()
			return fmt.Errorf("payment method %s: %w", r.ID, err)
		}
		r.Card = card
		if r.CVC != nil {
			cvc, err := reseal(*r.CVC, oldCVC, r.cvcAAD())
			if err != nil {
				b.Close()
				return fmt.Errorf("payment method %s cvc: %w", r.ID, err)
			}
			r.CVC = &cvc
		}
		kernel.SetJSON(b, paymentMethodKey(r.TenantID, r.ProjectID, r.ID), r)
	}
	return v.Commit(b)
}
