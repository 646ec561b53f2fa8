package test

import (
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/strongroom/strongroom/test/harness"
)

// Seed 000 end to end: projects and keys provisioned by the operator (the
// `caddy vault project` CLI against the running server's admin API, and
// the management API), JWTs minted as the seed shows, and the
// payment-methods API through a real Caddy.

// pjCLI runs `strongroom vault ...` against the running server s (the data
// directory is locked, so the command goes through the admin API).
func pjCLI(t *testing.T, s *harness.Server, args ...string) (stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(harness.Binary(t), append([]string{"vault"}, append(args, "--data-dir", s.DataDir, "--address", s.AdminAddr)...)...)
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("vault %s: %v\n%s%s", strings.Join(args, " "), err, out.String(), errOut.String())
	}
	return out.String(), errOut.String()
}

func pjParsePrivate(t *testing.T, privPEM string) *rsa.PrivateKey {
	t.Helper()
	block, _ := pem.Decode([]byte(privPEM))
	if block == nil || block.Type != "PRIVATE KEY" {
		t.Fatalf("not a PKCS #8 PEM private key: %.40q", privPEM)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k.(*rsa.PrivateKey)
}

func pjB64(v any) string {
	b, ok := v.([]byte)
	if !ok {
		b, _ = json.Marshal(v)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// pjMint signs header and claims RS256 with key (independently of the
// server's JWT library).
func pjMint(key *rsa.PrivateKey, header, claims map[string]any) string {
	input := pjB64(header) + "." + pjB64(claims)
	sum := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		panic(err)
	}
	return input + "." + pjB64(sig)
}

// pjClaims are seed 000's claims: sub, iss, roles, iat, exp (1 h).
func pjClaims(sub, iss string, roles ...string) map[string]any {
	now := time.Now().Unix()
	return map[string]any{"sub": sub, "iss": iss, "roles": roles, "iat": now, "exp": now + 3600}
}

func pjHeader(kid string) map[string]any {
	return map[string]any{"alg": "RS256", "typ": "JWT", "kid": kid}
}

// pjDo sends a request with an Authorization: Bearer token.
func pjDo(t *testing.T, s *harness.Server, method, path, token string, body any) (int, http.Header, []byte) {
	t.Helper()
	req, err := harness.NewRequest(method, s.BaseURL+path, "", body)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return s.Send(t, req)
}

// pjError asserts seed 000's error object and returns its message.
func pjError(t *testing.T, what string, status int, body []byte, wantStatus int, wantType string) string {
	t.Helper()
	if status != wantStatus {
		t.Fatalf("%s: status %d, want %d: %s", what, status, wantStatus, body)
	}
	var e struct {
		Error struct {
			Status  int    `json:"status"`
			Type    string `json:"type"`
			Title   string `json:"title"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(body, &e); err != nil || e.Error.Status != wantStatus || e.Error.Type != wantType ||
		e.Error.Title != http.StatusText(wantStatus) || e.Error.Message == "" {
		t.Fatalf("%s: not the seed-000 error shape: %s", what, body)
	}
	if strings.Contains(e.Error.Message, "BEGIN") || strings.Contains(e.Error.Message, "MII") {
		t.Fatalf("%s: message leaks key material: %s", what, body)
	}
	return e.Error.Message
}

func TestProjectsEndToEnd(t *testing.T) {
	t.Parallel()
	s := start(t)
	mk := s.ManagementKey

	// The operator provisions: a project through the management API, a key
	// pair through the CLI (private key printed once, on stdout).
	proj := s.JSON(t, "POST", "/projects", mk, map[string]any{"id": "project-abc123", "name": "Checkout"}, http.StatusCreated)
	if proj["id"] != "project-abc123" || proj["tenant_id"] == "" {
		t.Fatalf("project: %v", proj)
	}
	privPEM, info := pjCLI(t, s, "project", "key", "generate", "--project", "project-abc123", "--kid", "key-456")
	if strings.Contains(info, "PRIVATE KEY") || !strings.Contains(info, "key-456") {
		t.Fatalf("generate's stderr: %q", info)
	}
	key := pjParsePrivate(t, privPEM)
	keys := s.JSONValue(t, "GET", "/projects/project-abc123/keys", mk, nil, http.StatusOK).([]any)
	if len(keys) != 1 || strings.Contains(js(keys), "PRIVATE") {
		t.Fatalf("keys: %s", js(keys))
	}

	alice := pjMint(key, pjHeader("key-456"), pjClaims("user-12345", "project-abc123", "private"))
	bob := pjMint(key, pjHeader("key-456"), pjClaims("user-67890", "project-abc123", "private"))
	const pmPath = "/projects/project-abc123/payment-methods"

	// Create (camelCase, month zero-padded, as the wire contract shows).
	st, _, body := pjDo(t, s, "POST", pmPath, alice, map[string]any{"entityId": "user-12345",
		"card": map[string]any{"number": "4242424242424242", "expirationMonth": "02", "expirationYear": "2030", "cvc": "123"}})
	if st != http.StatusCreated {
		t.Fatalf("create: %d %s", st, body)
	}
	var pm struct {
		ID   string `json:"id"`
		Card struct {
			Brand   string            `json:"brand"`
			Details map[string]string `json:"details"`
		} `json:"card"`
		CreatedAt string `json:"createdAt"`
	}
	if err := json.Unmarshal(body, &pm); err != nil || pm.ID == "" || pm.Card.Brand != "visa" || pm.CreatedAt == "" ||
		pm.Card.Details["bin"] != "42424242" || pm.Card.Details["last4"] != "4242" ||
		pm.Card.Details["expirationMonth"] != "02" || pm.Card.Details["expirationYear"] != "2030" {
		t.Fatalf("created: %s", body)
	}
	if strings.Contains(string(body), "4242424242424242") || strings.Contains(string(body), "cvc") {
		t.Fatalf("the response carries the number or cvc: %s", body)
	}
	for i := 0; i < 3; i++ {
		st, _, body := pjDo(t, s, "POST", pmPath, alice, map[string]any{"card": map[string]any{"number": "5555555555554444", "expirationMonth": "12", "expirationYear": "2031"}})
		if st != http.StatusCreated {
			t.Fatalf("create %d: %d %s", i, st, body)
		}
	}

	// Get, and list with the X-* headers.
	if st, _, body := pjDo(t, s, "GET", pmPath+"/"+pm.ID, alice, nil); st != http.StatusOK || !strings.Contains(string(body), pm.ID) {
		t.Fatalf("get: %d %s", st, body)
	}
	st, hdr, body := pjDo(t, s, "GET", pmPath+"?limit=2&offset=1", alice, nil)
	var list []map[string]any
	if st != http.StatusOK || json.Unmarshal(body, &list) != nil || len(list) != 2 {
		t.Fatalf("list: %d %s", st, body)
	}
	for h, want := range map[string]string{"X-Total-Count": "4", "X-Limit": "2", "X-Offset": "1", "X-Has-Next": "true", "X-Has-Previous": "true"} {
		if hdr.Get(h) != want {
			t.Errorf("%s = %q, want %q", h, hdr.Get(h), want)
		}
	}

	// Subject isolation: bob sees nothing of alice's.
	st, _, body = pjDo(t, s, "GET", pmPath+"/"+pm.ID, bob, nil)
	pjError(t, "bob reads alice's", st, body, http.StatusNotFound, "not_found")
	st, _, body = pjDo(t, s, "DELETE", pmPath+"/"+pm.ID, bob, nil)
	pjError(t, "bob deletes alice's", st, body, http.StatusNotFound, "not_found")
	if st, hdr, body := pjDo(t, s, "GET", pmPath, bob, nil); st != http.StatusOK || string(body) != "[]" || hdr.Get("X-Total-Count") != "0" {
		t.Fatalf("bob's list: %d %s", st, body)
	}
	st, _, body = pjDo(t, s, "POST", pmPath, bob, map[string]any{"entityId": "user-12345",
		"card": map[string]any{"number": "4242424242424242", "expirationMonth": "02", "expirationYear": "2030"}})
	if msg := pjError(t, "entityId != sub", st, body, http.StatusUnauthorized, "unauthorized"); !strings.Contains(msg, "entityId") {
		t.Errorf("message %q does not name entityId", msg)
	}

	// Roles: public collects but cannot read.
	public := pjMint(key, pjHeader("key-456"), pjClaims("user-12345", "project-abc123", "public"))
	if st, _, body := pjDo(t, s, "POST", pmPath, public, map[string]any{"card": map[string]any{"number": "378282246310005", "expirationMonth": "1", "expirationYear": "2030"}}); st != http.StatusCreated {
		t.Fatalf("public create: %d %s", st, body)
	}
	st, _, body = pjDo(t, s, "GET", pmPath+"/"+pm.ID, public, nil)
	pjError(t, "public reads", st, body, http.StatusForbidden, "forbidden")

	// Validation in this API's shape.
	st, _, body = pjDo(t, s, "POST", pmPath, alice, map[string]any{"card": map[string]any{"number": "4242424242424241", "expirationMonth": "02", "expirationYear": "2030"}})
	if msg := pjError(t, "bad card", st, body, http.StatusBadRequest, "bad_request"); !strings.Contains(msg, "card.number") {
		t.Errorf("message %q does not name card.number", msg)
	}

	// Delete.
	if st, _, body := pjDo(t, s, "DELETE", pmPath+"/"+pm.ID, alice, nil); st != http.StatusNoContent {
		t.Fatalf("delete: %d %s", st, body)
	}
	st, _, body = pjDo(t, s, "GET", pmPath+"/"+pm.ID, alice, nil)
	pjError(t, "deleted", st, body, http.StatusNotFound, "not_found")

	// Audited: create, read and delete of payment methods.
	logs := s.JSON(t, "GET", "/logs?entity_type=payment_method&size=100", mk, nil, http.StatusOK)
	ops := map[string]bool{}
	for _, e := range logs["data"].([]any) {
		ops[e.(map[string]any)["operation"].(string)] = true
	}
	if !ops["create"] || !ops["delete"] {
		t.Fatalf("audit operations %v", ops)
	}
	if strings.Contains(js(logs), "4242424242424242") {
		t.Fatal("the audit log holds a card number")
	}
}

// TestProjectJWTRejections: the validation list through the real server.
func TestProjectJWTRejections(t *testing.T) {
	t.Parallel()
	s := start(t)
	mk := s.ManagementKey
	s.JSON(t, "POST", "/projects", mk, map[string]any{"id": "project-a"}, http.StatusCreated)
	s.JSON(t, "POST", "/projects", mk, map[string]any{"id": "project-b"}, http.StatusCreated)
	privA, _ := pjCLI(t, s, "project", "key", "generate", "--project", "project-a", "--kid", "k1")
	privB, _ := pjCLI(t, s, "project", "key", "generate", "--project", "project-b", "--kid", "k1")
	keyA, keyB := pjParsePrivate(t, privA), pjParsePrivate(t, privB)
	pubA := s.JSONValue(t, "GET", "/projects/project-a/keys", mk, nil, http.StatusOK).([]any)[0].(map[string]any)["public_key"].(string)

	good := pjMint(keyA, pjHeader("k1"), pjClaims("u1", "project-a", "private"))
	parts := strings.Split(good, ".")
	hs := func(secret []byte, claims map[string]any) string {
		in := pjB64(map[string]any{"alg": "HS256", "kid": "k1"}) + "." + pjB64(claims)
		m := hmac.New(sha256.New, secret)
		m.Write([]byte(in))
		return in + "." + pjB64(m.Sum(nil))
	}
	mod := func(f func(map[string]any)) map[string]any {
		c := pjClaims("u1", "project-a", "private")
		f(c)
		return c
	}
	now := time.Now().Unix()
	for _, tc := range []struct {
		name, token, path, check string
	}{
		{"no token", "", "/projects/project-a/payment-methods", "Authorization"},
		{"garbage", "not-a-jwt", "/projects/project-a/payment-methods", "compact JWS"},
		{"alg none", pjB64(map[string]any{"alg": "none", "kid": "k1"}) + "." + parts[1] + "." + pjB64([]byte("junk")), "/projects/project-a/payment-methods", "RS256"},
		{"HS256 with the public key as secret", hs([]byte(pubA), pjClaims("u1", "project-a", "private")), "/projects/project-a/payment-methods", "RS256"},
		{"tampered claims", parts[0] + "." + pjB64(pjClaims("u2", "project-a", "private")) + "." + parts[2], "/projects/project-a/payment-methods", "signature"},
		{"signed by project-b's key under kid k1", pjMint(keyB, pjHeader("k1"), pjClaims("u1", "project-a", "private")), "/projects/project-a/payment-methods", "signature"},
		{"project-a's token on project-b", good, "/projects/project-b/payment-methods", "signature"},
		{"unknown kid", pjMint(keyA, pjHeader("k9"), pjClaims("u1", "project-a", "private")), "/projects/project-a/payment-methods", "kid"},
		{"unknown project", good, "/projects/project-zzz/payment-methods", "kid"},
		{"expired", pjMint(keyA, pjHeader("k1"), mod(func(c map[string]any) { c["exp"] = now - 600 })), "/projects/project-a/payment-methods", "exp"},
		{"iat in the future", pjMint(keyA, pjHeader("k1"), mod(func(c map[string]any) { c["iat"] = now + 600 })), "/projects/project-a/payment-methods", "iat"},
		{"wrong iss", pjMint(keyA, pjHeader("k1"), mod(func(c map[string]any) { c["iss"] = "project-b" })), "/projects/project-a/payment-methods", "iss"},
		{"no sub", pjMint(keyA, pjHeader("k1"), mod(func(c map[string]any) { delete(c, "sub") })), "/projects/project-a/payment-methods", "sub"},
		{"no roles", pjMint(keyA, pjHeader("k1"), mod(func(c map[string]any) { delete(c, "roles") })), "/projects/project-a/payment-methods", "roles"},
	} {
		st, hdr, body := pjDo(t, s, "GET", tc.path, tc.token, nil)
		msg := pjError(t, tc.name, st, body, http.StatusUnauthorized, "unauthorized")
		if !strings.Contains(msg, tc.check) {
			t.Errorf("%s: message %q does not name %q", tc.name, msg, tc.check)
		}
		if !strings.HasPrefix(hdr.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("%s: WWW-Authenticate = %q", tc.name, hdr.Get("WWW-Authenticate"))
		}
	}
	if st, _, body := pjDo(t, s, "GET", "/projects/project-a/payment-methods", good, nil); st != http.StatusOK {
		t.Fatalf("good token: %d %s", st, body)
	}
}

// TestProjectKeyRotation: several kids at once; removing one (CLI, then
// management API) rejects its tokens at once while the others work.
func TestProjectKeyRotation(t *testing.T) {
	t.Parallel()
	s := start(t)
	mk := s.ManagementKey
	s.JSON(t, "POST", "/projects", mk, map[string]any{"id": "project-r"}, http.StatusCreated)
	old := pjParsePrivate(t, first(pjCLI(t, s, "project", "key", "generate", "--project", "project-r", "--kid", "2024-01")))

	// The new key is registered as a PEM public key through the API.
	newKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	der, _ := x509.MarshalPKIXPublicKey(&newKey.PublicKey)
	s.JSONValue(t, "POST", "/projects/project-r/keys", mk, map[string]any{"kid": "2024-06",
		"public_key": string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))}, http.StatusCreated)
	// A third as a JWKS.
	third, _ := rsa.GenerateKey(rand.Reader, 2048)
	jwks := map[string]any{"keys": []any{map[string]any{"kty": "RSA", "kid": "2025-01", "use": "sig", "alg": "RS256",
		"n": base64.RawURLEncoding.EncodeToString(third.N.Bytes()), "e": "AQAB"}}}
	s.JSONValue(t, "POST", "/projects/project-r/keys", mk, map[string]any{"jwks": jwks}, http.StatusCreated)

	tokOld := pjMint(old, pjHeader("2024-01"), pjClaims("u", "project-r", "private"))
	tokNew := pjMint(newKey, pjHeader("2024-06"), pjClaims("u", "project-r", "private"))
	tokThird := pjMint(third, pjHeader("2025-01"), pjClaims("u", "project-r", "private"))
	path := "/projects/project-r/payment-methods"
	for _, tok := range []string{tokOld, tokNew, tokThird} {
		if st, _, body := pjDo(t, s, "GET", path, tok, nil); st != http.StatusOK {
			t.Fatalf("before rotation: %d %s", st, body)
		}
	}
	if out, _ := pjCLI(t, s, "project", "key", "remove", "--project", "project-r", "--kid", "2024-01"); !strings.Contains(out, "removed") {
		t.Fatalf("remove: %q", out)
	}
	st, _, body := pjDo(t, s, "GET", path, tokOld, nil)
	pjError(t, "removed kid", st, body, http.StatusUnauthorized, "unauthorized")
	if st, _, body := pjDo(t, s, "GET", path, tokNew, nil); st != http.StatusOK {
		t.Fatalf("remaining kid: %d %s", st, body)
	}
	if st, _, b := s.Do(t, "DELETE", "/projects/project-r/keys/2024-06", mk, nil); st != http.StatusNoContent {
		t.Fatalf("delete key: %d %s", st, b)
	}
	st, _, body = pjDo(t, s, "GET", path, tokNew, nil)
	pjError(t, "removed kid (API)", st, body, http.StatusUnauthorized, "unauthorized")
	if st, _, body := pjDo(t, s, "GET", path, tokThird, nil); st != http.StatusOK {
		t.Fatalf("JWKS kid: %d %s", st, body)
	}
	out, _ := pjCLI(t, s, "project", "key", "list", "--project", "project-r")
	if strings.Count(out, "\n") != 1 || !strings.Contains(out, "2025-01") {
		t.Fatalf("key list: %q", out)
	}
}

func first(a, _ string) string { return a }

// TestProjectsTenantIsolation: a project of one tenant is invisible to
// another tenant's management key, its API keys and its JWTs.
func TestProjectsTenantIsolation(t *testing.T) {
	t.Parallel()
	s := start(t)
	s.JSON(t, "POST", "/projects", s.ManagementKey, map[string]any{"id": "project-t1"}, http.StatusCreated)
	otherKey := otherTenant(t, s)
	s.JSON(t, "GET", "/projects/project-t1", otherKey, nil, http.StatusNotFound)
	s.JSONValue(t, "POST", "/projects/project-t1/keys", otherKey, map[string]any{"kid": "x", "generate": true}, http.StatusNotFound)
	s.JSON(t, "POST", "/projects", otherKey, map[string]any{"id": "project-t1"}, http.StatusCreated) // ids are per tenant
	s.JSON(t, "POST", "/projects", otherKey, map[string]any{"id": "project-t2"}, http.StatusCreated)
	priv2 := pjParsePrivate(t, first(pjCLI(t, s, "project", "key", "generate", "--project", "project-t2", "--kid", "k")))
	tok := pjMint(priv2, pjHeader("k"), pjClaims("u", "project-t2", "private"))
	if st, _, body := pjDo(t, s, "GET", "/projects/project-t2/payment-methods", tok, nil); st != http.StatusOK {
		t.Fatalf("own project: %d %s", st, body)
	}
	// The first tenant's management key cannot read the other's payment
	// methods through the API-key path either.
	st, _, body := s.Do(t, "GET", "/projects/project-t2/payment-methods", s.ManagementKey, nil)
	pjError(t, "other tenant's project by API key", st, body, http.StatusNotFound, "not_found")
}

// vaultAuthCaddyfile composes vault_auth in front of vault_api.
const vaultAuthCaddyfile = `{
	admin {$STRONGROOM_ADMIN}
	vault {
		data_dir {$STRONGROOM_DATA_DIR}
	}
}

http://:{$STRONGROOM_PORT} {
	route {
		vault_auth
		vault_api
	}
}
`

// TestVaultAuthAcceptsProjectJWT: vault_auth authenticates Bearer JWTs on
// project resources with the same function as vault_api.
func TestVaultAuthAcceptsProjectJWT(t *testing.T) {
	t.Parallel()
	s := harness.Start(t, harness.Options{Caddyfile: vaultAuthCaddyfile})
	s.JSON(t, "POST", "/projects", s.ManagementKey, map[string]any{"id": "project-va"}, http.StatusCreated)
	key := pjParsePrivate(t, first(pjCLI(t, s, "project", "key", "generate", "--project", "project-va", "--kid", "k")))
	tok := pjMint(key, pjHeader("k"), pjClaims("u", "project-va", "private"))
	if st, _, body := pjDo(t, s, "GET", "/projects/project-va/payment-methods", tok, nil); st != http.StatusOK {
		t.Fatalf("through vault_auth: %d %s", st, body)
	}
	st, _, body := pjDo(t, s, "GET", "/projects/project-va/payment-methods", tok[:len(tok)-3]+"abc", nil)
	pjError(t, "bad signature through vault_auth", st, body, http.StatusUnauthorized, "unauthorized")
	// A JWT is no API key elsewhere.
	if st, _, _ := pjDo(t, s, "GET", "/tenants/self", tok, nil); st != http.StatusUnauthorized {
		t.Fatalf("JWT on a management route: %d", st)
	}
}
