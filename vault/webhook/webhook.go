// Package webhook is the wire side of webhook deliveries: the canonical
// JSON a receiver re-creates with json-stable-stringify, the v1 signature
// (RSA-PSS SHA-256, base64, as the hosted docs' sample verifies), the
// signing key and the retry schedule. It knows nothing of tenants or the
// store.
package webhook

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
)

// Headers of a delivery.
const (
	SignatureHeader        = "BT-SIGNATURE"
	SignatureVersionHeader = "BT-SIGNATURE-VERSION"
	SignatureVersion       = "v1"
)

// Canonical re-encodes a JSON document the way json-stable-stringify
// writes JSON.parse of it: object keys sorted (by UTF-16 code units, as
// JavaScript sorts), no whitespace, strings escaped as JSON.stringify does.
// The delivered body is these bytes, so what a receiver verifies is
// exactly what was signed.
func Canonical(doc []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := appendCanonical(&b, v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func appendCanonical(b *bytes.Buffer, v any) error {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case json.Number:
		f, err := x.Float64()
		if err != nil || math.IsInf(f, 0) {
			return fmt.Errorf("webhook: number %s out of range", x)
		}
		b.WriteString(jsNumber(f))
	case string:
		appendString(b, x)
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := appendCanonical(b, e); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool { return utf16Less(keys[i], keys[j]) })
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			appendString(b, k)
			b.WriteByte(':')
			if err := appendCanonical(b, x[k]); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	default:
		return fmt.Errorf("webhook: unexpected JSON value %T", v)
	}
	return nil
}

// jsNumber formats f as JavaScript's Number#toString does: plain decimals
// from 1e-6 up to 1e21, else the shortest exponential form ("1e-7",
// "1e+21").
func jsNumber(f float64) string {
	if a := math.Abs(f); a == 0 || (a >= 1e-6 && a < 1e21) {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	s := strconv.FormatFloat(f, 'e', -1, 64) // 1e-07, 1.5e+22
	mant, exp, _ := strings.Cut(s, "e")
	sign, digits := exp[:1], strings.TrimLeft(exp[1:], "0")
	return mant + "e" + sign + digits
}

func utf16Less(a, b string) bool {
	ua, ub := utf16.Encode([]rune(a)), utf16.Encode([]rune(b))
	for i := 0; i < len(ua) && i < len(ub); i++ {
		if ua[i] != ub[i] {
			return ua[i] < ub[i]
		}
	}
	return len(ua) < len(ub)
}

// appendString writes s as JSON.stringify does: only `"`, `\` and control
// characters are escaped (no HTML or U+2028 escapes, unlike Go's encoder).
func appendString(b *bytes.Buffer, s string) {
	const hex = "0123456789abcdef"
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20:
			b.WriteString(`\u00`)
			b.WriteByte(hex[r>>4])
			b.WriteByte(hex[r&0xf])
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
}

// Signer holds the vault's webhook signing key.
type Signer struct{ key *rsa.PrivateKey }

// NewKey generates a signing key, PKCS #8 DER encoded.
func NewKey() ([]byte, error) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	return x509.MarshalPKCS8PrivateKey(k)
}

// ParseSigner loads a PKCS #8 DER RSA key.
func ParseSigner(der []byte) (*Signer, error) {
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, err
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, errors.New("webhook: the signing key is not RSA")
	}
	return &Signer{key: rk}, nil
}

// Sign returns the base64 RSA-PSS SHA-256 signature of body.
func (s *Signer) Sign(body []byte) string {
	sum := sha256.Sum256(body)
	sig, err := rsa.SignPSS(rand.Reader, s.key, crypto.SHA256, sum[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	if err != nil {
		panic(err) // only fails on a malformed key, which ParseSigner refused
	}
	return base64.StdEncoding.EncodeToString(sig)
}

// PublicKeyPEM is the verification key receivers configure.
func (s *Signer) PublicKeyPEM() string {
	der, _ := x509.MarshalPKIXPublicKey(&s.key.PublicKey)
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// Verify checks a signature made by Sign (for tests and tools).
func Verify(pub *rsa.PublicKey, body []byte, sig string) error {
	raw, err := base64.StdEncoding.DecodeString(sig)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(body)
	return rsa.VerifyPSS(pub, crypto.SHA256, sum[:], raw, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto})
}

// Retry is the delivery schedule: attempt n (1-based) that failed is
// retried after Base·2^(n-1), at most Max, until Attempts were made.
type Retry struct {
	Attempts int
	Base     time.Duration
	Max      time.Duration
}

// Defaults of the schedule: 10 attempts over about 2.5 hours.
const (
	DefaultAttempts = 10
	DefaultBase     = 10 * time.Second
	DefaultMax      = time.Hour
)

// WithDefaults fills zero fields.
func (r Retry) WithDefaults() Retry {
	if r.Attempts <= 0 {
		r.Attempts = DefaultAttempts
	}
	if r.Base <= 0 {
		r.Base = DefaultBase
	}
	if r.Max <= 0 {
		r.Max = max(DefaultMax, r.Base)
	}
	return r
}

// After returns the wait after failed attempt n, and false when n was the
// last one.
func (r Retry) After(n int) (time.Duration, bool) {
	if n >= r.Attempts {
		return 0, false
	}
	d := r.Base
	for i := 1; i < n && d < r.Max; i++ {
		d *= 2
	}
	return min(d, r.Max), true
}
