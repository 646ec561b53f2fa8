package expr

import (
	"crypto/rand"
	"unicode"
)

// rnd draws uniform small integers from crypto/rand with rejection sampling.
type rnd struct {
	buf [64]byte
	i   int
}

func (r *rnd) intn(n int) int {
	limit := 256 - 256%n
	for {
		if r.i == 0 || r.i >= len(r.buf) {
			_, _ = rand.Read(r.buf[:]) // never fails (crypto/rand, Go ≥1.24)
			r.i = 0
		}
		b := int(r.buf[r.i])
		r.i++
		if b < limit {
			return b % n
		}
	}
}

func aliasSpan(name string, v any, first, last int) ([]rune, int, int, error) {
	if v == nil {
		return nil, 0, 0, errorf("%s: input is null", name)
	}
	s, err := textArg(name, v)
	if err != nil {
		return nil, 0, 0, err
	}
	rs := []rune(s)
	first, last = max(first, 0), max(last, 0)
	if first+last >= len(rs) {
		return nil, 0, 0, errorf("%s: the revealed characters leave nothing to alias", name)
	}
	return rs, first, len(rs) - last, nil
}

// aliasPreserveFormatFilter replaces digits with random digits and letters
// with random letters of the same case; other characters, and the first/last
// revealed characters, are kept.
func aliasPreserveFormatFilter(v any, first, last int) (any, error) {
	rs, from, to, err := aliasSpan("alias_preserve_format", v, first, last)
	if err != nil {
		return nil, err
	}
	var r rnd
	for i := from; i < to; i++ {
		switch c := rs[i]; {
		case unicode.IsDigit(c):
			rs[i] = rune('0' + r.intn(10))
		case unicode.IsUpper(c):
			rs[i] = rune('A' + r.intn(26))
		case unicode.IsLetter(c):
			rs[i] = rune('a' + r.intn(26))
		}
	}
	return string(rs), nil
}

const aliasAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// aliasPreserveLengthFilter replaces every character (except the revealed
// first/last ones) with a random lowercase letter or digit.
func aliasPreserveLengthFilter(v any, first, last int) (any, error) {
	rs, from, to, err := aliasSpan("alias_preserve_length", v, first, last)
	if err != nil {
		return nil, err
	}
	var r rnd
	for i := from; i < to; i++ {
		rs[i] = rune(aliasAlphabet[r.intn(len(aliasAlphabet))])
	}
	return string(rs), nil
}

// aliasCardFilter is `alias_card[: revealBin, revealLast4]`: a random,
// Luhn-valid number with the same length and delimiters (space, dash),
// optionally keeping the BIN (6 or 8 digits) and the last 4 digits.
func aliasCardFilter(v any, revealBin, revealLast4 any) (any, error) {
	if v == nil {
		return nil, errorf("alias_card: input is null")
	}
	s, err := cardNumberArg("alias_card", v)
	if err != nil {
		return nil, err
	}
	var pos []int // byte offsets of digits
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			pos = append(pos, i)
		case c == ' ' || c == '-':
		default:
			return nil, errorf("alias_card: input is not a card number")
		}
	}
	n := len(pos)
	if n < 2 {
		return nil, errorf("alias_card: input is not a card number")
	}
	keepFirst, keepLast := 0, 0
	if boolArg(revealBin) {
		keepFirst = binLength(n)
	}
	if boolArg(revealLast4) {
		keepLast = 4
	}
	if keepFirst+keepLast >= n {
		return nil, errorf("alias_card: the card number is shorter than the revealed digits")
	}
	// The check position is the last digit we are free to choose.
	check := n - keepLast - 1 // ≥ keepFirst because keepFirst+keepLast < n
	var r rnd
	out := []byte(s)
	for attempt := 0; attempt < 16; attempt++ {
		for j := keepFirst; j < n-keepLast; j++ {
			out[pos[j]] = byte('0' + r.intn(10))
		}
		// Luhn: digits at an odd distance from the rightmost are doubled.
		sum := 0
		for j := 0; j < n; j++ {
			if j == check {
				continue
			}
			sum += luhnDigit(int(out[pos[j]]-'0'), (n-1-j)%2 == 1)
		}
		for d := 0; d < 10; d++ {
			if (sum+luhnDigit(d, (n-1-check)%2 == 1))%10 == 0 {
				out[pos[check]] = byte('0' + d)
				break
			}
		}
		if string(out) != s {
			return string(out), nil
		}
	}
	return nil, errorf("alias_card: could not generate an alias different from the input")
}

func luhnDigit(d int, double bool) int {
	if !double {
		return d
	}
	d *= 2
	if d > 9 {
		d -= 9
	}
	return d
}
