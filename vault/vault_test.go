package vault

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/strongroom/strongroom/vault/access"
	"github.com/strongroom/strongroom/vault/crypto"
	"github.com/strongroom/strongroom/vault/internal/kernel"
)

func listApps(t *testing.T, v *Vault, p *access.Principal) []Application {
	t.Helper()
	pg, err := v.ListApplications(p, ApplicationFilter{}, Page{Number: 1, Size: 100})
	if err != nil {
		t.Fatal(err)
	}
	return pg.Data
}

func TestBootstrapWithKnownManagementKey(t *testing.T) {
	e := newEnv(t)
	tenants, err := e.v.Tenants()
	if err != nil || len(tenants) != 1 {
		t.Fatalf("tenants = %v, %v", tenants, err)
	}
	if e.v.Events.TenantID != tenants[0].ID || e.mgmt.TenantID != tenants[0].ID {
		t.Fatal("bootstrap tenant id mismatch")
	}
	if e.v.Events.BootstrapKey != "" {
		t.Fatal("a supplied management key must not be reported as generated")
	}
	if _, err := os.Stat(filepath.Join(e.dir, bootstrapFile)); !os.IsNotExist(err) {
		t.Fatalf("management.key written although the key was supplied: %v", err)
	}
	if e.mgmt.AppType != access.TypeManagement {
		t.Fatalf("bootstrap app type %s", e.mgmt.AppType)
	}
	for _, perm := range access.ManagementPermissions() {
		if !e.mgmt.Has(perm) {
			t.Errorf("bootstrap key lacks %s", perm)
		}
	}
	if _, ok := e.mgmt.TokenTransform("token:read", access.TokenRef{Container: "/pci/high/"}); ok {
		t.Error("management key may read tokens")
	}
	if n := len(listApps(t, e.v, e.mgmt)); n != 1 {
		t.Fatalf("%d applications after bootstrap", n)
	}
	ten, err := e.v.GetTenant(e.mgmt)
	if err != nil || ten.OwnerID == "" {
		t.Fatalf("GetTenant = %+v, %v", ten, err)
	}

	// Reopening with the same key neither duplicates the tenant nor the key.
	e.reopen()
	if tenants, _ := e.v.Tenants(); len(tenants) != 1 {
		t.Fatalf("%d tenants after reopen", len(tenants))
	}
	if n := len(listApps(t, e.v, e.mgmt)); n != 1 {
		t.Fatalf("%d applications after reopen with the same key", n)
	}

	// Another known key is registered next to the first one.
	e.close()
	v, err := openView(Options{DataDir: e.dir, MasterKey: testMaster, ManagementKey: "key_SecondKnownKey"}, Settings{})
	if err != nil {
		t.Fatal(err)
	}
	e.v, e.closed = v, false
	p2 := e.auth("key_SecondKnownKey")
	if p2.TenantID != tenants[0].ID || !p2.Has("application:create") {
		t.Fatalf("second key principal %+v", p2)
	}
	e.auth(testMgmtKey)
	if n := len(listApps(t, e.v, p2)); n != 2 {
		t.Fatalf("%d applications after a second known key", n)
	}
}

func TestBootstrapGeneratesKeys(t *testing.T) {
	dir := t.TempDir()
	v, err := openView(Options{DataDir: dir}, Settings{})
	if err != nil {
		t.Fatal(err)
	}
	ev := v.Events
	if !ev.MasterKeyGenerated || ev.MasterKeyPath != filepath.Join(dir, "master.key") {
		t.Fatalf("events %+v", ev)
	}
	if !strings.HasPrefix(ev.BootstrapKey, "key_") || ev.BootstrapKeyFile != filepath.Join(dir, bootstrapFile) {
		t.Fatalf("bootstrap key events %+v", ev)
	}
	for _, f := range []string{ev.MasterKeyPath, ev.BootstrapKeyFile} {
		st, err := os.Stat(f)
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("%s: mode %v, err %v", f, st.Mode().Perm(), err)
		}
	}
	b, _ := os.ReadFile(ev.BootstrapKeyFile)
	if strings.TrimSpace(string(b)) != ev.BootstrapKey {
		t.Fatal("management.key does not hold the bootstrap key")
	}
	if _, err := v.Authenticate(ev.BootstrapKey); err != nil {
		t.Fatalf("bootstrap key: %v", err)
	}
	// The stored key record holds only the hash.
	v.Store().Scan(nil, nil, func(k, val []byte) bool {
		if bytes.Contains(k, []byte(ev.BootstrapKey)) || bytes.Contains(val, []byte(ev.BootstrapKey)) {
			t.Errorf("bootstrap key stored in clear under %q", k)
		}
		return true
	})
	v.Close()

	v, err = openView(Options{DataDir: dir}, Settings{})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if v.Events.MasterKeyGenerated || v.Events.BootstrapKey != "" {
		t.Fatalf("second start generated keys again: %+v", v.Events)
	}
	if _, err := v.Authenticate(ev.BootstrapKey); err != nil {
		t.Fatalf("bootstrap key after restart: %v", err)
	}
}

func TestWrongMasterKey(t *testing.T) {
	dir := t.TempDir()
	v, err := Open(Options{DataDir: dir, MasterKey: testMaster})
	if err != nil {
		t.Fatal(err)
	}
	v.Close()
	other := bytes.Repeat([]byte{0x43}, 32)
	if v, err := Open(Options{DataDir: dir, MasterKey: other}); !errors.Is(err, ErrWrongMasterKey) {
		if v != nil {
			v.Close()
		}
		t.Fatalf("Open with another master key: %v, want ErrWrongMasterKey", err)
	}
	// The store was released: the right key still opens it.
	v, err = Open(Options{DataDir: dir, MasterKey: testMaster})
	if err != nil {
		t.Fatalf("reopen with the right key: %v", err)
	}
	v.Close()
	// A master key file with another key fails the same way.
	kf := filepath.Join(t.TempDir(), "other.key")
	if _, _, err := crypto.LoadOrCreateMasterKeyFile(kf); err != nil {
		t.Fatal(err)
	}
	if v, err := Open(Options{DataDir: dir, MasterKeyFile: kf}); !errors.Is(err, ErrWrongMasterKey) {
		if v != nil {
			v.Close()
		}
		t.Fatalf("Open with another master key file: %v", err)
	}
	if _, err := Open(Options{DataDir: dir, MasterKey: []byte("short")}); err == nil {
		t.Fatal("a 5-byte master key was accepted")
	}
	if _, err := Open(Options{}); err == nil {
		t.Fatal("Open without a data dir succeeded")
	}
}

func TestMergePatch(t *testing.T) {
	cases := []struct{ target, patch, want string }{
		{`{"a":"b"}`, `{"a":"c"}`, `{"a":"c"}`},
		{`{"a":"b"}`, `{"b":"c"}`, `{"a":"b","b":"c"}`},
		{`{"a":"b"}`, `{"a":null}`, `{}`},
		{`{"a":"b","b":"c"}`, `{"a":null}`, `{"b":"c"}`},
		{`{"a":["b"]}`, `{"a":"c"}`, `{"a":"c"}`},
		{`{"a":"c"}`, `{"a":["b"]}`, `{"a":["b"]}`},
		{`{"a":{"b":"c"}}`, `{"a":{"b":"d","c":null}}`, `{"a":{"b":"d"}}`},
		{`{"a":[{"b":"c"}]}`, `{"a":[1]}`, `{"a":[1]}`},
		{`["a","b"]`, `["c","d"]`, `["c","d"]`},
		{`{"a":"b"}`, `["c"]`, `["c"]`},
		{`{"e":null}`, `{"a":1}`, `{"e":null,"a":1}`},
		{`[1,2]`, `{"a":"b","c":null}`, `{"a":"b"}`},
		{`{}`, `{"a":{"bb":{"ccc":null}}}`, `{"a":{"bb":{}}}`},
		{`"x"`, `"y"`, `"y"`},
	}
	for _, c := range cases {
		got, err := kernel.MergeRaw(raw(c.target), raw(c.patch), "data")
		if err != nil || !jsonEq(string(got), c.want) {
			t.Errorf("merge(%s, %s) = %s, %v; want %s", c.target, c.patch, got, err, c.want)
		}
	}
}
