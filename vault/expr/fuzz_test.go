package expr

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
)

var fuzzSeeds = []string{
	"{{" + cardID + "}}",
	"{{ " + cardID + " | $.number }}",
	"{{ " + cardID + " | json: '$.number' | last4 }}",
	"{{ token: " + cardID + " | json: '$.data.number' }}",
	"a {{ " + firstID + " }} b {{ " + lastID + " }} c",
	"{{ x }} {{}} {{ a/b }} }} {{",
	"<< " + firstID + " | upcase >>",
	"{{ " + ssnID + " | reveal: 3, 4, '#', '-' | pad_left: 30, '*' }}",
	"{{ " + cardID + " | alias_card: true, true }}",
	"{{ " + cardID + " | card_exp: 'MM/YYYY' }}",
	"{{ " + cardID + " | $[?(@.cvc == '123')] | json: '$.number' | slice: -4, 9 }}",
	"{{ " + ssnID + " | split: '-' | uniq | join: '|' }}",
	"{{ token_intent: abc }}",
	"{{ " + firstID + " | truncate: -3 }}",
	"{{ aaa | '|' }}",
}

// FuzzParseExpr checks the expression scanner/parser never panics and that a
// parsed string is exactly the concatenation of its text and expressions.
func FuzzParseExpr(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	e := NewEngine()
	f.Fuzz(func(t *testing.T, s string) {
		for _, d := range [][2]string{{"{{", "}}"}, {"<<", ">>"}} {
			segs, err := e.parseSegments(s, d[0], d[1], map[string]any{"proxy": 1})
			if err != nil || segs == nil {
				continue
			}
			var b strings.Builder
			for _, sg := range segs {
				if sg.x == nil {
					b.WriteString(sg.text)
					continue
				}
				if !sg.x.isVar && !validID(sg.x.id) {
					t.Fatalf("invalid id %q accepted in %q", sg.x.id, s)
				}
				b.WriteString(sg.x.raw)
			}
			if b.String() != s {
				t.Fatalf("segments %q do not rebuild %q", b.String(), s)
			}
		}
	})
}

// FuzzDetokenize runs arbitrary strings through Detokenize and
// DetokenizeString with a resolver that knows every id; it must never panic
// and successful results must be JSON-encodable.
func FuzzDetokenize(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s, false)
	}
	e := NewEngine()
	data := decode(f, `{"number":"4242424242424242","expiration_month":11,"expiration_year":2025,"cvc":"123","list":[1,"a",null,{"b":2.5}],"s":"111-22-3333"}`)
	r := ResolverFunc(func(_ context.Context, id string) (Token, error) {
		switch len(id) % 4 {
		case 0:
			return FromObject(map[string]any{"id": id, "type": "card", "data": data}), nil
		case 1:
			return FromObject(map[string]any{"id": id, "type": "token", "data": id}), nil
		case 2:
			return Token{}, &notFound{id}
		default:
			return FromObject(map[string]any{"id": id, "data": json.Number("42")}), nil
		}
	})
	f.Fuzz(func(t *testing.T, s string, stringPrimitives bool) {
		opts := Options{MaxTokens: 20, StringPrimitives: stringPrimitives, Vars: map[string]any{"proxy": data}}
		for _, doc := range []any{s, map[string]any{"k": s, "l": []any{s, 1}}} {
			out, err := e.Detokenize(context.Background(), doc, opts, r)
			if err == nil {
				if _, jerr := json.Marshal(out); jerr != nil {
					t.Fatalf("unencodable result for %q: %v", s, jerr)
				}
			}
		}
		opts.Left, opts.Right = "<<", ">>"
		_, _ = e.DetokenizeString(context.Background(), s, opts, r)
		_, _ = e.EvalString(s, map[string]any{"data": data})
	})
}

func BenchmarkDetokenize(b *testing.B) {
	e := NewEngine()
	f := newFake(b)
	body := `{"payment_method":{"credit_card":{"number":"{{ ` + cardID + ` | json: '$.number' }}","month":"{{ ` + cardID + ` | json: '$.expiration_month' | pad_left: 2, '0' }}","year":"2025","full_name":"John Doe"},"retained":true}}`
	doc := decode(b, body)
	ctx := context.Background()
	opts := Options{MaxTokens: 20, StringPrimitives: true}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Detokenize(ctx, doc, opts, f); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDetokenizeNoExpressions(b *testing.B) {
	e := NewEngine()
	doc := decode(b, `{"payment_method":{"credit_card":{"number":"4242424242424242","month":"11","year":"2025","full_name":"John Doe"},"retained":true}}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Detokenize(context.Background(), doc, Options{}, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEvalString(b *testing.B) {
	e := NewEngine()
	vars := map[string]any{"data": "123-45-6789"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.EvalString("{{ data | remove: '-' }}", vars); err != nil {
			b.Fatal(err)
		}
	}
}
