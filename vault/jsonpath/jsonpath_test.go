package jsonpath

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/strongroom/strongroom/vault/jsonorder"
)

func TestReplace(t *testing.T) {
	doc := `{"z":1,"card":{"number":"4242","cvc":"1"},"list":[{"x":"a"},{"x":"b"}],"odd key":"o"}`
	for _, tc := range []struct{ path, want string }{
		{"$.card.number", `{"z":1,"card":{"number":"#","cvc":"1"},"list":[{"x":"a"},{"x":"b"}],"odd key":"o"}`},
		{"$.list[*].x", `{"z":1,"card":{"number":"4242","cvc":"1"},"list":[{"x":"#"},{"x":"#"}],"odd key":"o"}`},
		{"$.list[1].x", `{"z":1,"card":{"number":"4242","cvc":"1"},"list":[{"x":"a"},{"x":"#"}],"odd key":"o"}`},
		{"$['odd key']", `{"z":1,"card":{"number":"4242","cvc":"1"},"list":[{"x":"a"},{"x":"b"}],"odd key":"#"}`},
		{"$.card.*", `{"z":1,"card":{"number":"#","cvc":"#"},"list":[{"x":"a"},{"x":"b"}],"odd key":"o"}`},
		{"$.missing.x", doc},
	} {
		v, err := jsonorder.Decode([]byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		p, err := ParseField(tc.path)
		if err != nil {
			t.Fatalf("%s: %v", tc.path, err)
		}
		p.Replace(v, func(string, any) any { return "#" })
		out, _ := jsonorder.Marshal(v)
		if string(out) != tc.want {
			t.Errorf("%s:\n got  %s\n want %s", tc.path, out, tc.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, s := range []string{"", "card", "$", "$.", "$[x]", "$[-1]", "$[1", "$..a", "$a"} {
		if _, err := ParseField(s); err == nil {
			t.Errorf("%q: expected an error", s)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"$.a", "$.a[0].b", "$['x']", "$.*", "$[*]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseField(s)
		if err != nil {
			return
		}
		v, _ := jsonorder.Decode([]byte(`{"a":[{"b":1}],"x":{"y":2}}`))
		p.Replace(v, func(_ string, v any) any { return v })
	})
}

// The locations Replace names are the field names errors report.
func TestReplaceLocations(t *testing.T) {
	v, _ := jsonorder.Decode([]byte(`{"list":[{"x":"a"},{"x":"b"}],"h":{"X-Id":"1"}}`))
	var got []string
	for _, s := range []string{"$.list[*].x", "$.h.X-Id"} {
		p, err := ParseField(s)
		if err != nil {
			t.Fatal(err)
		}
		p.Replace(v, func(at string, v any) any { got = append(got, at); return v })
	}
	if want := "[$.list[0].x $.list[1].x $.h.X-Id]"; fmt.Sprint(got) != want {
		t.Errorf("locations %v, want %s", got, want)
	}
}

// Get reads ordered and plain trees alike and hands back the tree's own
// values, never the views ojg walked.
func TestGet(t *testing.T) {
	ordered, _ := jsonorder.Decode([]byte(`{"a":{"b":[1,{"c":2}]}}`))
	plain := map[string]any{"a": map[string]any{"b": []any{json.Number("1"), map[string]any{"c": json.Number("2")}}}}
	for _, doc := range []any{ordered, plain} {
		p, _ := Parse("$.a.b[1]")
		res := p.Get(doc)
		if len(res) != 1 {
			t.Fatalf("got %v", res)
		}
		b, _ := jsonorder.Marshal(res[0])
		if string(b) != `{"c":2}` {
			t.Errorf("got %s", b)
		}
		if _, ok := res[0].(orderedView); ok {
			t.Errorf("a view escaped: %T", res[0])
		}
		f, _ := Parse("$.a.b[?(@.c == 2)].c")
		if res := f.Get(doc); len(res) != 1 || fmt.Sprint(res[0]) != "2" {
			t.Errorf("filter got %v", res)
		}
	}
}

// TestBracketHyphenated: dot-notation members with '-' become their bracket
// form; quoted and bracketed text is left alone.
func TestBracketHyphenated(t *testing.T) {
	for in, want := range map[string]string{
		"$.request.headers.X-User-Id": "$.request.headers['X-User-Id']",
		"$..X-Date":                   "$..['X-Date']",
		"$.a['b-c'].d-e[0]":           "$.a['b-c']['d-e'][0]",
		"$.plain.path":                "$.plain.path",
		"$[?(@.x-y == 'a.b-c')]":      "$[?(@.x-y == 'a.b-c')]",
	} {
		if got := bracketHyphenated(in); got != want {
			t.Errorf("bracketHyphenated(%q) = %q, want %q", in, got, want)
		}
	}
}
