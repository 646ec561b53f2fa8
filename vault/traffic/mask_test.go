package traffic

import (
	"errors"
	"testing"
)

func TestMaskApply(t *testing.T) {
	str := func(s string) *string { return &s }
	for _, c := range []struct {
		name string
		spec MaskSpec
		in   string
		want string
	}{
		{"pan keeps last four", MaskSpec{Type: "mask", Expression: `"pan":"(\d{12})\d{4}"`},
			`{"pan":"4242424242424242","ok":true}`, `{"pan":"************4242","ok":true}`},
		{"every match, own replacement", MaskSpec{Type: "mask", Matcher: "regex", Expression: `(\d{3})-\d{2}`, Replacement: str("#")},
			`a 123-45 b 678-90`, `a ###-45 b ###-90`},
		{"several groups", MaskSpec{Type: "mask", Expression: `(\d+)/(\d+)`}, `exp 12/2030`, `exp **/****`},
		{"nested group covered once", MaskSpec{Type: "mask", Expression: `((\d)\d)`}, `x 42 y`, `x ** y`},
		{"optional group unmatched", MaskSpec{Type: "mask", Expression: `id=(\d+)(-\w+)?`}, `id=77`, `id=**`},
		{"characters, not bytes", MaskSpec{Type: "mask", Expression: `name=(\S+)`, Replacement: str("•")}, `name=Zoë`, `name=•••`},
		{"no match", MaskSpec{Type: "mask", Expression: `(\d{16})`}, `{"status":"ok"}`, `{"status":"ok"}`},
	} {
		m, err := CompileMask(c.spec)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := string(m.Apply([]byte(c.in))); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
}

func TestCompileMaskErrors(t *testing.T) {
	str := func(s string) *string { return &s }
	for _, c := range []struct {
		spec  MaskSpec
		field string
	}{
		{MaskSpec{Type: "mask"}, "expression"},
		{MaskSpec{Type: "mask", Expression: `\d{16}`}, "expression"},     // no capture group
		{MaskSpec{Type: "mask", Expression: `(?<=x)(\d)`}, "expression"}, // lookbehind: not RE2
		{MaskSpec{Type: "mask", Expression: `(\d)`, Replacement: str("**")}, "replacement"},
		{MaskSpec{Type: "mask", Expression: `(\d)`, Replacement: str("")}, "replacement"},
		{MaskSpec{Type: "mask", Matcher: "chase_stratus_pan"}, "matcher"},
		{MaskSpec{Type: "mask", Matcher: "luhn", Expression: `(\d)`}, "matcher"},
	} {
		_, err := CompileMask(c.spec)
		var me *MaskError
		if !errors.As(err, &me) || me.Field != c.field {
			t.Errorf("%+v: %v, want an error naming %s", c.spec, err, c.field)
		}
	}
}
