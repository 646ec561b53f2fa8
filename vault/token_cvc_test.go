package vault

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// A card token's cvc is removed from its sealed data once the CVC
// retention has passed, the rest of the card unchanged, raising
// token.property.expired; a card without one, or written since, is left
// alone.
func TestCardTokenCVCExpires(t *testing.T) {
	e := newEnv(t)
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	move := setClock(t, t0)
	name, url := "hook", "http://127.0.0.1:9/hook"
	w, err := e.v.CreateWebhook(e.mgmt, WebhookRequest{Name: &name, URL: &url, Events: []string{"token.property.expired"}})
	if err != nil {
		t.Fatal(err)
	}
	wr := e.writer()
	const card = `{"number":"4242424242424242","expiration_month":12,"expiration_year":2030,"cvc":"123"}`
	with := mustCreate(t, e.v, wr, TokenRequest{Type: ptr("card"), Data: raw(card)})
	// A card without a cvc raises nothing (one delivery below).
	mustCreate(t, e.v, wr, TokenRequest{Type: ptr("card"), Data: raw(`{"number":"4242424242424242","expiration_month":12,"expiration_year":2031}`)})
	rewritten := mustCreate(t, e.v, wr, TokenRequest{Type: ptr("card"), Data: raw(card)})
	// What is sealed is what a reader with reveal gets back.
	sealed := func(id string) string {
		t.Helper()
		tok, err := e.v.GetToken(wr, id)
		if err != nil {
			t.Fatal(err)
		}
		return dataOf(tok)
	}
	move(t0.Add(30 * time.Minute))
	if _, err := e.v.UpdateToken(wr, rewritten.ID, []byte(`{"data":`+card+`}`)); err != nil {
		t.Fatal(err)
	}
	stored := sealed(with.ID)
	move(t0.Add(DefaultCVCRetention - time.Second))
	if err := e.v.Sweep(); err != nil || sealed(with.ID) != stored || !strings.Contains(stored, `"cvc":"123"`) {
		t.Fatalf("before the retention: %s, %v", sealed(with.ID), err)
	}
	move(t0.Add(DefaultCVCRetention + time.Second))
	if err := e.v.Sweep(); err != nil {
		t.Fatal(err)
	}
	if got, want := sealed(with.ID), strings.Replace(stored, `"cvc":"123",`, "", 1); got != want {
		t.Errorf("after the retention: %s", got)
	}
	if got := sealed(rewritten.ID); !strings.Contains(got, `"cvc":"123"`) {
		t.Errorf("a cvc written again 30 minutes later went after the first one's retention: %s", got)
	}
	if _, err := e.v.GetToken(wr, with.ID); err != nil {
		t.Fatalf("read after the purge: %v", err)
	}
	pg, err := e.v.ListWebhookDeliveries(e.mgmt, w.ID, Page{Number: 1, Size: 10})
	if err != nil || len(pg.Data) != 1 {
		t.Fatalf("deliveries %+v, %v", pg.Data, err)
	}
	var ev struct {
		Type string
		Data struct {
			Token map[string]any
			Actor map[string]any
		}
	}
	_ = json.Unmarshal(pg.Data[0].Event, &ev)
	if ev.Type != "token.property.expired" || ev.Data.Token["id"] != with.ID || ev.Data.Token["property_name"] != "cvc" ||
		len(ev.Data.Token) != 2 || ev.Data.Actor["type"] != "system" || strings.Contains(string(pg.Data[0].Event), "4242") {
		t.Errorf("event %s", pg.Data[0].Event)
	}
	move(t0.Add(30*time.Minute + DefaultCVCRetention + time.Second))
	if err := e.v.Sweep(); err != nil || strings.Contains(sealed(rewritten.ID), "cvc") {
		t.Errorf("the rewritten cvc after its own retention: %s, %v", sealed(rewritten.ID), err)
	}
}
