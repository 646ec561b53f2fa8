package test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/strongroom/strongroom/test/harness"
)

// TestSessionsAndIntentsEdges: the hostile and boundary cases of sessions,
// token intents and the token list filters, on one server (the happy paths
// run through node-sdk in test/sdk).
func TestSessionsAndIntentsEdges(t *testing.T) {
	t.Parallel()
	s := start(t)
	pubID, pub := publicAppWith(t, s, "edge public", "token:create", "token-intent:create")
	_, priv := privateAppWith(t, s, "edge private", "token:create", "token:read", "token-intent:read")
	tok := mkToken(t, s, priv, map[string]any{"type": "token", "data": "edge secret"})

	newSession := func(t *testing.T) (key, nonce string) {
		t.Helper()
		m := s.JSON(t, "POST", "/sessions", pub, nil, http.StatusOK)
		checkFields(t, "session", m, []string{"session_key", "nonce", "expires_at"}, []string{"session_key", "nonce", "expires_at"})
		return m["session_key"].(string), m["nonce"].(string)
	}

	t.Run("an unauthorized session key is refused everything", func(t *testing.T) {
		key, _ := newSession(t)
		for _, c := range []struct{ method, path string }{
			{"GET", "/tokens/" + tok}, {"GET", "/v2/tokens"}, {"GET", "/tokens"}, {"POST", "/tokens"},
			{"POST", "/sessions"}, {"GET", "/applications/key"}, {"POST", "/detokenize"},
		} {
			var body any
			if c.method == "POST" {
				body = map[string]any{"type": "token", "data": "x"}
			}
			if st, _, b := s.Do(t, c.method, c.path, key, body); st != http.StatusForbidden {
				t.Errorf("unauthorized session %s %s: %d %s, want 403", c.method, c.path, st, b)
			}
		}
	})

	t.Run("hostile authorize bodies are precise 400s", func(t *testing.T) {
		_, nonce := newSession(t)
		late := time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339)
		past := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
		for _, c := range []struct {
			body  any
			field string
		}{
			{map[string]any{"nonce": 5, "permissions": []string{"token:read"}}, "nonce"},
			{map[string]any{"permissions": []string{"token:read"}}, "nonce"},
			{map[string]any{"nonce": "nope", "permissions": []string{"token:read"}}, "nonce"},
			{map[string]any{"nonce": nonce, "permissions": []string{"tenant:delete"}}, "permissions[0]"},
			{map[string]any{"nonce": nonce, "rules": []any{map[string]any{"priority": 0, "transform": "x", "permissions": []string{}}}}, "rules[0].priority"},
			{map[string]any{"nonce": nonce, "permissions": []string{"token:read"}, "expires_at": late}, "expires_at"},
			{map[string]any{"nonce": nonce, "permissions": []string{"token:read"}, "expires_at": past}, "expires_at"},
			{"[1,2]", "body"},
		} {
			st, hdr, b := s.Do(t, "POST", "/sessions/authorize", priv, c.body)
			checkProblem(t, "authorize "+c.field, st, hdr, b, http.StatusBadRequest, c.field)
		}
		// None of them used the nonce up.
		if st, _, b := s.Do(t, "POST", "/sessions/authorize", priv, map[string]any{"nonce": nonce, "permissions": []string{"token:read"}}); st != http.StatusNoContent || len(b) != 0 {
			t.Errorf("authorize after the refusals: %d %q, want 204 with no body", st, b)
		}
	})

	t.Run("a session dies with the application that created it", func(t *testing.T) {
		appID, key := publicAppWith(t, s, "edge doomed", "token:create")
		m := s.JSON(t, "POST", "/sessions", key, nil, http.StatusOK)
		sk, nonce := m["session_key"].(string), m["nonce"].(string)
		s.Do(t, "POST", "/sessions/authorize", priv, map[string]any{"nonce": nonce, "permissions": []string{"token:read"}})
		mustStatus(t, "authorized session", status(t, s, "GET", "/tokens/"+tok, sk), http.StatusOK)
		mustStatus(t, "delete app", status(t, s, "DELETE", "/applications/"+appID, s.ManagementKey), http.StatusNoContent)
		mustStatus(t, "session of a deleted application", status(t, s, "GET", "/tokens/"+tok, sk), http.StatusUnauthorized)
	})

	t.Run("token intents refuse hostile input", func(t *testing.T) {
		for _, c := range []struct {
			body  any
			field string
		}{
			{map[string]any{"data": cardData}, "type"},
			{map[string]any{"type": "nope", "data": cardData}, "type"},
			{map[string]any{"type": "card"}, "data"},
			{map[string]any{"type": "card", "data": map[string]any{"number": "4242424242424242", "extra": 1}}, "data.extra"},
			{map[string]any{"type": 7, "data": cardData}, "type"},
		} {
			st, hdr, b := s.Do(t, "POST", "/token-intents", pub, c.body)
			checkProblem(t, "intent "+c.field, st, hdr, b, http.StatusBadRequest, c.field)
		}
		it := s.JSON(t, "POST", "/token-intents", pub, map[string]any{"type": "card", "data": cardData}, http.StatusCreated)
		checkFields(t, "token intent", it, []string{"id", "tenant_id", "type", "fingerprint", "card", "created_by", "created_at", "expires_at"},
			[]string{"id", "tenant_id", "type", "fingerprint", "card", "created_by", "created_at", "expires_at"})
		if it["created_by"] != pubID {
			t.Errorf("created_by %v, want %s", it["created_by"], pubID)
		}
		id := it["id"].(string)
		st, hdr, b := s.Do(t, "POST", "/tokens", priv, map[string]any{"token_intent_id": id, "type": "card", "data": cardData})
		checkProblem(t, "intent and data", st, hdr, b, http.StatusBadRequest, "token_intent_id")
		st, hdr, b = s.Do(t, "POST", "/tokenize", priv, map[string]any{"a": map[string]any{"token_intent_id": id}, "b": map[string]any{"token_intent_id": id}})
		checkProblem(t, "one intent twice in a tokenize", st, hdr, b, http.StatusBadRequest)
		mustStatus(t, "intent kept after the failed tokenize", status(t, s, "GET", "/token-intents/"+id, priv), http.StatusOK)
		mustStatus(t, "public app reads an intent", status(t, s, "GET", "/token-intents/"+id, pub), http.StatusForbidden)
		mustStatus(t, "delete without token-intent:delete", status(t, s, "DELETE", "/token-intents/"+id, priv), http.StatusForbidden)
		if strings.Contains(s.Log(), "4242424242424242") {
			t.Error("the server log holds the card number")
		}
	})

	t.Run("token lists: metadata[key]=value filters, unknown filters are refused", func(t *testing.T) {
		tag := "flt" + harness.NewKey()[4:12]
		mkToken(t, s, priv, map[string]any{"type": "token", "data": "a", "metadata": map[string]any{"tag": tag, "k": "one"}})
		mkToken(t, s, priv, map[string]any{"type": "token", "data": "b", "metadata": map[string]any{"tag": tag, "k": "two"}})
		for _, path := range []string{"/v2/tokens?metadata%5Btag%5D=" + tag + "&metadata%5Bk%5D=one", "/tokens?metadata[tag]=" + tag + "&metadata[k]=one"} {
			m := s.JSON(t, "GET", path, priv, nil, http.StatusOK)
			if d, _ := m["data"].([]any); len(d) != 1 {
				t.Errorf("GET %s: %d tokens, want 1", path, len(d))
			}
		}
		for _, c := range []struct{ path, field string }{
			{"/v2/tokens?metadta.tag=" + tag, "metadta.tag"},
			{"/v2/tokens?id=" + tok, "id"},
			{"/tokens?tag=" + tag, "tag"},
			{"/tokens/" + tok + "/children?colour=red", "colour"},
		} {
			st, hdr, b := s.Do(t, "GET", c.path, priv, nil)
			checkProblem(t, "GET "+c.path, st, hdr, b, http.StatusBadRequest, c.field)
		}
	})
}

func publicAppWith(t testing.TB, s *harness.Server, name string, perms ...string) (id, key string) {
	t.Helper()
	app := createApp(t, s, map[string]any{"name": name, "type": "public", "permissions": perms})
	return app["id"].(string), app["key"].(string)
}
