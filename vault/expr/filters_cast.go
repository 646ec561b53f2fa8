package expr

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"hash"
	"math"
	"strconv"
	"strings"
)

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
