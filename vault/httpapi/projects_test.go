package httpapi

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/strongroom/strongroom/vault"
	"github.com/strongroom/strongroom/vault/egress"
)

const pjMgmtKey = "key_HttpApiProjectsManagementKey"

type pjEnv struct {
	t    *testing.T
	api  *API
	priv string // PKCS #8 private key PEM of project-abc123's key-456
}

func newPJEnv(t *testing.T) *pjEnv {
	t.Helper()
	c, err := vault.Open(vault.Options{DataDir: t.TempDir(), MasterKey: bytes.Repeat([]byte{9}, 32), ManagementKey: pjMgmtKey})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	v := c.Bind(nil, egress.Policy{AllowInsecure: true}, vault.Settings{})
	e := &pjEnv{t: t, api: New(v, 0, nil)}
	e.req("POST", "/projects", map[string]string{"BT-API-KEY": pjMgmtKey}, `{"id":"project-abc123","name":"Shop"}`, http.StatusCreated)
	var keys []map[string]any
	rec := e.req("POST", "/projects/project-abc123/keys", map[string]string{"BT-API-KEY": pjMgmtKey}, `{"kid":"key-456","generate":true}`, http.StatusCreated)
	if err := json.Unmarshal(rec.Body.Bytes(), &keys); err != nil || len(keys) != 1 {
		t.Fatalf("keys: %s", rec.Body)
	}
	e.priv = keys[0]["private_key"].(string)
	return e
}

func (e *pjEnv) req(method, path string, hdr map[string]string, body string, want int) *httptest.ResponseRecorder {
	e.t.Helper()
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	e.api.ServeHTTP(rec, r)
	if want != 0 && rec.Code != want {
		e.t.Fatalf("%s %s: %d, want %d: %s", method, path, rec.Code, want, rec.Body)
	}
	return rec
}

func (e *pjEnv) bearer(sub, iss string, roles ...string) map[string]string {
	e.t.Helper()
	block, _ := pem.Decode([]byte(e.priv))
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		e.t.Fatal(err)
	}
	tok, _ := jwt.NewBuilder().Subject(sub).Issuer(iss).IssuedAt(time.Now()).Expiration(time.Now().Add(time.Hour)).
		Claim("roles", roles).Build()
	hdr := jws.NewHeaders()
	_ = hdr.Set(jws.KeyIDKey, "key-456")
	signed, err := jwt.Sign(tok, jwt.WithKey(jwa.RS256, key, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		e.t.Fatal(err)
	}
	return map[string]string{"Authorization": "Bearer " + string(signed)}
}

// wantSeedError checks seed 000's error object.
func wantSeedError(t *testing.T, rec *httptest.ResponseRecorder, status int, typ string) string {
	t.Helper()
	var body struct {
		Error map[string]any `json:"error"`
	}
	if rec.Code != status {
		t.Fatalf("status %d, want %d: %s", rec.Code, status, rec.Body)
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Error == nil {
		t.Fatalf("not the seed error shape: %s", rec.Body)
	}
	e := body.Error
	if e["status"] != float64(status) || e["type"] != typ || e["title"] != http.StatusText(status) {
		t.Fatalf("error object %v", e)
	}
	msg, _ := e["message"].(string)
	if msg == "" {
		t.Fatalf("no message: %v", e)
	}
	return msg
}

func TestProjectRoutes(t *testing.T) {
	e := newPJEnv(t)
	alice := e.bearer("user-alice", "project-abc123", "private")
	const pmPath = "/projects/project-abc123/payment-methods"
	card := `{"entityId":"user-alice","card":{"number":"4242424242424242","expirationMonth":"02","expirationYear":"2030","cvc":"123"}}`

	rec := e.req("POST", pmPath, alice, card, http.StatusCreated)
	var pm map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &pm)
	id, _ := pm["id"].(string)
	if id == "" || strings.Contains(rec.Body.String(), "4242424242424242") || strings.Contains(rec.Body.String(), "123\"") {
		t.Fatalf("created: %s", rec.Body)
	}
	e.req("GET", pmPath+"/"+id, alice, "", http.StatusOK)
	e.req("GET", pmPath+"/"+id+"/", alice, "", http.StatusOK) // trailing slash

	rec = e.req("GET", pmPath+"?limit=1&offset=0", alice, "", http.StatusOK)
	for h, want := range map[string]string{"X-Total-Count": "1", "X-Limit": "1", "X-Offset": "0", "X-Has-Next": "false", "X-Has-Previous": "false"} {
		if got := rec.Header().Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	if !strings.HasPrefix(rec.Body.String(), "[") {
		t.Fatalf("list is not a bare array: %s", rec.Body)
	}

	// Failures in the seed's shape.
	wantSeedError(t, e.req("GET", pmPath, nil, "", 0), 401, "unauthorized")
	if msg := wantSeedError(t, e.req("GET", pmPath, map[string]string{"Authorization": "Bearer a.b.c"}, "", 0), 401, "unauthorized"); !strings.Contains(msg, "well-formed") {
		t.Errorf("message %q does not name the failed check", msg)
	}
	if msg := wantSeedError(t, e.req("GET", pmPath, e.bearer("user-alice", "project-other", "private"), "", 0), 401, "unauthorized"); !strings.Contains(msg, "iss") {
		t.Errorf("message %q does not name iss", msg)
	}
	wantSeedError(t, e.req("GET", pmPath+"/"+id, e.bearer("user-alice", "project-abc123", "public"), "", 0), 403, "forbidden")
	wantSeedError(t, e.req("GET", pmPath+"/"+id, e.bearer("user-bob", "project-abc123", "private"), "", 0), 404, "not_found")
	if msg := wantSeedError(t, e.req("POST", pmPath, e.bearer("user-bob", "project-abc123", "private"), card, 0), 401, "unauthorized"); !strings.Contains(msg, "entityId") {
		t.Errorf("message %q does not name entityId", msg)
	}
	rec = e.req("POST", pmPath, alice, `{"card":{"number":"4242424242424241","expirationMonth":"02","expirationYear":"2030"}}`, 0)
	wantSeedError(t, rec, 400, "bad_request")
	if !strings.Contains(rec.Body.String(), "card.number") {
		t.Errorf("400 does not name the field: %s", rec.Body)
	}
	wantSeedError(t, e.req("GET", pmPath+"?limit=abc", alice, "", 0), 400, "bad_request")

	// A token of project-abc123 used on another project's URL: iss fails.
	e.req("POST", "/projects", map[string]string{"BT-API-KEY": pjMgmtKey}, `{"id":"project-xyz","name":"Other"}`, http.StatusCreated)
	wantSeedError(t, e.req("GET", "/projects/project-xyz/payment-methods", alice, "", 0), 401, "unauthorized")

	// Management routes stay on API keys and RFC 7807.
	rec = e.req("GET", "/projects/project-abc123/keys", alice, "", http.StatusUnauthorized)
	if !strings.Contains(rec.Header().Get("Content-Type"), "problem+json") {
		t.Fatalf("management route answered a JWT with %s", rec.Body)
	}
	e.req("GET", "/projects/project-abc123/keys", map[string]string{"BT-API-KEY": pjMgmtKey}, "", http.StatusOK)

	e.req("DELETE", pmPath+"/"+id, alice, "", http.StatusNoContent)
	wantSeedError(t, e.req("GET", pmPath+"/"+id, alice, "", 0), 404, "not_found")
}

func TestProjectResource(t *testing.T) {
	for path, want := range map[string]string{
		"/projects/p1/payment-methods":        "p1",
		"/projects/p1/payment-methods/":       "p1",
		"/projects/p1/payment-methods/x/y":    "p1",
		"/projects/p1/keys":                   "",
		"/projects/p1":                        "",
		"/projects//payment-methods":          "",
		"/projects":                           "",
		"/tokens/projects/p1/payment-methods": "",
	} {
		got, ok := ProjectResource(path)
		if got != want || ok != (want != "") {
			t.Errorf("ProjectResource(%q) = %q, %v", path, got, ok)
		}
	}
}
