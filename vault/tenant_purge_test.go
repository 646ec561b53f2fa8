package vault

import (
	"errors"
	"strings"
	"testing"

	"github.com/strongroom/strongroom/vault/internal/kernel"

	"github.com/strongroom/strongroom/vault/store"
)

// A tenant deleted with more keys than one purge chunk, whose deletion
// stopped after its first batch (a crash): its keys and sessions stop
// working at once, the sweep finishes the job, and no key or value names
// the tenant afterwards (the audit log aside), global indexes included.
func TestTenantPurgeResumesAndLeavesNoGlobalEntry(t *testing.T) {
	e := newEnv(t)
	_, bApp, err := e.v.CreateTenant("Tenant B", TenantProduction)
	if err != nil {
		t.Fatal(err)
	}
	mgmtB := e.auth(bApp.Key)
	tenantID := mgmtB.TenantID
	pub, _ := e.appIn(mgmtB, "public", []string{"token:create"})
	sess, err := e.v.CreateSession(pub)
	if err != nil {
		t.Fatal(err)
	}
	name, dest := "p", "http://127.0.0.1:9/"
	if _, err := e.v.CreateProxy(mgmtB, ProxyRequest{Name: &name, DestinationURL: &dest}); err != nil {
		t.Fatal(err)
	}
	pid := "project-purge"
	if _, err := e.v.CreateProject(mgmtB, ProjectRequest{ID: &pid}); err != nil {
		t.Fatal(err)
	}
	// Filler past one chunk, written directly: the purge deletes by prefix.
	b := e.v.Store().NewBatch()
	for i := range purgeChunk*2 + 10 {
		b.Set(store.Key(kernel.TokenCollection, tenantID, strings.Repeat("x", 8)+string(rune('a'+i%26))+strings.Repeat("y", i%50)+string(rune(0x100+i))), []byte("{}"))
	}
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	b.Close()

	// The first batch only, as a crash right after it would leave it.
	b = e.v.Store().NewBatch()
	if err := e.v.deleteTenantHead(b, tenantID, kernel.Now()); err != nil {
		t.Fatal(err)
	}
	b.Delete(kernel.TenantRecordKey(tenantID))
	b.Delete(kernel.TenantKeyRecordKey(tenantID))
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	b.Close()
	e.v.flushCaches()
	for _, k := range []string{bApp.Key, sess.SessionKey} {
		if _, err := e.v.Authenticate(k); err == nil {
			t.Fatalf("a key of the deleted tenant authenticates before the purge")
		}
	}
	if _, err := e.v.Store().Get(deletedTenantKey(tenantID)); err != nil {
		t.Fatalf("no tombstone: %v", err)
	}
	if err := e.v.Sweep(); err != nil {
		t.Fatal(err)
	}
	if _, err := e.v.Store().Get(deletedTenantKey(tenantID)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("tombstone left after the sweep: %v", err)
	}
	e.v.Store().Scan(nil, nil, func(k, v []byte) bool {
		if strings.HasPrefix(string(k), "log\x00") || strings.HasPrefix(string(k), "texp\x00") {
			return true
		}
		if strings.Contains(string(k), tenantID) || strings.Contains(string(v), tenantID) {
			t.Errorf("entry of the deleted tenant left: %q = %.80q", k, v)
		}
		return true
	})
}
