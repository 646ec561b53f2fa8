package token

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestBrand(t *testing.T) {
	tests := map[string]string{
		// seed 001 test cards
		"4242424242424242": "visa",
		"4000056655665556": "visa",
		"5555555555554444": "mastercard",
		"2223003122003222": "mastercard",
		"5200828282828210": "mastercard",
		"5105105105105100": "mastercard",
		"378282246310005":  "american-express",
		"371449635398431":  "american-express",
		"6011111111111117": "discover",
		"6011000990139424": "discover",
		"3056930009020004": "diners-club",
		"36227206271667":   "diners-club",
		"3566002020360505": "jcb",
		"620000000000000":  "unionpay",
		// more ranges
		"2720990000000000":    "mastercard",
		"2721000000000000":    "",
		"6445644564456445":    "discover",
		"6500000000000002":    "discover",
		"3528000000000000":    "jcb",
		"3589999999999999":    "jcb",
		"3095000000000000":    "diners-club",
		"3800000000000000":    "diners-club",
		"8100000000000000":    "unionpay",
		"6304000000000000":    "maestro",
		"5018000000000009":    "maestro",
		"6759649826438453":    "maestro",
		"5600000000000000000": "maestro",
		"9999999999999999":    "",
		"1234567890123":       "",
		"":                    "",
		"4":                   "visa",
		"4242-4242":           "",
		"x4242424242424242":   "",
	}
	for in, want := range tests {
		if got := Brand(in); got != want {
			t.Errorf("Brand(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestBINAndLast4(t *testing.T) {
	bins := map[string]string{
		"4242424242424242":    "42424242",
		"6011000000000000004": "60110000",
		"378282246310005":     "378282",
		"36227206271667":      "362272",
		"12345":               "",
		"123456":              "123456",
		"4242x24242424242":    "",
	}
	for in, want := range bins {
		if got := BIN(in); got != want {
			t.Errorf("BIN(%q) = %q, want %q", in, got, want)
		}
	}
	last := map[string]string{
		"4242424242424242": "4242",
		"123-45-6789":      "6789",
		"abc":              "abc",
		"":                 "",
		"xxñandú":          "andú",
	}
	for in, want := range last {
		if got := Last4(in); got != want {
			t.Errorf("Last4(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestValidateID(t *testing.T) {
	ok := []string{
		"abc",
		"my token id",
		"c06d0789-0a38-40be-b7cc-c28a718f76f1",
		"ñañ",
		strings.Repeat("a", 400),
		strings.Repeat("é", 400), // 400 runes, 800 bytes
		"a.b_c-d~e!f@g$h*i(j)k,l;m:n'o\"p",
		"{{ data | alias_preserve_format }}", // alias expression: caller evaluates
		"x{{data}}",
	}
	for _, id := range ok {
		if err := ValidateID(id); err != nil {
			t.Errorf("ValidateID(%q) = %v", id, err)
		}
	}
	bad := map[string]string{
		"":                       "between 3 and 400",
		"ab":                     "between 3 and 400",
		strings.Repeat("a", 401): "between 3 and 400",
		"ab\xff":                 "UTF-8",
		"a\x00b":                 "control",
		"a\nbc":                  "control",
	}
	for _, c := range `#/\+?[]|&=%<>{}^` {
		bad["abc"+string(c)+"def"] = "must not contain"
	}
	bad["ab}}c"] = "must not contain"
	bad["a{b"] = "must not contain"
	for id, sub := range bad {
		err := ValidateID(id)
		if err == nil || !strings.Contains(err.Error(), sub) {
			t.Errorf("ValidateID(%q) = %v, want error containing %q", id, err, sub)
		}
	}
	if !IsAliasExpression("{{ data }}") || IsAliasExpression("{ data }") || IsAliasExpression("abc") {
		t.Error("IsAliasExpression wrong")
	}
}

func FuzzValidateID(f *testing.F) {
	for _, s := range []string{"abc", "{{ data }}", "a/b", "ab", "\x00\x01\x02", "ñañ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		err := ValidateID(id)
		if err != nil || IsAliasExpression(id) {
			return
		}
		n := utf8.RuneCountInString(id)
		if n < IDMinLen || n > IDMaxLen || strings.ContainsAny(id, idForbidden) || !utf8.ValidString(id) {
			t.Fatalf("ValidateID accepted %q", id)
		}
	})
}
