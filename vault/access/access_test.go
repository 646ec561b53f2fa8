package access

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

func r(container, transform string, perms ...string) Rule {
	return Rule{Container: container, Transform: transform, Permissions: perms}
}

// TestMigrationTable checks RulesFromPermissions against the automatic
// mapping of wire contract §11, for every classification and operation.
func TestMigrationTable(t *testing.T) {
	for _, c := range Classifications {
		cc := "/" + c + "/"
		table := map[string][]Rule{
			"create":        {r(cc, Mask, "token:create")},
			"update":        {r(cc, Mask, "token:update")},
			"delete":        {r(cc, Mask, "token:delete")},
			"read:low":      {r(cc+"low/", Reveal, "token:read", "token:search"), r(cc, Mask, "token:read")},
			"read:moderate": {r(cc+"low/", Reveal, "token:read", "token:search"), r(cc+"moderate/", Reveal, "token:read", "token:search"), r(cc+"high/", Mask, "token:read")},
			"read:high":     {r(cc, Reveal, "token:read", "token:search")},
		}
		for op, want := range table {
			perm := "token:" + c + ":" + op
			got := RulesFromPermissions([]string{perm})
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s → %+v, want %+v", perm, got, want)
			}
		}
		// use:proxy and use:reactor → (/c/, reveal, token:use): the use of
		// the class's tokens, revealed, inside that invocation (the rule may
		// name the invocation permission that replaced token:use).
		for op, invoke := range map[string]string{"use:proxy": "proxy:invoke", "use:reactor": "reactor:invoke"} {
			perm := "token:" + c + ":" + op
			got := RulesFromPermissions([]string{perm})
			if len(got) != 1 || got[0].Container != cc || got[0].Transform != Reveal || len(got[0].Permissions) == 0 {
				t.Errorf("%s → %+v, want one rule (%s, reveal, token:use)", perm, got, cc)
				continue
			}
			for _, p := range got[0].Permissions {
				if p != "token:use" && p != invoke {
					t.Errorf("%s grants %s", perm, p)
				}
			}
			p := NewPrincipal("t", "a", TypeServerToServer, "k", []string{perm}, nil)
			if !p.Has(invoke) {
				t.Errorf("%s: Has(%s) = false", perm, invoke)
			}
			// Using a token inside the invocation: a rule granting the
			// invocation itself or token:use decides.
			use := func(tok TokenRef) (string, bool) {
				if tr, ok := p.TokenTransform(invoke, tok); ok {
					return tr, true
				}
				return p.TokenTransform("token:use", tok)
			}
			if tr, ok := use(TokenRef{ID: "x", Container: cc + "high/"}); !ok || tr != Reveal {
				t.Errorf("%s: use in %shigh/ = %q, %v; want reveal", perm, cc, tr, ok)
			}
			other := "/pii/high/"
			if c == "pii" {
				other = "/pci/high/"
			}
			if _, ok := use(TokenRef{ID: "x", Container: other}); ok {
				t.Errorf("%s: may use tokens in %s", perm, other)
			}
			for _, rd := range []string{"token:read", "token:search", "token:create"} {
				if _, ok := p.TokenTransform(rd, TokenRef{ID: "x", Container: cc + "low/"}); ok {
					t.Errorf("%s grants %s", perm, rd)
				}
			}
		}
	}
}

func TestCurrentTokenPermissionsMapToRoot(t *testing.T) {
	for _, perm := range []string{"token:create", "token:read", "token:update", "token:delete", "token:search", "token:use"} {
		got := RulesFromPermissions([]string{perm})
		if want := []Rule{r("/", Reveal, perm)}; !reflect.DeepEqual(got, want) {
			t.Errorf("%s → %+v, want %+v", perm, got, want)
		}
	}
}

func TestRulesFromPermissionsIgnoresOthers(t *testing.T) {
	for _, perm := range []string{
		"", "tenant:read", "application:create", "proxy:invoke", "reactor:invoke", "token:", "token:pci",
		"token:pci:", "token:pci:read", "token:pci:read:extreme", "token:pci:read:low:x", "token:pci:use",
		"token:pci:use:other", "token:secret:read:high", "token:PCI:read:high", "TOKEN:pci:read:high",
		"token:pci:create:x", "token:general:decrypt", "token:read:high", " token:read",
	} {
		if got := RulesFromPermissions([]string{perm}); len(got) != 0 {
			t.Errorf("%q → %+v, want no rules", perm, got)
		}
	}
}

var (
	lowTok  = TokenRef{ID: "t-low", Container: "/pci/low/"}
	modTok  = TokenRef{ID: "t-mod", Container: "/pci/moderate/"}
	highTok = TokenRef{ID: "t-high", Container: "/pci/high/"}
)

func transform(p *Principal, perm string, tok TokenRef) string {
	tr, ok := p.TokenTransform(perm, tok)
	if !ok {
		return "DENIED"
	}
	return tr
}

// TestSeed001ReadSemantics: a reader at level L gets plaintext of tokens at
// L or below and the restricted form (mask) above it.
func TestSeed001ReadSemantics(t *testing.T) {
	cases := []struct {
		perm           string
		low, mod, high string
	}{
		{"token:pci:read:low", Reveal, Mask, Mask},
		{"token:pci:read:moderate", Reveal, Reveal, Mask},
		{"token:pci:read:high", Reveal, Reveal, Reveal},
		{"token:pci:create", "DENIED", "DENIED", "DENIED"},
		{"token:pci:use:proxy", "DENIED", "DENIED", "DENIED"},
		{"token:bank:read:high", "DENIED", "DENIED", "DENIED"},
		{"token:general:read:high", "DENIED", "DENIED", "DENIED"},
	}
	for _, c := range cases {
		p := NewPrincipal("t", "a", TypeServerToServer, "k", []string{c.perm}, nil)
		got := [3]string{transform(p, "token:read", lowTok), transform(p, "token:read", modTok), transform(p, "token:read", highTok)}
		if want := [3]string{c.low, c.mod, c.high}; got != want {
			t.Errorf("%s: low/moderate/high = %v, want %v", c.perm, got, want)
		}
	}
	none := NewPrincipal("t", "a", TypeServerToServer, "k", nil, nil)
	if _, ok := none.TokenTransform("token:read", lowTok); ok {
		t.Error("principal without permissions may read")
	}
	if none.CanAnywhere("token:read") {
		t.Error("principal without permissions CanAnywhere(token:read)")
	}
}

func TestSearchFollowsPlaintextRead(t *testing.T) {
	p := NewPrincipal("t", "a", TypeServerToServer, "k", []string{"token:pci:read:moderate"}, nil)
	for tok, want := range map[TokenRef]bool{lowTok: true, modTok: true, highTok: false} {
		if _, ok := p.TokenTransform("token:search", tok); ok != want {
			t.Errorf("search on %s = %v, want %v", tok.Container, ok, want)
		}
	}
	if !p.CanAnywhere("token:search") {
		t.Error("read:moderate cannot search anywhere")
	}
}

func TestDerivedMostRevealingWins(t *testing.T) {
	// read:low masks /pci/, read:high reveals it: the union reveals.
	for _, perms := range [][]string{
		{"token:pci:read:low", "token:pci:read:high"},
		{"token:pci:read:high", "token:pci:read:low"},
		{"token:pci:read:moderate", "token:pci:read:high", "token:pci:read:low"},
	} {
		p := NewPrincipal("t", "a", TypePrivate, "k", perms, nil)
		if got := transform(p, "token:read", highTok); got != Reveal {
			t.Errorf("%v on /pci/high/ = %s, want reveal", perms, got)
		}
	}
	// create gives mask, token:create on / gives reveal: reveal wins.
	p := NewPrincipal("t", "a", TypePrivate, "k", []string{"token:pci:create", "token:create"}, nil)
	if got := transform(p, "token:create", highTok); got != Reveal {
		t.Errorf("create union = %s", got)
	}
	// Permissions of different classes do not bleed into each other.
	p = NewPrincipal("t", "a", TypePrivate, "k", []string{"token:pci:read:low", "token:bank:read:high"}, nil)
	if got := transform(p, "token:read", highTok); got != Mask {
		t.Errorf("pci high with bank:read:high = %s, want mask", got)
	}
	if got := transform(p, "token:read", TokenRef{Container: "/bank/high/"}); got != Reveal {
		t.Errorf("bank high = %s", got)
	}
}

func TestExplicitRulesByPriority(t *testing.T) {
	rules := []Rule{
		{Priority: 3, Container: "/", Transform: Reveal, Permissions: []string{"token:read"}},
		{Priority: 1, Container: "/pci/", Transform: Redact, Permissions: []string{"token:read"}},
		{Priority: 2, Container: "/pci/high/", Transform: Mask, Permissions: []string{"token:read", "token:update"}},
	}
	p := NewPrincipal("t", "a", TypePrivate, "k", nil, rules)
	if got := transform(p, "token:read", highTok); got != Redact {
		t.Errorf("priority 1 (/pci/ redact) should decide, got %s", got)
	}
	// Priority 1 does not grant token:update, so priority 2 decides.
	if got := transform(p, "token:update", highTok); got != Mask {
		t.Errorf("token:update = %s, want mask from priority 2", got)
	}
	if got := transform(p, "token:read", TokenRef{Container: "/general/high/"}); got != Reveal {
		t.Errorf("/general/high/ = %s, want reveal from priority 3", got)
	}
	if got := transform(p, "token:delete", highTok); got != "DENIED" {
		t.Errorf("token:delete = %s", got)
	}
	// The caller's slice is not reordered.
	if rules[0].Priority != 3 {
		t.Error("NewPrincipal reordered the caller's rules")
	}
	// Equal priorities keep their given order.
	p = NewPrincipal("t", "a", TypePrivate, "k", nil, []Rule{
		{Priority: 1, Container: "/", Transform: Mask, Permissions: []string{"token:read"}},
		{Priority: 1, Container: "/", Transform: Reveal, Permissions: []string{"token:read"}},
	})
	if got := transform(p, "token:read", highTok); got != Mask {
		t.Errorf("equal priorities: %s, want the first given (mask)", got)
	}
	// The first matching explicit rule decides even when it reveals less
	// than a derived rule would.
	p = NewPrincipal("t", "a", TypePrivate, "k", []string{"token:pci:read:high"}, []Rule{
		{Priority: 1, Container: "/pci/", Transform: Mask, Permissions: []string{"token:read"}},
	})
	if got := transform(p, "token:read", highTok); got != Mask {
		t.Errorf("explicit before derived: %s", got)
	}
	if got := transform(p, "token:search", highTok); got != Reveal {
		t.Errorf("derived rule when no explicit rule grants: %s", got)
	}
}

func TestConditions(t *testing.T) {
	rule := func(conds ...Condition) *Principal {
		return NewPrincipal("t", "a", TypeExpiring, "k", nil, []Rule{{Priority: 1, Transform: Reveal,
			Permissions: []string{"token:read"}, Conditions: conds}})
	}
	tok := TokenRef{ID: "tok_123", Container: "/pci/high/"}
	cases := []struct {
		name string
		c    []Condition
		want bool
	}{
		{"id equals", []Condition{{"id", "equals", "tok_123"}}, true},
		{"id equals other", []Condition{{"id", "equals", "tok_12"}}, false},
		{"id starts_with", []Condition{{"id", "starts_with", "tok_"}}, true},
		{"id starts_with other", []Condition{{"id", "starts_with", "xyz"}}, false},
		{"container equals", []Condition{{"container", "equals", "/pci/high/"}}, true},
		{"container equals parent", []Condition{{"container", "equals", "/pci/"}}, false},
		{"container starts_with", []Condition{{"container", "starts_with", "/pci/"}}, true},
		{"and: both hold", []Condition{{"id", "equals", "tok_123"}, {"container", "starts_with", "/pci/"}}, true},
		{"and: one fails", []Condition{{"id", "equals", "tok_123"}, {"container", "starts_with", "/bank/"}}, false},
		{"unknown attribute", []Condition{{"type", "equals", "card"}}, false},
		{"unknown operator", []Condition{{"id", "contains", "123"}}, false},
		{"case-sensitive", []Condition{{"id", "equals", "TOK_123"}}, false},
	}
	for _, c := range cases {
		_, ok := rule(c.c...).TokenTransform("token:read", tok)
		if ok != c.want {
			t.Errorf("%s: allowed=%v, want %v", c.name, ok, c.want)
		}
	}
}

func TestHas(t *testing.T) {
	p := NewPrincipal("t", "a", TypePrivate, "k", []string{"token:use"}, nil)
	if !p.Has("proxy:invoke") || !p.Has("reactor:invoke") {
		t.Error("token:use does not stand for proxy:invoke / reactor:invoke")
	}
	if p.Has("application:read") || p.Has("tenant:read") {
		t.Error("token:use grants management permissions")
	}
	p = NewPrincipal("t", "a", TypePrivate, "k", nil, []Rule{{Priority: 1, Container: "/", Transform: Reveal, Permissions: []string{"token:use"}}})
	if !p.Has("proxy:invoke") || !p.Has("reactor:invoke") {
		t.Error("rule-granted token:use does not stand for invoke")
	}
	p = NewPrincipal("t", "a", TypeServerToServer, "k", []string{"token:pci:use:proxy"}, nil)
	if !p.Has("proxy:invoke") {
		t.Error("token:pci:use:proxy cannot invoke proxies")
	}
	p = NewPrincipal("t", "a", TypePrivate, "k", []string{"proxy:invoke"}, nil)
	if !p.Has("proxy:invoke") || p.Has("reactor:invoke") {
		t.Error("proxy:invoke alone: wrong Has")
	}
	p = NewPrincipal("t", "a", TypePrivate, "k", []string{"token:pci:read:high"}, nil)
	if p.Has("proxy:invoke") || p.Has("reactor:invoke") {
		t.Error("a read permission grants invocation")
	}
	p = NewPrincipal("t", "a", TypeManagement, "k", []string{"application:read", "log:read"}, nil)
	if !p.Has("application:read") || p.Has("application:create") || !p.HasAny("x", "log:read") || p.HasAny("x", "y") {
		t.Error("Has/HasAny on management permissions")
	}
	if got := p.Permissions(); !reflect.DeepEqual(got, []string{"application:read", "log:read"}) {
		t.Errorf("Permissions() = %v", got)
	}
}

func TestCatalogByApplicationType(t *testing.T) {
	types := func(list []Permission) map[string]bool {
		m := map[string]bool{}
		for _, p := range list {
			m[p.Type] = true
		}
		return m
	}
	all := types(Catalog(""))
	if len(all) != len(Catalog("")) {
		t.Fatal("catalogue has duplicates")
	}
	for _, want := range []string{"tenant:read", "application:create", "log:read", "token:pci:read:low", "token:general:use:reactor", "token:read", "proxy:invoke"} {
		if !all[want] {
			t.Errorf("catalogue lacks %s", want)
		}
	}
	check := func(appType string, in, out []string) {
		t.Helper()
		got := types(Catalog(appType))
		for _, p := range in {
			if !got[p] {
				t.Errorf("Catalog(%s) lacks %s", appType, p)
			}
		}
		for _, p := range out {
			if got[p] {
				t.Errorf("Catalog(%s) has %s", appType, p)
			}
		}
	}
	// seed 001: server_to_server gets every token permission.
	s2s := []string{"token:pci:create", "token:bank:read:low", "token:pii:read:moderate", "token:general:read:high",
		"token:pci:update", "token:pci:delete", "token:pci:use:proxy", "token:pci:use:reactor"}
	check(TypeServerToServer, append(s2s, "token:read", "proxy:invoke"), []string{"tenant:read", "application:create", "log:read"})
	// private ≈ server_to_server.
	check(TypePrivate, append(s2s, "token:read", "token:search", "token:use"), []string{"tenant:read", "application:read"})
	// public and elements: create only.
	pubIn := []string{"token:pci:create", "token:general:create", "token:create", "token:update"}
	pubOut := []string{"token:pci:read:low", "token:pci:update", "token:pci:use:proxy", "token:read", "tenant:read", "proxy:invoke"}
	check(TypePublic, pubIn, pubOut)
	check(TypeElements, pubIn, pubOut)
	// management: management permissions only.
	check(TypeManagement, []string{"tenant:read", "tenant:update", "tenant:delete", "application:read", "application:create",
		"application:update", "application:delete", "reactor:read", "reactor:create", "log:read"},
		[]string{"token:pci:create", "token:read", "token:create", "proxy:invoke"})
	if n := len(Catalog("no-such-type")); n != 0 {
		t.Errorf("Catalog(unknown) has %d entries", n)
	}
	for _, p := range Catalog("") {
		if p.Description == "" || len(p.ApplicationTypes) == 0 {
			t.Errorf("permission %s lacks description or types", p.Type)
		}
	}
}

func TestGrantableTo(t *testing.T) {
	cases := []struct {
		perm, typ string
		want      bool
	}{
		{"token:pci:read:low", TypeServerToServer, true},
		{"token:pci:read:low", TypePrivate, true},
		{"token:pci:read:low", TypePublic, false},
		{"token:pci:read:low", TypeElements, false},
		{"token:pci:read:low", TypeManagement, false},
		{"token:pci:create", TypeElements, true},
		{"token:pci:create", TypePublic, true},
		{"token:create", TypeElements, true},
		{"token:read", TypeServerToServer, true},
		{"token:read", TypeExpiring, true},
		{"token:create", TypeExpiring, false},
		{"tenant:read", TypeManagement, true},
		{"tenant:read", TypePrivate, false},
		{"application:create", TypeServerToServer, false},
		{"token:pci:read:extreme", TypePrivate, false},
		{"token:secret:read:high", TypePrivate, false},
		{"TENANT:READ", TypeManagement, false},
		{"tenant:read", "MANAGEMENT", false},
		{"", TypePrivate, false},
		{"tenant:read", "", false},
	}
	for _, c := range cases {
		if got := GrantableTo(c.perm, c.typ); got != c.want {
			t.Errorf("GrantableTo(%q, %q) = %v, want %v", c.perm, c.typ, got, c.want)
		}
	}
	if _, ok := Lookup("token:pii:use:reactor"); !ok {
		t.Error("Lookup token:pii:use:reactor")
	}
}

func TestAppTypes(t *testing.T) {
	for _, typ := range []string{"server_to_server", "public", "elements", "management", "private", "expiring"} {
		if !ValidAppType(typ) {
			t.Errorf("%s not valid", typ)
		}
	}
	for _, typ := range []string{"", "Private", "admin", "server-to-server"} {
		if ValidAppType(typ) {
			t.Errorf("%q valid", typ)
		}
	}
}

func TestManagementPermissions(t *testing.T) {
	mp := ManagementPermissions()
	if !slices.IsSorted(mp) {
		t.Error("not sorted")
	}
	for _, p := range mp {
		if strings.HasPrefix(p, "token:") || p == "proxy:invoke" || p == "reactor:invoke" {
			t.Errorf("management permissions include %s", p)
		}
		if !GrantableTo(p, TypeManagement) {
			t.Errorf("%s not grantable to management", p)
		}
	}
	for _, want := range []string{"application:create", "application:delete", "log:read", "tenant:update"} {
		if !slices.Contains(mp, want) {
			t.Errorf("lacks %s", want)
		}
	}
}
