package token

import (
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
