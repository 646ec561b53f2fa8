package vault

import (
	"encoding/json"
	"sync"
	"testing"

	"github.com/strongroom/strongroom/vault/access"
	"github.com/strongroom/strongroom/vault/crypto"
	"github.com/strongroom/strongroom/vault/internal/kernel"
	"github.com/strongroom/strongroom/vault/store"
)

// rewriteRecord edits a token record in the store as someone with write
// access to the disk but no master key could.
func (e *env) rewriteRecord(tenantID, id string, edit func(m map[string]any)) {
	e.t.Helper()
	key := kernel.TokenRecordKey(tenantID, id)
	b, err := e.v.Store().Get(key)
	if err != nil {
		e.t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		e.t.Fatal(err)
	}
	edit(m)
	out, _ := json.Marshal(m)
	batch := e.v.Store().NewBatch()
	batch.Set(key, out)
	if err := batch.Commit(); err != nil {
		e.t.Fatal(err)
	}
	batch.Close()
}

func TestTamperedAccessAttributesFailClosed(t *testing.T) {
	e := newEnv(t)
	w := e.writer()
	general, _ := e.app("server_to_server", []string{"token:general:read:low"})
	other := mustCreate(t, e.v, w, tokReq("card_number", `"5555555555554444"`))
	edits := map[string]func(m map[string]any){
		"privacy and containers": func(m map[string]any) {
			m["privacy"] = map[string]any{"classification": "general", "impact_level": "low", "restriction_policy": "mask"}
			m["containers"] = []string{"/general/low/"}
		},
		"mask": func(m map[string]any) { m["mask"] = json.RawMessage(`"{{ data }}"`) },
		"type": func(m map[string]any) { m["type"] = "token" },
		// An old-layout record (AD version 0) is never accepted once the
		// tenant is upgraded: dropping the version is no way around it.
		"layout downgrade": func(m map[string]any) {
			delete(m, "ad")
			m["containers"] = []string{"/general/low/"}
		},
	}
	for name, edit := range edits {
		t.Run(name, func(t *testing.T) {
			tok := mustCreate(t, e.v, w, tokReq("card_number", `"4242424242424242"`))
			e.rewriteRecord(tok.TenantID, tok.ID, edit)
			e.reopen() // drops cached records; an upgrade pass runs too
			for name, p := range map[string]*access.Principal{"general reader": general, "writer": w} {
				got, err := e.v.GetToken(p, tok.ID)
				if err == nil || got != nil {
					t.Errorf("%s read a rewritten record: %v %+v", name, err, got)
				}
			}
		})
	}
	if got, err := e.v.GetToken(w, other.ID); err != nil || string(*got.Data) != `"5555555555554444"` {
		t.Errorf("an untouched token: %v %v", got, err)
	}
}

// TestLegacyRecordsUpgraded: a data dir of the previous version (records
// sealed with tenant and id only, the tenant key wrapped the old way)
// stays readable, and Open upgrades it once: afterwards its records carry
// the full associated data and the tenant key says so.
func TestLegacyRecordsUpgraded(t *testing.T) {
	e := newEnv(t)
	w := e.writer()
	var ids []string
	numbers := map[string]string{} // token id → its sealed data
	for _, n := range []string{"4242424242424242", "5555555555554444", "378282246310005"} {
		id := mustCreate(t, e.v, w, tokReq("card_number", `"`+n+`"`)).ID
		ids, numbers[id] = append(ids, id), `"`+n+`"`
	}
	tenantID := w.TenantID
	keys, err := e.v.TenantKey(tenantID)
	if err != nil {
		t.Fatal(err)
	}
	key := keys.Root()
	// Write them back as the previous version did.
	for _, id := range ids {
		plain := []byte(numbers[id])
		e.rewriteRecord(tenantID, id, func(m map[string]any) {
			delete(m, "ad")
			m["data"] = crypto.SealEnvelope(key, plain, store.Key("token", tenantID, id)) // the associated data of before AD versions
		})
	}
	b := e.v.Store().NewBatch()
	// Wrapped the way of before the full associated data.
	b.Set(store.Key("tkey", tenantID), crypto.Seal(testMaster, key, kernel.TenantKeyRecordKey(tenantID)))
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	b.Close()

	e.reopen()
	for _, id := range ids {
		got, err := e.v.GetToken(w, id)
		if err != nil || got.Data == nil {
			t.Fatalf("legacy token %s after upgrade: %v", id, err)
		}
		var r struct {
			AD int `json:"ad"`
		}
		if err := kernel.GetJSON(e.v.Store(), kernel.TokenRecordKey(tenantID, id), "Token", &r); err != nil || r.AD != kernel.RecordADVersion {
			t.Errorf("record %s has AD version %d after the upgrade (%v)", id, r.AD, err)
		}
	}
	wrapped, _ := e.v.Store().Get(store.Key("tkey", tenantID))
	rec := kernel.ParseTenantKeyRecord(wrapped)
	if _, legacy, err := e.v.Keys.UnwrapTenantKeys(tenantID, rec); err != nil || legacy || rec.Raw {
		t.Errorf("tenant key after the upgrade: legacy %v, raw %v, %v", legacy, rec.Raw, err)
	}
}

// TestConcurrentDeduplicationMakesOneToken: the fingerprint, not the new
// id, is what a deduplicating create locks.
func TestConcurrentDeduplicationMakesOneToken(t *testing.T) {
	e := newEnv(t)
	w := e.writer()
	const n = 32
	ids := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok, err := e.v.CreateToken(w, TokenRequest{Type: ptr("card_number"), Data: raw(`"4242424242424242"`), DeduplicateToken: ptr(true)})
			if err == nil {
				ids[i] = tok.ID
			}
		}()
	}
	wg.Wait()
	distinct := map[string]bool{}
	for _, id := range ids {
		distinct[id] = true
	}
	if len(distinct) != 1 || distinct[""] {
		t.Errorf("%d concurrent deduplicating creates made %d tokens", n, len(distinct))
	}
}

// TestPaymentMethodBoundToEntity: a payment method's record moved to
// another subject in the store does not open for that subject.
func TestPaymentMethodBoundToEntity(t *testing.T) {
	v, mgmt := projVaultAt(t, t.TempDir(), Settings{})
	t.Cleanup(func() { v.Close() })
	priv := projectWithKey(t, v, mgmt, "project-abc123", "key-1")
	alice := jwtCaller(t, v, priv, "project-abc123", "user-alice", "private")
	bob := jwtCaller(t, v, priv, "project-abc123", "user-bob", "private")
	pm, err := v.CreatePaymentMethod(alice, cardReq("user-alice", "4242424242424242", "02", "2030", ""))
	if err != nil {
		t.Fatal(err)
	}
	key := store.Key(kernel.PaymentMethodCollection, alice.TenantID, "project-abc123", pm.ID)
	b, _ := v.Store().Get(key)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	m["entity_id"] = "user-bob"
	out, _ := json.Marshal(m)
	batch := v.Store().NewBatch()
	batch.Set(key, out)
	if err := batch.Commit(); err != nil {
		t.Fatal(err)
	}
	batch.Close()
	if got, err := v.GetPaymentMethod(bob, pm.ID); err == nil {
		t.Errorf("bob read alice's rewritten payment method: %+v", got)
	}
}

// TestDeduplicationUpdateExisting: with token_deduplication_behavior
// update_existing the match is overwritten (under its own lock, taken on a
// retry) and keeps its identity and protection.
func TestDeduplicationUpdateExisting(t *testing.T) {
	e := newEnv(t)
	w := e.writer()
	name := "tenant"
	if _, err := e.v.UpdateTenant(e.mgmt, TenantUpdate{Name: &name, Settings: map[string]string{
		"deduplicate_tokens": "true", "token_deduplication_behavior": "update_existing"}}); err != nil {
		t.Fatal(err)
	}
	first := mustCreate(t, e.v, w, TokenRequest{Type: ptr("card_number"), Data: raw(`"4242424242424242"`), Metadata: raw(`{"n":"1"}`)})
	again := mustCreate(t, e.v, w, TokenRequest{Type: ptr("card_number"), Data: raw(`"4242424242424242"`), Metadata: raw(`{"n":"2"}`)})
	if again.ID != first.ID || again.Extras == nil || !again.Extras.Deduplicated {
		t.Fatalf("update_existing answer %+v, want %s deduplicated", again, first.ID)
	}
	got, err := e.v.GetToken(w, first.ID)
	if err != nil || string(got.Metadata) != `{"n":"2"}` || string(*got.Data) != `"4242424242424242"` {
		t.Errorf("after update_existing: %+v %v", got, err)
	}
}
