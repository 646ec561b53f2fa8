//go:build unix

// Package browser tests Strongroom from a real browser: Debian's chromium,
// headless, driven by playwright-core (pinned in package-lock.json).
package browser

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/strongroom/strongroom/test/harness"
)

const chromiumPath = "/usr/bin/chromium"

// checkoutPage is a merchant's checkout page: it creates a token with a
// public key straight from the browser, so the card number never reaches
// the merchant's server, and shows the token id (or the failure).
var checkoutPage = template.Must(template.New("page").Parse(`<!doctype html>
<html><body><p id="result">pending</p><script>
fetch({{.Vault}} + '/tokens', {
  method: 'POST',
  headers: { 'BT-API-KEY': {{.Key}}, 'Content-Type': 'application/json', 'BT-TRACE-ID': 'checkout-1' },
  body: JSON.stringify({ type: 'card_number', data: '4242424242424242' }),
}).then(async (r) => {
  const body = await r.json();
  return r.ok ? body.id : 'status ' + r.status;
}).catch((e) => 'failed: ' + e.name).then((text) => {
  const el = document.getElementById('result');
  el.textContent = text;
  el.dataset.done = '1';
});
</script></body></html>`))

// TestCORSInBrowser: the page served from an allowed origin creates a token
// through fetch(); the same page from another origin is refused by the
// browser (no Access-Control-Allow-Origin) and creates nothing.
func TestCORSInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("the browser test needs chromium, node and npm; skipped with -short")
	}
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is missing; .ci/run installs it with apt-get (apt-get install chromium)", chromiumPath)
		}
		t.Skipf("%s is missing: install Debian's chromium (apt-get install chromium) to run the browser test", chromiumPath)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is required for the browser test (or run with -short): %v", err)
	}
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	harness.EnsureNodeModules(t, dir)

	var page bytes.Buffer
	serve := func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(page.Bytes())
	}
	allowed := httptest.NewServer(http.HandlerFunc(serve)) // 127.0.0.1: loopback only
	defer allowed.Close()
	other := httptest.NewServer(http.HandlerFunc(serve))
	defer other.Close()

	caddyfile := fmt.Sprintf(`{
	admin {$STRONGROOM_ADMIN}
	vault {
		data_dir {$STRONGROOM_DATA_DIR}
		cors {
			origins %s
		}
	}
}

http://:{$STRONGROOM_PORT} {
	vault_api
}
`, allowed.URL)
	s := harness.Start(t, harness.Options{Caddyfile: caddyfile})
	vaultURL := strings.Replace(s.BaseURL, "localhost", "127.0.0.1", 1)
	pub := s.JSON(t, "POST", "/applications", s.ManagementKey, map[string]any{
		"name": "checkout", "type": "public", "permissions": []string{"token:create"}}, http.StatusCreated)
	if err := checkoutPage.Execute(&page, map[string]string{"Vault": vaultURL, "Key": pub["key"].(string)}); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pages, _ := json.Marshal([]string{allowed.URL + "/checkout", other.URL + "/checkout"})
	cmd := exec.CommandContext(ctx, node, "cors.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PAGES="+string(pages), "CHROMIUM="+chromiumPath)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // a timeout kills chromium too
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node cors.mjs: %v\n%s", err, out)
	}
	results := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var r struct{ URL, Result string }
		if json.Unmarshal(sc.Bytes(), &r) == nil && r.URL != "" {
			results[r.URL] = r.Result
		}
	}

	id := results[allowed.URL+"/checkout"]
	if !regexp.MustCompile(`^[0-9a-f-]{36}$`).MatchString(id) {
		t.Fatalf("the page of the allowed origin shows %q, want a token id; output:\n%s", id, out)
	}
	if got := results[other.URL+"/checkout"]; got != "failed: TypeError" {
		t.Fatalf("the page of another origin shows %q, want the browser's fetch failure; output:\n%s", got, out)
	}
	// The token exists and is the browser's; the refused page created none.
	_, reader := privateReader(t, s)
	tok := s.JSON(t, "GET", "/tokens/"+id, reader, nil, http.StatusOK)
	if tok["data"] != "4242424242424242" {
		t.Errorf("token created from the browser holds %v", tok["data"])
	}
	list := s.JSON(t, "GET", "/tokens", reader, nil, http.StatusOK)
	if data, _ := list["data"].([]any); len(data) != 1 {
		t.Errorf("%d tokens exist, want only the allowed page's", len(data))
	}
}

func privateReader(t *testing.T, s *harness.Server) (id, key string) {
	app := s.JSON(t, "POST", "/applications", s.ManagementKey, map[string]any{
		"name": "reader", "type": "private", "permissions": []string{"token:read"}}, http.StatusCreated)
	return app["id"].(string), app["key"].(string)
}
