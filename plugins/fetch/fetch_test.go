package fetch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/strongroom/strongroom/vault/egress"
	"github.com/strongroom/strongroom/vault/jsonorder"
	"github.com/strongroom/strongroom/vault/reactor"
)

// psp is a local stand-in for a payment provider.
func psp(t *testing.T) (*httptest.Server, *atomic.Int64) {
	var hits atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Add("X-Multi", "a")
		w.Header().Add("X-Multi", "b")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"method": r.Method, "ctype": r.Header.Get("Content-Type"), "auth": r.Header.Get("Authorization"),
			"body": string(b), "ua": r.Header.Get("User-Agent"), "host": r.Host,
		})
	})
	mux.HandleFunc("/missing", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.Error(w, "nope", http.StatusNotFound)
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		_, _ = w.Write([]byte(strings.Repeat("x", 2000)))
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		select {
		case <-time.After(5 * time.Second):
		case <-r.Context().Done():
		}
	})
	mux.HandleFunc("/redirect/", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		var n int
		fmt.Sscanf(strings.TrimPrefix(r.URL.Path, "/redirect/"), "%d", &n)
		if n == 0 {
			_, _ = w.Write([]byte("landed"))
			return
		}
		http.Redirect(w, r, fmt.Sprintf("/redirect/%d", n-1), http.StatusFound)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, &hits
}

func runFetch(t *testing.T, m *Module, code string, args map[string]any) (*reactor.Result, error) {
	t.Helper()
	r := reactor.New(reactor.Limits{Timeout: 3 * time.Second, CompileTimeout: time.Second}, m)
	p, err := r.Compile(code)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return r.Run(context.Background(), p, reactor.Invocation{TenantID: "t", Arg: map[string]any{"args": args}})
}

func rawJSON(t *testing.T, res *reactor.Result) string {
	t.Helper()
	b, err := jsonorder.Marshal(res.Raw)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestFetchInsecurePolicy(t *testing.T) {
	srv, _ := psp(t)
	m := &Module{AllowInsecure: true, MaxResponseBytes: 1000, Timeout: caddy.Duration(500 * time.Millisecond)}
	code := `const nodeFetch = require('node-fetch');
	module.exports = async (req) => {
		const base = req.args.base;
		const post = await fetch(base + '/echo', { method: 'post', headers: { Authorization: 'Bearer k', Host: 'evil.example' }, body: { card: '4242' } });
		const echo = await post.json();
		const text = await fetch(base + '/echo', { method: 'PUT', body: 'plain', headers: [['Content-Type', 'text/x']] }).then(r => r.json());
		const missing = await fetch(base + '/missing');
		const redirected = await fetch(base + '/redirect/3');
		const tooMany = await fetch(base + '/redirect/7');
		const errs = [];
		for (const path of ['/big', '/slow']) {
			try { await (await fetch(base + path)).text(); errs.push('ok') } catch (e) { errs.push(e.name + ': ' + e.message) }
		}
		return { raw: {
			same: nodeFetch === fetch && nodeFetch.default === fetch,
			status: post.status, ok: post.ok, ctype: post.headers.get('content-type'), multi: post.headers.get('x-multi'), has: post.headers.has('X-MULTI'),
			echo, text: { method: text.method, ctype: text.ctype, body: text.body },
			missing: [missing.status, missing.ok, missing.statusText, (await missing.text()).trim()],
			redirected: [redirected.redirected, await redirected.text(), redirected.url.endsWith('/redirect/0')],
			tooMany: tooMany.status,
			errs,
		} };
	}`
	res, err := runFetch(t, m, code, map[string]any{"base": srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	host := strings.TrimPrefix(srv.URL, "http://")
	want := `{"same":true,"status":200,"ok":true,"ctype":"application/json","multi":"a, b","has":true,` +
		`"echo":{"auth":"Bearer k","body":"{\"card\":\"4242\"}","ctype":"application/json","host":"` + host + `","method":"POST","ua":"strongroom-reactor"},` +
		`"text":{"method":"PUT","ctype":"text/x","body":"plain"},` +
		`"missing":[404,false,"Not Found","nope"],"redirected":[true,"landed",true],"tooMany":302,` +
		`"errs":["TypeError: fetch failed: response body exceeds 1000 bytes","TypeError: fetch failed: the request timed out"]}`
	if got := rawJSON(t, res); got != want {
		t.Errorf("raw =\n%s\nwant\n%s", got, want)
	}
}

// TestFetchStrictPolicy: the default policy refuses loopback, link-local
// metadata and http before anything is dialled. The metadata address is
// never actually contacted: http and IP literals are refused by the URL
// rules, and the test server counts that no request reached it.
func TestFetchStrictPolicy(t *testing.T) {
	srv, hits := psp(t)
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	cases := []struct{ url, reason string }{
		{fmt.Sprintf("http://127.0.0.1:%d/echo", port), "destination must use https"},
		{fmt.Sprintf("https://127.0.0.1:%d/echo", port), "destination must be a DNS host name, not an IP address"},
		{"http://169.254.169.254/latest/meta-data/", "destination must use https"},
		{"https://169.254.169.254/latest/meta-data/", "destination must be a DNS host name, not an IP address"},
		{"https://[::1]/", "destination must be a DNS host name, not an IP address"},
		{"https://localhost/", "destination host is reserved for internal use"},
		{"https://metadata.google.internal/", "destination host is reserved for internal use"},
		{"https://user:pw@psp.example/", "destination must not include credentials"},
		{"https://psp.example:8443/", "destination must use port 443"},
		{"file:///etc/passwd", "destination must use https"},
		{"https://2130706433/", "destination must be a DNS host name, not an IP address"},
	}
	r := reactor.New(reactor.Limits{Timeout: 3 * time.Second}, &Module{})
	refused, err := r.Compile(`module.exports = async (req) => {
		try { await fetch(req.args.url); return { raw: 'connected' } } catch (e) { return { raw: [e instanceof TypeError, e.message] } }
	}`)
	if err != nil {
		t.Fatal(err)
	}
	normal, err := r.Compile(`module.exports = async (req) => ({ raw: req.args.n + 1 })`)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		res, err := r.Run(context.Background(), refused, reactor.Invocation{Arg: map[string]any{"args": map[string]any{"url": c.url}}})
		if err != nil {
			t.Errorf("%s: %v", c.url, err)
			continue
		}
		if got, want := rawJSON(t, res), `[true,"fetch failed: `+c.reason+`"]`; got != want {
			t.Errorf("%s: %s, want %s", c.url, got, want)
		}
		// The runtime is still healthy.
		res, err = r.Run(context.Background(), normal, reactor.Invocation{Arg: map[string]any{"args": map[string]any{"n": 1}}})
		if err != nil || rawJSON(t, res) != "2" {
			t.Errorf("after %s: %v %v", c.url, res, err)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the local server got %d requests", n)
	}
}

func TestFetchUncaughtRefusal(t *testing.T) {
	_, err := runFetch(t, &Module{}, `module.exports = async () => { await fetch('http://169.254.169.254/') }`, nil)
	var e *reactor.Error
	if !errors.As(err, &e) || e.Status != 500 || e.Errors["error"][0] != "fetch failed: destination must use https" {
		t.Fatalf("err = %+v", err)
	}
	b, _ := json.Marshal(e)
	if strings.Contains(string(b), "169.254") || strings.Contains(string(b), ".go") {
		t.Errorf("leaks: %s", b)
	}
}

func TestFetchBadInput(t *testing.T) {
	srv, _ := psp(t)
	code := `module.exports = async (req) => {
		const out = [];
		const tries = [
			() => fetch(),
			() => fetch(req.args.base + '/echo', { method: 'GET', body: 'x' }),
			() => fetch(req.args.base + '/echo', { method: 'BAD METHOD' }),
			() => fetch(req.args.base + '/echo', { headers: { 'Bad Name': 'x' } }),
			() => fetch(req.args.base + '/echo', { headers: { 'X-Split': 'a\r\nInjected: 1' } }),
			() => fetch(req.args.base + '/echo', { method: 'POST', body: { big: 1n } }),
			() => fetch(req.args.base + '/echo', { method: 'POST', body: 'x'.repeat(2000) }),
			() => fetch(req.args.base + '/echo').then(r => r.text()).then(t => JSON.parse(t).method),
		];
		for (const f of tries) {
			try { out.push(await f()) } catch (e) { out.push(e.name) }
		}
		return { raw: out };
	}`
	res, err := runFetch(t, &Module{AllowInsecure: true, MaxRequestBytes: 1000}, code, map[string]any{"base": srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := rawJSON(t, res), `["TypeError","TypeError","TypeError","TypeError","TypeError","TypeError","TypeError","GET"]`; got != want {
		t.Errorf("raw = %s, want %s", got, want)
	}
}

func TestFetchNotAtCompileTime(t *testing.T) {
	srv, hits := psp(t)
	r := reactor.New(reactor.Limits{Timeout: 2 * time.Second}, &Module{AllowInsecure: true})
	if _, err := r.Compile(`fetch('` + srv.URL + `/echo').catch(() => {}); module.exports = async () => 1`); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	if n := hits.Load(); n != 0 {
		t.Errorf("Compile's export check sent %d requests", n)
	}
}

func TestFetchInFlightLimit(t *testing.T) {
	srv, _ := psp(t)
	code := `module.exports = async (req) => {
		const all = [];
		for (let i = 0; i < 3; i++) all.push(fetch(req.args.base + '/echo').then(() => 'ok', e => e.message));
		return { raw: await Promise.all(all) };
	}`
	res, err := runFetch(t, &Module{AllowInsecure: true, MaxInFlight: 2}, code, map[string]any{"base": srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := rawJSON(t, res), `["ok","ok","fetch failed: more than 2 requests in flight"]`; got != want {
		t.Errorf("raw = %s, want %s", got, want)
	}
}

func TestFetchTimeoutEndsRequest(t *testing.T) {
	srv, _ := psp(t)
	r := reactor.New(reactor.Limits{Timeout: 200 * time.Millisecond}, &Module{AllowInsecure: true})
	p, err := r.Compile(`module.exports = async (req) => { await fetch(req.args.base + '/slow') }`)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = r.Run(context.Background(), p, reactor.Invocation{Arg: map[string]any{"args": map[string]any{"base": srv.URL}}})
	var e *reactor.Error
	if !errors.As(err, &e) || e.Status != 408 || time.Since(start) > time.Second {
		t.Fatalf("err = %+v after %v", err, time.Since(start))
	}
}

func TestCaddyModule(t *testing.T) {
	info, err := caddy.GetModule("vault.reactor_modules.fetch")
	if err != nil {
		t.Fatal(err)
	}
	m := info.New().(*Module)
	if err := json.Unmarshal([]byte(`{"allow_insecure":true,"timeout":"3s","max_redirects":0}`), m); err != nil {
		t.Fatal(err)
	}
	if err := m.Provision(caddy.Context{}); err != nil {
		t.Fatal(err)
	}
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	if !m.AllowInsecure || time.Duration(m.Timeout) != 3*time.Second || *m.MaxRedirects != 0 || m.MaxResponseBytes != DefaultMaxResponseBytes || m.MaxInFlight != DefaultMaxInFlight {
		t.Errorf("module = %+v", m)
	}
}

func TestUnmarshalCaddyfile(t *testing.T) {
	d := caddyfile.NewTestDispenser(`fetch {
		allow_insecure
		timeout 10s
		max_response_bytes 2048
		max_request_bytes 1024
		max_redirects 0
		max_in_flight 4
	}`)
	var m Module
	if err := m.UnmarshalCaddyfile(d); err != nil {
		t.Fatal(err)
	}
	if !m.AllowInsecure || time.Duration(m.Timeout) != 10*time.Second || m.MaxResponseBytes != 2048 || m.MaxRequestBytes != 1024 || *m.MaxRedirects != 0 || m.MaxInFlight != 4 {
		t.Errorf("module = %+v", &m)
	}
	for _, bad := range []string{`fetch x`, `fetch { timeout }`, `fetch { timeout soon }`, `fetch { max_redirects -1 }`, `fetch { allow_insecure yes }`, `fetch { nope }`} {
		var m Module
		if err := m.UnmarshalCaddyfile(caddyfile.NewTestDispenser(bad)); err == nil {
			t.Errorf("%q: accepted", bad)
		}
	}
}

func TestUseEgress(t *testing.T) {
	srv, _ := psp(t)
	m := &Module{}
	if err := m.Provision(caddy.Context{}); err != nil {
		t.Fatal(err)
	}
	m.UseEgress(egress.Policy{AllowInsecure: true, Timeout: 7 * time.Second})
	res, err := runFetch(t, m, `module.exports = async (req) => ({ raw: (await fetch(req.args.base + '/echo')).status })`, map[string]any{"base": srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if got := rawJSON(t, res); got != "200" {
		t.Errorf("raw = %s", got)
	}
	if time.Duration(m.Timeout) != 7*time.Second || *m.MaxRedirects != DefaultMaxRedirects {
		t.Errorf("module = %+v", m)
	}
	// An own timeout is kept; a strict vault policy does not tighten an
	// explicitly insecure module.
	m2 := &Module{AllowInsecure: true, Timeout: caddy.Duration(time.Second)}
	m2.UseEgress(egress.Policy{Timeout: 9 * time.Second})
	if !m2.AllowInsecure || time.Duration(m2.Timeout) != time.Second {
		t.Errorf("module = %+v", m2)
	}
}

func TestMain(m *testing.M) {
	egress.AllowSelfForTests() // the tests' own httptest servers are destinations
	os.Exit(m.Run())
}
