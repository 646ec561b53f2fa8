package search

import (
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// testToken is a test token. Metadata keys are looked up exactly; values are
// whatever the test stores.
type testToken struct {
	id, typ, fp, created, expires string
	containers                    []string
	meta                          map[string]string
	indexes                       []string
}

func (t testToken) Value(field string) (string, bool) {
	var v string
	switch field {
	case FieldID:
		v = t.id
	case FieldType:
		v = t.typ
	case FieldFingerprint:
		v = t.fp
	case FieldContainer:
		if len(t.containers) > 0 {
			v = t.containers[0]
		}
	case FieldCreatedAt:
		v = t.created
	case FieldExpiresAt:
		v = t.expires
	default:
		if k, ok := strings.CutPrefix(field, "metadata."); ok {
			v, ok := t.meta[k]
			return v, ok
		}
	}
	return v, v != ""
}

func (t testToken) DataMatches(v string) bool {
	for _, i := range t.indexes {
		if i == v {
			return true
		}
	}
	return false
}

// multiTok exposes all containers.
type multiTok struct{ testToken }

func (m multiTok) Values(field string) []string {
	if field == FieldContainer {
		return m.containers
	}
	return nil
}

var card = testToken{
	id:         "d2cbc1b4-5c3a-45a3-9ee2-392a1c475ab4",
	typ:        "card",
	fp:         "FP123",
	created:    "2024-01-31T23:59:59.5Z",
	containers: []string{"/pci/high/", "/general/low/"},
	meta:       map[string]string{"customer_id": "Cust-42", "Email": "Ann@Example.com", "a(b)": "x"},
	indexes:    []string{"4242", "4242424242424242"},
}

func mustParse(t *testing.T, q string) Query {
	t.Helper()
	p, err := Parse(q)
	if err != nil {
		t.Fatalf("Parse(%q): %v", q, err)
	}
	return p
}

func TestStructure(t *testing.T) {
	tests := []struct{ in, want string }{
		{`type:a`, `type:"a"`},
		{`  type:a  `, `type:"a"`},
		{`type:a OR type:b AND type:c`, `type:"a" OR type:"b" AND type:"c"`},
		{`type:a AND type:b OR type:c`, `type:"a" AND type:"b" OR type:"c"`},
		{`(type:a OR type:b) AND type:c`, `(type:"a" OR type:"b") AND type:"c"`},
		{`NOT type:a AND type:b`, `NOT type:"a" AND type:"b"`},
		{`NOT (type:a AND type:b)`, `NOT (type:"a" AND type:"b")`},
		{`NOT type:a OR type:b`, `NOT type:"a" OR type:"b"`},
		{`NOT NOT type:a`, `NOT NOT type:"a"`},
		{`type:a type:b OR type:c`, `type:"a" AND type:"b" OR type:"c"`}, // implicit AND binds like AND
		{`type:a NOT type:b`, `type:"a" AND NOT type:"b"`},
		{`type:a && type:b || !type:c`, `type:"a" AND type:"b" OR NOT type:"c"`},
		{`!(type:a)`, `NOT type:"a"`},
		{`NOT(type:a)`, `NOT type:"a"`},
		{`((type:a))`, `type:"a"`},
		{`(type:a AND type:b) AND (type:c AND type:d)`, `type:"a" AND type:"b" AND type:"c" AND type:"d"`},
		{`(type:a OR type:b) OR type:c`, `type:"a" OR type:"b" OR type:"c"`},
		{`type:a OR (type:b OR type:c) AND type:d`, `type:"a" OR (type:"b" OR type:"c") AND type:"d"`},
		{`type:(a`, ``}, // error, checked elsewhere
		// values
		{`type:"a b"`, `type:"a b"`},
		{`type:"a \"quoted\" \\ back"`, `type:"a \"quoted\" \\ back"`},
		{`type:""`, `type:""`},
		{`type:a\ b\(c\)`, `type:"a b(c)"`},
		{`type:ANDROID`, `type:"ANDROID"`},
		{`type:AND`, `type:"AND"`},
		{`metadata.email:ann@example.com`, `metadata.email:"ann@example.com"`},
		{`metadata.a(b):x`, `metadata.a(b):"x"`},
		{`(metadata.k:v)`, `metadata.k:"v"`},
		{`metadata.k:v*`, `metadata.k:v*`},
		{`type:*`, `type:*`},
		{`type:a\*`, `type:"a*"`},
		{`type:"a*"`, `type:"a*"`},
		{`created_at:2024-01-02T03:04:05Z`, `created_at:"2024-01-02T03:04:05Z"`},
		{`id:d2cbc1b4-5c3a-45a3-9ee2-392a1c475ab4`, `id:"d2cbc1b4-5c3a-45a3-9ee2-392a1c475ab4"`},
		// ranges
		{`created_at:[2024-01-01 TO 2024-02-01]`, `created_at:["2024-01-01" TO "2024-02-01"]`},
		{`created_at:{2024-01-01 TO 2024-02-01}`, `created_at:{"2024-01-01" TO "2024-02-01"}`},
		{`created_at:[2024-01-01 TO 2024-02-01}`, `created_at:["2024-01-01" TO "2024-02-01"}`},
		{`created_at:{2024-01-01 TO 2024-02-01]`, `created_at:{"2024-01-01" TO "2024-02-01"]`},
		{`created_at:[* TO *]`, `created_at:[* TO *]`},
		{`created_at:[  *   TO 2024-01-01 ]`, `created_at:[* TO "2024-01-01"]`},
		{`created_at:["2024-01-01" TO "2024-01-02"]`, `created_at:["2024-01-01" TO "2024-01-02"]`},
		{`metadata.n:[a TO m]`, `metadata.n:["a" TO "m"]`},
		{`type:[\* TO "*"]`, `type:["*" TO "*"]`},
	}
	for _, tt := range tests {
		if tt.want == "" {
			continue
		}
		q := mustParse(t, tt.in)
		if got := q.String(); got != tt.want {
			t.Errorf("Parse(%q).String() = %s, want %s", tt.in, got, tt.want)
		}
		// The canonical form is a fixed point.
		if again := mustParse(t, q.String()).String(); again != tt.want {
			t.Errorf("round trip of %q = %s", tt.want, again)
		}
	}
}

func TestMatch(t *testing.T) {
	tests := []struct {
		q    string
		want bool
	}{
		{``, true},
		{`   `, true},
		// each field
		{`id:d2cbc1b4-5c3a-45a3-9ee2-392a1c475ab4`, true},
		{`id:D2CBC1B4-5C3A-45A3-9EE2-392A1C475AB4`, false},
		{`type:card`, true},
		{`type:Card`, false},
		{`type:car`, false},
		{`type:car*`, true},
		{`type:*`, true},
		{`type:bank*`, false},
		{`fingerprint:FP123`, true},
		{`fingerprint:fp123`, false},
		{`container:/pci/high/`, true},
		{`container:/general/low/`, false}, // Value gives only the first container
		{`container:/pci/`, false},         // exact, not hierarchical
		{`data:4242`, true},
		{`data:"4242424242424242"`, true},
		{`data:424`, false},
		{`metadata.customer_id:cust-42`, true},
		{`metadata.customer_id:CUST-42`, true},
		{`metadata.customer_id:"Cust-42"`, true},
		{`metadata.customer_id:Cust`, false},
		{`metadata.customer_id:cUsT*`, true},
		{`metadata.customer_id:*`, true},
		{`metadata.missing:*`, false},
		{`metadata.Email:ann@example.COM`, true},
		{`metadata.email:ann@example.com`, false}, // keys are looked up as written
		{`metadata.a(b):X`, true},
		{`metadata.customer_id:[cust-40 TO CUST-45]`, true},
		{`metadata.customer_id:{cust-42 TO *]`, false},
		{`metadata.customer_id:[cust-42 TO *]`, true},
		{`expires_at:[* TO *]`, false}, // no expiry
		// created_at = 2024-01-31T23:59:59.5Z
		{`created_at:2024-01-31`, true},
		{`created_at:2024-02-01`, false},
		{`created_at:2024-01-31T23:59:59.5Z`, true},
		{`created_at:"2024-02-01T00:59:59.5+01:00"`, true},
		{`created_at:2024-01-31T23:59:59Z`, false},
		{`created_at:[2024-01-01 TO 2024-01-31]`, true},  // date upper bound inclusive = through end of day
		{`created_at:[2024-01-01 TO 2024-01-31}`, false}, // exclusive = before the day starts
		{`created_at:[2024-01-31 TO 2024-02-28]`, true},
		{`created_at:{2024-01-31 TO 2024-02-28]`, false}, // exclusive lower date = after the day ends
		{`created_at:{2024-01-30 TO 2024-02-28]`, true},
		{`created_at:[2024-01-31T23:59:59.5Z TO *]`, true},
		{`created_at:{2024-01-31T23:59:59.5Z TO *]`, false},
		{`created_at:[* TO 2024-01-31T23:59:59.5Z]`, true},
		{`created_at:[* TO 2024-01-31T23:59:59.5Z}`, false},
		{`created_at:{* TO 2024-02-01T00:00:00Z}`, true},
		{`created_at:[* TO *]`, true},
		{`created_at:[2025-01-01 TO 2024-01-01]`, false},
		// precedence: NOT > AND > OR
		{`type:bank OR type:card AND fingerprint:nope`, false},
		{`type:card OR type:bank AND fingerprint:nope`, true},
		{`(type:card OR type:bank) AND fingerprint:nope`, false},
		{`NOT type:card OR type:card`, true},
		{`NOT (type:card OR type:bank)`, false},
		{`NOT type:bank AND data:4242`, true},
		{`NOT type:card AND data:4242`, false},
		{`type:card NOT data:4242`, false},
		{`type:card data:4242`, true},
		{`type:card data:9999`, false},
		{`!!type:card`, true},
		{`type:card && (metadata.customer_id:x || data:4242)`, true},
	}
	for _, tt := range tests {
		q := mustParse(t, tt.q)
		if got := q.Match(card); got != tt.want {
			t.Errorf("%q.Match(card) = %v, want %v", tt.q, got, tt.want)
		}
	}
}

func TestMatchMultiAndNil(t *testing.T) {
	q := mustParse(t, `container:/general/low/`)
	if q.Match(card) {
		t.Error("plain Fields should only expose the first container")
	}
	if !q.Match(multiTok{card}) {
		t.Error("MultiFields should expose every container")
	}
	if !mustParse(t, `type:card`).Match(multiTok{card}) {
		t.Error("MultiFields returning nil should fall back to Value")
	}
	if mustParse(t, `type:card`).Match(nil) || !mustParse(t, `NOT type:card`).Match(nil) {
		t.Error("nil Fields has no values")
	}
	if !(Query{}).Match(nil) {
		t.Error("zero Query matches everything")
	}
	bad := card
	bad.created = "yesterday"
	if mustParse(t, `created_at:[* TO *]`).Match(bad) {
		t.Error("unparseable token time matched")
	}
}

func TestSyntaxErrors(t *testing.T) {
	tests := []struct {
		q   string
		pos int
		msg string // substring
	}{
		{`(type:a`, 0, `unbalanced "(": missing ")"`},
		{`type:a (type:b OR (type:c)`, 7, `unbalanced "("`},
		{`type:a)`, 6, `unexpected ")" without a matching "("`},
		{`)`, 0, `unexpected ")"`},
		{`()`, 0, `empty parentheses`},
		{`( )`, 0, `empty parentheses`},
		{`(`, 0, `unbalanced "("`},
		{`type:`, 5, `missing value for field "type"`},
		{`type: card`, 5, `missing value for field "type"`},
		{`(type:)`, 6, `missing value for field "type"`},
		{`type`, 4, `missing ":" and value after field "type"`},
		{`metadata.x`, 10, `missing ":"`},
		{`:x`, 0, `missing field name`},
		{`metadata.:x`, 0, `missing metadata key`},
		{`foo:bar`, 0, `unknown field "foo"`},
		{`type:a OR Type:b`, 10, `unknown field "Type"`},
		{`metadata:x`, 0, `unknown field "metadata"`},
		{`-type:a`, 0, `"-" prefixes are not supported; use NOT`},
		{`hello`, 0, `expected field:value, found "hello"`},
		{`type:a AND`, 10, `expected a term after "AND", found end of query`},
		{`type:a OR`, 9, `expected a term after "OR", found end of query`},
		{`type:a &&`, 9, `expected a term after "&&"`},
		{`NOT`, 3, `expected a term after "NOT", found end of query`},
		{`type:a AND OR type:b`, 11, `expected a term after "AND", found "OR"`},
		{`type:a OR ) `, 10, `expected a term after "OR", found ")"`},
		{`(type:a AND)`, 11, `expected a term after "AND", found ")"`},
		{`AND type:a`, 0, `expected a term, found "AND"`},
		{`OR type:a`, 0, `expected a term, found "OR"`},
		{`(OR type:a)`, 1, `expected a term, found "OR"`},
		{`type:a and type:b`, 7, `operators must be upper-case: use "AND" instead of "and"`},
		{`type:a or type:b`, 7, `use "OR"`},
		{`not type:b`, 0, `use "NOT"`},
		{`type:"abc`, 5, `unterminated quoted value`},
		{`type:"abc\"`, 5, `unterminated quoted value`},
		{`type:"a"b`, 8, `unexpected 'b' after quoted value`},
		{`type:a\`, 6, `dangling escape`},
		{`type:(a OR b)`, 5, `grouped values are not supported`},
		{`id:abc*`, 6, `wildcards are only supported on type and metadata.<key>, not on "id"`},
		{`data:42*`, 7, `not on "data"`},
		{`type:a*b`, 6, `only supported at the end`},
		{`type:*a*`, 5, `only supported at the end`},
		{`data:[1 TO 2]`, 5, `range queries are not supported on field "data"`},
		{`created_at:[2024-01-01 TO 2024-02-01`, 11, `unterminated range`},
		{`created_at:[2024-01-01 TO`, 11, `unterminated range`},
		{`created_at:[2024-01-01`, 11, `unterminated range`},
		{`created_at:[2024-01-01 2024-02-01]`, 23, `expected "TO"`},
		{`created_at:[2024-01-01 to 2024-02-01]`, 23, `expected "TO"`},
		{`created_at:[2024-01-01]`, 22, `expected "TO"`},
		{`created_at:[ TO 2024-01-01]`, 13, `missing lower bound before "TO"`},
		{`created_at:[2024-01-01 TO ]`, 26, `missing upper bound after "TO"`},
		{`created_at:[]`, 12, `empty range`},
		{`created_at:[2024-01-01 TO 2024-02-01)`, 11, `unterminated range`},
		{`created_at:[2024-01-01 TO 2024-02-01 )`, 37, `expected "]" or "}" to close the range`},
		{`created_at:[2024-01-01 TO 2024-02-01]x`, 37, `unexpected 'x' after range`},
		{`created_at:[2024* TO *]`, 16, `wildcards are not allowed in range bounds`},
		{`created_at:[2024-13-01 TO *]`, 12, `invalid time "2024-13-01" for created_at`},
		{`created_at:[* TO 01/02/2024]`, 17, `invalid time "01/02/2024"`},
		{`created_at:yesterday`, 11, `invalid time "yesterday"`},
		{`expires_at:2024-01-01T00:00:00`, 11, `invalid time`},
		{"type:\xff", 5, `not valid UTF-8`},
		{strings.Repeat("(", MaxDepth+1) + "type:a" + strings.Repeat(")", MaxDepth+1), MaxDepth, `maximum nesting depth of 32`},
		{strings.Repeat("NOT ", MaxDepth+1) + "type:a", 4 * MaxDepth, `maximum nesting depth`},
		{strings.Repeat("type:a ", MaxTerms+1), 7 * MaxTerms, `maximum of 100 terms`},
		{strings.Repeat(" ", MaxQueryLength+1), MaxQueryLength, `maximum length of 4096 bytes`},
	}
	for _, tt := range tests {
		_, err := Parse(tt.q)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("Parse(%q) error = %v, want *SyntaxError", tt.q, err)
			continue
		}
		if se.Pos != tt.pos || !strings.Contains(se.Msg, tt.msg) {
			t.Errorf("Parse(%q) = %v (pos %d), want pos %d and %q", tt.q, se.Msg, se.Pos, tt.pos, tt.msg)
		}
		if !strings.HasSuffix(se.Error(), " at offset "+strconv.Itoa(tt.pos)) {
			t.Errorf("Error() = %q", se.Error())
		}
	}
}

func TestLimitsAccepted(t *testing.T) {
	okQueries := []string{
		strings.Repeat("(", MaxDepth) + "type:a" + strings.Repeat(")", MaxDepth),
		strings.Repeat("NOT ", MaxDepth) + "type:a",
		strings.TrimSpace(strings.Repeat("type:a ", MaxTerms)),
		"type:" + strings.Repeat("a", MaxQueryLength-5),
	}
	for _, q := range okQueries {
		if _, err := Parse(q); err != nil {
			t.Errorf("Parse(%.40q...) = %v", q, err)
		}
	}
	// Depth is about nesting, not about how many groups appear.
	if _, err := Parse(strings.TrimSpace(strings.Repeat("(type:a) ", MaxDepth+5))); err != nil {
		t.Error(err)
	}
}

func TestIntrospection(t *testing.T) {
	q := mustParse(t, `type:card AND (data:4242 OR NOT metadata.k:v*) created_at:[* TO 2024-01-01]`)
	terms := q.Terms()
	var fields []string
	for _, tm := range terms {
		fields = append(fields, tm.Field)
	}
	if want := []string{"type", "data", "metadata.k", "created_at"}; !reflect.DeepEqual(fields, want) {
		t.Errorf("Terms fields = %v, want %v", fields, want)
	}
	if !terms[2].Prefix || terms[2].Value != "v" {
		t.Errorf("prefix term = %+v", terms[2])
	}
	if k, ok := terms[2].MetadataKey(); !ok || k != "k" {
		t.Errorf("MetadataKey = %q %v", k, ok)
	}
	r := terms[3].Range
	if r == nil || !r.Lower.Unbounded || r.Upper.Value != "2024-01-01" || !r.Upper.Inclusive {
		t.Errorf("range = %+v", r)
	}
	terms[3].Range.Upper.Value = "mutated"
	if q.Terms()[3].Range.Upper.Value != "2024-01-01" {
		t.Error("Terms exposes internal state")
	}
	if !q.UsesData() {
		t.Error("UsesData = false")
	}
	if mustParse(t, `type:card OR metadata.data:x`).UsesData() {
		t.Error("UsesData true without data term")
	}
	if !mustParse(t, `NOT data:1`).UsesData() {
		t.Error("UsesData must see negated data terms")
	}
	req := q.Required()
	if len(req) != 2 || req[0].Field != "type" || req[1].Field != "created_at" {
		t.Errorf("Required = %+v", req)
	}
	if r := mustParse(t, `data:1`).Required(); len(r) != 1 || r[0] != (Term{Field: "data", Value: "1"}) {
		t.Errorf("Required = %+v", r)
	}
	if r := mustParse(t, `data:1 OR type:x`).Required(); r != nil {
		t.Errorf("Required of OR = %+v", r)
	}
	if r := mustParse(t, `NOT data:1`).Required(); r != nil {
		t.Errorf("Required of NOT = %+v", r)
	}
	if !(Query{}).Empty() || mustParse(t, "type:a").Empty() || !mustParse(t, " ").Empty() {
		t.Error("Empty")
	}
}

func TestSimple(t *testing.T) {
	tests := []struct {
		q         string
		ok        bool
		term      Term
		container string
	}{
		{``, true, Term{}, ""},
		{`type:card`, true, Term{Field: "type", Value: "card"}, ""},
		{`data:"123-45-6789"`, true, Term{Field: "data", Value: "123-45-6789"}, ""},
		{`metadata.k:v`, true, Term{Field: "metadata.k", Value: "v"}, ""},
		{`fingerprint:abc`, true, Term{Field: "fingerprint", Value: "abc"}, ""},
		{`(type:card)`, true, Term{Field: "type", Value: "card"}, ""},
		{`container:/pci/`, true, Term{}, "/pci/"},
		{`container:/pci/ AND data:4242`, true, Term{Field: "data", Value: "4242"}, "/pci/"},
		{`data:4242 AND container:/pci/`, true, Term{Field: "data", Value: "4242"}, "/pci/"},
		{`container:/pci/ type:card`, true, Term{Field: "type", Value: "card"}, "/pci/"},
		{`(container:/pci/ && type:card)`, true, Term{Field: "type", Value: "card"}, "/pci/"},
		{`(container:/pci/) AND (type:card)`, true, Term{Field: "type", Value: "card"}, "/pci/"},
		// rejected
		{`type:card AND data:4242`, false, Term{}, ""},
		{`type:card OR container:/pci/`, false, Term{}, ""},
		{`container:/a/ AND container:/b/`, false, Term{}, ""},
		{`container:/a/ AND type:x AND data:1`, false, Term{}, ""},
		{`NOT type:card`, false, Term{}, ""},
		{`container:/pci/ AND NOT type:card`, false, Term{}, ""},
		{`container:/pci/ AND (type:a OR type:b)`, false, Term{}, ""},
		{`type:card*`, false, Term{}, ""},
		{`created_at:[* TO 2024-01-01]`, false, Term{}, ""},
		{`container:/pci/ AND metadata.k:v*`, false, Term{}, ""},
	}
	for _, tt := range tests {
		term, c, ok := mustParse(t, tt.q).Simple()
		if ok != tt.ok || c != tt.container || !reflect.DeepEqual(term, tt.term) {
			t.Errorf("Simple(%q) = %+v, %q, %v; want %+v, %q, %v", tt.q, term, c, ok, tt.term, tt.container, tt.ok)
		}
	}
}
