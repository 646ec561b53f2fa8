package vault

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/strongroom/strongroom/vault/access"
	"github.com/strongroom/strongroom/vault/audit"
	"github.com/strongroom/strongroom/vault/internal/kernel"
	"github.com/strongroom/strongroom/vault/problem"
	"github.com/strongroom/strongroom/vault/store"
)

func TestCreateApplicationValidation(t *testing.T) {
	e := newEnv(t)
	name := "App"
	long := strings.Repeat("é", 201)
	max := strings.Repeat("é", 200)
	rule := func(prio int, container, tr string, perms ...string) access.Rule {
		return access.Rule{Priority: prio, Container: container, Transform: tr, Permissions: perms}
	}
	future := kernel.TimePtr(time.Now().Add(time.Hour))
	cases := []struct {
		name   string
		req    ApplicationRequest
		fields []string
	}{
		{"name missing", ApplicationRequest{Type: ptr("private"), Permissions: []string{"token:read"}}, []string{"name"}},
		{"name blank", ApplicationRequest{Name: ptr("  "), Type: ptr("private"), Permissions: []string{"token:read"}}, []string{"name"}},
		{"name too long", ApplicationRequest{Name: &long, Type: ptr("private"), Permissions: []string{"token:read"}}, []string{"name"}},
		{"type missing", ApplicationRequest{Name: &name, Permissions: []string{"token:read"}}, []string{"type"}},
		{"type invalid", ApplicationRequest{Name: &name, Type: ptr("admin"), Permissions: []string{"token:read"}}, []string{"type"}},
		{"type wrong case", ApplicationRequest{Name: &name, Type: ptr("Private"), Permissions: []string{"token:read"}}, []string{"type"}},
		{"permission for another type", ApplicationRequest{Name: &name, Type: ptr("public"), Permissions: []string{"token:pci:create", "token:pci:read:high"}}, []string{"permissions[1]"}},
		{"management permission on private", ApplicationRequest{Name: &name, Type: ptr("private"), Permissions: []string{"application:create"}}, []string{"permissions[0]"}},
		{"token permission on management", ApplicationRequest{Name: &name, Type: ptr("management"), Permissions: []string{"tenant:read", "token:read"}}, []string{"permissions[1]"}},
		{"unknown permission", ApplicationRequest{Name: &name, Type: ptr("private"), Permissions: []string{"token:pci:read:extreme"}}, []string{"permissions[0]"}},
		{"neither permissions nor rules", ApplicationRequest{Name: &name, Type: ptr("private")}, []string{"permissions"}},
		{"empty permissions", ApplicationRequest{Name: &name, Type: ptr("private"), Permissions: []string{}, Rules: []access.Rule{}}, []string{"permissions"}},
		{"rule priority", ApplicationRequest{Name: &name, Type: ptr("private"), Rules: []access.Rule{rule(0, "/", "reveal", "token:read")}}, []string{"rules[0].priority"}},
		{"rule transform", ApplicationRequest{Name: &name, Type: ptr("private"), Rules: []access.Rule{rule(1, "/", "show", "token:read")}}, []string{"rules[0].transform"}},
		{"rule no permissions", ApplicationRequest{Name: &name, Type: ptr("private"), Rules: []access.Rule{rule(1, "/", "reveal")}}, []string{"rules[0].permissions"}},
		{"rule non-token permission", ApplicationRequest{Name: &name, Type: ptr("private"), Rules: []access.Rule{rule(1, "/", "reveal", "proxy:invoke")}}, []string{"rules[0].permissions[0]"}},
		{"rule permission for another type", ApplicationRequest{Name: &name, Type: ptr("public"), Rules: []access.Rule{rule(1, "/", "mask", "token:create", "token:read")}}, []string{"rules[0].permissions[1]"}},
		{"rule container missing", ApplicationRequest{Name: &name, Type: ptr("private"), Rules: []access.Rule{rule(1, "", "reveal", "token:read")}}, []string{"rules[0].container"}},
		{"rule container shape", ApplicationRequest{Name: &name, Type: ptr("private"), Rules: []access.Rule{rule(1, "/pci", "reveal", "token:read")}}, []string{"rules[0].container"}},
		{"rule container chars", ApplicationRequest{Name: &name, Type: ptr("private"), Rules: []access.Rule{rule(1, "/pci/hi gh/", "reveal", "token:read")}}, []string{"rules[0].container"}},
		{"rule container empty segment", ApplicationRequest{Name: &name, Type: ptr("private"), Rules: []access.Rule{rule(1, "/pci//", "reveal", "token:read")}}, []string{"rules[0].container"}},
		{"second rule", ApplicationRequest{Name: &name, Type: ptr("private"), Rules: []access.Rule{rule(1, "/", "reveal", "token:read"), rule(2, "/", "reveal")}}, []string{"rules[1].permissions"}},
		{"conditions on private", ApplicationRequest{Name: &name, Type: ptr("private"), Rules: []access.Rule{{Priority: 1, Container: "/", Transform: "reveal", Permissions: []string{"token:read"}, Conditions: []access.Condition{{Attribute: "id", Operator: "equals", Value: "x"}}}}}, []string{"rules[0].conditions"}},
		{"expiring rule with container", ApplicationRequest{Name: &name, Type: ptr("expiring"), Rules: []access.Rule{{Priority: 1, Container: "/", Transform: "reveal", Permissions: []string{"token:read"}, Conditions: []access.Condition{{Attribute: "id", Operator: "equals", Value: "x"}}}}}, []string{"rules[0].container"}},
		{"expiring rule without conditions", ApplicationRequest{Name: &name, Type: ptr("expiring"), Rules: []access.Rule{{Priority: 1, Transform: "reveal", Permissions: []string{"token:read"}}}}, []string{"rules[0].conditions"}},
		{"expiring bad condition", ApplicationRequest{Name: &name, Type: ptr("expiring"), Rules: []access.Rule{{Priority: 1, Transform: "reveal", Permissions: []string{"token:read"}, Conditions: []access.Condition{{Attribute: "type", Operator: "contains", Value: "x"}}}}}, []string{"rules[0].conditions[0].attribute", "rules[0].conditions[0].operator"}},
		{"expiring too far", ApplicationRequest{Name: &name, Type: ptr("expiring"), Permissions: []string{"token:read"}, ExpiresAt: kernel.TimePtr(time.Now().Add(25 * time.Hour))}, []string{"expires_at"}},
		{"expiring in the past", ApplicationRequest{Name: &name, Type: ptr("expiring"), Permissions: []string{"token:read"}, ExpiresAt: kernel.TimePtr(time.Now().Add(-time.Minute))}, []string{"expires_at"}},
		{"expires_at on private", ApplicationRequest{Name: &name, Type: ptr("private"), Permissions: []string{"token:read"}, ExpiresAt: future}, []string{"expires_at"}},
		{"can_create_expiring on public", ApplicationRequest{Name: &name, Type: ptr("public"), Permissions: []string{"token:create"}, CanCreateExpiringApplications: ptr(true)}, []string{"can_create_expiring_applications"}},
		{"several at once", ApplicationRequest{Type: ptr("private"), Permissions: []string{"tenant:read"}}, []string{"name", "permissions[0]"}},
	}
	before := len(listApps(t, e.v, e.mgmt))
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := e.v.CreateApplication(e.mgmt, c.req)
			p := wantProblem(t, err, 400, c.fields...)
			for _, f := range c.fields {
				if len(p.Errors[f]) == 0 || p.Errors[f][0] == "" {
					t.Errorf("no message for %s", f)
				}
			}
		})
	}
	if after := len(listApps(t, e.v, e.mgmt)); after != before {
		t.Fatalf("invalid requests created %d applications", after-before)
	}

	// Valid ones.
	a, err := e.v.CreateApplication(e.mgmt, ApplicationRequest{Name: &max, Type: ptr("private"),
		Rules: []access.Rule{rule(2, "/PCI/High/", "mask", "token:read"), rule(1, "/", "redact", "token:read", "token:create")}})
	if err != nil {
		t.Fatalf("200-rune name: %v", err)
	}
	if a.Rules[0].Priority != 1 || a.Rules[1].Container != "/pci/high/" {
		t.Fatalf("rules not ordered by priority / containers not lower-cased: %+v", a.Rules)
	}
	for _, typ := range []string{"server_to_server", "elements"} {
		perm := "token:pci:create"
		if _, err := e.v.CreateApplication(e.mgmt, ApplicationRequest{Name: &name, Type: &typ, Permissions: []string{perm}}); err != nil {
			t.Errorf("%s with %s: %v", typ, perm, err)
		}
	}
	noKey, err := e.v.CreateApplication(e.mgmt, ApplicationRequest{Name: &name, Type: ptr("private"), Permissions: []string{"token:read"}, CreateKey: ptr(false)})
	if err != nil || noKey.Key != "" {
		t.Fatalf("create_key false: key %q, %v", noKey.Key, err)
	}
	if keys, _ := e.v.ListApplicationKeys(e.mgmt, noKey.ID); len(keys) != 0 {
		t.Fatalf("create_key false created %d keys", len(keys))
	}
	got, err := e.v.GetApplication(e.mgmt, a.ID)
	if err != nil || got.Key != "" || got.Name != max || len(got.Rules) != 2 {
		t.Fatalf("GetApplication = %+v, %v", got, err)
	}
}

func TestApplicationPermissionChecks(t *testing.T) {
	e := newEnv(t)
	p, _ := e.app("private", []string{"token:read"})
	name := "x"
	if _, err := e.v.CreateApplication(p, ApplicationRequest{Name: &name, Type: ptr("private"), Permissions: []string{"token:read"}}); !problem.Is(err, 403) {
		t.Fatalf("private key created an application: %v", err)
	}
	if _, err := e.v.ListApplications(p, ApplicationFilter{}, Page{Number: 1, Size: 10}); !problem.Is(err, 403) {
		t.Fatalf("private key listed applications: %v", err)
	}
	if _, err := e.v.ListLogs(p, audit.Filter{}, Page{Number: 1, Size: 10}, ""); !problem.Is(err, 403) {
		t.Fatalf("private key read logs: %v", err)
	}
	ro, _ := e.app("management", []string{"application:read"})
	if err := e.v.DeleteApplication(ro, e.mgmt.ApplicationID); !problem.Is(err, 403) {
		t.Fatalf("read-only management key deleted an application: %v", err)
	}
	if _, err := e.v.GetApplicationByKey(ro); err != nil {
		t.Fatalf("GetApplicationByKey: %v", err)
	}
}

func TestUpdateApplication(t *testing.T) {
	e := newEnv(t)
	p, a := e.app("private", []string{"token:pci:read:low"})
	if _, ok := p.TokenTransform("token:read", access.TokenRef{Container: "/pci/high/"}); !ok {
		t.Fatal("setup")
	}
	name := "renamed"
	if _, err := e.v.UpdateApplication(e.mgmt, a.ID, ApplicationRequest{Name: &name, Type: ptr("public"), Permissions: []string{"token:create"}}); !problem.Is(err, 400) {
		t.Fatalf("type change accepted: %v", err)
	}
	_, err := e.v.UpdateApplication(e.mgmt, a.ID, ApplicationRequest{Name: &name, Permissions: []string{"tenant:read"}})
	wantProblem(t, err, 400, "permissions[0]")
	up, err := e.v.UpdateApplication(e.mgmt, a.ID, ApplicationRequest{Name: &name, Permissions: []string{"token:bank:read:high"}})
	if err != nil || up.Name != "renamed" || up.ModifiedAt == nil || up.ModifiedBy != e.mgmt.ApplicationID {
		t.Fatalf("update = %+v, %v", up, err)
	}
	// The same key now carries the new permissions at once.
	p2 := e.auth(a.Key)
	if _, ok := p2.TokenTransform("token:read", access.TokenRef{Container: "/pci/low/"}); ok {
		t.Error("old permission still granted after update")
	}
	if tr, _ := p2.TokenTransform("token:read", access.TokenRef{Container: "/bank/high/"}); tr != access.Reveal {
		t.Error("new permission not granted after update")
	}
	if _, err := e.v.UpdateApplication(e.mgmt, "no-such-app", ApplicationRequest{Name: &name, Permissions: []string{"token:read"}}); !problem.Is(err, 404) {
		t.Fatalf("update of unknown app: %v", err)
	}
}

func wantUnauthorized(t *testing.T, v *Vault, key, why string) {
	t.Helper()
	if p, err := v.Authenticate(key); !problem.Is(err, 401) {
		t.Fatalf("%s: Authenticate = %v, %v; want 401", why, p, err)
	}
}

func TestApplicationKeys(t *testing.T) {
	e := newEnv(t)
	_, a := e.app("private", []string{"token:read"})
	k1 := a.Key
	e.auth(k1) // now cached
	k2, err := e.v.CreateApplicationKey(e.mgmt, a.ID)
	if err != nil || k2.Key == "" || k2.Key == k1 {
		t.Fatalf("CreateApplicationKey = %+v, %v", k2, err)
	}
	p2 := e.auth(k2.Key)
	if p2.ApplicationID != a.ID || p2.KeyID != k2.ID {
		t.Fatalf("second key principal %+v", p2)
	}
	keys, err := e.v.ListApplicationKeys(e.mgmt, a.ID)
	if err != nil || len(keys) != 2 {
		t.Fatalf("ListApplicationKeys = %v, %v", keys, err)
	}
	for _, k := range keys {
		if k.Key != "" {
			t.Fatal("key list reveals a secret")
		}
	}
	got, err := e.v.GetApplicationKey(e.mgmt, a.ID, k2.ID)
	if err != nil || got.ID != k2.ID || got.Key != "" {
		t.Fatalf("GetApplicationKey = %+v, %v", got, err)
	}
	p1 := e.auth(k1)
	// Deleting one key revokes it at once; the other keeps working.
	if err := e.v.DeleteApplicationKey(e.mgmt, a.ID, p1.KeyID); err != nil {
		t.Fatal(err)
	}
	wantUnauthorized(t, e.v, k1, "deleted key")
	e.auth(k2.Key)
	if _, err := e.v.GetApplicationKey(e.mgmt, a.ID, p1.KeyID); !problem.Is(err, 404) {
		t.Fatalf("deleted key still listed: %v", err)
	}
	if err := e.v.DeleteApplicationKey(e.mgmt, a.ID, p1.KeyID); !problem.Is(err, 404) {
		t.Fatalf("second delete: %v", err)
	}
	// Regenerate replaces every key.
	k3, _ := e.v.CreateApplicationKey(e.mgmt, a.ID)
	e.auth(k3.Key)
	re, err := e.v.RegenerateKey(e.mgmt, a.ID)
	if err != nil || re.Key == "" {
		t.Fatalf("RegenerateKey = %+v, %v", re, err)
	}
	wantUnauthorized(t, e.v, k2.Key, "key before regenerate")
	wantUnauthorized(t, e.v, k3.Key, "key before regenerate")
	e.auth(re.Key)
	if keys, _ := e.v.ListApplicationKeys(e.mgmt, a.ID); len(keys) != 1 {
		t.Fatalf("%d keys after regenerate", len(keys))
	}
	stored, _ := e.v.GetApplication(e.mgmt, a.ID)
	if stored.Key != "" {
		t.Fatal("regenerated key stored on the application")
	}
	// Deleting the application revokes its keys.
	k4, _ := e.v.CreateApplicationKey(e.mgmt, a.ID)
	e.auth(k4.Key)
	if err := e.v.DeleteApplication(e.mgmt, a.ID); err != nil {
		t.Fatal(err)
	}
	wantUnauthorized(t, e.v, re.Key, "key of deleted application")
	wantUnauthorized(t, e.v, k4.Key, "key of deleted application")
	if _, err := e.v.GetApplication(e.mgmt, a.ID); !problem.Is(err, 404) {
		t.Fatalf("deleted application: %v", err)
	}
	// No key record or hash index survives.
	for _, pfx := range [][]byte{store.Prefix("akey", a.TenantID, a.ID), store.Prefix("app", a.TenantID, a.ID)} {
		e.v.Store().Scan(pfx, nil, func(k, _ []byte) bool { t.Errorf("left behind: %q", k); return true })
	}
	wantUnauthorized(t, e.v, "", "empty key")
	wantUnauthorized(t, e.v, "key_unknown", "unknown key")
	// Revocation survives a restart.
	e.reopen()
	wantUnauthorized(t, e.v, k1, "deleted key after restart")
	wantUnauthorized(t, e.v, re.Key, "deleted app key after restart")
}

func TestKeysOfAnotherTenant(t *testing.T) {
	e := newEnv(t)
	_, a := e.app("private", []string{"token:read"})
	_, bApp, err := e.v.CreateTenant("Tenant B", TenantProduction)
	if err != nil {
		t.Fatal(err)
	}
	mgmtB := e.auth(bApp.Key)
	if _, err := e.v.GetApplication(mgmtB, a.ID); !problem.Is(err, 404) {
		t.Fatalf("tenant B read tenant A's application: %v", err)
	}
	if _, err := e.v.CreateApplicationKey(mgmtB, a.ID); !problem.Is(err, 404) {
		t.Fatalf("tenant B added a key to tenant A's application: %v", err)
	}
	if err := e.v.DeleteApplication(mgmtB, a.ID); !problem.Is(err, 404) {
		t.Fatalf("tenant B deleted tenant A's application: %v", err)
	}
	if n := len(listApps(t, e.v, mgmtB)); n != 1 {
		t.Fatalf("tenant B sees %d applications", n)
	}
	e.auth(a.Key)
}

func TestExpiringApplication(t *testing.T) {
	e := newEnv(t)
	t0 := time.Date(2030, 1, 1, 10, 0, 0, 0, time.UTC)
	move := setClock(t, t0)
	name := "session"
	a, err := e.v.CreateApplication(e.mgmt, ApplicationRequest{Name: &name, Type: ptr("expiring"),
		Rules: []access.Rule{{Priority: 1, Transform: "reveal", Permissions: []string{"token:read"},
			Conditions: []access.Condition{{Attribute: "id", Operator: "equals", Value: "tok-1"}}}},
		ExpiresAt: kernel.TimePtr(t0.Add(time.Hour))})
	if err != nil {
		t.Fatal(err)
	}
	p := e.auth(a.Key)
	if _, ok := p.TokenTransform("token:read", access.TokenRef{ID: "tok-1", Container: "/pci/high/"}); !ok {
		t.Fatal("condition on id not honoured")
	}
	if _, ok := p.TokenTransform("token:read", access.TokenRef{ID: "tok-2", Container: "/pci/high/"}); ok {
		t.Fatal("expiring key reads another token")
	}
	// Default lifetime when expires_at is omitted.
	b, err := e.v.CreateApplication(e.mgmt, ApplicationRequest{Name: &name, Type: ptr("expiring"), Permissions: []string{"token:read"}})
	if err != nil || b.ExpiresAt == nil || !b.ExpiresAt.After(t0) || b.ExpiresAt.Sub(t0) > 24*time.Hour {
		t.Fatalf("default expires_at = %v, %v", b.ExpiresAt, err)
	}
	move(t0.Add(59 * time.Minute))
	e.auth(a.Key)
	move(t0.Add(time.Hour))
	wantUnauthorized(t, e.v, a.Key, "expired application (cached key)")
	if _, err := e.v.GetApplication(e.mgmt, a.ID); !problem.Is(err, 404) {
		t.Fatalf("expired application readable: %v", err)
	}
	for _, app := range listApps(t, e.v, e.mgmt) {
		if app.ID == a.ID {
			t.Fatal("expired application listed")
		}
	}
	// Sweep purges the record and the keys.
	if _, err := e.v.Store().Get(kernel.AppRecordKey(a.TenantID, a.ID)); err != nil {
		t.Fatalf("record gone before Sweep: %v", err)
	}
	if err := e.v.Sweep(); err != nil {
		t.Fatal(err)
	}
	if _, err := e.v.Store().Get(kernel.AppRecordKey(a.TenantID, a.ID)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("expired application not purged: %v", err)
	}
	e.v.Store().Scan(store.Prefix("akey", a.TenantID, a.ID), nil, func(k, _ []byte) bool {
		t.Errorf("key record of purged application left: %q", k)
		return true
	})
	move(t0)
	wantUnauthorized(t, e.v, a.Key, "purged application with the clock turned back")
}
