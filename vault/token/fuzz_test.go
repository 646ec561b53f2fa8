package token

import (
	"encoding/json"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// naiveLuhn is an independent Luhn implementation to cross-check LuhnValid.
func naiveLuhn(s string) bool {
	if s == "" {
		return false
	}
	var digits []int
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
		digits = append(digits, int(r-'0'))
	}
	sum := 0
	for i := range digits {
		d := digits[len(digits)-1-i]
		if i%2 == 1 {
			d = d * 2
			d = d/10 + d%10
		}
		sum += d
	}
	return sum%10 == 0
}

var (
	reCard    = regexp.MustCompile(`^[0-9]{13,19}$`)
	reAccount = regexp.MustCompile(`^[0-9]{3,17}$`)
	reSSN     = regexp.MustCompile(`^[0-9]{3}-?[0-9]{2}-?[0-9]{4}$`)
	reEIN     = regexp.MustCompile(`^[0-9]{2}-?[0-9]{7}$`)
)

// FuzzScalarValidators cross-checks every string validator against a
// regular expression plus an independent checksum.
func FuzzScalarValidators(f *testing.F) {
	for _, s := range []string{"4242424242424242", "36227206271667", "021000021", "123-45-6789", "12-3456789",
		"123456789", "1234567890", "", "-", "4242-4242", "ñ", "\xff", "0000000000000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		expect := map[string]bool{
			TypeCardNumber:           reCard.MatchString(s) && naiveLuhn(s),
			TypeUSBankAccountNumber:  reAccount.MatchString(s),
			TypeUSBankRoutingNumber:  len(s) == 9 && reAccount.MatchString(s) && ABAValid(s),
			TypeSocialSecurityNumber: reSSN.MatchString(s),
			TypeEmployerIDNumber:     reEIN.MatchString(s),
		}
		if LuhnValid(s) != naiveLuhn(s) {
			t.Fatalf("LuhnValid(%q) = %v, naive %v", s, LuhnValid(s), naiveLuhn(s))
		}
		for typ, want := range expect {
			v, errs := ValidateData(typ, s)
			if got := errs == nil; got != want {
				t.Fatalf("ValidateData(%s, %q) valid=%v, want %v (%v)", typ, s, got, want, errs)
			}
			if errs != nil {
				if len(errs["data"]) == 0 {
					t.Fatalf("error not keyed data: %v", errs)
				}
				continue
			}
			if v != s {
				t.Fatalf("value changed %q -> %#v", s, v)
			}
			m, ok := DefaultMask(typ, v)
			if !ok || utf8.RuneCountInString(m.(string)) != utf8.RuneCountInString(s) ||
				!strings.HasSuffix(m.(string), Last4(s)) {
				t.Fatalf("mask of %s %q = %#v, %v", typ, s, m, ok)
			}
			fv, ok := DefaultFingerprintValue(typ, v)
			if !ok || strings.Contains(fv, "-") {
				t.Fatalf("fingerprint value of %s %q = %q, %v", typ, s, fv, ok)
			}
		}
	})
}

// FuzzValidateJSON feeds arbitrary JSON to every type: no panics, errors
// keyed under "data", and valid values re-validate to themselves and have a
// mask and fingerprint value where the type defines them.
func FuzzValidateJSON(f *testing.F) {
	for _, s := range []string{
		`{"number":"4242424242424242","expiration_month":"02","expiration_year":2030,"cvc":"123"}`,
		`{"number":"4242424242424242","expiration_month":1e0}`,
		`{"routing_number":"021000021","account_number":"1234567890"}`,
		`"123-45-6789"`, `null`, `[]`, `{}`, `1e400`, `-0`, `{"number":null}`, `{"expiration_month":-9e18}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		dec := json.NewDecoder(strings.NewReader(text))
		dec.UseNumber()
		var data any
		if dec.Decode(&data) != nil {
			return
		}
		for _, ty := range Types() {
			v, errs := ValidateData(ty.Name, data)
			if errs != nil {
				if v != nil {
					t.Fatalf("%s: value with errors", ty.Name)
				}
				for k := range errs {
					if k != "data" && !strings.HasPrefix(k, "data.") {
						t.Fatalf("%s: error key %q", ty.Name, k)
					}
				}
				continue
			}
			v2, errs2 := ValidateData(ty.Name, v)
			if errs2 != nil || !reflect.DeepEqual(v, v2) {
				t.Fatalf("%s: not idempotent: %#v -> %#v %v", ty.Name, v, v2, errs2)
			}
			// Normalised values survive a JSON round trip.
			b, err := json.Marshal(v)
			if err != nil {
				t.Fatalf("%s: marshal %#v: %v", ty.Name, v, err)
			}
			if _, errs3 := ValidateData(ty.Name, decode(t, string(b))); errs3 != nil {
				t.Fatalf("%s: round trip %s invalid: %v", ty.Name, b, errs3)
			}
			_, hasMask := DefaultMask(ty.Name, v)
			if hasMask != (ty.Name != TypeToken) {
				t.Fatalf("%s: mask presence %v", ty.Name, hasMask)
			}
			if _, ok := DefaultFingerprintValue(ty.Name, v); !ok {
				t.Fatalf("%s: no fingerprint value for %#v", ty.Name, v)
			}
			if ty.Name == TypeCard {
				m, _ := DefaultMask(ty.Name, v)
				if _, leaked := m.(map[string]any)["cvc"]; leaked {
					t.Fatal("card mask leaks cvc")
				}
			}
		}
	})
}

// FuzzResolvePrivacy: no panics; a result without errors never lowers
// classification specificity, impact level below the minimum, or the
// restriction policy below the default.
func FuzzResolvePrivacy(f *testing.F) {
	f.Add("card", "pci", "high", "mask")
	f.Add("token", "pii", "low", "redact")
	f.Add("token", "", "", "MASK")
	f.Fuzz(func(t *testing.T, typ, c, l, r string) {
		ty, ok := Lookup(typ)
		if !ok {
			ty, _ = Lookup(TypeToken)
		}
		p, errs := ResolvePrivacy(ty, &Privacy{c, l, r})
		if !IsClassification(p.Classification) {
			t.Fatalf("bad classification %q", p.Classification)
		}
		if _, ok := ImpactLevelRank(p.ImpactLevel); !ok {
			t.Fatalf("bad impact level %q", p.ImpactLevel)
		}
		if errs != nil {
			return
		}
		if classSpecificity[p.Classification] < classSpecificity[ty.Classification] ||
			levelSpecificity[p.ImpactLevel] < levelSpecificity[ty.MinimumImpactLevel] ||
			policySpecificity[p.RestrictionPolicy] < policySpecificity[ty.RestrictionPolicy] {
			t.Fatalf("%s: %+v lowers the defaults", ty.Name, p)
		}
		if p.Classification != ty.Classification && classSpecificity[p.Classification] == classSpecificity[ty.Classification] {
			t.Fatalf("%s: sideways classification change to %q", ty.Name, p.Classification)
		}
		if _, err := ValidateContainer(DefaultContainer(p)); err != nil {
			t.Fatalf("default container %q invalid", DefaultContainer(p))
		}
	})
}

// FuzzContainer: normalisation is idempotent and a valid container covers
// itself and its children.
func FuzzContainer(f *testing.F) {
	for _, s := range []string{"/", "/pci/", "/PCI/high/", "//", "/a b/", "pci"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ValidateContainer(s)
		if err != nil {
			if ContainerCovers(s, "/pci/") || ContainerCovers("/", s) {
				t.Fatalf("invalid %q takes part in coverage", s)
			}
			return
		}
		if n2, err := ValidateContainer(n); err != nil || n2 != n || n != strings.ToLower(s) {
			t.Fatalf("normalise %q -> %q -> %q %v", s, n, n2, err)
		}
		if !ContainerCovers(s, s) || !ContainerCovers(s, n+"child/") || !ContainerCovers("/", s) {
			t.Fatalf("coverage wrong for %q", s)
		}
		if n != "/" && ContainerCovers(n+"child/", n) {
			t.Fatalf("child covers parent %q", n)
		}
	})
}
