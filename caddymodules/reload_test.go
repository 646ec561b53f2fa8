package caddymodules

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/caddyserver/caddy/v2"
)

// TestReloadWhileServing runs real configs in this process (caddy.Load, the
// admin API's reload path) and reloads them while the running config's
// handlers serve requests that read the destination policy. The suite runs
// it under -race too (test/race_test.go): each config binds its own view of the pooled vault, so
// provisioning a config writes nothing the serving one reads; the last
// config's policy is the one in force.
func TestReloadWhileServing(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_DATA_HOME", home+"/data")
	t.Setenv("XDG_CONFIG_HOME", home+"/config")
	const mgmt = "key_ReloadWhileServingManagement"
	t.Setenv(EnvManagementKey, mgmt)
	t.Setenv(EnvMasterKey, strings.Repeat("5a", 32))
	dataDir, addr := t.TempDir(), freeAddr(t)

	config := func(insecure bool, leeway string) []byte {
		b, err := json.Marshal(map[string]any{
			"admin":   map[string]any{"disabled": true, "config": map[string]any{"persist": false}},
			"logging": map[string]any{"logs": map[string]any{"default": map[string]any{"level": "ERROR"}}},
			"apps": map[string]any{
				"vault": map[string]any{"data_dir": dataDir, "allow_insecure_destinations": insecure, "jwt_leeway": leeway},
				"http": map[string]any{"servers": map[string]any{"api": map[string]any{
					"listen":          []string{addr},
					"automatic_https": map[string]any{"disable": true},
					"routes":          []any{map[string]any{"handle": []any{map[string]any{"handler": "vault_api"}}}},
				}}},
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	if err := caddy.Load(config(false, "30s"), true); err != nil {
		t.Fatalf("first config: %v", err)
	}
	t.Cleanup(func() { _ = caddy.Stop() })

	createProxy := func(dest string) (int, string, error) {
		body := fmt.Sprintf(`{"name":"p","destination_url":%q}`, dest)
		req, _ := http.NewRequest("POST", "http://"+addr+"/proxies", strings.NewReader(body))
		req.Header.Set("BT-API-KEY", mgmt)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), nil
	}

	var stop atomic.Bool
	var served atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				st, body, err := createProxy("https://psp.example/")
				if err != nil {
					continue // a reload may close an idle connection
				}
				if st != http.StatusCreated {
					errs <- fmt.Errorf("create proxy during reloads: %d %s", st, body)
					return
				}
				served.Add(1)
			}
		}()
	}
	for i := range 6 {
		if err := caddy.Load(config(i%2 == 0, fmt.Sprintf("%ds", 10+i)), false); err != nil {
			t.Fatalf("reload %d: %v", i, err)
		}
	}
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if served.Load() == 0 {
		t.Fatal("no request was served during the reloads")
	}
	// The last config (i = 5) is strict: its policy is in force. A
	// keep-alive connection of an older config may be closed under the
	// request: that is a transport error to retry, not an answer.
	http.DefaultClient.CloseIdleConnections()
	st, body, err := createProxy("http://127.0.0.1:9/")
	for try := 0; err != nil && try < 3; try++ {
		st, body, err = createProxy("http://127.0.0.1:9/")
	}
	if err != nil || st != http.StatusBadRequest || !strings.Contains(body, "destination_url") {
		t.Fatalf("a loopback destination under the last, strict config: %d %s %v", st, body, err)
	}
}

// freeAddr returns a loopback address with a port free at the time of the
// call.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
