package vault

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/strongroom/strongroom/vault/access"
	"github.com/strongroom/strongroom/vault/internal/kernel"
	"github.com/strongroom/strongroom/vault/jwtauth"
	"github.com/strongroom/strongroom/vault/problem"
	"github.com/strongroom/strongroom/vault/store"
)

func cardReq(entity, number, month, year, cvc string) PaymentMethodRequest {
	card := map[string]any{"number": number, "expirationMonth": month, "expirationYear": year}
	if cvc != "" {
		card["cvc"] = cvc
	}
	r := PaymentMethodRequest{Card: card}
	if entity != "" {
		r.EntityID = &entity
	}
	return r
}

// jwtCaller authenticates a freshly minted token for sub with roles.
func jwtCaller(t *testing.T, v *Vault, priv, project, sub string, roles ...string) *ProjectCaller {
	t.Helper()
	c, err := v.AuthenticateJWT(project, mintJWT(t, priv, "key-1", project, sub, roles, kernel.Now()))
	if err != nil {
		t.Fatalf("AuthenticateJWT: %v", err)
	}
	return c
}

func TestPaymentMethods(t *testing.T) {
	dir := t.TempDir()
	v, mgmt := projVaultAt(t, dir, Settings{})
	reopened := false
	t.Cleanup(func() {
		if !reopened {
			v.Close()
		}
	})
	priv := projectWithKey(t, v, mgmt, "project-abc123", "key-1")
	alice := jwtCaller(t, v, priv, "project-abc123", "user-alice", "private")
	bob := jwtCaller(t, v, priv, "project-abc123", "user-bob", "private")

	pm, err := v.CreatePaymentMethod(alice, cardReq("user-alice", "4242424242424242", "02", "2030", "123"))
	if err != nil {
		t.Fatal(err)
	}
	want := PaymentMethod{ID: pm.ID, EntityID: "user-alice", CredentialTypes: []string{"virtual-card"},
		Card:      PaymentMethodCard{Brand: "visa", Details: CardDetails{Bin: "42424242", Last4: "4242", ExpirationMonth: "02", ExpirationYear: "2030"}},
		CreatedAt: pm.CreatedAt}
	if got, _ := json.Marshal(pm); string(got) != string(pmJSON(want)) || pm.CreatedAt.IsZero() {
		t.Fatalf("created %s, want %s", got, pmJSON(want))
	}
	// Numbers as JSON numbers, entityId defaulting to sub, Amex.
	amex := PaymentMethodRequest{Card: map[string]any{"number": "378282246310005", "expirationMonth": json.Number("7"), "expirationYear": json.Number("2031")}}
	pm2, err := v.CreatePaymentMethod(alice, amex)
	if err != nil || pm2.EntityID != "user-alice" || pm2.Card.Brand != "american-express" || pm2.Card.Details.ExpirationMonth != "07" ||
		pm2.Card.Details.Bin != "378282" || !slices.Equal(pm2.CredentialTypes, []string{"network-token"}) {
		t.Fatalf("amex: %+v %v", pm2, err)
	}

	got, err := v.GetPaymentMethod(alice, pm.ID)
	if err != nil || got.ID != pm.ID || got.Card.Details.Last4 != "4242" {
		t.Fatalf("get: %+v %v", got, err)
	}
	// Another subject: 404 on get and delete, not in its list.
	if _, err := v.GetPaymentMethod(bob, pm.ID); !problem.Is(err, 404) {
		t.Fatalf("bob reads alice's: %v", err)
	}
	if err := v.DeletePaymentMethod(bob, pm.ID); !problem.Is(err, 404) {
		t.Fatalf("bob deletes alice's: %v", err)
	}
	if page, err := v.ListPaymentMethods(bob, "user-alice", 10, 0); err != nil || page.Total != 0 || len(page.Items) != 0 {
		t.Fatalf("bob's list: %+v %v", page, err)
	}
	// entityId ≠ sub is a 401 entityId failure.
	_, err = v.CreatePaymentMethod(bob, cardReq("user-alice", "4242424242424242", "02", "2030", ""))
	wantCheck(t, err, jwtauth.CheckEntity)

	// Roles: public collects, but cannot read, list or delete.
	pub := jwtCaller(t, v, priv, "project-abc123", "user-alice", "public")
	if _, err := v.CreatePaymentMethod(pub, cardReq("", "5555555555554444", "12", "2029", "")); err != nil {
		t.Fatalf("public create: %v", err)
	}
	_, err = v.GetPaymentMethod(pub, pm.ID)
	wantCheck(t, err, jwtauth.CheckRole)
	_, err = v.ListPaymentMethods(pub, "", 10, 0)
	wantCheck(t, err, jwtauth.CheckRole)
	wantCheck(t, v.DeletePaymentMethod(pub, pm.ID), jwtauth.CheckRole)
	other := jwtCaller(t, v, priv, "project-abc123", "user-alice", "admin")
	_, err = v.CreatePaymentMethod(other, cardReq("", "5555555555554444", "12", "2029", ""))
	wantCheck(t, err, jwtauth.CheckRole)

	// Pagination, in creation order.
	for i := 0; i < 4; i++ {
		if _, err := v.CreatePaymentMethod(alice, cardReq("", "4000056655665556", fmt.Sprint(i+1), "2032", "")); err != nil {
			t.Fatal(err)
		}
	}
	page, err := v.ListPaymentMethods(alice, "", 2, 0)
	if err != nil || page.Total != 7 || len(page.Items) != 2 || page.Items[0].ID != pm.ID || !page.HasNext() || page.HasPrevious() {
		t.Fatalf("page 1: %+v %v", page, err)
	}
	page, _ = v.ListPaymentMethods(alice, "", 2, 6)
	if len(page.Items) != 1 || page.HasNext() || !page.HasPrevious() || page.Items[0].Card.Details.ExpirationMonth != "04" {
		t.Fatalf("last page: %+v", page)
	}
	page, _ = v.ListPaymentMethods(alice, "", 2, 10)
	if len(page.Items) != 0 || page.Total != 7 || page.HasNext() {
		t.Fatalf("past the end: %+v", page)
	}

	if err := v.DeletePaymentMethod(alice, pm.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := v.GetPaymentMethod(alice, pm.ID); !problem.Is(err, 404) {
		t.Fatalf("deleted: %v", err)
	}
	if page, _ := v.ListPaymentMethods(alice, "", 100, 0); page.Total != 6 {
		t.Fatalf("after delete: %d", page.Total)
	}

	// Plaintext never stored: neither the number nor the cvc.
	for _, secret := range []string{"4242424242424242", "378282246310005", `"123"`} {
		if storeContains(t, v.Store(), secret) {
			t.Fatalf("the store holds %s in clear", secret)
		}
	}

	// Every operation is audited, with the subject as actor.
	reopened = true
	v.Close() // flushes the read-audit queue
	v2, mgmt2 := projVaultAt(t, dir, Settings{})
	defer v2.Close()
	ops := map[string]int{}
	for _, e := range projectLogs(t, v2, mgmt2, "payment_method") {
		ops[e.Operation]++
		if e.ActorType != "project_subject" || e.ActorID != "project-abc123:user-alice" {
			t.Errorf("actor of %+v", e)
		}
	}
	if ops["create"] != 7 || ops["read"] < 1 || ops["delete"] != 1 {
		t.Fatalf("audited operations %v", ops)
	}
	if len(projectLogs(t, v2, mgmt2, "project")) == 0 {
		t.Fatal("project operations not audited")
	}
}

func TestPaymentMethodValidation(t *testing.T) {
	v, mgmt := projVault(t, Settings{})
	priv := projectWithKey(t, v, mgmt, "p1", "key-1")
	c := jwtCaller(t, v, priv, "p1", "user-1", "private")
	for _, tc := range []struct {
		name   string
		card   map[string]any
		fields []string
	}{
		{"no card", nil, []string{"card"}},
		{"luhn", map[string]any{"number": "4242424242424241", "expirationMonth": "02", "expirationYear": "2030"}, []string{"card.number"}},
		{"letters", map[string]any{"number": "4242abcd", "expirationMonth": "02", "expirationYear": "2030"}, []string{"card.number"}},
		{"month 13", map[string]any{"number": "4242424242424242", "expirationMonth": "13", "expirationYear": "2030"}, []string{"card.expirationMonth"}},
		{"two-digit year", map[string]any{"number": "4242424242424242", "expirationMonth": "02", "expirationYear": "30"}, []string{"card.expirationYear"}},
		{"no expiry", map[string]any{"number": "4242424242424242"}, []string{"card.expirationMonth", "card.expirationYear"}},
		{"cvc", map[string]any{"number": "4242424242424242", "expirationMonth": "02", "expirationYear": "2030", "cvc": "12"}, []string{"card.cvc"}},
		{"unknown field", map[string]any{"number": "4242424242424242", "expirationMonth": "02", "expirationYear": "2030", "pin": "1234"}, []string{"card.pin"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := v.CreatePaymentMethod(c, PaymentMethodRequest{Card: tc.card})
			p := problem.From(err)
			if p.Status != 400 {
				t.Fatalf("want 400, got %v", err)
			}
			for _, f := range tc.fields {
				if len(p.Errors[f]) == 0 {
					t.Errorf("no error on %s: %v", f, p.Errors)
				}
			}
			if len(p.Errors) != len(tc.fields) {
				t.Errorf("errors %v, want only %v", p.Errors, tc.fields)
			}
		})
	}
}

// TestCVCRetention: the cvc is sealed apart and dropped by Sweep after the
// retention; a negative retention never stores it.
// storedCVC reads the payment method's stored record: whether it holds a
// cvc, and whether that cvc is within its retention now.
func storedCVC(t *testing.T, v *Vault, tenantID, projectID, id string) (stored, retained bool) {
	t.Helper()
	var rec struct {
		CVC          json.RawMessage `json:"cvc"`
		CVCExpiresAt *time.Time      `json:"cvc_expires_at"`
	}
	if err := kernel.GetJSON(v.Store(), store.Key(kernel.PaymentMethodCollection, tenantID, projectID, id), "", &rec); err != nil {
		t.Fatalf("payment method record: %v", err)
	}
	stored = rec.CVC != nil
	return stored, stored && rec.CVCExpiresAt != nil && rec.CVCExpiresAt.After(kernel.Now())
}

func TestCVCRetention(t *testing.T) {
	setPMClock := func(t *testing.T) func(time.Time) {
		old := kernel.Now
		cur := time.Now().UTC()
		kernel.Now = func() time.Time { return cur }
		t.Cleanup(func() { kernel.Now = old })
		return func(nt time.Time) { cur = nt }
	}
	move := setPMClock(t)
	t0 := kernel.Now()
	v, mgmt := projVault(t, Settings{CVCRetention: 15 * time.Minute})
	priv := projectWithKey(t, v, mgmt, "p1", "key-1")
	c := jwtCaller(t, v, priv, "p1", "user-1", "private")
	pm, err := v.CreatePaymentMethod(c, cardReq("", "4242424242424242", "02", "2030", "987"))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := storedCVC(t, v, c.TenantID, "p1", pm.ID); !ok {
		t.Fatal("cvc not kept")
	}
	move(t0.Add(14 * time.Minute))
	if err := v.Sweep(); err != nil {
		t.Fatal(err)
	}
	if _, ok := storedCVC(t, v, c.TenantID, "p1", pm.ID); !ok {
		t.Fatal("cvc dropped before its retention")
	}
	move(t0.Add(16 * time.Minute))
	if _, ok := storedCVC(t, v, c.TenantID, "p1", pm.ID); ok {
		t.Fatal("cvc readable after its retention")
	}
	if err := v.Sweep(); err != nil {
		t.Fatal(err)
	}
	if held, _ := storedCVC(t, v, c.TenantID, "p1", pm.ID); held {
		t.Fatal("cvc still stored after Sweep")
	}
	if _, err := v.GetPaymentMethod(jwtCaller(t, v, priv, "p1", "user-1", "private"), pm.ID); err != nil {
		t.Fatalf("payment method gone with its cvc: %v", err)
	}

	v2, mgmt2 := projVault(t, Settings{CVCRetention: -1})
	priv2 := projectWithKey(t, v2, mgmt2, "p1", "key-1")
	c2 := jwtCaller(t, v2, priv2, "p1", "user-1", "private")
	pm2, err := v2.CreatePaymentMethod(c2, cardReq("", "4242424242424242", "02", "2030", "987"))
	if err != nil {
		t.Fatal(err)
	}
	if held, _ := storedCVC(t, v2, c2.TenantID, "p1", pm2.ID); held {
		t.Fatal("cvc stored with a negative retention")
	}
}

// TestPaymentMethodsByAPIKey: an API key of the project's tenant with the
// payment_method permissions acts for any subject; without them it is a
// 403; another tenant's key sees no project.
func TestPaymentMethodsByAPIKey(t *testing.T) {
	v, mgmt := projVault(t, Settings{})
	priv := projectWithKey(t, v, mgmt, "p1", "key-1")
	alice := jwtCaller(t, v, priv, "p1", "user-alice", "private")
	pm, err := v.CreatePaymentMethod(alice, cardReq("", "4242424242424242", "02", "2030", ""))
	if err != nil {
		t.Fatal(err)
	}
	app := func(perms ...string) *access.Principal {
		name, typ := "backend", access.TypePrivate
		a, err := v.CreateApplication(mgmt, ApplicationRequest{Name: &name, Type: &typ, Permissions: perms})
		if err != nil {
			t.Fatal(err)
		}
		p, _ := v.Authenticate(a.Key)
		return p
	}
	reader, err := v.ProjectCallerForKey(app("payment_method:read", "payment_method:create"), "p1")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := v.GetPaymentMethod(reader, pm.ID); err != nil || got.EntityID != "user-alice" {
		t.Fatalf("API-key read: %+v %v", got, err)
	}
	if _, err := v.CreatePaymentMethod(reader, cardReq("", "4242424242424242", "02", "2030", "")); !problem.Is(err, 400) {
		t.Fatalf("API-key create without entityId: %v", err)
	}
	if _, err := v.CreatePaymentMethod(reader, cardReq("user-bob", "4242424242424242", "02", "2030", "")); err != nil {
		t.Fatalf("API-key create: %v", err)
	}
	if page, _ := v.ListPaymentMethods(reader, "", 10, 0); page.Total != 2 {
		t.Fatalf("API-key list of the project: %d", page.Total)
	}
	if page, _ := v.ListPaymentMethods(reader, "user-bob", 10, 0); page.Total != 1 {
		t.Fatalf("API-key list of one entity: %d", page.Total)
	}
	if err := v.DeletePaymentMethod(reader, pm.ID); !problem.Is(err, 403) {
		t.Fatalf("delete without payment_method:delete: %v", err)
	}
	none, err := v.ProjectCallerForKey(app("token:read"), "p1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.GetPaymentMethod(none, pm.ID); !problem.Is(err, 403) {
		t.Fatalf("no permission: %v", err)
	}
	_, otherApp, _ := v.CreateTenant("Other", TenantTest)
	otherKey, _ := v.Authenticate(otherApp.Key)
	if _, err := v.ProjectCallerForKey(otherKey, "p1"); !problem.Is(err, 404) {
		t.Fatalf("other tenant's key: %v", err)
	}
}

func pmJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
