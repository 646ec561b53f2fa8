package test

// End-to-end tests of reactors through the real binary: reactor formulas
// (seed 001 "Reactor Formulas", wire contract §3.6), reactors from a
// formula or with inline code (seed 001 "Reactors", §3.7, §4.4), reacting
// with token expressions and with atomic cards and banks (seed 001 "React
// with an Atomic Card/Bank", §6.1, §6.2), the reactor error classes (seed
// 001 "Reactor Errors", §6.4), hostile code in the sandbox, req.bt, and
// pre-configured proxies with request and response transforms (§5.4).
//
// The main server runs with `reactor { timeout 2s }` in its vault block
// and the default (strict) egress policy: fetch from reactor code may
// reach nothing local, and every destination tried here is refused by the
// URL rules before any connection. The proxy transform test runs a second
// server with STRONGROOM_ALLOW_INSECURE_DESTINATIONS=true so the proxy can
// reach a local recording upstream.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/strongroom/strongroom/test/harness"
)

// reactorCaddyfile is the repo Caddyfile with `reactor { timeout 2s }` (and
// any further reactor subdirectives) in its vault block.
func reactorCaddyfile(t testing.TB, more ...string) string {
	t.Helper()
	lines := []string{"reactor {", "\ttimeout 2s"}
	for _, m := range more {
		lines = append(lines, "\t"+m)
	}
	return repoCaddyfileWith(t, append(lines, "}")...)
}

// Seed 001 object field sets.
var (
	formulaRequired = []string{"id", "name", "type", "code", "configuration", "request_parameters", "created_at", "created_by"}
	formulaAllowed  = []string{"id", "tenant_id", "name", "description", "type", "source_token_type", "icon", "code",
		"configuration", "request_parameters", "created_at", "created_by", "modified_at", "modified_by"}
	reactorRequired = []string{"id", "tenant_id", "name", "configuration", "created_at", "created_by"}
	reactorAllowed  = []string{"id", "tenant_id", "name", "formula", "code", "configuration", "application",
		"created_at", "created_by", "modified_at", "modified_by"}
)

// hostMarks are texts that would betray host internals in a response: Go
// source positions, host paths, stacks, the sandbox's own names.
var hostMarks = []string{".go:", "/work/", "/home/", "/tmp/", "/usr/", "/etc/", "github.com/", "goroutine", "goja",
	"reactor.js", "panic", "runtime error", "dop251"}

func noHostDetail(t testing.TB, what string, body []byte) {
	t.Helper()
	for _, m := range hostMarks {
		if bytes.Contains(body, []byte(m)) {
			t.Errorf("%s: the response names host detail %q: %s", what, m, body)
		}
	}
}

// tokExpr is a detokenization expression for a token id.
func tokExpr(id string) string { return "{{ " + id + " }}" }

// rxReactor creates a reactor with the management key and returns it.
func rxReactor(t testing.TB, s *harness.Server, body map[string]any) map[string]any {
	t.Helper()
	r := s.JSON(t, "POST", "/reactors", s.ManagementKey, body, http.StatusCreated)
	checkFields(t, "create reactor", r, reactorRequired, reactorAllowed)
	return r
}

// rxCode creates a code reactor and returns its id.
func rxCode(t testing.TB, s *harness.Server, name, code string, conf map[string]string) string {
	t.Helper()
	body := map[string]any{"name": name, "code": code}
	if conf != nil {
		body["configuration"] = conf
	}
	return rxReactor(t, s, body)["id"].(string)
}

// rxReact sends POST /reactors/{id}/react with {args} (nil = no args).
func rxReact(t testing.TB, s *harness.Server, key, id string, args any) (int, http.Header, []byte) {
	t.Helper()
	body := map[string]any{}
	if args != nil {
		body["args"] = args
	}
	return s.Do(t, "POST", "/reactors/"+id+"/react", key, body)
}

// rxReactOK reacts, requires a 200 and returns the decoded response.
func rxReactOK(t testing.TB, s *harness.Server, key, id string, args any) map[string]any {
	t.Helper()
	st, _, b := rxReact(t, s, key, id, args)
	if st != http.StatusOK {
		t.Fatalf("react %s: status %d, want 200; body %s", id, st, b)
	}
	m := decodeObj(t, b)
	for k := range m {
		if k != "tokens" && k != "raw" {
			t.Errorf("react %s: unexpected member %q in %s (want only tokens and raw)", id, k, b)
		}
	}
	return m
}

// rxFails reacts and checks a problem of status want that names fields and
// betrays neither host detail nor any of secrets; it returns the problem.
func rxFails(t testing.TB, s *harness.Server, key, id string, args any, want int, secrets []string, fields ...string) map[string]any {
	t.Helper()
	st, hdr, b := rxReact(t, s, key, id, args)
	p := checkProblem(t, "react "+id, st, hdr, b, want, fields...)
	noHostDetail(t, "react "+id, b)
	for _, sec := range secrets {
		if sec != "" && bytes.Contains(b, []byte(sec)) {
			t.Errorf("react %s: the error response holds the secret %q: %s", id, sec, b)
		}
	}
	return p
}

func errorsOf(p map[string]any) map[string]any {
	e, _ := p["errors"].(map[string]any)
	return e
}

// errText is the first message of errors[key].
func errText(p map[string]any, key string) string {
	arr, _ := errorsOf(p)[key].([]any)
	if len(arr) == 0 {
		return ""
	}
	s, _ := arr[0].(string)
	return s
}

func jsonEq(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	var va, vb any
	json.Unmarshal(ja, &va)
	json.Unmarshal(jb, &vb)
	return reflect.DeepEqual(va, vb)
}

// rxFixture is what the TestReactors subtests share.
type rxFixture struct {
	s       *harness.Server
	secret  string // a configuration value that must never leak
	tag     string // unique prefix of names created by this test
	writer  string // private: token create/read/update/delete
	invoker string // private: reactor:invoke, token:use, token:create, token:read
	card    string // card token (pci)
	general string // token of type token (general) holding "general-secret"
	healthy string // reactor reading a card from args
}

// healthyCode reads the card from args and returns a transformed value.
const healthyCode = `module.exports = async function (req) {
  const n = req.args.card.number;
  return { raw: { last4: n.slice(-4), bin: n.slice(0, 6), len: n.length } };
};`

// check runs the healthy reactor, as after each hostile reactor.
func (f *rxFixture) check(t testing.TB, after string) {
	t.Helper()
	st, _, b := rxReact(t, f.s, f.invoker, f.healthy, map[string]any{"card": tokExpr(f.card)})
	if st != http.StatusOK || !bytes.Contains(b, []byte(`"last4":"4242"`)) {
		t.Errorf("a normal react after %s: status %d body %s, want 200 with last4 4242", after, st, b)
	}
}

// TestReactors runs every reactor feature against one server, in sequence
// (the hostile subtests must not overlap other executions: the memory
// watchdog sees the whole process), then checks the server log for the
// configuration secret and the card number.
func TestReactors(t *testing.T) {
	t.Parallel()
	s := harness.Start(t, harness.Options{Caddyfile: reactorCaddyfile(t)})
	f := &rxFixture{s: s, secret: "conf-" + harness.NewKey()[4:20], tag: "rx" + harness.NewKey()[4:10]}
	f.writer = writerKey(t, s)
	_, f.invoker = privateAppWith(t, s, "reactor invoker", "reactor:invoke", "token:use", "token:create", "token:read")
	f.card = mkToken(t, s, f.writer, map[string]any{"type": "card", "data": cardData})
	f.general = mkToken(t, s, f.writer, map[string]any{"type": "token", "data": "general-secret"})
	f.healthy = rxCode(t, s, f.tag+" healthy", healthyCode, map[string]string{"SERVICE_API_KEY": f.secret})

	t.Run("formula CRUD", f.formulaCRUD)
	t.Run("formula validation", f.formulaValidation)
	t.Run("reactor CRUD", f.reactorCRUD)
	t.Run("reactor list by source_token_type", f.reactorListBySourceType)
	t.Run("reactor validation", f.reactorValidation)
	t.Run("reactor permissions", f.reactorPermissions)
	t.Run("react", f.react)
	t.Run("react token limit", f.reactTokenLimit)
	t.Run("react permissions", f.reactPermissions)
	t.Run("request parameters", f.requestParameters)
	t.Run("atomic react", f.atomicReact)
	t.Run("error classes", f.errorClasses)
	t.Run("hostile code", f.hostile)
	t.Run("req.bt", f.reqBT)
	t.Run("thrown error text is not logged", f.thrownNotLogged)

	// Checked last: nothing above may have logged the configuration or the
	// card number.
	log := s.Log()
	if strings.Contains(log, f.secret) {
		i := strings.Index(log, f.secret)
		t.Errorf("the server log holds the reactor configuration secret: ...%s...", log[max(0, i-300):min(len(log), i+100)])
	}
	if i := strings.Index(log, "4242424242424242"); i >= 0 {
		t.Errorf("the server log holds a card number: ...%s...", log[max(0, i-300):min(len(log), i+100)])
	}
}

// ---------------------------------------------------------------- formulas

const formulaCode = `module.exports = async function (context) {
  // Do something with context.configuration.SERVICE_API_KEY
  return { raw: { foo: 'bar' } };
};`

func (f *rxFixture) formulaBody(name, sourceType string) map[string]any {
	return map[string]any{
		"name":              name,
		"description":       "Securely react a token for another token",
		"type":              "private",
		"source_token_type": sourceType,
		"icon":              "data:image/png;base64, iVBORw0KGgoAAAANSUhEUgAAAAUAAAAFCAYAAACNbyblAAAAHElEQVQI12P4//8/w38GIAXDIBKE0DHxgljNBAAO9TXL0Y4OHwAAAABJRU5ErkJggg==",
		"code":              formulaCode,
		"configuration": []any{
			map[string]any{"name": "SERVICE_API_KEY", "description": "Configuration description", "type": "string"},
		},
		"request_parameters": []any{
			map[string]any{"name": "REQUEST_PARAMETER_1", "description": "Request parameter description", "type": "string"},
			map[string]any{"name": "REQUEST_PARAMETER_2", "description": "Request parameter description", "type": "boolean", "optional": true},
		},
	}
}

func (f *rxFixture) formulaCRUD(t *testing.T) {
	s, mk := f.s, f.s.ManagementKey
	me := self(t, s)
	body := f.formulaBody(f.tag+" Alpha card", "card")
	created := s.JSON(t, "POST", "/reactor-formulas", mk, body, http.StatusCreated)
	checkFields(t, "create formula", created, formulaRequired, formulaAllowed)
	id := checkUUID(t, "formula id", created["id"])
	for _, k := range []string{"name", "description", "type", "source_token_type", "icon", "code", "configuration"} {
		if !jsonEq(created[k], body[k]) {
			t.Errorf("create formula: %s = %s, want %s", k, js(created[k]), js(body[k]))
		}
	}
	wantParams := []any{
		map[string]any{"name": "REQUEST_PARAMETER_1", "description": "Request parameter description", "type": "string", "optional": false},
		map[string]any{"name": "REQUEST_PARAMETER_2", "description": "Request parameter description", "type": "boolean", "optional": true},
	}
	if !jsonEq(created["request_parameters"], wantParams) {
		t.Errorf("create formula: request_parameters = %s, want %s (optional defaults to false)", js(created["request_parameters"]), js(wantParams))
	}
	if created["created_by"] != me["id"] {
		t.Errorf("create formula: created_by %v, want %v", created["created_by"], me["id"])
	}
	checkTime(t, "create formula", created, "created_at")

	got := s.JSON(t, "GET", "/reactor-formulas/"+id, mk, nil, http.StatusOK)
	if !jsonEq(got, created) {
		t.Errorf("GET formula = %s, want the created %s", js(got), js(created))
	}

	// Two more, for the list filters and paging.
	bank := s.JSON(t, "POST", "/reactor-formulas", mk, f.formulaBody(f.tag+" Beta bank", "bank"), http.StatusCreated)
	other := s.JSON(t, "POST", "/reactor-formulas", mk, f.formulaBody(f.tag+" Gamma card", "card"), http.StatusCreated)
	list := func(q string, page, size int) []any {
		t.Helper()
		m := s.JSON(t, "GET", "/reactor-formulas?"+q, mk, nil, http.StatusOK)
		_, data := checkPage(t, "list formulas "+q, m, page, size)
		return data
	}
	if got := ids(list("name="+f.tag, 1, 20)); !sameSet(got, []string{id, bank["id"].(string), other["id"].(string)}) {
		t.Errorf("list ?name=%s: %v", f.tag, got)
	}
	if got := ids(list("name="+strings.ToUpper(f.tag)+"+alpha", 1, 20)); !sameSet(got, []string{id}) {
		t.Errorf("list ?name= (wildcard, case-insensitive) gave %v, want [%s]", got, id)
	}
	if got := ids(list("name="+f.tag+"&source_token_type=bank", 1, 20)); !sameSet(got, []string{bank["id"].(string)}) {
		t.Errorf("list ?source_token_type=bank: %v, want [%s]", got, bank["id"])
	}
	if got := ids(list("name="+f.tag+"&source_token_type=card", 1, 20)); !sameSet(got, []string{id, other["id"].(string)}) {
		t.Errorf("list ?source_token_type=card: %v", got)
	}
	p1, p2 := list("name="+f.tag+"&size=2", 1, 2), list("name="+f.tag+"&size=2&page=2", 2, 2)
	if len(p1) != 2 || len(p2) != 1 || !sameSet(append(ids(p1), ids(p2)...), []string{id, bank["id"].(string), other["id"].(string)}) {
		t.Errorf("paging: page 1 %v, page 2 %v", ids(p1), ids(p2))
	}
	m := s.JSON(t, "GET", "/reactor-formulas?name="+f.tag+"&size=2&page=2", mk, nil, http.StatusOK)
	if pg := m["pagination"].(map[string]any); num(pg["total_items"]) != 3 || num(pg["total_pages"]) != 2 {
		t.Errorf("paging: pagination %s, want 3 items on 2 pages", js(pg))
	}
	if d := list("name=no-such-"+f.tag, 1, 20); len(d) != 0 {
		t.Errorf("list of nothing: %s", js(d))
	}

	// PUT is a full replace.
	put := f.formulaBody(f.tag+" Alpha card v2", "card")
	put["code"] = `module.exports = async (context) => ({ raw: { v: 2 } });`
	put["description"] = "second"
	put["configuration"] = []any{map[string]any{"name": "OTHER", "type": "number"}}
	put["request_parameters"] = []any{}
	upd := s.JSON(t, "PUT", "/reactor-formulas/"+id, mk, put, http.StatusOK)
	checkFields(t, "PUT formula", upd, append(formulaRequired, "modified_at", "modified_by"), formulaAllowed)
	for _, k := range []string{"name", "description", "code", "configuration", "request_parameters"} {
		if !jsonEq(upd[k], put[k]) {
			t.Errorf("PUT formula: %s = %s, want %s", k, js(upd[k]), js(put[k]))
		}
	}
	if upd["id"] != id || upd["created_at"] != created["created_at"] || upd["modified_by"] != me["id"] {
		t.Errorf("PUT formula: id/created_at/modified_by wrong: %s", js(upd))
	}
	if got := s.JSON(t, "GET", "/reactor-formulas/"+id, mk, nil, http.StatusOK); !jsonEq(got, upd) {
		t.Errorf("GET after PUT = %s, want %s", js(got), js(upd))
	}
	st, hdr, b := s.Do(t, "PUT", "/reactor-formulas/"+id, mk, map[string]any{"name": "x", "type": "private"})
	checkProblem(t, "PUT formula without code", st, hdr, b, http.StatusBadRequest, "code")
	st, hdr, b = s.Do(t, "PUT", "/reactor-formulas/3f1b7c4e-0000-4000-8000-00000000a70c", mk, put)
	checkProblem(t, "PUT unknown formula", st, hdr, b, http.StatusNotFound)

	// Delete.
	st, _, b = s.Do(t, "DELETE", "/reactor-formulas/"+id, mk, nil)
	if st != http.StatusNoContent || len(b) != 0 {
		t.Errorf("DELETE formula: %d %s, want 204", st, b)
	}
	st, hdr, b = s.Do(t, "GET", "/reactor-formulas/"+id, mk, nil)
	checkProblem(t, "GET deleted formula", st, hdr, b, http.StatusNotFound)
	st, hdr, b = s.Do(t, "DELETE", "/reactor-formulas/"+id, mk, nil)
	checkProblem(t, "DELETE deleted formula", st, hdr, b, http.StatusNotFound)
	if got := ids(list("name="+f.tag, 1, 20)); len(got) != 2 {
		t.Errorf("list after delete: %v", got)
	}

	// Permissions: reactor:create/read/update/delete.
	_, none := managementApp(t, s, "no reactor perms", "application:read")
	_, reader := managementApp(t, s, "formula reader", "reactor:read")
	oid := other["id"].(string)
	for _, c := range []struct {
		method, path, key string
		body              any
		want              int
	}{
		{"POST", "/reactor-formulas", none, f.formulaBody(f.tag+" x", "card"), http.StatusForbidden},
		{"POST", "/reactor-formulas", reader, f.formulaBody(f.tag+" x", "card"), http.StatusForbidden},
		{"GET", "/reactor-formulas", none, nil, http.StatusForbidden},
		{"GET", "/reactor-formulas/" + oid, none, nil, http.StatusForbidden},
		{"PUT", "/reactor-formulas/" + oid, reader, f.formulaBody(f.tag+" x", "card"), http.StatusForbidden},
		{"DELETE", "/reactor-formulas/" + oid, reader, nil, http.StatusForbidden},
		{"GET", "/reactor-formulas", "", nil, http.StatusUnauthorized},
	} {
		st, hdr, b := s.Do(t, c.method, c.path, c.key, c.body)
		checkProblem(t, c.method+" "+c.path, st, hdr, b, c.want)
	}
	mustStatus(t, "GET formula with reactor:read", status(t, s, "GET", "/reactor-formulas/"+oid, reader), http.StatusOK)
	if got := s.JSON(t, "GET", "/reactor-formulas/"+oid, mk, nil, http.StatusOK); got["name"] != other["name"] {
		t.Errorf("a refused PUT changed the formula: %s", js(got))
	}
}

func (f *rxFixture) formulaValidation(t *testing.T) {
	s, mk := f.s, f.s.ManagementKey
	post := func(what string, body map[string]any, want int, fields ...string) map[string]any {
		t.Helper()
		st, hdr, b := s.Do(t, "POST", "/reactor-formulas", mk, body)
		noHostDetail(t, what, b)
		return checkProblem(t, what, st, hdr, b, want, fields...)
	}
	with := func(k string, v any) map[string]any {
		b := f.formulaBody(f.tag+" invalid", "card")
		if v == nil {
			delete(b, k)
		} else {
			b[k] = v
		}
		return b
	}
	post("no name", with("name", nil), 400, "name")
	post("blank name", with("name", "  "), 400, "name")
	post("name of 201 characters", with("name", strings.Repeat("n", 201)), 400, "name")
	post("no type", with("type", nil), 400, "type")
	post("bad type", with("type", "public"), 400, "type")
	post("no code", with("code", nil), 400, "code")
	post("configuration type", with("configuration", []any{map[string]any{"name": "A", "type": "date"}}), 400, "configuration[0].type")
	post("configuration name", with("configuration", []any{map[string]any{"type": "string"}}), 400, "configuration[0].name")
	post("request parameter name", with("request_parameters", []any{map[string]any{"name": "a", "type": "string"}, map[string]any{"type": "number"}}), 400, "request_parameters[1].name")
	post("request parameter type", with("request_parameters", []any{map[string]any{"name": "a", "type": "object"}}), 400, "request_parameters[0].type")
	post("several at once", map[string]any{"type": "x", "configuration": []any{map[string]any{}}}, 400, "name", "type", "code", "configuration[0].name", "configuration[0].type")
	st, hdr, b := s.Do(t, "POST", "/reactor-formulas", mk, `{"name": "x",`)
	checkProblem(t, "malformed JSON", st, hdr, b, 400)

	// 422: compiles but exports no function.
	for _, code := range []string{
		`module.exports = 42;`,
		`const x = 1;`,
		`module.exports = { notAFunction: true };`,
	} {
		p := post("exports no function: "+code, with("code", code), 422, "code")
		if d, _ := p["detail"].(string); !strings.Contains(d, "export") {
			t.Errorf("422 detail %q does not say the code must export a function", d)
		}
	}
	// 400: does not compile, with the compiler's message.
	for _, code := range []string{
		"module.exports = function (context) {\n  return {;\n};",
		"module.exports = async function ( {",
		"let let = 1;",
	} {
		p := post("does not compile: "+code, with("code", code), 400, "code")
		msg := errText(p, "code")
		if !strings.Contains(msg, "does not compile") || !strings.Contains(msg, "line ") && !strings.Contains(msg, "end of the code") ||
			strings.Contains(msg, "reactor.js") {
			t.Errorf("compile error message %q: want the compiler's message with its position in the customer's code", msg)
		}
	}
	p := post("compile error position", with("code", "module.exports = async function (context) {\n  return { a: };\n};"), 400, "code")
	if msg := errText(p, "code"); !strings.Contains(msg, "line 2:") {
		t.Errorf("compile error %q: want it on line 2 of the customer's code", msg)
	}
	// Code whose top level throws is refused as well (at create, not at react).
	post("top level throws", with("code", "throw new Error('boom at load'); module.exports = async () => ({});"), 400, "code")
}

// ---------------------------------------------------------------- reactors

func (f *rxFixture) reactorCRUD(t *testing.T) {
	s, mk := f.s, f.s.ManagementKey
	tag := f.tag + "crud"
	me := self(t, s)
	formula := s.JSON(t, "POST", "/reactor-formulas", mk, f.formulaBody(tag+" for reactors", "card"), http.StatusCreated)
	fid := formula["id"].(string)
	conf := map[string]any{"SERVICE_API_KEY": f.secret, "Mixed.Case_key": "Kept As Is", "snake_key": "v"}

	// From a formula (seed 001).
	fr := rxReactor(t, s, map[string]any{"name": tag + " My Reactor", "configuration": conf, "formula": map[string]any{"id": fid}})
	frID := checkUUID(t, "reactor id", fr["id"])
	if fr["tenant_id"] != me["tenant_id"] || fr["created_by"] != me["id"] || fr["name"] != tag+" My Reactor" {
		t.Errorf("create reactor: %s", js(fr))
	}
	checkTime(t, "create reactor", fr, "created_at")
	if !jsonEq(fr["configuration"], conf) {
		t.Errorf("configuration not verbatim: %s, want %s", js(fr["configuration"]), js(conf))
	}
	fo, _ := fr["formula"].(map[string]any)
	if fo == nil || fo["id"] != fid || fo["code"] != formulaCode || !jsonEq(fo["configuration"], formula["configuration"]) {
		t.Errorf("reactor.formula is not the full formula: %s", js(fr["formula"]))
	}
	if _, ok := fr["code"]; ok {
		t.Errorf("a formula reactor has a code member: %s", js(fr))
	}

	// With inline code (current API).
	code := `module.exports = async function (req) { return { raw: { conf: Object.keys(req.configuration).sort() } }; };`
	cr := rxReactor(t, s, map[string]any{"name": tag + " Code Reactor", "code": code, "configuration": map[string]any{"A": "1", "KEEP": "k"}})
	crID := cr["id"].(string)
	if cr["code"] != code || !jsonEq(cr["configuration"], map[string]any{"A": "1", "KEEP": "k"}) {
		t.Errorf("code reactor: %s", js(cr))
	}
	if _, ok := cr["formula"]; ok {
		t.Errorf("a code reactor has a formula member: %s", js(cr))
	}
	// No configuration is an empty map, not null.
	bare := rxReactor(t, s, map[string]any{"name": tag + " Bare", "code": code})
	if c, ok := bare["configuration"].(map[string]any); !ok || len(c) != 0 {
		t.Errorf("reactor without configuration: configuration = %s, want {}", js(bare["configuration"]))
	}

	got := s.JSON(t, "GET", "/reactors/"+frID, mk, nil, http.StatusOK)
	if !jsonEq(got, fr) {
		t.Errorf("GET reactor = %s, want %s", js(got), js(fr))
	}
	st, hdr, b := s.Do(t, "GET", "/reactors/3f1b7c4e-0000-4000-8000-00000000a70c", mk, nil)
	checkProblem(t, "GET unknown reactor", st, hdr, b, http.StatusNotFound)

	// List: name filter, id filter, paging.
	list := func(q string, page, size int) []any {
		t.Helper()
		m := s.JSON(t, "GET", "/reactors?"+q, mk, nil, http.StatusOK)
		_, data := checkPage(t, "list reactors "+q, m, page, size)
		for _, d := range data {
			checkFields(t, "listed reactor", d.(map[string]any), reactorRequired, reactorAllowed)
		}
		return data
	}
	all := []string{frID, crID, bare["id"].(string)}
	if got := ids(list("name="+tag+"+", 1, 20)); !sameSet(got, all) {
		t.Errorf("list ?name=: %v, want %v", got, all)
	}
	if got := ids(list("name="+strings.ToLower(tag)+"+code", 1, 20)); !sameSet(got, []string{crID}) {
		t.Errorf("list ?name=code (wildcard, case-insensitive): %v", got)
	}
	if got := ids(list("id="+frID+"&id="+crID, 1, 20)); !sameSet(got, []string{frID, crID}) {
		t.Errorf("list ?id=&id=: %v", got)
	}
	p1, p2 := list("name="+tag+"+&size=2", 1, 2), list("name="+tag+"+&size=2&page=2", 2, 2)
	if len(p1) != 2 || len(p2) != 1 || !sameSet(append(ids(p1), ids(p2)...), all) {
		t.Errorf("paging: %v then %v", ids(p1), ids(p2))
	}
	for _, d := range list("id="+frID, 1, 20) {
		if !jsonEq(d.(map[string]any)["configuration"], conf) {
			t.Errorf("listed configuration: %s", js(d))
		}
	}

	// PUT with the seed-001 body: name and configuration; the formula stays.
	put := s.JSON(t, "PUT", "/reactors/"+frID, mk, map[string]any{"name": tag + " Renamed", "configuration": map[string]any{"SERVICE_API_KEY": f.secret}}, http.StatusOK)
	checkFields(t, "PUT reactor", put, append(reactorRequired, "modified_at", "modified_by"), reactorAllowed)
	if put["name"] != tag+" Renamed" || !jsonEq(put["configuration"], map[string]any{"SERVICE_API_KEY": f.secret}) ||
		put["modified_by"] != me["id"] || put["created_at"] != fr["created_at"] {
		t.Errorf("PUT reactor: %s", js(put))
	}
	if fo, _ := put["formula"].(map[string]any); fo == nil || fo["id"] != fid {
		t.Errorf("PUT without formula dropped it: %s", js(put))
	}
	// PUT with code (current API) replaces the code.
	code2 := `module.exports = async (req) => ({ raw: { v: 2, conf: Object.keys(req.configuration).sort() } });`
	put = s.JSON(t, "PUT", "/reactors/"+crID, mk, map[string]any{"name": tag + " Code Reactor", "code": code2, "configuration": map[string]any{"A": "1", "KEEP": "k"}}, http.StatusOK)
	if put["code"] != code2 {
		t.Errorf("PUT code: %s", js(put))
	}
	st, hdr, b = s.Do(t, "PUT", "/reactors/"+crID, mk, map[string]any{"name": "", "code": code2})
	checkProblem(t, "PUT without name", st, hdr, b, 400, "name")

	// PATCH is a merge patch answered 204.
	patch := func(id, body string) (int, []byte) {
		t.Helper()
		req, _ := harness.NewRequest("PATCH", s.BaseURL+"/reactors/"+id, mk, body)
		req.Header.Set("Content-Type", "application/merge-patch+json")
		st, _, b := s.Send(t, req)
		return st, b
	}
	if st, b := patch(crID, `{"name": "`+tag+` Patched", "configuration": {"A": null, "B": "2"}}`); st != http.StatusNoContent || len(b) != 0 {
		t.Errorf("PATCH: %d %s, want 204 and no body", st, b)
	}
	got = s.JSON(t, "GET", "/reactors/"+crID, mk, nil, http.StatusOK)
	if got["name"] != tag+" Patched" || !jsonEq(got["configuration"], map[string]any{"KEEP": "k", "B": "2"}) || got["code"] != code2 {
		t.Errorf("after PATCH: %s, want name Patched, configuration {KEEP:k, B:2}, code unchanged", js(got))
	}
	if r := rxReactOK(t, s, f.invoker, crID, nil); !jsonEq(r["raw"], map[string]any{"v": 2, "conf": []any{"B", "KEEP"}}) {
		t.Errorf("react after PATCH: %s", js(r))
	}
	if st, b := patch(crID, `{"code": "module.exports = 1;"}`); st != http.StatusUnprocessableEntity {
		t.Errorf("PATCH with code that exports no function: %d %s, want 422", st, b)
	}
	if st, b := patch(frID, `{"configuration": {"EXTRA": "x"}}`); st != http.StatusNoContent {
		t.Errorf("PATCH formula reactor: %d %s", st, b)
	}
	got = s.JSON(t, "GET", "/reactors/"+frID, mk, nil, http.StatusOK)
	if fo, _ := got["formula"].(map[string]any); fo == nil || fo["id"] != fid || !jsonEq(got["configuration"], map[string]any{"SERVICE_API_KEY": f.secret, "EXTRA": "x"}) {
		t.Errorf("after PATCH of a formula reactor: %s", js(got))
	}
	if st, b := patch("3f1b7c4e-0000-4000-8000-00000000a70c", `{"name": "x"}`); st != http.StatusNotFound {
		t.Errorf("PATCH unknown reactor: %d %s", st, b)
	}

	// A reactor whose formula was deleted cannot react.
	mustStatus(t, "DELETE formula", status(t, s, "DELETE", "/reactor-formulas/"+fid, mk), http.StatusNoContent)
	rxFails(t, s, f.invoker, frID, nil, http.StatusUnprocessableEntity, []string{f.secret})

	// Delete.
	st, _, b = s.Do(t, "DELETE", "/reactors/"+crID, mk, nil)
	if st != http.StatusNoContent || len(b) != 0 {
		t.Errorf("DELETE reactor: %d %s", st, b)
	}
	st, hdr, b = s.Do(t, "GET", "/reactors/"+crID, mk, nil)
	checkProblem(t, "GET deleted reactor", st, hdr, b, http.StatusNotFound)
	st, hdr, b = s.Do(t, "DELETE", "/reactors/"+crID, mk, nil)
	checkProblem(t, "DELETE deleted reactor", st, hdr, b, http.StatusNotFound)
	rxFails(t, s, f.invoker, crID, nil, http.StatusNotFound, nil)
}

// Seed 001 "List Reactors": source_token_type filters reactors by their
// formula's source token type.
func (f *rxFixture) reactorListBySourceType(t *testing.T) {
	s, mk := f.s, f.s.ManagementKey
	tag := f.tag + "st"
	var want []string
	for _, st := range []string{"bank", "card"} {
		fo := s.JSON(t, "POST", "/reactor-formulas", mk, f.formulaBody(tag+" "+st, st), http.StatusCreated)
		r := rxReactor(t, s, map[string]any{"name": tag + " " + st, "configuration": map[string]any{}, "formula": map[string]any{"id": fo["id"]}})
		if st == "bank" {
			want = append(want, r["id"].(string))
		}
	}
	m := s.JSON(t, "GET", "/reactors?name="+tag+"&source_token_type=bank", mk, nil, http.StatusOK)
	_, data := checkPage(t, "list reactors by source_token_type", m, 1, 20)
	if got := ids(data); !sameSet(got, want) {
		t.Errorf("GET /reactors?source_token_type=bank: %v, want only the bank formula's reactor %v", got, want)
	}
}

func (f *rxFixture) reactorValidation(t *testing.T) {
	s, mk := f.s, f.s.ManagementKey
	post := func(what string, body map[string]any, want int, fields ...string) map[string]any {
		t.Helper()
		st, hdr, b := s.Do(t, "POST", "/reactors", mk, body)
		noHostDetail(t, what, b)
		return checkProblem(t, what, st, hdr, b, want, fields...)
	}
	ok := `module.exports = async () => ({});`
	post("no name", map[string]any{"code": ok}, 400, "name")
	post("name too long", map[string]any{"name": strings.Repeat("r", 201), "code": ok}, 400, "name")
	post("neither code nor formula", map[string]any{"name": "x", "configuration": map[string]any{}}, 400, "code")
	post("unknown formula", map[string]any{"name": "x", "formula": map[string]any{"id": "3f1b7c4e-0000-4000-8000-00000000a70c"}}, 400, "formula.id")
	post("unknown application", map[string]any{"name": "x", "code": ok, "application": map[string]any{"id": "3f1b7c4e-0000-4000-8000-00000000a70c"}}, 400, "application.id")
	post("configuration not a string map", map[string]any{"name": "x", "code": ok, "configuration": map[string]any{"n": 1}}, 400)
	p := post("code does not compile", map[string]any{"name": "x", "code": "module.exports = async (req) => { return {;"}, 400, "code")
	if msg := errText(p, "code"); !strings.Contains(msg, "does not compile") {
		t.Errorf("compile error: %q", msg)
	}
	post("code exports no function", map[string]any{"name": "x", "code": "module.exports = 'nope';"}, 422, "code")
	post("code too long", map[string]any{"name": "x", "code": ok + strings.Repeat(" ", 50_001)}, 400, "code")
}

func (f *rxFixture) reactorPermissions(t *testing.T) {
	s, mk := f.s, f.s.ManagementKey
	id := rxCode(t, s, f.tag+" perms", `module.exports = async () => ({ raw: 1 });`, map[string]string{"K": "v"})
	_, none := managementApp(t, s, "no reactor perms", "application:read")
	_, creator := managementApp(t, s, "reactor creator", "reactor:create")
	_, reader := managementApp(t, s, "reactor reader", "reactor:read")
	_, updater := managementApp(t, s, "reactor updater", "reactor:update")
	_, deleter := managementApp(t, s, "reactor deleter", "reactor:delete")
	body := map[string]any{"name": f.tag + " perms", "code": `module.exports = async () => ({ raw: 1 });`, "configuration": map[string]any{"K": "v"}}
	patchReq := func(key string) int {
		t.Helper()
		req, _ := harness.NewRequest("PATCH", s.BaseURL+"/reactors/"+id, key, `{"configuration": {"K": "w"}}`)
		req.Header.Set("Content-Type", "application/merge-patch+json")
		st, _, _ := s.Send(t, req)
		return st
	}
	for _, c := range []struct {
		what   string
		method string
		path   string
		key    string
		body   any
		want   int
	}{
		{"create without reactor:create", "POST", "/reactors", reader, body, 403},
		{"create without any", "POST", "/reactors", none, body, 403},
		{"list without reactor:read", "GET", "/reactors", creator, nil, 403},
		{"get without reactor:read", "GET", "/reactors/" + id, updater, nil, 403},
		{"put without reactor:update", "PUT", "/reactors/" + id, reader, body, 403},
		{"delete without reactor:delete", "DELETE", "/reactors/" + id, updater, nil, 403},
		{"no key", "GET", "/reactors", "", nil, 401},
	} {
		st, hdr, b := s.Do(t, c.method, c.path, c.key, c.body)
		checkProblem(t, c.what, st, hdr, b, c.want)
	}
	mustStatus(t, "PATCH with reactor:read only", patchReq(reader), 403)
	mustStatus(t, "PATCH without any", patchReq(none), 403)

	mustStatus(t, "create with reactor:create", status2(t, s, "POST", "/reactors", creator, body), 201)
	mustStatus(t, "get with reactor:read", status(t, s, "GET", "/reactors/"+id, reader), 200)
	mustStatus(t, "list with reactor:read", status(t, s, "GET", "/reactors", reader), 200)
	mustStatus(t, "put with reactor:update", status2(t, s, "PUT", "/reactors/"+id, updater, body), 200)
	// PATCH needs reactor:update only (wire contract §4.4).
	mustStatus(t, "PATCH with reactor:update only", patchReq(updater), 204)
	if got := s.JSON(t, "GET", "/reactors/"+id, mk, nil, 200); !jsonEq(got["configuration"], map[string]any{"K": "w"}) && !jsonEq(got["configuration"], map[string]any{"K": "v"}) {
		t.Errorf("configuration after PATCH: %s", js(got))
	}
	mustStatus(t, "delete with reactor:delete", status(t, s, "DELETE", "/reactors/"+id, deleter), 204)
	// Managing reactors does not allow invoking them.
	id2 := rxCode(t, s, f.tag+" perms 2", `module.exports = async () => ({ raw: 1 });`, nil)
	rxFails(t, s, mk, id2, nil, 403, nil)
}

// ---------------------------------------------------------------- react

func (f *rxFixture) react(t *testing.T) {
	s := f.s
	code := `module.exports = async function (req) {
  const n = req.args.card.number;
  return {
    raw: {
      last4: n.slice(-4),
      month: req.args.card.expiration_month,
      general: req.args.general,
      nested: req.args.deep.list[1].card_last4,
      plain: req.args.plain,
      other: req.args.other,
      confOK: req.configuration.SERVICE_API_KEY === '` + f.secret + `',
      confKeys: Object.keys(req.configuration).sort(),
    },
    tokenize: {
      pan: { type: 'card_number', data: n, metadata: { from: 'reactor' } },
      text: 'tokenized-' + req.args.plain,
      list: [{ type: 'token', data: { last4: n.slice(-4) } }],
    },
  };
};`
	id := rxCode(t, s, f.tag+" react", code, map[string]string{"SERVICE_API_KEY": f.secret, "OTHER": "o"})
	args := map[string]any{
		"card":    tokExpr(f.card),
		"general": tokExpr(f.general),
		"deep":    map[string]any{"list": []any{1, map[string]any{"card_last4": "{{ " + f.card + " | json: '$.number' }}"}}},
		"plain":   "abc",
	}
	resp := rxReactOK(t, s, f.invoker, id, args)
	raw, _ := resp["raw"].(map[string]any)
	if raw == nil || raw["last4"] != "4242" || num(raw["month"]) != 3 || raw["general"] != "general-secret" || raw["plain"] != "abc" ||
		raw["confOK"] != true || !jsonEq(raw["confKeys"], []string{"OTHER", "SERVICE_API_KEY"}) {
		t.Errorf("react raw = %s: the code did not receive plaintext args and configuration", js(resp["raw"]))
	}
	if n, _ := raw["nested"].(string); !strings.HasSuffix(n, "4242") {
		t.Errorf("nested expression: %v", raw["nested"])
	}
	// The caller's args never read the reactor's configuration: code that
	// echoes its args would hand the caller the reactor's secrets.
	rxFails(t, s, f.invoker, id, map[string]any{"card": tokExpr(f.card), "other": "{{ config: SERVICE_API_KEY }}"},
		http.StatusBadRequest, []string{f.secret})

	// tokenize output: tokens exactly like POST /tokenize.
	toks, _ := resp["tokens"].(map[string]any)
	if toks == nil {
		t.Fatalf("react: no tokens in %s", js(resp))
	}
	ref := s.JSON(t, "POST", "/tokenize", f.invoker, map[string]any{
		"pan":  map[string]any{"type": "card_number", "data": "4242424242424242", "metadata": map[string]any{"from": "reactor"}},
		"text": "tokenized-abc",
		"list": []any{map[string]any{"type": "token", "data": map[string]any{"last4": "4242"}}},
	}, http.StatusCreated)
	if !jsonEq(shapeOf(toks), shapeOf(ref)) {
		t.Errorf("react tokens %s do not have the shape of POST /tokenize %s", js(toks), js(ref))
	}
	pan, _ := toks["pan"].(map[string]any)
	if pan == nil || pan["type"] != "card_number" || pan["mask"] != "XXXXXXXXXXXX4242" || pan["data"] != nil {
		t.Errorf("tokens.pan = %s", js(toks["pan"]))
	}
	panID, _ := pan["id"].(string)
	got := s.JSON(t, "GET", "/tokens/"+panID, f.writer, nil, http.StatusOK)
	if got["data"] != "4242424242424242" || !jsonEq(got["metadata"], map[string]any{"from": "reactor"}) {
		t.Errorf("the reactor's pan token reads back as %s", js(got))
	}
	textID, _ := toks["text"].(string)
	if got := s.JSON(t, "GET", "/tokens/"+checkUUID(t, "tokens.text", textID), f.writer, nil, http.StatusOK); got["data"] != "tokenized-abc" {
		t.Errorf("tokens.text reads back as %s", js(got))
	}
	list, _ := toks["list"].([]any)
	if len(list) != 1 {
		t.Fatalf("tokens.list = %s", js(toks["list"]))
	}
	lid, _ := list[0].(map[string]any)["id"].(string)
	if got := s.JSON(t, "GET", "/tokens/"+lid, f.writer, nil, http.StatusOK); !jsonEq(got["data"], map[string]any{"last4": "4242"}) {
		t.Errorf("tokens.list[0] reads back as %s", js(got))
	}

	// Only raw, only tokenize, neither.
	onlyRaw := rxCode(t, s, f.tag+" only raw", `module.exports = async () => ({ raw: { a: [1, 'b', null, true] } });`, nil)
	if r := rxReactOK(t, s, f.invoker, onlyRaw, nil); !jsonEq(r, map[string]any{"raw": map[string]any{"a": []any{1, "b", nil, true}}}) {
		t.Errorf("only raw: %s", js(r))
	}
	onlyTok := rxCode(t, s, f.tag+" only tokenize", `module.exports = async () => ({ tokenize: 'just a string' });`, nil)
	r := rxReactOK(t, s, f.invoker, onlyTok, nil)
	if _, has := r["raw"]; has {
		t.Errorf("only tokenize: raw present: %s", js(r))
	}
	if id, _ := r["tokens"].(string); !uuidRe.MatchString(id) {
		t.Errorf("only tokenize: tokens = %s, want the id /tokenize gives for a string", js(r["tokens"]))
	}
	neither := rxCode(t, s, f.tag+" neither", `module.exports = async () => undefined;`, nil)
	if r := rxReactOK(t, s, f.invoker, neither, nil); len(r) != 0 {
		t.Errorf("neither: %s, want {}", js(r))
	}
	// A tokenize the vault refuses is the /tokenize error.
	badTok := rxCode(t, s, f.tag+" bad tokenize", `module.exports = async () => ({ tokenize: { c: { type: 'card_number', data: '1234' } } });`, nil)
	rxFails(t, s, f.invoker, badTok, nil, 400, nil)

	// Errors in the args.
	rxFails(t, s, f.invoker, f.healthy, map[string]any{"card": tokExpr("3f1b7c4e-0000-4000-8000-00000000a70c")}, 400, nil)
	rxFails(t, s, f.invoker, f.healthy, map[string]any{"card": "{{ " + f.card + " | nosuchfilter }}"}, 400, nil)
	rxFails(t, s, f.invoker, "3f1b7c4e-0000-4000-8000-00000000a70c", nil, 404, nil)
	st, hdr, b := s.Do(t, "POST", "/reactors/"+f.healthy+"/react", f.invoker, `{"args": `)
	checkProblem(t, "react with malformed JSON", st, hdr, b, 400)
}

// shapeOf replaces leaf values by their JSON kind, keeping member names.
func shapeOf(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, vv := range x {
			switch k {
			case "id", "created_at", "fingerprint", "tenant_id", "created_by", "mask", "metadata", "type":
				out[k] = "present"
			default:
				out[k] = shapeOf(vv)
			}
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = shapeOf(e)
		}
		return out
	case string:
		if uuidRe.MatchString(x) {
			return "uuid"
		}
		return "string"
	}
	return fmt.Sprintf("%T", v)
}

// At most 100 unique tokens in one react request.
func (f *rxFixture) reactTokenLimit(t *testing.T) {
	s := f.s
	body := map[string]any{}
	for i := range 101 {
		body[fmt.Sprintf("t%03d", i)] = fmt.Sprintf("v%d", i)
	}
	made := s.JSON(t, "POST", "/tokenize", f.writer, body, http.StatusCreated)
	count := rxCode(t, s, f.tag+" count", `module.exports = async (req) => ({ raw: Object.values(req.args).filter(v => /^v\d+$/.test(v)).length });`, nil)
	args := map[string]any{}
	for i := range 100 {
		args[fmt.Sprintf("a%d", i)] = tokExpr(made[fmt.Sprintf("t%03d", i)].(string))
	}
	args["again"] = tokExpr(made["t000"].(string)) // a repeat is not a new token
	if r := rxReactOK(t, s, f.invoker, count, args); num(r["raw"]) != 101 {
		t.Errorf("100 tokens: raw = %v, want 101 values", r["raw"])
	}
	args["a100"] = tokExpr(made["t100"].(string))
	p := rxFails(t, s, f.invoker, count, args, 400, nil)
	if d, _ := p["detail"].(string); !strings.Contains(d, "100") {
		t.Errorf("101 tokens: detail %q does not name the limit", d)
	}
}

// POST /reactors/{id}/react needs reactor:invoke (or token:use) plus the
// use permission on every token's classification.
func (f *rxFixture) reactPermissions(t *testing.T) {
	s := f.s
	id := rxCode(t, s, f.tag+" echo", `module.exports = async (req) => ({ raw: { keys: Object.keys(req.args).sort(), card: req.args.card && req.args.card.number, g: req.args.g } });`, nil)
	cardArgs := map[string]any{"card": tokExpr(f.card)}
	genArgs := map[string]any{"g": tokExpr(f.general)}
	_, invokeOnly := privateAppWith(t, s, "invoke only", "reactor:invoke")
	_, readOnly := privateAppWith(t, s, "read only", "token:read")
	_, useOnly := privateAppWith(t, s, "token:use only", "token:use")
	legacyPCI := createApp(t, s, map[string]any{"name": "pci use:reactor", "type": "server_to_server", "permissions": []string{"token:pci:use:reactor"}})["key"].(string)
	legacyGen := createApp(t, s, map[string]any{"name": "general use:reactor", "type": "server_to_server", "permissions": []string{"token:general:use:reactor"}})["key"].(string)
	legacyProxy := createApp(t, s, map[string]any{"name": "pci use:proxy", "type": "server_to_server", "permissions": []string{"token:pci:use:proxy"}})["key"].(string)
	masked := createApp(t, s, map[string]any{"name": "mask rule", "type": "private", "permissions": []string{"reactor:invoke"},
		"rules": []any{map[string]any{"description": "pci masked", "priority": 1, "container": "/pci/", "transform": "mask", "permissions": []string{"token:use"}}}})["key"].(string)

	for _, c := range []struct {
		what string
		key  string
		args map[string]any
		want int
	}{
		{"management key (no reactor:invoke)", f.s.ManagementKey, nil, 403},
		{"token:read only", readOnly, nil, 403},
		{"reactor:invoke, no tokens", invokeOnly, map[string]any{"x": 1}, 200},
		{"reactor:invoke without token:use, card", invokeOnly, cardArgs, 403},
		{"token:use (legacy invoke), card", useOnly, cardArgs, 200},
		{"token:pci:use:reactor, pci card", legacyPCI, cardArgs, 200},
		{"token:pci:use:reactor, general token", legacyPCI, genArgs, 403},
		{"token:pci:use:reactor, card and general", legacyPCI, map[string]any{"card": tokExpr(f.card), "g": tokExpr(f.general)}, 403},
		{"token:general:use:reactor, general token", legacyGen, genArgs, 200},
		{"token:general:use:reactor, pci card", legacyGen, cardArgs, 403},
		{"token:pci:use:proxy, pci card", legacyProxy, cardArgs, 403},
		{"no key", "", nil, 401},
	} {
		st, hdr, b := rxReact(t, s, c.key, id, c.args)
		if c.want == 200 {
			if st != 200 {
				t.Errorf("%s: status %d, want 200; body %s", c.what, st, b)
			}
			continue
		}
		checkProblem(t, c.what, st, hdr, b, c.want)
		if bytes.Contains(b, []byte("4242424242424242")) || bytes.Contains(b, []byte("general-secret")) {
			t.Errorf("%s: a refusal holds plaintext: %s", c.what, b)
		}
	}
	// A rule granting token:use with the mask transform detokenizes masked.
	if r := rxReactOK(t, s, masked, id, cardArgs); r["raw"].(map[string]any)["card"] != "XXXXXXXXXXXX4242" {
		t.Errorf("mask rule on /pci/: the code got %s, want the masked number", js(r["raw"]))
	}
	if r := rxReactOK(t, s, legacyPCI, id, cardArgs); r["raw"].(map[string]any)["card"] != "4242424242424242" {
		t.Errorf("token:pci:use:reactor: the code did not get the plaintext card: %s", js(r))
	}
}

// Formula reactors validate args against request_parameters, after
// detokenization (wire contract §6.1).
func (f *rxFixture) requestParameters(t *testing.T) {
	s, mk := f.s, f.s.ManagementKey
	fo := s.JSON(t, "POST", "/reactor-formulas", mk, map[string]any{
		"name": f.tag + " params", "type": "private", "source_token_type": "card",
		"code": `module.exports = async function (req) {
  return { raw: { args: req.args, types: { amount: typeof req.args.amount, capture: typeof req.args.capture, month: typeof (req.args.card && req.args.card.expiration_month) } } };
};`,
		"configuration": []any{map[string]any{"name": "SERVICE_API_KEY", "type": "string"}},
		"request_parameters": []any{
			map[string]any{"name": "amount", "type": "number"},
			map[string]any{"name": "capture", "type": "boolean", "optional": true},
			map[string]any{"name": "card.number", "type": "string"},
			map[string]any{"name": "card.expiration_month", "type": "number"},
			map[string]any{"name": "note", "type": "string", "optional": true},
		},
	}, http.StatusCreated)
	id := rxReactor(t, s, map[string]any{"name": f.tag + " params", "configuration": map[string]any{"SERVICE_API_KEY": f.secret}, "formula": map[string]any{"id": fo["id"]}})["id"].(string)

	r := rxReactOK(t, s, f.invoker, id, map[string]any{"amount": "123", "capture": "true", "card": tokExpr(f.card), "extra": "dropped", "Amount": 5})
	want := map[string]any{
		"args":  map[string]any{"amount": 123, "capture": true, "card": map[string]any{"number": "4242424242424242", "expiration_month": 3}},
		"types": map[string]any{"amount": "number", "capture": "boolean", "month": "number"},
	}
	if !jsonEq(r["raw"], want) {
		t.Errorf("validated args: raw = %s, want %s (coerced, undeclared stripped, one token satisfying card.number and card.expiration_month)", js(r["raw"]), js(want))
	}
	r = rxReactOK(t, s, f.invoker, id, map[string]any{"amount": 12.5, "card": map[string]any{"number": "4111111111111111", "expiration_month": "4"}})
	if a := r["raw"].(map[string]any)["args"]; !jsonEq(a, map[string]any{"amount": 12.5, "card": map[string]any{"number": "4111111111111111", "expiration_month": 4}}) {
		t.Errorf("literal args: %s", js(a))
	}
	sec := []string{f.secret, "4242424242424242"}
	rxFails(t, s, f.invoker, id, map[string]any{"card": tokExpr(f.card)}, 400, sec, "args.amount")
	rxFails(t, s, f.invoker, id, map[string]any{"amount": "12x", "card": tokExpr(f.card)}, 400, sec, "args.amount")
	rxFails(t, s, f.invoker, id, map[string]any{"amount": 1, "capture": "perhaps", "card": tokExpr(f.card)}, 400, sec, "args.capture")
	rxFails(t, s, f.invoker, id, map[string]any{"amount": 1}, 400, sec, "args.card.number", "args.card.expiration_month")
	rxFails(t, s, f.invoker, id, nil, 400, sec, "args.amount", "args.card.number")
	// A code reactor passes args through unvalidated.
	if r := rxReactOK(t, s, f.invoker, rxCode(t, s, f.tag+" passthrough", `module.exports = async (req) => ({ raw: req.args });`, nil),
		map[string]any{"amount": "123", "x": map[string]any{"y": []any{1}}}); !jsonEq(r["raw"], map[string]any{"amount": "123", "x": map[string]any{"y": []any{1}}}) {
		t.Errorf("code reactor args: %s", js(r["raw"]))
	}
}

// POST /atomic/cards/{id}/react and /atomic/banks/{id}/react (seed 001):
// formula-era code gets the plaintext source token as context.sourceToken.
func (f *rxFixture) atomicReact(t *testing.T) {
	s, mk := f.s, f.s.ManagementKey
	fo := s.JSON(t, "POST", "/reactor-formulas", mk, map[string]any{
		"name": f.tag + " atomic", "type": "private", "source_token_type": "card",
		"code": `module.exports = async function (context) {
  const card = context.sourceToken.data;
  return {
    raw: {
      number: card.number,
      month: card.expiration_month,
      tokenId: context.sourceToken.id,
      type: context.sourceToken.type,
      keyOK: context.configuration.SERVICE_API_KEY === '` + f.secret + `',
      amount: context.requestParameters && context.requestParameters.amount,
    },
    tokenize: { last4: { type: 'token', data: card.number.slice(-4) } },
  };
};`,
		"configuration":      []any{map[string]any{"name": "SERVICE_API_KEY", "type": "string"}},
		"request_parameters": []any{map[string]any{"name": "amount", "type": "number"}},
	}, http.StatusCreated)
	rid := rxReactor(t, s, map[string]any{"name": f.tag + " atomic", "configuration": map[string]any{"SERVICE_API_KEY": f.secret}, "formula": map[string]any{"id": fo["id"]}})["id"].(string)

	owner := createApp(t, s, map[string]any{"name": "atomic owner", "type": "server_to_server",
		"permissions": []string{"token:pci:create", "token:pci:read:high", "token:bank:create", "token:bank:read:high", "token:general:create", "token:general:read:high"}})["key"].(string)
	user := createApp(t, s, map[string]any{"name": "atomic user", "type": "server_to_server",
		"permissions": []string{"token:pci:use:reactor", "token:bank:use:reactor", "token:general:create"}})["key"].(string)
	card := s.JSON(t, "POST", "/atomic/cards", owner, map[string]any{"card": map[string]any{"number": "4242424242424242", "expiration_month": 12, "expiration_year": 2030, "cvc": "123"}}, http.StatusCreated)
	cid := card["id"].(string)

	atomic := func(key, path string, body any) (int, http.Header, []byte) {
		t.Helper()
		return s.Do(t, "POST", path, key, body)
	}
	st, _, b := atomic(user, "/atomic/cards/"+cid+"/react", map[string]any{"reactor_id": rid, "request_parameters": map[string]any{"amount": "42", "ignored": 1}, "metadata": map[string]any{"nonSensitiveField": "v"}})
	if st != http.StatusOK {
		t.Fatalf("atomic card react: %d %s", st, b)
	}
	resp := decodeObj(t, b)
	wantRaw := map[string]any{"number": "4242424242424242", "month": 12, "tokenId": cid, "type": "card", "keyOK": true, "amount": 42}
	if !jsonEq(resp["raw"], wantRaw) {
		t.Errorf("atomic card react raw = %s, want %s", js(resp["raw"]), js(wantRaw))
	}
	last4, _ := resp["tokens"].(map[string]any)["last4"].(map[string]any)
	if last4 == nil {
		t.Fatalf("atomic card react: tokens = %s", js(resp["tokens"]))
	}
	if got := s.JSON(t, "GET", "/tokens/"+last4["id"].(string), f.writer, nil, http.StatusOK); got["data"] != "4242" {
		t.Errorf("atomic react token reads back as %s", js(got))
	}

	sec := []string{f.secret, "4242424242424242"}
	check := func(what, key, path string, body any, want int, fields ...string) {
		t.Helper()
		st, hdr, b := atomic(key, path, body)
		checkProblem(t, what, st, hdr, b, want, fields...)
		noHostDetail(t, what, b)
		for _, x := range sec {
			if bytes.Contains(b, []byte(x)) {
				t.Errorf("%s: response holds %q: %s", what, x, b)
			}
		}
	}
	ok := map[string]any{"reactor_id": rid, "request_parameters": map[string]any{"amount": 1}}
	check("owner without token:pci:use:reactor", owner, "/atomic/cards/"+cid+"/react", ok, 403)
	_, invoke := privateAppWith(t, s, "reactor:invoke only", "reactor:invoke")
	check("reactor:invoke without use", invoke, "/atomic/cards/"+cid+"/react", ok, 403)
	bankOnly := createApp(t, s, map[string]any{"name": "bank use", "type": "server_to_server", "permissions": []string{"token:bank:use:reactor"}})["key"].(string)
	check("token:bank:use:reactor on a card", bankOnly, "/atomic/cards/"+cid+"/react", ok, 403)
	check("no reactor_id", user, "/atomic/cards/"+cid+"/react", map[string]any{"request_parameters": map[string]any{"amount": 1}}, 400, "reactor_id")
	check("unknown reactor", user, "/atomic/cards/"+cid+"/react", map[string]any{"reactor_id": "3f1b7c4e-0000-4000-8000-00000000a70c"}, 400, "reactor_id")
	check("missing request parameter", user, "/atomic/cards/"+cid+"/react", map[string]any{"reactor_id": rid}, 400, "request_parameters.amount")
	check("unknown card", user, "/atomic/cards/3f1b7c4e-0000-4000-8000-00000000a70c/react", ok, 404)

	// Atomic bank, token:bank:use:reactor.
	bank := s.JSON(t, "POST", "/atomic/banks", owner, map[string]any{"bank": map[string]any{"routing_number": "110000000", "account_number": "000123456789"}}, http.StatusCreated)
	bankReactor := rxCode(t, s, f.tag+" bank", `module.exports = async function (context) {
  return { raw: { account: context.sourceToken.data.account_number, routing: context.sourceToken.data.routing_number, type: context.sourceToken.type } };
};`, map[string]string{"SERVICE_API_KEY": f.secret})
	st, _, b = atomic(user, "/atomic/banks/"+bank["id"].(string)+"/react", map[string]any{"reactor_id": bankReactor})
	if st != http.StatusOK || !jsonEq(decodeObj(t, b)["raw"], map[string]any{"account": "000123456789", "routing": "110000000", "type": "bank"}) {
		t.Errorf("atomic bank react: %d %s", st, b)
	}
	check("card use on a bank", createApp(t, s, map[string]any{"name": "pci use", "type": "server_to_server", "permissions": []string{"token:pci:use:reactor"}})["key"].(string),
		"/atomic/banks/"+bank["id"].(string)+"/react", map[string]any{"reactor_id": bankReactor}, 403)
	check("a bank is not a card", user, "/atomic/cards/"+bank["id"].(string)+"/react", ok, 404)
}

// ---------------------------------------------------------------- errors

func (f *rxFixture) errorClasses(t *testing.T) {
	s := f.s
	sec := []string{f.secret}
	conf := map[string]string{"SERVICE_API_KEY": f.secret}
	id := rxCode(t, s, f.tag+" thrower", `const sdk = require('@basis-theory/basis-theory-reactor-formulas-sdk-js');
module.exports = async function (req) {
  const E = sdk[req.args.cls];
  if (req.args.none) throw new E();
  throw new E(req.args.errors);
};`, conf)
	for _, c := range []struct {
		cls    string
		status int
		detail string
	}{
		{"BadRequestError", 400, "Bad Request"},
		{"InvalidReactorConfigurationError", 400, "Invalid Reactor Configuration"},
		{"AuthenticationError", 401, "Authentication Failed"},
		{"InvalidPaymentMethodError", 402, "Invalid Payment Method"},
		{"AuthorizationError", 403, "Forbidden"},
		{"InvalidReactorFormulaError", 422, "Invalid Reactor Formula"},
		{"RateLimitError", 429, "Rate Limit Exceeded"},
		{"ReactorRuntimeError", 500, "Reactor Runtime Error"},
		{"ServiceUnavailableError", 503, "Service Unavailable"},
	} {
		errs := map[string]any{"card": []any{"declined by " + c.cls, "second"}, "code": "E42", "nested": map[string]any{"a": 1}}
		p := rxFails(t, s, f.invoker, id, map[string]any{"cls": c.cls, "errors": errs}, c.status, sec, "card", "code", "nested")
		if p["detail"] != c.detail {
			t.Errorf("%s: detail %v, want %q", c.cls, p["detail"], c.detail)
		}
		want := map[string]any{"card": []any{"declined by " + c.cls, "second"}, "code": []any{"E42"}, "nested": []any{`{"a":1}`}}
		if !jsonEq(p["errors"], want) {
			t.Errorf("%s: errors %s, want %s", c.cls, js(p["errors"]), js(want))
		}
	}
	// errors as a string, an array, and none at all.
	p := rxFails(t, s, f.invoker, id, map[string]any{"cls": "BadRequestError", "errors": "just text"}, 400, sec, "error")
	if !jsonEq(p["errors"], map[string]any{"error": []any{"just text"}}) {
		t.Errorf("string errors: %s", js(p["errors"]))
	}
	p = rxFails(t, s, f.invoker, id, map[string]any{"cls": "InvalidPaymentMethodError", "errors": []any{"expired", map[string]any{"x": true}}}, 402, sec, "error")
	if !jsonEq(p["errors"], map[string]any{"error": []any{"expired", `{"x":true}`}}) {
		t.Errorf("array errors: %s", js(p["errors"]))
	}
	p = rxFails(t, s, f.invoker, id, map[string]any{"cls": "RateLimitError", "none": true}, 429, sec, "error")
	if msg := errText(p, "error"); !strings.Contains(msg, "Something went wrong") {
		t.Errorf("no errors: %s, want the SDK's fallback text", js(p["errors"]))
	}

	// Anything else thrown is a 500 Reactor Runtime Error with nothing of
	// the host in it.
	for _, c := range []struct {
		name, code string
		errs       map[string]any
	}{
		{"throw a string", `module.exports = async () => { throw 'x' }`, map[string]any{"error": []any{"x"}}},
		{"throw an object", `module.exports = async () => { throw { a: 1 } }`, map[string]any{"a": []any{"1"}}},
		{"throw an Error", `module.exports = async () => { throw new Error('card declined by issuer') }`, map[string]any{"error": []any{"card declined by issuer"}}},
		{"sync throw", `module.exports = function () { throw new TypeError('sync') }`, map[string]any{"error": []any{"sync"}}},
		{"rejected promise", `module.exports = () => Promise.reject(new RangeError('rejected'))`, map[string]any{"error": []any{"rejected"}}},
		{"TypeError from the engine", `module.exports = async (req) => ({ raw: req.args.nope.deeper })`, nil},
		{"throw null", `module.exports = async () => { throw null }`, nil},
		{"throw undefined in a timer", `module.exports = () => new Promise((res, rej) => setTimeout(() => rej(), 1))`, nil},
		{"error thrown with a secret-free message while configured", `module.exports = async (req) => { const k = req.configuration.SERVICE_API_KEY; throw new Error('vendor said no (' + k.length + ' chars)') }`, nil},
	} {
		rid := rxCode(t, s, f.tag+" "+c.name, c.code, conf)
		p := rxFails(t, s, f.invoker, rid, map[string]any{"x": 1}, 500, sec)
		if p["detail"] != "Reactor Runtime Error" {
			t.Errorf("%s: detail %v, want Reactor Runtime Error", c.name, p["detail"])
		}
		if c.errs != nil && !jsonEq(p["errors"], c.errs) {
			t.Errorf("%s: errors %s, want %s", c.name, js(p["errors"]), js(c.errs))
		}
		if len(errorsOf(p)) == 0 {
			t.Errorf("%s: errors is empty: %s", c.name, js(p))
		}
	}
}

// ---------------------------------------------------------------- hostile

func (f *rxFixture) hostile(t *testing.T) {
	s := f.s
	up := newUpstream(t) // fetch must never reach it
	port := up.URL[strings.LastIndex(up.URL, ":")+1:]
	sec := []string{f.secret}
	conf := map[string]string{"SERVICE_API_KEY": f.secret}
	cases := []struct {
		name   string
		code   string
		status int    // 0: the memory limit (500) or the time limit (408)
		detail string // substring of detail
		errSub string // substring of errors.error[0]
	}{
		{"infinite loop", `module.exports = async () => { while (true) {} }`, 408, "time limit", ""},
		{"recursion bomb", `module.exports = async () => { const f = (n) => f(n + 1) + 1; return f(0) }`, 500, "call stack", ""},
		{"allocation bomb", `module.exports = async () => { let a = []; while (true) a.push(new Array(1e4).fill(1.5)) }`, 0, "", ""},
		{"never-settling promise", `module.exports = async () => { await new Promise(() => {}) }`, 500, "never settles", ""},
		{"require('fs')", `module.exports = async () => ({ raw: require('fs').readFileSync('/etc/passwd', 'utf8') })`, 500, "Reactor Runtime Error", "Cannot find module 'fs'"},
		{"require('child_process')", `module.exports = async () => ({ raw: require('child_process').execSync('id').toString() })`, 500, "Reactor Runtime Error", "Cannot find module 'child_process'"},
		{"process.env", `module.exports = async () => ({ raw: process.env })`, 500, "Reactor Runtime Error", "process is not defined"},
		{"fetch loopback", `module.exports = async () => { const r = await fetch('http://127.0.0.1:` + port + `/steal'); return { raw: await r.text() } }`, 500, "Reactor Runtime Error", "fetch failed"},
		{"fetch https loopback", `module.exports = async () => { const r = await fetch('https://127.0.0.1:` + port + `/steal'); return { raw: await r.text() } }`, 500, "Reactor Runtime Error", "fetch failed"},
		{"fetch metadata", `module.exports = async () => { const r = await fetch('http://169.254.169.254/latest/meta-data/'); return { raw: await r.text() } }`, 500, "Reactor Runtime Error", "fetch failed"},
		{"fetch metadata over https", `module.exports = async () => { const r = await fetch('https://169.254.169.254/latest/meta-data/'); return { raw: await r.text() } }`, 500, "Reactor Runtime Error", "fetch failed"},
		{"giant result", `module.exports = async () => ({ raw: 'x'.repeat(1100000) })`, 500, "maximum payload size", ""},
		{"giant tokenize", `module.exports = async () => ({ tokenize: { a: 'y'.repeat(1100000) } })`, 500, "maximum payload size", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			id := rxCode(t, s, f.tag+" hostile", c.code, conf)
			start := time.Now()
			st, hdr, b := rxReact(t, s, f.invoker, id, map[string]any{"card": tokExpr(f.card)})
			if took := time.Since(start); took > 15*time.Second {
				t.Errorf("took %v: the Caddyfile's reactor timeout (2s) did not apply", took)
			}
			want := c.status
			if want == 0 {
				want = st
				if st != 500 && st != 408 {
					t.Errorf("status %d, want 500 (memory limit) or 408 (time limit); body %s", st, b)
				}
			}
			p := checkProblem(t, c.name, st, hdr, b, want)
			noHostDetail(t, c.name, b)
			for _, x := range append(sec, "4242424242424242", "169.254", "127.0.0.1") {
				if bytes.Contains(b, []byte(x)) {
					t.Errorf("the error holds %q: %s", x, b)
				}
			}
			d, _ := p["detail"].(string)
			if c.status == 0 && !strings.Contains(d, "memory") && !strings.Contains(d, "time limit") {
				t.Errorf("detail %q, want the memory or time limit", d)
			}
			if !strings.Contains(d, c.detail) {
				t.Errorf("detail %q, want %q", d, c.detail)
			}
			if c.errSub != "" && !strings.Contains(errText(p, "error"), c.errSub) {
				t.Errorf("errors %s, want %q", js(p["errors"]), c.errSub)
			}
			t.Logf("%d %s", st, b)
			f.check(t, c.name)
		})
	}
	up.none(t, "fetch from reactor code")

	t.Run("prototype pollution across calls", func(t *testing.T) {
		pollute := rxCode(t, s, f.tag+" polluter", `module.exports = async (req) => {
  const before = ({}).polluted;
  Object.prototype.polluted = 1;
  Array.prototype.push = function () { return 'hijacked' };
  JSON.stringify = () => '"hijacked"';
  globalThis.lastCard = req.args.card.number;
  String.prototype.slice = function () { return 'hijacked' };
  return { raw: { before: before === undefined ? 'clean' : 'dirty', after: ({}).polluted } };
};`, conf)
		probe := rxCode(t, s, f.tag+" probe", `module.exports = async () => ({ raw: [({}).polluted === undefined, [].push(1), JSON.stringify(1), typeof lastCard, 'abc'.slice(1)] });`, nil)
		for i := range 2 {
			r := rxReactOK(t, s, f.invoker, pollute, map[string]any{"card": tokExpr(f.card)})
			if !jsonEq(r["raw"], map[string]any{"before": "clean", "after": 1}) {
				t.Errorf("pollute #%d saw the previous call's pollution: %s", i+1, js(r["raw"]))
			}
		}
		if r := rxReactOK(t, s, f.invoker, probe, nil); !jsonEq(r["raw"], []any{true, 1, "1", "undefined", "bc"}) {
			t.Errorf("another reactor saw the pollution: %s", js(r["raw"]))
		}
		f.check(t, "prototype pollution")
	})

	t.Run("sandbox has no host", func(t *testing.T) {
		id := rxCode(t, s, f.tag+" probe host", `module.exports = async () => {
  const mods = {};
  for (const m of ['fs', 'os', 'child_process', 'net', 'http', 'vm', 'worker_threads', 'process', './x', '/etc/passwd']) {
    try { require(m); mods[m] = 'loaded' } catch (e) { mods[m] = e.code || e.name }
  }
  const globals = { process: typeof process, Deno: typeof Deno, Bun: typeof Bun, require_main: typeof require.main,
    viaFunction: (function () { try { return typeof (new Function('return this'))().process } catch (e) { return e.name } })() };
  return { raw: { mods, globals } };
};`, nil)
		r := rxReactOK(t, s, f.invoker, id, nil)
		raw, _ := r["raw"].(map[string]any)
		mods, _ := raw["mods"].(map[string]any)
		for m, v := range mods {
			if v != "MODULE_NOT_FOUND" {
				t.Errorf("require(%q) gave %v, want MODULE_NOT_FOUND", m, v)
			}
		}
		if len(mods) != 10 {
			t.Errorf("mods = %s", js(raw))
		}
		for g, v := range raw["globals"].(map[string]any) {
			if v != "undefined" {
				t.Errorf("the sandbox exposes %s: %v", g, v)
			}
		}
	})
}

// thrownNotLogged: the text of an error thrown by reactor code is the
// customer's (it may hold the plaintext the code was given, or its
// configuration); it may go back to the caller, but never to the log.
func (f *rxFixture) thrownNotLogged(t *testing.T) {
	s := f.s
	probe := "probe-" + harness.NewKey()[4:20]
	card := mkToken(t, s, f.writer, map[string]any{"type": "card", "data": map[string]any{"number": "5555555555554444", "expiration_month": 1, "expiration_year": 2031}})
	id := rxCode(t, s, f.tag+" careless", `module.exports = async (req) => {
  throw new Error('vendor declined card ' + req.args.card.number + ' for key ' + req.configuration.PROBE);
};`, map[string]string{"PROBE": probe})
	st, _, b := rxReact(t, s, f.invoker, id, map[string]any{"card": tokExpr(card)})
	if st != 500 {
		t.Errorf("careless reactor: %d %s", st, b)
	}
	log := s.Log()
	for _, x := range []string{probe, "5555555555554444"} {
		if i := strings.Index(log, x); i >= 0 {
			t.Errorf("the server log holds %q from a thrown error's message: ...%s...", x, log[max(0, i-250):min(len(log), i+60)])
		}
	}
}

// ---------------------------------------------------------------- req.bt

func (f *rxFixture) reqBT(t *testing.T) {
	s, mk := f.s, f.s.ManagementKey
	appID, _ := privateAppWith(t, s, "reactor application", "token:create", "token:read")
	roID, _ := privateAppWith(t, s, "read-only application", "token:read")
	_, invokeOnly := privateAppWith(t, s, "bt invoker", "reactor:invoke")
	code := `module.exports = async function (req) {
  if (req.bt === null) return { raw: { bt: null } };
  let created;
  try {
    created = await req.bt.tokenize({ type: 'token', data: 'bt-' + req.args.n, metadata: { via: 'req.bt' } });
  } catch (e) {
    return { raw: { tokenizeFailed: e.status, name: e.name } };
  }
  const got = await req.bt.tokens.retrieve(created.id);
  const existing = await req.bt.tokens.retrieve(req.args.existing);
  return { raw: { id: created.id, data: got.data, metadata: got.metadata, createdBy: got.createdBy, existing: existing.data } };
};`
	withApp := rxReactor(t, s, map[string]any{"name": f.tag + " bt", "code": code, "configuration": map[string]any{"SERVICE_API_KEY": f.secret}, "application": map[string]any{"id": appID}})
	if a, _ := withApp["application"].(map[string]any); a == nil || a["id"] != appID {
		t.Errorf("reactor.application = %s, want {id: %s}", js(withApp["application"]), appID)
	}
	if got := s.JSON(t, "GET", "/reactors/"+withApp["id"].(string), mk, nil, http.StatusOK); !jsonEq(got["application"], withApp["application"]) {
		t.Errorf("GET reactor application: %s", js(got["application"]))
	}
	r := rxReactOK(t, s, invokeOnly, withApp["id"].(string), map[string]any{"n": 7, "existing": f.general})
	raw, _ := r["raw"].(map[string]any)
	if raw == nil || raw["data"] != "bt-7" || !jsonEq(raw["metadata"], map[string]any{"via": "req.bt"}) || raw["createdBy"] != appID || raw["existing"] != "general-secret" {
		t.Fatalf("req.bt with an application: raw = %s, want the token created and read back as application %s", js(r["raw"]), appID)
	}
	if got := s.JSON(t, "GET", "/tokens/"+raw["id"].(string), f.writer, nil, http.StatusOK); got["data"] != "bt-7" || got["created_by"] != appID {
		t.Errorf("the token req.bt created reads back as %s", js(got))
	}

	// The application's permissions, not the caller's, decide.
	ro := rxReactor(t, s, map[string]any{"name": f.tag + " bt ro", "code": code, "application": map[string]any{"id": roID}})
	r = rxReactOK(t, s, f.invoker, ro["id"].(string), map[string]any{"n": 8, "existing": f.general})
	if !jsonEq(r["raw"], map[string]any{"tokenizeFailed": 403, "name": "BasisTheoryApiError"}) {
		t.Errorf("req.bt of a read-only application: raw = %s, want the tokenize refused with 403", js(r["raw"]))
	}

	// No application: req.bt is null.
	none := rxCode(t, s, f.tag+" bt none", code, nil)
	if r := rxReactOK(t, s, f.invoker, none, map[string]any{"n": 9}); !jsonEq(r["raw"], map[string]any{"bt": nil}) {
		t.Errorf("req.bt without an application: raw = %s, want {bt: null}", js(r["raw"]))
	}
}

// ---------------------------------------------------------------- proxy transforms

// TestReactorProxyTransforms: a pre-configured proxy's request transform
// runs before detokenization and may change the body and headers; its
// response transform changes a 2xx answer only; CustomHttpResponseError
// answers with its own status, headers and body and nothing reaches the
// destination; other reactor errors are wrapped in proxy_error.
func TestReactorProxyTransforms(t *testing.T) {
	t.Parallel()
	up := newUpstream(t)
	s := proxyServer(t)
	writer := writerKey(t, s)
	pan := mkToken(t, s, writer, map[string]any{"type": "card_number", "data": "4242424242424242"})
	invoker := invokerKey(t, s)
	mk := s.ManagementKey
	conf := map[string]any{"MERCHANT": "m-1"}
	mkProxy := func(name string, fields map[string]any) string {
		t.Helper()
		body := map[string]any{"name": name, "destination_url": up.URL + "/base", "configuration": conf}
		for k, v := range fields {
			body[k] = v
		}
		px := s.JSON(t, "POST", "/proxies", mk, body, http.StatusCreated)
		return px["key"].(string)
	}
	call := func(key, body string, hdr map[string]string) (int, http.Header, []byte) {
		t.Helper()
		h := map[string]string{"BT-PROXY-KEY": key}
		for k, v := range hdr {
			h[k] = v
		}
		return pcall{path: "/proxy/charge?x=1", key: invoker, body: body, header: h}.do(t, s)
	}
	reqBody := fmt.Sprintf(`{"amount":12,"panToken":"%s","raw":"%s"}`, pan, tokExpr(pan))

	t.Run("request transform", func(t *testing.T) {
		key := mkProxy("request transform", map[string]any{"request_transform": map[string]any{"code": `module.exports = async function (req) {
  const b = req.args.body;
  return {
    body: { amount: b.amount * 100, pan: '{{ ' + b.panToken + ' }}', sawExpression: b.raw.startsWith('{{'), merchant: req.configuration.MERCHANT,
            method: req.args.method, path: req.args.path, query: req.args.query },
    headers: Object.assign({}, req.args.headers, { 'X-Merchant': req.configuration.MERCHANT, 'X-Pan': '{{ ' + b.panToken + ' }}' }),
  };
};`}})
		st, hdr, b := call(key, reqBody, map[string]string{"X-Original": "kept"})
		if st != http.StatusOK || hdr.Get("BT-PROXY-DESTINATION-STATUS") != "200" {
			up.take()
			t.Fatalf("status %d (%s): %s", st, hdr.Get("BT-PROXY-DESTINATION-STATUS"), b)
		}
		got := up.one(t, "request transform")
		var body map[string]any
		if err := json.Unmarshal(got.Body, &body); err != nil {
			t.Fatalf("upstream body is not JSON: %s", got.Body)
		}
		want := map[string]any{"amount": 1200, "pan": "4242424242424242", "sawExpression": true, "merchant": "m-1", "method": "POST", "path": "/charge", "query": "?x=1"}
		if !jsonEq(body, want) {
			t.Errorf("upstream body %s, want %s (transformed, then detokenized)", got.Body, js(want))
		}
		if got.Path != "/base/charge" || got.RawQuery != "x=1" {
			t.Errorf("upstream got %s?%s", got.Path, got.RawQuery)
		}
		if got.Header.Get("X-Merchant") != "m-1" || got.Header.Get("X-Pan") != "4242424242424242" || got.Header.Get("X-Original") != "kept" {
			t.Errorf("upstream headers %v: want X-Merchant m-1, X-Pan detokenized, X-Original kept", got.Header)
		}
		if got.Header.Get("Bt-Api-Key") != "" || got.Header.Get("Bt-Proxy-Key") != "" {
			t.Errorf("a BT key reached the destination through the transform's headers: %v", got.Header)
		}
	})

	t.Run("response transform", func(t *testing.T) {
		key := mkProxy("response transform", map[string]any{"response_transform": map[string]any{"code": `module.exports = async function (req) {
  return {
    body: { wrapped: req.args.body, by: req.configuration.MERCHANT },
    headers: Object.assign({}, req.args.headers, { 'X-Response-Transformed': 'yes' }),
  };
};`}})
		st, hdr, b := call(key, reqBody, nil)
		got := up.one(t, "response transform")
		if st != http.StatusOK || hdr.Get("X-Response-Transformed") != "yes" || hdr.Get("X-Upstream") != "strongroom-test" {
			t.Errorf("response transform: %d headers %v body %s", st, hdr, b)
		}
		var out map[string]any
		if err := json.Unmarshal(b, &out); err != nil || !jsonEq(out, map[string]any{"wrapped": map[string]any{"upstream": "ok"}, "by": "m-1"}) {
			t.Errorf("response transform body %s", b)
		}
		if string(got.Body) != `{"amount":12,"panToken":"`+pan+`","raw":"4242424242424242"}` {
			t.Errorf("without a request transform the upstream got %s", got.Body)
		}
		// A non-2xx answer is passed through untransformed.
		st, hdr, b = call(key, `{}`, map[string]string{"X-Reply-Status": "502"})
		up.one(t, "response transform, 502")
		if st != 502 || hdr.Get("X-Response-Transformed") != "" || string(b) != upstreamBody {
			t.Errorf("a 502 answer was transformed: %d %v %s", st, hdr, b)
		}
	})

	t.Run("CustomHttpResponseError", func(t *testing.T) {
		custom := `const { CustomHttpResponseError } = require('@basis-theory/basis-theory-reactor-formulas-sdk-js');
module.exports = async function (req) {
  throw new CustomHttpResponseError({ status: 418, headers: { 'X-Custom': 'short-circuit', 'Content-Type': 'application/json' }, body: { reason: 'blocked', seen: Object.keys(req.args.body).sort() } });
};`
		key := mkProxy("custom request", map[string]any{"request_transform": map[string]any{"code": custom}})
		st, hdr, b := call(key, reqBody, nil)
		up.none(t, "CustomHttpResponseError in the request transform")
		if st != 418 || hdr.Get("X-Custom") != "short-circuit" || hdr.Get("BT-PROXY-DESTINATION-STATUS") != "" {
			t.Errorf("custom response: %d %v %s", st, hdr, b)
		}
		var out map[string]any
		if err := json.Unmarshal(b, &out); err != nil || !jsonEq(out, map[string]any{"reason": "blocked", "seen": []any{"amount", "panToken", "raw"}}) {
			t.Errorf("custom response body %s, want exactly the thrown body (not wrapped)", b)
		}
		if bytes.Contains(b, []byte("4242424242424242")) {
			t.Errorf("custom response holds plaintext: %s", b)
		}

		// In the response transform: the destination was called, the custom
		// answer replaces its response.
		key = mkProxy("custom response", map[string]any{"response_transform": map[string]any{"code": strings.Replace(custom, "418", "201", 1)}})
		st, hdr, b = call(key, reqBody, nil)
		up.one(t, "CustomHttpResponseError in the response transform")
		if st != 201 || hdr.Get("X-Custom") != "short-circuit" || !bytes.Contains(b, []byte(`"reason":"blocked"`)) {
			t.Errorf("custom response from the response transform: %d %v %s", st, hdr, b)
		}
	})

	t.Run("reactor errors are wrapped in proxy_error", func(t *testing.T) {
		key := mkProxy("throws", map[string]any{"request_transform": map[string]any{"code": `const { BadRequestError } = require('@basis-theory/basis-theory-reactor-formulas-sdk-js');
module.exports = async () => { throw new BadRequestError({ amount: ['too high'] }) };`}})
		st, hdr, b := call(key, reqBody, nil)
		p := checkProxyError(t, "BadRequestError in a transform", st, hdr, b, 400)
		up.none(t, "BadRequestError in a transform")
		if p != nil && (p["detail"] != "Bad Request" || !jsonEq(p["errors"], map[string]any{"amount": []any{"too high"}})) {
			t.Errorf("proxy_error %s", js(p))
		}
		key = mkProxy("plain throw", map[string]any{"response_transform": map[string]any{"code": `module.exports = async () => { throw new Error('vendor parse failed') };`}})
		st, hdr, b = call(key, reqBody, nil)
		up.one(t, "plain throw in the response transform")
		checkProxyError(t, "Error in a response transform", st, hdr, b, 500)
		noHostDetail(t, "Error in a response transform", b)
	})
}
