package jwtauth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"
)

const project = "project-abc123"

var (
	keysOnce          sync.Once
	signingKey, other *rsa.PrivateKey
)

// testKeys returns two 2048-bit keys, generated once per test binary.
func testKeys(t testing.TB) (*rsa.PrivateKey, *rsa.PrivateKey) {
	t.Helper()
	keysOnce.Do(func() {
		var err error
		if signingKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if other, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
	})
	return signingKey, other
}

var clock = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func validator() Validator {
	return Validator{Leeway: 30 * time.Second, Now: func() time.Time { return clock }}
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func b64JSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b64(b)
}

// compact assembles a token from a header and claims, signed by sign over
// the signing input (nil sign = an empty signature segment).
func compact(t testing.TB, header, claims any, sign func(input []byte) []byte) string {
	t.Helper()
	var h, c string
	if s, ok := header.(string); ok {
		h = b64([]byte(s))
	} else {
		h = b64JSON(t, header)
	}
	if s, ok := claims.(string); ok {
		c = b64([]byte(s))
	} else {
		c = b64JSON(t, claims)
	}
	input := h + "." + c
	sig := ""
	if sign != nil {
		sig = b64(sign([]byte(input)))
	}
	return input + "." + sig
}

func rs256(k *rsa.PrivateKey) func([]byte) []byte {
	return func(in []byte) []byte {
		sum := sha256.Sum256(in)
		s, err := rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, sum[:])
		if err != nil {
			panic(err)
		}
		return s
	}
}

func rs512(k *rsa.PrivateKey) func([]byte) []byte {
	return func(in []byte) []byte {
		sum := sha512.Sum512(in)
		s, err := rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA512, sum[:])
		if err != nil {
			panic(err)
		}
		return s
	}
}

func hs256(secret []byte) func([]byte) []byte {
	return func(in []byte) []byte {
		m := hmac.New(sha256.New, secret)
		m.Write(in)
		return m.Sum(nil)
	}
}

func header(kid string) map[string]any {
	return map[string]any{"alg": "RS256", "typ": "JWT", "kid": kid}
}

func claims(mod func(map[string]any)) map[string]any {
	c := map[string]any{
		"sub":   "user-12345",
		"iss":   project,
		"roles": []string{"private"},
		"iat":   clock.Add(-time.Minute).Unix(),
		"exp":   clock.Add(time.Hour).Unix(),
	}
	if mod != nil {
		mod(c)
	}
	return c
}

func keySet(t testing.TB) *KeySet {
	k, o := testKeys(t)
	return NewKeySet(map[string]*rsa.PublicKey{"key-456": &k.PublicKey, "key-other": &o.PublicKey})
}

// TestValidate is the table of seed 000's validation list: every rule,
// forged and tampered tokens, expiry and issued-at edges, issuer, unknown
// kid, algorithm confusion and missing claims.
func TestValidate(t *testing.T) {
	key, otherKey := testKeys(t)
	pubPEM := []byte(EncodePublicKeyPEM(&key.PublicKey))
	good := compact(t, header("key-456"), claims(nil), rs256(key))
	parts := strings.Split(good, ".")

	tamperedClaims := b64JSON(t, claims(func(c map[string]any) { c["sub"] = "user-evil" }))
	swappedKid := b64JSON(t, header("key-other"))

	tests := []struct {
		name  string
		token string
		want  Check // "" = valid
	}{
		{"valid private token", good, ""},
		{"valid public token", compact(t, header("key-456"), claims(func(c map[string]any) { c["roles"] = []string{"public"} }), rs256(key)), ""},
		{"second active kid", compact(t, header("key-other"), claims(nil), rs256(otherKey)), ""},
		{"no typ header", compact(t, map[string]any{"alg": "RS256", "kid": "key-456"}, claims(nil), rs256(key)), ""},

		// Well-formed.
		{"empty", "", CheckFormat},
		{"one segment", "abc", CheckFormat},
		{"two segments", parts[0] + "." + parts[1], CheckFormat},
		{"four segments", good + ".abc", CheckFormat},
		{"empty payload segment", parts[0] + ".." + parts[2], CheckFormat},
		{"padding", parts[0] + "=." + parts[1] + "." + parts[2], CheckFormat},
		{"standard base64", parts[0] + "+/." + parts[1] + "." + parts[2], CheckFormat},
		{"header not JSON", compact(t, "not json", claims(nil), rs256(key)), CheckFormat},
		{"header is an array", compact(t, `["RS256"]`, claims(nil), rs256(key)), CheckFormat},
		{"payload not JSON", compact(t, header("key-456"), "not json", rs256(key)), CheckFormat},
		{"payload is an array", compact(t, header("key-456"), `[1,2]`, rs256(key)), CheckFormat},
		{"exp of the wrong type", compact(t, header("key-456"), claims(func(c map[string]any) { c["exp"] = true }), rs256(key)), CheckExpiry},
		{"sub of the wrong type", compact(t, header("key-456"), claims(func(c map[string]any) { c["sub"] = 42 }), rs256(key)), CheckFormat},
		{"critical extension", compact(t, map[string]any{"alg": "RS256", "kid": "key-456", "crit": []string{"exp"}, "exp": 1}, claims(nil), rs256(key)), CheckFormat},
		{"unencoded payload (b64)", compact(t, map[string]any{"alg": "RS256", "kid": "key-456", "b64": false, "crit": []string{"b64"}}, claims(nil), rs256(key)), CheckFormat},

		// RS256 only, checked before any verification.
		{"alg none, empty signature", compact(t, map[string]any{"alg": "none", "kid": "key-456"}, claims(nil), nil), CheckFormat},
		{"alg none, junk signature", compact(t, map[string]any{"alg": "none", "kid": "key-456"}, claims(nil), func([]byte) []byte { return []byte("x") }), CheckAlgorithm},
		{"alg None", compact(t, map[string]any{"alg": "None", "kid": "key-456"}, claims(nil), func([]byte) []byte { return []byte("x") }), CheckAlgorithm},
		{"HS256 with the public key PEM as secret (key confusion)", compact(t, map[string]any{"alg": "HS256", "kid": "key-456"}, claims(nil), hs256(pubPEM)), CheckAlgorithm},
		{"HS256 with the public key DER as secret", compact(t, map[string]any{"alg": "HS256", "kid": "key-456"}, claims(nil), hs256(x509PKIX(t, &key.PublicKey))), CheckAlgorithm},
		{"RS512", compact(t, map[string]any{"alg": "RS512", "kid": "key-456"}, claims(nil), rs512(key)), CheckAlgorithm},
		{"PS256", compact(t, map[string]any{"alg": "PS256", "kid": "key-456"}, claims(nil), rs256(key)), CheckAlgorithm},
		{"ES256", compact(t, map[string]any{"alg": "ES256", "kid": "key-456"}, claims(nil), es256(t)), CheckAlgorithm},
		{"lower-case rs256", compact(t, map[string]any{"alg": "rs256", "kid": "key-456"}, claims(nil), rs256(key)), CheckAlgorithm},
		{"no alg", compact(t, map[string]any{"kid": "key-456"}, claims(nil), rs256(key)), CheckAlgorithm},

		// kid names a key of the project.
		{"no kid", compact(t, map[string]any{"alg": "RS256"}, claims(nil), rs256(key)), CheckKeyID},
		{"unknown kid", compact(t, header("key-999"), claims(nil), rs256(key)), CheckKeyID},
		{"kid of the wrong type", compact(t, map[string]any{"alg": "RS256", "kid": 456}, claims(nil), rs256(key)), CheckFormat},

		// Signature.
		{"signed by another key under a valid kid", compact(t, header("key-456"), claims(nil), rs256(otherKey)), CheckSignature},
		{"tampered claims", parts[0] + "." + tamperedClaims + "." + parts[2], CheckSignature},
		{"tampered header (kid swapped)", swappedKid + "." + parts[1] + "." + parts[2], CheckSignature},
		{"truncated signature", parts[0] + "." + parts[1] + "." + parts[2][:len(parts[2])-4], CheckSignature},
		{"signature of another token", parts[0] + "." + parts[1] + "." + strings.Split(compact(t, header("key-456"), claims(func(c map[string]any) { c["sub"] = "x" }), rs256(key)), ".")[2], CheckSignature},

		// exp and iat, with leeway.
		{"expired", compact(t, header("key-456"), claims(func(c map[string]any) { c["exp"] = clock.Add(-time.Minute).Unix() }), rs256(key)), CheckExpiry},
		{"expired within leeway", compact(t, header("key-456"), claims(func(c map[string]any) { c["exp"] = clock.Add(-10 * time.Second).Unix() }), rs256(key)), ""},
		{"no exp", compact(t, header("key-456"), claims(func(c map[string]any) { delete(c, "exp") }), rs256(key)), CheckExpiry},
		{"iat in the future", compact(t, header("key-456"), claims(func(c map[string]any) { c["iat"] = clock.Add(time.Hour).Unix() }), rs256(key)), CheckIssuedAt},
		{"iat ahead within leeway", compact(t, header("key-456"), claims(func(c map[string]any) { c["iat"] = clock.Add(10 * time.Second).Unix() }), rs256(key)), ""},
		{"no iat", compact(t, header("key-456"), claims(func(c map[string]any) { delete(c, "iat") }), rs256(key)), CheckIssuedAt},
		{"nbf in the future", compact(t, header("key-456"), claims(func(c map[string]any) { c["nbf"] = clock.Add(time.Hour).Unix() }), rs256(key)), CheckNotBefore},

		// iss is the project of the URL.
		{"wrong iss", compact(t, header("key-456"), claims(func(c map[string]any) { c["iss"] = "project-other" }), rs256(key)), CheckIssuer},
		{"iss differs in case", compact(t, header("key-456"), claims(func(c map[string]any) { c["iss"] = strings.ToUpper(project) }), rs256(key)), CheckIssuer},
		{"no iss", compact(t, header("key-456"), claims(func(c map[string]any) { delete(c, "iss") }), rs256(key)), CheckIssuer},

		// sub and roles present.
		{"no sub", compact(t, header("key-456"), claims(func(c map[string]any) { delete(c, "sub") }), rs256(key)), CheckSubject},
		{"empty sub", compact(t, header("key-456"), claims(func(c map[string]any) { c["sub"] = "" }), rs256(key)), CheckSubject},
		{"no roles", compact(t, header("key-456"), claims(func(c map[string]any) { delete(c, "roles") }), rs256(key)), CheckRoles},
		{"empty roles", compact(t, header("key-456"), claims(func(c map[string]any) { c["roles"] = []string{} }), rs256(key)), CheckRoles},
		{"roles is a string", compact(t, header("key-456"), claims(func(c map[string]any) { c["roles"] = "private" }), rs256(key)), CheckRoles},
		{"roles holds a number", compact(t, header("key-456"), claims(func(c map[string]any) { c["roles"] = []any{1} }), rs256(key)), CheckRoles},
	}
	ks := keySet(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := validator().Validate(tc.token, project, ks)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				if c.Subject == "" || c.KeyID == "" || len(c.Roles) == 0 {
					t.Fatalf("claims incomplete: %+v", c)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("want a %s failure, got %v", tc.want, err)
			}
			if e.Check != tc.want {
				t.Fatalf("check = %s (%s), want %s", e.Check, e.Message, tc.want)
			}
			if e.Status() != 401 {
				t.Fatalf("status %d, want 401", e.Status())
			}
			assertSafeMessage(t, e.Message)
		})
	}
}

// assertSafeMessage checks a client-facing message names no key material.
func assertSafeMessage(t *testing.T, msg string) {
	t.Helper()
	if msg == "" {
		t.Fatal("empty message")
	}
	for _, bad := range []string{"BEGIN", "MII", "-----"} {
		if strings.Contains(msg, bad) {
			t.Fatalf("message leaks key material: %q", msg)
		}
	}
}

func x509PKIX(t testing.TB, k *rsa.PublicKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func es256(t testing.TB) func([]byte) []byte {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return func(in []byte) []byte {
		sum := sha256.Sum256(in)
		s, _ := ecdsa.SignASN1(rand.Reader, k, sum[:])
		return s
	}
}

// TestValidateJWXSigned checks a token signed by jwx itself (the same
// library the server uses), as a second, independent encoder.
func TestValidateJWXSigned(t *testing.T) {
	key, _ := testKeys(t)
	tok, err := jwt.NewBuilder().Subject("user-1").Issuer(project).IssuedAt(clock).
		Expiration(clock.Add(time.Hour)).Claim("roles", []string{"public"}).Build()
	if err != nil {
		t.Fatal(err)
	}
	hdr := jws.NewHeaders()
	_ = hdr.Set(jws.KeyIDKey, "key-456")
	signed, err := jwt.Sign(tok, jwt.WithKey(jwa.RS256, key, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		t.Fatal(err)
	}
	c, err := validator().Validate(string(signed), project, keySet(t))
	if err != nil {
		t.Fatal(err)
	}
	if c.Subject != "user-1" || !c.HasRole(RolePublic) || c.HasRole(RolePrivate) {
		t.Fatalf("claims %+v", c)
	}
}

// TestProjectIsolation: a token of one project never authenticates
// another, even when the other project registered the same public key
// under the same kid (iss still differs), nor with an empty key set.
func TestProjectIsolation(t *testing.T) {
	key, _ := testKeys(t)
	tok := compact(t, header("key-456"), claims(nil), rs256(key))
	if _, err := validator().Validate(tok, "project-other", keySet(t)); !isCheck(err, CheckIssuer) {
		t.Fatalf("other project with the same key: %v", err)
	}
	if _, err := validator().Validate(tok, project, nil); !isCheck(err, CheckKeyID) {
		t.Fatalf("unknown project (no keys): %v", err)
	}
	if _, err := validator().Validate(tok, project, NewKeySet(map[string]*rsa.PublicKey{})); !isCheck(err, CheckKeyID) {
		t.Fatalf("project without keys: %v", err)
	}
}

func isCheck(err error, c Check) bool {
	var e *Error
	return errors.As(err, &e) && e.Check == c
}

// TestVerifiedCache: a cached verification still runs the clock and
// issuer checks, and a key set without the kid (a removed key) rejects a
// token it had verified before.
func TestVerifiedCache(t *testing.T) {
	key, other := testKeys(t)
	ks := keySet(t)
	tok := compact(t, header("key-456"), claims(nil), rs256(key))
	v := validator()
	for i := 0; i < 3; i++ {
		if _, err := v.Validate(tok, project, ks); err != nil {
			t.Fatalf("round %d: %v", i, err)
		}
	}
	if _, err := v.Validate(tok, "project-other", ks); !isCheck(err, CheckIssuer) {
		t.Fatalf("cached token, other project: %v", err)
	}
	later := v
	later.Now = func() time.Time { return clock.Add(2 * time.Hour) }
	if _, err := later.Validate(tok, project, ks); !isCheck(err, CheckExpiry) {
		t.Fatalf("cached token after exp: %v", err)
	}
	rotated := NewKeySet(map[string]*rsa.PublicKey{"key-other": &other.PublicKey})
	if _, err := v.Validate(tok, project, rotated); !isCheck(err, CheckKeyID) {
		t.Fatalf("removed kid: %v", err)
	}
}

func TestRoleAndEntity(t *testing.T) {
	c := &Claims{Subject: "user-1", Roles: []string{"public"}}
	err := c.RequireRole(RolePrivate)
	var e *Error
	if !errors.As(err, &e) || e.Check != CheckRole || e.Status() != 403 {
		t.Fatalf("public token on a private operation: %v", err)
	}
	if err := c.RequireRole(RolePrivate, RolePublic); err != nil {
		t.Fatal(err)
	}
	if err := c.CheckEntity("user-1"); err != nil {
		t.Fatal(err)
	}
	if err := c.CheckEntity(""); err != nil {
		t.Fatal(err)
	}
	if err := c.CheckEntity("user-2"); !isCheck(err, CheckEntity) {
		t.Fatalf("entityId != sub: %v", err)
	}
	if (&Error{Check: CheckEntity}).Status() != 401 {
		t.Fatal("entityId mismatch must be a 401")
	}
}

func TestParseBearer(t *testing.T) {
	ok := "aaa.bbb.ccc"
	for _, tc := range []struct {
		header, want string
	}{
		{"Bearer " + ok, ok},
		{"bearer " + ok, ok},
		{"BEARER   " + ok + " ", ok},
		{"Bearer", ""},
		{"Bearer ", ""},
		{"Bearer" + ok, ""},
		{"Basic dXNlcjpwYXNz", ""},
		{ok, ""},
		{"Bearer aaa.bbb.ccc.ddd", ""},
		{"Bearer aaa bbb.ccc", ""},
		{"Bearer aaa.bbb.", ""},
		{"Bearer .bbb.ccc", ""},
		{"Bearer " + strings.Repeat("a", MaxTokenLength) + ".b.c", ""},
	} {
		got, err := ParseBearer(tc.header)
		if got != tc.want || (tc.want == "") != (err != nil) {
			t.Errorf("ParseBearer(%.40q) = %q, %v; want %q", tc.header, got, err, tc.want)
		}
		if err != nil && !isCheck(err, CheckFormat) {
			t.Errorf("ParseBearer(%.40q): %v is not a format failure", tc.header, err)
		}
	}
}

// FuzzParseBearer: no input panics; an accepted token is three non-empty
// base64url segments within the size bound, and parsing is idempotent.
func FuzzParseBearer(f *testing.F) {
	key, _ := testKeys(f)
	f.Add("Bearer " + compact(f, header("key-456"), claims(nil), rs256(key)))
	f.Add("bearer a.b.c")
	f.Add("Bearer a..c")
	f.Add("Bearer a.b.c.d")
	f.Add("Basic abc")
	f.Add("Bearer \x00.\xff.c")
	f.Add("")
	f.Fuzz(func(t *testing.T, h string) {
		tok, err := ParseBearer(h)
		if err != nil {
			if !isCheck(err, CheckFormat) {
				t.Fatalf("non-format error %v", err)
			}
			return
		}
		segs := strings.Split(tok, ".")
		if len(segs) != 3 || len(tok) > MaxTokenLength {
			t.Fatalf("accepted %q", tok)
		}
		for _, s := range segs {
			if s == "" {
				t.Fatalf("accepted an empty segment: %q", tok)
			}
			if _, err := base64.RawURLEncoding.DecodeString(s); err != nil && len(s)%4 != 1 {
				t.Fatalf("accepted a non-base64url segment %q: %v", s, err)
			}
		}
		again, err := ParseBearer("Bearer " + tok)
		if err != nil || again != tok {
			t.Fatalf("not idempotent: %q → %q, %v", tok, again, err)
		}
		// Whatever was accepted, validation must fail cleanly (no key set).
		if _, err := validator().Validate(tok, project, nil); err == nil {
			t.Fatalf("validated %q without keys", tok)
		}
	})
}

// BenchmarkValidate compares a first verification (RSA, claims parse)
// with a cached one (hash and claim checks).
func BenchmarkValidate(b *testing.B) {
	key, _ := testKeys(b)
	tok := compact(b, header("key-456"), claims(nil), rs256(key))
	keys := map[string]*rsa.PublicKey{"key-456": &key.PublicKey}
	v := validator()
	b.Run("uncached", func(b *testing.B) {
		for b.Loop() {
			if _, err := v.Validate(tok, project, NewKeySet(keys)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("cached", func(b *testing.B) {
		ks := NewKeySet(keys)
		for b.Loop() {
			if _, err := v.Validate(tok, project, ks); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestValidateOne: of the key sets of several tenants holding one project
// id, exactly one must verify a token; its index names the tenant.
func TestValidateOne(t *testing.T) {
	key, otherKey := testKeys(t)
	tok := compact(t, header("k"), claims(nil), rs256(key))
	mine := NewKeySet(map[string]*rsa.PublicKey{"k": &key.PublicKey})
	theirs := NewKeySet(map[string]*rsa.PublicKey{"k": &otherKey.PublicKey})
	unrelated := NewKeySet(map[string]*rsa.PublicKey{"x": &otherKey.PublicKey})

	for _, sets := range [][]*KeySet{{mine}, {theirs, mine}, {unrelated, mine, theirs}} {
		c, i, err := validator().ValidateOne(tok, project, sets)
		if err != nil || sets[i] != mine || c.Subject != "user-12345" {
			t.Fatalf("%d sets: index %d, %+v, %v", len(sets), i, c, err)
		}
	}
	if _, _, err := validator().ValidateOne(tok, project, nil); !isCheck(err, CheckKeyID) {
		t.Fatalf("no tenant holds the project: %v", err)
	}
	if _, _, err := validator().ValidateOne(tok, project, []*KeySet{unrelated, theirs}); !isCheck(err, CheckSignature) {
		t.Fatalf("no set verifies (a kid match beats an unknown kid): %v", err)
	}
	// A claim failure of the set that verified the signature is the answer.
	expired := compact(t, header("k"), claims(func(c map[string]any) { c["exp"] = clock.Add(-time.Hour).Unix() }), rs256(key))
	if _, _, err := validator().ValidateOne(expired, project, []*KeySet{theirs, mine, unrelated}); !isCheck(err, CheckExpiry) {
		t.Fatalf("expired token: %v", err)
	}
	// Two tenants' keys verify it (one registered the other's public key):
	// refused, not handed to either.
	copied := NewKeySet(map[string]*rsa.PublicKey{"k": &key.PublicKey})
	if _, i, err := validator().ValidateOne(tok, project, []*KeySet{mine, copied}); !isCheck(err, CheckSignature) || i != -1 {
		t.Fatalf("ambiguous token: index %d, %v", i, err)
	}
}
