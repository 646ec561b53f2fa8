package tokens

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"time"

	"github.com/strongroom/strongroom/vault/internal/kernel"

	"github.com/strongroom/strongroom/vault/jsonorder"
	"github.com/strongroom/strongroom/vault/problem"
	"github.com/strongroom/strongroom/vault/store"
)

// A card token's cvc is kept for the CVC retention (the hosted service's
// quota, 1 h by default; `cvc_retention`, shared with payment methods;
// `off` keeps it only until the next sweep). The write that stores one
// indexes when it is due; the sweep removes it from the sealed data and
// raises token.property.expired ({token: {id, property_name: "cvc"}}).
// A fingerprint or search index computed over the cvc keeps its value.

// indexCVC adds to b the due entry of plan's cvc, if it holds one.
func (v *Service) indexCVC(b store.Batch, plan *tokenPlan) {
	r := plan.rec
	if r.Type != "card" || !bytes.Contains(plan.plain, []byte(`"cvc"`)) {
		return
	}
	var card struct {
		CVC *string `json:"cvc"`
	}
	if json.Unmarshal(plan.plain, &card) != nil || card.CVC == nil {
		return
	}
	b.Set(cvcDueKey(kernel.Now().Add(max(v.CVCRetention, 0)), r.TenantID, r.ID), nil)
}

func cvcDueKey(due time.Time, tenantID, id string) []byte {
	return store.Key(kernel.TokenCVCIndex, kernel.DueStamp(due), tenantID, id)
}

// PurgeTokenCVCs removes every card token cvc past its retention.
func (v *Service) PurgeTokenCVCs() error {
	t := kernel.Now()
	limit := append(cvcDueKey(t, "", ""), 0xff)
	due, err := kernel.DueKeys(v.Store(), kernel.TokenCVCIndex, limit)
	if err != nil {
		return err
	}
	var errs []error
	for _, k := range due {
		if parts := bytes.Split(k, []byte{0}); len(parts) == 4 {
			errs = append(errs, v.dropTokenCVC(k, string(parts[2]), string(parts[3]), t))
		}
	}
	return errors.Join(errs...)
}

// dropTokenCVC removes the cvc of one token whose due entry is indexKey,
// unless the token was written since (a later entry is its cvc's).
func (v *Service) dropTokenCVC(indexKey []byte, tenantID, id string, t time.Time) error {
	defer v.Locks.Lock("token", tenantID, id)()
	b := v.Store().NewBatch()
	b.Delete(indexKey)
	var r tokenRecord
	err := kernel.GetJSON(v.Store(), kernel.TokenRecordKey(tenantID, id), "Token", &r)
	if problem.Is(err, 404) {
		return v.Commit(b) // deleted, or its tenant was
	} else if err != nil {
		b.Close()
		return err
	}
	last := r.CreatedAt
	if r.ModifiedAt != nil {
		last = r.ModifiedAt
	}
	if last != nil && last.Add(max(v.CVCRetention, 0)).After(t) {
		return v.Commit(b)
	}
	plain, err := v.decrypt(&r)
	if err != nil {
		b.Close()
		return err
	}
	// The card's other members keep their order and number text.
	decoded, err := jsonorder.Decode(plain)
	data, _ := decoded.(*jsonorder.Object)
	if err != nil || data == nil {
		return v.Commit(b)
	}
	if _, ok := data.Values["cvc"]; !ok {
		return v.Commit(b)
	}
	delete(data.Values, "cvc")
	data.Keys = slices.DeleteFunc(data.Keys, func(k string) bool { return k == "cvc" })
	if plain, err = jsonorder.Marshal(data); err != nil {
		b.Close()
		return err
	}
	k, err := v.TenantKey(tenantID)
	if err != nil {
		b.Close()
		return err
	}
	r.Data = k.SealEnvelope(plain, r.aad())
	kernel.SetJSON(b, kernel.TokenRecordKey(tenantID, id), &r)
	e := kernel.LogEntry(nil, tenantID, "token", id, "update", "Token cvc expired", t)
	err = v.Commit(b, kernel.WithEvent(e, "token.property.expired", "token", struct {
		ID           string `json:"id"`
		PropertyName string `json:"property_name"`
	}{id, "cvc"}))
	v.Records.invalidate(cacheKey(tenantID, id))
	return err
}
