package expr

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"hash"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/ohler55/ojg/jp"

	"github.com/strongroom/strongroom/vault/jsonorder"
)

// maxPad bounds pad_left/pad_right so an expression cannot allocate without limit.
const maxPad = 1 << 16

// btFilters returns the Basis Theory filters (and the standard Liquid filters
// they override). The same functions are registered on the liquid.Engine and
// on the expression config, so each filter has exactly one implementation.
func (e *Engine) btFilters() map[string]any {
	return map[string]any{
		// overrides of standard Liquid filters
		"json":    e.jsonFilter,
		"replace": replaceFilter,
		"slice":   sliceFilter,

		"stringify":             stringifyFilter,
		"json_stringify":        stringifyFilter,
		"to_string":             toStringFilter,
		"to_number":             toNumberFilter,
		"to_boolean":            toBooleanFilter,
		"to_base64":             toBase64Filter,
		"to_base16":             toBase16Filter,
		"hmac":                  hmacFilter,
		"last4":                 last4Filter,
		"pad_left":              padLeftFilter,
		"pad_right":             padRightFilter,
		"reveal":                revealFilter,
		"reveal_last":           revealLastFilter,
		"card_bin":              cardBinFilter,
		"card_exp":              cardExpFilter,
		"card_mask":             cardMaskFilter,
		"alias_preserve_format": aliasPreserveFormatFilter,
		"alias_preserve_length": aliasPreserveLengthFilter,
		"alias_card":            aliasCardFilter,
	}
}

// ---------------------------------------------------------------- conversions

// scalarText renders a scalar as text. ok is false for objects and arrays.
func scalarText(v any) (s string, ok bool) {
	switch v := v.(type) {
	case nil:
		return "", true
	case string:
		return v, true
	case []byte:
		return string(v), true
	case json.Number:
		return string(v), true
	case bool:
		return strconv.FormatBool(v), true
	case int:
		return strconv.Itoa(v), true
	case int8, int16, int32, int64:
		return strconv.FormatInt(reflect.ValueOf(v).Int(), 10), true
	case uint, uint8, uint16, uint32, uint64, uintptr:
		return strconv.FormatUint(reflect.ValueOf(v).Uint(), 10), true
	case float32:
		return formatFloat(float64(v)), true
	case float64:
		return formatFloat(v), true
	case time.Time:
		return v.Format(time.RFC3339Nano), true
	}
	switch reflect.ValueOf(v).Kind() {
	case reflect.Map, reflect.Slice, reflect.Array, reflect.Struct:
		return "", false
	}
	return "", false
}

// formatFloat renders like JavaScript/.NET do for JSON numbers: no exponent
// for ordinary magnitudes, integral values without a fraction.
func formatFloat(f float64) string {
	if a := math.Abs(f); a != 0 && (a < 1e-6 || a >= 1e21) {
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// toText renders any value as text: scalars as themselves, nil as "", objects
// and arrays as JSON text. It is how expression results are concatenated.
func toText(v any) (string, error) {
	if s, ok := scalarText(v); ok {
		return s, nil
	}
	return marshalJSON(v)
}

func marshalJSON(v any) (string, error) {
	b, err := jsonorder.Marshal(v)
	if err != nil {
		return "", errorf("value cannot be serialized as JSON")
	}
	return string(b), nil
}

// textArg converts a filter input to text, rejecting objects and arrays.
func textArg(name string, v any) (string, error) {
	if s, ok := scalarText(v); ok {
		return s, nil
	}
	return "", errorf("%s expects a string, got an object or array", name)
}

// cardNumberArg accepts a card number or a card object (its "number").
func cardNumberArg(name string, v any) (string, error) {
	if m, ok := v.(map[string]any); ok {
		v = m["number"]
	}
	return textArg(name, v)
}

func boolArg(v any) bool {
	switch v := v.(type) {
	case bool:
		return v
	case string:
		b, _ := strconv.ParseBool(strings.TrimSpace(v))
		return b
	case nil:
		return false
	}
	if n, ok := numberOf(v); ok {
		return n != 0
	}
	return false
}

func numberOf(v any) (float64, bool) {
	switch v := v.(type) {
	case json.Number:
		f, err := v.Float64()
		return f, err == nil
	case float64:
		return v, true
	case float32:
		return float64(v), true
	case int:
		return float64(v), true
	case int8, int16, int32, int64:
		return float64(reflect.ValueOf(v).Int()), true
	case uint, uint8, uint16, uint32, uint64, uintptr:
		return float64(reflect.ValueOf(v).Uint()), true
	}
	return 0, false
}

// firstRune returns the first rune of s, or def when s is empty.
func firstRune(s string, def rune) rune {
	if r, n := utf8.DecodeRuneInString(s); n > 0 && r != utf8.RuneError {
		return r
	}
	return def
}

// ---------------------------------------------------------------- JSON

// jsonFilter is `json: '$.path'`: a JSONPath that must select at most one
// value (none → nil, several → error). Without an argument it behaves like the
// standard Liquid `json` filter and returns the input's JSON text.
func (e *Engine) jsonFilter(v any, path func(string) string) (any, error) {
	p := path("")
	if p == "" {
		return marshalJSON(v)
	}
	return e.jsonPath(v, p)
}

func (e *Engine) jsonPath(v any, path string) (any, error) {
	x, err := e.paths.getOrCompile(path, func(s string) (jp.Expr, error) {
		x, err := jp.ParseString(s)
		if err != nil && strings.Contains(s, "-") {
			// Header names in dot notation ($.request.headers.X-User-Id,
			// as the hosted docs write them): ojg wants brackets.
			x, err = jp.ParseString(bracketHyphenated(s))
		}
		if err != nil {
			return nil, errorf("invalid JSONPath")
		}
		return x, nil
	})
	if err != nil {
		return nil, err
	}
	if strings.Contains(path, "?(") {
		// ojg compares only native numbers in filter scripts; json.Number
		// (from Decoder.UseNumber) is a string type to it.
		v = nativeNumbers(v)
	}
	res := x.Get(v)
	switch len(res) {
	case 0:
		return nil, nil
	case 1:
		return res[0], nil
	default:
		return nil, errorf("JSONPath selected %d values; it must select a single value", len(res))
	}
}

// bracketHyphenated rewrites dot-notation members holding '-' outside
// quotes and brackets into bracket notation: `$.h.X-Id` → `$.h['X-Id']`.
func bracketHyphenated(path string) string {
	var b strings.Builder
	last := 0
	eachUnquoted(path, func(i, depth int) bool {
		if path[i] != '.' || depth != 0 {
			return true
		}
		j := i + 1
		for j < len(path) && (path[j] == '-' || path[j] == '_' || path[j] >= '0' && path[j] <= '9' ||
			path[j] >= 'a' && path[j] <= 'z' || path[j] >= 'A' && path[j] <= 'Z') {
			j++
		}
		if name := path[i+1 : j]; strings.Contains(name, "-") {
			b.WriteString(path[last:i])
			if i > 0 && path[i-1] == '.' {
				b.WriteByte('.') // recursive descent keeps its second dot
			}
			b.WriteString("['" + name + "']")
			last = j
		}
		return true
	})
	return b.String() + path[last:]
}

// nativeNumbers returns a copy of v with json.Number replaced by int64/float64.
func nativeNumbers(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, c := range v {
			out[k] = nativeNumbers(c)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, c := range v {
			out[i] = nativeNumbers(c)
		}
		return out
	case json.Number:
		if i, err := v.Int64(); err == nil {
			return i
		}
		if f, err := v.Float64(); err == nil {
			return f
		}
	}
	return v
}

// stringifyFilter returns the JSON text of the input; a string stringifies to
// itself and nil stays nil.
func stringifyFilter(v any) (any, error) {
	switch v := v.(type) {
	case nil:
		return nil, nil
	case string:
		return v, nil
	case json.Number:
		return string(v), nil
	}
	return marshalJSON(v)
}

// ---------------------------------------------------------------- casts

func toStringFilter(v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	s, ok := scalarText(v)
	if !ok {
		return nil, errorf("to_string cannot convert an object or array")
	}
	return s, nil
}

func toNumberFilter(v any) (any, error) {
	switch v := v.(type) {
	case nil:
		return nil, nil
	case bool:
		return nil, errorf("to_number cannot convert a boolean")
	case json.Number:
		return parseNumber(string(v))
	case string:
		return parseNumber(v)
	}
	if f, ok := numberOf(v); ok {
		if _, isFloat := v.(float64); isFloat {
			return f, nil
		}
		return v, nil
	}
	return nil, errorf("to_number cannot convert an object or array")
}

func parseNumber(s string) (any, error) {
	s = strings.TrimSpace(s)
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return i, nil
	}
	if !isDecimal(s) {
		return nil, errorf("to_number: value is not a number")
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) {
		return nil, errorf("to_number: value is not a number")
	}
	return f, nil
}

// isDecimal accepts [+-]digits[.digits][e[+-]digits] (no hex, inf or nan).
func isDecimal(s string) bool {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
		digits++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			digits++
		}
	}
	if digits == 0 {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		exp := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			exp++
		}
		if exp == 0 {
			return false
		}
	}
	return i == len(s)
}

func toBooleanFilter(v any) (any, error) {
	switch v := v.(type) {
	case nil:
		return nil, nil
	case bool:
		return v, nil
	case string:
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
		return nil, errorf("to_boolean: value is not a boolean")
	}
	if f, ok := numberOf(v); ok {
		return f != 0, nil
	}
	return nil, errorf("to_boolean cannot convert an object or array")
}

func bytesArg(name string, v any) ([]byte, error) {
	if v == nil {
		return nil, errorf("%s: input is null", name)
	}
	s, err := textArg(name, v)
	return []byte(s), err
}

func toBase64Filter(v any) (any, error) {
	b, err := bytesArg("to_base64", v)
	if err != nil {
		return nil, err
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

func toBase16Filter(v any) (any, error) {
	b, err := bytesArg("to_base16", v)
	if err != nil {
		return nil, err
	}
	return strings.ToUpper(hex.EncodeToString(b)), nil
}

func hmacHash(name string) func() hash.Hash {
	switch strings.ToLower(strings.ReplaceAll(strings.TrimSpace(name), "-", "")) {
	case "sha1":
		return sha1.New
	case "sha256":
		return sha256.New
	case "sha384":
		return sha512.New384
	case "sha512":
		return sha512.New
	}
	return nil
}

// hmacFilter is `hmac: 'sha-256', key`. It returns the raw MAC bytes (as a Go
// string), to be encoded with to_base64 or to_base16. With a single argument
// that is not an algorithm name, the argument is the key and SHA-256 is used.
func hmacFilter(v any, algo, key any) (any, error) {
	if v == nil {
		return nil, errorf("hmac: input is null")
	}
	msg, err := textArg("hmac", v)
	if err != nil {
		return nil, err
	}
	a, _ := scalarText(algo)
	k, _ := scalarText(key)
	if key == nil {
		if hmacHash(a) != nil {
			return nil, errorf("hmac: a key is required")
		}
		a, k = "sha-256", a
	}
	h := hmacHash(a)
	if h == nil {
		return nil, errorf("hmac: unsupported algorithm (use sha-1, sha-256 or sha-512)")
	}
	if k == "" {
		return nil, errorf("hmac: a key is required")
	}
	m := hmac.New(h, []byte(k))
	m.Write([]byte(msg))
	return string(m.Sum(nil)), nil
}

// ---------------------------------------------------------------- strings

// replaceFilter is Liquid's replace, but a missing replacement means "" so
// Basis Theory's `replace: '-'` removes dashes.
func replaceFilter(s, old string, repl func(string) string) string {
	if old == "" {
		return s
	}
	return strings.ReplaceAll(s, old, repl(""))
}

// sliceFilter is Liquid's slice (start, optional length) over strings (by
// rune) and arrays, with out-of-range bounds clamped instead of panicking.
func sliceFilter(v any, start int, length func(int) int) any {
	n := length(1)
	bounds := func(size int) (int, int) {
		s := start
		if s < 0 {
			s += size
		}
		if s < 0 || s >= size || n <= 0 {
			return 0, 0
		}
		end := size
		if n < size-s {
			end = s + n
		}
		return s, end
	}
	switch v := v.(type) {
	case nil:
		return nil
	case []any:
		s, e := bounds(len(v))
		return append([]any(nil), v[s:e]...)
	}
	str, ok := scalarText(v)
	if !ok {
		return nil
	}
	rs := []rune(str)
	s, e := bounds(len(rs))
	return string(rs[s:e])
}

func last4Filter(v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	s, err := textArg("last4", v)
	if err != nil {
		return nil, err
	}
	rs := []rune(s)
	if len(rs) <= 4 {
		return s, nil
	}
	return string(rs[len(rs)-4:]), nil
}

func pad(name string, v any, length int, padChar func(string) string, left bool) (any, error) {
	if v == nil {
		return nil, nil
	}
	s, err := textArg(name, v)
	if err != nil {
		return nil, err
	}
	if length > maxPad {
		return nil, errorf("%s: length exceeds %d", name, maxPad)
	}
	missing := length - utf8.RuneCountInString(s)
	if missing <= 0 {
		return s, nil
	}
	p := strings.Repeat(string(firstRune(padChar(" "), ' ')), missing)
	if left {
		return p + s, nil
	}
	return s + p, nil
}

func padLeftFilter(v any, length int, padChar func(string) string) (any, error) {
	return pad("pad_left", v, length, padChar, true)
}

func padRightFilter(v any, length int, padChar func(string) string) (any, error) {
	return pad("pad_right", v, length, padChar, false)
}

// revealFilter is `reveal: first, last, maskChar, preserveChars`: it keeps the
// first and last characters, masks the others except those listed in
// preserveChars. When nothing would be masked (first+last covers the value,
// or the result equals the input) the whole value is masked.
func revealFilter(v any, first, last int, maskChar, preserve func(string) string) (any, error) {
	if v == nil {
		return nil, nil
	}
	s, err := textArg("reveal", v)
	if err != nil {
		return nil, err
	}
	mask := firstRune(maskChar("X"), 'X')
	keep := preserve("")
	first, last = max(first, 0), max(last, 0)
	rs := []rune(s)
	n := len(rs)
	out := make([]rune, n)
	whole := first+last >= n
	for i, r := range rs {
		switch {
		case !whole && (i < first || i >= n-last):
			out[i] = r
		case keep != "" && strings.ContainsRune(keep, r):
			out[i] = r
		default:
			out[i] = mask
		}
	}
	if string(out) == s {
		for i := range out {
			out[i] = mask
		}
	}
	return string(out), nil
}

// revealLastFilter is `reveal_last: n, maskChar`: the last n characters stay,
// earlier letters and digits become maskChar and delimiters stay in place
// (123-45-6789 → XXX-XX-6789).
func revealLastFilter(v any, n int, maskChar func(string) string) (any, error) {
	if v == nil {
		return nil, nil
	}
	s, err := textArg("reveal_last", v)
	if err != nil {
		return nil, err
	}
	mask := firstRune(maskChar("X"), 'X')
	rs := []rune(s)
	cut := len(rs) - max(n, 0)
	for i := 0; i < cut; i++ {
		if unicode.IsLetter(rs[i]) || unicode.IsDigit(rs[i]) {
			rs[i] = mask
		}
	}
	return string(rs), nil
}

// ---------------------------------------------------------------- cards

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

// ---------------------------------------------------------------- aliases

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
