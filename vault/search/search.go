// Package search parses and evaluates the token search query language of
// POST /tokens/search (v1) and POST /v2/tokens/search.
//
// # Grammar
//
//	query    = [ or ]
//	or       = and { ( "OR" | "||" ) and }
//	and      = not { [ "AND" | "&&" ] not }      adjacent terms are ANDed
//	not      = ( "NOT" | "!" ) not | primary
//	primary  = "(" or ")" | term
//	term     = field ":" value
//	value    = bare | phrase | range
//	phrase   = '"' { char | "\" char } '"'
//	range    = ( "[" | "{" ) bound "TO" bound ( "]" | "}" )
//	bound    = "*" | bare | phrase
//
// Precedence is NOT > AND > OR. Keywords are upper-case only and must be
// separated from terms by whitespace or parentheses; "&&", "||" and "!" are
// accepted as synonyms. Unlike Lucene, whose default operator is OR, two
// adjacent terms are ANDed: "type:card metadata.a:b" means
// "type:card AND metadata.a:b".
//
// A bare value runs up to whitespace, a parenthesis or the end of the query
// and may contain ':' (so created_at:2024-01-02T03:04:05Z works). A backslash
// escapes the next character in bare values and phrases (\" \\ \( \  \*).
// An unescaped trailing "*" on a bare value is a prefix wildcard, supported on
// type and metadata.<key> only; "*" anywhere else in a bare value is an error.
// Phrases never contain wildcards. A range is "[" / "]" inclusive and
// "{" / "}" exclusive, the two ends may be mixed, and "*" is an open end.
//
// # Fields
//
//	id, type, fingerprint, container   exact, case-sensitive
//	metadata.<key>                     exact, case-insensitive (key: anything but ':' and whitespace)
//	data                               delegated to Fields.DataMatches (search indexes)
//	created_at, expires_at             compared as times
//
// Time values are RFC 3339 (fractional seconds allowed) or a date
// (2006-01-02, taken as the whole UTC day). A date-only bound is rounded the
// way Elasticsearch rounds dates: "[2024-01-01 TO 2024-01-31]" covers every
// instant from the start of Jan 1 through the end of Jan 31, "{2024-01-01"
// starts after the end of Jan 1, and "2024-01-31}" stops before the start of
// Jan 31. An exact date term (created_at:2024-01-31) matches the whole day.
// Ranges on the other string fields compare bytewise (metadata: lower-cased);
// ranges on data are rejected.
//
// The empty (or all-whitespace) query matches every token.
package search

import (
	"fmt"
	"strings"
)

// Input limits enforced by Parse.
const (
	MaxQueryLength = 4096 // bytes
	MaxDepth       = 32   // nested parentheses plus nested NOTs
	MaxTerms       = 100
)

// SyntaxError is returned by Parse for every malformed query.
type SyntaxError struct {
	Pos int    // zero-based byte offset in the query where the problem is
	Msg string // human-readable description, without the position
}

// Error returns Msg followed by " at offset Pos".
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("%s at offset %d", e.Msg, e.Pos)
}

// Fields gives Match access to one token without this package knowing the
// token type.
type Fields interface {
	// Value returns the value of id, type, fingerprint, container (the first
	// container), created_at / expires_at (RFC 3339) or metadata.<key>, and
	// false when the token has no such value.
	Value(field string) (string, bool)
	// DataMatches reports whether the token has a search index exactly (and
	// case-sensitively) equal to value.
	DataMatches(value string) bool
}

// MultiFields may be implemented by a Fields whose fields can have several
// values (typically "container"). When it returns a non-empty slice, a term
// matches if any of the values matches, and Value is not consulted for that
// field.
type MultiFields interface {
	Fields
	Values(field string) []string
}

// Term is one field:value term of a query.
type Term struct {
	Field  string // "id", "type", "data", "fingerprint", "container", "created_at", "expires_at" or "metadata.<key>"
	Value  string // unescaped value; the prefix without "*" when Prefix; "" for ranges
	Prefix bool   // trailing-* wildcard (type and metadata only)
	Range  *Range // non-nil for range terms
}

// Range is the value of a range term.
type Range struct {
	Lower, Upper Bound
}

// Bound is one end of a Range.
type Bound struct {
	Value     string // unescaped; "" when Unbounded
	Inclusive bool   // "[" or "]"
	Unbounded bool   // "*"
}

// Exact reports whether t is a plain field:value term (no range, no wildcard).
func (t Term) Exact() bool { return t.Range == nil && !t.Prefix }

// MetadataKey returns the key of a metadata.<key> term.
func (t Term) MetadataKey() (string, bool) {
	if k, ok := strings.CutPrefix(t.Field, metadataPrefix); ok {
		return k, true
	}
	return "", false
}

// String renders t in query syntax that Parse accepts.
func (t Term) String() string {
	var b strings.Builder
	writeTerm(&b, t)
	return b.String()
}

// Query is a parsed search query. The zero Query is the empty query, which
// matches everything. A Query is immutable and safe for concurrent use.
type Query struct {
	root *node
}

// Empty reports whether q is the empty query.
func (q Query) Empty() bool { return q.root == nil }

// Terms returns every term of q in source order, including terms under NOT
// and OR. Use Required to pick an index.
func (q Query) Terms() []Term {
	var out []Term
	q.root.walk(func(n *node) {
		if n.op == opTerm {
			out = append(out, n.term.clone())
		}
	})
	return out
}

// Required returns the terms every matching token must satisfy: the query
// itself when it is one term, or the bare terms ANDed at the top level. A
// caller can fetch candidates through an index for any one of them (e.g. a
// data:, fingerprint: or type: term) and then filter with Match.
func (q Query) Required() []Term {
	switch {
	case q.root == nil:
		return nil
	case q.root.op == opTerm:
		return []Term{q.root.term.clone()}
	case q.root.op == opAnd:
		var out []Term
		for _, k := range q.root.kids {
			if k.op == opTerm {
				out = append(out, k.term.clone())
			}
		}
		return out
	}
	return nil
}

// UsesData reports whether any term, even one under NOT or OR, is on data.
// Such queries need plaintext-level search permission.
func (q Query) UsesData() bool {
	found := false
	q.root.walk(func(n *node) {
		if n.op == opTerm && n.term.Field == FieldData {
			found = true
		}
	})
	return found
}

// Simple implements the /v2/tokens/search restriction: the query must be one
// exact term, or one exact container: term ANDed (explicitly or implicitly,
// in either order, parentheses allowed) with one other exact, non-container
// term. NOT, OR, ranges, wildcards, two container terms or more than two
// terms give ok=false ("complex queries are not supported").
//
// term is the non-container term and container the container value; either
// may be zero: a lone container:X gives (Term{}, X, true), and the empty query
// gives (Term{}, "", true). Simple does not check which fields v2 allows
// (container, type, fingerprint, metadata.<key>, data); the caller does.
func (q Query) Simple() (term Term, container string, ok bool) {
	var terms []*node
	switch {
	case q.root == nil:
		return Term{}, "", true
	case q.root.op == opTerm:
		terms = []*node{q.root}
	case q.root.op == opAnd:
		terms = q.root.kids
	default:
		return Term{}, "", false
	}
	if len(terms) > 2 {
		return Term{}, "", false
	}
	var other *Term
	haveContainer := false
	for _, n := range terms {
		if n.op != opTerm || !n.term.Exact() {
			return Term{}, "", false
		}
		if n.term.Field == FieldContainer && !haveContainer {
			haveContainer = true
			container = n.term.Value
			continue
		}
		if other != nil {
			return Term{}, "", false
		}
		t := n.term
		other = &t
	}
	if other != nil {
		if other.Field == FieldContainer {
			return Term{}, "", false
		}
		term = *other
	}
	return term, container, true
}

// String renders q in canonical query syntax (explicit AND/OR/NOT, minimal
// parentheses, exact values quoted). Parse(q.String()) yields an equivalent
// query, limits permitting.
func (q Query) String() string {
	if q.root == nil {
		return ""
	}
	var b strings.Builder
	q.root.write(&b, 0)
	return b.String()
}

// Match reports whether the token behind f satisfies q. A nil f has no
// values and no data matches.
func (q Query) Match(f Fields) bool {
	if q.root == nil {
		return true
	}
	if f == nil {
		f = noFields{}
	}
	return q.root.eval(f)
}

type noFields struct{}

func (noFields) Value(string) (string, bool) { return "", false }
func (noFields) DataMatches(string) bool     { return false }

// Field names.
const (
	FieldID          = "id"
	FieldType        = "type"
	FieldData        = "data"
	FieldFingerprint = "fingerprint"
	FieldContainer   = "container"
	FieldCreatedAt   = "created_at"
	FieldExpiresAt   = "expires_at"
	metadataPrefix   = "metadata."
)

func (t Term) clone() Term {
	if t.Range != nil {
		r := *t.Range
		t.Range = &r
	}
	return t
}
