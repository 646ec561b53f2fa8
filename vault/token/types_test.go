package token

import (
	"reflect"
	"testing"
)

func TestCatalogue(t *testing.T) {
	tests := []struct {
		name, class, level, min, policy, container string
		fingerprinted                              bool
	}{
		{"token", "general", "high", "low", "redact", "/general/high/", false},
		{"card", "pci", "high", "high", "mask", "/pci/high/", true},
		{"bank", "bank", "high", "high", "mask", "/bank/high/", true},
		{"card_number", "pci", "high", "high", "mask", "/pci/high/", true},
		{"us_bank_account_number", "bank", "high", "high", "mask", "/bank/high/", true},
		{"us_bank_routing_number", "bank", "low", "low", "redact", "/bank/low/", true},
		{"social_security_number", "pii", "high", "high", "mask", "/pii/high/", true},
		{"employer_id_number", "pii", "high", "low", "mask", "/pii/high/", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ty, ok := Lookup(tt.name)
			if !ok {
				t.Fatalf("Lookup(%q) not found", tt.name)
			}
			want := Type{tt.name, tt.class, tt.level, tt.min, tt.policy, tt.fingerprinted}
			if ty != want {
				t.Errorf("got %+v, want %+v", ty, want)
			}
			if got := ty.DefaultContainer(); got != tt.container {
				t.Errorf("DefaultContainer = %q, want %q", got, tt.container)
			}
			if got := ty.DefaultPrivacy(); got != (Privacy{tt.class, tt.level, tt.policy}) {
				t.Errorf("DefaultPrivacy = %+v", got)
			}
		})
	}
	if n := len(Types()); n != len(tests) {
		t.Errorf("Types() has %d entries, want %d", n, len(tests))
	}
	for _, bad := range []string{"", "Card", "zip", "network_token", "CARD_NUMBER"} {
		if _, ok := Lookup(bad); ok {
			t.Errorf("Lookup(%q) found a type", bad)
		}
	}
	ts := Types()
	for i := 1; i < len(ts); i++ {
		if ts[i-1].Name >= ts[i].Name {
			t.Errorf("Types() not sorted: %q before %q", ts[i-1].Name, ts[i].Name)
		}
	}
}

func TestFieldErrors(t *testing.T) {
	var e FieldErrors
	e = e.Add("data.number", "a").Add("data.number", "b").Add("data", "c")
	if !reflect.DeepEqual(e.Fields(), []string{"data", "data.number"}) {
		t.Errorf("Fields = %v", e.Fields())
	}
	if got, want := e.Error(), "data: c; data.number: a, b"; got != want {
		t.Errorf("Error = %q, want %q", got, want)
	}
	r := e.Rename("data", "card")
	want := FieldErrors{"card": {"c"}, "card.number": {"a", "b"}}
	if !reflect.DeepEqual(r, want) {
		t.Errorf("Rename = %v, want %v", r, want)
	}
	if r2 := (FieldErrors{"database": {"x"}}).Rename("data", "card"); r2["database"] == nil {
		t.Errorf("Rename touched a key that only shares a prefix: %v", r2)
	}
	m := FieldErrors{"x": {"1"}}.Merge(FieldErrors{"x": {"2"}, "y": {"3"}})
	if !reflect.DeepEqual(m, FieldErrors{"x": {"1", "2"}, "y": {"3"}}) {
		t.Errorf("Merge = %v", m)
	}
	if got := FieldErrors(nil).Merge(nil); got != nil {
		t.Errorf("nil.Merge(nil) = %v, want nil", got)
	}
}
