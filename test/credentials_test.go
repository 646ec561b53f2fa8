package test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/strongroom/strongroom/test/harness"
)

// credentialsCaddyfile serves the API and every way a request leaves the
// vault: /proxy (vault_api), vault_auth + vault_detokenize, vault_auth +
// vault_tokenize, vault_tokenize alone and vault_auth alone in front of
// reverse_proxy to upstream.
func credentialsCaddyfile(upstream, extraSite string) string {
	return `{
	admin {$STRONGROOM_ADMIN}
	vault {
		data_dir {$STRONGROOM_DATA_DIR}
		allow_insecure_destinations true
	}
}

http://:{$STRONGROOM_PORT} {
` + extraSite + `
	handle /psp/* {
		vault_auth
		vault_detokenize {
			headers X-Card
		}
		reverse_proxy ` + upstream + `
	}
	handle /app/* {
		vault_auth
		vault_tokenize {
			field $.pan card_number
		}
		reverse_proxy ` + upstream + `
	}
	handle /raw/* {
		vault_tokenize {
			field $.pan card_number
		}
		reverse_proxy ` + upstream + `
	}
	handle /gate/* {
		vault_auth
		reverse_proxy ` + upstream + `
	}
	handle {
		vault_api
	}
}
`
}

// noSecretUpstream fails when a request the upstream received holds one
// of secrets in a header, the query or the body.
func noSecretUpstream(t *testing.T, what string, got upReq, secrets ...string) {
	t.Helper()
	seen := fmt.Sprint(got.Header) + " " + got.RawQuery + " " + string(got.Body)
	for _, sec := range secrets {
		if strings.Contains(seen, sec) {
			t.Errorf("%s: a vault credential reached the destination: headers %v query %q body %.300s", what, got.Header, got.RawQuery, got.Body)
		}
	}
}

// TestCredentialsNeverForwarded: no credential the vault consumed (the API
// key in BT-API-KEY or the legacy X-API-KEY, a proxy key, copies of them in
// other headers) reaches a destination of /proxy, vault_detokenize,
// vault_tokenize or reverse_proxy after vault_auth, nor transform code.
func TestCredentialsNeverForwarded(t *testing.T) {
	t.Parallel()
	up := newUpstream(t)
	s := harness.Start(t, harness.Options{Caddyfile: credentialsCaddyfile(strings.TrimPrefix(up.URL, "http://"), "")})
	_, key := privateAppWith(t, s, "forwarder", "proxy:invoke", "token:use", "token:create")
	card := mkToken(t, s, writerKey(t, s), map[string]any{"type": "card_number", "data": "4242424242424242"})
	_, mk := managementApp(t, s, "proxy admin", "proxy:create")
	authed := s.JSON(t, "POST", "/proxies", mk, map[string]any{"name": "authed", "destination_url": up.URL + "/base"}, http.StatusCreated)
	// Transform code sees the request's headers and query: it must not
	// see the credentials either (it could send them anywhere).
	echo := `module.exports = async function (req) { return { body: { seen: JSON.stringify(req.args.headers) + req.args.query } }; };`
	transformed := s.JSON(t, "POST", "/proxies", mk, map[string]any{"name": "transformed", "destination_url": up.URL + "/t",
		"request_transform": map[string]any{"code": echo}}, http.StatusCreated)
	akey, tkey := authed["key"].(string), transformed["key"].(string)
	secrets := []string{key, akey, tkey}

	for _, legacy := range []bool{false, true} {
		keyHeader := "BT-API-KEY"
		if legacy {
			keyHeader = "X-API-KEY"
		}
		for _, c := range []struct {
			what, path string
			header     map[string]string
			body       string
		}{
			{"ephemeral /proxy", "/proxy/x?q=1", map[string]string{"BT-PROXY-URL": up.URL}, `{"pan":"{{` + card + `}}"}`},
			{"pre-configured, header key", "/proxy/x", map[string]string{"BT-PROXY-KEY": akey}, `{"pan":"{{` + card + `}}"}`},
			{"pre-configured, query key", "/proxy/x?bt-proxy-key=" + akey, nil, `{}`},
			{"request transform", "/proxy?bt-proxy-key=" + tkey, nil, `{}`},
			{"vault_detokenize", "/psp/x", map[string]string{"X-Card": "{{" + card + "}}"}, `{"pan":"{{` + card + `}}"}`},
			{"vault_auth + vault_tokenize", "/app/x", nil, `{"pan":"4242424242424242"}`},
			{"vault_tokenize", "/raw/x", nil, `{"pan":"4242424242424242"}`},
			{"vault_auth", "/gate/x", nil, `{}`},
		} {
			what := fmt.Sprintf("%s with %s", c.what, keyHeader)
			req, err := http.NewRequest(http.MethodPost, s.BaseURL+c.path, strings.NewReader(c.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set(keyHeader, key)
			// A copy of the key under another name goes nowhere either.
			req.Header.Set("X-Copy", "Bearer "+key)
			req.Header.Set("X-Kept", "kept")
			for k, v := range c.header {
				req.Header.Set(k, v)
			}
			st, _, b := s.Send(t, req)
			if st != http.StatusOK {
				t.Errorf("%s: status %d: %s", what, st, b)
				up.take()
				continue
			}
			got := up.one(t, what)
			noSecretUpstream(t, what, got, secrets...)
			if got.Header.Get("X-Kept") != "kept" {
				t.Errorf("%s: an ordinary header was dropped: %v", what, got.Header)
			}
			if c.what == "request transform" && !strings.Contains(string(got.Body), "X-Kept") {
				t.Errorf("%s: the transform did not see the headers: %s", what, got.Body)
			}
		}
	}
}

// TestAccessLogRedactsCredentials: with Caddy's `log` directive and the
// `vault_redact` format, the access log (a real file) holds none of the
// vault's credentials: BT-API-KEY, X-API-KEY, BT-PROXY-KEY or the
// bt-proxy-key query parameter; Caddy's own Authorization redaction stays.
func TestAccessLogRedactsCredentials(t *testing.T) {
	t.Parallel()
	up := newUpstream(t)
	logFile := filepath.Join(t.TempDir(), "access.log")
	site := "\tlog {\n\t\toutput file " + logFile + "\n\t\tformat vault_redact {\n\t\t\twrap json\n\t\t}\n\t}\n" +
		fmt.Sprintf("\thandle /down/* {\n\t\tvault_auth\n\t\treverse_proxy 127.0.0.1:%d\n\t}\n", closedPort(t))
	// The error log (reverse_proxy failing) carries the request too.
	cf := strings.Replace(credentialsCaddyfile(strings.TrimPrefix(up.URL, "http://"), site),
		"{\n\tadmin", "{\n\tlog default {\n\t\tformat vault_redact\n\t}\n\tadmin", 1)
	s := harness.Start(t, harness.Options{Caddyfile: cf})
	_, key := privateAppWith(t, s, "logged", "proxy:invoke")
	_, mk := managementApp(t, s, "proxy admin", "proxy:create")
	px := s.JSON(t, "POST", "/proxies", mk, map[string]any{"name": "logged", "destination_url": up.URL}, http.StatusCreated)
	pkey := px["key"].(string)
	for _, h := range []map[string]string{
		{"BT-API-KEY": key, "BT-PROXY-URL": up.URL},
		{"X-API-KEY": key, "BT-PROXY-URL": up.URL},
		{"BT-API-KEY": key, "BT-PROXY-KEY": pkey},
		{"BT-API-KEY": key, "Authorization": "Bearer " + key, "BT-PROXY-URL": up.URL},
	} {
		pcall{header: h, body: `{}`}.ok(t, s, up, fmt.Sprint("logged ", h))
	}
	pcall{path: "/proxy?bt-proxy-key=" + pkey + "&x=1", key: key, body: `{}`}.ok(t, s, up, "logged query key")
	if st, _, _ := s.Do(t, "GET", "/down/x", key, nil); st != http.StatusBadGateway {
		t.Errorf("/down: status %d, want 502", st)
	}
	secrets := []string{key, mk, pkey, s.ManagementKey}
	// Caddy logs the failed exchange after answering, and the server's
	// stderr reaches the harness through a pipe: wait (bounded) for it.
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(s.Log(), "/down/x") && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(s.Log(), "/down/x") {
		t.Errorf("no error log entry for /down/x")
	}
	for _, sec := range secrets[:3] {
		if strings.Contains(s.Log(), sec) {
			t.Errorf("the error log holds a credential")
		}
	}
	var log string
	for i := 0; i < 50; i++ { // the file writer may lag the answers a little
		b, _ := os.ReadFile(logFile)
		if log = string(b); strings.Count(log, `"handled request"`) >= 9 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if strings.Count(log, `"handled request"`) < 9 || !strings.Contains(log, "REDACTED") {
		t.Fatalf("the access log misses entries or redactions:\n%s", log)
	}
	for _, sec := range secrets {
		if strings.Contains(log, sec) {
			t.Errorf("the access log holds a credential:\n%s", log)
			break
		}
	}
}
