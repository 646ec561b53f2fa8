package vault

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func exportLines(t *testing.T, v *Vault, tenant string) []string {
	t.Helper()
	var buf bytes.Buffer
	if err := v.ExportAudit(&buf, tenant, time.Time{}); err != nil {
		t.Fatalf("ExportAudit: %v", err)
	}
	var out []string
	for _, l := range strings.Split(buf.String(), "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

func waitAudit(v *Vault) {
	// The refusals go through the background writer: a synced commit after
	// it drained makes them visible.
	for v.PendingAudits() > 0 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
}

// A deleted tenant's audit log is kept for the retention, then erased by
// Sweep; vault-log entries older than the retention are erased too.
func TestAuditRetention(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	move := setClock(t, t0)
	e := newEnv(t)
	v := e.v
	tn, _, err := v.CreateTenant("Leaving", TenantTest)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.AuthenticateFrom("key_unknown", Origin{Remote: "127.0.0.1", Request: "GET /tokens"}); err == nil {
		t.Fatal("an unknown key authenticated")
	}
	waitAudit(v)
	if err := v.deleteTenant(tn.ID); err != nil {
		t.Fatal(err)
	}
	if n := len(exportLines(t, v, tn.ID)); n == 0 {
		t.Fatal("the deleted tenant's log was erased at once")
	}
	if n := len(exportLines(t, v, "vault")); n == 0 {
		t.Fatal("no vault-log entry for the unknown key")
	}

	move(t0.Add(DefaultAuditRetention - time.Hour))
	if err := v.Sweep(); err != nil {
		t.Fatal(err)
	}
	if len(exportLines(t, v, tn.ID)) == 0 || len(exportLines(t, v, "vault")) == 0 {
		t.Fatal("entries erased before the retention passed")
	}
	move(t0.Add(DefaultAuditRetention + time.Hour))
	if err := v.Sweep(); err != nil {
		t.Fatal(err)
	}
	if n := len(exportLines(t, v, tn.ID)); n != 0 {
		t.Errorf("%d entries of the deleted tenant kept past the retention", n)
	}
	if n := len(exportLines(t, v, "vault")); n != 0 {
		t.Errorf("%d vault-log entries kept past the retention", n)
	}
	// The live tenant's log is untouched.
	if len(exportLines(t, v, e.mgmt.TenantID)) == 0 {
		t.Error("Sweep erased a live tenant's log")
	}
}

// With the retention off, a tenant's log goes with the tenant.
func TestAuditRetentionOff(t *testing.T) {
	v, err := openView(Options{DataDir: t.TempDir(), MasterKey: testMaster}, Settings{AuditRetention: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	tn, _, err := v.CreateTenant("Leaving", TenantTest)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.deleteTenant(tn.ID); err != nil {
		t.Fatal(err)
	}
	if n := len(exportLines(t, v, tn.ID)); n != 0 {
		t.Errorf("%d entries kept with the retention off", n)
	}
}
