package expr

import (
	"encoding/json"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

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
