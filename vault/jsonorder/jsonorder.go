// Package jsonorder decodes JSON keeping the order of object members, so
// bodies the vault rewrites (tokenize) go back to the client in the shape
// they came: same member order, same number text.
package jsonorder

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"unicode"
	"unicode/utf16"
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
func (o *Object) MarshalJSON() ([]byte, error) { return Append(nil, o) }

// Marshal encodes v as encoding/json does without HTML escaping (and
// without a trailing newline), members of an Object in order.
func Marshal(v any) ([]byte, error) { return Append(nil, v) }

// Append appends v's encoding (as Marshal gives it) to dst. What Decode
// produces (Objects, slices, plain strings, numbers, booleans, null) is written
// directly; anything else, strings with something to escape included,
// goes through encoding/json, whose output Append keeps byte
// for byte. Nested values are written once each: through encoding/json,
// every Object level was encoded again and re-validated by each level
// above it.
func Append(dst []byte, v any) ([]byte, error) {
	var err error
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...), nil
	case bool:
		if x {
			return append(dst, "true"...), nil
		}
		return append(dst, "false"...), nil
	case string:
		if PlainASCII(x) {
			dst = append(dst, '"')
			dst = append(dst, x...)
			return append(dst, '"'), nil
		}
	case json.Number:
		if d := (decoder{b: []byte(x)}); x != "" {
			if _, err := d.number(); err == nil && d.i == len(x) {
				return append(dst, x...), nil
			}
		}
	case *Object:
		if x == nil {
			return append(dst, "null"...), nil
		}
		dst = append(dst, '{')
		for i, k := range x.Keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			if dst, err = Append(dst, k); err != nil {
				return dst, err
			}
			dst = append(dst, ':')
			if dst, err = Append(dst, x.Values[k]); err != nil {
				return dst, err
			}
		}
		return append(dst, '}'), nil
	case []any:
		if x == nil {
			return append(dst, "null"...), nil
		}
		dst = append(dst, '[')
		for i, e := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			if dst, err = Append(dst, e); err != nil {
				return dst, err
			}
		}
		return append(dst, ']'), nil
	}
	return appendStd(dst, v)
}

// appendStd appends encoding/json's encoding of v, without HTML escaping.
func appendStd(dst []byte, v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return dst, err
	}
	return append(dst, bytes.TrimRight(b.Bytes(), "\n")...), nil
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
// data after the value is an error. It accepts exactly what encoding/json
// accepts, and decodes strings as it does (an unpaired surrogate escape
// becomes U+FFFD), in one pass over data instead of encoding/json's token
// stream, which re-scans every token and allocates for each.
func Decode(data []byte) (any, error) {
	// encoding/json would turn invalid UTF-8 into U+FFFD: refuse it instead.
	if !utf8.Valid(data) {
		return nil, ErrInvalidUTF8
	}
	d := decoder{b: data}
	v, err := d.value(0)
	if err != nil {
		return nil, err
	}
	if d.space(); d.i != len(d.b) {
		return nil, errors.New("unexpected data after the JSON value")
	}
	return v, nil
}

// decoder reads one JSON text; i is the next byte.
type decoder struct {
	b []byte
	i int
}

func (d *decoder) syntax(what string) error {
	return fmt.Errorf("invalid JSON at offset %d: %s", d.i, what)
}

func (d *decoder) space() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// next skips white space and reports the next byte (0 at the end).
func (d *decoder) next() byte {
	if d.space(); d.i < len(d.b) {
		return d.b[d.i]
	}
	return 0
}

func (d *decoder) value(depth int) (any, error) {
	if depth > maxDepth {
		return nil, ErrTooDeep
	}
	switch c := d.next(); {
	case c == '{':
		return d.object(depth)
	case c == '[':
		return d.array(depth)
	case c == '"':
		return d.str()
	case c == '-' || c >= '0' && c <= '9':
		return d.number()
	case c == 't':
		return true, d.literal("true")
	case c == 'f':
		return false, d.literal("false")
	case c == 'n':
		return nil, d.literal("null")
	case c == 0 && d.i == len(d.b):
		return nil, io.ErrUnexpectedEOF
	}
	return nil, d.syntax("a value was expected")
}

func (d *decoder) literal(word string) error {
	if !bytes.HasPrefix(d.b[d.i:], []byte(word)) {
		return d.syntax("a value was expected")
	}
	d.i += len(word)
	return nil
}

func (d *decoder) object(depth int) (any, error) {
	d.i++ // {
	o := &Object{Values: map[string]any{}}
	if d.next() == '}' {
		d.i++
		return o, nil
	}
	for {
		if d.next() != '"' {
			return nil, d.syntax("a member name was expected")
		}
		key, err := d.str()
		if err != nil {
			return nil, err
		}
		if d.next() != ':' {
			return nil, d.syntax("':' was expected")
		}
		d.i++
		v, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		if _, dup := o.Values[key]; !dup {
			o.Keys = append(o.Keys, key)
		}
		o.Values[key] = v
		switch d.next() {
		case ',':
			d.i++
		case '}':
			d.i++
			return o, nil
		default:
			return nil, d.syntax("',' or '}' was expected")
		}
	}
}

func (d *decoder) array(depth int) (any, error) {
	d.i++ // [
	arr := []any{}
	if d.next() == ']' {
		d.i++
		return arr, nil
	}
	for {
		v, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		arr = append(arr, v)
		switch d.next() {
		case ',':
			d.i++
		case ']':
			d.i++
			return arr, nil
		default:
			return nil, d.syntax("',' or ']' was expected")
		}
	}
}

// number reads -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? as its text.
func (d *decoder) number() (any, error) {
	start := d.i
	digits := func() int {
		n := 0
		for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
			d.i++
			n++
		}
		return n
	}
	if d.b[d.i] == '-' {
		d.i++
	}
	switch {
	case d.i < len(d.b) && d.b[d.i] == '0':
		d.i++
	case digits() == 0:
		return nil, d.syntax("a digit was expected")
	}
	if d.i < len(d.b) && d.b[d.i] == '.' {
		d.i++
		if digits() == 0 {
			return nil, d.syntax("a digit was expected")
		}
	}
	if d.i < len(d.b) && (d.b[d.i] == 'e' || d.b[d.i] == 'E') {
		d.i++
		if d.i < len(d.b) && (d.b[d.i] == '+' || d.b[d.i] == '-') {
			d.i++
		}
		if digits() == 0 {
			return nil, d.syntax("a digit was expected")
		}
	}
	return json.Number(d.b[start:d.i]), nil
}

// str reads a string; d.b[d.i] is its opening quote.
func (d *decoder) str() (string, error) {
	d.i++
	start := d.i
	for d.i < len(d.b) {
		switch c := d.b[d.i]; {
		case c == '"':
			s := string(d.b[start:d.i])
			d.i++
			return s, nil
		case c == '\\':
			return d.escaped(start)
		case c < 0x20:
			return "", d.syntax("a control character in a string")
		}
		d.i++
	}
	return "", io.ErrUnexpectedEOF
}

// escaped reads the rest of a string with escapes, from start.
func (d *decoder) escaped(start int) (string, error) {
	out := append([]byte(nil), d.b[start:d.i]...)
	for d.i < len(d.b) {
		c := d.b[d.i]
		switch {
		case c == '"':
			d.i++
			return string(out), nil
		case c < 0x20:
			return "", d.syntax("a control character in a string")
		case c != '\\':
			out = append(out, c)
			d.i++
			continue
		}
		if d.i+1 >= len(d.b) {
			return "", io.ErrUnexpectedEOF
		}
		e := d.b[d.i+1]
		d.i += 2
		switch e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r := d.hex4(d.i)
			if r < 0 {
				return "", d.syntax("an invalid \\u escape")
			}
			d.i += 4
			if utf16.IsSurrogate(r) {
				// A valid pair is one rune; anything else is U+FFFD and the
				// next escape is read on its own (as encoding/json does).
				if d.i+1 < len(d.b) && d.b[d.i] == '\\' && d.b[d.i+1] == 'u' {
					if r2 := d.hex4(d.i + 2); r2 >= 0 {
						if pair := utf16.DecodeRune(r, r2); pair != unicode.ReplacementChar {
							out = utf8.AppendRune(out, pair)
							d.i += 6
							continue
						}
					}
				}
				r = unicode.ReplacementChar
			}
			out = utf8.AppendRune(out, r)
		default:
			return "", d.syntax("an invalid escape")
		}
	}
	return "", io.ErrUnexpectedEOF
}

// hex4 reads four hex digits at i, -1 if they are not.
func (d *decoder) hex4(i int) rune {
	if i+4 > len(d.b) {
		return -1
	}
	var r rune
	for _, c := range d.b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}
