// Package test holds Strongroom's end-to-end tests: each test runs the real
// binary (built once per `go test` process) against a real Pebble data
// directory and talks to it over HTTP, asserting the seed documents'
// behaviour (spec/seeds 001-004) and the wire conventions of
// spec/bt-wire-contract.md §0-§1.
package test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/strongroom/strongroom/test/harness"
)

var uuidRe = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// Field sets of the seed objects: required ones must be present, and no
// field outside allowed may appear.
var (
	// Seed 003 "Application Object" (key only on create and regenerate).
	appRequired = []string{"id", "tenant_id", "name", "type", "permissions", "created_at"}
	appAllowed  = []string{"id", "tenant_id", "name", "key", "type", "permissions", "rules",
		"created_by", "created_at", "modified_by", "modified_at", "expires_at", "can_create_expiring_applications"}
	// Seed 002 "Application Key Object".
	keyRequired = []string{"id", "tenant_id", "created_at"}
	keyAllowed  = []string{"id", "tenant_id", "key", "created_by", "created_at"}
	// Seed 001 "Log Object".
	logRequired = []string{"tenant_id", "entity_type", "entity_id", "operation", "message", "created_at"}
	logAllowed  = []string{"tenant_id", "actor_id", "actor_type", "entity_type", "entity_id", "operation", "message", "created_at"}
	// Seed 001 pagination metadata.
	paginationFields = []string{"total_items", "page_number", "page_size", "total_pages"}
	// RFC 7807 as used by the seeds (001 "Errors").
	problemRequired = []string{"type", "title", "status", "errors"}
	problemAllowed  = []string{"type", "title", "status", "detail", "instance", "errors"}
)

// start starts a server with the repo's Caddyfile.
func start(t *testing.T) *harness.Server {
	t.Helper()
	return harness.Start(t, harness.Options{})
}

// checkFields asserts obj has every required field and nothing outside
// allowed (allowed nil = anything).
func checkFields(t testing.TB, what string, obj map[string]any, required, allowed []string) {
	t.Helper()
	for _, f := range required {
		if _, ok := obj[f]; !ok {
			t.Errorf("%s: missing field %q in %s", what, f, js(obj))
		}
	}
	if allowed == nil {
		return
	}
	for f := range obj {
		if !slices.Contains(allowed, f) {
			t.Errorf("%s: unexpected field %q in %s", what, f, js(obj))
		}
	}
}

// checkTime asserts obj[field] is an ISO 8601 timestamp and returns it.
func checkTime(t testing.TB, what string, obj map[string]any, field string) time.Time {
	t.Helper()
	s, ok := obj[field].(string)
	if !ok {
		t.Errorf("%s: %s = %v, want an ISO 8601 string", what, field, obj[field])
		return time.Time{}
	}
	ts, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Errorf("%s: %s = %q is not ISO 8601: %v", what, field, s, err)
	}
	return ts
}

func checkUUID(t testing.TB, what string, v any) string {
	t.Helper()
	s, _ := v.(string)
	if !uuidRe.MatchString(s) {
		t.Errorf("%s: %v is not a lower-case uuid", what, v)
	}
	return s
}

func checkKey(t testing.TB, what string, v any) string {
	t.Helper()
	s, _ := v.(string)
	if !strings.HasPrefix(s, "key_") || len(s) < 16 {
		t.Errorf("%s: %v is not a key_... API key", what, v)
	}
	return s
}

// checkProblem asserts an RFC 7807 answer with status want and an `errors`
// object naming at least the given fields; it returns the decoded body.
func checkProblem(t testing.TB, what string, status int, hdr http.Header, body []byte, want int, fields ...string) map[string]any {
	t.Helper()
	if status != want {
		t.Errorf("%s: status %d, want %d; body %s", what, status, want, body)
	}
	if ct := hdr.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Errorf("%s: Content-Type %q, want application/problem+json", what, ct)
	}
	var p map[string]any
	if err := json.Unmarshal(body, &p); err != nil {
		t.Errorf("%s: problem body is not a JSON object (%v): %s", what, err, body)
		return nil
	}
	checkFields(t, what+" problem", p, problemRequired, problemAllowed)
	if s, _ := p["status"].(float64); int(s) != want {
		t.Errorf("%s: problem status %v, want %d", what, p["status"], want)
	}
	for _, f := range []string{"type", "title"} {
		if s, _ := p[f].(string); s == "" {
			t.Errorf("%s: problem %s is empty: %s", what, f, body)
		}
	}
	for _, f := range []string{"detail", "instance"} {
		if v, ok := p[f]; ok {
			if _, isStr := v.(string); !isStr {
				t.Errorf("%s: problem %s is not a string: %s", what, f, body)
			}
		}
	}
	errs, ok := p["errors"].(map[string]any)
	if !ok {
		t.Errorf("%s: problem `errors` is not an object: %s", what, body)
		return p
	}
	for name, msgs := range errs {
		arr, ok := msgs.([]any)
		if !ok || len(arr) == 0 {
			t.Errorf("%s: errors.%s is not a non-empty array: %s", what, name, body)
			continue
		}
		for _, m := range arr {
			if s, _ := m.(string); s == "" {
				t.Errorf("%s: errors.%s holds a non-string or empty message: %s", what, name, body)
			}
		}
	}
	for _, f := range fields {
		if _, ok := errs[f]; !ok {
			t.Errorf("%s: errors does not name %q: %s", what, f, body)
		}
	}
	return p
}

// checkPage asserts the offset pagination envelope and returns data.
func checkPage(t testing.TB, what string, m map[string]any, page, size int) (pg map[string]any, data []any) {
	t.Helper()
	return checkPageWith(t, what, m, page, size)
}

// checkPageWith is checkPage for a list whose pagination may also hold
// the fields extra (GET /logs: its next and after cursors).
func checkPageWith(t testing.TB, what string, m map[string]any, page, size int, extra ...string) (pg map[string]any, data []any) {
	t.Helper()
	checkFields(t, what, m, []string{"pagination", "data"}, []string{"pagination", "data"})
	pg, _ = m["pagination"].(map[string]any)
	if pg == nil {
		t.Fatalf("%s: pagination is not an object: %s", what, js(m))
	}
	checkFields(t, what+" pagination", pg, paginationFields, append(slices.Clone(paginationFields), extra...))
	if num(pg["page_number"]) != page || num(pg["page_size"]) != size {
		t.Errorf("%s: pagination %s, want page_number %d and page_size %d", what, js(pg), page, size)
	}
	total, pages := num(pg["total_items"]), num(pg["total_pages"])
	if wantPages := (total + size - 1) / size; pages != wantPages {
		t.Errorf("%s: total_pages %d for %d items of %d, want %d", what, pages, total, size, wantPages)
	}
	raw, ok := m["data"].([]any)
	if !ok {
		t.Fatalf("%s: data is not an array (an empty page must be [], not null): %s", what, js(m))
	}
	return pg, raw
}

func num(v any) int {
	f, _ := v.(float64)
	return int(f)
}

func js(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 2000 {
		return string(b[:2000]) + "..."
	}
	return string(b)
}

func strs(v any) []string {
	arr, _ := v.([]any)
	out := make([]string, 0, len(arr))
	for _, x := range arr {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	sort.Strings(a)
	sort.Strings(b)
	return slices.Equal(a, b)
}

func ids(data []any) []string {
	out := make([]string, 0, len(data))
	for _, d := range data {
		m, _ := d.(map[string]any)
		s, _ := m["id"].(string)
		out = append(out, s)
	}
	return out
}

// createApp creates an application and checks the seed 003 create response.
func createApp(t testing.TB, s *harness.Server, body map[string]any) map[string]any {
	t.Helper()
	app := s.JSON(t, "POST", "/applications", s.ManagementKey, body, http.StatusCreated)
	checkFields(t, "create application", app, append(appRequired, "key"), appAllowed)
	return app
}

// managementApp creates a management application with perms and returns
// its id and key.
func managementApp(t testing.TB, s *harness.Server, name string, perms ...string) (id, key string) {
	t.Helper()
	app := createApp(t, s, map[string]any{"name": name, "type": "management", "permissions": perms})
	return app["id"].(string), app["key"].(string)
}

// privateApp creates a private application with token:read.
func privateApp(t testing.TB, s *harness.Server, name string) (id, key string) {
	t.Helper()
	app := createApp(t, s, map[string]any{"name": name, "type": "private", "permissions": []string{"token:read"}})
	return app["id"].(string), app["key"].(string)
}

// self returns the application of the server's management key.
func self(t testing.TB, s *harness.Server) map[string]any {
	t.Helper()
	return s.JSON(t, "GET", "/applications/key", s.ManagementKey, nil, http.StatusOK)
}

// status sends a request and returns its status only.
func status(t testing.TB, s *harness.Server, method, path, key string) int {
	t.Helper()
	st, _, _ := s.Do(t, method, path, key, nil)
	return st
}

// keyWorks reports whether key authenticates: GET /permissions needs no
// permission, so any valid key of any application type gets a 200 there.
func keyWorks(t testing.TB, s *harness.Server, key string) int {
	t.Helper()
	return status(t, s, "GET", "/permissions", key)
}

func mustStatus(t testing.TB, what string, got, want int) {
	t.Helper()
	if got != want {
		t.Errorf("%s: status %d, want %d", what, got, want)
	}
}

// decodeObj decodes a JSON object body.
func decodeObj(t testing.TB, body []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("body is not a JSON object (%v): %s", err, body)
	}
	return m
}
