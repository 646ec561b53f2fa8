package vault

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/strongroom/strongroom/vault/crypto"
	"github.com/strongroom/strongroom/vault/internal/kernel"
	"github.com/strongroom/strongroom/vault/keywrap"
	"github.com/strongroom/strongroom/vault/store"
)

func writeKeyFile(t *testing.T, dir, name string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(hex.EncodeToString(crypto.NewKey())), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func openWith(t *testing.T, dir string, key string, previous ...string) (*Vault, error) {
	t.Helper()
	return openView(Options{DataDir: dir, ManagementKey: testMgmtKey,
		KeyWrapper: &keywrap.Local{KeyFile: key, PreviousKeyFiles: previous}}, Settings{})
}

// TestMasterKeyRotationInterruptedAndResumed: a rotation stopped half way
// (as by kill -9) leaves every token readable with both keys; running it
// again finishes it; then the new key alone opens the directory and the
// old key alone is refused with the version it lacks.
func TestMasterKeyRotationInterruptedAndResumed(t *testing.T) {
	dir, keys := t.TempDir(), t.TempDir()
	oldKey, newKey := writeKeyFile(t, keys, "old.key"), writeKeyFile(t, keys, "new.key")
	v, err := openWith(t, dir, oldKey)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, dir: dir, v: v}
	e.mgmt = e.auth(testMgmtKey)
	w := e.writer()
	tok := mustCreate(t, v, w, tokReq("card_number", `"4242424242424242"`))
	var tenants []string
	for i := 0; i < 3*rewrapBatch/2; i++ {
		tn, _, err := v.CreateTenant("t", TenantProduction)
		if err != nil {
			t.Fatal(err)
		}
		tenants = append(tenants, tn.ID)
	}
	if _, err := v.WebhookSigner(); err != nil {
		t.Fatal(err)
	}

	// Start, re-wrap one batch, stop.
	k, err := v.Keys.Wrapper().Load(newKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.startRotation(k); err != nil {
		t.Fatal(err)
	}
	if n, err := v.rewrapTenants(tenants[:rewrapBatch], 2); err != nil || n != rewrapBatch {
		t.Fatalf("rewrap one batch: %d, %v", n, err)
	}
	v.Close()

	if _, err := openWith(t, dir, oldKey); err == nil || !strings.Contains(err.Error(), "needs master key version 2") {
		t.Fatalf("open mid-rotation with the old key only: %v", err)
	}
	if v, err = openWith(t, dir, newKey, oldKey); err != nil {
		t.Fatalf("open mid-rotation with both keys: %v", err)
	}
	e.v = v
	st, err := v.MasterKeyStatus()
	if err != nil || !st.Rotating || st.Current != 2 || st.Rewrapped != rewrapBatch {
		t.Fatalf("status mid-rotation: %+v, %v", st, err)
	}
	if got, err := v.GetToken(w, tok.ID); err != nil || dataOf(got) != `"4242424242424242"` {
		t.Fatalf("token mid-rotation: %v %v", dataOf(got), err)
	}
	if _, err := v.RotateMasterKey(writeKeyFile(t, keys, "third.key")); err == nil || !strings.Contains(err.Error(), "unfinished") {
		t.Fatalf("a third key while the rotation is unfinished: %v", err)
	}
	if st, err = v.RotateMasterKey(newKey); err != nil || st.Rotating || st.Rewrapped != st.TenantKeys {
		t.Fatalf("resumed rotation: %+v, %v", st, err)
	}
	v.Close()

	_, err = openWith(t, dir, oldKey)
	if err == nil || !strings.Contains(err.Error(), "needs master key version 2") {
		t.Fatalf("open with the retired key: %v", err)
	}
	if v, err = openWith(t, dir, newKey); err != nil {
		t.Fatalf("open with the new key only: %v", err)
	}
	defer v.Close()
	e.v = v
	if got, err := v.GetToken(w, tok.ID); err != nil || dataOf(got) != `"4242424242424242"` {
		t.Fatalf("token after the rotation: %v %v", dataOf(got), err)
	}
	if _, err := v.WebhookSigner(); err != nil {
		t.Fatalf("webhook signing key after the rotation: %v", err)
	}
	if err := v.Store().Scan(store.Prefix("tkey"), nil, func(_, val []byte) bool {
		if m := kernel.ParseTenantKeyRecord(val).Master; m != 2 {
			t.Errorf("a tenant key is wrapped under version %d", m)
		}
		return true
	}); err != nil {
		t.Fatal(err)
	}
}

// TestLegacyDataDirOpensUnchanged: a directory whose tenant keys are raw
// version-1 seals (before versions) opens with its key and rotates.
func TestLegacyDataDirRotates(t *testing.T) {
	e := newEnv(t)
	w := e.writer()
	tok := mustCreate(t, e.v, w, tokReq("social_security_number", `"123-45-6789"`))
	keys, err := e.v.TenantKey(w.TenantID)
	if err != nil {
		t.Fatal(err)
	}
	b := e.v.Store().NewBatch()
	b.Set(store.Key("tkey", w.TenantID), crypto.Seal(testMaster, keys.Root(), kernel.TenantKeyAD(w.TenantID)))
	b.Delete([]byte(kernel.MasterRegistryKey))
	b.Set([]byte(kernel.MasterCheckKey), crypto.Seal(testMaster, kernel.MasterCheckPlain, []byte(kernel.MasterCheckKey)))
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	b.Close()
	e.reopen()
	if got, err := e.v.GetToken(w, tok.ID); err != nil || dataOf(got) != `"123-45-6789"` {
		t.Fatalf("legacy token: %v %v", dataOf(got), err)
	}
	newKey := writeKeyFile(t, t.TempDir(), "new.key")
	if st, err := e.v.RotateMasterKey(newKey); err != nil || st.Current != 2 || st.Rewrapped != st.TenantKeys {
		t.Fatalf("rotate a legacy directory: %+v %v", st, err)
	}
	e.close()
	v, err := openWith(t, e.dir, newKey)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if got, err := v.GetToken(w, tok.ID); err != nil || dataOf(got) != `"123-45-6789"` {
		t.Fatalf("legacy token after rotation: %v %v", dataOf(got), err)
	}
}

// TestMasterKeyRotationWithConcurrentTenants: tenants created while the
// rotation runs are wrapped under the new version or re-wrapped by a
// later pass, so the new key alone opens the directory afterwards.
func TestMasterKeyRotationWithConcurrentTenants(t *testing.T) {
	dir, keys := t.TempDir(), t.TempDir()
	oldKey, newKey := writeKeyFile(t, keys, "old.key"), writeKeyFile(t, keys, "new.key")
	v, err := openWith(t, dir, oldKey)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 * rewrapBatch {
		if _, _, err := v.CreateTenant("before", TenantProduction); err != nil {
			t.Fatal(err)
		}
	}
	stop := make(chan struct{})
	created := make(chan int)
	go func() {
		n := 0
		for {
			select {
			case <-stop:
				created <- n
				return
			default:
			}
			if _, _, err := v.CreateTenant("during", TenantProduction); err != nil {
				t.Error(err)
			}
			n++
		}
	}()
	st, err := v.RotateMasterKey(newKey)
	close(stop)
	n := <-created
	if err != nil || st.Rotating {
		t.Fatalf("rotate: %+v %v", st, err)
	}
	v.Close()
	t.Logf("%d tenants created during the rotation", n)
	if v, err = openWith(t, dir, newKey); err != nil {
		t.Fatalf("open with the new key only: %v", err)
	}
	defer v.Close()
	tenants, err := v.Tenants()
	if err != nil {
		t.Fatal(err)
	}
	for _, tn := range tenants {
		if _, err := v.TenantKey(tn.ID); err != nil {
			t.Fatalf("tenant %s: %v", tn.ID, err)
		}
	}
}
