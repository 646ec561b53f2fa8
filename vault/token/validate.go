package token

import (
	"encoding/json"
	"math"
	"strconv"

	"github.com/strongroom/strongroom/vault/problem"
)

// Length limits of the numeric token types.
const (
	CardNumberMinLen    = 13
	CardNumberMaxLen    = 19
	AccountNumberMinLen = 3
	AccountNumberMaxLen = 17
	RoutingNumberLen    = 9
)

// ValidateData checks data against the rules of the token type typeName and
// returns the value to store: card and bank objects come back in canonical
// form (see NormalizeCard, NormalizeBank); every other value is returned
// unchanged. Errors are keyed "data" or "data.<property>"; an unknown type
// gives an error on "type".
//
// The string types (card_number, us_bank_*, social_security_number,
// employer_id_number) require a JSON string: a JSON number would lose leading
// zeros and could not be returned byte-for-byte.
func ValidateData(typeName string, data any) (any, problem.Fields) {
	if _, ok := Lookup(typeName); !ok {
		return nil, problem.Fields{"type": {"unknown token type " + strconv.Quote(typeName)}}
	}
	if data == nil {
		return nil, problem.Fields{"data": {"data is required"}}
	}
	switch typeName {
	case TypeToken:
		return data, nil
	case TypeCard:
		c, errs := NormalizeCard(data)
		if len(errs) > 0 {
			return nil, errs
		}
		return c, nil
	case TypeBank:
		b, errs := NormalizeBank(data)
		if len(errs) > 0 {
			return nil, errs
		}
		return b, nil
	}
	s, ok := data.(string)
	if !ok {
		return nil, problem.Fields{"data": {typeName + " data must be a string"}}
	}
	var msg string
	switch typeName {
	case TypeCardNumber:
		msg = checkCardNumber(s)
	case TypeUSBankAccountNumber:
		msg = checkAccountNumber(s)
	case TypeUSBankRoutingNumber:
		msg = checkRoutingNumber(s)
	case TypeSocialSecurityNumber:
		msg = checkDashedDigits(s, "social security number", "123-45-6789", 3, 5)
	case TypeEmployerIDNumber:
		msg = checkDashedDigits(s, "employer id number", "12-3456789", 2)
	}
	if msg != "" {
		return nil, problem.Fields{"data": {msg}}
	}
	return s, nil
}

// LuhnValid reports whether s is a non-empty string of ASCII digits that
// passes the Luhn (mod 10) check.
func LuhnValid(s string) bool {
	if s == "" {
		return false
	}
	sum := 0
	double := false
	for i := len(s) - 1; i >= 0; i-- {
		c := s[i]
		if c < '0' || c > '9' {
			return false
		}
		d := int(c - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

// ABAValid reports whether s is a nine-digit ABA routing number with a valid
// checksum: 3·(d1+d4+d7) + 7·(d2+d5+d8) + (d3+d6+d9) ≡ 0 (mod 10).
func ABAValid(s string) bool {
	if len(s) != RoutingNumberLen || !allDigits(s) {
		return false
	}
	weights := [3]int{3, 7, 1}
	sum := 0
	for i := 0; i < RoutingNumberLen; i++ {
		sum += weights[i%3] * int(s[i]-'0')
	}
	return sum%10 == 0
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func checkCardNumber(s string) string {
	switch {
	case s == "":
		return "card number is required"
	case !allDigits(s):
		return "card number must contain only digits, without separators"
	case len(s) < CardNumberMinLen || len(s) > CardNumberMaxLen:
		return "card number must be between 13 and 19 digits long"
	case !LuhnValid(s):
		return "card number is invalid (Luhn check failed)"
	}
	return ""
}

func checkAccountNumber(s string) string {
	switch {
	case s == "":
		return "account number is required"
	case !allDigits(s):
		return "account number must contain only digits"
	case len(s) < AccountNumberMinLen || len(s) > AccountNumberMaxLen:
		return "account number must be between 3 and 17 digits long"
	}
	return ""
}

func checkRoutingNumber(s string) string {
	switch {
	case s == "":
		return "routing number is required"
	case !allDigits(s):
		return "routing number must contain only digits"
	case len(s) != RoutingNumberLen:
		return "routing number must be 9 digits long"
	case !ABAValid(s):
		return "routing number is invalid (ABA checksum failed)"
	}
	return ""
}

// checkDashedDigits accepts exactly nine digits, with an optional '-' after
// each of the digit counts in dashAfter (3 and 5 for 123-45-6789, 2 for
// 12-3456789) and nowhere else.
func checkDashedDigits(s, what, example string, dashAfter ...int) string {
	bad := what + " must be 9 digits, optionally formatted as " + example
	digits := 0
	next := 0 // index into dashAfter of the next allowed dash position
	prevDash := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			digits++
			prevDash = false
			if digits > 9 {
				return bad
			}
		case c == '-':
			for next < len(dashAfter) && dashAfter[next] < digits {
				next++
			}
			if prevDash || next == len(dashAfter) || dashAfter[next] != digits {
				return bad
			}
			next++
			prevDash = true
		default:
			return bad
		}
	}
	if digits != 9 {
		return bad
	}
	return ""
}

// NormalizeBank validates a bank object ({routing_number, account_number},
// both required strings) and returns a fresh map holding just those two
// properties. Unknown properties are rejected. Errors are keyed
// "data" or "data.<property>".
func NormalizeBank(data any) (map[string]any, problem.Fields) {
	m, ok := data.(map[string]any)
	if !ok {
		return nil, problem.Fields{"data": {"bank data must be an object"}}
	}
	errs := problem.Fields{}
	out := make(map[string]any, 2)
	for _, f := range []struct {
		name  string
		check func(string) string
	}{
		{"routing_number", checkRoutingNumber},
		{"account_number", checkAccountNumber},
	} {
		v, present := m[f.name]
		if !present || v == nil {
			errs.Add("data."+f.name, f.name+" is required")
			continue
		}
		s, ok := v.(string)
		if !ok {
			errs.Add("data."+f.name, f.name+" must be a string")
			continue
		}
		if msg := f.check(s); msg != "" {
			errs.Add("data."+f.name, msg)
			continue
		}
		out[f.name] = s
	}
	rejectUnknown(m, errs, "bank", "routing_number", "account_number")
	if len(errs) > 0 {
		return nil, errs
	}
	return out, nil
}

// NormalizeCard validates a card object and returns it in canonical form: a
// fresh map with "number" (string), and when present "expiration_month" and
// "expiration_year" as Go ints and "cvc" as a string. Properties set to null
// count as absent. Months and years may arrive as JSON numbers
// (json.Number or float64) or as digit strings such as "02"; the month must
// be 1–12 and the year four digits. cvc must be a string of 3 or 4 digits.
// Unknown properties are rejected. Errors are keyed "data" or
// "data.<property>". Expiry in the past is not checked.
func NormalizeCard(data any) (map[string]any, problem.Fields) {
	m, ok := data.(map[string]any)
	if !ok {
		return nil, problem.Fields{"data": {"card data must be an object"}}
	}
	errs := problem.Fields{}
	out := make(map[string]any, 4)

	switch v := m["number"].(type) {
	case nil:
		errs.Add("data.number", "number is required")
	case string:
		if msg := checkCardNumber(v); msg != "" {
			errs.Add("data.number", msg)
		} else {
			out["number"] = v
		}
	default:
		errs.Add("data.number", "number must be a string")
	}

	if v := m["expiration_month"]; v != nil {
		if n, ok := toInt(v, 2); !ok || n < 1 || n > 12 {
			errs.Add("data.expiration_month", "expiration_month must be an integer from 1 to 12")
		} else {
			out["expiration_month"] = n
		}
	}

	if v := m["expiration_year"]; v != nil {
		if n, ok := toInt(v, 4); !ok || n < 1000 || n > 9999 {
			errs.Add("data.expiration_year", "expiration_year must be a four-digit integer")
		} else {
			out["expiration_year"] = n
		}
	}

	if v := m["cvc"]; v != nil {
		s, ok := v.(string)
		if !ok || len(s) < 3 || len(s) > 4 || !allDigits(s) {
			errs.Add("data.cvc", "cvc must be a string of 3 or 4 digits")
		} else {
			out["cvc"] = s
		}
	}

	rejectUnknown(m, errs, "card", "number", "expiration_month", "expiration_year", "cvc")
	if len(errs) > 0 {
		return nil, errs
	}
	return out, nil
}

func rejectUnknown(m map[string]any, errs problem.Fields, what string, known ...string) {
	for k := range m {
		isKnown := false
		for _, kn := range known {
			if k == kn {
				isKnown = true
				break
			}
		}
		if !isKnown {
			errs.Add("data."+k, k+" is not a property of a "+what+" object")
		}
	}
}

// toInt converts a decoded JSON integer to int. Numbers (json.Number,
// float64, Go integers) must be integral; strings must be 1..maxStrDigits
// ASCII digits. The result is only meaningful when ok is true.
func toInt(v any, maxStrDigits int) (n int, ok bool) {
	switch x := v.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return clampInt(i)
		}
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil {
			return 0, false
		}
		return floatToInt(f)
	case float64:
		return floatToInt(x)
	case int:
		return x, true
	case int64:
		return clampInt(x)
	case string:
		if len(x) == 0 || len(x) > maxStrDigits || !allDigits(x) {
			return 0, false
		}
		i, err := strconv.Atoi(x)
		return i, err == nil
	}
	return 0, false
}

func floatToInt(f float64) (int, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) || f != math.Trunc(f) || math.Abs(f) > 1e9 {
		return 0, false
	}
	return int(f), true
}

func clampInt(i int64) (int, bool) {
	if i > 1e9 || i < -1e9 {
		return 0, false
	}
	return int(i), true
}
