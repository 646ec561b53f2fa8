package search

import (
	"errors"
	"strings"
	"testing"
)

// fuzzFields answers every field, including any metadata key, with v (or,
// for the time fields, with v when it parses and a fixed time otherwise).
type fuzzFields struct{ v string }

func (f fuzzFields) Value(field string) (string, bool) {
	if isTimeField(field) && len(f.v)%2 == 0 {
		return "2024-01-31T12:00:00Z", true
	}
	return f.v, f.v != "" || field == FieldType
}

func (f fuzzFields) DataMatches(v string) bool { return v == f.v }

func (f fuzzFields) Values(field string) []string {
	if field == FieldContainer {
		return []string{f.v, "/x/"}
	}
	return nil
}

func FuzzParse(f *testing.F) {
	seeds := []string{
		``, `type:card`, `type:a OR type:b AND NOT type:c`, `(type:a OR type:b) type:c`,
		`metadata.k:v*`, `metadata.a(b):"x \"y\""`, `data:4242 AND container:/pci/`,
		`created_at:[2024-01-01 TO *}`, `created_at:{* TO 2024-01-31T23:59:59.999Z]`,
		`!type:a || !!type:b && (id:x)`, `type:a\ b\*`, `type:"unterminated`, `(((`, `type:a)`,
		`expires_at:2024-01-01`, `fingerprint:[a TO b]`, `NOT NOT NOT`, "type:\xff",
	}
	for _, s := range seeds {
		f.Add(s, "card")
	}
	f.Fuzz(func(t *testing.T, query, value string) {
		q, err := Parse(query)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("non-SyntaxError %T: %v", err, err)
			}
			if se.Pos < 0 || se.Pos > len(query) || se.Msg == "" {
				t.Fatalf("bad SyntaxError %+v for %q", se, query)
			}
			return
		}
		for _, fs := range []Fields{fuzzFields{value}, fuzzFields{""}, nil, testToken{}, card, multiTok{card}} {
			q.Match(fs)
		}
		q.Terms()
		q.Required()
		q.UsesData()
		term, c, ok := q.Simple()
		if !ok && (term != Term{} || c != "") {
			t.Fatalf("Simple returned values with ok=false")
		}
		// The canonical rendering re-parses to itself (unless it grew past a limit).
		s := q.String()
		q2, err := Parse(s)
		if err != nil {
			var se *SyntaxError
			if errors.As(err, &se) && strings.Contains(se.Msg, "maximum") {
				return
			}
			t.Fatalf("Parse(%q).String() = %q does not re-parse: %v", query, s, err)
		}
		if s2 := q2.String(); s2 != s {
			t.Fatalf("String not stable: %q -> %q -> %q", query, s, s2)
		}
		if q.Match(fuzzFields{value}) != q2.Match(fuzzFields{value}) {
			t.Fatalf("re-parsed query %q matches differently", s)
		}
	})
}
