package token

import (
	"unicode"
	"unicode/utf8"
)

// MaskChar is the default mask character.
const MaskChar = 'X'

// RevealLast replaces every letter and digit of s except the last n with
// maskChar. Other characters (delimiters such as '-' or ' ') stay in place
// unchanged, so "123-45-6789" with n=4 gives "XXX-XX-6789". The result has
// as many runes as s; invalid UTF-8 bytes are kept as they are. n <= 0 masks
// every letter and digit.
func RevealLast(s string, n int, maskChar rune) string {
	return RevealFirstLast(s, 0, n, maskChar)
}

// RevealFirstLast is like RevealLast but also reveals the first `first`
// letters and digits. When first+last covers every letter and digit, s is
// returned unchanged.
func RevealFirstLast(s string, first, last int, maskChar rune) string {
	if first < 0 {
		first = 0
	}
	if last < 0 {
		last = 0
	}
	total := 0
	for _, r := range s {
		if isAlnum(r) {
			total++
		}
	}
	if first+last >= total {
		return s
	}
	buf := make([]byte, 0, len(s)+total*utf8.UTFMax)
	idx := 0 // index of the current letter/digit among all letters/digits
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if !isAlnum(r) { // includes invalid bytes (utf8.RuneError)
			buf = append(buf, s[i:i+size]...)
		} else {
			if idx < first || idx >= total-last {
				buf = append(buf, s[i:i+size]...)
			} else {
				buf = utf8.AppendRune(buf, maskChar)
			}
			idx++
		}
		i += size
	}
	return string(buf)
}

func isAlnum(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// DefaultMask returns the default mask of a token of type typeName holding
// data (already validated), and false when the type has no mask or data
// does not have the expected shape (the caller then redacts):
//
//   - card_number, us_bank_account_number, us_bank_routing_number,
//     social_security_number, employer_id_number: RevealLast(data, 4, 'X'),
//     keeping dashes ("XXXXXXXXXXXX4242", "XXX-XX-6789", "XX-XXX6789");
//   - card: {number: masked, expiration_month, expiration_year} with the
//     month and year copied only when present, and never cvc;
//   - bank: {routing_number: clear, account_number: masked};
//   - token: no mask.
func DefaultMask(typeName string, data any) (any, bool) {
	switch typeName {
	case TypeCardNumber, TypeUSBankAccountNumber, TypeUSBankRoutingNumber,
		TypeSocialSecurityNumber, TypeEmployerIDNumber:
		s, ok := data.(string)
		if !ok {
			return nil, false
		}
		return RevealLast(s, 4, MaskChar), true
	case TypeCard:
		m, ok := data.(map[string]any)
		if !ok {
			return nil, false
		}
		num, ok := m["number"].(string)
		if !ok {
			return nil, false
		}
		out := map[string]any{"number": RevealLast(num, 4, MaskChar)}
		for _, k := range [...]string{"expiration_month", "expiration_year"} {
			if v, present := m[k]; present && v != nil {
				out[k] = v
			}
		}
		return out, true
	case TypeBank:
		m, ok := data.(map[string]any)
		if !ok {
			return nil, false
		}
		acct, ok := m["account_number"].(string)
		if !ok {
			return nil, false
		}
		out := map[string]any{"account_number": RevealLast(acct, 4, MaskChar)}
		if v, present := m["routing_number"]; present {
			out["routing_number"] = v
		}
		return out, true
	}
	return nil, false
}
