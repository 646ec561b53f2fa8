package test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/strongroom/strongroom/test/harness"
)

// Seed 001 "Tenants": GET/PUT /tenants/self and the usage report.
func TestTenant(t *testing.T) {
	t.Parallel()
	s := start(t)
	me := self(t, s)
	tenant := s.JSON(t, "GET", "/tenants/self", s.ManagementKey, nil, http.StatusOK)
	// Seed 001 "Tenant Object"; `settings` is the 2022 addition (wire
	// contract §3.12); `type` is Strongroom's test/production tenant flag.
	allowed := []string{"id", "owner_id", "name", "created_by", "created_at", "modified_by", "modified_at", "settings", "type"}
	checkFields(t, "GET /tenants/self", tenant, []string{"id", "name", "created_at"}, allowed)
	if tenant["id"] != me["tenant_id"] {
		t.Errorf("tenant id %v, the management application's tenant_id is %v", tenant["id"], me["tenant_id"])
	}
	checkUUID(t, "tenant id", tenant["id"])
	checkTime(t, "tenant", tenant, "created_at")
	if n, _ := tenant["name"].(string); n == "" {
		t.Errorf("tenant without a name: %s", js(tenant))
	}

	upd := s.JSON(t, "PUT", "/tenants/self", s.ManagementKey, map[string]any{"name": "My Example Tenant"}, http.StatusOK)
	checkFields(t, "PUT /tenants/self", upd, []string{"id", "name", "created_at", "modified_by", "modified_at"}, allowed)
	if upd["name"] != "My Example Tenant" || upd["id"] != tenant["id"] || upd["modified_by"] != me["id"] || upd["created_at"] != tenant["created_at"] {
		t.Errorf("PUT response %s (before: %s)", js(upd), js(tenant))
	}
	checkTime(t, "tenant update", upd, "modified_at")
	if got := s.JSON(t, "GET", "/tenants/self/", s.ManagementKey, nil, http.StatusOK); got["name"] != "My Example Tenant" {
		t.Errorf("GET after PUT: %s", js(got))
	}

	for name, body := range map[string]any{
		"empty object":  map[string]any{},
		"null name":     map[string]any{"name": nil},
		"empty name":    map[string]any{"name": ""},
		"name too long": map[string]any{"name": strings.Repeat("x", 201)},
		"name a number": map[string]any{"name": 42},
		"no body":       nil,
	} {
		st, hdr, b := s.Do(t, "PUT", "/tenants/self", s.ManagementKey, body)
		checkProblem(t, "PUT /tenants/self "+name, st, hdr, b, http.StatusBadRequest, "name")
	}
	if got := s.JSON(t, "GET", "/tenants/self", s.ManagementKey, nil, http.StatusOK); got["name"] != "My Example Tenant" {
		t.Errorf("a rejected PUT changed the tenant: %s", js(got))
	}
	_, reader := managementApp(t, s, "Tenant reader", "tenant:read")
	mustStatus(t, "tenant:read key GET", status(t, s, "GET", "/tenants/self", reader), http.StatusOK)
	st, hdr, b := s.Do(t, "PUT", "/tenants/self", reader, map[string]any{"name": "Nope"})
	checkProblem(t, "tenant:read key PUT", st, hdr, b, http.StatusForbidden)
	st, hdr, b = s.Do(t, "GET", "/tenants/self/reports/usage", reader, nil)
	checkProblem(t, "usage report without report:read", st, hdr, b, http.StatusForbidden)

	t.Run("owner_id", func(t *testing.T) {
		// Seed 001 lists owner_id in the Tenant Object without "(Optional)".
		if _, ok := tenant["owner_id"]; !ok {
			t.Errorf("seed 001: GET /tenants/self has no owner_id: %s", js(tenant))
		}
	})

	t.Run("usage report", func(t *testing.T) {
		rep := s.JSON(t, "GET", "/tenants/self/reports/usage", s.ManagementKey, nil, http.StatusOK)
		// Seed 001 defines only token_report; other top-level fields are
		// tolerated (and logged) since the SDKs ignore unknown fields.
		checkFields(t, "usage report", rep, []string{"token_report"}, nil)
		for f := range rep {
			if f != "token_report" {
				t.Logf("usage report carries a field seed 001 does not define: %s", f)
			}
		}
		tr, _ := rep["token_report"].(map[string]any)
		if tr == nil {
			t.Fatalf("token_report is not an object: %s", js(rep))
		}
		fields := []string{"metrics_by_type", "included_monthly_active_tokens", "monthly_active_tokens"}
		checkFields(t, "token_report", tr, fields, fields)
		for _, f := range fields[1:] {
			if _, ok := tr[f].(float64); !ok {
				t.Errorf("token_report.%s is not a number: %s", f, js(tr))
			}
		}
		mbt, ok := tr["metrics_by_type"].(map[string]any)
		if !ok {
			t.Fatalf("metrics_by_type is not an object: %s", js(tr))
		}
		checkMetrics := func(mbt map[string]any) {
			for typ, v := range mbt {
				m, _ := v.(map[string]any)
				checkFields(t, "metrics_by_type."+typ, m, []string{"count"}, []string{"count", "last_created_at"})
				if _, ok := m["last_created_at"]; ok {
					checkTime(t, "metrics_by_type."+typ, m, "last_created_at")
				}
			}
		}
		checkMetrics(mbt)
		if len(mbt) != 0 || num(tr["monthly_active_tokens"]) != 0 {
			t.Errorf("a tenant without tokens reports %s", js(tr))
		}
		// Counting needs the tokens API; exercise it when it exists.
		st, _, body := s.Do(t, "POST", "/tokens", s.ManagementKey, map[string]any{"type": "token", "data": "x"})
		if st == http.StatusNotFound || st == http.StatusMethodNotAllowed {
			t.Logf("POST /tokens is not served (%d); token counts not checked", st)
			return
		}
		if st == http.StatusForbidden {
			_, tokKey := privateAppWith(t, s, "Tokenizer", "token:create")
			st, _, body = s.Do(t, "POST", "/tokens", tokKey, map[string]any{"type": "token", "data": "x"})
		}
		if st != http.StatusCreated {
			t.Logf("POST /tokens: %d %s; token counts not checked", st, body)
			return
		}
		rep = s.JSON(t, "GET", "/tenants/self/reports/usage", s.ManagementKey, nil, http.StatusOK)
		tr = rep["token_report"].(map[string]any)
		mbt = tr["metrics_by_type"].(map[string]any)
		checkMetrics(mbt)
		if m, _ := mbt["token"].(map[string]any); num(m["count"]) != 1 || m["last_created_at"] == nil {
			t.Errorf("after one token: %s", js(tr))
		}
		if num(tr["monthly_active_tokens"]) != 1 {
			t.Errorf("after one token: monthly_active_tokens %v", tr["monthly_active_tokens"])
		}
	})

	// Seed 001 "Delete Tenant": tenant:delete, then every key of the
	// tenant stops working at once.
	st, hdr, b = s.Do(t, "DELETE", "/tenants/self", reader, nil)
	checkProblem(t, "tenant:read key DELETE", st, hdr, b, http.StatusForbidden)
	st, _, b = s.Do(t, "DELETE", "/tenants/self", s.ManagementKey, nil)
	if st != http.StatusNoContent || len(b) != 0 {
		t.Errorf("DELETE /tenants/self: %d %q, want 204", st, b)
	}
	for name, k := range map[string]string{"management": s.ManagementKey, "tenant reader": reader} {
		st, hdr, b := s.Do(t, "GET", "/tenants/self", k, nil)
		checkProblem(t, name+" key after tenant delete", st, hdr, b, http.StatusUnauthorized)
	}
}

// privateAppWith creates a private application with perms.
func privateAppWith(t testing.TB, s *harness.Server, name string, perms ...string) (id, key string) {
	t.Helper()
	app := createApp(t, s, map[string]any{"name": name, "type": "private", "permissions": perms})
	return app["id"].(string), app["key"].(string)
}

// Seed 001 "List Logs": filters and offset pagination.
func TestLogs(t *testing.T) {
	t.Parallel()
	s := start(t)
	me := self(t, s)
	meID, tenantID := me["id"].(string), me["tenant_id"].(string)

	idA, _ := managementApp(t, s, "A", "application:read")
	idB, _ := privateApp(t, s, "B")
	s.JSON(t, "PUT", "/applications/"+idA, s.ManagementKey, map[string]any{"name": "A2", "permissions": []string{"application:read"}}, http.StatusOK)
	s.JSON(t, "POST", "/applications/"+idB+"/regenerate", s.ManagementKey, nil, http.StatusOK)
	s.JSON(t, "PUT", "/tenants/self", s.ManagementKey, map[string]any{"name": "Logged"}, http.StatusOK)
	for i := range 4 {
		privateApp(t, s, "filler "+string(rune('a'+i)))
	}

	get := func(q url.Values, page, size int) (map[string]any, []map[string]any) {
		t.Helper()
		m := s.JSON(t, "GET", "/logs?"+q.Encode(), s.ManagementKey, nil, http.StatusOK)
		pg, data := checkPageWith(t, "GET /logs?"+q.Encode(), m, page, size, "next", "after")
		out := make([]map[string]any, 0, len(data))
		for _, d := range data {
			e := d.(map[string]any)
			checkFields(t, "log entry", e, logRequired, logAllowed)
			checkTime(t, "log entry", e, "created_at")
			if e["tenant_id"] != tenantID {
				t.Errorf("log entry of another tenant: %s", js(e))
			}
			if msg, _ := e["message"].(string); msg == "" {
				t.Errorf("log entry without message: %s", js(e))
			}
			out = append(out, e)
		}
		// Newest first.
		for i := 1; i < len(out); i++ {
			if out[i-1]["created_at"].(string) < out[i]["created_at"].(string) {
				a, _ := time.Parse(time.RFC3339Nano, out[i-1]["created_at"].(string))
				b, _ := time.Parse(time.RFC3339Nano, out[i]["created_at"].(string))
				if a.Before(b) {
					t.Errorf("logs not newest first: %s before %s", out[i-1]["created_at"], out[i]["created_at"])
				}
			}
		}
		return pg, out
	}

	// entity_type + entity_id.
	_, a := get(url.Values{"entity_type": {"application"}, "entity_id": {idA}}, 1, 20)
	if len(a) != 2 || a[0]["operation"] != "update" || a[1]["operation"] != "create" {
		t.Fatalf("logs of application A: %s, want [update, create]", js(a))
	}
	for _, e := range a {
		if e["entity_type"] != "application" || e["entity_id"] != idA || e["actor_id"] != meID || e["actor_type"] != "application" {
			t.Errorf("log entry of A: %s (actor should be the management application %s)", js(e), meID)
		}
	}
	_, tn := get(url.Values{"entity_type": {"tenant"}}, 1, 20)
	if len(tn) != 2 || tn[0]["operation"] != "update" || tn[1]["operation"] != "create" {
		t.Errorf("tenant logs: %s, want [update, create]", js(tn))
	}
	for _, e := range tn {
		if e["entity_id"] != tenantID {
			t.Errorf("tenant log entry for another entity: %s", js(e))
		}
	}
	if tn[0]["actor_id"] != meID {
		t.Errorf("tenant update logged with actor %v, want %s", tn[0]["actor_id"], meID)
	}
	_, none := get(url.Values{"entity_type": {"application"}, "entity_id": {"6f1a2b3c-4d5e-4f60-8a7b-9c0d1e2f3a4b"}}, 1, 20)
	if len(none) != 0 {
		t.Errorf("logs of an unknown entity: %s", js(none))
	}

	// start_date is inclusive, end_date exclusive (seed 001), checked at
	// the exact timestamp of A's update.
	at := a[0]["created_at"].(string)
	_, since := get(url.Values{"entity_id": {idA}, "start_date": {at}}, 1, 20)
	if len(since) != 1 || since[0]["operation"] != "update" {
		t.Errorf("start_date=%s (inclusive): %s, want only the update", at, js(since))
	}
	_, until := get(url.Values{"entity_id": {idA}, "end_date": {at}}, 1, 20)
	if len(until) != 1 || until[0]["operation"] != "create" {
		t.Errorf("end_date=%s (exclusive): %s, want only the create", at, js(until))
	}
	_, empty := get(url.Values{"entity_id": {idA}, "start_date": {at}, "end_date": {at}}, 1, 20)
	if len(empty) != 0 {
		t.Errorf("start_date = end_date: %s, want nothing", js(empty))
	}
	tomorrow := time.Now().UTC().Add(24 * time.Hour).Format("2006-01-02")
	_, future := get(url.Values{"start_date": {tomorrow}}, 1, 20)
	if len(future) != 0 {
		t.Errorf("start_date=%s: %s", tomorrow, js(future))
	}
	yesterday := time.Now().UTC().Add(-24 * time.Hour).Format("2006-01-02")
	_, recent := get(url.Values{"start_date": {yesterday}, "entity_id": {idA}}, 1, 20)
	if len(recent) != 2 {
		t.Errorf("start_date=%s (date only): %d entries, want 2", yesterday, len(recent))
	}
	for _, q := range []string{"start_date=yesterday", "end_date=2021-13-45"} {
		st, hdr, body := s.Do(t, "GET", "/logs?"+q, s.ManagementKey, nil)
		checkProblem(t, "GET /logs?"+q, st, hdr, body, http.StatusBadRequest, strings.Split(q, "=")[0])
	}

	// Pagination over every application entry: pages partition the set and
	// a page past the last one has an empty `data`.
	q := url.Values{"entity_type": {"application"}}
	pg, _ := get(q, 1, 20)
	total := num(pg["total_items"])
	// bootstrap app, A (create+update), B (create+regenerate), 4 fillers.
	if total != 9 {
		t.Errorf("application log entries: %d, want 9", total)
	}
	seen := map[string]bool{}
	pages := (total + 3) / 4
	for p := 1; p <= pages; p++ {
		q.Set("page", strconv.Itoa(p))
		q.Set("size", "4")
		pg, data := get(q, p, 4)
		if num(pg["total_items"]) != total || num(pg["total_pages"]) != pages {
			t.Errorf("page %d: pagination %s", p, js(pg))
		}
		if want := min(4, total-(p-1)*4); len(data) != want {
			t.Errorf("page %d: %d entries, want %d", p, len(data), want)
		}
		for _, e := range data {
			k := js(e)
			if seen[k] {
				t.Errorf("entry on two pages: %s", k)
			}
			seen[k] = true
		}
	}
	if len(seen) != total {
		t.Errorf("pages hold %d distinct entries, total_items says %d", len(seen), total)
	}
	q.Set("page", strconv.Itoa(pages+1))
	pg, past := get(q, pages+1, 4)
	if len(past) != 0 || num(pg["total_items"]) != total {
		t.Errorf("past the last page: %s", js(pg))
	}
	q.Set("page", "1")
	q.Set("size", "1000")
	m := s.JSON(t, "GET", "/logs?"+q.Encode(), s.ManagementKey, nil, http.StatusOK)
	if pg := m["pagination"].(map[string]any); num(pg["page_size"]) != 100 {
		t.Errorf("size=1000: page_size %v, want the maximum 100", pg["page_size"])
	}

	types := s.JSONValue(t, "GET", "/logs/entity-types", s.ManagementKey, nil, http.StatusOK)
	if arr, ok := types.([]any); !ok || len(arr) == 0 {
		t.Errorf("GET /logs/entity-types: %s", js(types))
	}
}
