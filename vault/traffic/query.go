package traffic

import (
	"net/url"
	"strings"
)

// mapParams walks the `&`-separated parameters of a raw query and lets f
// replace one: f gets its raw key and raw value and returns the raw text
// that takes the parameter's place ("" with true drops it). Every
// parameter f keeps stays byte for byte, and so does the whole query when
// f replaces nothing.
func mapParams(rawQuery string, f func(rawKey, rawValue string) (string, bool)) string {
	if rawQuery == "" {
		return rawQuery
	}
	var b strings.Builder
	changed, first := false, true
	for rest := rawQuery; ; {
		param, tail, more := strings.Cut(rest, "&")
		text := param
		if param != "" {
			key, value, _ := strings.Cut(param, "=")
			if repl, ok := f(key, value); ok {
				text, changed = repl, true
			}
		}
		if text != "" || param == "" {
			if !first {
				b.WriteByte('&')
			}
			b.WriteString(text)
			first = false
		}
		if !more {
			break
		}
		rest = tail
	}
	if !changed {
		return rawQuery
	}
	return b.String()
}

// DropParam removes every parameter named name (once unescaped, whatever
// its value) from a raw query, keeping the others byte for byte.
func DropParam(rawQuery, name string) string {
	return mapParams(rawQuery, func(rawKey, _ string) (string, bool) {
		key, err := url.QueryUnescape(rawKey)
		return "", err == nil && key == name
	})
}
