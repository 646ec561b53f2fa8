package expr

import (
	"encoding/json"
	"strings"

	"github.com/ohler55/ojg/jp"
)

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
