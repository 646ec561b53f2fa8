package webhook

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"testing"
	"time"
)

func TestCanonicalMatchesJSONStableStringify(t *testing.T) {
	// Expected values are what json-stable-stringify(JSON.parse(in)) prints.
	cases := map[string]string{
		`{"b":1,"a":{"d":[3,{"z":true,"y":null}],"c":"x"}}`: `{"a":{"c":"x","d":[3,{"y":null,"z":true}]},"b":1}`,
		`{"s":"<a&b>\u2028\"\\\n\t\u0001é😀"}`:               "{\"s\":\"<a&b>\u2028\\\"\\\\\\n\\t\\u0001é😀\"}",
		`[1.0, 2.50, 1e21, -0.000001, 1e-7]`:                `[1,2.5,1e+21,-0.000001,1e-7]`,
		// UTF-16 order: U+FF61 sorts after the surrogate pair of U+1F600.
		`{"｡":1,"😀":2,"a":3}`: `{"a":3,"😀":2,"｡":1}`,
	}
	for in, want := range cases {
		got, err := Canonical([]byte(in))
		if err != nil || string(got) != want {
			t.Errorf("Canonical(%s) = %s, %v; want %s", in, got, err, want)
		}
	}
	if _, err := Canonical([]byte(`{"a":`)); err == nil {
		t.Error("truncated JSON accepted")
	}
}

func TestSignVerifies(t *testing.T) {
	der, err := NewKey()
	if err != nil {
		t.Fatal(err)
	}
	s, err := ParseSigner(der)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode([]byte(s.PublicKeyPEM()))
	pub, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"delivered_at":"x","event":{}}`)
	sig := s.Sign(body)
	if err := Verify(pub.(*rsa.PublicKey), body, sig); err != nil {
		t.Fatalf("signature does not verify: %v", err)
	}
	if Verify(pub.(*rsa.PublicKey), []byte(`{"delivered_at":"y","event":{}}`), sig) == nil {
		t.Fatal("signature verifies another body")
	}
}

func TestRetrySchedule(t *testing.T) {
	r := Retry{Attempts: 5, Base: time.Second, Max: 5 * time.Second}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second}
	for i, w := range want {
		if d, ok := r.After(i + 1); !ok || d != w {
			t.Errorf("After(%d) = %s, %v; want %s", i+1, d, ok, w)
		}
	}
	if _, ok := r.After(5); ok {
		t.Error("a sixth attempt was scheduled")
	}
	if d := (Retry{}).WithDefaults(); d.Attempts != DefaultAttempts || d.Base != DefaultBase || d.Max != DefaultMax {
		t.Errorf("defaults %+v", d)
	}
}
