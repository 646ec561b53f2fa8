package token

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/mr-tron/base58"
)

func TestFingerprint(t *testing.T) {
	key := []byte("tenant-key")
	// Known answers computed independently (Python hmac + base58).
	known := []struct{ typ, value, want string }{
		{"card_number", "4242424242424242", "GCKMMA3MP73w4EygxmHAMusc8e59UTHduHno91jz1tzZ"},
		{"social_security_number", "123456789", "38BSDs1uCgzHUoVp3Kpo27BqchgW3A9jge5ynrSSHEcr"},
	}
	for _, k := range known {
		if got := Fingerprint(key, k.typ, k.value); got != k.want {
			t.Errorf("Fingerprint(%s, %s) = %s, want %s", k.typ, k.value, got, k.want)
		}
	}
	a := Fingerprint(key, "card_number", "4242424242424242")
	if raw, err := base58.Decode(a); err != nil || len(raw) != 32 {
		t.Errorf("fingerprint %q is not base58 of 32 bytes (%d, %v)", a, len(raw), err)
	}
	if strings.ContainsAny(a, "0OIl") {
		t.Errorf("fingerprint %q uses characters outside base58", a)
	}
	if a != Fingerprint(key, "card_number", "4242424242424242") {
		t.Error("fingerprint not deterministic")
	}
	if a == Fingerprint([]byte("other-key"), "card_number", "4242424242424242") {
		t.Error("fingerprint ignores the key")
	}
	if a == Fingerprint(key, "card", "4242424242424242") {
		t.Error("fingerprint ignores the type")
	}
	// The separator prevents type/value boundary collisions.
	if Fingerprint(key, "ab", "c") == Fingerprint(key, "a", "bc") {
		t.Error("type/value boundary is ambiguous")
	}
}

func TestDefaultFingerprintValue(t *testing.T) {
	tests := []struct {
		typ  string
		data any
		want string
		ok   bool
	}{
		{"card_number", "4242424242424242", "4242424242424242", true},
		{"card", map[string]any{"number": "4242424242424242", "cvc": "123"}, "4242424242424242", true},
		{"bank", map[string]any{"routing_number": "021000021", "account_number": "1234567890"}, "1234567890|021000021", true},
		{"social_security_number", "123-45-6789", "123456789", true},
		{"social_security_number", "123456789", "123456789", true},
		{"employer_id_number", "12-3456789", "123456789", true},
		{"us_bank_account_number", "1234567890", "1234567890", true},
		{"us_bank_routing_number", "021000021", "021000021", true},
		{"token", "Sensitive Value", "Sensitive Value", true},
		{"token", json.Number("12.50"), "12.50", true},
		{"token", true, "true", true},
		{"token", map[string]any{"b": "<&>", "a": []any{json.Number("1"), nil}}, `{"a":[1,null],"b":"<&>"}`, true},
		{"token", nil, "", false},
		{"card", map[string]any{}, "", false},
		{"bank", map[string]any{"account_number": "1"}, "", false},
		{"card_number", 42.0, "", false},
		{"nope", "x", "", false},
	}
	for _, tt := range tests {
		got, ok := DefaultFingerprintValue(tt.typ, tt.data)
		if got != tt.want || ok != tt.ok {
			t.Errorf("DefaultFingerprintValue(%s, %#v) = %q, %v; want %q, %v", tt.typ, tt.data, got, ok, tt.want, tt.ok)
		}
	}
	if ty, _ := Lookup("token"); ty.Fingerprinted {
		t.Error("token must not be fingerprinted by default in v1")
	}
	// Dashed and undashed SSNs share a fingerprint.
	v1, _ := DefaultFingerprintValue("social_security_number", "123-45-6789")
	v2, _ := DefaultFingerprintValue("social_security_number", "123456789")
	if Fingerprint([]byte("k"), "social_security_number", v1) != Fingerprint([]byte("k"), "social_security_number", v2) {
		t.Error("dashed and undashed SSN fingerprints differ")
	}
}

func TestDefaultSearchIndexes(t *testing.T) {
	tests := []struct {
		typ  string
		data any
		want []string
	}{
		{"social_security_number", "123-45-6789", []string{"123-45-6789", "123456789", "6789"}},
		{"social_security_number", "123456789", []string{"123456789", "6789"}},
		{"employer_id_number", "12-3456789", []string{"12-3456789", "123456789", "6789"}},
		{"employer_id_number", "123456789", []string{"123456789", "6789"}},
		{"card_number", "4242424242424242", nil},
		{"token", "123-45-6789", nil},
		{"social_security_number", 123456789.0, nil},
		{"social_security_number", "", nil},
	}
	for _, tt := range tests {
		if got := DefaultSearchIndexes(tt.typ, tt.data); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("DefaultSearchIndexes(%s, %#v) = %q, want %q", tt.typ, tt.data, got, tt.want)
		}
	}
}
