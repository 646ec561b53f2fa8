package test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/strongroom/strongroom/test/harness"
)

// adminPost sends POST path to an admin endpoint reached through dial.
func adminPost(t *testing.T, dial func(ctx context.Context, _, _ string) (net.Conn, error), host, path string) (int, []byte) {
	t.Helper()
	c := &http.Client{Transport: &http.Transport{DialContext: dial}}
	resp, err := c.Post("http://"+host+path, "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// TestAdminRoutesTrustBoundary: the vault's admin routes (no API key: the
// caller is the operator) answer only on a loopback or 0600 unix-socket
// admin endpoint, and every key minted there is in the tenant's audit log.
func TestAdminRoutesTrustBoundary(t *testing.T) {
	t.Parallel()
	tcp := func(ctx context.Context, network, addr string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
	t.Run("loopback", func(t *testing.T) {
		t.Parallel()
		s := start(t)
		tenantID := self(t, s)["tenant_id"].(string)
		st, b := adminPost(t, tcp, s.AdminAddr, "/vault/tenants/"+tenantID+"/keys")
		if st != http.StatusOK {
			t.Fatalf("mint on loopback admin: %d %s", st, b)
		}
		var minted struct {
			ManagementKey string `json:"management_key"`
		}
		json.Unmarshal(b, &minted)
		if minted.ManagementKey == "" {
			t.Fatalf("no key minted: %s", b)
		}
		logs := s.JSON(t, "GET", "/logs?size=100", s.ManagementKey, nil, http.StatusOK)
		found := false
		for _, e := range logs["data"].([]any) {
			m := e.(map[string]any)
			if m["entity_type"] == "key" && m["operation"] == "create" && strings.Contains(fmt.Sprint(m["message"]), "operator") {
				found = true
			}
			if strings.Contains(js(m), minted.ManagementKey) {
				t.Errorf("the audit log holds the minted key: %s", js(m))
			}
		}
		if !found {
			t.Errorf("no audit entry for the key minted on the admin endpoint: %s", js(logs["data"]))
		}
	})
	t.Run("wildcard bind", func(t *testing.T) {
		t.Parallel()
		port := closedPort(t)
		s := harness.Start(t, harness.Options{Caddyfile: fmt.Sprintf(`{
	admin 0.0.0.0:%d
	vault {
		data_dir {$STRONGROOM_DATA_DIR}
	}
}
http://:{$STRONGROOM_PORT} {
	vault_api
}
`, port)})
		tenantID := self(t, s)["tenant_id"].(string)
		st, b := adminPost(t, tcp, fmt.Sprintf("127.0.0.1:%d", port), "/vault/tenants/"+tenantID+"/keys")
		if st != http.StatusForbidden || strings.Contains(string(b), "key_") {
			t.Errorf("mint on a wildcard admin endpoint: %d %s, want 403", st, b)
		}
	})
	t.Run("unix socket 0600", func(t *testing.T) {
		t.Parallel()
		dir, err := os.MkdirTemp("", "sr-admin") // short: unix socket paths are bounded
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		sock := filepath.Join(dir, "admin.sock")
		s := harness.Start(t, harness.Options{Caddyfile: `{
	admin unix/` + sock + `|0600
	vault {
		data_dir {$STRONGROOM_DATA_DIR}
	}
}
http://:{$STRONGROOM_PORT} {
	vault_api
}
`})
		tenantID := self(t, s)["tenant_id"].(string)
		unix := func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		}
		if st, b := adminPost(t, unix, "admin", "/vault/tenants/"+tenantID+"/keys"); st != http.StatusOK {
			t.Errorf("mint on a 0600 unix socket: %d %s", st, b)
		}
	})
}
