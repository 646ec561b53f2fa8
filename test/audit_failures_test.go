package test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/strongroom/strongroom/test/harness"
)

// refusals returns the tenant's audit entries of entityType (GET /logs).
func refusals(t *testing.T, s *harness.Server, key, entityType string) []map[string]any {
	t.Helper()
	var out []map[string]any
	deadline := time.Now().Add(5 * time.Second) // refusals are written by the background audit writer
	for {
		out = out[:0]
		page := s.JSON(t, "GET", "/logs?size=100&entity_type="+entityType, key, nil, http.StatusOK)
		for _, e := range page["data"].([]any) {
			out = append(out, e.(map[string]any))
		}
		if len(out) > 0 || time.Now().After(deadline) {
			return out
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// exportAudit runs `vault audit export` against s and returns its entries.
func exportAudit(t *testing.T, s *harness.Server, args ...string) (entries []map[string]any, raw string) {
	t.Helper()
	out, errOut, ok := cli(t, t.TempDir(), nil, append([]string{"audit", "export", "--address", s.AdminAddr}, args...)...)
	if !ok {
		t.Fatalf("audit export %v: %s", args, errOut)
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		var e map[string]any
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("audit export: not NDJSON (%v): %q", err, line)
		}
		entries = append(entries, e)
	}
	return entries, out
}

// checkRefusal asserts e is a refusal entry from the loopback client that
// holds no part of the presented credential.
func checkRefusal(t *testing.T, what string, e map[string]any, credential string) {
	t.Helper()
	if e["operation"] != "refused" {
		t.Errorf("%s: operation %v: %s", what, e["operation"], js(e))
	}
	if ra, _ := e["remote_address"].(string); ra != "127.0.0.1" && ra != "::1" {
		t.Errorf("%s: remote_address %q, want the loopback client: %s", what, ra, js(e))
	}
	noCredential(t, what, js(e), credential)
}

// noCredential asserts text holds no 8-character piece of credential.
func noCredential(t *testing.T, what, text, credential string) {
	t.Helper()
	for i := 0; i+8 <= len(credential); i += 4 {
		if piece := credential[i : i+8]; strings.Contains(text, piece) {
			t.Errorf("%s: the audit entry holds part of the credential (%q): %s", what, piece, text)
			return
		}
	}
}

// Failed authentication (unknown key, expired application, bad JWT) and
// denied permission checks are audit entries with the remote address and
// no part of the credential: in the tenant's GET /logs when the failure
// names a tenant, else in the vault log (`vault audit export --tenant vault`).
func TestAuditOfFailures(t *testing.T) {
	t.Parallel()
	s := start(t)
	mgmt := s.ManagementKey

	// Expired application first: the sweep of expired applications runs
	// every 30 s after start and would delete it (its key then is unknown).
	exp := createApp(t, s, map[string]any{"name": "Short-lived", "type": "expiring", "permissions": []string{"token:read"},
		"expires_at": time.Now().Add(1500 * time.Millisecond).UTC().Format(time.RFC3339Nano)})
	expKey := exp["key"].(string)
	mustStatus(t, "expiring key before expiry", status(t, s, "GET", "/tokens", expKey), http.StatusOK)
	time.Sleep(1700 * time.Millisecond)
	mustStatus(t, "expired key", status(t, s, "GET", "/tokens", expKey), http.StatusUnauthorized)

	unknown := "key_" + strings.Repeat("Zq9", 10)
	mustStatus(t, "unknown key", status(t, s, "GET", "/tokens", unknown), http.StatusUnauthorized)

	readerID, reader := privateApp(t, s, "reader")
	st, hdr, b := s.Do(t, "POST", "/tokens", reader, map[string]any{"type": "token", "data": "x"})
	checkProblem(t, "create without token:create", st, hdr, b, http.StatusForbidden)
	req, _ := harness.NewRequest("POST", s.BaseURL+"/proxy", reader, "{}")
	req.Header.Set("BT-PROXY-URL", "https://example.com/")
	if st, _, _ := s.Send(t, req); st != http.StatusForbidden {
		t.Errorf("proxy without proxy:invoke: %d, want 403", st)
	}

	project := s.JSON(t, "POST", "/projects", mgmt, map[string]any{"id": "project-audit1", "name": "Audit"}, http.StatusCreated)
	badJWT := "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJ1c2VyLTEyMzQ1In0.c2lnbmF0dXJlLWJ5dGVz"
	for _, p := range []string{"project-audit1", "project-unknown9"} {
		req, _ := harness.NewRequest("GET", s.BaseURL+"/projects/"+p+"/payment-methods", "", nil)
		req.Header.Set("Authorization", "Bearer "+badJWT)
		if st, _, _ := s.Send(t, req); st != http.StatusUnauthorized {
			t.Errorf("bad JWT on %s: %d, want 401", p, st)
		}
	}

	t.Run("tenant log", func(t *testing.T) {
		auth := refusals(t, s, mgmt, "authentication")
		var sawExpired, sawJWT bool
		for _, e := range auth {
			switch {
			case e["actor_id"] == exp["id"]:
				sawExpired = true
				checkRefusal(t, "expired application", e, expKey)
				if !strings.Contains(e["message"].(string), "expired") || e["entity_id"] != exp["id"] {
					t.Errorf("expired application entry: %s", js(e))
				}
			case e["entity_id"] == project["id"]:
				sawJWT = true
				checkRefusal(t, "bad JWT", e, badJWT)
			case strings.Contains(js(e), "unknown API key"):
				t.Errorf("an unknown key is attributed to a tenant: %s", js(e))
			}
		}
		if !sawExpired || !sawJWT {
			t.Errorf("authentication failures in GET /logs: expired=%v jwt=%v; entries %s", sawExpired, sawJWT, js(auth))
		}
		denied := refusals(t, s, mgmt, "permission")
		var sawCreate, sawProxy bool
		for _, e := range denied {
			checkRefusal(t, "denied permission", e, reader)
			if e["actor_id"] != readerID || e["actor_type"] != "application" {
				t.Errorf("a denial does not name the refused application %s: %s", readerID, js(e))
			}
			sawCreate = sawCreate || strings.Contains(e["message"].(string), "POST /tokens")
			sawProxy = sawProxy || strings.Contains(e["message"].(string), "POST /proxy")
		}
		if !sawCreate || !sawProxy {
			t.Errorf("denied permission checks in GET /logs: create=%v proxy=%v; entries %s", sawCreate, sawProxy, js(denied))
		}
	})

	t.Run("vault log", func(t *testing.T) {
		entries, raw := exportAudit(t, s, "--tenant", "vault")
		var sawKey, sawProject bool
		for _, e := range entries {
			if e["tenant_id"] != "" {
				t.Errorf("a vault-log entry names a tenant: %s", js(e))
			}
			msg, _ := e["message"].(string)
			sawKey = sawKey || strings.Contains(msg, "unknown API key")
			sawProject = sawProject || e["entity_id"] == "project-unknown9"
			checkRefusal(t, "vault log", e, "")
		}
		if !sawKey || !sawProject {
			t.Errorf("vault log: unknown key=%v, unknown project=%v:\n%s", sawKey, sawProject, raw)
		}
		noCredential(t, "vault log", raw, unknown)
		noCredential(t, "vault log", raw, badJWT)
	})

	t.Run("export since", func(t *testing.T) {
		all, _ := exportAudit(t, s)
		if len(all) < 8 {
			t.Fatalf("export of every log: only %d entries", len(all))
		}
		cut := time.Now().UTC()
		time.Sleep(10 * time.Millisecond)
		mustStatus(t, "unknown key after cut", status(t, s, "GET", "/tokens", unknown), http.StatusUnauthorized)
		time.Sleep(200 * time.Millisecond)
		later, raw := exportAudit(t, s, "--since", cut.Format(time.RFC3339Nano))
		if len(later) != 1 || !strings.Contains(js(later[0]), "unknown API key") {
			t.Errorf("export --since %s: want the one later refusal, got:\n%s", cut.Format(time.RFC3339Nano), raw)
		}
		if _, errOut, ok := cli(t, t.TempDir(), nil, "audit", "export", "--address", s.AdminAddr, "--since", "yesterday"); ok || !strings.Contains(errOut, "--since") {
			t.Errorf("a malformed --since: ok=%v %q", ok, errOut)
		}
	})
}

// The audit log of a deleted tenant is kept (with an entry of the
// deletion) for the retention, readable by the operator's export.
func TestAuditOfDeletedTenantKept(t *testing.T) {
	t.Parallel()
	s := start(t)
	out, errOut, ok := cli(t, t.TempDir(), nil, "tenant", "create", "--name", "Leaving", "--address", s.AdminAddr)
	if !ok {
		t.Fatalf("tenant create: %s", errOut)
	}
	var tenantID, key string
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "tenant:" {
			tenantID = f[1]
		}
		if len(f) >= 3 && f[0] == "management" {
			key = f[2]
		}
	}
	if tenantID == "" || key == "" {
		t.Fatalf("tenant create printed no tenant or key: %q", out)
	}
	app := s.JSON(t, "POST", "/applications", key, map[string]any{"name": "Before", "type": "private", "permissions": []string{"token:read"}}, http.StatusCreated)
	mustStatus(t, "DELETE /tenants/self", status(t, s, "DELETE", "/tenants/self", key), http.StatusNoContent)
	mustStatus(t, "the deleted tenant's key", status(t, s, "GET", "/logs", key), http.StatusUnauthorized)

	entries, raw := exportAudit(t, s, "--tenant", tenantID)
	var created, deleted bool
	for _, e := range entries {
		if e["tenant_id"] != tenantID {
			t.Errorf("export --tenant %s holds another log's entry: %s", tenantID, js(e))
		}
		created = created || (e["entity_id"] == app["id"] && e["operation"] == "create")
		deleted = deleted || (e["entity_type"] == "tenant" && e["operation"] == "delete")
	}
	if !created || !deleted {
		t.Errorf("the deleted tenant's log: application create kept=%v, deletion recorded=%v:\n%s", created, deleted, raw)
	}
}
