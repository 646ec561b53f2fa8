package test

import (
	"net/http"
	"strings"
	"testing"
)

// An unrecognised query parameter never widens a list: every list route
// refuses one with a 400 naming it, through a real Caddy, while the
// parameters the official SDKs send are read.
func TestListsRefuseUnknownFilters(t *testing.T) {
	s := start(t)
	mk := s.ManagementKey
	appID, _ := privateApp(t, s, "filters")
	_, priv := privateAppWith(t, s, "filters-writer", "token:create", "token:read", "payment_method:read")
	tok := mkToken(t, s, priv, map[string]any{"type": "token", "data": "x"})
	s.JSON(t, "POST", "/projects", mk, map[string]any{"id": "project-filters", "name": "Filters"}, http.StatusCreated)
	hook := s.JSON(t, "POST", "/webhooks", mk, map[string]any{"name": "f", "url": "https://example.com/hook", "events": []string{"token.created"}}, http.StatusCreated)

	for _, c := range []struct{ key, path string }{
		{priv, "/tokens"}, {priv, "/tokens/decrypt"}, {priv, "/tokens/" + tok + "/children"}, {priv, "/v2/tokens"},
		{mk, "/applications"}, {mk, "/applications/" + appID + "/keys"}, {mk, "/proxies"}, {mk, "/reactors"},
		{mk, "/reactor-formulas"}, {mk, "/logs"}, {mk, "/logs/entity-types"}, {mk, "/permissions"},
		{mk, "/projects"}, {mk, "/projects/project-filters/keys"}, {priv, "/projects/project-filters/payment-methods"},
		{mk, "/webhooks"}, {mk, "/webhooks/event-types"}, {mk, "/webhooks/" + hook["id"].(string) + "/deliveries"}, {mk, "/keys"},
	} {
		st, hdr, b := s.Do(t, "GET", c.path+"?colour=red", c.key, nil)
		if strings.HasPrefix(c.path, "/projects/project-filters/payment-methods") {
			// Seed 000's own error shape: {"error": {..., "errors": {...}}}.
			if e, _ := decodeObj(t, b)["error"].(map[string]any); st != http.StatusBadRequest || e == nil || e["errors"].(map[string]any)["colour"] == nil {
				t.Errorf("GET %s?colour=red: %d %s", c.path, st, b)
			}
		} else {
			checkProblem(t, "GET "+c.path+"?colour=red", st, hdr, b, http.StatusBadRequest, "colour")
		}
		// metadata filters exist on token lists only.
		if st, _, _ := s.Do(t, "GET", c.path+"?metadata.k=v", c.key, nil); (st == http.StatusOK) != (c.path == "/tokens" || c.path == "/tokens/decrypt" || c.path == "/v2/tokens" || c.path == "/tokens/"+tok+"/children") {
			t.Errorf("GET %s?metadata.k=v: %d", c.path, st)
		}
	}

	// What node-sdk 5.7.0 sends is read, not refused.
	for _, path := range []string{
		"/applications?id=" + appID + "&type=private&page=1&size=5",
		"/proxies?id=x&name=n&page=1&size=5", "/reactors?id=x&name=n&page=1&size=5",
		"/logs?entity_type=token&entity_id=" + tok + "&start_date=2020-01-01&end_date=2999-01-01&page=1&size=5",
		"/permissions?application_type=private",
	} {
		mustStatus(t, "GET "+path, status(t, s, "GET", path, mk), http.StatusOK)
	}
	mustStatus(t, "v2 list with node-sdk's filters", status(t, s, "GET", "/v2/tokens?type=token&container=/general/&fingerprint=f&metadata%5Bk%5D=v&start=&size=5", priv), http.StatusOK)
	// An offset list issues no cursor: a start it could not have issued is
	// refused instead of answering page 1.
	st, hdr, b := s.Do(t, "GET", "/applications?start=abc", mk, nil)
	checkProblem(t, "start on an offset list", st, hdr, b, http.StatusBadRequest, "start")

	// The key list honours node-sdk's id and type filters.
	key := s.JSON(t, "POST", "/applications/"+appID+"/keys", mk, nil, http.StatusCreated)
	if got := keyList(t, s.JSONValue(t, "GET", "/applications/"+appID+"/keys?id="+key["id"].(string), mk, nil, http.StatusOK)); len(got) != 1 || got[0]["id"] != key["id"] {
		t.Errorf("key list by id: %v", got)
	}
	if got := keyList(t, s.JSONValue(t, "GET", "/applications/"+appID+"/keys?type=public", mk, nil, http.StatusOK)); len(got) != 0 {
		t.Errorf("keys of a private application listed for type=public: %v", got)
	}
	if got := keyList(t, s.JSONValue(t, "GET", "/applications/"+appID+"/keys?type=private", mk, nil, http.StatusOK)); len(got) != 2 {
		t.Errorf("keys of the private application: %d, want 2", len(got))
	}

	// basis-theory-js listDecrypted: decrypt_type selects like type.
	mkToken(t, s, priv, map[string]any{"type": "card_number", "data": "4242424242424242"})
	m := s.JSON(t, "GET", "/tokens/decrypt?decrypt_type=token", priv, nil, http.StatusOK)
	for _, d := range m["data"].([]any) {
		if typ := d.(map[string]any)["type"]; typ != "token" {
			t.Errorf("decrypt_type=token listed a %v token", typ)
		}
	}
	st, hdr, b = s.Do(t, "GET", "/tokens/decrypt?decrypt_type=token&type=card_number", priv, nil)
	checkProblem(t, "type and decrypt_type", st, hdr, b, http.StatusBadRequest, "decrypt_type")
}
