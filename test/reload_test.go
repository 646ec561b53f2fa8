package test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/strongroom/strongroom/test/harness"
)

// Config reloads through Caddy's admin API (POST /load, what `caddy reload`
// sends): the open vault is shared across configs, but every setting is the
// running config's own. A config Caddy refuses changes nothing; a changed
// setting applies; a change the open vault cannot take is refused with the
// reason.
func TestReload(t *testing.T) {
	t.Parallel()
	s := start(t)
	mk := s.ManagementKey
	base := s.Config(t)

	// A strict destination policy: http and loopback are refused.
	strictRefuses := func(when string) {
		t.Helper()
		st, _, body := s.Do(t, "POST", "/proxies", mk, map[string]any{"name": "loop", "destination_url": "http://127.0.0.1:9/"})
		if st != http.StatusBadRequest || !strings.Contains(string(body), `"destination_url"`) {
			t.Fatalf("%s: a loopback proxy destination got %d %s, want 400 naming destination_url", when, st, body)
		}
	}
	strictRefuses("before any reload")

	t.Run("a refused config leaves the running policy in force", func(t *testing.T) {
		cfg := clone(t, base)
		vaultConfig(cfg)["allow_insecure_destinations"] = true
		// A second server whose route loads the vault's handlers (so the
		// vault app is provisioned) and then a module that does not exist:
		// Caddy refuses the whole config after the vault provisioned it.
		servers := cfg["apps"].(map[string]any)["http"].(map[string]any)["servers"].(map[string]any)
		servers["doomed"] = map[string]any{
			"listen": []any{"localhost:0"},
			"routes": []any{map[string]any{"handle": []any{
				map[string]any{"handler": "vault_api"},
				map[string]any{"handler": "strongroom_no_such_handler"},
			}}},
		}
		if st, body := s.Load(t, cfg); st < 400 || !strings.Contains(string(body), "strongroom_no_such_handler") {
			t.Fatalf("load of a broken config: %d %s, want a refusal", st, body)
		}
		strictRefuses("after a refused config that allowed insecure destinations")
		if st, _, body := s.Do(t, "GET", "/tenants/self", mk, nil); st != http.StatusOK {
			t.Fatalf("the running config stopped serving after a refused reload: %d %s", st, body)
		}
	})

	t.Run("a changed jwt_leeway applies", func(t *testing.T) {
		s.JSON(t, "POST", "/projects", mk, map[string]any{"id": "project-reload"}, http.StatusCreated)
		priv, _ := pjCLI(t, s, "project", "key", "generate", "--project", "project-reload", "--kid", "k1")
		key := pjParsePrivate(t, priv)
		claims := pjClaims("u1", "project-reload", "private")
		claims["exp"] = time.Now().Add(-2 * time.Minute).Unix() // past the default 30 s leeway
		token := pjMint(key, pjHeader("k1"), claims)
		path := "/projects/project-reload/payment-methods"
		status := func() int {
			st, _, _ := pjDo(t, s, "GET", path, token, nil)
			return st
		}
		if st := status(); st != http.StatusUnauthorized {
			t.Fatalf("a token expired 2 minutes ago with the default leeway: %d, want 401", st)
		}
		cfg := clone(t, base)
		vaultConfig(cfg)["jwt_leeway"] = "10m"
		mustLoad(t, s, cfg)
		if st := status(); st != http.StatusOK {
			t.Fatalf("after a reload with jwt_leeway 10m: %d, want 200", st)
		}
		mustLoad(t, s, base)
		if st := status(); st != http.StatusUnauthorized {
			t.Fatalf("after reloading the default leeway: %d, want 401", st)
		}
	})

	t.Run("a changed management_key is refused", func(t *testing.T) {
		other := harness.NewKey()
		file := filepath.Join(t.TempDir(), "mgmt.key")
		if err := os.WriteFile(file, []byte(other), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg := clone(t, base)
		vaultConfig(cfg)["management_key"] = "{file." + file + "}"
		st, body := s.Load(t, cfg)
		if st < 400 || !strings.Contains(string(body), "management key") || !strings.Contains(string(body), "restart") {
			t.Fatalf("reload with another management key: %d %s, want a refusal naming the management key", st, body)
		}
		if strings.Contains(string(body), other) || strings.Contains(string(body), mk) {
			t.Fatalf("the refusal shows a key: %s", body)
		}
		if st, _, _ := s.Do(t, "GET", "/tenants/self", other, nil); st != http.StatusUnauthorized {
			t.Errorf("the refused management key authenticates: %d", st)
		}
		if st, _, _ := s.Do(t, "GET", "/tenants/self", mk, nil); st != http.StatusOK {
			t.Errorf("the running management key stopped working: %d", st)
		}
	})

	t.Run("a changed master_key_file is refused", func(t *testing.T) {
		if harness.Postgres() {
			t.Skip("on PostgreSQL the harness gives STRONGROOM_MASTER_KEY, which wins over any key file")
		}
		file := filepath.Join(t.TempDir(), "other.key")
		if err := os.WriteFile(file, []byte(strings.Repeat("ab", 32)), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg := clone(t, base)
		vaultConfig(cfg)["master_key_file"] = file
		st, body := s.Load(t, cfg)
		if st < 400 || !strings.Contains(string(body), "master key") || !strings.Contains(string(body), file) {
			t.Fatalf("reload with another master key file: %d %s, want a refusal naming it", st, body)
		}
		if st, _, body := s.Do(t, "GET", "/tenants/self", mk, nil); st != http.StatusOK {
			t.Fatalf("the running config stopped serving: %d %s", st, body)
		}
	})

	// The same config again is a plain reload: accepted, still strict.
	mustLoad(t, s, base)
	strictRefuses("after reloading the original config")
}

func mustLoad(t *testing.T, s *harness.Server, cfg map[string]any) {
	t.Helper()
	if st, body := s.Load(t, cfg); st != http.StatusOK {
		t.Fatalf("reload: %d %s", st, body)
	}
}

// vaultConfig is the vault app's object in a JSON config.
func vaultConfig(cfg map[string]any) map[string]any {
	return cfg["apps"].(map[string]any)["vault"].(map[string]any)
}

// clone deep-copies a JSON config.
func clone(t *testing.T, cfg map[string]any) map[string]any {
	t.Helper()
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}
