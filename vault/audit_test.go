package vault

import (
	"bytes"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/strongroom/strongroom/vault/access"
	"github.com/strongroom/strongroom/vault/audit"
	"github.com/strongroom/strongroom/vault/jsonorder"
	"github.com/strongroom/strongroom/vault/problem"
	"github.com/strongroom/strongroom/vault/store"
)

func logsFor(t *testing.T, v *Vault, p *access.Principal, f audit.Filter) []audit.Entry {
	t.Helper()
	pg, err := v.ListLogs(p, f, Page{Number: 1, Size: 1000}, "")
	if err != nil {
		t.Fatal(err)
	}
	return pg.Data
}

func ops(es []audit.Entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.EntityType+":"+e.Operation)
	}
	return out
}

func hasOp(es []audit.Entry, entityType, op, actor string) bool {
	for _, e := range es {
		if e.EntityType == entityType && e.Operation == op && (actor == "" || e.ActorID == actor) {
			return true
		}
	}
	return false
}

func TestAuditEntriesForEveryOperation(t *testing.T) {
	e := newEnv(t)
	mgmtID := e.mgmt.ApplicationID
	// Management operations.
	_, a := e.app("private", []string{"token:read"})
	name := "renamed"
	if _, err := e.v.UpdateApplication(e.mgmt, a.ID, ApplicationRequest{Name: &name, Permissions: []string{"token:read"}}); err != nil {
		t.Fatal(err)
	}
	k, err := e.v.CreateApplicationKey(e.mgmt, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.v.DeleteApplicationKey(e.mgmt, a.ID, k.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.v.RegenerateKey(e.mgmt, a.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.v.DeleteApplication(e.mgmt, a.ID); err != nil {
		t.Fatal(err)
	}
	appLogs := logsFor(t, e.v, e.mgmt, audit.Filter{EntityType: "application", EntityID: a.ID})
	if got := ops(appLogs); len(got) != 6 || got[0] != "application:delete" || got[5] != "application:create" {
		t.Fatalf("application entries (newest first) %v", got)
	}
	for _, en := range appLogs {
		if en.ActorID != mgmtID || en.ActorType != "application" || en.TenantID != e.mgmt.TenantID || en.Message == "" || en.CreatedAt.IsZero() {
			t.Errorf("entry %+v", en)
		}
	}
	if _, err := e.v.UpdateTenant(e.mgmt, TenantUpdate{Name: &name, Settings: map[string]string{"deduplicate_tokens": "false"}}); err != nil {
		t.Fatal(err)
	}
	if !hasOp(logsFor(t, e.v, e.mgmt, audit.Filter{EntityType: "tenant"}), "tenant", "update", mgmtID) {
		t.Error("no tenant update entry")
	}

	// Token operations.
	w := e.writer()
	tok := mustCreate(t, e.v, w, tokReq("card_number", `"4242424242424242"`))
	if _, err := e.v.GetToken(w, tok.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.v.UpdateToken(w, tok.ID, []byte(`{"metadata":{"a":"b"}}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.v.Detokenize(t.Context(), w, []byte(`{"n":"{{ `+tok.ID+` }}"}`)); err != nil {
		t.Fatal(err)
	}
	if err := e.v.DeleteToken(w, tok.ID); err != nil {
		t.Fatal(err)
	}
	out, err := e.v.Tokenize(w, map[string]any{"a": "one", "b": "two"})
	if err != nil {
		t.Fatal(err)
	}
	e.reopen() // flushes the asynchronous read entries
	tokLogs := logsFor(t, e.v, e.mgmt, audit.Filter{EntityID: tok.ID})
	for _, op := range []string{"create", "read", "update", "delete"} {
		if !hasOp(tokLogs, "token", op, w.ApplicationID) {
			t.Errorf("no token %s entry; have %v", op, ops(tokLogs))
		}
	}
	reads := 0
	for _, en := range tokLogs {
		if en.Operation == "read" {
			reads++
		}
	}
	if reads != 2 {
		t.Errorf("%d read entries, want 2 (get + detokenize)", reads)
	}
	if got := ops(tokLogs); got[0] != "token:delete" {
		t.Errorf("newest entry %v", got)
	}
	for _, id := range out.(*jsonorder.Object).Values {
		if !hasOp(logsFor(t, e.v, e.mgmt, audit.Filter{EntityID: id.(string)}), "token", "create", w.ApplicationID) {
			t.Errorf("tokenize wrote no entry for %v", id)
		}
	}
	// A failed operation writes no entry.
	before := len(logsFor(t, e.v, e.mgmt, audit.Filter{}))
	if _, err := e.v.CreateToken(w, tokReq("card_number", `"1"`)); err == nil {
		t.Fatal("invalid token created")
	}
	if _, err := e.v.Tokenize(w, map[string]any{"a": "ok", "b": map[string]any{"type": "card_number", "data": "1"}}); err == nil {
		t.Fatal("invalid tokenize succeeded")
	}
	if after := len(logsFor(t, e.v, e.mgmt, audit.Filter{})); after != before {
		t.Errorf("failed operations wrote %d entries", after-before)
	}
}

func TestListLogsOrderAndDates(t *testing.T) {
	e := newEnv(t)
	w := e.writer()
	t0 := time.Date(2031, 5, 1, 8, 0, 0, 0, time.UTC)
	move := setClock(t, t0)
	var ids []string
	for i := 0; i < 5; i++ {
		move(t0.Add(time.Duration(i) * time.Minute))
		ids = append(ids, mustCreate(t, e.v, w, tokReq("token", fmt.Sprintf(`"v%d"`, i))).ID)
	}
	got := logsFor(t, e.v, e.mgmt, audit.Filter{EntityType: "token"})
	if len(got) != 5 {
		t.Fatalf("%d token entries", len(got))
	}
	for i, en := range got {
		if en.EntityID != ids[4-i] {
			t.Fatalf("entry %d is %s, want %s (newest first)", i, en.EntityID, ids[4-i])
		}
	}
	got = logsFor(t, e.v, e.mgmt, audit.Filter{EntityType: "token", Start: t0.Add(time.Minute), End: t0.Add(3 * time.Minute)})
	if len(got) != 2 || got[0].EntityID != ids[2] || got[1].EntityID != ids[1] {
		t.Fatalf("[1m, 3m) = %v", ops(got))
	}
	pg, err := e.v.ListLogs(e.mgmt, audit.Filter{EntityType: "token"}, Page{Number: 2, Size: 2}, "")
	if err != nil || *pg.Pagination.TotalItems != 5 || *pg.Pagination.TotalPages != 3 || len(pg.Data) != 2 || pg.Data[0].EntityID != ids[2] {
		t.Fatalf("page 2: %+v, %v", pg.Pagination, err)
	}
	// Its next cursor goes on from page 3's first entry; page 2 of the
	// cursor skips one page from there.
	next, err := e.v.ListLogs(e.mgmt, audit.Filter{EntityType: "token"}, Page{Number: 1, Size: 2}, pg.Pagination.Next)
	if err != nil || len(next.Data) != 1 || next.Data[0].EntityID != ids[0] || next.Pagination.TotalItems != nil || next.Pagination.Next != "" {
		t.Fatalf("from the cursor: %+v %v, %v", next.Pagination, next.Data, err)
	}
	if _, err := e.v.ListLogs(e.mgmt, audit.Filter{}, Page{Number: 1, Size: 2}, "not a cursor!"); !problem.Is(err, 400) {
		t.Fatalf("a malformed cursor: %v", err)
	}
	// Audit entries of another tenant are invisible.
	_, bApp, err := e.v.CreateTenant("B", TenantProduction)
	if err != nil {
		t.Fatal(err)
	}
	for _, en := range logsFor(t, e.v, e.auth(bApp.Key), audit.Filter{}) {
		if en.TenantID != bApp.TenantID || en.EntityType == "token" {
			t.Fatalf("tenant B sees %+v", en)
		}
	}
}

// TestPlaintextNeverStored creates tokens with distinctive plaintext, uses
// them every way, then scans every raw key and value of the Pebble store:
// the plaintext must not appear anywhere, audit entries included.
func TestPlaintextNeverStored(t *testing.T) {
	e := newEnv(t)
	w := e.writer()
	r := e.reader("high")
	secrets := []string{
		"PLAINTEXT-MARKER-7f3a9c2e51",
		"4000056655665556",
		"371449635398431",
		"078-05-1120", "078051120",
		"987654321012",
		"ZETA-NESTED-SECRET-0042",
		"Sensitive-Tokenized-Primitive-77",
		"marker.person@example-secret.org",
		"CVC-not-stored-918",
	}
	mustCreate(t, e.v, w, TokenRequest{Type: ptr("token"), Data: raw(`"PLAINTEXT-MARKER-7f3a9c2e51"`), DeduplicateToken: ptr(true), FingerprintExpression: ptr("{{ data }}")})
	card := mustCreate(t, e.v, w, TokenRequest{Type: ptr("card_number"), Data: raw(`"4000056655665556"`), SearchIndexes: []string{"{{ data }}", "{{ data | last4 }}"}})
	mustCreate(t, e.v, w, TokenRequest{Type: ptr("card"), Data: raw(`{"number":"371449635398431","expiration_month":3,"expiration_year":2033,"cvc":"918"}`)})
	ssn := mustCreate(t, e.v, w, tokReq("social_security_number", `"078-05-1120"`))
	mustCreate(t, e.v, w, tokReq("us_bank_account_number", `"987654321012"`))
	obj := mustCreate(t, e.v, w, TokenRequest{Type: ptr("token"), Data: raw(`{"deep":{"x":"ZETA-NESTED-SECRET-0042"},"email":"marker.person@example-secret.org"}`),
		SearchIndexes: []string{"{{ data.email }}"}, FingerprintExpression: ptr("{{ data.deep.x }}")})
	if _, err := e.v.Tokenize(w, map[string]any{"p": "Sensitive-Tokenized-Primitive-77", "c": map[string]any{"type": "token", "data": "CVC-not-stored-918"}}); err != nil {
		t.Fatal(err)
	}
	// Use them: reads, searches, detokenize, update, dedupe.
	for _, id := range []string{card.ID, ssn.ID, obj.ID} {
		if _, err := e.v.GetToken(r, id); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.v.SearchTokens(r, SearchRequest{Query: "data:4000056655665556"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.v.SearchTokens(r, SearchRequest{Query: `data:"marker.person@example-secret.org"`}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.v.Detokenize(t.Context(), r, []byte(`{"a":"{{ `+card.ID+` }}","b":"{{ `+obj.ID+` | json: '$.deep.x' }}"}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.v.UpdateToken(w, obj.ID, []byte(`{"data":{"extra":"ZETA-NESTED-SECRET-0042"}}`)); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, e.v, w, TokenRequest{Type: ptr("token"), Data: raw(`"PLAINTEXT-MARKER-7f3a9c2e51"`), DeduplicateToken: ptr(true), FingerprintExpression: ptr("{{ data }}")})
	// Failed requests with plaintext must not leave it behind either.
	e.v.CreateToken(w, TokenRequest{ID: ptr(card.ID), Type: ptr("token"), Data: raw(`"PLAINTEXT-MARKER-7f3a9c2e51"`)})
	e.v.UpdateToken(w, card.ID, []byte(`{"data":"4000056655665557"}`))

	e.close() // flush read audits and release the store
	s, err := store.OpenPebble(filepath.Join(e.dir, "store"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	n := 0
	err = s.Scan(nil, nil, func(k, v []byte) bool {
		n++
		for _, sec := range append(secrets, "4000056655665557") {
			if bytes.Contains(k, []byte(sec)) || bytes.Contains(v, []byte(sec)) {
				t.Errorf("plaintext %q stored under key %q: %.200s", sec, k, v)
			}
		}
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 20 {
		t.Fatalf("scanned only %d records", n)
	}
}
