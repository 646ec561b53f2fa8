package test

// End-to-end tests of the detokenizing proxy through the real binary:
// ephemeral `/proxy` (wire contract §5.1-§5.2, seed 001 "Proxy"),
// pre-configured `/proxies` and their invocation (§4.3, §5.3), the
// permission models of both API generations, and the egress (SSRF) policy.
//
// Servers that must reach a local upstream run with
// STRONGROOM_ALLOW_INSECURE_DESTINATIONS=true (http, IP literals and
// loopback allowed; TLS still verified, so the TLS upstream's certificate is
// made trusted through SSL_CERT_FILE). The strict-policy test never sends
// traffic anywhere but loopback: every destination it tries is refused by
// the URL rules before any connection.

import (
	"bytes"
	"compress/gzip"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strongroom/strongroom/test/harness"
)

// envInsecure lets the server's proxy reach the local upstreams.
const envInsecure = "STRONGROOM_ALLOW_INSECURE_DESTINATIONS=true"

// ---------------------------------------------------------------- upstream

// upReq is one request as the upstream received it.
type upReq struct {
	Method, Path, RawQuery, Host string
	RequestURI                   string // as sent on the wire
	Header                       http.Header
	Body                         []byte
}

// upstream is a local destination that records every request it receives.
// Behaviour by path suffix: `/slow` answers after 3 s (or when the caller
// gives up), `/echo` answers with the request body (gzipped when the
// client accepts gzip), `/upload` releases "upload" once the first MiB of the request
// body arrived, `/large` sends largeSize bytes, `/stream` (chunked) and
// `/stream-sized` (with Content-Length) send 1 MiB, wait for release of
// their path, then send the rest; anything else answers with the status
// named by the request header X-Reply-Status (default 200), the headers
// X-Upstream and Content-Type, and upstreamBody.
type upstream struct {
	srv     *httptest.Server
	URL     string
	mu      sync.Mutex
	got     []upReq
	release map[string]chan struct{} // by path suffix
}

const (
	upstreamBody = `{"upstream":"ok"}`
	largeSize    = 8 << 20
	streamHead   = 1 << 20
)

// gzipBody is a gzip stream the upstream sends with Content-Encoding gzip.
var gzipBody = func() []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write(bytes.Repeat([]byte("compressed upstream answer "), 100))
	zw.Close()
	return b.Bytes()
}()

// largeBody is a deterministic 8 MiB payload.
var largeBody = func() []byte {
	b := make([]byte, largeSize)
	r := mrand.New(mrand.NewPCG(7, 11))
	for i := 0; i < len(b); i += 8 {
		v := r.Uint64()
		for j := 0; j < 8 && i+j < len(b); j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return b
}()

func (u *upstream) handle(w http.ResponseWriter, r *http.Request) {
	if strings.HasSuffix(r.URL.Path, "/upload") {
		// Tell the client the first MiB arrived before reading the rest.
		head := make([]byte, streamHead)
		if _, err := io.ReadFull(r.Body, head); err == nil {
			close(u.release["upload"])
		}
		rest, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(append(head, rest...)))
	}
	body, _ := io.ReadAll(r.Body)
	u.mu.Lock()
	u.got = append(u.got, upReq{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Host: r.Host,
		RequestURI: r.RequestURI, Header: r.Header.Clone(), Body: body})
	u.mu.Unlock()
	switch {
	case strings.HasSuffix(r.URL.Path, "/slow"):
		select {
		case <-time.After(3 * time.Second):
		case <-r.Context().Done():
			return
		}
		w.WriteHeader(http.StatusOK)
	case strings.HasSuffix(r.URL.Path, "/large"):
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.Itoa(len(largeBody)))
		w.Write(largeBody)
	case strings.HasSuffix(r.URL.Path, "/echo"):
		// The request body back, gzipped when the client accepts it.
		w.Header().Set("Content-Type", "application/json")
		if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			w.Header().Set("Content-Encoding", "gzip")
			zw := gzip.NewWriter(w)
			zw.Write(body)
			zw.Close()
			return
		}
		w.Write(body)
	case strings.HasSuffix(r.URL.Path, "/gzip"):
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Content-Encoding", "gzip")
		w.Write(gzipBody)
	case strings.HasSuffix(r.URL.Path, "/stream"), strings.HasSuffix(r.URL.Path, "/stream-sized"):
		w.Header().Set("Content-Type", "application/octet-stream")
		release := u.release["stream"]
		if strings.HasSuffix(r.URL.Path, "/stream-sized") {
			w.Header().Set("Content-Length", strconv.Itoa(len(largeBody)))
			release = u.release["stream-sized"]
		}
		w.WriteHeader(http.StatusOK)
		w.Write(largeBody[:streamHead])
		http.NewResponseController(w).Flush()
		select {
		case <-release:
		case <-time.After(10 * time.Second):
			return // the client never saw the head: the proxy buffered
		case <-r.Context().Done():
			return
		}
		w.Write(largeBody[streamHead:])
	default:
		st := http.StatusOK
		if s := r.Header.Get("X-Reply-Status"); s != "" {
			st, _ = strconv.Atoi(s)
		}
		w.Header().Set("X-Upstream", "strongroom-test")
		w.Header().Set("Content-Type", "application/json")
		w.Header().Add("Set-Cookie", "a=1; Path=/")
		w.Header().Add("Set-Cookie", "b=2; Path=/")
		if st >= 300 && st < 400 {
			w.Header().Set("Location", "/elsewhere")
		}
		w.WriteHeader(st)
		io.WriteString(w, upstreamBody)
	}
}

func newUpstreamServer(t testing.TB, srv *httptest.Server) *upstream {
	u := &upstream{srv: srv, release: map[string]chan struct{}{
		"stream": make(chan struct{}), "stream-sized": make(chan struct{}), "upload": make(chan struct{})}}
	srv.Config.Handler = http.HandlerFunc(u.handle)
	t.Cleanup(srv.Close)
	return u
}

// newUpstream starts a plain-http upstream on 127.0.0.1.
func newUpstream(t testing.TB) *upstream {
	srv := httptest.NewUnstartedServer(nil)
	u := newUpstreamServer(t, srv)
	srv.Start()
	u.URL = srv.URL
	return u
}

// newTLSUpstream starts an https upstream with httptest's certificate
// (valid for 127.0.0.1) and writes that certificate to a PEM file, for the
// server's SSL_CERT_FILE.
func newTLSUpstream(t testing.TB) (u *upstream, caFile string) {
	srv := httptest.NewUnstartedServer(nil)
	u = newUpstreamServer(t, srv)
	srv.StartTLS()
	u.URL = srv.URL
	caFile = filepath.Join(t.TempDir(), "upstream-ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(caFile, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	return u, caFile
}

// newUntrustedTLSUpstream starts an https upstream whose self-signed
// certificate (valid for 127.0.0.1) nobody trusts.
func newUntrustedTLSUpstream(t testing.TB) *upstream {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(42),
		Subject:      pkix.Name{CommonName: "untrusted"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:         true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(nil)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes are the point
	u := newUpstreamServer(t, srv)
	srv.StartTLS()
	u.URL = srv.URL
	return u
}

// take returns and forgets the requests received so far.
func (u *upstream) take() []upReq {
	u.mu.Lock()
	defer u.mu.Unlock()
	got := u.got
	u.got = nil
	return got
}

// one asserts exactly one request arrived and returns it.
func (u *upstream) one(t testing.TB, what string) upReq {
	t.Helper()
	got := u.take()
	if len(got) != 1 {
		t.Fatalf("%s: upstream received %d requests, want 1", what, len(got))
	}
	return got[0]
}

// none asserts nothing reached the upstream.
func (u *upstream) none(t testing.TB, what string) {
	t.Helper()
	if got := u.take(); len(got) != 0 {
		t.Errorf("%s: %d request(s) reached the upstream, want none (first: %s %s?%s body %.200q)",
			what, len(got), got[0].Method, got[0].Path, got[0].RawQuery, got[0].Body)
	}
}

// closedPort returns a loopback port nothing listens on.
func closedPort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

// ---------------------------------------------------------------- servers

// proxyServer starts a server with the repo Caddyfile that may reach local
// destinations; extra env entries are added.
func proxyServer(t *testing.T, env ...string) *harness.Server {
	t.Helper()
	return harness.Start(t, harness.Options{Env: append([]string{envInsecure}, env...)})
}

// repoCaddyfileWith returns the repo Caddyfile with lines added to the
// global `vault { }` block.
func repoCaddyfileWith(t testing.TB, lines ...string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(harness.RepoRoot(), "Caddyfile"))
	if err != nil {
		t.Fatal(err)
	}
	src := string(b)
	const anchor = "\tvault {\n"
	if !strings.Contains(src, anchor) {
		t.Fatalf("the repo Caddyfile has no %q block:\n%s", anchor, src)
	}
	add := ""
	for _, l := range lines {
		add += "\t\t" + l + "\n"
	}
	return strings.Replace(src, anchor, anchor+add, 1)
}

// ---------------------------------------------------------------- requests

// pcall is one request to the proxy.
type pcall struct {
	method string            // default POST
	path   string            // default /proxy
	key    string            // BT-API-KEY ("" = none)
	dest   string            // BT-PROXY-URL ("" = none)
	header map[string]string // more headers (raw names, not canonicalised)
	body   string
	ctype  string // Content-Type; default application/json when body != ""
}

func (c pcall) request(t testing.TB, s *harness.Server) *http.Request {
	t.Helper()
	method, path := c.method, c.path
	if method == "" {
		method = http.MethodPost
	}
	if path == "" {
		path = "/proxy"
	}
	var rd io.Reader
	if c.body != "" {
		rd = strings.NewReader(c.body)
	}
	req, err := http.NewRequest(method, s.BaseURL+path, rd)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	if c.body != "" {
		ct := c.ctype
		if ct == "" {
			ct = "application/json"
		}
		req.Header.Set("Content-Type", ct)
	}
	if c.key != "" {
		req.Header.Set("BT-API-KEY", c.key)
	}
	if c.dest != "" {
		req.Header.Set("BT-PROXY-URL", c.dest)
	}
	for k, v := range c.header {
		req.Header[k] = []string{v}
	}
	return req
}

// noRedirect is a client that hands 3xx answers back as they are.
var noRedirect = &http.Client{
	Timeout:       30 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

func (c pcall) do(t testing.TB, s *harness.Server) (int, http.Header, []byte) {
	t.Helper()
	req := c.request(t, s)
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", req.Method, req.URL, err)
	}
	return resp.StatusCode, resp.Header, b
}

// ok sends c, requires a 200 passed through from the upstream, and returns
// the one request the upstream received.
func (c pcall) ok(t testing.TB, s *harness.Server, u *upstream, what string) upReq {
	t.Helper()
	st, hdr, body := c.do(t, s)
	if st != http.StatusOK || hdr.Get("BT-PROXY-DESTINATION-STATUS") != "200" {
		u.take()
		t.Fatalf("%s: status %d (BT-PROXY-DESTINATION-STATUS %q), want 200 from the upstream; body %s",
			what, st, hdr.Get("BT-PROXY-DESTINATION-STATUS"), body)
	}
	return u.one(t, what)
}

// fails sends c and checks a proxy error of status want that reached
// nothing; it returns the inner problem.
func (c pcall) fails(t testing.TB, s *harness.Server, u *upstream, what string, want int) map[string]any {
	t.Helper()
	st, hdr, body := c.do(t, s)
	p := checkProxyError(t, what, st, hdr, body, want)
	u.none(t, what)
	return p
}

// checkProxyError asserts `{"proxy_error": <RFC 7807>}` with status want,
// answered by the vault itself (no BT-PROXY-DESTINATION-STATUS); it
// returns the inner problem.
func checkProxyError(t testing.TB, what string, status int, hdr http.Header, body []byte, want int) map[string]any {
	t.Helper()
	if status != want {
		t.Errorf("%s: status %d, want %d; body %s", what, status, want, body)
	}
	if d := hdr.Get("BT-PROXY-DESTINATION-STATUS"); d != "" {
		t.Errorf("%s: BT-PROXY-DESTINATION-STATUS %q on an error of the proxy itself", what, d)
	}
	if ct := hdr.Get("Content-Type"); !strings.Contains(ct, "json") {
		t.Errorf("%s: Content-Type %q, want JSON", what, ct)
	}
	var outer map[string]json.RawMessage
	if err := json.Unmarshal(body, &outer); err != nil {
		t.Errorf("%s: body is not a JSON object (%v): %s", what, err, body)
		return nil
	}
	if len(outer) != 1 || outer["proxy_error"] == nil {
		t.Errorf("%s: want exactly {\"proxy_error\": ...}, got %s", what, body)
		return nil
	}
	var p map[string]any
	if err := json.Unmarshal(outer["proxy_error"], &p); err != nil {
		t.Errorf("%s: proxy_error is not an object: %s", what, body)
		return nil
	}
	checkFields(t, what+" proxy_error", p, []string{"title", "status"}, problemAllowed)
	if num(p["status"]) != want {
		t.Errorf("%s: proxy_error.status %v, want %d", what, p["status"], want)
	}
	if s, _ := p["title"].(string); s == "" {
		t.Errorf("%s: proxy_error.title is empty: %s", what, body)
	}
	if e, ok := p["errors"]; ok {
		if _, isObj := e.(map[string]any); !isObj {
			t.Errorf("%s: proxy_error.errors is not an object: %s", what, body)
		}
	}
	return p
}

// ---------------------------------------------------------------- tokens

// proxyTokens are the tokens the ephemeral tests detokenize.
type proxyTokens struct {
	card string // type card (pci), metadata name Jane
	obj  string // type token, data {"x":"ex-value","n":{"y":"Y"}}
	str  string // type token, data "hello world"
	pan  string // type card_number (pci)
}

var cardData = map[string]any{"number": "4242424242424242", "expiration_month": 3.0, "expiration_year": 2030.0, "cvc": "123"}

func mkToken(t testing.TB, s *harness.Server, key string, body map[string]any) string {
	t.Helper()
	tok := s.JSON(t, "POST", "/tokens", key, body, http.StatusCreated)
	return tok["id"].(string)
}

// writerKey returns a key of a private application that may create and
// read every token (current model).
func writerKey(t testing.TB, s *harness.Server) string {
	t.Helper()
	_, key := privateAppWith(t, s, "writer", "token:create", "token:read", "token:update", "token:delete")
	return key
}

func makeProxyTokens(t testing.TB, s *harness.Server, writer string) proxyTokens {
	t.Helper()
	return proxyTokens{
		card: mkToken(t, s, writer, map[string]any{"type": "card", "data": cardData, "metadata": map[string]any{"name": "Jane"}}),
		obj:  mkToken(t, s, writer, map[string]any{"type": "token", "data": map[string]any{"x": "ex-value", "n": map[string]any{"y": "Y"}}}),
		str:  mkToken(t, s, writer, map[string]any{"type": "token", "data": "hello world"}),
		pan:  mkToken(t, s, writer, map[string]any{"type": "card_number", "data": "4242424242424242"}),
	}
}

// sub replaces the placeholders CARD, OBJ, STR and PAN with token ids.
func (k proxyTokens) sub(s string) string {
	return strings.NewReplacer("CARD", k.card, "OBJ", k.obj, "STR", k.str, "PAN", k.pan).Replace(s)
}

// invokerKey returns a private application with proxy:invoke and token:use
// on the whole tenant.
func invokerKey(t testing.TB, s *harness.Server) string {
	t.Helper()
	_, key := privateAppWith(t, s, "invoker", "proxy:invoke", "token:use")
	return key
}

// ---------------------------------------------------------------- ephemeral

// TestProxyEphemeral: `/proxy` with BT-PROXY-URL forwards the request to the
// destination with every expression resolved and nothing else changed, and
// streams the destination's answer back unchanged.
func TestProxyEphemeral(t *testing.T) {
	t.Parallel()
	up := newUpstream(t)
	tlsUp, caFile := newTLSUpstream(t)
	badTLS := newUntrustedTLSUpstream(t)
	s := proxyServer(t, "SSL_CERT_FILE="+caFile)
	k := makeProxyTokens(t, s, writerKey(t, s))
	key := invokerKey(t, s)

	t.Run("methods, path and query", func(t *testing.T) {
		for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
			c := pcall{method: m, path: "/proxy/foo/bar?x=1&y=a%20b&x=2", key: key, dest: up.URL + "/api/"}
			if m == "POST" || m == "PUT" || m == "PATCH" {
				c.body = `{"k": "v"}`
			}
			got := c.ok(t, s, up, m)
			if got.Method != m || got.Path != "/api/foo/bar" || got.RawQuery != "x=1&y=a%20b&x=2" {
				t.Errorf("%s /proxy/foo/bar?...: upstream got %s %s?%s, want %s /api/foo/bar?x=1&y=a%%20b&x=2", m, got.Method, got.Path, got.RawQuery, m)
			}
			if string(got.Body) != c.body {
				t.Errorf("%s: upstream body %q, want %q", m, got.Body, c.body)
			}
		}
		got := pcall{method: "GET", key: key, dest: up.URL + "/api"}.ok(t, s, up, "GET /proxy")
		if got.Path != "/api" || got.RawQuery != "" {
			t.Errorf("GET /proxy: upstream got %s?%s, want /api", got.Path, got.RawQuery)
		}
		got = pcall{method: "GET", path: "/proxy/z?x=1", key: key, dest: up.URL + "/api?k=v"}.ok(t, s, up, "destination with a query")
		if got.Path != "/api/z" || got.RawQuery != "k=v&x=1" {
			t.Errorf("destination with a query: upstream got %s?%s, want /api/z?k=v&x=1", got.Path, got.RawQuery)
		}
		if want := strings.TrimPrefix(up.URL, "http://"); got.Host != want {
			t.Errorf("upstream saw Host %q, want its own %q", got.Host, want)
		}
	})

	t.Run("body bytes exact", func(t *testing.T) {
		body := k.sub(`{"b":"{{ CARD }}","a":1.50,"n":"{{ OBJ | json: '$.x' }}","s":"card {{ PAN | last4 }}"}`)
		got := pcall{key: key, dest: up.URL, body: body}.ok(t, s, up, "seed-shaped body")
		prefix, suffix := `{"b":`, `,"a":1.50,"n":"ex-value","s":"card 4242"}`
		b := string(got.Body)
		if !strings.HasPrefix(b, prefix) || !strings.HasSuffix(b, suffix) || len(b) < len(prefix)+len(suffix) {
			t.Fatalf("upstream body\n  %s\nwant\n  %s<card object>%s", b, prefix, suffix)
		}
		var card map[string]any
		if err := json.Unmarshal([]byte(b[len(prefix):len(b)-len(suffix)]), &card); err != nil || !reflect.DeepEqual(card, cardData) {
			t.Errorf("embedded card %s (%v), want %s", b[len(prefix):len(b)-len(suffix)], err, js(cardData))
		}

		// Whitespace, escapes, big and exponent numbers, arrays, keys that
		// look like expressions: all untouched around the expressions.
		in := "{\n  \"amount\" : 1.50,\n\t\"big\": 12345678901234567890, \"exp\": 1e-7,\n" +
			"  \"caf\\u00e9\": \"caf\\u00e9\", \"quoted\": \"say \\\"{{ STR }}\\\"\",\n" +
			"  \"list\": [ \"{{ PAN }}\" , true, null, -0.0 ],\n" +
			"  \"nested\": { \"month\": \"{{ CARD | json: '$.expiration_month' }}\", \"{{ STR }}\": 1 },\n" +
			"  \"not\": \"{ { STR } }\"\n}\n"
		want := "{\n  \"amount\" : 1.50,\n\t\"big\": 12345678901234567890, \"exp\": 1e-7,\n" +
			"  \"caf\\u00e9\": \"caf\\u00e9\", \"quoted\": \"say \\\"hello world\\\"\",\n" +
			"  \"list\": [ \"4242424242424242\" , true, null, -0.0 ],\n" +
			"  \"nested\": { \"month\": \"3\", \"{{ STR }}\": 1 },\n" +
			"  \"not\": \"{ { STR } }\"\n}\n"
		got = pcall{key: key, dest: up.URL, body: k.sub(in)}.ok(t, s, up, "formatted body")
		if string(got.Body) != k.sub(want) {
			t.Errorf("formatted body:\n got %q\nwant %q", got.Body, k.sub(want))
		}
		if cl := got.Header.Get("Content-Length"); cl != "" && cl != strconv.Itoa(len(got.Body)) {
			t.Errorf("Content-Length %s for a %d-byte body", cl, len(got.Body))
		}

		// A body without expressions goes through byte for byte.
		plain := "{ \"a\" : 1.50 ,\"b\":\"\\u003c\\/x\\u003e\" }"
		got = pcall{key: key, dest: up.URL, body: plain}.ok(t, s, up, "no expressions")
		if string(got.Body) != plain {
			t.Errorf("body without expressions changed: %q, want %q", got.Body, plain)
		}
	})

	t.Run("non-JSON body", func(t *testing.T) {
		got := pcall{key: key, dest: up.URL, ctype: "application/x-www-form-urlencoded",
			body: k.sub("card={{ PAN }}&exp={{ CARD | json: '$.expiration_year' }}&x=1")}.ok(t, s, up, "form body")
		if string(got.Body) != "card=4242424242424242&exp=2030&x=1" {
			t.Errorf("form body: upstream got %q", got.Body)
		}
		if ct := got.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
			t.Errorf("Content-Type %q not forwarded as sent", ct)
		}
	})

	t.Run("expression generations", func(t *testing.T) {
		in := `{"a":"{{STR}}","a2":"{{ STR }}","bare":"{{ OBJ | $.x }}","bare2":"{{ OBJ | $.n.y }}",` +
			`"json":"{{ OBJ | json: '$.x' }}","json2":"{{ OBJ | json: "$.n.y" }}",` +
			`"tok":"{{ token: CARD | json: '$.data.number' }}","meta":"{{ token: CARD | json: '$.metadata.name' }}",` +
			`"id":"{{ token: CARD | json: '$.id' }}","two":"{{ STR }} / {{ OBJ | json: '$.x' }}"}`
		in = strings.ReplaceAll(in, `"$.n.y"`, `\"$.n.y\"`)
		want := `{"a":"hello world","a2":"hello world","bare":"ex-value","bare2":"Y",` +
			`"json":"ex-value","json2":"Y",` +
			`"tok":"4242424242424242","meta":"Jane",` +
			`"id":"CARD","two":"hello world / ex-value"}`
		got := pcall{key: key, dest: up.URL, body: k.sub(in)}.ok(t, s, up, "generations")
		if string(got.Body) != k.sub(want) {
			t.Errorf("generations:\n got %s\nwant %s", got.Body, k.sub(want))
		}
	})

	t.Run("filters", func(t *testing.T) {
		in := `{"last4":"{{ PAN | last4 }}","bin":"{{ PAN | card_bin }}","bin6":"{{ CARD | json: '$.number' | slice: 0, 6 }}",` +
			`"pad":"{{ CARD | json: '$.expiration_month' | pad_left: 2, '0' }}","up":"{{ STR | upcase }}",` +
			`"slice":"{{ STR | slice: 0, 5 }}","chain":"{{ token: CARD | json: '$.data.number' | last4 }}"}`
		want := `{"last4":"4242","bin":"42424242","bin6":"424242","pad":"03","up":"HELLO WORLD","slice":"hello","chain":"4242"}`
		got := pcall{key: key, dest: up.URL, body: k.sub(in)}.ok(t, s, up, "filters")
		if string(got.Body) != want {
			t.Errorf("filters:\n got %s\nwant %s", got.Body, want)
		}
	})

	t.Run("header and query expressions", func(t *testing.T) {
		q := url.Values{"pan": {k.sub("{{ PAN }}")}, "plain": {"1"}}
		got := pcall{method: "GET", path: "/proxy/q?" + q.Encode(), key: key, dest: up.URL, header: map[string]string{
			"Authorization": k.sub("Basic {{ OBJ | json: '$.x' }}"),
			"X-Last4":       k.sub("{{ PAN | last4 }}"),
		}}.ok(t, s, up, "header and query")
		if a := got.Header.Get("Authorization"); a != "Basic ex-value" {
			t.Errorf("Authorization header: upstream got %q, want %q", a, "Basic ex-value")
		}
		if a := got.Header.Get("X-Last4"); a != "4242" {
			t.Errorf("X-Last4 header: upstream got %q, want 4242", a)
		}
		gq, _ := url.ParseQuery(got.RawQuery)
		if gq.Get("pan") != "4242424242424242" || gq.Get("plain") != "1" || len(gq) != 2 {
			t.Errorf("query: upstream got %q, want pan=4242424242424242&plain=1", got.RawQuery)
		}
	})

	// Only a parameter holding an expression is rewritten: the others keep
	// their order and escaping, so a signed query still verifies.
	t.Run("query rewritten only where it holds an expression", func(t *testing.T) {
		raw := "b=1&pan=" + url.QueryEscape(k.sub("{{ PAN }}")) + "&a=hello%20world&c=x+y&d=%7e"
		got := pcall{method: "GET", path: "/proxy/q?" + raw, key: key, dest: up.URL}.ok(t, s, up, "touched query")
		if want := "b=1&pan=4242424242424242&a=hello%20world&c=x+y&d=%7e"; got.RawQuery != want {
			t.Errorf("query: upstream got %q, want %q", got.RawQuery, want)
		}
		got = pcall{method: "GET", path: "/proxy/q?b=1&a=hello%20world&d=%7e", key: key, dest: up.URL}.ok(t, s, up, "untouched query")
		if want := "b=1&a=hello%20world&d=%7e"; got.RawQuery != want {
			t.Errorf("untouched query: upstream got %q, want %q", got.RawQuery, want)
		}
	})

	t.Run("headers forwarded", func(t *testing.T) {
		got := pcall{key: key, dest: up.URL, body: `{}`, header: map[string]string{
			"BT-TRACE-ID":   "trace-proxy-1",
			"Bt-Custom":     "control",
			"Authorization": "Bearer psp-secret",
			"X-Custom":      "custom value",
			"X.Dot":         "dropped",
			"Accept":        "application/json",
		}}.ok(t, s, up, "headers")
		for name := range got.Header {
			if strings.HasPrefix(strings.ToUpper(name), "BT-") {
				t.Errorf("control header %s reached the upstream: %q", name, got.Header[name])
			}
		}
		for name, want := range map[string]string{"Authorization": "Bearer psp-secret", "X-Custom": "custom value",
			"Accept": "application/json", "Content-Type": "application/json"} {
			if v := got.Header.Get(name); v != want {
				t.Errorf("header %s: upstream got %q, want %q", name, v, want)
			}
		}
		if _, ok := got.Header["X.Dot"]; ok {
			t.Errorf("header X.Dot (a name outside [A-Za-z0-9_-]) was forwarded")
		}
		if strings.Contains(fmt.Sprint(got.Header), key) {
			t.Errorf("the caller's API key reached the upstream: %v", got.Header)
		}
		// The reserved headers set the hop-by-hop ones (wire contract §5.2).
		got = pcall{key: key, dest: up.URL, body: `{}`, header: map[string]string{
			"BT-PROXY-KEEP-ALIVE": "timeout=5, max=100",
			"BT-PROXY-CONNECTION": "close",
		}}.ok(t, s, up, "reserved headers")
		if v := got.Header.Get("Keep-Alive"); v != "timeout=5, max=100" {
			t.Errorf("BT-PROXY-KEEP-ALIVE: upstream Keep-Alive %q", v)
		}
		if v := got.Header.Get("Connection"); !strings.EqualFold(v, "close") {
			t.Errorf("BT-PROXY-CONNECTION: upstream Connection %q", v)
		}
	})

	t.Run("response passes through", func(t *testing.T) {
		for _, st := range []int{200, 201, 204, 302, 404, 418, 500, 503} {
			c := pcall{key: key, dest: up.URL, body: `{}`, header: map[string]string{"X-Reply-Status": strconv.Itoa(st)}}
			status, hdr, body := c.do(t, s)
			up.one(t, fmt.Sprint("upstream status ", st)) // a 3xx is not followed
			if status != st || hdr.Get("BT-PROXY-DESTINATION-STATUS") != strconv.Itoa(st) {
				t.Errorf("upstream %d: got %d with BT-PROXY-DESTINATION-STATUS %q", st, status, hdr.Get("BT-PROXY-DESTINATION-STATUS"))
			}
			if hdr.Get("X-Upstream") != "strongroom-test" || hdr.Get("Content-Type") != "application/json" {
				t.Errorf("upstream %d: response headers not passed through: %v", st, hdr)
			}
			if c := hdr.Values("Set-Cookie"); len(c) != 2 {
				t.Errorf("upstream %d: Set-Cookie %q, want both of the upstream's", st, c)
			}
			if st >= 300 && st < 400 && hdr.Get("Location") != "/elsewhere" {
				t.Errorf("upstream %d: Location %q not passed through", st, hdr.Get("Location"))
			}
			wantBody := upstreamBody
			if st == 204 {
				wantBody = ""
			}
			if string(body) != wantBody {
				t.Errorf("upstream %d: body %q, want %q (unwrapped)", st, body, wantBody)
			}
		}
	})

	t.Run("encoded path forwarded as sent", func(t *testing.T) {
		got := pcall{method: "GET", path: "/proxy/items/a%2Fb/caf%C3%A9?q=a%2Fb", key: key, dest: up.URL + "/api"}.ok(t, s, up, "encoded path")
		if got.RequestURI != "/api/items/a%2Fb/caf%C3%A9?q=a%2Fb" {
			t.Errorf("encoded path: upstream request-target %q, want /api/items/a%%2Fb/caf%%C3%%A9?q=a%%2Fb", got.RequestURI)
		}
	})

	t.Run("compressed response untouched", func(t *testing.T) {
		st, hdr, body := pcall{method: "GET", path: "/proxy/gzip", key: key, dest: up.URL,
			header: map[string]string{"Accept-Encoding": "gzip"}}.do(t, s)
		got := up.one(t, "gzip")
		if got.Header.Get("Accept-Encoding") != "gzip" {
			t.Errorf("Accept-Encoding not forwarded: %q", got.Header.Get("Accept-Encoding"))
		}
		if st != 200 || hdr.Get("Content-Encoding") != "gzip" || !bytes.Equal(body, gzipBody) {
			t.Errorf("gzip: status %d, Content-Encoding %q, body %d bytes (equal %v), want the upstream's compressed bytes",
				st, hdr.Get("Content-Encoding"), len(body), bytes.Equal(body, gzipBody))
		}
	})

	t.Run("large response", func(t *testing.T) {
		st, hdr, body := pcall{method: "GET", path: "/proxy/large", key: key, dest: up.URL}.do(t, s)
		up.one(t, "large")
		if st != 200 || hdr.Get("BT-PROXY-DESTINATION-STATUS") != "200" {
			t.Fatalf("large: status %d", st)
		}
		if len(body) != largeSize || sha256.Sum256(body) != sha256.Sum256(largeBody) {
			t.Errorf("large: got %d bytes (sha256 match %v), want the upstream's %d bytes intact",
				len(body), sha256.Sum256(body) == sha256.Sum256(largeBody), largeSize)
		}
	})

	for _, name := range []string{"stream", "stream-sized"} {
		t.Run("response is streamed: "+name, func(t *testing.T) {
			// The upstream sends 1 MiB, then waits until the client has read
			// it: a proxy that buffers the whole answer would deadlock until
			// the upstream gives up (10 s) and deliver a short body. Chunked
			// and sized answers take different paths through the proxy.
			req := pcall{method: "GET", path: "/proxy/" + name, key: key, dest: up.URL}.request(t, s)
			resp, err := s.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			head := make([]byte, streamHead)
			t0 := time.Now()
			_, err = io.ReadFull(resp.Body, head)
			elapsed := time.Since(t0)
			close(up.release[name])
			if err != nil || !bytes.Equal(head, largeBody[:streamHead]) || elapsed > 5*time.Second {
				t.Fatalf("%s: first MiB after %v (%v): the answer is not streamed", name, elapsed, err)
			}
			rest, err := io.ReadAll(resp.Body)
			if err != nil || !bytes.Equal(rest, largeBody[streamHead:]) {
				t.Errorf("%s: rest %d bytes (%v), want %d intact", name, len(rest), err, largeSize-streamHead)
			}
			up.one(t, name)
		})
	}

	t.Run("tls destination", func(t *testing.T) {
		got := pcall{key: key, dest: tlsUp.URL + "/secure", body: k.sub(`{"pan":"{{ PAN }}"}`)}.ok(t, s, tlsUp, "trusted TLS")
		if got.Path != "/secure" || string(got.Body) != `{"pan":"4242424242424242"}` {
			t.Errorf("trusted TLS: upstream got %s %q", got.Path, got.Body)
		}
		// TLS is verified even with insecure destinations allowed.
		pcall{key: key, dest: badTLS.URL, body: k.sub(`{"pan":"{{ PAN }}"}`)}.fails(t, s, badTLS, "untrusted TLS certificate", http.StatusBadGateway)
	})
}

// ---------------------------------------------------------------- errors

// TestProxyErrors: every failure of the proxy itself is a `proxy_error`
// with the right status, and none of them sends anything to the
// destination (except the timeout, which by nature reached it).
func TestProxyErrors(t *testing.T) {
	t.Parallel()
	up := newUpstream(t)
	s := harness.Start(t, harness.Options{Caddyfile: repoCaddyfileWith(t, "proxy_timeout 1s"), Env: []string{envInsecure}})
	writer := writerKey(t, s)
	k := makeProxyTokens(t, s, writer)
	key := invokerKey(t, s)
	gen := mkToken(t, s, writer, map[string]any{"type": "token", "data": "general secret"})
	tokBody := k.sub(`{"pan":"{{ PAN }}"}`)

	t.Run("missing BT-PROXY-URL", func(t *testing.T) {
		st, hdr, body := pcall{key: key, body: tokBody}.do(t, s)
		checkProxyError(t, "no BT-PROXY-URL", st, hdr, body, http.StatusBadRequest)
		if !strings.Contains(strings.ToUpper(string(body)), "BT-PROXY-URL") {
			t.Errorf("the error does not name BT-PROXY-URL: %s", body)
		}
		up.none(t, "no BT-PROXY-URL")
	})

	t.Run("invalid BT-PROXY-URL", func(t *testing.T) {
		port := strings.TrimPrefix(up.URL, "http://127.0.0.1:")
		for _, dest := range []string{
			"not a url", "example.com/api", "ftp://127.0.0.1:" + port + "/", "://nope", "http://",
			"http://user:pass@127.0.0.1:" + port + "/", "http://127.0.0.1:99999/", "http://127.0.0.1:0/",
			"javascript:alert(1)", "http://127.0.0.1:" + port + "/%zz",
		} {
			pcall{key: key, dest: dest, body: tokBody}.fails(t, s, up, "BT-PROXY-URL "+dest, http.StatusBadRequest)
		}
	})

	t.Run("unknown token", func(t *testing.T) {
		missing := "5f0e0d6b-6b1b-4c1f-9b0a-0e9f3d4a2b1c"
		p := pcall{key: key, dest: up.URL, body: k.sub(`{"ok":"{{ PAN }}","bad":"{{ ` + missing + ` }}"}`)}.fails(t, s, up, "unknown token", http.StatusBadRequest)
		if d, _ := p["detail"].(string); !strings.Contains(d, "Failed to detokenize some tokens") || !strings.Contains(d, missing) {
			t.Errorf("unknown token: detail %q, want \"Failed to detokenize some tokens: %s\"", d, missing)
		}
		// In a header too.
		pcall{key: key, dest: up.URL, body: `{}`, header: map[string]string{"X-Card": "{{ " + missing + " }}"}}.fails(t, s, up, "unknown token in a header", http.StatusBadRequest)
	})

	t.Run("token limit", func(t *testing.T) {
		data := make([]string, 101)
		for i := range data {
			data[i] = fmt.Sprintf("limit-%d", i)
		}
		v := s.JSONValue(t, "POST", "/tokenize", writer, data, http.StatusCreated)
		arr, _ := v.([]any)
		if len(arr) != 101 {
			t.Fatalf("tokenize 101 strings: got %s", js(v))
		}
		body := func(n int) string {
			m := make([]string, n)
			for i := range m {
				m[i] = fmt.Sprintf(`"t%d":"{{ %s }}"`, i, arr[i])
			}
			return "{" + strings.Join(m, ",") + "}"
		}
		got := pcall{key: key, dest: up.URL, body: body(100)}.ok(t, s, up, "100 unique tokens")
		if !bytes.Contains(got.Body, []byte(`"t99":"limit-99"`)) {
			t.Errorf("100 tokens: upstream body %.200s...", got.Body)
		}
		// The same token 150 times is one token.
		same := strings.Repeat(`"{{ `+arr[0].(string)+` }}",`, 150)
		pcall{key: key, dest: up.URL, body: `[` + strings.TrimSuffix(same, ",") + `]`}.ok(t, s, up, "one token 150 times")
		p := pcall{key: key, dest: up.URL, body: body(101)}.fails(t, s, up, "101 unique tokens", http.StatusBadRequest)
		t.Logf("101 tokens: %s", js(p))
		// The limit is per request (seed 001), not per place: 100 in the
		// body and a 101st in a header is 101.
		pcall{key: key, dest: up.URL, body: body(100), header: map[string]string{"X-Extra": "{{ " + arr[100].(string) + " }}"}}.fails(
			t, s, up, "100 unique tokens in the body and a 101st in a header", http.StatusBadRequest)
	})

	t.Run("request body too large", func(t *testing.T) {
		big := `{"pad":"` + strings.Repeat("x", 3<<20) + `"}`
		st, hdr, body := pcall{key: key, dest: up.URL, body: big}.do(t, s)
		checkProxyError(t, "3 MiB request body", st, hdr, body, http.StatusRequestEntityTooLarge)
		up.none(t, "3 MiB request body")
	})

	t.Run("binary request body streams", func(t *testing.T) {
		// 8 MiB of octet-stream (over the 2 MiB limit for bodies that may
		// hold expressions) through a pipe: the client sends the second
		// part only once the upstream has the first, so a proxy that read
		// the body whole would wait for the client forever.
		pr, pw := io.Pipe()
		go func() {
			pw.Write(largeBody[:streamHead])
			select {
			case <-up.release["upload"]:
				pw.Write(largeBody[streamHead:])
				pw.Close()
			case <-time.After(10 * time.Second):
				pw.CloseWithError(errors.New("the upstream never saw the first MiB: the body was buffered"))
			}
		}()
		req, _ := http.NewRequest("POST", s.BaseURL+"/proxy/upload", pr)
		req.Header.Set("Content-Type", "application/octet-stream")
		req.Header.Set("BT-API-KEY", key)
		req.Header.Set("BT-PROXY-URL", up.URL)
		st, _, body := s.Send(t, req)
		if st != http.StatusOK {
			t.Fatalf("streamed upload: %d %s", st, body)
		}
		got := up.one(t, "streamed upload")
		if !bytes.Equal(got.Body, largeBody) {
			t.Errorf("upstream got %d bytes, want the 8 MiB intact", len(got.Body))
		}
	})

	t.Run("authentication", func(t *testing.T) {
		pcall{dest: up.URL, body: tokBody}.fails(t, s, up, "no API key", http.StatusUnauthorized)
		pcall{key: harness.NewKey(), dest: up.URL, body: tokBody}.fails(t, s, up, "unknown API key", http.StatusUnauthorized)
		pcall{key: "not-a-key", dest: up.URL, body: `{}`}.fails(t, s, up, "malformed API key", http.StatusUnauthorized)
	})

	t.Run("permissions", func(t *testing.T) {
		_, reader := privateAppWith(t, s, "reader", "token:read")
		pcall{key: reader, dest: up.URL, body: `{}`}.fails(t, s, up, "token:read only", http.StatusForbidden)
		v1read := tokenApp(t, s, "token:pci:read:high", "token:general:read:high")
		pcall{key: v1read, dest: up.URL, body: tokBody}.fails(t, s, up, "v1 read without use:proxy", http.StatusForbidden)
		pcall{key: s.ManagementKey, dest: up.URL, body: `{}`}.fails(t, s, up, "management key", http.StatusForbidden)
		pciOnly := tokenApp(t, s, "token:pci:use:proxy")
		pcall{key: pciOnly, dest: up.URL, body: tokBody}.ok(t, s, up, "pci key, pci token")
		pcall{key: pciOnly, dest: up.URL, body: `{"g":"{{ ` + gen + ` }}"}`}.fails(t, s, up, "pci key, general token", http.StatusForbidden)
		pcall{key: pciOnly, dest: up.URL, body: k.sub(`{"p":"{{ PAN }}","g":"{{ ` + gen + ` }}"}`)}.fails(t, s, up, "pci key, pci and general tokens", http.StatusForbidden)
	})

	t.Run("timeout", func(t *testing.T) {
		t0 := time.Now()
		st, hdr, body := pcall{method: "GET", path: "/proxy/slow", key: key, dest: up.URL}.do(t, s)
		el := time.Since(t0)
		checkProxyError(t, "slow upstream", st, hdr, body, http.StatusRequestTimeout)
		if el < 900*time.Millisecond || el > 2500*time.Millisecond {
			t.Errorf("slow upstream: answered after %v with proxy_timeout 1s", el)
		}
		up.take() // it did reach the upstream
	})

	t.Run("unreachable", func(t *testing.T) {
		dest := fmt.Sprintf("http://127.0.0.1:%d/api", closedPort(t))
		pcall{key: key, dest: dest, body: tokBody}.fails(t, s, up, "closed port", http.StatusBadGateway)
	})
}

// ---------------------------------------------------------------- permissions

// TestProxyPermissions: seed 001's `token:<classification>:use:proxy`
// grants exactly its classification; in the current model `proxy:invoke`
// admits the caller and access rules granting `token:use` decide which
// tokens it may use, with their transform.
func TestProxyPermissions(t *testing.T) {
	t.Parallel()
	up := newUpstream(t)
	s := proxyServer(t)
	writer := writerKey(t, s)
	plain := map[string]string{
		"general": "general-value", "pci": "4242424242424242", "bank": "1234567890", "pii": "123-45-6789",
	}
	tokens := map[string]string{
		"general": mkToken(t, s, writer, map[string]any{"type": "token", "data": plain["general"]}),
		"pci":     mkToken(t, s, writer, map[string]any{"type": "card_number", "data": plain["pci"]}),
		"bank":    mkToken(t, s, writer, map[string]any{"type": "us_bank_account_number", "data": plain["bank"]}),
		"pii":     mkToken(t, s, writer, map[string]any{"type": "social_security_number", "data": plain["pii"]}),
	}
	classes := []string{"general", "pci", "bank", "pii"}
	body := func(class string) string { return `{"v":"{{ ` + tokens[class] + ` }}"}` }

	t.Run("seed 001 use:proxy per classification", func(t *testing.T) {
		for _, granted := range classes {
			key := tokenApp(t, s, "token:"+granted+":use:proxy")
			for _, class := range classes {
				what := fmt.Sprintf("token:%s:use:proxy with a %s token", granted, class)
				if class != granted {
					pcall{key: key, dest: up.URL, body: body(class)}.fails(t, s, up, what, http.StatusForbidden)
					continue
				}
				got := pcall{key: key, dest: up.URL, body: body(class)}.ok(t, s, up, what)
				if want := `{"v":"` + plain[class] + `"}`; string(got.Body) != want {
					t.Errorf("%s: upstream got %s, want %s", what, got.Body, want)
				}
			}
		}
		two := tokenApp(t, s, "token:pci:use:proxy", "token:general:use:proxy")
		got := pcall{key: two, dest: up.URL, body: `{"a":"{{ ` + tokens["pci"] + ` }}","b":"{{ ` + tokens["general"] + ` }}"}`}.ok(t, s, up, "pci+general key")
		if string(got.Body) != `{"a":"4242424242424242","b":"general-value"}` {
			t.Errorf("pci+general: upstream got %s", got.Body)
		}
		pcall{key: two, dest: up.URL, body: `{"a":"{{ ` + tokens["pci"] + ` }}","b":"{{ ` + tokens["bank"] + ` }}"}`}.fails(t, s, up, "pci+general key, pci and bank tokens", http.StatusForbidden)
	})

	t.Run("current model rules", func(t *testing.T) {
		app := createApp(t, s, map[string]any{"name": "pci proxy", "type": "private", "permissions": []string{"proxy:invoke"},
			"rules": []any{map[string]any{"description": "pci", "priority": 1, "container": "/pci/", "transform": "reveal", "permissions": []string{"token:use"}}}})
		key := app["key"].(string)
		got := pcall{key: key, dest: up.URL, body: body("pci")}.ok(t, s, up, "rule /pci/ reveal, pci token")
		if string(got.Body) != `{"v":"4242424242424242"}` {
			t.Errorf("rule /pci/ reveal: upstream got %s", got.Body)
		}
		for _, class := range []string{"general", "bank", "pii"} {
			pcall{key: key, dest: up.URL, body: body(class)}.fails(t, s, up, "rule /pci/, "+class+" token", http.StatusForbidden)
		}
		pcall{key: key, dest: up.URL, body: `{"none":true}`}.ok(t, s, up, "rule /pci/, no tokens")

		masked := createApp(t, s, map[string]any{"name": "pci masked proxy", "type": "private", "permissions": []string{"proxy:invoke"},
			"rules": []any{map[string]any{"description": "pci", "priority": 1, "container": "/pci/", "transform": "mask", "permissions": []string{"token:use"}}}})
		got = pcall{key: masked["key"].(string), dest: up.URL, body: body("pci")}.ok(t, s, up, "rule /pci/ mask")
		if string(got.Body) != `{"v":"XXXXXXXXXXXX4242"}` {
			t.Errorf("rule /pci/ mask: upstream got %s, want the masked value", got.Body)
		}

		_, invokeOnly := privateAppWith(t, s, "invoke only", "proxy:invoke")
		pcall{key: invokeOnly, dest: up.URL, body: `{"none":true}`}.ok(t, s, up, "proxy:invoke, no tokens")
		pcall{key: invokeOnly, dest: up.URL, body: body("pci")}.fails(t, s, up, "proxy:invoke without token:use", http.StatusForbidden)

		_, legacy := privateAppWith(t, s, "token:use only", "token:use")
		got = pcall{key: legacy, dest: up.URL, body: body("pii")}.ok(t, s, up, "legacy token:use")
		if string(got.Body) != `{"v":"123-45-6789"}` {
			t.Errorf("token:use: upstream got %s", got.Body)
		}
		_, readOnly := privateAppWith(t, s, "read only", "token:read")
		pcall{key: readOnly, dest: up.URL, body: body("pci")}.fails(t, s, up, "token:read is not token:use", http.StatusForbidden)
	})
}

// ---------------------------------------------------------------- SSRF

// TestProxyEgressPolicy: without allow_insecure_destinations, loopback,
// private, link-local (metadata) and plain-http destinations are refused
// with a 400 proxy_error, before any connection.
func TestProxyEgressPolicy(t *testing.T) {
	t.Parallel()
	up := newUpstream(t)
	// A proxy stored while insecure destinations were allowed...
	dir, mgmt := t.TempDir(), harness.NewKey()
	dev := harness.Start(t, harness.Options{DataDir: dir, ManagementKey: mgmt, Env: []string{envInsecure}})
	stored := dev.JSON(t, "POST", "/proxies", mgmt, map[string]any{"name": "dev", "destination_url": up.URL, "require_auth": false}, http.StatusCreated)
	dev.Stop(t)
	s := harness.Start(t, harness.Options{DataDir: dir, ManagementKey: mgmt}) // repo Caddyfile, strict policy
	// ...is refused once they are not.
	pcall{body: `{}`, header: map[string]string{"BT-PROXY-KEY": stored["key"].(string)}}.fails(t, s, up, "stored loopback proxy under the strict policy", http.StatusBadRequest)

	k := makeProxyTokens(t, s, writerKey(t, s))
	key := invokerKey(t, s)
	port := strings.TrimPrefix(up.URL, "http://127.0.0.1:")
	for _, dest := range []string{
		up.URL, up.URL + "/api",
		"https://127.0.0.1", "https://127.0.0.1:" + port,
		"https://localhost", "http://localhost:" + port, "https://localhost:" + port,
		"https://10.0.0.1", "https://169.254.169.254", "https://169.254.169.254/latest/meta-data/",
		"https://[::1]", "https://[::1]:" + port, "https://[::ffff:127.0.0.1]", "https://0.0.0.0",
	} {
		p := pcall{key: key, dest: dest, body: k.sub(`{"pan":"{{ PAN }}"}`)}.fails(t, s, up, "strict BT-PROXY-URL "+dest, http.StatusBadRequest)
		if strings.Contains(js(p), "4242424242424242") {
			t.Errorf("%s: the error carries plaintext: %s", dest, js(p))
		}
	}
	// A pre-configured proxy cannot name one either.
	st, hdr, body := s.Do(t, "POST", "/proxies", s.ManagementKey, map[string]any{"name": "ssrf", "destination_url": up.URL})
	checkProblem(t, "strict /proxies destination_url "+up.URL, st, hdr, body, http.StatusBadRequest, "destination_url")
	st, hdr, body = s.Do(t, "POST", "/proxies", s.ManagementKey, map[string]any{"name": "ssrf", "destination_url": "https://169.254.169.254"})
	checkProblem(t, "strict /proxies destination_url metadata", st, hdr, body, http.StatusBadRequest, "destination_url")
}

// ---------------------------------------------------------------- /proxies

// TestProxyConfiguredCRUD: `/proxies` create, read, list with filters,
// replace, merge-patch and delete, each behind its permission, with
// field-naming 400s.
func TestProxyConfiguredCRUD(t *testing.T) {
	t.Parallel()
	up := newUpstream(t)
	s := proxyServer(t)
	_, mk := managementApp(t, s, "proxy admin", "proxy:create", "proxy:read", "proxy:update", "proxy:delete")
	_, onlyRead := managementApp(t, s, "proxy reader", "proxy:read")
	_, onlyCreate := managementApp(t, s, "proxy creator", "proxy:create")
	_, noProxy := managementApp(t, s, "app admin", "application:read")

	name := "Payments " + harness.NewKey()[4:12]
	dest := up.URL + "/base"
	created := s.JSON(t, "POST", "/proxies", mk, map[string]any{
		"name": name, "destination_url": dest, "configuration": map[string]any{"psp_key": "sk_live_1", "region": "eu"},
	}, http.StatusCreated)
	id := checkUUID(t, "proxy id", created["id"])
	pkey, _ := created["key"].(string)
	if len(pkey) < 8 {
		t.Errorf("proxy key %q is not a generated key", pkey)
	}
	checkFields(t, "created proxy", created, []string{"id", "key", "tenant_id", "name", "destination_url", "require_auth", "created_at", "created_by"}, nil)
	checkTime(t, "created proxy", created, "created_at")
	if created["name"] != name || created["destination_url"] != dest || created["require_auth"] != true {
		t.Errorf("created proxy: %s", js(created))
	}
	if !reflect.DeepEqual(created["configuration"], map[string]any{"psp_key": "sk_live_1", "region": "eu"}) {
		t.Errorf("configuration not kept: %v", created["configuration"])
	}
	other := s.JSON(t, "POST", "/proxies", mk, map[string]any{"name": "Other " + name, "destination_url": dest, "require_auth": false}, http.StatusCreated)
	if other["require_auth"] != false || other["key"] == pkey {
		t.Errorf("second proxy: %s", js(other))
	}

	got := s.JSON(t, "GET", "/proxies/"+id, onlyRead, nil, http.StatusOK)
	for _, f := range []string{"id", "key", "tenant_id", "name", "destination_url", "require_auth", "configuration", "created_at"} {
		if !reflect.DeepEqual(got[f], created[f]) {
			t.Errorf("GET /proxies/{id}: %s = %v, created %v", f, got[f], created[f])
		}
	}

	list := s.JSON(t, "GET", "/proxies", onlyRead, nil, http.StatusOK)
	_, data := checkPage(t, "GET /proxies", list, 1, 20)
	if all := ids(data); !slices.Contains(all, id) || !slices.Contains(all, other["id"].(string)) {
		t.Errorf("GET /proxies: %v does not list both proxies", all)
	}
	list = s.JSON(t, "GET", "/proxies?name="+url.QueryEscape("Other "+name), onlyRead, nil, http.StatusOK)
	if _, data = checkPage(t, "GET /proxies?name=", list, 1, 20); !slices.Equal(ids(data), []string{other["id"].(string)}) {
		t.Errorf("GET /proxies?name=Other...: %v, want only the second proxy", ids(data))
	}
	list = s.JSON(t, "GET", "/proxies?name=no-such-proxy-name", onlyRead, nil, http.StatusOK)
	if _, data = checkPage(t, "GET /proxies?name=none", list, 1, 20); len(data) != 0 {
		t.Errorf("GET /proxies?name=no-such...: %v", ids(data))
	}
	list = s.JSON(t, "GET", "/proxies?id="+id, onlyRead, nil, http.StatusOK)
	if _, data = checkPage(t, "GET /proxies?id=", list, 1, 20); !slices.Equal(ids(data), []string{id}) {
		t.Errorf("GET /proxies?id=: %v, want [%s]", ids(data), id)
	}

	// PUT replaces everything but the key.
	put := s.JSON(t, "PUT", "/proxies/"+id, mk, map[string]any{"name": name + " v2", "destination_url": dest + "/v2",
		"configuration": map[string]any{"psp_key": "sk_live_2"}, "require_auth": true}, http.StatusOK)
	if put["key"] != pkey || put["name"] != name+" v2" || put["destination_url"] != dest+"/v2" ||
		!reflect.DeepEqual(put["configuration"], map[string]any{"psp_key": "sk_live_2"}) {
		t.Errorf("PUT /proxies/{id}: %s", js(put))
	}
	if put["modified_at"] == nil || put["modified_by"] == nil {
		t.Errorf("PUT: modified_at/modified_by missing: %s", js(put))
	}

	// PATCH is a merge patch answered 204; untouched fields stay.
	st, _, body := s.Do(t, "PATCH", "/proxies/"+id, mk, map[string]any{"name": name + " v3", "configuration": map[string]any{"region": "us"}})
	if st != http.StatusNoContent || len(body) != 0 {
		t.Errorf("PATCH /proxies/{id}: %d %s, want 204 without a body", st, body)
	}
	got = s.JSON(t, "GET", "/proxies/"+id, mk, nil, http.StatusOK)
	if got["name"] != name+" v3" || got["destination_url"] != dest+"/v2" || got["key"] != pkey || got["require_auth"] != true ||
		!reflect.DeepEqual(got["configuration"], map[string]any{"psp_key": "sk_live_2", "region": "us"}) {
		t.Errorf("after PATCH: %s", js(got))
	}
	st, _, body = s.Do(t, "PATCH", "/proxies/"+id, mk, map[string]any{"configuration": map[string]any{"psp_key": nil}})
	mustStatus(t, "PATCH null member", st, http.StatusNoContent)
	got = s.JSON(t, "GET", "/proxies/"+id, mk, nil, http.StatusOK)
	if !reflect.DeepEqual(got["configuration"], map[string]any{"region": "us"}) {
		t.Errorf("PATCH {configuration:{psp_key:null}}: configuration %v, want {region:us} (%s)", got["configuration"], body)
	}

	// Validation names the fields.
	for _, c := range []struct {
		body   map[string]any
		fields []string
	}{
		{map[string]any{}, []string{"name", "destination_url"}},
		{map[string]any{"name": "x"}, []string{"destination_url"}},
		{map[string]any{"destination_url": dest}, []string{"name"}},
		{map[string]any{"name": strings.Repeat("n", 201), "destination_url": dest}, []string{"name"}},
		{map[string]any{"name": "x", "destination_url": "not a url"}, []string{"destination_url"}},
		{map[string]any{"name": "x", "destination_url": "ftp://127.0.0.1/"}, []string{"destination_url"}},
		{map[string]any{"name": "x", "destination_url": dest, "request_transform": map[string]any{"type": "bogus"}}, []string{"request_transform.type"}},
		{map[string]any{"name": "x", "destination_url": dest, "response_transform": map[string]any{"type": "code"}}, []string{"response_transform.code"}},
	} {
		st, hdr, body := s.Do(t, "POST", "/proxies", mk, c.body)
		checkProblem(t, "POST /proxies "+js(c.body)[:min(60, len(js(c.body)))], st, hdr, body, http.StatusBadRequest, c.fields...)
	}
	st, hdr, body := s.Do(t, "PUT", "/proxies/"+id, mk, map[string]any{"name": "x"})
	checkProblem(t, "PUT without destination_url", st, hdr, body, http.StatusBadRequest, "destination_url")
	st, hdr, body = s.Do(t, "PATCH", "/proxies/"+id, mk, map[string]any{"destination_url": nil})
	checkProblem(t, "PATCH destination_url null", st, hdr, body, http.StatusBadRequest, "destination_url")

	// Permissions.
	newBody := map[string]any{"name": "denied", "destination_url": dest}
	mustStatus(t, "POST with proxy:read", status2(t, s, "POST", "/proxies", onlyRead, newBody), http.StatusForbidden)
	mustStatus(t, "POST without proxy perms", status2(t, s, "POST", "/proxies", noProxy, newBody), http.StatusForbidden)
	mustStatus(t, "GET with proxy:create", status2(t, s, "GET", "/proxies/"+id, onlyCreate, nil), http.StatusForbidden)
	mustStatus(t, "list with proxy:create", status2(t, s, "GET", "/proxies", onlyCreate, nil), http.StatusForbidden)
	mustStatus(t, "PUT with proxy:read", status2(t, s, "PUT", "/proxies/"+id, onlyRead, newBody), http.StatusForbidden)
	mustStatus(t, "PATCH with proxy:read", status2(t, s, "PATCH", "/proxies/"+id, onlyRead, map[string]any{"name": "n"}), http.StatusForbidden)
	mustStatus(t, "DELETE with proxy:read", status2(t, s, "DELETE", "/proxies/"+id, onlyRead, nil), http.StatusForbidden)
	mustStatus(t, "GET without a key", status2(t, s, "GET", "/proxies", "", nil), http.StatusUnauthorized)
	mustStatus(t, "GET unknown id", status2(t, s, "GET", "/proxies/00000000-0000-4000-8000-000000000000", mk, nil), http.StatusNotFound)
	if got := s.JSON(t, "GET", "/proxies/"+id, mk, nil, http.StatusOK); got["name"] != name+" v3" {
		t.Errorf("a refused write changed the proxy: %s", js(got))
	}

	// DELETE.
	st, _, body = s.Do(t, "DELETE", "/proxies/"+id, mk, nil)
	if st != http.StatusNoContent {
		t.Errorf("DELETE /proxies/{id}: %d %s", st, body)
	}
	mustStatus(t, "GET deleted proxy", status2(t, s, "GET", "/proxies/"+id, mk, nil), http.StatusNotFound)
	mustStatus(t, "DELETE deleted proxy", status2(t, s, "DELETE", "/proxies/"+id, mk, nil), http.StatusNotFound)
	list = s.JSON(t, "GET", "/proxies", mk, nil, http.StatusOK)
	if _, data = checkPage(t, "GET /proxies after delete", list, 1, 20); slices.Contains(ids(data), id) {
		t.Errorf("deleted proxy still listed")
	}
	up.none(t, "CRUD") // managing proxies never calls their destination
}

// status2 sends a request with an optional JSON body and returns its status.
func status2(t testing.TB, s *harness.Server, method, path, key string, body any) int {
	t.Helper()
	st, _, _ := s.Do(t, method, path, key, body)
	return st
}

// TestProxyConfiguredInvoke: a pre-configured proxy is invoked through
// `/proxy` with BT-PROXY-KEY or ?bt-proxy-key=, goes to its own
// destination, and honours require_auth, its application, deletion and
// (for now) refuses code transforms with 501.
func TestProxyConfiguredInvoke(t *testing.T) {
	t.Parallel()
	up := newUpstream(t)
	s := proxyServer(t)
	k := makeProxyTokens(t, s, writerKey(t, s))
	invoker := invokerKey(t, s)
	_, mk := managementApp(t, s, "proxy admin", "proxy:create", "proxy:read", "proxy:update", "proxy:delete")
	mkProxy := func(body map[string]any) map[string]any {
		t.Helper()
		return s.JSON(t, "POST", "/proxies", mk, body, http.StatusCreated)
	}
	authed := mkProxy(map[string]any{"name": "authed", "destination_url": up.URL + "/base"})
	akey := authed["key"].(string)
	tokBody := k.sub(`{"pan":"{{ PAN }}"}`)
	wantBody := `{"pan":"4242424242424242"}`

	t.Run("BT-PROXY-KEY header", func(t *testing.T) {
		got := pcall{path: "/proxy/sub?x=1", key: invoker, body: tokBody, header: map[string]string{
			"BT-PROXY-KEY": akey,
			"BT-PROXY-URL": fmt.Sprintf("http://127.0.0.1:%d/ignored", closedPort(t)),
		}}.ok(t, s, up, "BT-PROXY-KEY")
		if got.Path != "/base/sub" || got.RawQuery != "x=1" || string(got.Body) != wantBody {
			t.Errorf("BT-PROXY-KEY: upstream got %s?%s %s, want /base/sub?x=1 %s", got.Path, got.RawQuery, got.Body, wantBody)
		}
		if strings.Contains(fmt.Sprint(got.Header), akey) {
			t.Errorf("the proxy key reached the destination: %v", got.Header)
		}
	})

	t.Run("bt-proxy-key query parameter", func(t *testing.T) {
		got := pcall{path: "/proxy/sub?x=1&bt-proxy-key=" + akey + "&y=2", key: invoker, body: tokBody}.ok(t, s, up, "?bt-proxy-key=")
		q, _ := url.ParseQuery(got.RawQuery)
		if got.Path != "/base/sub" || q.Get("x") != "1" || q.Get("y") != "2" || len(q) != 2 || strings.Contains(got.RawQuery, akey) {
			t.Errorf("?bt-proxy-key=: upstream got %s?%s, want /base/sub with x=1&y=2 and no key", got.Path, got.RawQuery)
		}
		if string(got.Body) != wantBody {
			t.Errorf("?bt-proxy-key=: body %s", got.Body)
		}
	})

	t.Run("bt-proxy-key removed, the rest of the query byte for byte", func(t *testing.T) {
		got := pcall{path: "/proxy/sub?b=1&bt-proxy-key=" + akey + "&a=hello%20world", key: invoker, body: tokBody}.ok(t, s, up, "?bt-proxy-key= with escapes")
		if want := "b=1&a=hello%20world"; got.RawQuery != want {
			t.Errorf("?bt-proxy-key=: upstream got query %q, want %q", got.RawQuery, want)
		}
	})

	t.Run("require_auth", func(t *testing.T) {
		pk := map[string]string{"BT-PROXY-KEY": akey}
		pcall{body: `{}`, header: pk}.fails(t, s, up, "require_auth, no API key", http.StatusUnauthorized)
		pcall{key: harness.NewKey(), body: `{}`, header: pk}.fails(t, s, up, "require_auth, unknown API key", http.StatusUnauthorized)
		_, reader := privateAppWith(t, s, "reader", "token:read")
		pcall{key: reader, body: `{}`, header: pk}.fails(t, s, up, "require_auth, no proxy:invoke", http.StatusForbidden)
		_, invokeOnly := privateAppWith(t, s, "invoke only", "proxy:invoke")
		pcall{key: invokeOnly, body: `{"plain":1}`, header: pk}.ok(t, s, up, "proxy:invoke, no tokens")
		pcall{key: invokeOnly, body: tokBody, header: pk}.fails(t, s, up, "proxy:invoke without token:use", http.StatusForbidden)
	})

	t.Run("anonymous", func(t *testing.T) {
		open := mkProxy(map[string]any{"name": "webhook", "destination_url": up.URL + "/hook", "require_auth": false})
		got := pcall{path: "/proxy?bt-proxy-key=" + open["key"].(string), body: `{"event":"paid"}`}.ok(t, s, up, "anonymous")
		if got.Path != "/hook" || string(got.Body) != `{"event":"paid"}` || got.RawQuery != "" {
			t.Errorf("anonymous: upstream got %s?%s %s", got.Path, got.RawQuery, got.Body)
		}
		// Without an application it has no token permissions.
		pcall{body: tokBody, header: map[string]string{"BT-PROXY-KEY": open["key"].(string)}}.fails(t, s, up, "anonymous, no application, token", http.StatusForbidden)

		// With one it detokenizes as that application.
		appID, _ := privateAppWith(t, s, "proxy app", "token:use")
		withApp := mkProxy(map[string]any{"name": "inbound", "destination_url": up.URL + "/in", "require_auth": false,
			"application": map[string]any{"id": appID}})
		if withApp["application_id"] != appID {
			t.Logf("note: the proxy does not echo application_id: %s", js(withApp))
		}
		got = pcall{body: tokBody, header: map[string]string{"BT-PROXY-KEY": withApp["key"].(string)}}.ok(t, s, up, "anonymous with application")
		if string(got.Body) != wantBody {
			t.Errorf("anonymous with application: upstream got %s", got.Body)
		}

		// A deleted proxy's key stops working at once.
		mustStatus(t, "DELETE webhook proxy", status2(t, s, "DELETE", "/proxies/"+open["id"].(string), mk, nil), http.StatusNoContent)
		pcall{body: `{"event":"paid"}`, header: map[string]string{"BT-PROXY-KEY": open["key"].(string)}}.fails(t, s, up, "deleted proxy", http.StatusUnauthorized)
		pcall{path: "/proxy?bt-proxy-key=" + open["key"].(string), body: `{}`}.fails(t, s, up, "deleted proxy (query)", http.StatusUnauthorized)
	})

	t.Run("unknown key", func(t *testing.T) {
		pcall{key: invoker, body: `{}`, header: map[string]string{"BT-PROXY-KEY": "0123456789abcdef"}}.fails(t, s, up, "unknown proxy key", http.StatusUnauthorized)
	})

	t.Run("configuration and proxy expressions", func(t *testing.T) {
		// Header expressions may sign or copy the request itself (the hosted
		// docs' signing example, with the key inline).
		signed := mkProxy(map[string]any{"name": "signed", "destination_url": up.URL + "/signed",
			"configuration": map[string]any{"secret_key": "my-secret-key", "api_key": "psp_123"}})
		sk := signed["key"].(string)
		got := pcall{key: invoker, body: k.sub(`{"pan":"{{ PAN }}"}`), header: map[string]string{
			"BT-PROXY-KEY":  sk,
			"X-User-Id":     "2342424",
			"X-Date":        "2024-07-10T13:46:28.629Z",
			"Authorization": "{{ proxy | json: '$.request.headers.X-User-Id' | append: proxy.request.headers.X-Date | append: proxy.request.body | hmac: 'sha-256', 'my-secret-key' | to_base16 }}",
			"X-Leak":        "{{ proxy | json: '$.request.headers.Bt-Api-Key' }}",
		}}.ok(t, s, up, "proxy expressions")
		wantBody := `{"pan":"4242424242424242"}`
		if string(got.Body) != wantBody {
			t.Errorf("body %s, want %s", got.Body, wantBody)
		}
		mac := hmac.New(sha256.New, []byte("my-secret-key"))
		mac.Write([]byte("2342424" + "2024-07-10T13:46:28.629Z" + wantBody))
		// to_base16 writes upper case, as the filter reference's examples do.
		if h := got.Header.Get("Authorization"); !strings.EqualFold(h, hex.EncodeToString(mac.Sum(nil))) || h == "" {
			t.Errorf("Authorization %q, want the HMAC of user id + date + detokenized body", h)
		}
		if h := got.Header.Get("X-Leak"); h != "" || strings.Contains(fmt.Sprint(got.Header), invoker) {
			t.Errorf("the API key reached the destination through a proxy expression: X-Leak %q", h)
		}
		// The caller's body, headers and query never read the proxy's
		// configuration (its secrets), authenticated or anonymous: a precise
		// 400 that reaches nothing.
		open := mkProxy(map[string]any{"name": "open signed", "destination_url": up.URL + "/open", "require_auth": false,
			"configuration": map[string]any{"api_key": "psp_123"}})
		for _, c := range []pcall{
			{key: invoker, body: `{"k":"{{ config: api_key }}"}`, header: map[string]string{"BT-PROXY-KEY": sk}},
			{key: invoker, body: `{}`, header: map[string]string{"BT-PROXY-KEY": sk, "X-Api-Key": "Bearer {{ config: api_key }}"}},
			{key: invoker, path: "/proxy?k=" + url.QueryEscape("{{ config: api_key }}"), body: `{}`, header: map[string]string{"BT-PROXY-KEY": sk}},
			{body: `{"k":"{{ config: api_key }}"}`, header: map[string]string{"BT-PROXY-KEY": open["key"].(string)}},
			{key: invoker, dest: up.URL, body: `{"k":"{{ config: api_key }}"}`},
		} {
			p := c.fails(t, s, up, "config in caller content", http.StatusBadRequest)
			if strings.Contains(js(p), "psp_123") {
				t.Errorf("the configuration secret is in the error: %s", js(p))
			}
		}
		// proxy.config is empty to the caller's expressions.
		st, _, b := pcall{key: invoker, body: `{}`, header: map[string]string{"BT-PROXY-KEY": sk,
			"X-Cfg": "{{ proxy | json: '$.config.api_key' }}"}}.do(t, s)
		for _, r := range up.take() {
			if strings.Contains(fmt.Sprint(r.Header)+string(r.Body), "psp_123") {
				t.Errorf("proxy.config reached the destination from a caller's header: %v", r.Header)
			}
		}
		if strings.Contains(string(b), "psp_123") {
			t.Errorf("proxy.config answered to the caller (%d): %s", st, b)
		}
	})

	t.Run("updated destination", func(t *testing.T) {
		mustStatus(t, "PATCH destination", status2(t, s, "PATCH", "/proxies/"+authed["id"].(string), mk,
			map[string]any{"destination_url": up.URL + "/moved"}), http.StatusNoContent)
		got := pcall{key: invoker, body: `{}`, header: map[string]string{"BT-PROXY-KEY": akey}}.ok(t, s, up, "after PATCH")
		if got.Path != "/moved" {
			t.Errorf("after PATCH destination: upstream got %s, want /moved", got.Path)
		}
	})

	t.Run("mask response transform", func(t *testing.T) {
		// The destination echoes the detokenized card; the mask keeps only
		// its last four, also when the caller accepts gzip (a compressed
		// answer must not slip past the mask).
		masked := mkProxy(map[string]any{"name": "masked", "destination_url": up.URL + "/echo",
			"response_transform": map[string]any{"type": "mask", "matcher": "regex", "expression": `"pan":"(\d{12})\d{4}"`, "replacement": "#"}})
		for _, enc := range []string{"", "gzip"} {
			h := map[string]string{"BT-PROXY-KEY": masked["key"].(string)}
			if enc != "" {
				h["Accept-Encoding"] = enc
			}
			st, hdr, body := pcall{key: invoker, body: tokBody, header: h}.do(t, s)
			up.one(t, "mask "+enc)
			if hdr.Get("Content-Encoding") == "gzip" {
				zr, err := gzip.NewReader(bytes.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				body, _ = io.ReadAll(zr)
			}
			if st != http.StatusOK || string(body) != `{"pan":"############4242"}` || strings.Contains(string(body), "4242424242424242") {
				t.Errorf("mask (Accept-Encoding %q): %d %s", enc, st, body)
			}
		}
		// What cannot be honoured is refused when saved, naming the field.
		for _, c := range []struct {
			field string
			tr    any
			named string
		}{
			{"response_transform", map[string]any{"type": "mask", "expression": `\d{16}`}, "response_transform.expression"},
			{"response_transform", map[string]any{"type": "mask", "expression": `(\d)`, "replacement": "**"}, "response_transform.replacement"},
			{"response_transform", map[string]any{"type": "mask", "matcher": "chase_stratus_pan"}, "response_transform.matcher"},
			{"request_transform", map[string]any{"type": "mask", "expression": `(\d)`}, "request_transform.type"},
			{"response_transforms", []any{map[string]any{"code": "module.exports = async (r) => r.args"}, map[string]any{"type": "append_text"}}, "response_transforms[1].type"},
			{"request_transforms", []any{map[string]any{"type": "tokenize"}}, "request_transforms[0].type"},
		} {
			st, _, b := s.Do(t, "POST", "/proxies", mk, map[string]any{"name": "bad mask", "destination_url": up.URL, c.field: c.tr})
			if st != http.StatusBadRequest || !strings.Contains(string(b), `"`+c.named+`"`) {
				t.Errorf("%s %v: %d %s, want a 400 naming %s", c.field, c.tr, st, b, c.named)
			}
		}
		code := map[string]any{"code": "module.exports = async (r) => r.args"}
		st, _, b := s.Do(t, "POST", "/proxies", mk, map[string]any{"name": "both", "destination_url": up.URL,
			"response_transform": code, "response_transforms": []any{code}})
		if st != http.StatusBadRequest || !strings.Contains(string(b), `"response_transforms":[`) {
			t.Errorf("a transform and a list: %d %s, want a 400 naming response_transforms", st, b)
		}
	})

	t.Run("code transforms are kept and run", func(t *testing.T) {
		// Each transform adds a marker header (and, for the request, a body
		// member); reactors_test covers transforms in depth.
		codes := map[string]string{
			"request_transform":  "module.exports = async function (req) { return { body: Object.assign({}, req.args.body, { added: 'by-transform' }), headers: Object.assign({}, req.args.headers, { 'X-Transformed': 'request' }) }; };",
			"response_transform": "module.exports = async function (req) { return { body: req.args.body, headers: Object.assign({}, req.args.headers, { 'X-Transformed': 'response' }) }; };",
		}
		for field, code := range codes {
			px := mkProxy(map[string]any{"name": field, "destination_url": up.URL, "require_auth": false,
				field: map[string]any{"code": code}})
			if tr, _ := px[field].(map[string]any); tr == nil || tr["code"] != code {
				t.Errorf("%s not kept: %s", field, js(px))
			}
			c := pcall{key: invoker, body: `{"a":1}`, header: map[string]string{"BT-PROXY-KEY": px["key"].(string), "Content-Type": "application/json"}}
			st, hdr, body := c.do(t, s)
			got := up.one(t, field)
			if st != http.StatusOK {
				t.Fatalf("%s: status %d, body %s", field, st, body)
			}
			if field == "request_transform" && (got.Header.Get("X-Transformed") != "request" || !strings.Contains(string(got.Body), `"added":"by-transform"`)) {
				t.Errorf("request transform not applied upstream: headers %v body %s", got.Header, got.Body)
			}
			if field == "response_transform" && hdr.Get("X-Transformed") != "response" {
				t.Errorf("response transform not applied: headers %v", hdr)
			}
		}
	})
}
