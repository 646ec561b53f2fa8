// End-to-end tests of what an operator runs the vault with: health and
// readiness, the vault's metrics on Caddy's admin /metrics, rate limits and
// CORS (the browser itself is driven in test/browser).
package test

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/strongroom/strongroom/test/harness"
)

// TestHealthAndReadiness: /healthz and /readyz answer without a key and
// say nothing else; readiness is a 503 problem while the store is
// unavailable (its directory gone from under the running server) and
// recovers when it is back.
func TestHealthAndReadiness(t *testing.T) {
	t.Parallel()
	s := start(t)
	for _, c := range []struct{ path, body string }{{"/healthz", `{"status":"ok"}`}, {"/readyz", `{"status":"ready"}`}} {
		st, hdr, b := s.Do(t, "GET", c.path, "", nil)
		if st != http.StatusOK || string(b) != c.body || !strings.HasPrefix(hdr.Get("Content-Type"), "application/json") {
			t.Fatalf("GET %s: %d %q %q; want 200 %s", c.path, st, hdr.Get("Content-Type"), b, c.body)
		}
		if st, _, _ := s.Do(t, "POST", c.path, "", nil); st != http.StatusNotFound {
			t.Errorf("POST %s: %d; want the API's 404 (only GET and HEAD are health checks)", c.path, st)
		}
	}

	store := filepath.Join(s.DataDir, "store")
	if err := os.Rename(store, store+".away"); err != nil {
		t.Fatal(err)
	}
	st, hdr, b := s.Do(t, "GET", "/readyz", "", nil)
	checkProblem(t, "readyz without a store", st, hdr, b, http.StatusServiceUnavailable, "store")
	for _, leak := range []string{s.DataDir, "pebble", "store.away"} {
		if bytes.Contains(b, []byte(leak)) {
			t.Errorf("readyz reveals %q: %s", leak, b)
		}
	}
	if st, _, b := s.Do(t, "GET", "/healthz", "", nil); st != http.StatusOK {
		t.Errorf("healthz while not ready: %d %s; want 200 (the process serves)", st, b)
	}
	if err := os.Rename(store+".away", store); err != nil {
		t.Fatal(err)
	}
	if st, _, b := s.Do(t, "GET", "/readyz", "", nil); st != http.StatusOK {
		t.Fatalf("readyz with the store back: %d %s", st, b)
	}
	s.JSON(t, "GET", "/tenants/self", s.ManagementKey, nil, http.StatusOK)
}

// scrape reads the strongroom_* samples of the admin /metrics, keyed by
// name and labels as exposed (`name{label="v"}`).
func scrape(t testing.TB, s *harness.Server) (map[string]float64, string) {
	t.Helper()
	resp, err := http.Get("http://" + s.AdminAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("admin /metrics: %d %s", resp.StatusCode, raw)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "strongroom_") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out, string(raw)
}

// moved asserts that each sample moved by exactly want between two scrapes.
func moved(t testing.TB, what string, before, after map[string]float64, want map[string]float64) {
	t.Helper()
	for name, d := range want {
		if _, ok := after[name]; !ok {
			t.Errorf("%s: %s is not exported", what, name)
			continue
		}
		if got := after[name] - before[name]; got != d {
			t.Errorf("%s: %s moved by %v, want %v", what, name, got, d)
		}
	}
}

const (
	mCreated  = "strongroom_tokens_created_total"
	mReads    = "strongroom_token_reads_total"
	mProxy    = "strongroom_proxy_requests_total"
	mAuth     = "strongroom_auth_failures_total"
	mCommits  = "strongroom_store_commit_duration_seconds_count"
	mReactOK  = `strongroom_reactor_invocations_total{outcome="success"}`
	mReactErr = `strongroom_reactor_invocations_total{outcome="error"}`
	mLimited  = `strongroom_rate_limited_total{class="%s"}`
)

// TestMetrics: every vault metric moves by exactly the operations done,
// none carries a key, token id or plaintext, and the counts survive a
// config reload.
func TestMetrics(t *testing.T) {
	t.Parallel()
	caddyfile := reactorCaddyfile(t)
	s := harness.Start(t, harness.Options{Caddyfile: caddyfile, Env: []string{envInsecure}})
	up := newUpstream(t)
	writer := writerKey(t, s)
	_, invoker := privateAppWith(t, s, "invoker", "proxy:invoke", "token:use", "reactor:invoke")
	okReactor := rxCode(t, s, "ok", `module.exports = async () => ({ raw: { ok: true } })`, nil)
	badReactor := rxCode(t, s, "bad", `module.exports = async () => { throw new Error('no') }`, nil)

	before, _ := scrape(t, s)
	secret := "metrics-plaintext-4242"
	id := mkToken(t, s, writer, map[string]any{"type": "token", "data": secret})
	mkToken(t, s, writer, map[string]any{"type": "token", "data": "two"})
	s.JSON(t, "POST", "/tokenize", writer, map[string]any{"a": map[string]any{"type": "token", "data": "three"},
		"b": map[string]any{"type": "token", "data": "four"}}, http.StatusCreated)
	after, _ := scrape(t, s)
	moved(t, "2 creates and a tokenize of 2", before, after, map[string]float64{mCreated: 4, mCommits: 3, mReads: 0})

	before = after
	s.JSON(t, "GET", "/tokens/"+id, writer, nil, http.StatusOK)
	s.JSON(t, "GET", "/tokens/"+id, writer, nil, http.StatusOK)
	s.JSON(t, "POST", "/detokenize", writer, map[string]any{"x": "{{ " + id + " }}"}, http.StatusOK)
	after, _ = scrape(t, s)
	moved(t, "2 reads and a detokenize", before, after, map[string]float64{mReads: 3, mCreated: 0, mCommits: 0})

	before = after
	c := pcall{key: invoker, dest: up.URL + "/echo", body: `{"v":"{{ ` + id + ` }}"}`}
	c.ok(t, s, up, "proxy")
	after, _ = scrape(t, s)
	moved(t, "a proxied request", before, after, map[string]float64{mProxy: 1, mReads: 1})

	before = after
	rxReactOK(t, s, invoker, okReactor, nil)
	rxReactOK(t, s, invoker, okReactor, nil)
	if st, _, b := rxReact(t, s, invoker, badReactor, nil); st < 400 {
		t.Fatalf("throwing reactor: %d %s", st, b)
	}
	after, _ = scrape(t, s)
	moved(t, "2 good reacts and a throwing one", before, after, map[string]float64{mReactOK: 2, mReactErr: 1})

	before = after
	for _, key := range []string{"", "key_unknown", writer + "x"} {
		if st := keyWorks(t, s, key); st != http.StatusUnauthorized {
			t.Fatalf("key %q: %d", key, st)
		}
	}
	after, raw := scrape(t, s)
	moved(t, "3 refused keys", before, after, map[string]float64{mAuth: 3, mReads: 0})
	for _, leak := range []string{secret, id, writer, invoker, s.ManagementKey, "key_unknown"} {
		if strings.Contains(raw, leak) {
			t.Errorf("admin /metrics holds %q", leak)
		}
	}
	if n := after[`strongroom_reactor_executions_in_flight`]; n != 0 {
		t.Errorf("reactor executions in flight at rest: %v", n)
	}

	// A reload provisions a new config (and a new registry): the same
	// counters are registered again, counts kept.
	s.ReloadCaddyfile(t, []byte(caddyfile)) // reload even though unchanged
	reloaded, _ := scrape(t, s)
	moved(t, "a reload", after, reloaded, map[string]float64{mCreated: 0, mReads: 0, mProxy: 0, mAuth: 0, mReactOK: 0, mCommits: 0})
	mkToken(t, s, writer, map[string]any{"type": "token", "data": "five"})
	final, _ := scrape(t, s)
	moved(t, "a create after the reload", reloaded, final, map[string]float64{mCreated: 1})
}

// opsCaddyfile has low rate limits and one allowed browser origin.
func opsCaddyfile(t testing.TB) string {
	return repoCaddyfileWith(t,
		"rate_limit {", "\ttokenize 2/m", "\tread 3/m", "\tproxy 2/m", "}",
		"cors {", "\torigins https://shop.example", "}")
}

// TestRateLimits: over the limit a caller gets a 429 problem with
// Retry-After, per class; another application is unaffected; anonymous
// proxy callers are counted by client address.
func TestRateLimits(t *testing.T) {
	t.Parallel()
	s := harness.Start(t, harness.Options{Caddyfile: opsCaddyfile(t), Env: []string{envInsecure}})
	a, b := writerKey(t, s), writerKey(t, s)
	tok := map[string]any{"type": "token", "data": "x"}
	before, _ := scrape(t, s)

	id := mkToken(t, s, a, tok)
	mkToken(t, s, a, tok)
	st, hdr, body := s.Do(t, "POST", "/tokens", a, tok)
	checkProblem(t, "third create in a minute", st, hdr, body, http.StatusTooManyRequests, "tokenize")
	if ra, err := strconv.Atoi(hdr.Get("Retry-After")); err != nil || ra < 1 || ra > 30 {
		t.Errorf("Retry-After %q; want 1..30 seconds (2/m refills one every 30 s)", hdr.Get("Retry-After"))
	}
	if st, _, body := s.Do(t, "POST", "/tokenize", a, map[string]any{"k": tok}); st != http.StatusTooManyRequests {
		t.Errorf("tokenize counts as tokenize: %d %s", st, body)
	}
	mkToken(t, s, b, tok) // another application: its own budget
	mkToken(t, s, b, tok)

	for range 3 {
		s.JSON(t, "GET", "/tokens/"+id, a, nil, http.StatusOK)
	}
	st, hdr, body = s.Do(t, "GET", "/tokens/"+id, a, nil)
	checkProblem(t, "fourth read in a minute", st, hdr, body, http.StatusTooManyRequests, "read")
	if hdr.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	mustStatus(t, "a route of no limited class", keyWorks(t, s, a), http.StatusOK)

	// An anonymous pre-configured proxy: limited per client address.
	up := newUpstream(t)
	px := s.JSON(t, "POST", "/proxies", s.ManagementKey, map[string]any{"name": "open", "destination_url": up.URL + "/echo", "require_auth": false}, http.StatusCreated)
	call := pcall{header: map[string]string{"BT-PROXY-KEY": px["key"].(string)}, body: `{"a":1}`}
	call.ok(t, s, up, "first anonymous proxy call")
	call.ok(t, s, up, "second anonymous proxy call")
	pe := call.fails(t, s, up, "third anonymous proxy call", http.StatusTooManyRequests)
	if errs, _ := pe["errors"].(map[string]any); errs["proxy"] == nil {
		t.Errorf("proxy 429 does not name the proxy class: %v", pe)
	}

	after, _ := scrape(t, s)
	moved(t, "refusals", before, after, map[string]float64{
		strings.Replace(mLimited, "%s", "tokenize", 1): 2, strings.Replace(mLimited, "%s", "read", 1): 1,
		strings.Replace(mLimited, "%s", "proxy", 1): 1, mCreated: 4})
}

// TestCORSPreflight: with `cors { origins ... }` an allowed origin's
// preflight is a 204 naming that origin, the methods and the headers the
// SDKs send; any other origin gets no Access-Control-Allow-Origin; without
// the option there is no CORS header at all.
func TestCORSPreflight(t *testing.T) {
	t.Parallel()
	s := harness.Start(t, harness.Options{Caddyfile: opsCaddyfile(t)})
	plain := start(t)
	preflight := func(srv *harness.Server, origin string) (int, http.Header) {
		req, _ := http.NewRequest("OPTIONS", srv.BaseURL+"/tokens", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "bt-api-key, content-type, bt-trace-id, bt-idempotency-key")
		st, hdr, _ := srv.Send(t, req)
		return st, hdr
	}
	st, hdr := preflight(s, "https://shop.example")
	if st != http.StatusNoContent || hdr.Get("Access-Control-Allow-Origin") != "https://shop.example" {
		t.Fatalf("allowed preflight: %d, ACAO %q", st, hdr.Get("Access-Control-Allow-Origin"))
	}
	if m := hdr.Get("Access-Control-Allow-Methods"); !strings.Contains(m, "POST") || !strings.Contains(m, "DELETE") {
		t.Errorf("Allow-Methods %q", m)
	}
	allowed := strings.ToLower(hdr.Get("Access-Control-Allow-Headers"))
	for _, h := range []string{"bt-api-key", "content-type", "bt-trace-id", "bt-idempotency-key"} {
		if !strings.Contains(allowed, h) {
			t.Errorf("Allow-Headers %q lacks %s", allowed, h)
		}
	}
	for _, c := range []struct {
		srv    *harness.Server
		origin string
	}{{s, "https://evil.example"}, {s, "https://shop.example.evil.example"}, {s, "null"}, {plain, "https://shop.example"}} {
		st, hdr := preflight(c.srv, c.origin)
		if v := hdr.Get("Access-Control-Allow-Origin"); v != "" || st == http.StatusNoContent {
			t.Errorf("preflight from %s: %d, ACAO %q; want no CORS answer", c.origin, st, v)
		}
	}
	// The actual request carries ACAO and exposes the trace id.
	req, _ := harness.NewRequest("GET", s.BaseURL+"/permissions", s.ManagementKey, nil)
	req.Header.Set("Origin", "https://shop.example")
	st, hdr, body := s.Send(t, req)
	if st != http.StatusOK || hdr.Get("Access-Control-Allow-Origin") != "https://shop.example" ||
		!strings.Contains(hdr.Get("Access-Control-Expose-Headers"), "BT-TRACE-ID") || !strings.Contains(hdr.Get("Vary"), "Origin") {
		t.Errorf("allowed GET: %d %v %s", st, hdr, body)
	}
}
