package tokens

import (
	"bytes"
	"testing"

	"github.com/strongroom/strongroom/vault/access"
	"github.com/strongroom/strongroom/vault/internal/kernel"
	"github.com/strongroom/strongroom/vault/keywrap"
	"github.com/strongroom/strongroom/vault/store"
	"github.com/strongroom/strongroom/vault/tenants"
)

// env is the tokens domain on its own, as the vault composes it: a real
// Pebble store in a temporary directory, the kernel with a master key, the
// tenants domain below, and one tenant's management principal. The
// composition's own tests (the vault package) cover what crosses domains.
type env struct {
	t    *testing.T
	dir  string
	base *kernel.Base
	v    *Service
	mgmt *access.Principal
}

func newEnv(t *testing.T) *env {
	e := &env{t: t, dir: t.TempDir()}
	e.open()
	_, app, err := e.v.CreateTenant("Test Tenant", tenants.TenantProduction)
	if err != nil {
		t.Fatal(err)
	}
	e.mgmt = e.auth(app.Key)
	t.Cleanup(e.close)
	return e
}

func (e *env) open() {
	e.t.Helper()
	s, err := store.OpenPebble(e.dir)
	if err != nil {
		e.t.Fatal(err)
	}
	e.base = kernel.NewBase(s)
	view := e.base.Bind(kernel.View{})
	view.Start()
	if err := view.OpenKeys(&keywrap.Local{Key: bytes.Repeat([]byte{0x42}, 32)}); err != nil {
		e.t.Fatal(err)
	}
	e.v = &Service{Service: &tenants.Service{View: view, Caches: tenants.NewCaches()}, Caches: &Caches{}}
}

func (e *env) close() {
	if e.base != nil {
		if err := e.base.Close(); err != nil {
			e.t.Errorf("close: %v", err)
		}
		e.base = nil
	}
}

// reopen closes and reopens the store: nothing cached survives.
func (e *env) reopen() {
	e.t.Helper()
	e.close()
	e.open()
}

func (e *env) auth(key string) *access.Principal {
	e.t.Helper()
	p, err := e.v.Authenticate(key)
	if err != nil {
		e.t.Fatalf("Authenticate: %v", err)
	}
	return p
}

// writer may create, update, delete and read every classification.
func (e *env) writer() *access.Principal {
	e.t.Helper()
	var perms []string
	for _, c := range []string{"general", "bank", "pci", "pii"} {
		for _, op := range []string{"create", "update", "delete", "read:high"} {
			perms = append(perms, "token:"+c+":"+op)
		}
	}
	name, typ := "writer", access.TypeServerToServer
	a, err := e.v.CreateApplication(e.mgmt, tenants.ApplicationRequest{Name: &name, Type: &typ, Permissions: perms})
	if err != nil {
		e.t.Fatal(err)
	}
	return e.auth(a.Key)
}

// create makes a token of typ holding the JSON data, or fails the test.
func (e *env) create(p *access.Principal, typ, data string) *Token {
	e.t.Helper()
	tok, err := e.v.CreateToken(p, TokenRequest{Type: &typ, Data: []byte(data)})
	if err != nil {
		e.t.Fatalf("CreateToken(%s, %s): %v", typ, data, err)
	}
	return tok
}

// dataOf renders a token's data field: "<absent>" or the JSON.
func dataOf(tok *Token) string {
	if tok == nil || tok.Data == nil {
		return "<absent>"
	}
	return string(*tok.Data)
}
