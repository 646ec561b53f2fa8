package traffic

import (
	"bytes"
	"encoding/json"
	"errors"
	"regexp"
	"regexp/syntax"
	"unicode/utf8"
)

// MaskSpec is a response transform of type mask as stored (wire contract
// §4.3): `{type: "mask", matcher: "regex", expression, replacement}`.
type MaskSpec struct {
	Type        string  `json:"type"`
	Matcher     string  `json:"matcher"`
	Expression  string  `json:"expression"`
	Replacement *string `json:"replacement"`
}

// ParseMaskSpec reads a stored transform; ok is false when it is not of
// type mask.
func ParseMaskSpec(raw []byte) (spec MaskSpec, ok bool) {
	if json.Unmarshal(raw, &spec) != nil || spec.Type != "mask" {
		return MaskSpec{}, false
	}
	return spec, true
}

// Mask overwrites, character by character, every capture group of its
// expression in a destination's answer, so a PAN the destination echoes
// never reaches the caller.
type Mask struct {
	re   *regexp.Regexp
	repl []byte
}

// MaskError names the field of a mask transform that is not valid.
type MaskError struct{ Field, Msg string }

func (e *MaskError) Error() string { return e.Field + ": " + e.Msg }

// CompileMask checks a mask transform: the regex matcher (the default),
// an RE2 expression with at least one capture group, and a replacement of
// one character (default `*`).
func CompileMask(s MaskSpec) (*Mask, error) {
	switch s.Matcher {
	case "", "regex":
	case "chase_stratus_pan":
		return nil, &MaskError{"matcher", "The chase_stratus_pan matcher is not supported by this server; use regex with an expression."}
	default:
		return nil, &MaskError{"matcher", "Must be regex."}
	}
	if s.Expression == "" {
		return nil, &MaskError{"expression", "The expression is required for the regex matcher."}
	}
	re, err := regexp.Compile(s.Expression)
	if err != nil {
		msg := "The expression is not a valid regular expression (RE2 syntax)."
		var se *syntax.Error
		if errors.As(err, &se) {
			msg = "The expression is not a valid regular expression (RE2 syntax): " + string(se.Code) + "."
		}
		return nil, &MaskError{"expression", msg}
	}
	if re.NumSubexp() == 0 {
		return nil, &MaskError{"expression", "The expression needs at least one capture group: the text to mask."}
	}
	repl := "*"
	if s.Replacement != nil {
		if utf8.RuneCountInString(*s.Replacement) != 1 {
			return nil, &MaskError{"replacement", "The replacement must be one character."}
		}
		repl = *s.Replacement
	}
	return &Mask{re: re, repl: []byte(repl)}, nil
}

// Apply returns body with each capture group of each match overwritten by
// the replacement, one per character (an inner group inside an outer one
// is covered by the outer).
func (m *Mask) Apply(body []byte) []byte {
	matches := m.re.FindAllSubmatchIndex(body, -1)
	if len(matches) == 0 {
		return body
	}
	out := make([]byte, 0, len(body))
	last := 0
	for _, loc := range matches {
		for g := 2; g+1 < len(loc); g += 2 {
			start, end := loc[g], loc[g+1]
			if start < last || start < 0 {
				continue // unmatched, or inside a group already masked
			}
			out = append(out, body[last:start]...)
			out = append(out, bytes.Repeat(m.repl, utf8.RuneCount(body[start:end]))...)
			last = end
		}
	}
	return append(out, body[last:]...)
}
