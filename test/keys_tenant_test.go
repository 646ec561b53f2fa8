package test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strongroom/strongroom/test/harness"
	"github.com/strongroom/strongroom/vault"
	"github.com/strongroom/strongroom/vault/keywrap"
	"github.com/strongroom/strongroom/vault/store"
)

// bulkTokens creates n tokens in the management key's tenant directly
// through the vault package on a stopped server's data directory (the
// API would cost a request and an fsync each); it returns id → data JSON
// and the tenant id.
func bulkTokens(t *testing.T, dir, mgmt string, w keywrap.Wrapper, n int) (map[string]string, string) {
	t.Helper()
	v, err := vault.Open(vault.Options{DataDir: dir, KeyWrapper: w, ManagementKey: mgmt})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	admin, err := v.Authenticate(mgmt)
	if err != nil {
		t.Fatal(err)
	}
	name, typ := "bulk", "server_to_server"
	app, err := v.CreateApplication(admin, vault.ApplicationRequest{Name: &name, Type: &typ, Permissions: []string{"token:general:create"}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := v.Authenticate(app.Key)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	const workers = 16
	for g := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < n; i += workers {
				data := fmt.Sprintf(`"bulk-%d"`, i)
				tt := "token"
				tok, err := v.CreateToken(p, vault.TokenRequest{Type: &tt, Data: json.RawMessage(data)})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				out[tok.ID] = data
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return out, p.TenantID
}

func tenantKeyStatus(t *testing.T, s *harness.Server, tenantID string) vault.TenantKeyStatus {
	t.Helper()
	resp, err := http.Get("http://" + s.AdminAddr + "/vault/keys/tenants/" + tenantID)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st vault.TenantKeyStatus
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("tenant key status: %d %v", resp.StatusCode, err)
	}
	return st
}

// TestTenantKeyRotationReencryptKill9: a tenant key rotation with
// re-encryption is killed -9 mid-job; after a restart every token reads,
// the job resumes from its stored cursor and moves every token to the new
// version (checked in the store), and both steps are in the audit log.
func TestTenantKeyRotationReencryptKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test")
	}
	dir, kd := t.TempDir(), t.TempDir()
	keyFile := newKeyFile(t, kd, "master.key")
	mgmt := harness.NewKey()
	const bulk = 4000
	tokens, tenantID := bulkTokens(t, dir, mgmt, &keywrap.Local{KeyFile: keyFile}, bulk)
	opts := harness.Options{DataDir: dir, ManagementKey: mgmt, Caddyfile: keysCaddyfile(localWrapper(keyFile))}
	s := harness.Start(t, opts)
	key := tokenKey(t, s)
	for id, data := range writeEveryType(t, s, key) {
		tokens[id] = data
	}

	done := make(chan string, 1)
	go func() {
		out, errOut, _ := cli(t, t.TempDir(), nil, "tenant-key", "rotate", "--reencrypt", "--batch", "20", "--tenant", tenantID, "--address", s.AdminAddr)
		done <- out + errOut
	}()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		st := tenantKeyStatus(t, s, tenantID)
		if p := st.Reencrypt; p != nil && p.Resealed > 0 && !p.Finished {
			s.Kill(t)
			break
		}
		select {
		case out := <-done:
			t.Fatalf("the job finished before it was seen half way (%+v): %s", st, out)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no re-encryption progress seen: %+v", st)
		}
		time.Sleep(5 * time.Millisecond)
	}
	<-done
	s = harness.Start(t, opts)
	st := tenantKeyStatus(t, s, tenantID)
	if st.Current != 2 || st.Reencrypt == nil || st.Reencrypt.Finished {
		t.Fatalf("status after kill -9: %+v", st)
	}
	t.Logf("killed after %d of %d tokens re-encrypted", st.Reencrypt.Resealed, len(tokens))
	checkTokens(t, "after kill -9 mid re-encryption", s, key, tokens)
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

	v, err := vault.Open(vault.Options{DataDir: dir, KeyWrapper: &keywrap.Local{KeyFile: keyFile}})
	if err != nil {
		t.Fatal(err)
	}
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
	if old > 0 {
		t.Errorf("%d token records are not under tenant key version 2", old)
	}
	s = harness.Start(t, opts)
	checkTokens(t, "after re-encryption", s, key, tokens)
}
