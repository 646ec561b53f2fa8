package token

import "unicode/utf8"

// TestCards are the test card numbers listed in seed 001 ("Test Cards").
// The v1 service accepted only these in test tenants.
var TestCards = []string{
	"4242424242424242",
	"4000056655665556",
	"5555555555554444",
	"2223003122003222",
	"5200828282828210",
	"5105105105105100",
	"378282246310005",
	"371449635398431",
	"6011111111111117",
	"6011000990139424",
	"3056930009020004",
	"36227206271667",
	"3566002020360505",
	"620000000000000",
}

// Test bank account from seed 001 ("Test Banks").
const (
	TestBankRoutingNumber = "110000000"
	TestBankAccountNumber = "000123456789"
)

var testCardSet = func() map[string]struct{} {
	m := make(map[string]struct{}, len(TestCards))
	for _, c := range TestCards {
		m[c] = struct{}{}
	}
	return m
}()

// IsTestCard reports whether number is one of TestCards.
func IsTestCard(number string) bool {
	_, ok := testCardSet[number]
	return ok
}

// Card brands returned by Brand.
const (
	BrandVisa            = "visa"
	BrandMastercard      = "mastercard"
	BrandAmericanExpress = "american-express"
	BrandDiscover        = "discover"
	BrandDinersClub      = "diners-club"
	BrandJCB             = "jcb"
	BrandUnionPay        = "unionpay"
	BrandMaestro         = "maestro"
)

// Brand guesses the card brand from the leading digits of number (IIN
// ranges only; length is not checked). It returns "" when number is not all
// digits or matches no known range. 622126–622925 (Discover co-branded) is
// reported as unionpay.
func Brand(number string) string {
	if number == "" || !allDigits(number) {
		return ""
	}
	p1, p2, p3, p4 := prefix(number, 1), prefix(number, 2), prefix(number, 3), prefix(number, 4)
	switch {
	case p2 == 34 || p2 == 37:
		return BrandAmericanExpress
	case p3 >= 300 && p3 <= 305, p4 == 3095, p2 == 36, p2 == 38, p2 == 39:
		return BrandDinersClub
	case p4 >= 3528 && p4 <= 3589, p4 == 2131, p4 == 1800:
		return BrandJCB
	case p1 == 4:
		return BrandVisa
	case p2 >= 51 && p2 <= 55, p4 >= 2221 && p4 <= 2720:
		return BrandMastercard
	case p4 == 6011, p3 >= 644 && p3 <= 649, p2 == 65:
		return BrandDiscover
	case p2 == 62, p2 == 81:
		return BrandUnionPay
	case p2 == 50, p2 >= 56 && p2 <= 59, p2 == 63, p2 == 67:
		return BrandMaestro
	}
	return ""
}

// prefix returns the first n digits of s as an int, or -1 if s is shorter.
func prefix(s string, n int) int {
	if len(s) < n {
		return -1
	}
	v := 0
	for i := 0; i < n; i++ {
		v = v*10 + int(s[i]-'0')
	}
	return v
}

// BIN returns the bank identification number of a card number: the first 8
// digits when the number has 16 or more digits, otherwise the first 6. It
// returns "" when number is not all digits or has fewer than 6 digits.
func BIN(number string) string {
	if len(number) < 6 || !allDigits(number) {
		return ""
	}
	if len(number) >= 16 {
		return number[:8]
	}
	return number[:6]
}

// Last4 returns the last four characters of s, or s itself when it is
// shorter.
func Last4(s string) string {
	n := 0
	for i := len(s); i > 0; {
		_, size := utf8.DecodeLastRuneInString(s[:i])
		i -= size
		n++
		if n == 4 {
			return s[i:]
		}
	}
	return s
}
