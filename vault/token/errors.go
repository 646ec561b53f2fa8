package token

import (
	"sort"
	"strings"
)

// FieldErrors maps a request property (e.g. "data.number",
// "privacy.impact_level") to human-readable messages. It is the shape of the
// "errors" member of an RFC 7807 validation problem. A nil or empty
// FieldErrors means no error.
type FieldErrors map[string][]string

// Add appends msg to the messages of field, allocating the map if needed,
// and returns the (possibly new) map.
func (e FieldErrors) Add(field, msg string) FieldErrors {
	if e == nil {
		e = FieldErrors{}
	}
	e[field] = append(e[field], msg)
	return e
}

// Merge adds every message of other to e and returns the result.
func (e FieldErrors) Merge(other FieldErrors) FieldErrors {
	for _, f := range other.Fields() {
		for _, m := range other[f] {
			e = e.Add(f, m)
		}
	}
	return e
}

// Fields returns the field names in sorted order.
func (e FieldErrors) Fields() []string {
	out := make([]string, 0, len(e))
	for f := range e {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}

// Rename returns a copy of e in which keys equal to from, or starting with
// from + ".", have that prefix replaced by to. It lets the atomic card and
// bank endpoints report "card.number" where token validation says
// "data.number".
func (e FieldErrors) Rename(from, to string) FieldErrors {
	if len(e) == 0 {
		return e
	}
	out := make(FieldErrors, len(e))
	for k, v := range e {
		switch {
		case k == from:
			k = to
		case strings.HasPrefix(k, from+"."):
			k = to + k[len(from):]
		}
		out[k] = append(out[k], v...)
	}
	return out
}

// Error renders the errors on one line, sorted by field, so FieldErrors can
// be returned where an error is expected. Convert only a non-empty
// FieldErrors to error: a nil map in an error interface is not a nil error.
func (e FieldErrors) Error() string {
	var b strings.Builder
	for i, f := range e.Fields() {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(f)
		b.WriteString(": ")
		b.WriteString(strings.Join(e[f], ", "))
	}
	return b.String()
}
