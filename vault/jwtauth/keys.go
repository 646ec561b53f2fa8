package jwtauth

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
)

// Key sizes accepted for project keys.
const (
	MinKeyBits = 2048
	MaxKeyBits = 8192
	// GeneratedKeyBits is the size of keys made by GenerateKey.
	GeneratedKeyBits = 2048
)

// KeyError explains why a key cannot be registered. Its text is safe to
// show the operator (it never quotes key material).
type KeyError struct{ Message string }

func (e *KeyError) Error() string { return e.Message }

func keyErr(format string, args ...any) error {
	return &KeyError{Message: fmt.Sprintf(format, args...)}
}

// ParsePublicKeyPEM parses one RSA public key in PEM: `PUBLIC KEY`
// (PKIX/SPKI, what `openssl rsa -pubout` writes) or `RSA PUBLIC KEY`
// (PKCS #1). Private keys are refused: a vault stores public keys only.
func ParsePublicKeyPEM(data []byte) (*rsa.PublicKey, error) {
	block, rest := pem.Decode(data)
	if block == nil {
		return nil, keyErr("the key is not PEM encoded")
	}
	if strings.TrimSpace(string(rest)) != "" {
		return nil, keyErr("the PEM data holds more than one block; register one public key at a time")
	}
	var pub any
	var err error
	switch block.Type {
	case "PUBLIC KEY":
		pub, err = x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		pub, err = x509.ParsePKCS1PublicKey(block.Bytes)
	case "PRIVATE KEY", "RSA PRIVATE KEY", "ENCRYPTED PRIVATE KEY":
		return nil, keyErr("the PEM block is a private key; register the public key (openssl rsa -pubout)")
	default:
		return nil, keyErr("unsupported PEM block %q; expected PUBLIC KEY or RSA PUBLIC KEY", clip(block.Type))
	}
	if err != nil {
		return nil, keyErr("the public key could not be parsed")
	}
	rsaPub, ok := pub.(*rsa.PublicKey)
	if !ok {
		return nil, keyErr("the key is not an RSA key (only RS256 is accepted)")
	}
	return rsaPub, CheckKey(rsaPub)
}

// ParseJWKS parses a JWK Set (or a single JWK) of RSA public keys and
// returns them by kid. Every key must be an RSA public key with a kid,
// `use` (when given) must be `sig` and `alg` (when given) RS256; when the
// set holds one key without a kid, defaultKid names it.
func ParseJWKS(data []byte, defaultKid string) (map[string]*rsa.PublicKey, error) {
	set, err := jwk.Parse(data)
	if err != nil {
		return nil, keyErr("the JWKS is not a valid JWK Set or JWK")
	}
	if set.Len() == 0 {
		return nil, keyErr("the JWKS holds no key")
	}
	out := make(map[string]*rsa.PublicKey, set.Len())
	for i := 0; i < set.Len(); i++ {
		k, _ := set.Key(i)
		kid := k.KeyID()
		if kid == "" && set.Len() == 1 {
			kid = defaultKid
		}
		if kid == "" {
			return nil, keyErr("key %d of the JWKS has no kid", i)
		}
		if u, ok := k.Get(jwk.KeyUsageKey); ok && fmt.Sprint(u) != string(jwk.ForSignature) {
			return nil, keyErr("key %q of the JWKS is not a signature key (use)", clip(kid))
		}
		if a := k.Algorithm(); a != nil && a.String() != "" && a.String() != Algorithm.String() {
			return nil, keyErr("key %q of the JWKS is for %s; only RS256 is accepted", clip(kid), clip(a.String()))
		}
		if k.KeyType() != jwa.RSA {
			return nil, keyErr("key %q of the JWKS is not an RSA key (only RS256 is accepted)", clip(kid))
		}
		if _, private := k.(jwk.RSAPrivateKey); private {
			return nil, keyErr("key %q of the JWKS is a private key; register the public key", clip(kid))
		}
		var pub rsa.PublicKey
		if err := k.Raw(&pub); err != nil {
			return nil, keyErr("key %q of the JWKS could not be read", clip(kid))
		}
		if err := CheckKey(&pub); err != nil {
			return nil, keyErr("key %q of the JWKS: %v", clip(kid), err)
		}
		if _, dup := out[kid]; dup {
			return nil, keyErr("the JWKS names kid %q twice", clip(kid))
		}
		out[kid] = &pub
	}
	return out, nil
}

// CheckKey enforces the accepted RSA key sizes and exponent.
func CheckKey(k *rsa.PublicKey) error {
	if k == nil || k.N == nil {
		return keyErr("the key is empty")
	}
	bits := k.N.BitLen()
	if bits < MinKeyBits || bits > MaxKeyBits {
		return keyErr("the RSA key has %d bits; between %d and %d are accepted", bits, MinKeyBits, MaxKeyBits)
	}
	if k.E < 3 || k.E%2 == 0 {
		return keyErr("the RSA key's public exponent is not valid")
	}
	return nil
}

// EncodePublicKeyPEM is the canonical stored form of a key: PKIX PEM.
func EncodePublicKeyPEM(k *rsa.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		panic(err) // an *rsa.PublicKey always marshals
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// Thumbprint is the key's RFC 7638 SHA-256 thumbprint, base64url.
func Thumbprint(k *rsa.PublicKey) string {
	j, err := jwk.FromRaw(k)
	if err != nil {
		return ""
	}
	sum, err := j.Thumbprint(crypto.SHA256)
	if err != nil {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString(sum)
}

// PublicJWK renders k as a public JWK with its kid, for a project's JWKS.
func PublicJWK(kid string, k *rsa.PublicKey) (jwk.Key, error) {
	j, err := jwk.FromRaw(k)
	if err != nil {
		return nil, err
	}
	if err := errors.Join(j.Set(jwk.KeyIDKey, kid), j.Set(jwk.AlgorithmKey, Algorithm), j.Set(jwk.KeyUsageKey, jwk.ForSignature)); err != nil {
		return nil, err
	}
	return j, nil
}

// GenerateKey makes a new RSA key pair and returns the private key as
// PKCS #8 PEM (what jose's importPKCS8 and jsonwebtoken read).
func GenerateKey() (*rsa.PublicKey, string, error) {
	priv, err := rsa.GenerateKey(rand.Reader, GeneratedKeyBits)
	if err != nil {
		return nil, "", err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, "", err
	}
	return &priv.PublicKey, string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), nil
}
