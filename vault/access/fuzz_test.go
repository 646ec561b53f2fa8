package access

import (
	"testing"
)

var tokenOps = []string{"token:create", "token:read", "token:update", "token:delete", "token:search", "token:use", "proxy:invoke", "reactor:invoke"}

// FuzzPermissionStrings: arbitrary permission strings never panic, and a
// string outside the catalogue grants nothing.
func FuzzPermissionStrings(f *testing.F) {
	for _, s := range []string{
		"", "token:pci:read:low", "token:pci:read:lowx", "token:pci:read", "token:", "token:pci:use:proxy",
		"tenant:read", "token:read", "token::read:high", "token:pci::high", ":::", "token:pci:read:low\x00",
		"token:gen\u00e9ral:create", "proxy:invoke", "token:PCI:read:high", "token:pci:read:high ",
	} {
		f.Add(s, "private")
	}
	f.Add("token:pci:create", "elements")
	f.Add("x", "")
	f.Fuzz(func(t *testing.T, perm, appType string) {
		granted := GrantableTo(perm, appType)
		_, known := Lookup(perm)
		rules := RulesFromPermissions([]string{perm, perm})
		_ = Catalog(appType)
		p := NewPrincipal("t", "a", appType, "k", []string{perm}, nil)
		if granted && !known {
			t.Fatalf("GrantableTo(%q, %q) without a catalogue entry", perm, appType)
		}
		if granted && !ValidAppType(appType) {
			t.Fatalf("GrantableTo(%q, %q) for an unknown application type", perm, appType)
		}
		if known {
			return
		}
		for _, typ := range AppTypes {
			if GrantableTo(perm, typ) {
				t.Fatalf("unknown %q grantable to %s", perm, typ)
			}
		}
		if len(rules) != 0 {
			t.Fatalf("unknown %q maps to rules %+v", perm, rules)
		}
		for _, op := range tokenOps {
			for _, c := range []string{"/", "/pci/high/", "/general/low/", "/" + perm + "/"} {
				if tr, ok := p.TokenTransform(op, TokenRef{ID: perm, Container: c}); ok {
					t.Fatalf("unknown %q grants %s on %s (%s)", perm, op, c, tr)
				}
			}
			if p.CanAnywhere(op) {
				t.Fatalf("unknown %q: CanAnywhere(%s)", perm, op)
			}
		}
		for _, mp := range ManagementPermissions() {
			if mp != perm && p.Has(mp) {
				t.Fatalf("unknown %q grants %s", perm, mp)
			}
		}
		if p.Has("proxy:invoke") || p.Has("reactor:invoke") {
			t.Fatalf("unknown %q grants invocation", perm)
		}
	})
}
