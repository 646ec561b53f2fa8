package token

import (
	"strings"
	"testing"
)

func mustType(t *testing.T, name string) Type {
	t.Helper()
	ty, ok := Lookup(name)
	if !ok {
		t.Fatalf("unknown type %q", name)
	}
	return ty
}

func TestResolvePrivacy(t *testing.T) {
	tests := []struct {
		name      string
		typ       string
		req       *Privacy
		want      Privacy
		errFields []string // fields expected in FieldErrors
		errSubstr string   // substring of the (first) message
	}{
		{"nil gives defaults", "token", nil, Privacy{"general", "high", "redact"}, nil, ""},
		{"empty gives defaults", "card_number", &Privacy{}, Privacy{"pci", "high", "mask"}, nil, ""},
		{"seed example moderate", "token", &Privacy{ImpactLevel: "moderate"}, Privacy{"general", "moderate", "redact"}, nil, ""},
		{"token down to low", "token", &Privacy{ImpactLevel: "low"}, Privacy{"general", "low", "redact"}, nil, ""},
		{"case insensitive", "token", &Privacy{ImpactLevel: " Moderate "}, Privacy{"general", "moderate", "redact"}, nil, ""},
		{"general to pci", "token", &Privacy{Classification: "pci"}, Privacy{"pci", "high", "redact"}, nil, ""},
		{"general to pii", "token", &Privacy{Classification: "pii"}, Privacy{"pii", "high", "redact"}, nil, ""},
		{"same classification", "card", &Privacy{Classification: "pci"}, Privacy{"pci", "high", "mask"}, nil, ""},
		{"pci to bank rejected", "card_number", &Privacy{Classification: "bank"}, Privacy{"pci", "high", "mask"},
			[]string{"privacy.classification"}, "cannot be changed from pci to bank"},
		{"pci to general rejected", "card", &Privacy{Classification: "general"}, Privacy{"pci", "high", "mask"},
			[]string{"privacy.classification"}, "higher specificity"},
		{"unknown classification", "token", &Privacy{Classification: "secret"}, Privacy{"general", "high", "redact"},
			[]string{"privacy.classification"}, "must be one of general, bank, pci, pii"},
		{"card below minimum", "card_number", &Privacy{ImpactLevel: "moderate"}, Privacy{"pci", "high", "mask"},
			[]string{"privacy.impact_level"}, "must be high or higher"},
		{"ssn below minimum (seed)", "social_security_number", &Privacy{ImpactLevel: "low"}, Privacy{"pii", "high", "mask"},
			[]string{"privacy.impact_level"}, "social_security_number"},
		{"account below minimum (seed)", "us_bank_account_number", &Privacy{ImpactLevel: "low"}, Privacy{"bank", "high", "mask"},
			[]string{"privacy.impact_level"}, ""},
		{"ein down to low", "employer_id_number", &Privacy{ImpactLevel: "low"}, Privacy{"pii", "low", "mask"}, nil, ""},
		{"routing up to high", "us_bank_routing_number", &Privacy{ImpactLevel: "high"}, Privacy{"bank", "high", "redact"}, nil, ""},
		{"unknown level", "token", &Privacy{ImpactLevel: "extreme"}, Privacy{"general", "high", "redact"},
			[]string{"privacy.impact_level"}, "must be one of low, moderate, high"},
		{"mask to redact", "card", &Privacy{RestrictionPolicy: "redact"}, Privacy{"pci", "high", "redact"}, nil, ""},
		{"redact to mask rejected", "token", &Privacy{RestrictionPolicy: "mask"}, Privacy{"general", "high", "redact"},
			[]string{"privacy.restriction_policy"}, "cannot be changed from redact to mask"},
		{"unknown policy", "card", &Privacy{RestrictionPolicy: "hide"}, Privacy{"pci", "high", "mask"},
			[]string{"privacy.restriction_policy"}, "must be one of mask, redact"},
		{"all three wrong", "card", &Privacy{"general", "low", "x"}, Privacy{"pci", "high", "mask"},
			[]string{"privacy.classification", "privacy.impact_level", "privacy.restriction_policy"}, ""},
		{"all three raised", "token", &Privacy{"bank", "moderate", "redact"}, Privacy{"bank", "moderate", "redact"}, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, errs := ResolvePrivacy(mustType(t, tt.typ), tt.req)
			if got != tt.want {
				t.Errorf("privacy = %+v, want %+v", got, tt.want)
			}
			if len(errs) != len(tt.errFields) {
				t.Fatalf("errors = %v, want fields %v", errs, tt.errFields)
			}
			for _, f := range tt.errFields {
				if len(errs[f]) == 0 {
					t.Errorf("no error on %q: %v", f, errs)
				}
			}
			if tt.errSubstr != "" && !strings.Contains(errs[tt.errFields[0]][0], tt.errSubstr) {
				t.Errorf("message %q does not contain %q", errs[tt.errFields[0]][0], tt.errSubstr)
			}
		})
	}
}

func TestImpactLevelRank(t *testing.T) {
	for lvl, want := range map[string]int{"low": 0, "moderate": 1, "high": 2} {
		if got, ok := ImpactLevelRank(lvl); !ok || got != want {
			t.Errorf("ImpactLevelRank(%q) = %d, %v", lvl, got, ok)
		}
	}
	if _, ok := ImpactLevelRank("HIGH"); ok {
		t.Error("ImpactLevelRank accepted HIGH")
	}
	for _, c := range []string{"general", "bank", "pci", "pii"} {
		if !IsClassification(c) {
			t.Errorf("IsClassification(%q) = false", c)
		}
	}
	if IsClassification("phi") {
		t.Error("IsClassification(phi) = true")
	}
}

func TestContainers(t *testing.T) {
	valid := map[string]string{
		"/":                  "/",
		"/pci/":              "/pci/",
		"/PCI/High/":         "/pci/high/",
		"/a_b-c/9/":          "/a_b-c/9/",
		"/general/high/x/y/": "/general/high/x/y/",
	}
	for in, want := range valid {
		got, err := ValidateContainer(in)
		if err != nil || got != want {
			t.Errorf("ValidateContainer(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "pci/", "/pci", "pci", "//", "/pci//high/", "/pci high/", "/pci.high/", "/pçi/", "/pci/*/"} {
		if got, err := ValidateContainer(in); err == nil {
			t.Errorf("ValidateContainer(%q) = %q, want error", in, got)
		}
	}
	if got := DefaultContainer(Privacy{"pci", "high", "mask"}); got != "/pci/high/" {
		t.Errorf("DefaultContainer = %q", got)
	}
	covers := []struct {
		rule, tok string
		want      bool
	}{
		{"/pci/", "/pci/high/", true},
		{"/pci/", "/pci/", true},
		{"/", "/pii/low/", true},
		{"/PCI/", "/pci/high/", true},
		{"/pci/high/", "/pci/", false},
		{"/pci/", "/pcix/high/", false},
		{"/pci/high/", "/pci/low/", false},
		{"/pci/high/", "/pci/highest/", false},
		{"/pci", "/pci/high/", false},
		{"/pci/", "pci/high", false},
	}
	for _, c := range covers {
		if got := ContainerCovers(c.rule, c.tok); got != c.want {
			t.Errorf("ContainerCovers(%q, %q) = %v, want %v", c.rule, c.tok, got, c.want)
		}
	}
}
