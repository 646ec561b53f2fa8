package reactors

import (
	"encoding/json"
	"testing"

	"github.com/strongroom/strongroom/vault/internal/kernel"
	"github.com/strongroom/strongroom/vault/problem"
)

// FuzzValidateArgs drives the request_parameters validator with arbitrary
// args: it never panics; it either names a field in a 400 or returns only
// declared parameters, each of its declared type.
func FuzzValidateArgs(f *testing.F) {
	for _, s := range []string{
		`{"card":{"number":"4242"},"amount":"12.5","capture":"true","extra":1}`,
		`{"card.number":"4242","amount":3}`, `{}`, `[]`, `"x"`, `{"amount":"abc"}`, `{"card":{"number":"1"},"amount":"NaN"}`, `{"card":{"number":"1"},"amount":"0x1p4"}`,
	} {
		f.Add(s)
	}
	params := []FormulaParameter{
		{Name: "card.number", Type: "string"},
		{Name: "amount", Type: "number"},
		{Name: "capture", Type: "boolean", Optional: true},
	}
	f.Fuzz(func(t *testing.T, in string) {
		args, err := kernel.DecodeData([]byte(in))
		if err != nil {
			return
		}
		out, err := validateArgs(params, args, "args")
		if err != nil {
			if p := problem.From(err); p.Status != 400 || len(p.Errors) == 0 {
				t.Fatalf("%s: %v, want a 400 naming fields", in, err)
			}
			return
		}
		if b, err := json.Marshal(out); err != nil || !json.Valid(b) {
			t.Fatalf("%s: validated args do not encode: %v", in, err)
		}
		m := out.(map[string]any)
		for k := range m {
			if k != "card" && k != "amount" && k != "capture" {
				t.Fatalf("%s: undeclared %q kept", in, k)
			}
		}
		if _, ok := m["amount"].(json.Number); !ok {
			t.Fatalf("%s: amount %T, want a number", in, m["amount"])
		}
		if c, ok := m["capture"]; ok {
			if _, isBool := c.(bool); !isBool {
				t.Fatalf("%s: capture %T, want a boolean", in, c)
			}
		}
		card, _ := m["card"].(map[string]any)
		if _, ok := card["number"].(string); !ok {
			t.Fatalf("%s: card.number %v, want a string", in, m["card"])
		}
	})
}
