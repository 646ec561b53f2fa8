package expr

import (
	"math"
	"strconv"
	"strings"
)

// binLength is 6 for card numbers under 16 digits, 8 otherwise.
func binLength(digits int) int {
	if digits < 16 {
		return 6
	}
	return 8
}

// cardBinFilter is `card_bin[: separator]`: the first 6 digits, or 8 when the
// number (without the separator) has 16 or more.
func cardBinFilter(v any, sep func(string) string) (any, error) {
	if v == nil {
		return nil, nil
	}
	s, err := cardNumberArg("card_bin", v)
	if err != nil {
		return nil, err
	}
	if sp := sep(""); sp != "" {
		s = strings.ReplaceAll(s, sp, "")
	}
	rs := []rune(s)
	if b := binLength(len(rs)); len(rs) > b {
		rs = rs[:b]
	}
	return string(rs), nil
}

// cardMaskFilter is `card_mask: revealBin, revealLast4, maskChar, preserveChar`.
func cardMaskFilter(v any, revealBin, revealLast4 any, maskChar, preserve func(string) string) (any, error) {
	if v == nil {
		return nil, nil
	}
	s, err := cardNumberArg("card_mask", v)
	if err != nil {
		return nil, err
	}
	mask := firstRune(maskChar("X"), 'X')
	keep := preserve("")
	rs := []rune(s)
	var idx []int // positions that are not preserved characters
	for i, r := range rs {
		if keep == "" || !strings.ContainsRune(keep, r) {
			idx = append(idx, i)
		}
	}
	n := len(idx)
	bin := binLength(n)
	out := append([]rune(nil), rs...)
	for j, i := range idx {
		if (boolArg(revealBin) && j < bin) || (boolArg(revealLast4) && j >= n-4) {
			continue
		}
		out[i] = mask
	}
	if string(out) == s {
		for _, i := range idx {
			out[i] = mask
		}
	}
	return string(out), nil
}

// cardExpFilter is `card_exp: 'MM/YY'`. The input is a card object (or a token
// holding one) with expiration_month/expiration_year (also exp_month/exp_year,
// month/year), or a string such as "10/2028", "10/28" or "2028-10". In the
// format, YYYY is the 4-digit year, YY the 2-digit year and MM the 2-digit
// month; everything else is copied.
func cardExpFilter(v any, format func(string) string) (any, error) {
	if v == nil {
		return nil, nil
	}
	f := format("")
	if f == "" {
		return nil, errorf("card_exp: a format is required")
	}
	month, year, err := expiration(v, 0)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	for i := 0; i < len(f); {
		switch {
		case strings.HasPrefix(f[i:], "YYYY"):
			b.WriteString(strconv.Itoa(year))
			i += 4
		case strings.HasPrefix(f[i:], "YY"):
			b.WriteString(pad2(year % 100))
			i += 2
		case strings.HasPrefix(f[i:], "MM"):
			b.WriteString(pad2(month))
			i += 2
		default:
			b.WriteByte(f[i])
			i++
		}
	}
	return b.String(), nil
}

func pad2(n int) string {
	if n < 10 {
		return "0" + strconv.Itoa(n)
	}
	return strconv.Itoa(n)
}

func expiration(v any, depth int) (month, year int, err error) {
	errNoExp := errorf("card_exp: input has no valid expiration month and year")
	switch v := v.(type) {
	case map[string]any:
		m, okM := intField(v, "expiration_month", "exp_month", "month")
		y, okY := intField(v, "expiration_year", "exp_year", "year")
		if okM && okY {
			return checkExp(m, y)
		}
		if depth < 2 {
			for _, k := range []string{"data", "card"} {
				if inner, ok := v[k].(map[string]any); ok {
					return expiration(inner, depth+1)
				}
			}
		}
		return 0, 0, errNoExp
	case string:
		s := strings.TrimSpace(v)
		for _, sep := range []string{"/", "-", "_", " "} {
			a, b, ok := strings.Cut(s, sep)
			if !ok {
				continue
			}
			x, err1 := strconv.Atoi(a)
			y, err2 := strconv.Atoi(b)
			if err1 != nil || err2 != nil {
				return 0, 0, errNoExp
			}
			if len(a) == 4 { // YYYY-MM
				x, y = y, x
			}
			return checkExp(x, y)
		}
	}
	return 0, 0, errNoExp
}

func checkExp(m, y int) (int, int, error) {
	if y >= 0 && y < 100 {
		y += 2000
	}
	if m < 1 || m > 12 || y < 1000 || y > 9999 {
		return 0, 0, errorf("card_exp: input has no valid expiration month and year")
	}
	return m, y, nil
}

func intField(m map[string]any, keys ...string) (int, bool) {
	for _, k := range keys {
		switch v := m[k].(type) {
		case nil:
			continue
		case string:
			i, err := strconv.Atoi(strings.TrimSpace(v))
			return i, err == nil
		default:
			f, ok := numberOf(v)
			if !ok || f != math.Trunc(f) || math.Abs(f) > 1e9 {
				return 0, false
			}
			return int(f), true
		}
	}
	return 0, false
}
