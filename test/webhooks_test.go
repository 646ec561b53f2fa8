package test

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/strongroom/strongroom/test/harness"
	"github.com/strongroom/strongroom/vault/webhook"
)

// hookReceiver is a loopback webhook receiver that refuses (503) until
// accept is set, recording what it accepted.
type hookReceiver struct {
	*httptest.Server
	accept   atomic.Bool
	refused  atomic.Int64
	mu       sync.Mutex
	accepted []hookDelivery
}

type hookDelivery struct {
	body      []byte
	signature string
	version   string
}

func newHookReceiver(t *testing.T) *hookReceiver {
	r := &hookReceiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		if !r.accept.Load() {
			r.refused.Add(1)
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		r.mu.Lock()
		r.accepted = append(r.accepted, hookDelivery{b, req.Header.Get("BT-SIGNATURE"), req.Header.Get("BT-SIGNATURE-VERSION")})
		r.mu.Unlock()
	}))
	t.Cleanup(r.Close)
	return r
}

// startRetryingWebhooks starts a server whose webhook deliveries retry
// quickly and for long, to loopback receivers, as the crash tests need.
func startRetryingWebhooks(t *testing.T) *harness.Server {
	return harness.Start(t, harness.Options{
		Caddyfile: repoCaddyfileWith(t, "webhooks {", "\tretry_base 100ms", "\tretry_max 300ms", "\tmax_attempts 1000", "}"),
		Env:       []string{"STRONGROOM_ALLOW_INSECURE_DESTINATIONS=true"},
	})
}

// Deliveries queued by acknowledged writes survive kill -9: they are sent
// after the restart, signed with the key `vault webhook-key` prints, and
// the attempts made before the crash stay on record.
func TestWebhookDeliveriesSurviveKill(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test")
	}
	t.Parallel()
	rcv := newHookReceiver(t)
	s := startRetryingWebhooks(t)
	hook := s.JSON(t, "POST", "/webhooks", s.ManagementKey,
		map[string]any{"name": "crash", "url": rcv.URL + "/hook", "events": []string{"token.created"}}, http.StatusCreated)
	key := tokenApp(t, s, "token:general:create")
	const n = 20
	want := map[string]bool{}
	for i := 0; i < n; i++ {
		tok := s.JSON(t, "POST", "/tokens", key, map[string]any{"type": "token", "data": "crash-plaintext"}, http.StatusCreated)
		want[tok["id"].(string)] = true
	}
	// Kill once the vault has recorded a refused attempt of every delivery
	// (the receiver sees an attempt before the vault writes its outcome).
	recorded := func() int {
		page := s.JSON(t, "GET", "/webhooks/"+hook["id"].(string)+"/deliveries?size=100", s.ManagementKey, nil, http.StatusOK)
		k := 0
		for _, d := range page["data"].([]any) {
			if len(d.(map[string]any)["attempts"].([]any)) > 0 {
				k++
			}
		}
		return k
	}
	for deadline := time.Now().Add(20 * time.Second); recorded() < n; {
		if time.Now().After(deadline) {
			t.Fatalf("only %d deliveries with a recorded attempt before the kill (%d refused)", recorded(), rcv.refused.Load())
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.Kill(t)
	rcv.accept.Store(true)

	// The operator's command works on the stopped server's data directory.
	out, err := exec.Command(harness.Binary(t), "vault", "webhook-key", "--data-dir", s.DataDir).Output()
	if err != nil {
		t.Fatalf("vault webhook-key: %v", err)
	}
	blk, _ := pem.Decode(out)
	if blk == nil {
		t.Fatalf("vault webhook-key printed %q", out)
	}
	pub, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}

	s.Restart(t)
	got := map[string]bool{}
	for deadline := time.Now().Add(30 * time.Second); len(got) < n; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("after restart %d of %d events delivered", len(got), n)
		}
		rcv.mu.Lock()
		for _, d := range rcv.accepted {
			canon, err := webhook.Canonical(d.body)
			if err != nil || d.version != "v1" || webhook.Verify(pub.(*rsa.PublicKey), canon, d.signature) != nil {
				rcv.mu.Unlock()
				t.Fatalf("a delivery does not verify (version %q): %s", d.version, d.body)
			}
			var env struct {
				Event struct {
					Type string
					Data struct{ Token struct{ ID string } }
				}
			}
			_ = json.Unmarshal(d.body, &env)
			if env.Event.Type == "token.created" && want[env.Event.Data.Token.ID] {
				got[env.Event.Data.Token.ID] = true
			}
		}
		rcv.mu.Unlock()
	}

	page := s.JSON(t, "GET", "/webhooks/"+hook["id"].(string)+"/deliveries?size=100", s.ManagementKey, nil, http.StatusOK)
	data := page["data"].([]any)
	if len(data) != n {
		t.Fatalf("%d deliveries listed, want %d", len(data), n)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		page = s.JSON(t, "GET", "/webhooks/"+hook["id"].(string)+"/deliveries?size=100", s.ManagementKey, nil, http.StatusOK)
		done := 0
		for _, d := range page["data"].([]any) {
			d := d.(map[string]any)
			attempts := d["attempts"].([]any)
			first := attempts[0].(map[string]any)
			if first["status_code"] != float64(503) {
				t.Fatalf("the attempts before the crash were lost: %s", js(d))
			}
			if d["status"] == "delivered" && attempts[len(attempts)-1].(map[string]any)["status_code"] == float64(200) {
				done++
			}
		}
		if done == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d deliveries marked delivered: %s", done, n, js(page))
		}
	}
}

// Without allow_insecure_destinations a webhook may only point at a public
// https name on 443, exactly as a proxy destination.
func TestWebhookURLUnderEgressPolicy(t *testing.T) {
	t.Parallel()
	s := start(t)
	for _, url := range []string{"http://127.0.0.1:8000/", "https://127.0.0.1/", "https://10.1.2.3/", "https://169.254.169.254/", "http://hooks.example/"} {
		body := s.JSON(t, "POST", "/webhooks", s.ManagementKey,
			map[string]any{"name": "x", "url": url, "events": []string{"token.created"}}, http.StatusBadRequest)
		if _, ok := body["errors"].(map[string]any)["url"]; !ok {
			t.Errorf("%s: errors do not name url: %s", url, js(body))
		}
	}
	s.JSON(t, "POST", "/webhooks", s.ManagementKey,
		map[string]any{"name": "x", "url": "https://hooks.example/in", "events": []string{"token.created"}}, http.StatusCreated)
}

// Applications, their keys, proxies and reactors raise the hosted service's
// events with its documented payloads, signed like token events, and never
// carry a key, a proxy's configuration or transforms, or a reactor's code
// or configuration.
func TestWebhookEntityEvents(t *testing.T) {
	t.Parallel()
	rcv := newHookReceiver(t)
	rcv.accept.Store(true)
	s := harness.Start(t, harness.Options{Env: []string{"STRONGROOM_ALLOW_INSECURE_DESTINATIONS=true"}})
	mk := s.ManagementKey
	listed := strs(s.JSONValue(t, "GET", "/webhooks/event-types", mk, nil, http.StatusOK))
	want := []string{"application.created", "application.updated", "application.deleted",
		"application.key.created", "application.key.deleted",
		"proxy.created", "proxy.updated", "proxy.deleted", "reactor.created", "reactor.updated", "reactor.deleted", "tenant.updated"}
	for _, typ := range want {
		if !slices.Contains(listed, typ) {
			t.Errorf("GET /webhooks/event-types lacks %s: %v", typ, listed)
		}
	}
	s.JSON(t, "POST", "/webhooks", mk, map[string]any{"name": "entities", "url": rcv.URL + "/hook", "events": want}, http.StatusCreated)

	const secret, code = "cfg-secret-value-0451", "/* reactor-code-marker */ module.exports = async (req) => ({ raw: {} });"
	app := createApp(t, s, map[string]any{"name": "evented", "type": "private", "permissions": []string{"token:read"}})
	appID := app["id"].(string)
	s.JSON(t, "PUT", "/applications/"+appID, mk, map[string]any{"name": "evented-2", "permissions": []string{"token:read", "token:create"}}, http.StatusOK)
	key := s.JSON(t, "POST", "/applications/"+appID+"/keys", mk, nil, http.StatusCreated)
	mustStatus(t, "delete key", status(t, s, "DELETE", "/applications/"+appID+"/keys/"+key["id"].(string), mk), http.StatusNoContent)
	mustStatus(t, "delete application", status(t, s, "DELETE", "/applications/"+appID, mk), http.StatusNoContent)
	proxy := s.JSON(t, "POST", "/proxies", mk, map[string]any{"name": "p", "destination_url": "https://example.com/api",
		"request_transform": map[string]any{"code": code}, "configuration": map[string]any{"K": secret}, "require_auth": true}, http.StatusCreated)
	proxyID := proxy["id"].(string)
	s.JSON(t, "PUT", "/proxies/"+proxyID, mk, map[string]any{"name": "p2", "destination_url": "https://example.com/v2",
		"configuration": map[string]any{"K": secret}, "require_auth": false}, http.StatusOK)
	mustStatus(t, "delete proxy", status(t, s, "DELETE", "/proxies/"+proxyID, mk), http.StatusNoContent)
	reactor := s.JSON(t, "POST", "/reactors", mk, map[string]any{"name": "r", "code": code, "configuration": map[string]any{"K": secret}}, http.StatusCreated)
	reactorID := reactor["id"].(string)
	s.JSON(t, "PUT", "/reactors/"+reactorID, mk, map[string]any{"name": "r2", "code": code, "configuration": map[string]any{"K": secret}}, http.StatusOK)
	mustStatus(t, "delete reactor", status(t, s, "DELETE", "/reactors/"+reactorID, mk), http.StatusNoContent)
	tenant := s.JSON(t, "PUT", "/tenants/self", mk, map[string]any{"name": "Renamed tenant", "settings": map[string]any{"deduplicate_tokens": "false"}}, http.StatusOK)

	events := receiveEvents(t, s, rcv, len(want), secret, "reactor-code-marker", app["key"].(string), key["key"].(string), proxy["key"].(string))
	object := func(typ, name string) map[string]any { return eventObject(t, events, typ, name) }
	// Field sets of the hosted docs (webhooks/eventdata).
	for _, c := range []struct {
		typ, name, id string
		fields        []string
		check         func(o map[string]any) bool
	}{
		{"application.created", "application", appID, []string{"id", "type", "name", "permissions", "rules", "created_by", "created_at"},
			func(o map[string]any) bool { return o["name"] == "evented" && o["type"] == "private" }},
		{"application.updated", "application", appID, []string{"id", "type", "name", "permissions", "rules", "created_at", "modified_by", "modified_at"},
			func(o map[string]any) bool { return o["name"] == "evented-2" && len(o["permissions"].([]any)) == 2 }},
		{"application.deleted", "application", appID, []string{"id"}, nil},
		{"application.key.created", "application_key", key["id"].(string), []string{"id", "application_id", "created_by", "created_at"},
			func(o map[string]any) bool { return o["application_id"] == appID }},
		{"application.key.deleted", "application_key", key["id"].(string), []string{"id", "application_id"}, nil},
		{"proxy.created", "proxy", proxyID, []string{"id", "name", "destination_url", "require_authentication", "created_by", "created_at"},
			func(o map[string]any) bool {
				return o["require_authentication"] == true && o["destination_url"] == "https://example.com/api"
			}},
		{"proxy.updated", "proxy", proxyID, []string{"id", "name", "destination_url", "require_authentication", "modified_by", "modified_at"},
			func(o map[string]any) bool { return o["name"] == "p2" && o["require_authentication"] == false }},
		{"proxy.deleted", "proxy", proxyID, []string{"id"}, nil},
		{"reactor.created", "reactor", reactorID, []string{"id", "name", "created_by", "created_at"}, nil},
		{"reactor.updated", "reactor", reactorID, []string{"id", "name", "created_at", "modified_by", "modified_at"},
			func(o map[string]any) bool { return o["name"] == "r2" }},
		{"reactor.deleted", "reactor", reactorID, []string{"id"}, nil},
		{"tenant.updated", "tenant", tenant["id"].(string), []string{"id", "name", "modified_by", "modified_at"},
			func(o map[string]any) bool { return o["name"] == "Renamed tenant" }},
	} {
		o := object(c.typ, c.name)
		allowed := append(c.fields, "application_id", "created_by", "created_at", "modified_by", "modified_at")
		checkFields(t, c.typ, o, c.fields, allowed)
		if o["id"] != c.id || c.check != nil && !c.check(o) {
			t.Errorf("%s: %s", c.typ, js(o))
		}
	}
}

// receiveEvents waits for n distinct event types at rcv, checks that each
// delivery verifies with the key `vault webhook-key` prints and carries
// none of leaks, and returns event.data by event type.
func receiveEvents(t *testing.T, s *harness.Server, rcv *hookReceiver, n int, leaks ...string) map[string]map[string]any {
	t.Helper()
	pemOut, err := exec.Command(harness.Binary(t), "vault", "webhook-key", "--data-dir", s.DataDir, "--address", s.AdminAddr).Output()
	if err != nil {
		t.Fatalf("vault webhook-key: %v", err)
	}
	blk, _ := pem.Decode(pemOut)
	pub, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	events := map[string]map[string]any{}
	for deadline := time.Now().Add(30 * time.Second); len(events) < n; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("received %d of %d event types: %v", len(events), n, events)
		}
		rcv.mu.Lock()
		for _, d := range rcv.accepted {
			canon, err := webhook.Canonical(d.body)
			if err != nil || d.version != "v1" || webhook.Verify(pub.(*rsa.PublicKey), canon, d.signature) != nil {
				t.Errorf("a delivery does not verify (version %q): %s", d.version, d.body)
			}
			for _, leak := range leaks {
				if strings.Contains(string(d.body), leak) {
					t.Errorf("a delivery carries %q: %s", leak, d.body)
				}
			}
			var env struct {
				Event struct {
					Type string
					Data map[string]any
				}
			}
			_ = json.Unmarshal(d.body, &env)
			events[env.Event.Type] = env.Event.Data
		}
		rcv.mu.Unlock()
	}
	return events
}

// eventObject is event.data.<name> of the typ event, by an application.
func eventObject(t *testing.T, events map[string]map[string]any, typ, name string) map[string]any {
	t.Helper()
	o, _ := events[typ][name].(map[string]any)
	if o == nil {
		t.Errorf("%s: no %s in %v", typ, name, events[typ])
	}
	if actor, _ := events[typ]["actor"].(map[string]any); actor["type"] != "application" || actor["id"] == "" {
		t.Errorf("%s: actor %v", typ, events[typ]["actor"])
	}
	return o
}

// Sessions and token intents raise their documented events: never the
// session key, its nonce, nor the intent's data.
func TestWebhookSessionAndTokenIntentEvents(t *testing.T) {
	t.Parallel()
	rcv := newHookReceiver(t)
	rcv.accept.Store(true)
	s := harness.Start(t, harness.Options{Env: []string{"STRONGROOM_ALLOW_INSECURE_DESTINATIONS=true"}})
	want := []string{"session.created", "session.authorized", "token-intent.created", "token-intent.deleted", "token-intent.converted"}
	s.JSON(t, "POST", "/webhooks", s.ManagementKey, map[string]any{"name": "sessions", "url": rcv.URL + "/hook", "events": want}, http.StatusCreated)
	pubID, pub := publicAppWith(t, s, "session issuer", "token:create")
	_, priv := privateAppWith(t, s, "session granter", "token:create", "token:read", "token-intent:create", "token-intent:delete")
	sess := s.JSON(t, "POST", "/sessions", pub, nil, http.StatusOK)
	mustStatus(t, "authorize", func() int {
		st, _, _ := s.Do(t, "POST", "/sessions/authorize", priv, map[string]any{"nonce": sess["nonce"], "permissions": []string{"token:read"}})
		return st
	}(), http.StatusNoContent)
	const pan = "4242424242424242"
	it := s.JSON(t, "POST", "/token-intents", priv, map[string]any{"type": "card",
		"data": map[string]any{"number": pan, "expiration_month": 12, "expiration_year": 2099, "cvc": "123"}}, http.StatusCreated)
	mustStatus(t, "delete intent", status(t, s, "DELETE", "/token-intents/"+it["id"].(string), priv), http.StatusNoContent)
	it2 := s.JSON(t, "POST", "/token-intents", priv, map[string]any{"type": "card",
		"data": map[string]any{"number": pan, "expiration_month": 12, "expiration_year": 2099}}, http.StatusCreated)
	tok := s.JSON(t, "POST", "/tokens", priv, map[string]any{"token_intent_id": it2["id"]}, http.StatusCreated)

	events := receiveEvents(t, s, rcv, len(want), sess["session_key"].(string), sess["nonce"].(string), pan, "42424242")
	created := eventObject(t, events, "session.created", "session")
	checkFields(t, "session.created", created, []string{"id", "created_by", "created_at", "expires_at", "issued_to_application"},
		[]string{"id", "created_by", "created_at", "expires_at", "issued_to_application"})
	if to, _ := created["issued_to_application"].(map[string]any); to["id"] != pubID || to["name"] != "session issuer" {
		t.Errorf("session.created issued_to_application %v", created["issued_to_application"])
	}
	authorized := eventObject(t, events, "session.authorized", "session")
	if authorized["id"] != created["id"] || !sameSet(strs(authorized["permissions"]), []string{"token:read"}) {
		t.Errorf("session.authorized %s", js(authorized))
	}
	ic := eventObject(t, events, "token-intent.created", "token_intent")
	checkFields(t, "token-intent.created", ic, []string{"id", "type", "fingerprint", "created_by", "created_at", "expires_at"},
		[]string{"id", "type", "fingerprint", "created_by", "created_at", "expires_at"})
	// Two intents of one card were created: either event, one fingerprint.
	if ic["id"] != it["id"] && ic["id"] != it2["id"] || ic["type"] != "card" || ic["fingerprint"] != it["fingerprint"] {
		t.Errorf("token-intent.created %s", js(ic))
	}
	if d := eventObject(t, events, "token-intent.deleted", "token_intent"); d["id"] != it["id"] || len(d) != 1 {
		t.Errorf("token-intent.deleted %s", js(d))
	}
	ci, ct := eventObject(t, events, "token-intent.converted", "token_intent"), eventObject(t, events, "token-intent.converted", "token")
	if ci["id"] != it2["id"] || ci["type"] != "card" || ct["id"] != tok["id"] || ct["type"] != "card" || len(ci) != 2 || len(ct) != 2 {
		t.Errorf("token-intent.converted %s", js(events["token-intent.converted"]))
	}
}

// Reads and invocations raise token.read, proxy.invoked, reactor.invoked,
// reactor.completed and reactor.failed with the documented objects: ids,
// the actor, a status and timing, never the data, args, results, headers,
// bodies or the URL of the call.
func TestWebhookInvocationEvents(t *testing.T) {
	t.Parallel()
	rcv := newHookReceiver(t)
	rcv.accept.Store(true)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Answer-Marker", "answer-header-marker")
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, `{"echo":"answer-body-marker"}`)
	}))
	t.Cleanup(up.Close)
	s := harness.Start(t, harness.Options{Env: []string{"STRONGROOM_ALLOW_INSECURE_DESTINATIONS=true"}})
	want := []string{"token.read", "proxy.invoked", "reactor.invoked", "reactor.completed", "reactor.failed"}
	s.JSON(t, "POST", "/webhooks", s.ManagementKey, map[string]any{"name": "calls", "url": rcv.URL + "/hook", "events": want}, http.StatusCreated)
	_, key := privateAppWith(t, s, "caller", "token:create", "token:read", "proxy:invoke", "reactor:invoke")
	const plain = "read-plaintext-7731"
	tok := s.JSON(t, "POST", "/tokens", key, map[string]any{"type": "token", "data": plain}, http.StatusCreated)
	s.JSON(t, "GET", "/tokens/"+tok["id"].(string), key, nil, http.StatusOK)

	req, _ := harness.NewRequest("POST", s.BaseURL+"/proxy/path-marker?q=query-marker", key, `{"x":"request-body-marker"}`)
	req.Header.Set("BT-PROXY-URL", up.URL)
	req.Header.Set("X-Request-Marker", "request-header-marker")
	if st, _, body := s.Send(t, req); st != http.StatusAccepted {
		t.Fatalf("proxy: %d %s", st, body)
	}
	ok := s.JSON(t, "POST", "/reactors", s.ManagementKey, map[string]any{"name": "fine",
		"code": "module.exports = async (req) => ({ raw: { out: 'result-marker' } });"}, http.StatusCreated)
	bad := s.JSON(t, "POST", "/reactors", s.ManagementKey, map[string]any{"name": "broken",
		"code": "module.exports = async (req) => { throw new Error('thrown-marker ' + req.args.v); };"}, http.StatusCreated)
	s.JSON(t, "POST", "/reactors/"+ok["id"].(string)+"/react", key, map[string]any{"args": map[string]any{"v": "args-marker"}}, http.StatusOK)
	if st, _, body := s.Do(t, "POST", "/reactors/"+bad["id"].(string)+"/react", key, map[string]any{"args": map[string]any{"v": "args-marker"}}); st < 400 {
		t.Fatalf("failing reactor answered %d %s", st, body)
	}

	events := receiveEvents(t, s, rcv, len(want), plain, "marker", key)
	read := eventObject(t, events, "token.read", "token")
	checkFields(t, "token.read", read, []string{"id", "type"}, []string{"id", "type"})
	if read["id"] != tok["id"] || read["type"] != "token" {
		t.Errorf("token.read: %s", js(read))
	}
	px := eventObject(t, events, "proxy.invoked", "proxy")
	if px["id"] != nil || px["type"] != "ephemeral" {
		t.Errorf("proxy.invoked proxy: %s", js(px))
	}
	if resp, _ := events["proxy.invoked"]["response"].(map[string]any); resp["status_code"] != "202" || resp["elapsed_ms"] == nil {
		t.Errorf("proxy.invoked response: %s", js(events["proxy.invoked"]))
	}
	if rq, _ := events["proxy.invoked"]["request"].(map[string]any); rq["method"] != "POST" || len(rq) != 1 {
		t.Errorf("proxy.invoked request: %s", js(events["proxy.invoked"]))
	}
	// Both reactors raise reactor.invoked; events holds the last received.
	for typ, ids := range map[string][]any{"reactor.invoked": {ok["id"], bad["id"]}, "reactor.completed": {ok["id"]}, "reactor.failed": {bad["id"]}} {
		r := eventObject(t, events, typ, "reactor")
		if !slices.Contains(ids, r["id"]) || r["name"] == nil {
			t.Errorf("%s reactor: %s", typ, js(r))
		}
		if rq, _ := events[typ]["request"].(map[string]any); rq["invocation_type"] != "sync" {
			t.Errorf("%s request: %s", typ, js(events[typ]))
		}
	}
	if _, ok := events["reactor.completed"]["elapsed_ms"].(float64); !ok {
		t.Errorf("reactor.completed: %s", js(events["reactor.completed"]))
	}
	if e, _ := events["reactor.failed"]["error"].(string); e == "" {
		t.Errorf("reactor.failed: %s", js(events["reactor.failed"]))
	}
}

// tenant.deleted reaches the tenant's subscribed webhooks although they are
// deleted with it: the deletion queues the delivery with its endpoint, and
// it survives kill -9 while the receiver still refuses.
func TestWebhookTenantDeleted(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test")
	}
	t.Parallel()
	rcv := newHookReceiver(t)
	s := startRetryingWebhooks(t)
	tenant := s.JSON(t, "GET", "/tenants/self", s.ManagementKey, nil, http.StatusOK)
	s.JSON(t, "POST", "/webhooks", s.ManagementKey,
		map[string]any{"name": "farewell", "url": rcv.URL + "/hook", "events": []string{"tenant.deleted"}}, http.StatusCreated)
	mustStatus(t, "delete tenant", status(t, s, "DELETE", "/tenants/self", s.ManagementKey), http.StatusNoContent)
	for deadline := time.Now().Add(20 * time.Second); rcv.refused.Load() == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no attempt of tenant.deleted before the kill")
		}
	}
	s.Kill(t)
	rcv.accept.Store(true)
	s.Restart(t)
	events := receiveEvents(t, s, rcv, 1)
	o, _ := events["tenant.deleted"]["tenant"].(map[string]any)
	if o["id"] != tenant["id"] || len(o) != 1 {
		t.Errorf("tenant.deleted: %s", js(events))
	}
	if actor, _ := events["tenant.deleted"]["actor"].(map[string]any); actor["type"] != "application" {
		t.Errorf("tenant.deleted actor: %s", js(events))
	}
}
