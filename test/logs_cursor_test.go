package test

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"testing"
)

// GET /logs pages by page (offset fields, plus the cursor of the next
// entry as next and after) or from a start cursor (page_size, next and
// after only), and refuses a cursor it could not have issued.
func TestLogsCursorPaging(t *testing.T) {
	t.Parallel()
	s := start(t)
	mk := s.ManagementKey
	app := createApp(t, s, map[string]any{"name": "logged", "type": "private", "permissions": []string{"token:read"}})
	id := app["id"].(string)
	s.JSON(t, "PUT", "/applications/"+id, mk, map[string]any{"name": "logged-2", "permissions": []string{"token:read"}}, http.StatusOK)
	mustStatus(t, "delete", status(t, s, "DELETE", "/applications/"+id, mk), http.StatusNoContent)

	first := s.JSON(t, "GET", "/logs?entity_id="+id+"&size=1", mk, nil, http.StatusOK)
	pg := first["pagination"].(map[string]any)
	if pg["total_items"] != 3.0 || pg["page_number"] != 1.0 || pg["total_pages"] != 3.0 || pg["page_size"] != 1.0 {
		t.Fatalf("offset page: %s", js(pg))
	}
	next, _ := pg["next"].(string)
	if next == "" || pg["after"] != next {
		t.Fatalf("no cursor on the first page: %s", js(pg))
	}
	ops := []any{first["data"].([]any)[0].(map[string]any)["operation"]}
	for i := 0; next != "" && i < 5; i++ {
		page := s.JSON(t, "GET", "/logs?entity_id="+id+"&size=1&start="+url.QueryEscape(next), mk, nil, http.StatusOK)
		pg := page["pagination"].(map[string]any)
		if _, counted := pg["total_items"]; counted || pg["page_size"] != 1.0 {
			t.Fatalf("cursor page: %s", js(pg))
		}
		for _, e := range page["data"].([]any) {
			ops = append(ops, e.(map[string]any)["operation"])
		}
		next, _ = pg["next"].(string)
		if pg["after"] != pg["next"] {
			t.Fatalf("after and next differ: %s", js(pg))
		}
	}
	if js(ops) != `["delete","update","create"]` {
		t.Errorf("walked %s", js(ops))
	}
	// The last offset page names no next entry.
	last := s.JSON(t, "GET", "/logs?entity_id="+id+"&size=1&page=3", mk, nil, http.StatusOK)
	if _, ok := last["pagination"].(map[string]any)["next"]; ok {
		t.Errorf("last page: %s", js(last["pagination"]))
	}
	forged := base64.RawURLEncoding.EncodeToString([]byte("log\x00" + "00000000-0000-0000-0000-000000000000\x00"))
	for _, bad := range []string{"not-a-cursor!", forged} {
		body := s.JSON(t, "GET", "/logs?start="+url.QueryEscape(bad), mk, nil, http.StatusBadRequest)
		if _, ok := body["errors"].(map[string]any)["start"]; !ok {
			t.Errorf("start=%s: %s", bad, js(body))
		}
	}
	types := s.JSONValue(t, "GET", "/logs/entity-types", mk, nil, http.StatusOK).([]any)
	if len(types) == 0 || types[0].(map[string]any)["display_name"] == nil {
		t.Errorf("entity types: %s", js(types))
	}
}
