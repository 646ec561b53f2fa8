package test

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/strongroom/strongroom/test/harness"
)

// TestManagementKeyNeverInConfig: a management_key is read through a
// placeholder ({file.*} here), works, and appears neither in Caddy's
// autosave.json nor in GET /config/apps/vault; a key written in the
// Caddyfile itself is refused at start.
func TestManagementKeyNeverInConfig(t *testing.T) {
	t.Parallel()
	key := harness.NewKey()
	keyFile := filepath.Join(t.TempDir(), "management.key")
	if err := os.WriteFile(keyFile, []byte(key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	caddyfile := func(setting string) string {
		return `{
	admin {$STRONGROOM_ADMIN}
	vault {
		data_dir {$STRONGROOM_DATA_DIR}
		management_key ` + setting + `
	}
}
http://:{$STRONGROOM_PORT} {
	vault_api
}
`
	}
	// The harness's own key goes through the environment; this one only
	// through the file.
	s := harness.Start(t, harness.Options{Caddyfile: caddyfile("{file." + keyFile + "}")})
	if st := status(t, s, "GET", "/applications/key", key); st != http.StatusOK {
		t.Fatalf("the key from {file.*} does not authenticate: %d", st)
	}
	resp, err := http.Get("http://" + s.AdminAddr + "/config/apps/vault")
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || strings.Contains(string(cfg), key) || !strings.Contains(string(cfg), "{file.") {
		t.Errorf("GET /config/apps/vault: %d %s", resp.StatusCode, cfg)
	}
	m := regexp.MustCompile(`"autosaved config[^}]*"file":"([^"]+)"`).FindStringSubmatch(s.Log())
	if m == nil {
		t.Fatalf("no autosave in the log")
	}
	saved, err := os.ReadFile(m[1])
	if err != nil || strings.Contains(string(saved), key) {
		t.Errorf("autosave.json (%v) holds the management key: %s", err, saved)
	}

	code, log := harness.StartFailure(t, harness.Options{Caddyfile: caddyfile(key)})
	if code == 0 || !strings.Contains(log, "management_key takes a placeholder") || strings.Count(log, key) > 1 {
		t.Errorf("a literal management_key: exit %d, log %s", code, tailStr(log, 2000))
	}
}

func tailStr(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
