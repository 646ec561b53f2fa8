package expr

import (
	"encoding/json"

	"github.com/strongroom/strongroom/vault/jsonpath"
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
	x, err := e.paths.getOrCompile(path, func(s string) (jsonpath.Path, error) {
		x, err := jsonpath.Parse(s)
		if err != nil {
			return x, errorf("invalid JSONPath")
		}
		return x, nil
	})
	if err != nil {
		return nil, err
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
