package test

// Hostile routing and parsing (issue "A vault that holds under attack",
// routing and parsing): each subtest is a request an attacker sends and
// the precise 4xx it must get, through the real binary.

import (
	"github.com/strongroom/strongroom/vault"

	"bufio"
	"bytes"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/strongroom/strongroom/test/harness"
)

func TestHostileInput(t *testing.T) {
	s := proxyServer(t)
	mk := s.ManagementKey
	writer := writerKey(t, s)

	t.Run("dot segments", func(t *testing.T) {
		for _, path := range []string{"/tokens/../applications", "/tokens/.", "/tokens/./", "/tokens/%2e%2e/applications",
			"/tokens/%2E", "/applications/..%2f..%2ftenants/self", "/tenants//self", "/proxy/../applications"} {
			req, err := http.NewRequest("GET", s.BaseURL+path, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.URL.Opaque = path
			req.Header.Set("BT-API-KEY", mk)
			st, hdr, body := sendNoRedirect(t, s, req)
			if strings.HasPrefix(path, "/proxy/") {
				checkProxyError(t, path, st, hdr, body, http.StatusBadRequest)
				continue
			}
			checkProblem(t, "GET "+path, st, hdr, body, http.StatusBadRequest, "path")
		}
	})

	t.Run("proxy path stays under its destination", func(t *testing.T) {
		up := newUpstream(t)
		px := s.JSON(t, "POST", "/proxies", mk, map[string]any{"name": "prefix", "destination_url": up.URL + "/api/v1",
			"require_auth": false}, http.StatusCreated)
		key := px["key"].(string)
		for _, suffix := range []string{"/..", "/../admin", "/%2e%2e/admin", "/x/%2E%2E/%2e%2e/admin", "/a%2F..%2F..%2Fadmin", "/a%5c..%5c..%5cadmin"} {
			req, _ := http.NewRequest("GET", s.BaseURL+"/proxy", nil)
			req.URL.Opaque = "/proxy" + suffix
			req.Header.Set("BT-PROXY-KEY", key)
			st, hdr, body := sendNoRedirect(t, s, req)
			checkProxyError(t, "/proxy"+suffix, st, hdr, body, http.StatusBadRequest)
			up.none(t, "/proxy"+suffix)
		}
		req, _ := http.NewRequest("GET", s.BaseURL+"/proxy/charges/a..b", nil)
		req.Header.Set("BT-PROXY-KEY", key)
		if st, _, body := sendNoRedirect(t, s, req); st != http.StatusOK {
			t.Fatalf("/proxy/charges/a..b: %d %s", st, body)
		}
		if got := up.one(t, "a..b").Path; got != "/api/v1/charges/a..b" {
			t.Errorf("destination path %q, want /api/v1/charges/a..b", got)
		}
	})

	t.Run("ambiguous credentials", func(t *testing.T) {
		_, readOnly := managementApp(t, s, "reader", "application:read")
		for _, c := range []struct {
			name string
			hdr  [][2]string
		}{
			{"two BT-API-KEY", [][2]string{{"BT-API-KEY", mk}, {"BT-API-KEY", readOnly}}},
			{"the same key twice", [][2]string{{"BT-API-KEY", mk}, {"BT-API-KEY", mk}}},
			{"BT-API-KEY and X-API-KEY", [][2]string{{"BT-API-KEY", mk}, {"X-API-KEY", readOnly}}},
			{"two X-API-KEY", [][2]string{{"X-API-KEY", mk}, {"X-API-KEY", readOnly}}},
		} {
			req, _ := http.NewRequest("GET", s.BaseURL+"/tenants/self", nil)
			for _, h := range c.hdr {
				req.Header.Add(h[0], h[1])
			}
			st, hdr, body := s.Send(t, req)
			checkProblem(t, c.name, st, hdr, body, http.StatusBadRequest, "BT-API-KEY")
		}
		// A pre-configured proxy's key, twice (header and query).
		up := newUpstream(t)
		px := s.JSON(t, "POST", "/proxies", mk, map[string]any{"name": "twice", "destination_url": up.URL, "require_auth": false}, http.StatusCreated)
		req, _ := http.NewRequest("GET", s.BaseURL+"/proxy?bt-proxy-key="+px["key"].(string), nil)
		req.Header.Set("BT-PROXY-KEY", px["key"].(string))
		st, hdr, body := s.Send(t, req)
		checkProxyError(t, "proxy key twice", st, hdr, body, http.StatusBadRequest)
		up.none(t, "proxy key twice")
	})

	t.Run("far pages", func(t *testing.T) {
		reader := tokenApp(t, s, "token:general:create", "token:general:read:high", "token:pci:create", "token:pci:read:high")
		s.JSON(t, "POST", "/tokens", reader, map[string]any{"type": "token", "data": "far"}, http.StatusCreated)
		s.JSON(t, "POST", "/atomic/cards", reader, map[string]any{"card": map[string]any{"number": "4242424242424242",
			"expiration_month": 12, "expiration_year": 2040}}, http.StatusCreated)
		maxPage := strconv.Itoa(math.MaxInt64)
		for _, c := range []struct{ path, key string }{
			{"/applications", mk}, {"/logs", mk}, {"/proxies", mk}, {"/reactors", mk}, {"/reactor-formulas", mk},
			{"/projects", mk}, {"/tokens", reader}, {"/tokens/decrypt", reader}, {"/atomic/cards", reader},
			{"/atomic/banks", reader},
		} {
			for _, pg := range []string{maxPage, strconv.Itoa(math.MaxInt64/20 + 2), "4611686018427387904"} {
				for _, size := range []string{"100", "20"} {
					path := c.path + "?page=" + pg + "&size=" + size
					m := s.JSON(t, "GET", path, c.key, nil, http.StatusOK)
					if data, _ := m["data"].([]any); len(data) != 0 {
						t.Errorf("GET %s: %d items on a far page, want none", path, len(data))
					}
				}
			}
			st, hdr, body := s.Do(t, "GET", c.path+"?page=99999999999999999999", c.key, nil)
			checkProblem(t, c.path+" page beyond int64", st, hdr, body, http.StatusBadRequest, "page")
		}
		m := s.JSON(t, "POST", "/tokens/search", reader, map[string]any{"query": "type:token", "page": math.MaxInt64, "size": 100}, http.StatusOK)
		if data, _ := m["data"].([]any); len(data) != 0 {
			t.Errorf("POST /tokens/search far page: %d items", len(data))
		}
	})

	t.Run("tokenize bounds", func(t *testing.T) {
		for _, body := range []string{"", "  \n"} {
			st, hdr, resp := s.Do(t, "POST", "/tokenize", writer, body)
			checkProblem(t, fmt.Sprintf("POST /tokenize %q", body), st, hdr, resp, http.StatusBadRequest, "body")
			st, hdr, resp = s.Do(t, "POST", "/detokenize", writer, body)
			checkProblem(t, fmt.Sprintf("POST /detokenize %q", body), st, hdr, resp, http.StatusBadRequest, "body")
		}
		items := make([]any, vault.MaxTokensPerRequest+1)
		for i := range items {
			items[i] = map[string]any{"type": "token", "data": "x" + strconv.Itoa(i)}
		}
		st, hdr, resp := s.Do(t, "POST", "/tokenize", writer, items)
		checkProblem(t, "too many items", st, hdr, resp, http.StatusBadRequest, "body")
		big := make([]any, 100000)
		for i := range big {
			big[i] = "v"
		}
		st, hdr, resp = s.Do(t, "POST", "/tokenize", writer, big)
		checkProblem(t, "100,000 items", st, hdr, resp, http.StatusBadRequest, "body")
		out := s.JSONValue(t, "POST", "/tokenize", writer, items[:100], http.StatusCreated)
		if arr, _ := out.([]any); len(arr) != 100 {
			t.Errorf("100 items: %d tokens", len(arr))
		}
	})

	t.Run("invalid UTF-8", func(t *testing.T) {
		bad := "a\xff\xfeb"
		for _, c := range []struct{ method, path, body string }{
			{"POST", "/tokens", `{"type":"token","data":"` + bad + `"}`},
			{"POST", "/tokens", `{"type":"token","data":"ok","metadata":{"k":"` + bad + `"}}`},
			{"POST", "/tokenize", `{"a":"` + bad + `"}`},
			{"POST", "/tokenize", `{"a":{"type":"token","data":"` + bad + `"}}`},
			{"POST", "/detokenize", `{"a":"` + bad + `"}`},
			{"POST", "/applications", `{"name":"` + bad + `","type":"private","permissions":["token:read"]}`},
			{"POST", "/proxies", `{"name":"` + bad + `","destination_url":"https://example.com"}`},
		} {
			key := writer
			if c.path == "/applications" || c.path == "/proxies" {
				key = mk
			}
			st, hdr, resp := s.Do(t, c.method, c.path, key, c.body)
			checkProblem(t, c.path+" "+strconv.Quote(c.body), st, hdr, resp, http.StatusBadRequest, "body")
		}
		list := s.JSON(t, "GET", "/tokens?size=100", writer, nil, http.StatusOK)
		if strings.Contains(js(list), "\ufffd") {
			t.Errorf("a token with a replacement character was stored: %s", js(list))
		}
	})

	t.Run("oversized body gets a 413", func(t *testing.T) {
		// A client that writes the whole body before reading the answer
		// (urllib, many HTTP/1 clients) must read a 413, not a reset.
		for _, path := range []string{"/tokens", "/tokenize"} {
			st, body := writeThenRead(t, s, path, writer, 20<<20)
			if st != http.StatusRequestEntityTooLarge || !strings.Contains(body, `"body"`) {
				t.Errorf("POST %s with 20 MB: %d %.200s", path, st, body)
			}
		}
	})

	t.Run("proxy application must exist", func(t *testing.T) {
		other := harness.NewKey() // an id shape, of no application here
		for _, id := range []string{"3f1c2a9e-8b7d-4c6e-9f0a-1b2c3d4e5f60", other} {
			st, hdr, body := s.Do(t, "POST", "/proxies", mk, map[string]any{"name": "ghost", "destination_url": "https://example.com",
				"require_auth": false, "application": map[string]any{"id": id}})
			checkProblem(t, "POST /proxies application "+id, st, hdr, body, http.StatusBadRequest, "application.id")
		}
		appID, _ := privateApp(t, s, "acts-as")
		px := s.JSON(t, "POST", "/proxies", mk, map[string]any{"name": "real", "destination_url": "https://example.com",
			"require_auth": false, "application": map[string]any{"id": appID}}, http.StatusCreated)
		st, hdr, body := s.Do(t, "PUT", "/proxies/"+px["id"].(string), mk, map[string]any{"name": "real", "destination_url": "https://example.com",
			"application": map[string]any{"id": "3f1c2a9e-8b7d-4c6e-9f0a-1b2c3d4e5f60"}})
		checkProblem(t, "PUT /proxies application", st, hdr, body, http.StatusBadRequest, "application.id")
	})

	t.Run("expires_at range", func(t *testing.T) {
		for _, at := range []string{"2262-04-12T00:00:00Z", "2300-01-01T00:00:00Z", "9999-12-31T23:59:59Z"} {
			st, hdr, body := s.Do(t, "POST", "/tokens", writer, map[string]any{"type": "token", "data": "x", "expires_at": at})
			checkProblem(t, "expires_at "+at, st, hdr, body, http.StatusBadRequest, "expires_at")
			st, hdr, body = s.Do(t, "POST", "/tokenize", writer, map[string]any{"a": map[string]any{"type": "token", "data": "x", "expires_at": at}})
			checkProblem(t, "tokenize expires_at "+at, st, hdr, body, http.StatusBadRequest, "a.expires_at")
		}
		tok := s.JSON(t, "POST", "/tokens", writer, map[string]any{"type": "token", "data": "x",
			"expires_at": time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339)}, http.StatusCreated)
		req, _ := harness.NewRequest("PATCH", s.BaseURL+"/tokens/"+tok["id"].(string), writer, `{"expires_at":"2300-01-01T00:00:00Z"}`)
		req.Header.Set("Content-Type", "application/merge-patch+json")
		st, hdr, body := s.Send(t, req)
		checkProblem(t, "PATCH expires_at 2300", st, hdr, body, http.StatusBadRequest, "expires_at")
	})
}

// sendNoRedirect sends req and returns the first answer (a redirect is an
// answer, not something to follow).
func sendNoRedirect(t testing.TB, s *harness.Server, req *http.Request) (int, http.Header, []byte) {
	t.Helper()
	c := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

// writeThenRead posts n bytes over a raw connection, writing all of them
// before reading the answer.
func writeThenRead(t testing.TB, s *harness.Server, path, key string, n int) (int, string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(s.Port), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(60 * time.Second))
	head := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: localhost\r\nBT-API-KEY: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", path, key, n)
	if _, err := conn.Write([]byte(head)); err != nil {
		t.Fatal(err)
	}
	chunk := bytes.Repeat([]byte("a"), 64<<10)
	for sent := 0; sent < n; sent += len(chunk) {
		if _, err := conn.Write(chunk[:min(len(chunk), n-sent)]); err != nil {
			t.Errorf("POST %s: writing the body failed after %d bytes: %v", path, sent, err)
			return 0, ""
		}
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Errorf("POST %s: reading the answer: %v", path, err)
		return 0, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestJWTClaimTypesAndLifetime: exp, iat and nbf are RFC 7519 NumericDates
// (a string is refused), and exp - iat is bounded by jwt_max_lifetime.
func TestJWTClaimTypesAndLifetime(t *testing.T) {
	t.Parallel()
	s := harness.Start(t, harness.Options{Caddyfile: repoCaddyfileWith(t, "jwt_max_lifetime 2h")})
	mk := s.ManagementKey
	s.JSON(t, "POST", "/projects", mk, map[string]any{"id": "project-life", "name": "Lifetime"}, http.StatusCreated)
	keys := s.JSONValue(t, "POST", "/projects/project-life/keys", mk, map[string]any{"kid": "k1", "generate": true}, http.StatusCreated)
	priv := pjParsePrivate(t, keys.([]any)[0].(map[string]any)["private_key"].(string))
	path := "/projects/project-life/payment-methods"
	now := time.Now().Unix()
	claims := func(f func(map[string]any)) string {
		c := pjClaims("u1", "project-life", "private")
		f(c)
		return pjMint(priv, pjHeader("k1"), c)
	}
	for _, tc := range []struct{ name, token, check string }{
		{"exp as a string", claims(func(c map[string]any) { c["exp"] = strconv.FormatInt(now+3600, 10) }), "exp"},
		{"iat as a string", claims(func(c map[string]any) { c["iat"] = strconv.FormatInt(now, 10) }), "iat"},
		{"nbf as a string", claims(func(c map[string]any) { c["nbf"] = strconv.FormatInt(now, 10) }), "nbf"},
		{"exp null", claims(func(c map[string]any) { c["exp"] = nil }), "exp"},
		{"lifetime over the maximum", claims(func(c map[string]any) { c["exp"] = now + 3*3600 }), "lifetime"},
		{"old iat, far exp", claims(func(c map[string]any) { c["iat"], c["exp"] = now-86400, now+3600 }), "lifetime"},
	} {
		st, _, body := pjDo(t, s, "GET", path, tc.token, nil)
		if msg := pjError(t, tc.name, st, body, http.StatusUnauthorized, "unauthorized"); !strings.Contains(msg, tc.check) {
			t.Errorf("%s: message %q does not name %q", tc.name, msg, tc.check)
		}
	}
	ok := claims(func(c map[string]any) { c["exp"] = now + 2*3600 - 60 })
	if st, _, body := pjDo(t, s, "GET", path, ok, nil); st != http.StatusOK {
		t.Fatalf("a token within the lifetime: %d %s", st, body)
	}
}
