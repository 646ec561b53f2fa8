package test

import (
	"encoding/json"
	"net/http"
	"os/exec"
	"strings"
	"testing"

	"github.com/strongroom/strongroom/test/harness"
)

// TestProjectIDsPerTenant: project ids are unique per tenant, so a tenant
// learns nothing of another's ids (the same id is created, not a 409), and a
// JWT for /projects/{id} reaches the tenant whose key of that project signed
// it, never the other tenant holding the same id.
func TestProjectIDsPerTenant(t *testing.T) {
	t.Parallel()
	s := start(t)
	otherKey := otherTenant(t, s)
	projA := s.JSON(t, "POST", "/projects", s.ManagementKey, map[string]any{"id": "shared"}, http.StatusCreated)
	projB := s.JSON(t, "POST", "/projects", otherKey, map[string]any{"id": "shared"}, http.StatusCreated)
	if projA["tenant_id"] == projB["tenant_id"] {
		t.Fatalf("both projects in one tenant: %v %v", projA, projB)
	}
	st, hdr, body := s.Do(t, "POST", "/projects", otherKey, map[string]any{"id": "shared"})
	checkProblem(t, "duplicate id within the tenant", st, hdr, body, http.StatusConflict)
	if got := s.JSON(t, "GET", "/projects/shared", otherKey, nil, http.StatusOK); got["tenant_id"] != projB["tenant_id"] {
		t.Fatalf("tenant B reads %v", got)
	}

	// Each tenant's key of "shared", under the same kid.
	genKey := func(apiKey string) string {
		keys := s.JSONValue(t, "POST", "/projects/shared/keys", apiKey, map[string]any{"kid": "k", "generate": true}, http.StatusCreated).([]any)
		return keys[0].(map[string]any)["private_key"].(string)
	}
	tokA := pjMint(pjParsePrivate(t, genKey(s.ManagementKey)), pjHeader("k"), pjClaims("user-1", "shared", "private"))
	tokB := pjMint(pjParsePrivate(t, genKey(otherKey)), pjHeader("k"), pjClaims("user-1", "shared", "private"))

	// A public key belongs to one tenant: B cannot register A's (it would
	// make A's tokens ambiguous).
	keysA := s.JSONValue(t, "GET", "/projects/shared/keys", s.ManagementKey, nil, http.StatusOK).([]any)
	pubA := keysA[0].(map[string]any)["public_key"].(string)
	st, hdr, body = s.Do(t, "POST", "/projects/shared/keys", otherKey, map[string]any{"kid": "copy", "public_key": pubA})
	checkProblem(t, "tenant B registers tenant A's public key", st, hdr, body, http.StatusConflict)
	if strings.Contains(string(body), projA["tenant_id"].(string)) {
		t.Errorf("the refusal names the other tenant: %s", body)
	}

	// The CLI names the tenant when two hold the id.
	cmd := exec.Command(harness.Binary(t), "vault", "project", "key", "list", "--project", "shared",
		"--data-dir", s.DataDir, "--address", s.AdminAddr)
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "--tenant") {
		t.Errorf("project key list of an id two tenants hold: %v: %s", err, out)
	}
	out, _ := pjCLI(t, s, "project", "key", "list", "--project", "shared", "--tenant", projB["tenant_id"].(string))
	if !strings.HasPrefix(out, "k\t") || strings.Count(out, "\n") != 1 {
		t.Errorf("tenant B's keys of shared: %q", out)
	}

	const pmPath = "/projects/shared/payment-methods"
	st, _, body = pjDo(t, s, "POST", pmPath, tokA, map[string]any{"entityId": "user-1",
		"card": map[string]any{"number": "4242424242424242", "expirationMonth": "02", "expirationYear": "2030"}})
	if st != http.StatusCreated {
		t.Fatalf("tenant A's JWT creates: %d %s", st, body)
	}
	var pm struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(body, &pm); err != nil || pm.ID == "" {
		t.Fatalf("created: %s", body)
	}
	if st, _, body := pjDo(t, s, "GET", pmPath+"/"+pm.ID, tokA, nil); st != http.StatusOK {
		t.Fatalf("tenant A's JWT reads its payment method: %d %s", st, body)
	}
	st, _, body = pjDo(t, s, "GET", pmPath+"/"+pm.ID, tokB, nil)
	pjError(t, "tenant B's JWT (same project id, kid and subject) reads A's payment method", st, body, http.StatusNotFound, "not_found")

	// Deleting B's project leaves A's, and its tokens, untouched.
	if st, _, body := s.Do(t, "DELETE", "/projects/shared", otherKey, nil); st != http.StatusNoContent {
		t.Fatalf("delete B's project: %d %s", st, body)
	}
	st, _, body = pjDo(t, s, "GET", pmPath, tokB, nil)
	pjError(t, "tenant B's JWT after B deleted its project", st, body, http.StatusUnauthorized, "unauthorized")
	if st, _, body := pjDo(t, s, "GET", pmPath+"/"+pm.ID, tokA, nil); st != http.StatusOK {
		t.Fatalf("tenant A's JWT after B deleted its project: %d %s", st, body)
	}
}
