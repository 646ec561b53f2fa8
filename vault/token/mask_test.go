package token

import (
	"encoding/json"
	"reflect"
	"testing"
	"unicode/utf8"
)

func TestRevealLast(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		mask rune
		want string
	}{
		// Every example from seed 001 "Token Types" and the wire contract.
		{"4242424242424242", 4, 'X', "XXXXXXXXXXXX4242"},
		{"36227206271667", 4, 'X', "XXXXXXXXXX1667"},
		{"1234567890", 4, 'X', "XXXXXX7890"},
		{"123456789", 4, 'X', "XXXXX6789"},
		{"123-45-6789", 4, 'X', "XXX-XX-6789"},
		{"12-3456789", 4, 'X', "XX-XXX6789"},
		// Delimiters inside the revealed part stay too.
		{"4242-4242-4242-4242", 4, 'X', "XXXX-XXXX-XXXX-4242"},
		{"4242-4242-4242-4242", 6, 'X', "XXXX-XXXX-XX42-4242"},
		{"john.doe@example.com", 3, '*', "****.***@*******.com"},
		{"abc", 4, 'X', "abc"},
		{"abcd", 4, 'X', "abcd"},
		{"abcde", 4, 'X', "Xbcde"},
		{"abcde", 0, 'X', "XXXXX"},
		{"abcde", -2, 'X', "XXXXX"},
		{"", 4, 'X', ""},
		{"---", 1, 'X', "---"},
		{"ñandú42", 2, '#', "#####42"},
		{"ñandú42", 3, 'X', "XXXXú42"},
		{"a\xffb\xfec", 1, 'X', "X\xffX\xfec"}, // invalid bytes are kept as they are
		{"12345", 2, '•', "•••45"},
	}
	for _, tt := range tests {
		got := RevealLast(tt.in, tt.n, tt.mask)
		if got != tt.want {
			t.Errorf("RevealLast(%q, %d, %q) = %q, want %q", tt.in, tt.n, tt.mask, got, tt.want)
		}
	}
}

func TestRevealFirstLast(t *testing.T) {
	tests := []struct {
		in          string
		first, last int
		want        string
	}{
		{"4242424242424242", 6, 4, "424242XXXXXX4242"},
		{"4242-4242-4242-4242", 6, 4, "4242-42XX-XXXX-4242"},
		{"111-22-3333", 0, 4, "XXX-XX-3333"},
		{"111-22-3333", 3, 0, "111-XX-XXXX"},
		{"12345", 3, 3, "12345"},
		{"12345", -1, -1, "XXXXX"},
	}
	for _, tt := range tests {
		if got := RevealFirstLast(tt.in, tt.first, tt.last, 'X'); got != tt.want {
			t.Errorf("RevealFirstLast(%q, %d, %d) = %q, want %q", tt.in, tt.first, tt.last, got, tt.want)
		}
	}
}

func TestDefaultMask(t *testing.T) {
	tests := []struct {
		typ  string
		data any
		want any
		ok   bool
	}{
		{"card_number", "4242424242424242", "XXXXXXXXXXXX4242", true},
		{"card_number", "36227206271667", "XXXXXXXXXX1667", true},
		{"us_bank_account_number", "1234567890", "XXXXXX7890", true},
		{"us_bank_routing_number", "021000021", "XXXXX0021", true},
		{"social_security_number", "123456789", "XXXXX6789", true},
		{"social_security_number", "123-45-6789", "XXX-XX-6789", true},
		{"employer_id_number", "123456789", "XXXXX6789", true},
		{"employer_id_number", "12-3456789", "XX-XXX6789", true},
		{"card", map[string]any{"number": "4242424242424242", "expiration_month": 12, "expiration_year": 2025, "cvc": "123"},
			map[string]any{"number": "XXXXXXXXXXXX4242", "expiration_month": 12, "expiration_year": 2025}, true},
		{"card", map[string]any{"number": "4242424242424242", "expiration_month": json.Number("1")},
			map[string]any{"number": "XXXXXXXXXXXX4242", "expiration_month": json.Number("1")}, true},
		{"card", map[string]any{"number": "378282246310005", "cvc": "1234"},
			map[string]any{"number": "XXXXXXXXXXX0005"}, true},
		{"bank", map[string]any{"routing_number": "021000021", "account_number": "1234567890"},
			map[string]any{"routing_number": "021000021", "account_number": "XXXXXX7890"}, true},
		{"token", "Sensitive Value", nil, false},
		{"token", map[string]any{"a": "b"}, nil, false},
		{"card_number", json.Number("4242424242424242"), nil, false},
		{"card", "4242424242424242", nil, false},
		{"card", map[string]any{"cvc": "123"}, nil, false},
		{"bank", map[string]any{"routing_number": "021000021"}, nil, false},
		{"unknown", "x", nil, false},
	}
	for _, tt := range tests {
		got, ok := DefaultMask(tt.typ, tt.data)
		if ok != tt.ok || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("DefaultMask(%s, %#v) = %#v, %v; want %#v, %v", tt.typ, tt.data, got, ok, tt.want, tt.ok)
		}
	}
}

// revealInvariants checks what every RevealFirstLast result must satisfy.
func revealInvariants(t *testing.T, in string, first, last int, mask rune, out string) {
	t.Helper()
	inR, outR := []rune(in), []rune(out)
	if len(inR) != len(outR) {
		t.Fatalf("rune length %d -> %d for %q -> %q", len(inR), len(outR), in, out)
	}
	if first < 0 {
		first = 0
	}
	if last < 0 {
		last = 0
	}
	total := 0
	for _, r := range inR {
		if isAlnum(r) {
			total++
		}
	}
	idx := 0
	for i, r := range inR {
		if !isAlnum(r) {
			if outR[i] != r {
				t.Fatalf("delimiter %q at %d changed to %q (%q -> %q)", r, i, outR[i], in, out)
			}
			continue
		}
		revealed := first+last >= total || idx < first || idx >= total-last
		if revealed && outR[i] != r {
			t.Fatalf("alnum %d (%q) should be revealed in %q -> %q", idx, r, in, out)
		}
		if !revealed && outR[i] != mask {
			t.Fatalf("alnum %d (%q) should be masked in %q -> %q", idx, r, in, out)
		}
		idx++
	}
	if utf8.ValidString(in) && !utf8.ValidString(out) && utf8.ValidRune(mask) {
		t.Fatalf("valid input gave invalid output %q", out)
	}
}

func FuzzRevealLast(f *testing.F) {
	for _, s := range []string{"4242424242424242", "123-45-6789", "12-3456789", "", "ñandú", "\xff\xfe12", "a-b-c-d-e"} {
		f.Add(s, 4)
	}
	f.Add("4242424242424242", -3)
	f.Add("4242424242424242", 100)
	f.Fuzz(func(t *testing.T, s string, n int) {
		out := RevealLast(s, n, MaskChar)
		revealInvariants(t, s, 0, n, MaskChar, out)
		if n >= 0 && n < 1<<20 {
			revealInvariants(t, s, n, n, '*', RevealFirstLast(s, n, n, '*'))
		}
	})
}
