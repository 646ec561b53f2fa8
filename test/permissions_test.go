package test

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/strongroom/strongroom/test/harness"
	"github.com/strongroom/strongroom/vault/store"
)

// End-to-end tests of the permission rules around writes: an update never
// lowers a token's protection nor answers more than its caller could read,
// atomic update answers are masked, no caller grants what it lacks, and
// deduplication neither races nor tells a caller that cannot read.

const (
	pan = "4242424242424242"
	ein = "123456789"
)

func appKey(t testing.TB, s *harness.Server, typ string, perms ...string) string {
	t.Helper()
	app := createApp(t, s, map[string]any{"name": "perm " + strings.Join(perms, " "), "type": typ, "permissions": perms})
	return app["key"].(string)
}

func patchToken(t testing.TB, s *harness.Server, key, id string, patch any) (int, http.Header, []byte) {
	t.Helper()
	req, err := harness.NewRequest("PATCH", s.BaseURL+"/tokens/"+id, key, patch)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/merge-patch+json")
	return s.Send(t, req)
}

func TestTokenUpdateNeverLowersProtection(t *testing.T) {
	s := start(t)
	writer := appKey(t, s, "server_to_server", "token:pci:create", "token:pii:create", "token:pci:read:high", "token:pii:read:high", "token:pci:update", "token:pii:update")
	lowUpdater := appKey(t, s, "server_to_server", "token:pci:read:low", "token:pii:read:low", "token:pci:update", "token:pii:update")
	updateOnly := appKey(t, s, "server_to_server", "token:pci:update")
	newCard := func() string {
		tok := s.JSON(t, "POST", "/tokens", writer, map[string]any{"type": "card",
			"data": map[string]any{"number": pan, "expiration_month": 12, "expiration_year": 2030}}, http.StatusCreated)
		return tok["id"].(string)
	}

	t.Run("seed-001 key cannot move a high card to a low container", func(t *testing.T) {
		id := newCard()
		st, hdr, body := patchToken(t, s, lowUpdater, id, map[string]any{"containers": []string{"/pci/low/"}})
		checkProblem(t, "PATCH containers /pci/low/", st, hdr, body, http.StatusForbidden)
		if strings.Contains(string(body), pan) {
			t.Errorf("the refusal holds the card number: %s", body)
		}
		got := s.JSON(t, "GET", "/tokens/"+id, lowUpdater, nil, http.StatusOK)
		if strings.Contains(js(got), pan) || !sameSet(strs(got["containers"]), []string{"/pci/high/"}) {
			t.Errorf("after the refused move the low reader sees %s", js(got))
		}
	})

	t.Run("mask cannot be widened without plaintext read", func(t *testing.T) {
		id := newCard()
		st, hdr, body := patchToken(t, s, lowUpdater, id, map[string]any{"mask": map[string]any{"number": "{{ data.number }}"}})
		checkProblem(t, "PATCH mask", st, hdr, body, http.StatusForbidden)
		if strings.Contains(string(body), pan) {
			t.Errorf("the answer holds the card number: %s", body)
		}
		if got := s.JSON(t, "GET", "/tokens/"+id, lowUpdater, nil, http.StatusOK); strings.Contains(js(got), pan) {
			t.Errorf("masked read after the refused mask change: %s", js(got))
		}
	})

	t.Run("impact level only rises", func(t *testing.T) {
		tok := s.JSON(t, "POST", "/tokens", writer, map[string]any{"type": "employer_id_number", "data": ein}, http.StatusCreated)
		id := tok["id"].(string)
		st, hdr, body := patchToken(t, s, lowUpdater, id, map[string]any{"privacy": map[string]any{"impact_level": "low"}})
		checkProblem(t, "PATCH impact_level low", st, hdr, body, http.StatusBadRequest, "privacy.impact_level")
		if strings.Contains(string(body), ein) {
			t.Errorf("the refusal holds the plaintext: %s", body)
		}
		// Even a plaintext reader cannot lower it (the hosted rule).
		st, hdr, body = patchToken(t, s, writer, id, map[string]any{"privacy": map[string]any{"impact_level": "moderate"}})
		checkProblem(t, "PATCH impact_level moderate by a reader", st, hdr, body, http.StatusBadRequest, "privacy.impact_level")
		// Raising needs no read: a low-level move up is not a loss of protection.
		low := s.JSON(t, "POST", "/tokens", writer, map[string]any{"type": "employer_id_number", "data": ein,
			"privacy": map[string]any{"impact_level": "low"}}, http.StatusCreated)
		st, _, body = patchToken(t, s, lowUpdater, low["id"].(string), map[string]any{"privacy": map[string]any{"impact_level": "high"}})
		if st != http.StatusOK {
			t.Fatalf("raising the impact level: %d %s", st, body)
		}
		up := decodeObj(t, body)
		if !sameSet(strs(up["containers"]), []string{"/pii/high/"}) || strings.Contains(string(body), ein) {
			t.Errorf("raised token answer %s, want /pii/high/ and no plaintext", body)
		}
	})

	t.Run("a plaintext reader may move a token", func(t *testing.T) {
		id := newCard()
		st, _, body := patchToken(t, s, writer, id, map[string]any{"containers": []string{"/pci/low/"}})
		if st != http.StatusOK || !sameSet(strs(decodeObj(t, body)["containers"]), []string{"/pci/low/"}) {
			t.Fatalf("move by a read:high key: %d %s", st, body)
		}
	})

	t.Run("an update without read answers no data", func(t *testing.T) {
		id := newCard()
		st, _, body := patchToken(t, s, updateOnly, id, map[string]any{"metadata": map[string]any{"note": "x"}})
		if st != http.StatusOK {
			t.Fatalf("update by an update-only key: %d %s", st, body)
		}
		got := decodeObj(t, body)
		// Not a digit of the card, even its last four as a mask shows them,
		// anywhere but in what the server generates (ids, timestamps and
		// the fingerprint, where "4242" may occur by chance).
		rest := maps.Clone(got)
		for _, k := range []string{"id", "tenant_id", "created_by", "created_at", "modified_by", "modified_at", "fingerprint"} {
			delete(rest, k)
		}
		restJSON, _ := json.Marshal(rest)
		if _, ok := got["data"]; ok || strings.Contains(string(restJSON), "4242") {
			t.Errorf("update-only answer shows data: %s", body)
		}
		if got["id"] != id || js(got["metadata"]) != `{"note":"x"}` {
			t.Errorf("update-only answer %s", body)
		}
	})
}

func TestAtomicUpdateAnswersMasked(t *testing.T) {
	s := start(t)
	writer := appKey(t, s, "server_to_server", "token:bank:create", "token:bank:read:high", "token:bank:update", "token:pci:create", "token:pci:read:high", "token:pci:update")
	bank := s.JSON(t, "POST", "/atomic/banks", writer, map[string]any{"bank": map[string]any{"routing_number": "021000021", "account_number": "1234567890"}}, http.StatusCreated)
	upd := s.JSON(t, "PATCH", "/atomic/banks/"+bank["id"].(string), writer,
		map[string]any{"bank": map[string]any{"routing_number": "021000021", "account_number": "000123456789"}}, http.StatusOK)
	b, _ := upd["bank"].(map[string]any)
	if acct, _ := b["account_number"].(string); acct == "" || strings.Contains(acct, "000123456789") || !strings.HasSuffix(acct, "6789") {
		t.Errorf("PATCH /atomic/banks answer %s, want the account number masked", js(upd))
	}
	// The read of a read:high key is plaintext (seed 001); the update answer is not.
	if got := s.JSON(t, "GET", "/atomic/banks/"+bank["id"].(string), writer, nil, http.StatusOK); !strings.Contains(js(got), "000123456789") {
		t.Errorf("GET /atomic/banks with read:high: %s, want plaintext", js(got))
	}
	card := s.JSON(t, "POST", "/atomic/cards", writer, map[string]any{"card": map[string]any{"number": pan, "expiration_month": 12, "expiration_year": 2030, "cvc": "123"}}, http.StatusCreated)
	updc := s.JSON(t, "PATCH", "/atomic/cards/"+card["id"].(string), writer,
		map[string]any{"card": map[string]any{"number": "5105105105105100", "expiration_month": 6, "expiration_year": 2033}}, http.StatusOK)
	if strings.Contains(js(updc), "5105105105105100") || strings.Contains(js(updc), "123") && strings.Contains(js(updc), "cvc") {
		t.Errorf("PATCH /atomic/cards answer %s, want masked", js(updc))
	}
}

func TestNoCallerGrantsWhatItLacks(t *testing.T) {
	s := start(t)
	bootstrap := self(t, s)["id"].(string)
	_, creator := managementApp(t, s, "creator", "application:create", "application:read")
	_, updater := managementApp(t, s, "updater", "application:update", "application:read")
	updaterID := s.JSON(t, "GET", "/applications/key", updater, nil, http.StatusOK)["id"].(string)

	st, hdr, body := s.Do(t, "POST", "/applications", creator, map[string]any{"name": "escalated", "type": "management",
		"permissions": []string{"application:read", "tenant:delete"}})
	checkProblem(t, "create a management app with a permission the caller lacks", st, hdr, body, http.StatusForbidden, "permissions[1]")
	// What it holds it may pass on, and token permissions are the data plane.
	mustStatus(t, "create with held permissions", status2(t, s, "POST", "/applications", creator,
		map[string]any{"name": "peer", "type": "management", "permissions": []string{"application:read"}}), http.StatusCreated)
	mustStatus(t, "create a private app", status2(t, s, "POST", "/applications", creator,
		map[string]any{"name": "reader", "type": "private", "permissions": []string{"token:read"}}), http.StatusCreated)

	// A key of a stronger application is a way to become it.
	mustStatus(t, "mint a key for the bootstrap application", status2(t, s, "POST", "/applications/"+bootstrap+"/keys", creator, nil), http.StatusForbidden)
	mustStatus(t, "regenerate the bootstrap application", status2(t, s, "POST", "/applications/"+bootstrap+"/regenerate", updater, nil), http.StatusForbidden)
	st, hdr, body = s.Do(t, "PUT", "/applications/"+updaterID, updater, map[string]any{"name": "updater", "permissions": []string{"application:update", "application:read", "tenant:update"}})
	checkProblem(t, "an application raising its own permissions", st, hdr, body, http.StatusForbidden, "permissions[2]")
	st, _, _ = s.Do(t, "PUT", "/applications/"+bootstrap, updater, map[string]any{"name": "renamed", "permissions": []string{"application:read"}})
	mustStatus(t, "update the bootstrap application", st, http.StatusForbidden)
	// The bootstrap key still holds everything.
	if got := self(t, s); len(strs(got["permissions"])) < 10 || got["name"] == "renamed" {
		t.Errorf("bootstrap application changed: %s", js(got))
	}
	mustStatus(t, "the management key may still mint keys", status2(t, s, "POST", "/applications/"+updaterID+"/keys", s.ManagementKey, nil), http.StatusCreated)
}

func TestDeduplicationIsAtomicAndTellsNoStranger(t *testing.T) {
	s := start(t)
	reader := appKey(t, s, "server_to_server", "token:pci:create", "token:pci:read:high")
	public := appKey(t, s, "public", "token:pci:create")
	create := func(key, number string) (int, map[string]any) {
		st, _, body := s.Do(t, "POST", "/tokens", key, map[string]any{"type": "card_number", "data": number, "deduplicate_token": true})
		if st != http.StatusCreated && st != http.StatusOK {
			return st, map[string]any{"body": string(body)}
		}
		return st, decodeObj(t, body)
	}

	// Concurrent creates of one number make one token.
	const parallel = 12
	for round, number := range []string{"4000056655665556", "5200828282828210", "6011111111111117"} {
		ids := make([]string, parallel)
		var wg sync.WaitGroup
		for i := range parallel {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req, _ := harness.NewRequest("POST", s.BaseURL+"/tokens", reader, map[string]any{"type": "card_number", "data": number, "deduplicate_token": true})
				resp, err := s.Client().Do(req)
				if err != nil {
					return
				}
				defer resp.Body.Close()
				var tok struct{ ID string }
				if json.NewDecoder(resp.Body).Decode(&tok) == nil {
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
			t.Errorf("round %d: %d concurrent deduplicating creates gave ids %v, want one token", round, parallel, ids)
		}
	}

	// A caller that may not read the match learns nothing of it.
	_, first := create(reader, pan)
	st, pub := create(public, pan)
	if st != http.StatusCreated || pub["id"] == first["id"] || pub["_extras"] != nil || pub["data"] != nil {
		t.Errorf("public dedupe of an existing number: %d %s, want a new token (existing %v)", st, js(pub), first["id"])
	}
	// A reader is still deduplicated to the token it can read.
	if _, again := create(reader, pan); again["id"] != first["id"] || js(again["_extras"]) != `{"deduplicated":true}` {
		t.Errorf("reader dedupe: %s, want %v deduplicated", js(again), first["id"])
	}
}

func TestParallelPatchKeepsEveryChange(t *testing.T) {
	s := start(t)
	mk := s.ManagementKey
	writer := appKey(t, s, "server_to_server", "token:pci:create", "token:pci:read:high", "token:pci:update")
	proxy := s.JSON(t, "POST", "/proxies", mk, map[string]any{"name": "parallel", "destination_url": "https://example.com"}, http.StatusCreated)
	reactor := s.JSON(t, "POST", "/reactors", mk, map[string]any{"name": "parallel",
		"code": "module.exports = async function (req) { return { raw: {} }; };"}, http.StatusCreated)
	tok := s.JSON(t, "POST", "/tokens", writer, map[string]any{"type": "card_number", "data": pan}, http.StatusCreated)
	card := s.JSON(t, "POST", "/atomic/cards", writer, map[string]any{"card": map[string]any{"number": pan, "expiration_month": 12, "expiration_year": 2030}}, http.StatusCreated)

	const n = 16
	cases := []struct {
		name, path, key, field, contentType string
		want                                int
		read                                func() map[string]any
	}{
		{"proxy", "/proxies/" + proxy["id"].(string), mk, "configuration", "application/merge-patch+json", http.StatusNoContent,
			func() map[string]any {
				return s.JSON(t, "GET", "/proxies/"+proxy["id"].(string), mk, nil, http.StatusOK)
			}},
		{"reactor", "/reactors/" + reactor["id"].(string), mk, "configuration", "application/merge-patch+json", http.StatusNoContent,
			func() map[string]any {
				return s.JSON(t, "GET", "/reactors/"+reactor["id"].(string), mk, nil, http.StatusOK)
			}},
		{"token", "/tokens/" + tok["id"].(string), writer, "metadata", "application/merge-patch+json", http.StatusOK,
			func() map[string]any {
				return s.JSON(t, "GET", "/tokens/"+tok["id"].(string), writer, nil, http.StatusOK)
			}},
		{"atomic card", "/atomic/cards/" + card["id"].(string), writer, "metadata", "application/json", http.StatusOK,
			func() map[string]any {
				return s.JSON(t, "GET", "/atomic/cards/"+card["id"].(string), writer, nil, http.StatusOK)
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			statuses := make([]int, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					body := fmt.Sprintf(`{%q: {"k%02d": "v"}}`, c.field, i)
					req, _ := harness.NewRequest("PATCH", s.BaseURL+c.path, c.key, body)
					req.Header.Set("Content-Type", c.contentType)
					resp, err := s.Client().Do(req)
					if err != nil {
						return
					}
					resp.Body.Close()
					statuses[i] = resp.StatusCode
				}()
			}
			wg.Wait()
			for i, st := range statuses {
				if st != c.want {
					t.Errorf("PATCH %d: status %d, want %d", i, st, c.want)
				}
			}
			got, _ := c.read()[c.field].(map[string]any)
			var missing []string
			for i := range n {
				if got[fmt.Sprintf("k%02d", i)] != "v" {
					missing = append(missing, fmt.Sprintf("k%02d", i))
				}
			}
			if len(missing) > 0 {
				t.Errorf("%d parallel PATCHes: %s lost %v (%s)", n, c.field, missing, js(got))
			}
		})
	}
}

// TestRewrittenTokenRecordFailsClosed: someone who can write the store but
// holds no master key rewrites a pci/high card's record to general/low; the
// restarted vault refuses to open it instead of handing it to a general
// reader, and other tokens stay readable.
func TestRewrittenTokenRecordFailsClosed(t *testing.T) {
	s := start(t)
	writer := appKey(t, s, "server_to_server", "token:pci:create", "token:pci:read:high")
	general := appKey(t, s, "server_to_server", "token:general:read:low")
	card := s.JSON(t, "POST", "/tokens", writer, map[string]any{"type": "card_number", "data": pan}, http.StatusCreated)
	other := s.JSON(t, "POST", "/tokens", writer, map[string]any{"type": "card_number", "data": "5555555555554444"}, http.StatusCreated)
	s.Stop(t)

	db, err := store.OpenPebble(filepath.Join(s.DataDir, "store"))
	if err != nil {
		t.Fatal(err)
	}
	key := store.Key("tok", card["tenant_id"].(string), card["id"].(string))
	rec, err := db.Get(key)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(rec, &m); err != nil {
		t.Fatal(err)
	}
	m["type"] = "token"
	m["privacy"] = map[string]any{"classification": "general", "impact_level": "low", "restriction_policy": "mask"}
	m["containers"] = []string{"/general/low/"}
	delete(m, "ad") // and pretend to be a record of the previous layout
	rec, _ = json.Marshal(m)
	b := db.NewBatch()
	b.Set(key, rec)
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	b.Close()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	s.Restart(t)
	for _, k := range []string{general, writer} {
		st, _, body := s.Do(t, "GET", "/tokens/"+card["id"].(string), k, nil)
		if st == http.StatusOK || strings.Contains(string(body), pan) {
			t.Errorf("rewritten record read: %d %s", st, body)
		}
	}
	st, _, body := s.Do(t, "POST", "/detokenize", general, map[string]any{"n": "{{ " + card["id"].(string) + " }}"})
	if strings.Contains(string(body), pan) {
		t.Errorf("rewritten record detokenized: %d %s", st, body)
	}
	if got := s.JSON(t, "GET", "/tokens/"+other["id"].(string), writer, nil, http.StatusOK); got["data"] != "5555555555554444" {
		t.Errorf("untouched token after restart: %s", js(got))
	}
}
