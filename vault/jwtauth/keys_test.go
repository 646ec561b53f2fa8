package jwtauth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"strings"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwk"
)

func TestParsePublicKeyPEM(t *testing.T) {
	key, _ := testKeys(t)
	pkix := EncodePublicKeyPEM(&key.PublicKey)
	pkcs1 := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&key.PublicKey)}))
	privDER, _ := x509.MarshalPKCS8PrivateKey(key)
	priv := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER}))
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecDER, _ := x509.MarshalPKIXPublicKey(&ec.PublicKey)
	ecPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: ecDER}))
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	smallPEM := EncodePublicKeyPEM(&small.PublicKey)

	for _, tc := range []struct {
		name, pem string
		ok        bool
	}{
		{"PKIX", pkix, true},
		{"PKCS1", pkcs1, true},
		{"private key", priv, false},
		{"EC key", ecPEM, false},
		{"1024-bit key", smallPEM, false},
		{"two blocks", pkix + pkix, false},
		{"not PEM", "hello", false},
		{"garbage body", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, err := ParsePublicKeyPEM([]byte(tc.pem))
			if tc.ok != (err == nil) {
				t.Fatalf("ok=%v, err=%v", tc.ok, err)
			}
			if err != nil {
				if strings.Contains(err.Error(), "MII") {
					t.Fatalf("error quotes key material: %v", err)
				}
				return
			}
			if !k.Equal(&key.PublicKey) {
				t.Fatal("parsed another key")
			}
		})
	}
}

func TestParseJWKS(t *testing.T) {
	key, other := testKeys(t)
	pub := func(k *rsa.PrivateKey, kid string) map[string]any {
		j, err := PublicJWK(kid, &k.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(j)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		return m
	}
	set := func(keys ...map[string]any) string {
		b, _ := json.Marshal(map[string]any{"keys": keys})
		return string(b)
	}
	privJWK, _ := jwk.FromRaw(key)
	_ = privJWK.Set(jwk.KeyIDKey, "p")
	privJSON, _ := json.Marshal(privJWK)
	noKid := pub(key, "")
	delete(noKid, "kid")
	hs := pub(key, "h")
	hs["alg"] = "HS256"
	enc := pub(key, "e")
	enc["use"] = "enc"

	t.Run("two keys", func(t *testing.T) {
		keys, err := ParseJWKS([]byte(set(pub(key, "a"), pub(other, "b"))), "")
		if err != nil || len(keys) != 2 || !keys["a"].Equal(&key.PublicKey) || !keys["b"].Equal(&other.PublicKey) {
			t.Fatalf("%v %v", keys, err)
		}
	})
	t.Run("single JWK without kid takes the default", func(t *testing.T) {
		b, _ := json.Marshal(noKid)
		keys, err := ParseJWKS(b, "key-1")
		if err != nil || keys["key-1"] == nil {
			t.Fatalf("%v %v", keys, err)
		}
	})
	for name, doc := range map[string]string{
		"private key":          `{"keys":[` + string(privJSON) + `]}`,
		"no kid among several": set(noKid, pub(other, "b")),
		"HS256 alg":            set(hs),
		"encryption key":       set(enc),
		"duplicate kid":        set(pub(key, "a"), pub(other, "a")),
		"empty set":            `{"keys":[]}`,
		"not JSON":             `nope`,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := ParseJWKS([]byte(doc), ""); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func TestGenerateKey(t *testing.T) {
	pub, privPEM, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode([]byte(privPEM))
	if block == nil || block.Type != "PRIVATE KEY" {
		t.Fatalf("not PKCS #8 PEM: %q", privPEM[:30])
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil || !k.(*rsa.PrivateKey).PublicKey.Equal(pub) {
		t.Fatalf("private key does not match: %v", err)
	}
	known, _ := testKeys(t)
	if Thumbprint(pub) == "" || Thumbprint(pub) == Thumbprint(&known.PublicKey) {
		t.Fatal("thumbprint")
	}
}
