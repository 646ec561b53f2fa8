package test

import (
	"net/http"
	"slices"
	"testing"
	"time"
)

// Seeds 001 and 003: create, get, get by key, list, update, delete.
func TestApplicationCRUD(t *testing.T) {
	t.Parallel()
	s := start(t)
	me := self(t, s)
	checkFields(t, "GET /applications/key", me, appRequired, appAllowed)
	if _, ok := me["key"]; ok {
		t.Errorf("GET /applications/key returns the key: %s", js(me))
	}
	if me["type"] != "management" {
		t.Errorf("management key's application has type %v", me["type"])
	}
	tenantID, meID := me["tenant_id"].(string), me["id"].(string)

	before := time.Now().Add(-time.Second)
	app := createApp(t, s, map[string]any{"name": "My Example App", "type": "private", "permissions": []string{"token:create", "token:read"}})
	id := checkUUID(t, "application id", app["id"])
	key := checkKey(t, "application key", app["key"])
	if app["name"] != "My Example App" || app["type"] != "private" || app["tenant_id"] != tenantID || app["created_by"] != meID {
		t.Errorf("create response %s: want name, type, tenant_id %s and created_by %s", js(app), tenantID, meID)
	}
	if !sameSet(strs(app["permissions"]), []string{"token:create", "token:read"}) {
		t.Errorf("create permissions %v", app["permissions"])
	}
	if ts := checkTime(t, "create", app, "created_at"); ts.Before(before) || ts.After(time.Now().Add(time.Second)) {
		t.Errorf("created_at %v is not now", ts)
	}
	if _, ok := app["modified_at"]; ok {
		t.Errorf("a new application has modified_at: %s", js(app))
	}

	got := s.JSON(t, "GET", "/applications/"+id, s.ManagementKey, nil, http.StatusOK)
	checkFields(t, "GET /applications/{id}", got, appRequired, appAllowed)
	if _, ok := got["key"]; ok {
		t.Errorf("GET /applications/{id} returns the key: %s", js(got))
	}
	for _, f := range []string{"id", "tenant_id", "name", "type", "created_by", "created_at"} {
		if got[f] != app[f] {
			t.Errorf("GET %s = %v, create said %v", f, got[f], app[f])
		}
	}

	// The new key is a private key: it authenticates but may not read apps.
	mustStatus(t, "private key GET /permissions", keyWorks(t, s, key), http.StatusOK)
	mustStatus(t, "private key GET /applications/key", status(t, s, "GET", "/applications/key", key), http.StatusForbidden)

	// create_key: false creates no key.
	nokey := s.JSON(t, "POST", "/applications", s.ManagementKey,
		map[string]any{"name": "Keyless", "type": "public", "permissions": []string{"token:create"}, "create_key": false}, http.StatusCreated)
	if _, ok := nokey["key"]; ok {
		t.Errorf("create_key false still returned a key: %s", js(nokey))
	}
	keys := s.JSONValue(t, "GET", "/applications/"+nokey["id"].(string)+"/keys", s.ManagementKey, nil, http.StatusOK)
	if n := len(keyList(t, keys)); n != 0 {
		t.Errorf("create_key false: %d keys listed", n)
	}

	// Seed 001 (v1) application types are still accepted, and seed 003's
	// can_create_expiring_applications is echoed for private applications.
	for typ, perm := range map[string]string{"server_to_server": "token:general:create", "elements": "token:pci:create"} {
		legacy := createApp(t, s, map[string]any{"name": "Legacy " + typ, "type": typ, "permissions": []string{perm}})
		if legacy["type"] != typ || !sameSet(strs(legacy["permissions"]), []string{perm}) {
			t.Errorf("v1 %s application: %s", typ, js(legacy))
		}
		s.Do(t, "DELETE", "/applications/"+legacy["id"].(string), s.ManagementKey, nil)
	}
	cce := createApp(t, s, map[string]any{"name": "Provisioner", "type": "private", "permissions": []string{"token:read"},
		"can_create_expiring_applications": true})
	if cce["can_create_expiring_applications"] != true {
		t.Errorf("can_create_expiring_applications not echoed: %s", js(cce))
	}
	s.Do(t, "DELETE", "/applications/"+cce["id"].(string), s.ManagementKey, nil)

	// Access rules (seed 003).
	rule := map[string]any{"description": "PCI", "priority": 1, "container": "/pci/", "transform": "mask", "permissions": []any{"token:read"}}
	ruled := createApp(t, s, map[string]any{"name": "Ruled", "type": "private", "rules": []any{rule}})
	rules, _ := ruled["rules"].([]any)
	if len(rules) != 1 {
		t.Fatalf("rules not returned: %s", js(ruled))
	}
	r := rules[0].(map[string]any)
	for k, v := range map[string]any{"description": "PCI", "priority": 1.0, "container": "/pci/", "transform": "mask"} {
		if r[k] != v {
			t.Errorf("rule %s = %v, want %v (%s)", k, r[k], v, js(r))
		}
	}

	// List, filter by id and type, paginate.
	list := s.JSON(t, "GET", "/applications", s.ManagementKey, nil, http.StatusOK)
	_, data := checkPage(t, "GET /applications", list, 1, 20)
	if all := ids(data); !slices.Contains(all, id) || !slices.Contains(all, meID) || len(all) != 4 {
		t.Errorf("list ids %v, want 4 including %s and %s", all, id, meID)
	}
	for _, d := range data {
		checkFields(t, "listed application", d.(map[string]any), appRequired, appAllowed)
		if _, ok := d.(map[string]any)["key"]; ok {
			t.Errorf("list returns a key: %s", js(d))
		}
	}
	byID := s.JSON(t, "GET", "/applications?id="+id+"&id="+meID, s.ManagementKey, nil, http.StatusOK)
	if _, d := checkPage(t, "?id=", byID, 1, 20); !sameSet(ids(d), []string{id, meID}) {
		t.Errorf("?id=%s&id=%s listed %v", id, meID, ids(d))
	}
	byType := s.JSON(t, "GET", "/applications?type=private", s.ManagementKey, nil, http.StatusOK)
	if _, d := checkPage(t, "?type=private", byType, 1, 20); !sameSet(ids(d), []string{id, ruled["id"].(string)}) {
		t.Errorf("?type=private listed %v", ids(d))
	}
	p2 := s.JSON(t, "GET", "/applications?page=2&size=3", s.ManagementKey, nil, http.StatusOK)
	if pg, d := checkPage(t, "?page=2&size=3", p2, 2, 3); num(pg["total_items"]) != 4 || len(d) != 1 {
		t.Errorf("page 2 of 3: %s", js(p2))
	}
	p3 := s.JSON(t, "GET", "/applications?page=3&size=3", s.ManagementKey, nil, http.StatusOK)
	if pg, d := checkPage(t, "past the last page", p3, 3, 3); len(d) != 0 || num(pg["total_items"]) != 4 {
		t.Errorf("past the last page: %s", js(p3))
	}

	// Update (PUT): name and permissions replaced, audit fields set.
	upd := s.JSON(t, "PUT", "/applications/"+id, s.ManagementKey,
		map[string]any{"name": "Renamed", "permissions": []string{"token:read", "token:search"}}, http.StatusOK)
	checkFields(t, "PUT /applications/{id}", upd, append(appRequired, "modified_by", "modified_at"), appAllowed)
	if upd["name"] != "Renamed" || upd["type"] != "private" || upd["modified_by"] != meID ||
		!sameSet(strs(upd["permissions"]), []string{"token:read", "token:search"}) {
		t.Errorf("update response %s", js(upd))
	}
	if _, ok := upd["key"]; ok {
		t.Errorf("update returns a key: %s", js(upd))
	}
	checkTime(t, "update", upd, "modified_at")
	if got := s.JSON(t, "GET", "/applications/"+id, s.ManagementKey, nil, http.StatusOK); got["name"] != "Renamed" {
		t.Errorf("after update GET says %s", js(got))
	}
	mustStatus(t, "key still works after update", keyWorks(t, s, key), http.StatusOK)
	st, hdr, body := s.Do(t, "PUT", "/applications/"+id, s.ManagementKey, map[string]any{"permissions": []string{"token:read"}})
	checkProblem(t, "PUT without name", st, hdr, body, http.StatusBadRequest, "name")
	st, hdr, body = s.Do(t, "PUT", "/applications/"+id, s.ManagementKey, map[string]any{"name": "x", "permissions": []string{}})
	checkProblem(t, "PUT with empty permissions and no rules", st, hdr, body, http.StatusBadRequest)

	// Delete: 204, then gone, and its key stops working at once.
	st, _, body = s.Do(t, "DELETE", "/applications/"+id, s.ManagementKey, nil)
	if st != http.StatusNoContent || len(body) != 0 {
		t.Errorf("DELETE: status %d body %q, want 204 and no body", st, body)
	}
	mustStatus(t, "GET after delete", status(t, s, "GET", "/applications/"+id, s.ManagementKey), http.StatusNotFound)
	mustStatus(t, "deleted app's key", keyWorks(t, s, key), http.StatusUnauthorized)
	mustStatus(t, "DELETE again", status(t, s, "DELETE", "/applications/"+id, s.ManagementKey), http.StatusNotFound)
}

// keyList returns the keys of GET /applications/{id}/keys. Seed 002 says
// the answer is "a paginated object with the data property"; the wire
// contract (§4.1) says node-sdk expects a bare array. Both are accepted
// here; TestApplicationKeyListIsPaginated pins the seed shape.
func keyList(t testing.TB, v any) []map[string]any {
	t.Helper()
	var arr []any
	switch x := v.(type) {
	case []any:
		arr = x
	case map[string]any:
		arr, _ = x["data"].([]any)
	default:
		t.Fatalf("key list is neither an array nor a page: %s", js(v))
	}
	out := make([]map[string]any, 0, len(arr))
	for _, k := range arr {
		m, _ := k.(map[string]any)
		checkFields(t, "listed key", m, keyRequired, keyAllowed)
		if _, ok := m["key"]; ok {
			t.Errorf("key list reveals a key: %s", js(m))
		}
		out = append(out, m)
	}
	return out
}

// GET /applications/{id}/keys answers a bare array to every client: node-sdk
// 5.x, basis-theory-js 4.x and the Go SDK parse only that (seed 002 shows a
// paginated object, which each of them fails to parse). The request here
// carries no X-Fern-Language, as basis-theory-js 4.x sends it.
func TestApplicationKeyListIsABareArray(t *testing.T) {
	t.Parallel()
	s := start(t)
	id, _ := privateApp(t, s, "Keys")
	v := s.JSONValue(t, "GET", "/applications/"+id+"/keys", s.ManagementKey, nil, http.StatusOK)
	arr, ok := v.([]any)
	if !ok {
		t.Fatalf("GET /applications/{id}/keys must be a bare array for every client; got %s", js(v))
	}
	if len(arr) != 1 {
		t.Errorf("key list %s, want one key", js(arr))
	}
}

// Seed 002: several keys per application; deleting one revokes it at once
// and only it; regenerate (seed 003) replaces them all.
func TestApplicationKeyLifecycle(t *testing.T) {
	t.Parallel()
	s := start(t)
	meID := self(t, s)["id"].(string)
	appID, key1 := managementApp(t, s, "Keyed", "application:read")

	created := s.JSON(t, "POST", "/applications/"+appID+"/keys", s.ManagementKey, nil, http.StatusCreated)
	checkFields(t, "POST /applications/{id}/keys", created, append(keyRequired, "key"), keyAllowed)
	keyID2 := checkUUID(t, "key id", created["id"])
	key2 := checkKey(t, "created key", created["key"])
	if created["tenant_id"] != self(t, s)["tenant_id"] || created["created_by"] != meID {
		t.Errorf("created key %s: want the tenant id and created_by %s", js(created), meID)
	}
	checkTime(t, "created key", created, "created_at")
	if key2 == key1 {
		t.Fatal("the new key equals the first one")
	}

	// Both keys authenticate as the application.
	for i, k := range []string{key1, key2} {
		got := s.JSON(t, "GET", "/applications/key", k, nil, http.StatusOK)
		if got["id"] != appID {
			t.Errorf("key %d resolves to application %v, want %s", i+1, got["id"], appID)
		}
	}

	keys := keyList(t, s.JSONValue(t, "GET", "/applications/"+appID+"/keys", s.ManagementKey, nil, http.StatusOK))
	if len(keys) != 2 {
		t.Fatalf("listed %d keys, want 2: %s", len(keys), js(keys))
	}
	var keyID1 string
	for _, k := range keys {
		if k["id"] != keyID2 {
			keyID1, _ = k["id"].(string)
		}
	}
	one := s.JSON(t, "GET", "/applications/"+appID+"/keys/"+keyID2, s.ManagementKey, nil, http.StatusOK)
	checkFields(t, "GET /applications/{id}/keys/{keyId}", one, keyRequired, keyAllowed)
	if _, ok := one["key"]; ok || one["id"] != keyID2 || one["created_at"] != created["created_at"] {
		t.Errorf("GET key %s, created %s", js(one), js(created))
	}
	// A key id under another application is not found.
	otherID, _ := privateApp(t, s, "Other")
	mustStatus(t, "key under the wrong application", status(t, s, "GET", "/applications/"+otherID+"/keys/"+keyID2, s.ManagementKey), http.StatusNotFound)

	// Delete key 1: it is refused at once, key 2 keeps working.
	st, _, body := s.Do(t, "DELETE", "/applications/"+appID+"/keys/"+keyID1, s.ManagementKey, nil)
	if st != http.StatusNoContent || len(body) != 0 {
		t.Errorf("DELETE key: status %d body %q, want 204", st, body)
	}
	st, hdr, body := s.Do(t, "GET", "/applications/key", key1, nil)
	checkProblem(t, "deleted key", st, hdr, body, http.StatusUnauthorized)
	for range 3 {
		mustStatus(t, "remaining key", status(t, s, "GET", "/applications/key", key2), http.StatusOK)
	}
	mustStatus(t, "GET deleted key", status(t, s, "GET", "/applications/"+appID+"/keys/"+keyID1, s.ManagementKey), http.StatusNotFound)
	mustStatus(t, "DELETE deleted key", status(t, s, "DELETE", "/applications/"+appID+"/keys/"+keyID1, s.ManagementKey), http.StatusNotFound)
	if keys := keyList(t, s.JSONValue(t, "GET", "/applications/"+appID+"/keys", s.ManagementKey, nil, http.StatusOK)); len(keys) != 1 || keys[0]["id"] != keyID2 {
		t.Errorf("after delete, keys %s", js(keys))
	}

	// Regenerate: every old key is refused, the new one works.
	key3 := s.JSON(t, "POST", "/applications/"+appID+"/regenerate", s.ManagementKey, nil, http.StatusOK)["key"].(string)
	mustStatus(t, "key 2 after regenerate", status(t, s, "GET", "/applications/key", key2), http.StatusUnauthorized)
	mustStatus(t, "key 1 after regenerate", status(t, s, "GET", "/applications/key", key1), http.StatusUnauthorized)
	if got := s.JSON(t, "GET", "/applications/key", key3, nil, http.StatusOK); got["id"] != appID {
		t.Errorf("regenerated key resolves to %v", got["id"])
	}
	if keys := keyList(t, s.JSONValue(t, "GET", "/applications/"+appID+"/keys", s.ManagementKey, nil, http.StatusOK)); len(keys) != 1 || keys[0]["id"] == keyID2 {
		t.Errorf("after regenerate, keys %s", js(keys))
	}
	// Seed 002/003 permissions: reading keys needs application:read,
	// creating application:create, deleting application:delete, and
	// regenerating application:update.
	_, priv := privateApp(t, s, "NoManage")
	mustStatus(t, "private key POST keys", status(t, s, "POST", "/applications/"+appID+"/keys", priv), http.StatusForbidden)
	mustStatus(t, "private key GET keys", status(t, s, "GET", "/applications/"+appID+"/keys", priv), http.StatusForbidden)
	_, reader := managementApp(t, s, "Key reader", "application:read")
	mustStatus(t, "application:read GET keys", status(t, s, "GET", "/applications/"+appID+"/keys", reader), http.StatusOK)
	st, hdr, body = s.Do(t, "POST", "/applications/"+appID+"/keys", reader, nil)
	checkProblem(t, "application:read POST keys", st, hdr, body, http.StatusForbidden)
	keyID3 := keyList(t, s.JSONValue(t, "GET", "/applications/"+appID+"/keys", s.ManagementKey, nil, http.StatusOK))[0]["id"].(string)
	st, hdr, body = s.Do(t, "DELETE", "/applications/"+appID+"/keys/"+keyID3, reader, nil)
	checkProblem(t, "application:read DELETE key", st, hdr, body, http.StatusForbidden)
	st, hdr, body = s.Do(t, "POST", "/applications/"+appID+"/regenerate", reader, nil)
	checkProblem(t, "application:read regenerate", st, hdr, body, http.StatusForbidden)
	mustStatus(t, "key after refused delete/regenerate", status(t, s, "GET", "/applications/key", key3), http.StatusOK)
	// A key of an application holding what the caller lacks is refused.
	_, creator := managementApp(t, s, "Key creator", "application:create")
	mustStatus(t, "application:create POST keys of a stronger app", status(t, s, "POST", "/applications/"+appID+"/keys", creator), http.StatusForbidden)
	_, peer := managementApp(t, s, "Key creator and reader", "application:create", "application:read")
	mustStatus(t, "application:create POST keys", status(t, s, "POST", "/applications/"+appID+"/keys", peer), http.StatusCreated)
}

// Seed 003: an expiring application and its key stop working at
// expires_at; expires_at defaults to now + 1 minute and is at most a day.
func TestExpiringApplication(t *testing.T) {
	t.Parallel()
	s := start(t)
	expires := time.Now().UTC().Add(2 * time.Second).Truncate(time.Millisecond)
	app := createApp(t, s, map[string]any{"name": "Short-lived", "type": "expiring", "permissions": []string{"token:read"},
		"expires_at": expires.Format(time.RFC3339Nano)})
	id, key := app["id"].(string), app["key"].(string)
	if got := checkTime(t, "expiring create", app, "expires_at"); !got.Equal(expires) {
		t.Errorf("expires_at %v, want %v", got, expires)
	}
	if app["type"] != "expiring" {
		t.Errorf("type %v", app["type"])
	}
	mustStatus(t, "expiring key before expiry", keyWorks(t, s, key), http.StatusOK)
	got := s.JSON(t, "GET", "/applications/"+id, s.ManagementKey, nil, http.StatusOK)
	if e := checkTime(t, "expiring GET", got, "expires_at"); !e.Equal(expires) {
		t.Errorf("GET expires_at %v, want %v", e, expires)
	}

	// Validation while we wait.
	def := createApp(t, s, map[string]any{"name": "Default expiry", "type": "expiring", "permissions": []string{"token:read"}})
	if e := checkTime(t, "default expires_at", def, "expires_at"); e.Before(time.Now().Add(50*time.Second)) || e.After(time.Now().Add(70*time.Second)) {
		t.Errorf("default expires_at %v, want about now + 1 minute", e)
	}
	for name, at := range map[string]time.Time{"in the past": time.Now().Add(-time.Minute), "over a day": time.Now().Add(25 * time.Hour)} {
		st, hdr, body := s.Do(t, "POST", "/applications", s.ManagementKey, map[string]any{"name": "Bad", "type": "expiring",
			"permissions": []string{"token:read"}, "expires_at": at.Format(time.RFC3339)})
		checkProblem(t, "expires_at "+name, st, hdr, body, http.StatusBadRequest, "expires_at")
	}

	time.Sleep(time.Until(expires) + 250*time.Millisecond)
	st, hdr, body := s.Do(t, "GET", "/permissions", key, nil)
	checkProblem(t, "expired key", st, hdr, body, http.StatusUnauthorized)
	st, hdr, body = s.Do(t, "GET", "/applications/"+id, s.ManagementKey, nil)
	checkProblem(t, "GET expired application", st, hdr, body, http.StatusNotFound)
	mustStatus(t, "keys of an expired application", status(t, s, "GET", "/applications/"+id+"/keys", s.ManagementKey), http.StatusNotFound)
	list := s.JSON(t, "GET", "/applications?size=100", s.ManagementKey, nil, http.StatusOK)
	if slices.Contains(ids(list["data"].([]any)), id) {
		t.Errorf("expired application still listed")
	}
	mustStatus(t, "the other expiring app still works", status(t, s, "GET", "/applications/"+def["id"].(string), s.ManagementKey), http.StatusOK)
}

// Seeds 004 and 001: GET /permissions is a bare array of permission objects.
func TestPermissions(t *testing.T) {
	t.Parallel()
	s := start(t)
	seed004 := map[string][]string{
		"token:create": {"public", "private"}, "token:update": {"public", "private"}, "token:read": {"private"},
		"token:search": {"private"}, "token:delete": {"private"}, "token:use": {"private"},
	}
	for _, p := range []string{"tenant:read", "tenant:update", "tenant:delete", "application:read", "application:create",
		"application:update", "application:delete", "log:read", "reactor:read", "reactor:create", "reactor:update",
		"reactor:delete", "proxy:read", "proxy:create", "proxy:update", "proxy:delete", "tenant:member:read",
		"tenant:member:update", "tenant:member:delete", "tenant:invitation:create", "tenant:invitation:read",
		"tenant:invitation:update", "tenant:invitation:delete", "report:read"} {
		seed004[p] = []string{"management"}
	}
	_, privKey := privateApp(t, s, "Any key")
	all, ok := s.JSONValue(t, "GET", "/permissions", privKey, nil, http.StatusOK).([]any)
	if !ok {
		t.Fatal("GET /permissions is not an array")
	}
	byType := map[string][]string{}
	for _, p := range all {
		m := p.(map[string]any)
		checkFields(t, "permission", m, []string{"type", "description", "application_types"}, []string{"type", "description", "application_types"})
		if d, _ := m["description"].(string); d == "" {
			t.Errorf("permission without description: %s", js(m))
		}
		byType[m["type"].(string)] = strs(m["application_types"])
	}
	for perm, types := range seed004 {
		got, ok := byType[perm]
		if !ok {
			t.Errorf("seed 004 permission %s missing", perm)
			continue
		}
		for _, ty := range types {
			if !slices.Contains(got, ty) {
				t.Errorf("permission %s: application_types %v lacks %s", perm, got, ty)
			}
		}
	}
	for _, appType := range []string{"management", "private", "public"} {
		list, _ := s.JSONValue(t, "GET", "/permissions?application_type="+appType, s.ManagementKey, nil, http.StatusOK).([]any)
		if len(list) == 0 {
			t.Errorf("?application_type=%s: empty", appType)
		}
		seen := map[string]bool{}
		for _, p := range list {
			m := p.(map[string]any)
			seen[m["type"].(string)] = true
			if !slices.Contains(strs(m["application_types"]), appType) {
				t.Errorf("?application_type=%s lists %s", appType, js(m))
			}
		}
		for perm, types := range seed004 {
			if slices.Contains(types, appType) && !seen[perm] {
				t.Errorf("?application_type=%s lacks %s", appType, perm)
			}
		}
	}
}
