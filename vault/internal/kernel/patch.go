package kernel

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"

	"github.com/strongroom/strongroom/vault/jsonorder"
	"github.com/strongroom/strongroom/vault/problem"
)

// Request bodies: strict decoding and RFC 7386 merge patches (the PATCH of
// tokens, proxies and reactors).

// DecodeStrict decodes raw into v, describing a type mismatch by field.
func DecodeStrict(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return fmt.Errorf("the field %s has the wrong type", te.Field)
		}
		return err
	}
	return nil
}

// PatchRequest applies a PATCH body (a merge patch) to a resource's
// current fields, given in its request shape, and decodes the result as
// that request, for the PUT path to validate and store.
func PatchRequest[T any](current map[string]any, patch []byte, what string) (T, error) {
	var req T
	raw, err := json.Marshal(current)
	if err != nil {
		return req, err
	}
	merged, err := MergeRaw(raw, patch, "body")
	if err != nil {
		return req, err
	}
	if err := json.Unmarshal(merged, &req); err != nil {
		return req, problem.Invalid("body", "The merged "+what+" is not valid.")
	}
	return req, nil
}

// MergeRaw applies an RFC 7386 merge patch to a raw JSON value.
func MergeRaw(target, patch json.RawMessage, field string) (json.RawMessage, error) {
	if len(patch) == 0 {
		return target, nil
	}
	pv, err := DecodeData(patch)
	if err != nil {
		return nil, problem.Invalid(field, "Not valid JSON.")
	}
	var tv any
	if len(target) > 0 {
		if tv, err = DecodeData(target); err != nil {
			return nil, err
		}
	}
	merged := MergePatch(tv, pv)
	if merged == nil {
		return nil, nil
	}
	return json.Marshal(merged)
}

// MergePatch is RFC 7386: objects merge recursively, null deletes, and
// anything else replaces.
func MergePatch(target, patch any) any {
	pm, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	tm, ok := target.(map[string]any)
	if !ok {
		tm = map[string]any{}
	} else {
		tm = maps.Clone(tm)
	}
	for k, pv := range pm {
		if pv == nil {
			delete(tm, k)
			continue
		}
		tm[k] = MergePatch(tm[k], pv)
	}
	return tm
}

// DecodeData parses raw JSON into generic values with json.Number numbers.
func DecodeData(raw []byte) (any, error) {
	if n := len(raw); n >= 2 && raw[0] == '"' {
		// Most token data is one string (card numbers, SSNs): one without
		// escapes is its own text; others skip the general decoder.
		if jsonorder.PlainASCII(raw[1 : n-1]) {
			return string(raw[1 : n-1]), nil
		}
		var s string
		err := json.Unmarshal(raw, &s)
		return s, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}
