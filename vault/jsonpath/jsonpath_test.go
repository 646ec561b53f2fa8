package jsonpath

import (
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
		p, err := Parse(tc.path)
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
		if _, err := Parse(s); err == nil {
			t.Errorf("%q: expected an error", s)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"$.a", "$.a[0].b", "$['x']", "$.*", "$[*]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := Parse(s)
		if err != nil {
			return
		}
		v, _ := jsonorder.Decode([]byte(`{"a":[{"b":1}],"x":{"y":2}}`))
		p.Replace(v, func(_ string, v any) any { return v })
	})
}
