package test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/strongroom/strongroom/test/harness"
	"github.com/strongroom/strongroom/vault"
	"github.com/strongroom/strongroom/vault/egress"
	"github.com/strongroom/strongroom/vault/keywrap"
	"github.com/strongroom/strongroom/vault/store"
)

func tenantKeyStatus(t *testing.T, s *harness.Server, tenantID string) vault.TenantKeyStatus {
	return adminGet[vault.TenantKeyStatus](t, s, "/vault/keys/tenants/"+tenantID)
}

// TestTenantKeyRotationReencryptKill9: a tenant key rotation with
// re-encryption is killed -9 mid-job; after a restart every token reads,
// the job resumes from its stored cursor and moves every token to the new
// version (checked in the store), and both steps are in the audit log.
func TestTenantKeyRotationReencryptKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test")
	}
	dir, mgmt := t.TempDir(), harness.NewKey()
	// bulkLoad (bench_tokens_test.go) generates the default key file.
	bulkKey, sample := bulkLoad(t, dir, mgmt, 4000)
	keyFile := filepath.Join(dir, "master.key")
	opts := harness.Options{DataDir: dir, ManagementKey: mgmt, Caddyfile: keysCaddyfile(localWrapper(keyFile))}
	s := harness.Start(t, opts)
	tenantID := s.JSON(t, "GET", "/tenants/self", mgmt, nil, http.StatusOK)["id"].(string)
	key := tokenKey(t, s)
	tokens := writeEveryType(t, s, key)
	checkSample := func(what string) {
		t.Helper()
		for _, id := range sample {
			if got := s.JSON(t, "GET", "/tokens/"+id, bulkKey, nil, http.StatusOK); !strings.HasPrefix(fmt.Sprint(got["data"]), "value-") {
				t.Errorf("%s: bulk token %s reads %v", what, id, got["data"])
			}
		}
	}

	killMidway(t, s, func() string {
		out, errOut, _ := cli(t, t.TempDir(), nil, "tenant-key", "rotate", "--reencrypt", "--batch", "20", "--tenant", tenantID, "--address", s.AdminAddr)
		return out + errOut
	}, func() (bool, string) {
		st := tenantKeyStatus(t, s, tenantID)
		// Pebble makes a batch visible before its WAL write is done, so a
		// job record seen here may still be lost to kill -9. Batches run one
		// after another: seeing the second one means the first was
		// acknowledged, so a restart must find the job.
		p := st.Reencrypt
		return p != nil && p.Resealed > 20 && !p.Finished, fmt.Sprintf("%+v", st)
	})
	s = harness.Start(t, opts)
	st := tenantKeyStatus(t, s, tenantID)
	if st.Current != 2 || st.Reencrypt == nil || st.Reencrypt.Finished {
		t.Fatalf("status after kill -9: %+v", st)
	}
	t.Logf("killed after %d tokens re-encrypted", st.Reencrypt.Resealed)
	checkTokens(t, "after kill -9 mid re-encryption", s, key, tokens)
	checkSample("after kill -9 mid re-encryption")
	out, errOut, ok := cli(t, t.TempDir(), nil, "tenant-key", "reencrypt", "--tenant", tenantID, "--address", s.AdminAddr)
	if !ok || !strings.Contains(out, "finished") {
		t.Fatalf("resume the job: %s %s", out, errOut)
	}
	logs := s.JSON(t, "GET", "/logs?size=100&entity_type=tenant", s.ManagementKey, nil, http.StatusOK)
	for _, msg := range []string{"Tenant key rotated to version 2", "re-encrypted under tenant key version 2"} {
		if !strings.Contains(js(logs), msg) {
			t.Errorf("the audit log lacks %q", msg)
		}
	}
	s.Stop(t)

	c, err := vault.Open(vault.Options{DataDir: dir, KeyWrapper: &keywrap.Local{KeyFile: keyFile}})
	if err != nil {
		t.Fatal(err)
	}
	v := c.Bind(nil, egress.Policy{}, vault.Settings{})
	old := 0
	v.Store().Scan(store.Prefix("tok", tenantID), nil, func(_, val []byte) bool {
		var r struct {
			Data struct {
				V int `json:"v"`
			} `json:"data"`
		}
		if json.Unmarshal(val, &r) != nil || r.Data.V != 2 {
			old++
		}
		return true
	})
	v.Close()
	if old > 0 || st.Reencrypt.Resealed == 0 {
		t.Errorf("%d token records are not under tenant key version 2", old)
	}
	s = harness.Start(t, opts)
	checkTokens(t, "after re-encryption", s, key, tokens)
	checkSample("after re-encryption")
}
