package vault

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/strongroom/strongroom/vault/access"
	"github.com/strongroom/strongroom/vault/egress"
	"github.com/strongroom/strongroom/vault/internal/kernel"
	"github.com/strongroom/strongroom/vault/problem"
	"github.com/strongroom/strongroom/vault/token"
)

type tokenPrivacy = token.Privacy

// testMaster is the master key of every test vault.
var testMaster = bytes.Repeat([]byte{0x42}, 32)

const testMgmtKey = "key_TestManagementKey1234567890"

// env is an open vault on a real Pebble store in a temporary directory,
// with the bootstrap management principal.
type env struct {
	t      testing.TB
	dir    string
	v      *Vault
	mgmt   *access.Principal
	closed bool
}

// openView opens a Core and binds the view the tests use: no reactors, the
// development egress policy (tests name loopback destinations) and s.
func openView(opts Options, s Settings) (*Vault, error) {
	c, err := Open(opts)
	if err != nil {
		return nil, err
	}
	return c.Bind(nil, egress.Policy{AllowInsecure: true}, s), nil
}

func newEnv(t testing.TB) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir()}
	e.open()
	t.Cleanup(e.close)
	return e
}

func (e *env) open() {
	e.t.Helper()
	v, err := openView(Options{DataDir: e.dir, MasterKey: testMaster, ManagementKey: testMgmtKey}, Settings{})
	if err != nil {
		e.t.Fatalf("Open: %v", err)
	}
	e.v, e.closed = v, false
	e.mgmt = e.auth(testMgmtKey)
}

func (e *env) close() {
	if !e.closed {
		e.closed = true
		if err := e.v.Close(); err != nil {
			e.t.Errorf("Close: %v", err)
		}
	}
}

// reopen closes and reopens the vault, which flushes the read-audit queue.
func (e *env) reopen() {
	e.t.Helper()
	e.close()
	e.open()
}

func (e *env) auth(key string) *access.Principal {
	e.t.Helper()
	p, err := e.v.Authenticate(key)
	if err != nil {
		e.t.Fatalf("Authenticate(%q): %v", key, err)
	}
	return p
}

// app creates an application through the API method and authenticates
// its key.
func (e *env) app(typ string, perms []string, rules ...access.Rule) (*access.Principal, *Application) {
	e.t.Helper()
	return e.appIn(e.mgmt, typ, perms, rules...)
}

func (e *env) appIn(mgmt *access.Principal, typ string, perms []string, rules ...access.Rule) (*access.Principal, *Application) {
	e.t.Helper()
	name := typ + " app"
	a, err := e.v.CreateApplication(mgmt, ApplicationRequest{Name: &name, Type: &typ, Permissions: perms, Rules: rules})
	if err != nil {
		e.t.Fatalf("CreateApplication(%s, %v): %v", typ, perms, err)
	}
	if a.Key == "" {
		e.t.Fatal("created application has no key")
	}
	return e.auth(a.Key), a
}

var classes = []string{"general", "bank", "pci", "pii"}

func classPerms(ops ...string) []string {
	var out []string
	for _, c := range classes {
		for _, op := range ops {
			out = append(out, "token:"+c+":"+op)
		}
	}
	return out
}

// writer may create, update and delete tokens of every classification.
func (e *env) writer() *access.Principal {
	p, _ := e.app(access.TypeServerToServer, classPerms("create", "update", "delete", "read:high"))
	return p
}

// reader reads every classification at level.
func (e *env) reader(level string) *access.Principal {
	p, _ := e.app(access.TypeServerToServer, classPerms("read:"+level))
	return p
}

func ptr[T any](v T) *T { return &v }

func raw(s string) json.RawMessage { return json.RawMessage(s) }

// mustCreate creates a token or fails the test.
func mustCreate(t *testing.T, v *Vault, p *access.Principal, req TokenRequest) *Token {
	t.Helper()
	tok, err := v.CreateToken(p, req)
	if err != nil {
		t.Fatalf("CreateToken(%s, %s): %v", kernel.Deref(req.Type), req.Data, err)
	}
	return tok
}

func tokReq(typ, data string) TokenRequest {
	return TokenRequest{Type: ptr(typ), Data: raw(data)}
}

// dataOf renders a token's data field: "<absent>", "null" or the JSON.
func dataOf(tok *Token) string {
	if tok == nil || tok.Data == nil {
		return "<absent>"
	}
	return string(*tok.Data)
}

// jsonEq reports whether two JSON texts are the same value.
func jsonEq(a, b string) bool {
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return a == b
	}
	return reflect.DeepEqual(x, y)
}

// wantProblem asserts err is a *problem.Problem with status and (for 400s)
// errors on exactly the given fields when any are given.
func wantProblem(t *testing.T, err error, status int, fields ...string) *problem.Problem {
	t.Helper()
	var p *problem.Problem
	if !errors.As(err, &p) {
		t.Fatalf("err = %v (%T), want a %d problem", err, err, status)
	}
	if p.Status != status {
		t.Fatalf("status %d (%v), want %d", p.Status, p, status)
	}
	if len(fields) > 0 {
		var got []string
		for k := range p.Errors {
			got = append(got, k)
		}
		sort.Strings(got)
		want := append([]string(nil), fields...)
		sort.Strings(want)
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("error fields %v, want %v (%v)", got, want, p)
		}
	}
	return p
}

// setClock fixes the package clock at t0 and returns a function moving it;
// the real clock is restored at the end of the test.
func setClock(t *testing.T, t0 time.Time) func(time.Time) {
	t.Helper()
	old := kernel.Now
	cur := t0
	kernel.Now = func() time.Time { return cur }
	t.Cleanup(func() { kernel.Now = old })
	return func(nt time.Time) { cur = nt }
}

func countTokens(t *testing.T, v *Vault, p *access.Principal) int {
	t.Helper()
	pg, err := v.ListTokens(p, TokenFilter{}, Page{Number: 1, Size: 100})
	if err != nil {
		t.Fatalf("ListTokens: %v", err)
	}
	return pg.Pagination.TotalItems
}
