package token

import (
	"crypto/hmac"
	"crypto/sha256"
	"strings"

	"github.com/mr-tron/base58"

	"github.com/strongroom/strongroom/vault/jsonorder"
)

// Fingerprint returns base58(HMAC-SHA256(key, typeName + "\x00" + value)),
// the Bitcoin-alphabet encoding of a 32-byte keyed hash (43 or 44
// characters). key is the tenant's fingerprint secret; equal values of the
// same type in the same tenant get equal fingerprints.
func Fingerprint(key []byte, typeName, value string) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(typeName))
	mac.Write([]byte{0})
	mac.Write([]byte(value))
	return base58.Encode(mac.Sum(nil))
}

// DefaultFingerprintValue evaluates the type's default fingerprint
// expression on data (already validated and normalised):
//
//   - card_number, us_bank_account_number, us_bank_routing_number: data;
//   - card: data.number;
//   - bank: data.account_number + "|" + data.routing_number;
//   - social_security_number, employer_id_number: data without dashes;
//   - token: Stringify(data).
//
// It returns false when data does not have the expected shape. Note that the
// v1 model does not fingerprint token-type tokens (Type.Fingerprinted is
// false); the token case exists for the newer fingerprint_tokens setting.
func DefaultFingerprintValue(typeName string, data any) (string, bool) {
	switch typeName {
	case TypeToken:
		if data == nil {
			return "", false
		}
		s, err := Stringify(data)
		return s, err == nil
	case TypeCardNumber, TypeUSBankAccountNumber, TypeUSBankRoutingNumber:
		s, ok := data.(string)
		return s, ok
	case TypeSocialSecurityNumber, TypeEmployerIDNumber:
		s, ok := data.(string)
		return strings.ReplaceAll(s, "-", ""), ok
	case TypeCard:
		m, ok := data.(map[string]any)
		if !ok {
			return "", false
		}
		s, ok := m["number"].(string)
		return s, ok
	case TypeBank:
		m, ok := data.(map[string]any)
		if !ok {
			return "", false
		}
		acct, ok1 := m["account_number"].(string)
		routing, ok2 := m["routing_number"].(string)
		if !ok1 || !ok2 {
			return "", false
		}
		return acct + "|" + routing, true
	}
	return "", false
}

// Stringify renders a decoded JSON value as the Liquid `stringify` filter
// does: a string is returned as is, anything else as compact JSON (object
// keys sorted, no HTML escaping).
func Stringify(data any) (string, error) {
	if s, ok := data.(string); ok {
		return s, nil
	}
	b, err := jsonorder.Marshal(data)
	return string(b), err
}
