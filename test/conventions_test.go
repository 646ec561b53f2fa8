package test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/strongroom/strongroom/test/harness"
)

// Seed 001 "Errors"/"Authentication", wire contract §0-§1: every failure is
// RFC 7807 with an `errors` object.
func TestErrorResponses(t *testing.T) {
	t.Parallel()
	s := start(t)
	_, privKey := privateApp(t, s, "Private")

	t.Run("401", func(t *testing.T) {
		cases := []struct {
			name   string
			header string // "" = send no credential header at all
			value  string
		}{
			{"missing", "", ""},
			{"empty BT-API-KEY", "BT-API-KEY", ""},
			{"empty X-API-KEY", "X-API-KEY", ""},
			{"unknown BT-API-KEY", "BT-API-KEY", harness.NewKey()},
			{"unknown X-API-KEY", "X-API-KEY", harness.NewKey()},
			{"malformed BT-API-KEY", "BT-API-KEY", "not a key"},
		}
		for _, c := range cases {
			for _, path := range []string{"/applications", "/tenants/self", "/permissions"} {
				req, _ := harness.NewRequest("GET", s.BaseURL+path, "", nil)
				if c.header != "" {
					req.Header[http.CanonicalHeaderKey(c.header)] = []string{c.value}
				}
				st, hdr, body := s.Send(t, req)
				checkProblem(t, c.name+" "+path, st, hdr, body, http.StatusUnauthorized)
			}
		}
		// A write without a key is refused too, and creates nothing.
		st, hdr, body := s.Do(t, "POST", "/applications", "", map[string]any{"name": "x", "type": "private", "permissions": []string{"token:read"}})
		checkProblem(t, "POST without key", st, hdr, body, http.StatusUnauthorized)
	})

	t.Run("X-API-KEY accepted", func(t *testing.T) {
		req, _ := harness.NewRequest("GET", s.BaseURL+"/applications/key", "", nil)
		req.Header.Set("X-API-KEY", s.ManagementKey)
		st, _, body := s.Send(t, req)
		mustStatus(t, "GET /applications/key with X-API-KEY "+string(body), st, http.StatusOK)
	})

	t.Run("403", func(t *testing.T) {
		st, hdr, body := s.Do(t, "GET", "/applications", privKey, nil)
		checkProblem(t, "private key GET /applications", st, hdr, body, http.StatusForbidden)
		st, hdr, body = s.Do(t, "GET", "/tenants/self", privKey, nil)
		checkProblem(t, "private key GET /tenants/self", st, hdr, body, http.StatusForbidden)
		_, readOnly := managementApp(t, s, "Reader", "application:read")
		st, hdr, body = s.Do(t, "POST", "/applications", readOnly, map[string]any{"name": "x", "type": "private", "permissions": []string{"token:read"}})
		checkProblem(t, "application:read key POST /applications", st, hdr, body, http.StatusForbidden)
		st, hdr, body = s.Do(t, "GET", "/logs", readOnly, nil)
		checkProblem(t, "application:read key GET /logs", st, hdr, body, http.StatusForbidden)
	})

	t.Run("404", func(t *testing.T) {
		unknown := "6f1a2b3c-4d5e-4f60-8a7b-9c0d1e2f3a4b"
		for _, path := range []string{
			"/applications/" + unknown,
			"/applications/" + unknown + "/keys",
			"/applications/" + unknown + "/keys/" + unknown,
			"/no-such-route",
			"/applications/" + unknown + "/nothing-here",
		} {
			st, hdr, body := s.Do(t, "GET", path, s.ManagementKey, nil)
			checkProblem(t, "GET "+path, st, hdr, body, http.StatusNotFound)
		}
		for _, method := range []string{"PUT", "DELETE"} {
			var body any
			if method == "PUT" {
				body = map[string]any{"name": "x", "permissions": []string{"application:read"}}
			}
			st, hdr, b := s.Do(t, method, "/applications/"+unknown, s.ManagementKey, body)
			checkProblem(t, method+" unknown application", st, hdr, b, http.StatusNotFound)
		}
		st, hdr, b := s.Do(t, "POST", "/applications/"+unknown+"/regenerate", s.ManagementKey, nil)
		checkProblem(t, "regenerate unknown application", st, hdr, b, http.StatusNotFound)
	})

	t.Run("400", func(t *testing.T) {
		valid := func() map[string]any {
			return map[string]any{"name": "App", "type": "private", "permissions": []any{"token:read"}}
		}
		// Malformed JSON.
		for _, raw := range []string{`{"name":"x",`, `{name: "x"}`, `not json`, `{"name":"x"} trailing`, `[`} {
			st, hdr, body := s.Do(t, "POST", "/applications", s.ManagementKey, raw)
			p := checkProblem(t, "malformed "+raw, st, hdr, body, http.StatusBadRequest)
			if e, _ := p["errors"].(map[string]any); len(e) == 0 {
				t.Errorf("malformed %q: errors is empty: %s", raw, body)
			}
		}
		// Wrong field types name the field.
		for field, bad := range map[string]any{
			"name":        5,
			"type":        true,
			"permissions": "token:read",
			"rules":       map[string]any{"x": 1},
		} {
			b := valid()
			b[field] = bad
			st, hdr, body := s.Do(t, "POST", "/applications", s.ManagementKey, b)
			checkProblem(t, "wrong type for "+field, st, hdr, body, http.StatusBadRequest, field)
		}
		// Seed 003 validation: required fields, lengths, types, permissions.
		for _, c := range []struct {
			name  string
			edit  func(map[string]any)
			field string
		}{
			{"name missing", func(b map[string]any) { delete(b, "name") }, "name"},
			{"name too long", func(b map[string]any) { b["name"] = strings.Repeat("n", 201) }, "name"},
			{"type missing", func(b map[string]any) { delete(b, "type") }, "type"},
			{"type unknown", func(b map[string]any) { b["type"] = "superuser" }, "type"},
		} {
			b := valid()
			c.edit(b)
			st, hdr, body := s.Do(t, "POST", "/applications", s.ManagementKey, b)
			checkProblem(t, c.name, st, hdr, body, http.StatusBadRequest, c.field)
		}
		b := valid()
		b["permissions"] = []any{}
		st, hdr, body := s.Do(t, "POST", "/applications", s.ManagementKey, b)
		p := checkProblem(t, "neither permissions nor rules", st, hdr, body, http.StatusBadRequest)
		if e, _ := p["errors"].(map[string]any); e["permissions"] == nil && e["rules"] == nil {
			t.Errorf("neither permissions nor rules: errors names neither: %s", body)
		}
		b = valid()
		b["permissions"] = []any{"application:create"}
		st, hdr, body = s.Do(t, "POST", "/applications", s.ManagementKey, b)
		checkProblem(t, "management permission on a private app", st, hdr, body, http.StatusBadRequest)
		// Nothing above was created.
		list := s.JSON(t, "GET", "/applications?size=100", s.ManagementKey, nil, http.StatusOK)
		for _, a := range list["data"].([]any) {
			if n := a.(map[string]any)["name"]; n != "Management" && n != "Private" && n != "Reader" {
				t.Errorf("a rejected request created application %v", js(a))
			}
		}
		// Query parameters.
		for _, q := range []string{"page=0", "page=x", "size=0", "size=-1"} {
			st, hdr, body := s.Do(t, "GET", "/applications?"+q, s.ManagementKey, nil)
			checkProblem(t, "GET /applications?"+q, st, hdr, body, http.StatusBadRequest, strings.Split(q, "=")[0])
		}
	})

	t.Run("413", func(t *testing.T) {
		const limit = 2 << 20
		prefix := `{"name":"big","type":"private","permissions":["token:read"],"pad":"`
		over := prefix + strings.Repeat("a", limit-len(prefix)+64) + `"}`
		st, hdr, body := s.Do(t, "POST", "/applications", s.ManagementKey, over)
		checkProblem(t, "body over 2 MiB", st, hdr, body, http.StatusRequestEntityTooLarge)
		st, hdr, body = s.Do(t, "PUT", "/tenants/self", s.ManagementKey, `{"name":"`+strings.Repeat("t", limit)+`"}`)
		checkProblem(t, "PUT /tenants/self over 2 MiB", st, hdr, body, http.StatusRequestEntityTooLarge)
		// Exactly at the limit is accepted (JSON whitespace as padding).
		ok := `{"name":"at-limit","type":"private","permissions":["token:read"]`
		ok += strings.Repeat(" ", limit-len(ok)-1) + "}"
		if len(ok) != limit {
			t.Fatalf("padding arithmetic: %d", len(ok))
		}
		st, _, body = s.Do(t, "POST", "/applications", s.ManagementKey, ok)
		mustStatus(t, "body of exactly 2 MiB "+string(body[:min(len(body), 300)]), st, http.StatusCreated)
	})
}

// Wire contract §0.5: `/x` and `/x/` are the same route.
func TestTrailingSlash(t *testing.T) {
	t.Parallel()
	s := start(t)
	id, _ := privateApp(t, s, "Slash")

	a := s.JSON(t, "GET", "/applications", s.ManagementKey, nil, http.StatusOK)
	b := s.JSON(t, "GET", "/applications/", s.ManagementKey, nil, http.StatusOK)
	if js(a) != js(b) {
		t.Errorf("GET /applications and /applications/ differ:\n%s\n%s", js(a), js(b))
	}
	c := s.JSON(t, "GET", "/applications/?page=1&size=1", s.ManagementKey, nil, http.StatusOK)
	checkPage(t, "GET /applications/?page=1&size=1", c, 1, 1)

	app := s.JSON(t, "GET", "/applications/"+id+"/", s.ManagementKey, nil, http.StatusOK)
	if app["id"] != id {
		t.Errorf("GET /applications/{id}/ returned %s", js(app))
	}
	created := s.JSON(t, "POST", "/applications/", s.ManagementKey,
		map[string]any{"name": "Via slash", "type": "private", "permissions": []string{"token:read"}}, http.StatusCreated)
	checkFields(t, "POST /applications/", created, append(appRequired, "key"), appAllowed)
	for _, p := range []string{"/tenants/self/", "/permissions/", "/logs/", "/applications/key/", "/tenants/self/reports/usage/"} {
		mustStatus(t, "GET "+p, status(t, s, "GET", p, s.ManagementKey), http.StatusOK)
	}
	st, hdr, body := s.Do(t, "GET", "/applications/", "", nil)
	checkProblem(t, "GET /applications/ without key", st, hdr, body, http.StatusUnauthorized)
}

// Seed 001 "Request Correlation": BT-TRACE-ID is echoed, or generated.
func TestTraceID(t *testing.T) {
	t.Parallel()
	s := start(t)
	body := map[string]any{"name": "Traced", "type": "private", "permissions": []string{"token:read"}}
	for _, c := range []struct {
		method, path string
		body         any
		key          string
	}{
		{"POST", "/applications", body, s.ManagementKey},
		{"GET", "/applications", nil, s.ManagementKey},
		{"PUT", "/tenants/self", map[string]any{"name": "T"}, s.ManagementKey},
		{"GET", "/applications", nil, ""},                       // 401
		{"GET", "/no-such-route", nil, s.ManagementKey},         // 404
		{"POST", "/applications", "{bad json", s.ManagementKey}, // 400
	} {
		const sent = "aa5d3379-6385-4ef4-9fdb-ca1341572153"
		req, _ := harness.NewRequest(c.method, s.BaseURL+c.path, c.key, c.body)
		req.Header.Set("bt-trace-id", sent) // basis-theory-js sends it lower-case
		_, hdr, _ := s.Send(t, req)
		if got := hdr.Get("BT-TRACE-ID"); got != sent {
			t.Errorf("%s %s: BT-TRACE-ID %q, want the sent %q", c.method, c.path, got, sent)
		}
		req, _ = harness.NewRequest(c.method, s.BaseURL+c.path, c.key, c.body)
		_, hdr1, _ := s.Send(t, req)
		req, _ = harness.NewRequest(c.method, s.BaseURL+c.path, c.key, c.body)
		_, hdr2, _ := s.Send(t, req)
		g1, g2 := hdr1.Get("BT-TRACE-ID"), hdr2.Get("BT-TRACE-ID")
		if g1 == "" || g2 == "" || g1 == g2 {
			t.Errorf("%s %s without BT-TRACE-ID: generated %q and %q, want two distinct ids", c.method, c.path, g1, g2)
		}
	}
}

// basis-theory-js sends `POST /applications/{id}/regenerate` without a body;
// other clients add whatever Content-Type they default to.
func TestRegenerateBodiless(t *testing.T) {
	t.Parallel()
	s := start(t)
	id, key := privateApp(t, s, "Regen")
	for _, ct := range []string{"", "application/json", "text/plain", "application/x-www-form-urlencoded",
		"application/octet-stream", "application/json; charset=utf-8", "multipart/form-data; boundary=x"} {
		req, _ := harness.NewRequest("POST", s.BaseURL+"/applications/"+id+"/regenerate", s.ManagementKey, nil)
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		st, _, body := s.Send(t, req)
		if st != http.StatusOK {
			t.Errorf("regenerate with Content-Type %q: status %d, body %s", ct, st, body)
			continue
		}
		app := decodeObj(t, body)
		checkFields(t, "regenerate", app, append(appRequired, "key", "modified_at"), appAllowed)
		newKey := checkKey(t, "regenerate key", app["key"])
		if newKey == key {
			t.Errorf("regenerate with Content-Type %q returned the old key", ct)
		}
		mustStatus(t, "old key after regenerate", keyWorks(t, s, key), http.StatusUnauthorized)
		mustStatus(t, "new key after regenerate", keyWorks(t, s, newKey), http.StatusOK)
		key = newKey
	}
	// A JSON body `{}` and an explicit Content-Length: 0 work as well.
	for _, b := range []any{"{}", ""} {
		req, _ := harness.NewRequest("POST", s.BaseURL+"/applications/"+id+"/regenerate", s.ManagementKey, b)
		st, _, body := s.Send(t, req)
		mustStatus(t, "regenerate with body "+string(body), st, http.StatusOK)
	}
}
