package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/strongroom/strongroom/vault"
	"github.com/strongroom/strongroom/vault/egress"
)

const mgmtKey = "key_HttpApiTestManagementKey"

type apiEnv struct {
	t   *testing.T
	v   *vault.Vault
	api *API
}

func newAPI(t *testing.T, maxBody int64) *apiEnv {
	t.Helper()
	c, err := vault.Open(vault.Options{DataDir: t.TempDir(), MasterKey: bytes.Repeat([]byte{7}, 32), ManagementKey: mgmtKey})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	v := c.Bind(nil, egress.Policy{AllowInsecure: true}, vault.Settings{}) // tests name loopback destinations
	return &apiEnv{t: t, v: v, api: New(v, maxBody, nil)}
}

func (e *apiEnv) do(method, path, key, body string, hdr ...string) *httptest.ResponseRecorder {
	e.t.Helper()
	var rd *strings.Reader
	if body != "" {
		rd = strings.NewReader(body)
	} else {
		rd = strings.NewReader("")
	}
	req := httptest.NewRequest(method, path, rd)
	if key != "" {
		req.Header.Set("BT-API-KEY", key)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	e.api.ServeHTTP(rec, req)
	return rec
}

func decodeJSON(t *testing.T, rec *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		t.Fatalf("response %d is not a JSON object: %q", rec.Code, rec.Body.String())
	}
	return m
}

func wantProblemResponse(t *testing.T, rec *httptest.ResponseRecorder, status int, field string) {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status %d, want %d: %s", rec.Code, status, rec.Body.String())
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Fatalf("content type %q", ct)
	}
	m := decodeJSON(t, rec)
	if int(m["status"].(float64)) != status || m["title"] == "" {
		t.Fatalf("problem body %v", m)
	}
	errs, ok := m["errors"].(map[string]any)
	if !ok {
		t.Fatalf("problem without an errors map: %v", m)
	}
	if field != "" {
		if _, ok := errs[field]; !ok {
			t.Fatalf("errors %v lack %q", errs, field)
		}
	}
}

// app creates an application over HTTP and returns its key.
func (e *apiEnv) app(typ string, perms ...string) string {
	e.t.Helper()
	b, _ := json.Marshal(map[string]any{"name": "a", "type": typ, "permissions": perms})
	rec := e.do("POST", "/applications", mgmtKey, string(b))
	if rec.Code != 201 {
		e.t.Fatalf("create app: %d %s", rec.Code, rec.Body.String())
	}
	return decodeJSON(e.t, rec)["key"].(string)
}

func TestAuthAndTrace(t *testing.T) {
	e := newAPI(t, 0)
	rec := e.do("GET", "/applications", "", "")
	wantProblemResponse(t, rec, 401, "")
	if rec.Header().Get(TraceHeader) == "" {
		t.Error("no generated trace id")
	}
	wantProblemResponse(t, e.do("GET", "/applications", "key_wrong", ""), 401, "")
	rec = e.do("GET", "/applications", mgmtKey, "", TraceHeader, "trace-123")
	if rec.Code != 200 || rec.Header().Get(TraceHeader) != "trace-123" {
		t.Fatalf("trace echo: %d %q", rec.Code, rec.Header().Get(TraceHeader))
	}
	// Legacy header.
	req := httptest.NewRequest("GET", "/applications", nil)
	req.Header.Set("X-API-KEY", mgmtKey)
	rr := httptest.NewRecorder()
	e.api.ServeHTTP(rr, req)
	if rr.Code != 200 {
		t.Fatalf("X-API-KEY: %d", rr.Code)
	}
	// Trailing slash routes the same.
	if rec := e.do("GET", "/applications/", mgmtKey, ""); rec.Code != 200 {
		t.Fatalf("trailing slash: %d", rec.Code)
	}
	wantProblemResponse(t, e.do("GET", "/no-such-route", mgmtKey, ""), 404, "")
	wantProblemResponse(t, e.do("DELETE", "/applications", mgmtKey, ""), 405, "")
	// A private key on a management route.
	key := e.app("private", "token:read")
	wantProblemResponse(t, e.do("GET", "/applications", key, ""), 403, "")
}

func TestTokenRoutes(t *testing.T) {
	e := newAPI(t, 512)
	key := e.app("server_to_server", "token:pci:create", "token:pci:read:low", "token:pci:update", "token:general:create")
	rec := e.do("POST", "/tokens", key, `{"type":"card_number","data":"4242424242424242","metadata":{"k":"v"}}`)
	if rec.Code != 201 {
		t.Fatalf("create: %d %s", rec.Code, rec.Body.String())
	}
	tok := decodeJSON(t, rec)
	if _, has := tok["data"]; has {
		t.Errorf("create response has data: %v", tok)
	}
	id := tok["id"].(string)
	rec = e.do("GET", "/tokens/"+id, key, "")
	if rec.Code != 200 || decodeJSON(t, rec)["data"] != "XXXXXXXXXXXX4242" {
		t.Fatalf("read:low get: %d %s", rec.Code, rec.Body.String())
	}
	wantProblemResponse(t, e.do("POST", "/tokens", key, `{"type":5,"data":"x"}`), 400, "type")
	wantProblemResponse(t, e.do("POST", "/tokens", key, `{"type":"card_number","data":"1"}`), 400, "data")
	wantProblemResponse(t, e.do("POST", "/tokens", key, `{"type":"token",`), 400, "body")
	wantProblemResponse(t, e.do("POST", "/tokens", key, `{"data":"`+strings.Repeat("a", 600)+`"}`), 413, "body")
	wantProblemResponse(t, e.do("PATCH", "/tokens/"+id, key, `{"metadata":{"a":"b"}}`, "Content-Type", "text/plain"), 415, "")
	rec = e.do("PATCH", "/tokens/"+id, key, `{"metadata":{"a":"b"}}`, "Content-Type", "application/merge-patch+json")
	if rec.Code != 200 {
		t.Fatalf("patch: %d %s", rec.Code, rec.Body.String())
	}
	if md := decodeJSON(t, rec)["metadata"].(map[string]any); md["a"] != "b" || md["k"] != "v" {
		t.Fatalf("patched metadata %v", md)
	}
	wantProblemResponse(t, e.do("GET", "/tokens?page=0", key, ""), 400, "page")
	wantProblemResponse(t, e.do("GET", "/tokens?size=x", key, ""), 400, "size")
	wantProblemResponse(t, e.do("GET", "/tokens?metadata=%7B%22a%22%3A1%7D", key, ""), 400, "metadata")
	rec = e.do("GET", "/tokens?metadata.k=V", key, "")
	if rec.Code != 200 || decodeJSON(t, rec)["pagination"].(map[string]any)["total_items"].(float64) != 1 {
		t.Fatalf("metadata filter: %s", rec.Body.String())
	}
	wantProblemResponse(t, e.do("GET", "/tokens/no-such-id", key, ""), 404, "")
	// Tokenize, all or nothing.
	wantProblemResponse(t, e.do("POST", "/tokenize", key, `{"a":"x","b":{"type":"card_number","data":"1"}}`), 400, "b.data")
	rec = e.do("POST", "/tokenize", key, `{"a":"x","b":{"type":"card_number","data":"4242424242424242"}}`)
	if rec.Code != 201 {
		t.Fatalf("tokenize: %d %s", rec.Code, rec.Body.String())
	}
}
