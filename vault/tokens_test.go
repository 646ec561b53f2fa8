package vault

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/strongroom/strongroom/vault/access"
	"github.com/strongroom/strongroom/vault/internal/kernel"
	"github.com/strongroom/strongroom/vault/jsonorder"
	"github.com/strongroom/strongroom/vault/problem"
	"github.com/strongroom/strongroom/vault/store"
)

// TestReadLevels: each type through CreateToken and GetToken, read with the
// v1 permissions of each level (seed 001: plaintext when the token's impact
// level is at or below the reader's, else the restriction policy: the mask,
// or null for redact).
func TestReadLevels(t *testing.T) {
	e := newEnv(t)
	w := e.writer()
	readers := map[string]*access.Principal{"low": e.reader("low"), "moderate": e.reader("moderate"), "high": e.reader("high")}
	type want struct{ low, moderate, high string }
	cases := []struct {
		name string
		req  TokenRequest
		want want
	}{
		{"token default (general/high/redact)", tokReq("token", `"Sensitive Value"`),
			want{"null", "null", `"Sensitive Value"`}},
		{"token moderate", TokenRequest{Type: ptr("token"), Data: raw(`"Sensitive Value"`), Privacy: &tokenPrivacy{ImpactLevel: "moderate"}},
			want{"null", `"Sensitive Value"`, `"Sensitive Value"`}},
		{"token low", TokenRequest{Type: ptr("token"), Data: raw(`"Sensitive Value"`), Privacy: &tokenPrivacy{ImpactLevel: "low"}},
			want{`"Sensitive Value"`, `"Sensitive Value"`, `"Sensitive Value"`}},
		{"token object kept byte-for-byte", TokenRequest{Type: ptr("token"), Data: raw(`{"b": 1,  "a":[true, null, 1.50]}`), Privacy: &tokenPrivacy{ImpactLevel: "low"}},
			want{`{"b": 1,  "a":[true, null, 1.50]}`, `{"b": 1,  "a":[true, null, 1.50]}`, `{"b": 1,  "a":[true, null, 1.50]}`}},
		{"card_number", tokReq("card_number", `"4242424242424242"`),
			want{`"XXXXXXXXXXXX4242"`, `"XXXXXXXXXXXX4242"`, `"4242424242424242"`}},
		{"card_number 14 digits", tokReq("card_number", `"36227206271667"`),
			want{`"XXXXXXXXXX1667"`, `"XXXXXXXXXX1667"`, `"36227206271667"`}},
		{"card_number redact override", TokenRequest{Type: ptr("card_number"), Data: raw(`"4242424242424242"`), Privacy: &tokenPrivacy{RestrictionPolicy: "redact"}},
			want{"null", "null", `"4242424242424242"`}},
		{"social_security_number", tokReq("social_security_number", `"123-45-6789"`),
			want{`"XXX-XX-6789"`, `"XXX-XX-6789"`, `"123-45-6789"`}},
		{"social_security_number digits", tokReq("social_security_number", `"123456789"`),
			want{`"XXXXX6789"`, `"XXXXX6789"`, `"123456789"`}},
		{"us_bank_account_number", tokReq("us_bank_account_number", `"1234567890"`),
			want{`"XXXXXX7890"`, `"XXXXXX7890"`, `"1234567890"`}},
		{"us_bank_routing_number (bank/low/redact)", tokReq("us_bank_routing_number", `"021000021"`),
			want{`"021000021"`, `"021000021"`, `"021000021"`}},
		{"us_bank_routing_number moderate", TokenRequest{Type: ptr("us_bank_routing_number"), Data: raw(`"021000021"`), Privacy: &tokenPrivacy{ImpactLevel: "moderate"}},
			want{"null", `"021000021"`, `"021000021"`}},
		{"us_bank_routing_number high", TokenRequest{Type: ptr("us_bank_routing_number"), Data: raw(`"021000021"`), Privacy: &tokenPrivacy{ImpactLevel: "high"}},
			want{"null", "null", `"021000021"`}},
		{"card", tokReq("card", `{"number":"4242424242424242","expiration_month":12,"expiration_year":2030,"cvc":"123"}`),
			want{`{"number":"XXXXXXXXXXXX4242","expiration_month":12,"expiration_year":2030}`,
				`{"number":"XXXXXXXXXXXX4242","expiration_month":12,"expiration_year":2030}`,
				`{"number":"4242424242424242","expiration_month":12,"expiration_year":2030,"cvc":"123"}`}},
		{"bank", tokReq("bank", `{"routing_number":"021000021","account_number":"1234567890"}`),
			want{`{"routing_number":"021000021","account_number":"XXXXXX7890"}`,
				`{"routing_number":"021000021","account_number":"XXXXXX7890"}`,
				`{"routing_number":"021000021","account_number":"1234567890"}`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			created := mustCreate(t, e.v, w, c.req)
			if created.Data != nil {
				t.Errorf("create response carries data %s", dataOf(created))
			}
			for level, wantData := range map[string]string{"low": c.want.low, "moderate": c.want.moderate, "high": c.want.high} {
				got, err := e.v.GetToken(readers[level], created.ID)
				if err != nil {
					t.Errorf("read:%s: %v", level, err)
					continue
				}
				if d := dataOf(got); !jsonEq(d, wantData) {
					t.Errorf("read:%s: data %s, want %s", level, d, wantData)
				}
				if got.Privacy == nil || got.Privacy.Classification == "" || got.ID != created.ID || got.Type != kernel.Deref(c.req.Type) {
					t.Errorf("read:%s: token fields %+v", level, got)
				}
			}
			// Plaintext is returned byte-for-byte where it was sent as is.
			if got, _ := e.v.GetToken(readers["high"], created.ID); strings.HasPrefix(kernel.Deref(c.req.Type), "token") && dataOf(got) != c.want.high {
				t.Errorf("token data not byte-for-byte: %s", dataOf(got))
			}
		})
	}
}

func TestReadWithoutPermission(t *testing.T) {
	e := newEnv(t)
	w := e.writer()
	card := mustCreate(t, e.v, w, tokReq("card_number", `"4242424242424242"`))
	gen := mustCreate(t, e.v, w, tokReq("token", `"x"`))
	onlyGeneral, _ := e.app("server_to_server", []string{"token:general:read:high"})
	if _, err := e.v.GetToken(onlyGeneral, card.ID); !problem.Is(err, 403) {
		t.Fatalf("general reader read a pci token: %v", err)
	}
	if _, err := e.v.GetToken(onlyGeneral, gen.ID); err != nil {
		t.Fatalf("general reader: %v", err)
	}
	creator, _ := e.app("server_to_server", []string{"token:pci:create"})
	if _, err := e.v.GetToken(creator, card.ID); !problem.Is(err, 403) {
		t.Fatalf("create-only key read a token: %v", err)
	}
	if _, err := e.v.ListTokens(creator, TokenFilter{}, Page{Number: 1, Size: 10}); !problem.Is(err, 403) {
		t.Fatalf("create-only key listed tokens: %v", err)
	}
	if _, err := e.v.GetToken(e.mgmt, card.ID); !problem.Is(err, 403) {
		t.Fatalf("management key read a token: %v", err)
	}
	// The list shows only what the caller may read.
	pg, err := e.v.ListTokens(onlyGeneral, TokenFilter{}, Page{Number: 1, Size: 10})
	if err != nil || pg.Pagination.TotalItems != 1 || pg.Data[0].ID != gen.ID {
		t.Fatalf("filtered list = %+v, %v", pg, err)
	}
	// Creating needs the class's create permission.
	if _, err := e.v.CreateToken(creator, tokReq("token", `"x"`)); !problem.Is(err, 403) {
		t.Fatalf("pci creator created a general token: %v", err)
	}
	if _, err := e.v.CreateToken(onlyGeneral, tokReq("token", `"x"`)); !problem.Is(err, 403) {
		t.Fatalf("reader created a token: %v", err)
	}
	if _, err := e.v.CreateToken(creator, tokReq("card_number", `"4242424242424242"`)); err != nil {
		t.Fatalf("pci creator: %v", err)
	}
	// A privacy classification override moves the token into the class
	// whose permission is needed.
	if _, err := e.v.CreateToken(onlyGeneral, TokenRequest{Type: ptr("token"), Data: raw(`"x"`), Privacy: &tokenPrivacy{Classification: "pci"}}); !problem.Is(err, 403) {
		t.Fatalf("general-only key created a pci-classified token: %v", err)
	}
	// Delete needs the delete permission.
	if err := e.v.DeleteToken(onlyGeneral, gen.ID); !problem.Is(err, 403) {
		t.Fatalf("reader deleted a token: %v", err)
	}
	if err := e.v.DeleteToken(w, gen.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.v.GetToken(onlyGeneral, gen.ID); !problem.Is(err, 404) {
		t.Fatalf("deleted token: %v", err)
	}
}

func TestTokenValidation(t *testing.T) {
	e := newEnv(t)
	w := e.writer()
	before := countTokens(t, e.v, w)
	cases := []struct {
		name   string
		req    TokenRequest
		fields []string
	}{
		{"type missing", TokenRequest{Data: raw(`"x"`)}, []string{"type"}},
		{"type unknown", tokReq("credit_card", `"x"`), []string{"type"}},
		{"data missing", TokenRequest{Type: ptr("token")}, []string{"data"}},
		{"data null", tokReq("token", `null`), []string{"data"}},
		{"card_number luhn", tokReq("card_number", `"4242424242424241"`), []string{"data"}},
		{"card_number short", tokReq("card_number", `"424242424242"`), []string{"data"}},
		{"card_number long", tokReq("card_number", `"42424242424242424242"`), []string{"data"}},
		{"card_number separators", tokReq("card_number", `"4242 4242 4242 4242"`), []string{"data"}},
		{"card_number as number", tokReq("card_number", `4242424242424242`), []string{"data"}},
		{"ssn letters", tokReq("social_security_number", `"12a-45-6789"`), []string{"data"}},
		{"ssn short", tokReq("social_security_number", `"12345678"`), []string{"data"}},
		{"ssn bad dashes", tokReq("social_security_number", `"1234-5-6789"`), []string{"data"}},
		{"account letters", tokReq("us_bank_account_number", `"12345abc"`), []string{"data"}},
		{"account short", tokReq("us_bank_account_number", `"12"`), []string{"data"}},
		{"account long", tokReq("us_bank_account_number", `"123456789012345678"`), []string{"data"}},
		{"routing checksum", tokReq("us_bank_routing_number", `"021000022"`), []string{"data"}},
		{"routing length", tokReq("us_bank_routing_number", `"02100002"`), []string{"data"}},
		{"card missing number", tokReq("card", `{"expiration_month":1}`), []string{"data.number"}},
		{"card bad month", tokReq("card", `{"number":"4242424242424242","expiration_month":13}`), []string{"data.expiration_month"}},
		{"card unknown property", tokReq("card", `{"number":"4242424242424242","pin":"1234"}`), []string{"data.pin"}},
		{"bank missing routing", tokReq("bank", `{"account_number":"1234567890"}`), []string{"data.routing_number"}},
		{"impact below minimum", TokenRequest{Type: ptr("card_number"), Data: raw(`"4242424242424242"`), Privacy: &tokenPrivacy{ImpactLevel: "low"}}, []string{"privacy.impact_level"}},
		{"impact unknown", TokenRequest{Type: ptr("token"), Data: raw(`"x"`), Privacy: &tokenPrivacy{ImpactLevel: "extreme"}}, []string{"privacy.impact_level"}},
		{"classification downgrade", TokenRequest{Type: ptr("card_number"), Data: raw(`"4242424242424242"`), Privacy: &tokenPrivacy{Classification: "general"}}, []string{"privacy.classification"}},
		{"classification sideways", TokenRequest{Type: ptr("card_number"), Data: raw(`"4242424242424242"`), Privacy: &tokenPrivacy{Classification: "pii"}}, []string{"privacy.classification"}},
		{"policy downgrade", TokenRequest{Type: ptr("token"), Data: raw(`"x"`), Privacy: &tokenPrivacy{RestrictionPolicy: "mask"}}, []string{"privacy.restriction_policy"}},
		{"metadata not strings", TokenRequest{Type: ptr("token"), Data: raw(`"x"`), Metadata: raw(`{"a":1}`)}, []string{"metadata"}},
		{"metadata not object", TokenRequest{Type: ptr("token"), Data: raw(`"x"`), Metadata: raw(`["a"]`)}, []string{"metadata"}},
		{"id too short", TokenRequest{ID: ptr("ab"), Type: ptr("token"), Data: raw(`"x"`)}, []string{"id"}},
		{"id forbidden char", TokenRequest{ID: ptr("abc/def"), Type: ptr("token"), Data: raw(`"x"`)}, []string{"id"}},
		{"container shape", TokenRequest{Type: ptr("token"), Data: raw(`"x"`), Containers: []string{"general"}}, []string{"containers[0]"}},
		{"two containers", TokenRequest{Type: ptr("token"), Data: raw(`"x"`), Containers: []string{"/a/", "/b/"}}, []string{"containers"}},
		{"expires_at past", TokenRequest{Type: ptr("token"), Data: raw(`"x"`), ExpiresAt: ptr(raw(`"2000-01-01T00:00:00Z"`))}, []string{"expires_at"}},
		{"expires_at not a date", TokenRequest{Type: ptr("token"), Data: raw(`"x"`), ExpiresAt: ptr(raw(`"tomorrow"`))}, []string{"expires_at"}},
		{"search index empty", TokenRequest{Type: ptr("token"), Data: raw(`{"a":"x"}`), SearchIndexes: []string{"{{ data.missing }}"}}, []string{"search_indexes[0]"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := e.v.CreateToken(w, c.req)
			wantProblem(t, err, 400, c.fields...)
		})
	}
	if after := countTokens(t, e.v, w); after != before {
		t.Fatalf("invalid requests wrote %d tokens", after-before)
	}
	// Valid privacy overrides (higher specificity).
	for _, pv := range []tokenPrivacy{{Classification: "pii"}, {ImpactLevel: "moderate"}, {RestrictionPolicy: "redact"}, {Classification: "BANK", ImpactLevel: "Low"}} {
		tok := mustCreate(t, e.v, w, TokenRequest{Type: ptr("token"), Data: raw(`"x"`), Privacy: &pv})
		if tok.Privacy.Classification == "" || tok.Containers[0] != "/"+tok.Privacy.Classification+"/"+tok.Privacy.ImpactLevel+"/" {
			t.Errorf("override %+v → privacy %+v containers %v", pv, tok.Privacy, tok.Containers)
		}
	}
	card := mustCreate(t, e.v, w, tokReq("card_number", `"4242424242424242"`))
	if card.Privacy.Classification != "pci" || card.Privacy.ImpactLevel != "high" || card.Privacy.RestrictionPolicy != "mask" || card.Containers[0] != "/pci/high/" {
		t.Errorf("card_number defaults %+v %v", card.Privacy, card.Containers)
	}
	if m, _ := card.Mask.(string); m != "XXXXXXXXXXXX4242" {
		t.Errorf("create response mask %v", card.Mask)
	}
}

func TestTenantIsolation(t *testing.T) {
	e := newEnv(t)
	wA := e.writer()
	rA := e.reader("high")
	tokA := mustCreate(t, e.v, wA, tokReq("card_number", `"4242424242424242"`))
	fixed := mustCreate(t, e.v, wA, TokenRequest{ID: ptr("shared-id-1"), Type: ptr("token"), Data: raw(`"from A"`)})

	_, bApp, err := e.v.CreateTenant("Tenant B", TenantProduction)
	if err != nil {
		t.Fatal(err)
	}
	mgmtB := e.auth(bApp.Key)
	wB, _ := e.appIn(mgmtB, "server_to_server", classPerms("create", "update", "delete", "read:high"))
	if wB.TenantID == wA.TenantID {
		t.Fatal("tenant B shares tenant A's id")
	}
	for _, id := range []string{tokA.ID, fixed.ID} {
		if _, err := e.v.GetToken(wB, id); !problem.Is(err, 404) {
			t.Errorf("tenant B read tenant A's token %s: %v", id, err)
		}
		if _, err := e.v.UpdateToken(wB, id, []byte(`{"metadata":{"a":"b"}}`)); !problem.Is(err, 404) {
			t.Errorf("tenant B updated tenant A's token: %v", err)
		}
		if err := e.v.DeleteToken(wB, id); !problem.Is(err, 404) {
			t.Errorf("tenant B deleted tenant A's token: %v", err)
		}
	}
	if n := countTokens(t, e.v, wB); n != 0 {
		t.Fatalf("tenant B lists %d tokens", n)
	}
	// The same client id is free in another tenant.
	fixedB := mustCreate(t, e.v, wB, TokenRequest{ID: ptr("shared-id-1"), Type: ptr("token"), Data: raw(`"from B"`)})
	if fixedB.ID != "shared-id-1" {
		t.Fatal("client id not kept")
	}
	got, err := e.v.GetToken(rA, "shared-id-1")
	if err != nil || dataOf(got) != `"from A"` {
		t.Fatalf("tenant A's token after B's create: %s, %v", dataOf(got), err)
	}
	got, _ = e.v.GetToken(wB, "shared-id-1")
	if dataOf(got) != `"from B"` {
		t.Fatalf("tenant B's token: %s", dataOf(got))
	}
	// Detokenizing another tenant's token fails as unknown.
	if _, err := e.v.Detokenize(t.Context(), wB, []byte(`{"n":"{{ `+tokA.ID+` }}"}`)); err == nil {
		t.Fatal("tenant B detokenized tenant A's token")
	}
	// Fingerprints of the same card differ across tenants and match within one.
	cardB := mustCreate(t, e.v, wB, tokReq("card_number", `"4242424242424242"`))
	card2A := mustCreate(t, e.v, wA, tokReq("card_number", `"4242424242424242"`))
	if tokA.Fingerprint == "" || tokA.Fingerprint != card2A.Fingerprint {
		t.Fatalf("fingerprints in one tenant: %q vs %q", tokA.Fingerprint, card2A.Fingerprint)
	}
	if cardB.Fingerprint == "" || cardB.Fingerprint == tokA.Fingerprint {
		t.Fatalf("fingerprint shared across tenants: %q", cardB.Fingerprint)
	}
	// Deduplication never crosses tenants.
	dB := mustCreate(t, e.v, wB, TokenRequest{Type: ptr("card_number"), Data: raw(`"4242424242424242"`), DeduplicateToken: ptr(true)})
	if dB.ID != cardB.ID {
		t.Fatalf("dedupe in B returned %s, want B's %s", dB.ID, cardB.ID)
	}
}

func TestFingerprints(t *testing.T) {
	e := newEnv(t)
	w := e.writer()
	a := mustCreate(t, e.v, w, tokReq("card_number", `"4242424242424242"`))
	b := mustCreate(t, e.v, w, tokReq("card_number", `"4242424242424242"`))
	c := mustCreate(t, e.v, w, tokReq("card_number", `"5555555555554444"`))
	card := mustCreate(t, e.v, w, tokReq("card", `{"number":"4242424242424242","expiration_month":1,"expiration_year":2031}`))
	card2 := mustCreate(t, e.v, w, tokReq("card", `{"number":"4242424242424242","expiration_month":2,"expiration_year":2032}`))
	ssn1 := mustCreate(t, e.v, w, tokReq("social_security_number", `"123-45-6789"`))
	ssn2 := mustCreate(t, e.v, w, tokReq("social_security_number", `"123456789"`))
	plain := mustCreate(t, e.v, w, tokReq("token", `"4242424242424242"`))
	if a.Fingerprint != b.Fingerprint || a.Fingerprint == c.Fingerprint {
		t.Errorf("card_number fingerprints %q %q %q", a.Fingerprint, b.Fingerprint, c.Fingerprint)
	}
	if len(a.Fingerprint) < 40 || strings.ContainsAny(a.Fingerprint, "0OIl+/=") {
		t.Errorf("fingerprint %q is not base58 of 32 bytes", a.Fingerprint)
	}
	if card.Fingerprint == "" || card.Fingerprint != card2.Fingerprint || card.Fingerprint == a.Fingerprint {
		t.Errorf("card fingerprints %q %q (card_number %q)", card.Fingerprint, card2.Fingerprint, a.Fingerprint)
	}
	if ssn1.Fingerprint == "" || ssn1.Fingerprint != ssn2.Fingerprint {
		t.Errorf("ssn fingerprints ignore dashes: %q %q", ssn1.Fingerprint, ssn2.Fingerprint)
	}
	if plain.Fingerprint != "" {
		t.Errorf("a token-type token is fingerprinted by default: %q", plain.Fingerprint)
	}
	fx := mustCreate(t, e.v, w, TokenRequest{Type: ptr("token"), Data: raw(`{"n":"abc","x":1}`), FingerprintExpression: ptr("{{ data.n }}")})
	fy := mustCreate(t, e.v, w, TokenRequest{Type: ptr("token"), Data: raw(`{"n":"abc","x":2}`), FingerprintExpression: ptr("{{ data.n }}")})
	if fx.Fingerprint == "" || fx.Fingerprint != fy.Fingerprint || fx.FingerprintExpression != "{{ data.n }}" {
		t.Errorf("fingerprint_expression: %q %q", fx.Fingerprint, fy.Fingerprint)
	}
	// Fingerprints are stable across restarts.
	e.reopen()
	again := mustCreate(t, e.v, w, tokReq("card_number", `"4242424242424242"`))
	if again.Fingerprint != a.Fingerprint {
		t.Errorf("fingerprint changed across a restart: %q → %q", a.Fingerprint, again.Fingerprint)
	}
}

func TestDeduplicateToken(t *testing.T) {
	e := newEnv(t)
	w := e.writer()
	first := mustCreate(t, e.v, w, tokReq("card_number", `"4242424242424242"`))
	n := countTokens(t, e.v, w)
	d := mustCreate(t, e.v, w, TokenRequest{Type: ptr("card_number"), Data: raw(`"4242424242424242"`), DeduplicateToken: ptr(true)})
	if d.ID != first.ID || d.Extras == nil || !d.Extras.Deduplicated {
		t.Fatalf("dedupe returned %s extras %+v, want %s deduplicated", d.ID, d.Extras, first.ID)
	}
	if countTokens(t, e.v, w) != n {
		t.Fatal("deduplicated create wrote a token")
	}
	// The deduplicated answer is the existing token as the caller may read it.
	if dataOf(d) != `"4242424242424242"` {
		t.Errorf("dedupe response data %s", dataOf(d))
	}
	creator, _ := e.app("server_to_server", []string{"token:pci:create"})
	d2 := mustCreate(t, e.v, creator, TokenRequest{Type: ptr("card_number"), Data: raw(`"4242424242424242"`), DeduplicateToken: ptr(true)})
	// A key that may not read the match is never told it exists: it gets
	// a token of its own, answered like any create.
	if d2.ID == first.ID || d2.Data != nil || d2.Extras != nil {
		t.Errorf("dedupe for a create-only key = %+v, want a new token", d2)
	}
	// deduplicate_token false (or absent) creates a new token.
	nd := mustCreate(t, e.v, w, TokenRequest{Type: ptr("card_number"), Data: raw(`"4242424242424242"`), DeduplicateToken: ptr(false)})
	if nd.ID == first.ID || (nd.Extras != nil && nd.Extras.Deduplicated) {
		t.Fatalf("deduplicate_token false deduplicated: %+v", nd)
	}
	// Other values and other types are not duplicates.
	other := mustCreate(t, e.v, w, TokenRequest{Type: ptr("card_number"), Data: raw(`"5555555555554444"`), DeduplicateToken: ptr(true)})
	if other.ID == first.ID || (other.Extras != nil && other.Extras.Deduplicated) {
		t.Fatal("a different card was deduplicated")
	}
	// A deleted token is no longer a duplicate.
	if err := e.v.DeleteToken(w, other.ID); err != nil {
		t.Fatal(err)
	}
	again := mustCreate(t, e.v, w, TokenRequest{Type: ptr("card_number"), Data: raw(`"5555555555554444"`), DeduplicateToken: ptr(true)})
	if again.ID == other.ID {
		t.Fatal("deduplicated to a deleted token")
	}
}

func TestClientSuppliedID(t *testing.T) {
	e := newEnv(t)
	w := e.writer()
	r := e.reader("high")
	tok := mustCreate(t, e.v, w, TokenRequest{ID: ptr("customer 42 ssn"), Type: ptr("social_security_number"), Data: raw(`"123-45-6789"`)})
	if tok.ID != "customer 42 ssn" {
		t.Fatalf("id %q", tok.ID)
	}
	_, err := e.v.CreateToken(w, TokenRequest{ID: ptr("customer 42 ssn"), Type: ptr("token"), Data: raw(`"other"`)})
	wantProblem(t, err, 409)
	got, err := e.v.GetToken(r, "customer 42 ssn")
	if err != nil || dataOf(got) != `"123-45-6789"` {
		t.Fatalf("original after conflict: %s, %v", dataOf(got), err)
	}
	// Duplicate ids inside one tokenize request conflict too, and write nothing.
	n := countTokens(t, e.v, r)
	_, err = e.v.Tokenize(w, map[string]any{
		"a": map[string]any{"id": "dup-id-1", "type": "token", "data": "x"},
		"b": map[string]any{"id": "dup-id-1", "type": "token", "data": "y"},
	})
	wantProblem(t, err, 409)
	if countTokens(t, e.v, r) != n {
		t.Fatal("conflicting tokenize wrote tokens")
	}
	// An alias expression makes the id from the data.
	al := mustCreate(t, e.v, w, TokenRequest{ID: ptr("{{ data | alias_preserve_format: 0, 4 }}"), Type: ptr("social_security_number"), Data: raw(`"111-22-3333"`)})
	if len(al.ID) != 11 || !strings.HasSuffix(al.ID, "-3333") || al.ID[3] != '-' {
		t.Fatalf("alias id %q", al.ID)
	}
	if got, err := e.v.GetToken(r, al.ID); err != nil || dataOf(got) != `"111-22-3333"` {
		t.Fatalf("alias token: %v", err)
	}
}

func TestTokenizeAtomicity(t *testing.T) {
	e := newEnv(t)
	w := e.writer()
	r := e.reader("high")
	existing := mustCreate(t, e.v, w, TokenRequest{ID: ptr("taken-id"), Type: ptr("token"), Data: raw(`"x"`)})
	_ = existing
	before := countTokens(t, e.v, r)
	bad := []struct {
		name  string
		body  any
		field string
		code  int
	}{
		{"invalid card", map[string]any{
			"plain": "tokenize me",
			"list":  []any{"one", "two"},
			"card":  map[string]any{"type": "card_number", "data": "4242424242424241"},
		}, "card.data", 400},
		{"invalid in array", []any{
			map[string]any{"type": "token", "data": "fine"},
			map[string]any{"type": "social_security_number", "data": "nope"},
		}, "[1].data", 400},
		{"existing id", map[string]any{
			"a": map[string]any{"type": "token", "data": "fine"},
			"b": map[string]any{"id": "taken-id", "type": "token", "data": "y"},
		}, "", 409},
		{"forbidden class", map[string]any{
			"a": map[string]any{"type": "token", "data": "fine"},
		}, "", 403},
	}
	for _, c := range bad {
		p := w
		if c.code == 403 {
			p, _ = e.app("server_to_server", []string{"token:pci:create"})
		}
		_, err := e.v.Tokenize(p, c.body)
		if c.field != "" {
			wantProblem(t, err, c.code, c.field)
		} else {
			wantProblem(t, err, c.code)
		}
		if after := countTokens(t, e.v, r); after != before {
			t.Fatalf("%s: failed tokenize wrote %d tokens", c.name, after-before)
		}
	}
	// A valid request creates every token and keeps the shape.
	out, err := e.v.Tokenize(w, map[string]any{
		"plain": "tokenize me",
		"list":  []any{"one", json.Number("2")},
		"card":  map[string]any{"type": "card_number", "data": "4242424242424242"},
		"none":  nil,
	})
	if err != nil {
		t.Fatal(err)
	}
	if after := countTokens(t, e.v, r); after != before+4 {
		t.Fatalf("tokenize wrote %d tokens, want 4", after-before)
	}
	m := out.(*jsonorder.Object).Values
	id, _ := m["plain"].(string)
	got, err := e.v.GetToken(r, id)
	if err != nil || dataOf(got) != `"tokenize me"` {
		t.Fatalf("primitive tokenized to %v: %s, %v", m["plain"], dataOf(got), err)
	}
	list := m["list"].([]any)
	if got, err := e.v.GetToken(r, list[1].(string)); err != nil || dataOf(got) != `2` {
		t.Fatalf("number tokenized: %s, %v", dataOf(got), err)
	}
	card, ok := m["card"].(*Token)
	if !ok || card.Type != "card_number" || card.Data != nil {
		t.Fatalf("card slot %#v", m["card"])
	}
	if m["none"] != nil {
		t.Fatalf("null tokenized: %v", m["none"])
	}
}

func TestUpdateTokenMergePatch(t *testing.T) {
	e := newEnv(t)
	w := e.writer()
	tok := mustCreate(t, e.v, w, TokenRequest{Type: ptr("token"), Data: raw(`{"a":1,"b":2,"c":{"d":3}}`),
		Metadata: raw(`{"x":"1","y":"2"}`), FingerprintExpression: ptr("{{ data.c.d }}")})
	up, err := e.v.UpdateToken(w, tok.ID, []byte(`{"data":{"b":null,"c":{"e":4}},"metadata":{"y":null,"z":"3"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if !jsonEq(dataOf(up), `{"a":1,"c":{"d":3,"e":4}}`) {
		t.Errorf("data after patch %s", dataOf(up))
	}
	if !jsonEq(string(up.Metadata), `{"x":"1","z":"3"}`) {
		t.Errorf("metadata after patch %s", up.Metadata)
	}
	if up.Fingerprint != tok.Fingerprint {
		t.Errorf("fingerprint changed though data.c.d did not")
	}
	if up.ModifiedAt == nil || up.ModifiedBy != w.ApplicationID || up.CreatedAt == nil || !up.CreatedAt.Equal(tok.CreatedAt.Truncate(time.Microsecond)) {
		t.Errorf("audit fields %+v", up.Audited)
	}
	up, err = e.v.UpdateToken(w, tok.ID, []byte(`{"data":{"c":{"d":9}}}`))
	if err != nil || up.Fingerprint == tok.Fingerprint || up.Fingerprint == "" {
		t.Fatalf("fingerprint not recomputed: %q → %q, %v", tok.Fingerprint, up.Fingerprint, err)
	}
	// metadata: null clears it; absent fields are left alone.
	up, err = e.v.UpdateToken(w, tok.ID, []byte(`{"metadata":null}`))
	if err != nil || len(up.Metadata) != 0 || !jsonEq(dataOf(up), `{"a":1,"c":{"d":9,"e":4}}`) {
		t.Fatalf("metadata null: md %s data %s err %v", up.Metadata, dataOf(up), err)
	}
	got, _ := e.v.GetToken(w, tok.ID)
	if !jsonEq(dataOf(got), `{"a":1,"c":{"d":9,"e":4}}`) {
		t.Fatalf("stored data %s", dataOf(got))
	}

	// card_number: a new number gets the new number's fingerprint and mask,
	// and deduplication follows it.
	card := mustCreate(t, e.v, w, tokReq("card_number", `"4242424242424242"`))
	up, err = e.v.UpdateToken(w, card.ID, []byte(`{"data":"5555555555554444"}`))
	if err != nil {
		t.Fatal(err)
	}
	ref := mustCreate(t, e.v, w, tokReq("card_number", `"5555555555554444"`))
	if up.Fingerprint != ref.Fingerprint || up.Fingerprint == card.Fingerprint {
		t.Errorf("updated fingerprint %q, want %q", up.Fingerprint, ref.Fingerprint)
	}
	low := e.reader("low")
	if got, _ := e.v.GetToken(low, card.ID); dataOf(got) != `"XXXXXXXXXXXX4444"` {
		t.Errorf("mask after update %s", dataOf(got))
	}
	d := mustCreate(t, e.v, w, TokenRequest{Type: ptr("card_number"), Data: raw(`"4242424242424242"`), DeduplicateToken: ptr(true)})
	if d.ID == card.ID {
		t.Error("deduplicated to a token whose number changed")
	}
	// Invalid patches change nothing.
	for body, field := range map[string]string{
		`{"data":"4242424242424241"}`:           "data",
		`{"metadata":{"a":1}}`:                  "metadata",
		`{"privacy":{"classification":"bank"}}`: "privacy.classification",
	} {
		_, err := e.v.UpdateToken(w, card.ID, []byte(body))
		wantProblem(t, err, 400, field)
	}
	if _, err := e.v.UpdateToken(w, card.ID, []byte(`[1]`)); !problem.Is(err, 400) {
		t.Errorf("array patch: %v", err)
	}
	if got, _ := e.v.GetToken(w, card.ID); dataOf(got) != `"5555555555554444"` {
		t.Errorf("data after invalid patches %s", dataOf(got))
	}
	// Updating needs the update permission.
	r := e.reader("high")
	if _, err := e.v.UpdateToken(r, card.ID, []byte(`{"metadata":{"a":"b"}}`)); !problem.Is(err, 403) {
		t.Errorf("reader updated a token: %v", err)
	}
	if _, err := e.v.UpdateToken(w, "no-such-token", []byte(`{}`)); !problem.Is(err, 404) {
		t.Errorf("update of unknown token: %v", err)
	}
}

// A PATCH of privacy.impact_level (allowed in 2022, wire contract §4.2) must
// change who reads the token in plaintext: the v1 read rule is decided by
// the token's impact level.
func TestUpdateImpactLevelChangesReadLevel(t *testing.T) {
	e := newEnv(t)
	w := e.writer()
	low := e.reader("low")
	tok := mustCreate(t, e.v, w, TokenRequest{Type: ptr("token"), Data: raw(`"secret"`), Privacy: &tokenPrivacy{ImpactLevel: "low"}})
	if got, _ := e.v.GetToken(low, tok.ID); dataOf(got) != `"secret"` {
		t.Fatalf("setup: low reader gets %s", dataOf(got))
	}
	up, err := e.v.UpdateToken(w, tok.ID, []byte(`{"privacy":{"impact_level":"high"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if up.Privacy.ImpactLevel != "high" {
		t.Fatalf("impact level after patch %q", up.Privacy.ImpactLevel)
	}
	got, err := e.v.GetToken(low, tok.ID)
	if err != nil || dataOf(got) != "null" {
		t.Fatalf("token raised to impact_level high (containers %v): read:low reader gets %s (err %v), want null", got.Containers, dataOf(got), err)
	}
}

// Seed 003: the mask transform returns the token's mask when one is
// defined, whatever the type's v1 restriction policy default.
func TestExplicitMaskRuleWithTokenMask(t *testing.T) {
	e := newEnv(t)
	p, _ := e.app("private", nil, access.Rule{Priority: 1, Container: "/", Transform: "mask", Permissions: []string{"token:create", "token:read"}})
	tok := mustCreate(t, e.v, p, TokenRequest{Type: ptr("token"), Data: raw(`"abcdef1234"`), Mask: raw(`"{{ data | last4 }}"`)})
	if m, _ := tok.Mask.(string); m != "1234" {
		t.Fatalf("create mask %v", tok.Mask)
	}
	got, err := e.v.GetToken(p, tok.ID)
	if err != nil || dataOf(got) != `"1234"` {
		t.Fatalf("mask rule on a token with a mask: data %s (err %v), want \"1234\"", dataOf(got), err)
	}
}

func TestExpiresAt(t *testing.T) {
	e := newEnv(t)
	w := e.writer()
	r := e.reader("high")
	t0 := time.Now().UTC().Truncate(time.Second).Add(time.Hour)
	move := setClock(t, t0)
	exp := t0.Add(time.Hour).Format(time.RFC3339)
	tok := mustCreate(t, e.v, w, TokenRequest{Type: ptr("card_number"), Data: raw(`"4242424242424242"`), ExpiresAt: ptr(raw(`"` + exp + `"`))})
	keep := mustCreate(t, e.v, w, tokReq("card_number", `"4242424242424242"`))
	if tok.ExpiresAt == nil || !tok.ExpiresAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("expires_at %v", tok.ExpiresAt)
	}
	move(t0.Add(59 * time.Minute))
	if _, err := e.v.GetToken(r, tok.ID); err != nil {
		t.Fatalf("before expiry: %v", err)
	}
	move(t0.Add(time.Hour))
	if _, err := e.v.GetToken(r, tok.ID); !problem.Is(err, 404) {
		t.Fatalf("at expiry: %v, want 404", err)
	}
	if _, err := e.v.UpdateToken(w, tok.ID, []byte(`{}`)); !problem.Is(err, 404) {
		t.Fatalf("update of expired token: %v", err)
	}
	pg, _ := e.v.ListTokens(r, TokenFilter{}, Page{Number: 1, Size: 100})
	for _, x := range pg.Data {
		if x.ID == tok.ID {
			t.Fatal("expired token listed")
		}
	}
	if _, err := e.v.Detokenize(t.Context(), r, []byte(`{"n":"{{ `+tok.ID+` }}"}`)); err == nil {
		t.Fatal("expired token detokenized")
	}
	d := mustCreate(t, e.v, w, TokenRequest{Type: ptr("card_number"), Data: raw(`"4242424242424242"`), DeduplicateToken: ptr(true)})
	if d.ID == tok.ID {
		t.Fatal("deduplicated to an expired token")
	}
	if _, err := e.v.Store().Get(kernel.TokenRecordKey(w.TenantID, tok.ID)); err != nil {
		t.Fatalf("record gone before Sweep: %v", err)
	}
	move(t0.Add(time.Hour + time.Second))
	if err := e.v.Sweep(); err != nil {
		t.Fatal(err)
	}
	if _, err := e.v.Store().Get(kernel.TokenRecordKey(w.TenantID, tok.ID)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("expired token not purged: %v", err)
	}
	for _, pfx := range []string{kernel.ExpiryIndex} {
		e.v.Store().Scan(store.Prefix(pfx), nil, func(k, _ []byte) bool { t.Errorf("index entry left: %q", k); return true })
	}
	e.v.Store().Scan(store.Prefix(kernel.FingerprintIndex, w.TenantID), nil, func(k, _ []byte) bool {
		if strings.HasSuffix(string(k), tok.ID) {
			t.Errorf("fingerprint index of purged token left: %q", k)
		}
		return true
	})
	if _, err := e.v.GetToken(r, keep.ID); err != nil {
		t.Fatalf("token without expiry purged: %v", err)
	}
	// A patch can set and clear expires_at.
	up, err := e.v.UpdateToken(w, keep.ID, []byte(`{"expires_at":"`+t0.Add(3*time.Hour).Format(time.RFC3339)+`"}`))
	if err != nil || up.ExpiresAt == nil {
		t.Fatalf("set expires_at: %v", err)
	}
	move(t0.Add(4 * time.Hour))
	if _, err := e.v.GetToken(r, keep.ID); !problem.Is(err, 404) {
		t.Fatalf("patched expiry not honoured: %v", err)
	}
}

// A token is gone for readers at the instant expires_at is reached
// (expired when expires_at <= now); Sweep at that same instant must purge it.
func TestSweepAtExactExpiry(t *testing.T) {
	e := newEnv(t)
	w := e.writer()
	t0 := time.Now().UTC().Truncate(time.Second).Add(time.Hour)
	move := setClock(t, t0)
	tok := mustCreate(t, e.v, w, TokenRequest{Type: ptr("token"), Data: raw(`"x"`),
		ExpiresAt: ptr(raw(`"` + t0.Add(time.Hour).Format(time.RFC3339) + `"`))})
	move(t0.Add(time.Hour))
	if _, err := e.v.GetToken(w, tok.ID); !problem.Is(err, 404) {
		t.Fatalf("read at expires_at: %v, want 404", err)
	}
	if err := e.v.Sweep(); err != nil {
		t.Fatal(err)
	}
	if _, err := e.v.Store().Get(kernel.TokenRecordKey(w.TenantID, tok.ID)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("token unreadable since expires_at == now, but Sweep at that instant kept it (err %v)", err)
	}
}

// Deleting a tenant leaves no index entry behind, the expiry index included.
func TestDeleteTenantLeavesNothing(t *testing.T) {
	e := newEnv(t)
	t0 := time.Now().UTC().Truncate(time.Second)
	move := setClock(t, t0)
	_, bApp, err := e.v.CreateTenant("Tenant B", TenantProduction)
	if err != nil {
		t.Fatal(err)
	}
	mgmtB := e.auth(bApp.Key)
	wB, _ := e.appIn(mgmtB, "server_to_server", classPerms("create", "read:high"))
	mustCreate(t, e.v, wB, TokenRequest{Type: ptr("social_security_number"), Data: raw(`"123-45-6789"`),
		ExpiresAt: ptr(raw(`"` + t0.Add(time.Hour).Format(time.RFC3339) + `"`))})
	mustCreate(t, e.v, wB, tokReq("card_number", `"4242424242424242"`))
	if err := e.v.DeleteTenant(mgmtB); err != nil {
		t.Fatal(err)
	}
	wantUnauthorized(t, e.v, bApp.Key, "key of deleted tenant")
	move(t0.Add(2 * time.Hour))
	if err := e.v.Sweep(); err != nil {
		t.Fatal(err)
	}
	// Only its audit log is kept, for the retention; then it goes too.
	auditKept := func(k []byte) bool {
		return strings.HasPrefix(string(k), "log\x00"+wB.TenantID+"\x00") || string(k) == "logret\x00"+wB.TenantID
	}
	kept := 0
	e.v.Store().Scan(nil, nil, func(k, _ []byte) bool {
		if strings.Contains(string(k), wB.TenantID) && !auditKept(k) {
			t.Errorf("key of deleted tenant left: %q", k)
		}
		if auditKept(k) {
			kept++
		}
		return true
	})
	if kept == 0 {
		t.Error("the deleted tenant's audit log was not kept")
	}
	move(t0.Add(DefaultAuditRetention + 3*time.Hour))
	if err := e.v.Sweep(); err != nil {
		t.Fatal(err)
	}
	e.v.Store().Scan(nil, nil, func(k, _ []byte) bool {
		if strings.Contains(string(k), wB.TenantID) {
			t.Errorf("key of deleted tenant left after the audit retention: %q", k)
		}
		return true
	})
	// Tenant A is untouched.
	e.auth(testMgmtKey)
}

func TestSearch(t *testing.T) {
	e := newEnv(t)
	w := e.writer()
	high, low := e.reader("high"), e.reader("low")
	ssn := mustCreate(t, e.v, w, TokenRequest{Type: ptr("social_security_number"), Data: raw(`"078-05-1120"`), Metadata: raw(`{"owner":"Alice"}`)})
	email := mustCreate(t, e.v, w, TokenRequest{Type: ptr("token"), Data: raw(`{"email":"Alice@Example.com"}`),
		SearchIndexes: []string{"{{ data.email | downcase }}", "{{ data.email | split: '@' | last }}"}})
	mustCreate(t, e.v, w, tokReq("social_security_number", `"111-22-3333"`))
	search := func(p *access.Principal, q string) []string {
		t.Helper()
		pg, err := e.v.SearchTokens(p, SearchRequest{Query: q})
		if err != nil {
			t.Fatalf("search %q: %v", q, err)
		}
		var ids []string
		for _, x := range pg.Data {
			ids = append(ids, x.ID)
		}
		return ids
	}
	one := func(ids []string, id string) bool { return len(ids) == 1 && ids[0] == id }
	for _, q := range []string{"data:078-05-1120", "data:078051120", "data:1120", `data:"078-05-1120"`, "data:1120 AND type:social_security_number"} {
		if got := search(high, q); !one(got, ssn.ID) {
			t.Errorf("SSN default index %q → %v", q, got)
		}
	}
	for _, q := range []string{`data:"alice@example.com"`, "data:Example.com"} {
		if got := search(high, q); !one(got, email.ID) {
			t.Errorf("search_indexes %q → %v", q, got)
		}
	}
	for _, q := range []string{`data:"Alice@Example.com"`, "data:alice", "data:078-05-112", `data:"{{ data }}"`} {
		if got := search(high, q); len(got) != 0 {
			t.Errorf("%q matched %v", q, got)
		}
	}
	// Data search needs plaintext read; metadata search needs any read.
	if got := search(low, "data:1120"); len(got) != 0 {
		t.Errorf("read:low reader found a high SSN by data: %v", got)
	}
	if got := search(low, "metadata.owner:alice"); !one(got, ssn.ID) {
		t.Errorf("metadata search (case-insensitive) → %v", got)
	}
	pg, _ := e.v.SearchTokens(low, SearchRequest{Query: "metadata.owner:alice"})
	if len(pg.Data) == 1 && dataOf(&pg.Data[0]) != `"XXX-XX-1120"` {
		t.Errorf("search result for a low reader is not masked: %s", dataOf(&pg.Data[0]))
	}
	// v2 search.
	v2, err := e.v.SearchTokensV2(high, SearchRequest{Query: "data:1120"})
	if err != nil || len(v2.Data) != 1 || v2.Data[0].ID != ssn.ID {
		t.Errorf("v2 data search: %+v, %v", v2, err)
	}
	if _, err := e.v.SearchTokensV2(high, SearchRequest{Query: "data:1120 OR data:3333"}); !problem.Is(err, 400) {
		t.Errorf("v2 compound query: %v", err)
	}
	// Permission and syntax.
	creator, _ := e.app("server_to_server", []string{"token:pii:create"})
	if _, err := e.v.SearchTokens(creator, SearchRequest{Query: "data:1120"}); !problem.Is(err, 403) {
		t.Errorf("create-only key searched: %v", err)
	}
	if _, err := e.v.SearchTokens(high, SearchRequest{Query: "data:(1120"}); !problem.Is(err, 400) {
		t.Errorf("bad syntax: %v", err)
	}
	// The index follows updates.
	if _, err := e.v.UpdateToken(w, ssn.ID, []byte(`{"data":"078-05-9999"}`)); err != nil {
		t.Fatal(err)
	}
	if got := search(high, "data:1120"); len(got) != 0 {
		t.Errorf("old index still matches after update: %v", got)
	}
	if got := search(high, "data:9999"); !one(got, ssn.ID) {
		t.Errorf("new index after update: %v", got)
	}
}

func TestTokenListFilters(t *testing.T) {
	e := newEnv(t)
	w := e.writer()
	r := e.reader("high")
	var ids []string
	for i := 0; i < 5; i++ {
		tok := mustCreate(t, e.v, w, TokenRequest{Type: ptr("token"), Data: raw(`"v"`), Metadata: raw(`{"k":"Val` + string(rune('0'+i%2)) + `"}`)})
		ids = append(ids, tok.ID)
	}
	card := mustCreate(t, e.v, w, tokReq("card_number", `"4242424242424242"`))
	pg, err := e.v.ListTokens(r, TokenFilter{}, Page{Number: 1, Size: 4})
	if err != nil || pg.Pagination.TotalItems != 6 || pg.Pagination.TotalPages != 2 || len(pg.Data) != 4 || pg.Data[0].ID != card.ID || pg.Data[1].ID != ids[4] {
		t.Fatalf("list newest first: %+v, %v", pg.Pagination, err)
	}
	pg, _ = e.v.ListTokens(r, TokenFilter{Types: []string{"card_number"}}, Page{Number: 1, Size: 10})
	if pg.Pagination.TotalItems != 1 {
		t.Errorf("type filter %d", pg.Pagination.TotalItems)
	}
	pg, _ = e.v.ListTokens(r, TokenFilter{Metadata: map[string]string{"k": "val1"}}, Page{Number: 1, Size: 10})
	if pg.Pagination.TotalItems != 2 {
		t.Errorf("v1 metadata filter (case-insensitive) %d", pg.Pagination.TotalItems)
	}
	cp, _ := e.v.ListTokensV2(r, TokenFilter{Metadata: map[string]string{"k": "val1"}, MetadataCS: true}, "", 10)
	if len(cp.Data) != 0 {
		t.Errorf("v2 metadata filter is case-sensitive: %d", len(cp.Data))
	}
	// Cursor pages cover everything once.
	seen := map[string]bool{}
	cursor := ""
	for i := 0; i < 10; i++ {
		cp, err := e.v.ListTokensV2(r, TokenFilter{}, cursor, 4)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range cp.Data {
			if seen[x.ID] {
				t.Fatalf("%s on two pages", x.ID)
			}
			seen[x.ID] = true
		}
		if cp.Pagination.Next != cp.Pagination.After {
			t.Fatal("next and after differ")
		}
		if cursor = cp.Pagination.Next; cursor == "" {
			break
		}
	}
	if len(seen) != 6 {
		t.Fatalf("cursor pages saw %d tokens", len(seen))
	}
	if _, err := e.v.ListTokensV2(r, TokenFilter{}, "not-a-cursor!", 4); !problem.Is(err, 400) {
		t.Errorf("bad cursor: %v", err)
	}
}

func TestParseMetadataFilter(t *testing.T) {
	got, err := ParseMetadataFilter(map[string][]string{"metadata.a": {"1", "2"}, "metadata": {`{"b":"2"}`}, "other": {"x"}})
	if err != nil || len(got) != 2 || got["a"] != "1" || got["b"] != "2" {
		t.Fatalf("ParseMetadataFilter = %v, %v", got, err)
	}
	_, err = ParseMetadataFilter(map[string][]string{"metadata": {`{"b":2}`}})
	wantProblem(t, err, 400, "metadata")
}
