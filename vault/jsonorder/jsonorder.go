// Package jsonorder decodes JSON keeping the order of object members, so
// bodies the vault rewrites (tokenize) go back to the client in the shape
// they came: same member order, same number text.
package jsonorder

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"sort"
	"unicode/utf8"
)

// Object is a JSON object with its member order.
type Object struct {
	Keys   []string
	Values map[string]any
}

// Get returns a member's value.
func (o *Object) Get(key string) (any, bool) {
	v, ok := o.Values[key]
	return v, ok
}

// Set replaces a member's value (appending the key when new).
func (o *Object) Set(key string, v any) {
	if _, ok := o.Values[key]; !ok {
		o.Keys = append(o.Keys, key)
	}
	o.Values[key] = v
}

// FromMap wraps a map as an Object with its keys sorted (a map has no
// order of its own). Nested values are left as they are.
func FromMap(m map[string]any) *Object {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return &Object{Keys: keys, Values: m}
}

// MarshalJSON writes the members in order, without HTML escaping.
func (o *Object) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range o.Keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, err := Marshal(k)
		if err != nil {
			return nil, err
		}
		b.Write(kb)
		b.WriteByte(':')
		vb, err := Marshal(o.Values[k])
		if err != nil {
			return nil, err
		}
		b.Write(vb)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// Marshal encodes v without HTML escaping (and without a trailing newline).
func Marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

// Append appends v's encoding (as Marshal gives it) to dst. A string of
// printable ASCII without quotes or backslashes, the usual detokenized
// value, is written as is.
func Append(dst []byte, v any) ([]byte, error) {
	if s, ok := v.(string); ok && PlainASCII(s) {
		dst = append(dst, '"')
		dst = append(dst, s...)
		return append(dst, '"'), nil
	}
	b, err := Marshal(v)
	if err != nil {
		return dst, err
	}
	return append(dst, b...), nil
}

// PlainASCII reports whether s is its own JSON string content: printable
// ASCII without quotes or backslashes, nothing to escape or unescape.
func PlainASCII[T string | []byte](s T) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// maxDepth bounds nesting so hostile input cannot exhaust the stack.
const maxDepth = 512

// ErrTooDeep is returned for JSON nested deeper than maxDepth.
var ErrTooDeep = errors.New("JSON nested too deeply")

// ErrInvalidUTF8 is returned for JSON text that is not valid UTF-8.
var ErrInvalidUTF8 = errors.New("JSON text is not valid UTF-8")

// Decode parses one JSON value: objects become *Object, arrays []any,
// numbers json.Number, and strings, booleans and null as usual. Trailing
// data after the value is an error.
func Decode(data []byte) (any, error) {
	// encoding/json would turn invalid UTF-8 into U+FFFD: refuse it instead.
	if !utf8.Valid(data) {
		return nil, ErrInvalidUTF8
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := decodeValue(dec, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("unexpected data after the JSON value")
	}
	return v, nil
}

func decodeValue(dec *json.Decoder, depth int) (any, error) {
	if depth > maxDepth {
		return nil, ErrTooDeep
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			o := &Object{Values: map[string]any{}}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				key := kt.(string)
				v, err := decodeValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				if _, dup := o.Values[key]; !dup {
					o.Keys = append(o.Keys, key)
				}
				o.Values[key] = v
			}
			if _, err := dec.Token(); err != nil { // '}'
				return nil, err
			}
			return o, nil
		case '[':
			arr := []any{}
			for dec.More() {
				v, err := decodeValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				arr = append(arr, v)
			}
			if _, err := dec.Token(); err != nil { // ']'
				return nil, err
			}
			return arr, nil
		}
		return nil, errors.New("unexpected delimiter")
	default:
		return t, nil
	}
}
