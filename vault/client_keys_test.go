package vault

import (
	"bytes"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwe"
	"github.com/lestrrat-go/jwx/v2/x25519"

	"github.com/strongroom/strongroom/vault/jsonorder"
)

// encryptTo makes the JWE a browser makes: ECDH-ES + A256GCM to the key's
// raw X25519 public key, kid in the protected header.
func encryptTo(t *testing.T, k *ClientKey, plain string) string {
	t.Helper()
	blk, _ := pem.Decode([]byte(k.PublicKeyPEM))
	if blk == nil || blk.Type != "PUBLIC KEY" || len(blk.Bytes) != 32 {
		t.Fatalf("public_key_pem is not a raw 32-byte key in PEM: %q", k.PublicKeyPEM)
	}
	h := jwe.NewHeaders()
	_ = h.Set("kid", k.KeyID)
	out, err := jwe.Encrypt([]byte(plain), jwe.WithKey(jwa.ECDH_ES, x25519.PublicKey(blk.Bytes)),
		jwe.WithContentEncryption(jwa.A256GCM), jwe.WithProtectedHeaders(h), jwe.WithCompact())
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func TestClientKeyLifecycleAndEncryptedTokens(t *testing.T) {
	e := newEnv(t)
	k, err := e.v.CreateClientKey(e.mgmt, ClientKeyRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if k.KeyID == "" || k.ExpiresAt == nil || !strings.Contains(k.PublicKeyPEM, "BEGIN PUBLIC KEY") {
		t.Fatalf("created key %+v", k)
	}
	got, err := e.v.GetClientKey(e.mgmt, k.KeyID)
	if err != nil || got.PublicKeyPEM != "" || got.KeyID != k.KeyID {
		t.Fatalf("get = %+v, %v (the PEM is shown only at creation)", got, err)
	}
	list, err := e.v.ListClientKeys(e.mgmt)
	if err != nil || len(list) != 1 || list[0].PublicKeyPEM != "" {
		t.Fatalf("list = %+v, %v", list, err)
	}

	const card = `{"number":"4242424242424242","expiration_month":12,"expiration_year":2031}`
	w := e.writer()
	tok := mustCreate(t, e.v, w, TokenRequest{Type: ptr("card"), Encrypted: ptr(encryptTo(t, k, card))})
	read, err := e.v.GetToken(e.reader("high"), tok.ID)
	if err != nil || !jsonEq(dataOf(read), card) {
		t.Fatalf("decrypted token data = %s, %v", dataOf(read), err)
	}
	// Tokenize finds encrypted token requests too.
	body, err := jsonorder.Decode([]byte(`{"a":{"type":"card","encrypted":"` + encryptTo(t, k, card) + `"}}`))
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.v.Tokenize(w, body)
	if err != nil {
		t.Fatalf("tokenize an encrypted request: %v", err)
	}
	a, _ := res.(*jsonorder.Object).Get("a")
	tk, ok := a.(*Token)
	if !ok {
		t.Fatalf("tokenize answered %#v", a)
	}
	if read, err := e.v.GetToken(e.reader("high"), tk.ID); err != nil || !jsonEq(dataOf(read), card) {
		t.Fatalf("tokenized data = %s, %v", dataOf(read), err)
	}

	// The plaintext is stored nowhere in clear.
	e.reopen()
	found := false
	_ = e.v.Store().Scan(nil, nil, func(_, val []byte) bool {
		found = found || bytes.Contains(val, []byte("4242424242424242"))
		return !found
	})
	if found {
		t.Fatal("the card number is in the store in clear")
	}
}

func TestEncryptedTokenRefusals(t *testing.T) {
	e := newEnv(t)
	k, err := e.v.CreateClientKey(e.mgmt, ClientKeyRequest{})
	if err != nil {
		t.Fatal(err)
	}
	other := newEnv(t)
	foreign, err := other.v.CreateClientKey(other.mgmt, ClientKeyRequest{})
	if err != nil {
		t.Fatal(err)
	}
	w := e.writer()
	good := encryptTo(t, k, `{"x":"secret-value"}`)
	parts := strings.Split(good, ".")
	tampered := strings.Join([]string{parts[0], parts[1], parts[2], flip(parts[3]), parts[4]}, ".")
	// Encrypted to a key of another vault, but naming this tenant's key id.
	fk := *foreign
	fk.KeyID = k.KeyID
	cases := map[string]string{
		"not a JWE":          "abc",
		"tampered":           tampered,
		"foreign key":        encryptTo(t, foreign, `{"x":"secret-value"}`),
		"foreign, right kid": encryptTo(t, &fk, `{"x":"secret-value"}`),
		"not JSON":           encryptTo(t, k, `secret-value`),
		"compressed":         encryptZip(t, k, `{"x":"secret-value"}`),
		"other algorithm":    strings.Replace(good, parts[0], rsaHeader, 1),
	}
	for name, jwe := range cases {
		_, err := e.v.CreateToken(w, TokenRequest{Type: ptr("token"), Encrypted: ptr(jwe)})
		p := wantProblem(t, err, 400, "encrypted")
		if strings.Contains(p.Error()+strings.Join(p.Errors["encrypted"], ""), "secret-value") {
			t.Fatalf("%s: the error reveals the plaintext: %v", name, p)
		}
	}
	_, err = e.v.CreateToken(w, TokenRequest{Type: ptr("token"), Data: raw(`"x"`), Encrypted: ptr(good)})
	wantProblem(t, err, 400, "encrypted")

	// An expired key, then a deleted one, opens nothing.
	move := setClock(t, time.Now().UTC())
	move(time.Now().UTC().Add(31 * 24 * time.Hour))
	_, err = e.v.CreateToken(w, TokenRequest{Type: ptr("token"), Encrypted: ptr(good)})
	wantProblem(t, err, 400, "encrypted")
	move(time.Now().UTC())
	if err := e.v.DeleteClientKey(e.mgmt, k.KeyID); err != nil {
		t.Fatal(err)
	}
	_, err = e.v.CreateToken(w, TokenRequest{Type: ptr("token"), Encrypted: ptr(good)})
	wantProblem(t, err, 400, "encrypted")
	_, err = e.v.GetClientKey(e.mgmt, k.KeyID)
	wantProblem(t, err, 404)
}

func TestClientKeyPermissionsAndExpiry(t *testing.T) {
	e := newEnv(t)
	_, err := e.v.CreateClientKey(e.writer(), ClientKeyRequest{})
	wantProblem(t, err, 403)
	for _, bad := range []string{"soon", time.Now().Add(-time.Hour).Format(time.RFC3339), time.Now().Add(400 * 24 * time.Hour).Format(time.RFC3339)} {
		_, err := e.v.CreateClientKey(e.mgmt, ClientKeyRequest{ExpiresAt: ptr(bad)})
		wantProblem(t, err, 400, "expires_at")
	}
	at := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Second)
	k, err := e.v.CreateClientKey(e.mgmt, ClientKeyRequest{ExpiresAt: ptr(at.Format(time.RFC3339))})
	if err != nil || !k.ExpiresAt.Equal(at) {
		t.Fatalf("key %+v, %v; want expiry %s", k, err, at)
	}
}

// rsaHeader is a protected header naming RSA-OAEP (base64url of
// {"alg":"RSA-OAEP","enc":"A256GCM"}).
var rsaHeader = "eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ"

func encryptZip(t *testing.T, k *ClientKey, plain string) string {
	t.Helper()
	blk, _ := pem.Decode([]byte(k.PublicKeyPEM))
	h := jwe.NewHeaders()
	_ = h.Set("kid", k.KeyID)
	out, err := jwe.Encrypt([]byte(plain), jwe.WithKey(jwa.ECDH_ES, x25519.PublicKey(blk.Bytes)),
		jwe.WithContentEncryption(jwa.A256GCM), jwe.WithProtectedHeaders(h), jwe.WithCompress(jwa.Deflate), jwe.WithCompact())
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func flip(s string) string {
	b := []byte(s)
	if b[0] == 'A' {
		b[0] = 'B'
	} else {
		b[0] = 'A'
	}
	return string(b)
}
