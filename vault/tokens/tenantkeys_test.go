package tokens

import (
	"fmt"
	"testing"
)

// TestTenantKeyRotationAndReencryption: after a rotation new tokens use
// the new version and old ones still read; a re-encryption stopped after
// one batch resumes from its cursor after a reopen and moves every token.
func TestTenantKeyRotationAndReencryption(t *testing.T) {
	e := newEnv(t)
	w := e.writer()
	want := map[string]string{}
	for i := range 7 {
		tok := e.create(w, "token", fmt.Sprintf(`"old-%d"`, i))
		want[tok.ID] = fmt.Sprintf(`"old-%d"`, i)
	}
	st, err := e.v.RotateTenantKey(w.TenantID)
	if err != nil || st.Current != 2 || len(st.Versions) != 2 {
		t.Fatalf("rotate: %+v %v", st, err)
	}
	fresh := e.create(w, "token", `"new"`)
	want[fresh.ID] = `"new"`
	if r, _ := e.v.loadToken(w.TenantID, fresh.ID); r.Data.Version != 2 {
		t.Errorf("a token created after the rotation is under version %d", r.Data.Version)
	}
	ks, _ := e.v.TenantKey(w.TenantID)
	p := ReencryptProgress{Version: 2}
	if err := e.v.reencryptBatch(w.TenantID, ks, &p, 3); err != nil || p.Finished || p.Cursor == nil {
		t.Fatalf("one batch: %+v %v", p, err)
	}
	// The first batch may hold the new token; what it resealed is stored.
	e.reopen()
	st, _ = e.v.TenantKeyStatus(w.TenantID)
	if st.Reencrypt == nil || st.Reencrypt.Finished || st.Reencrypt.Resealed != p.Resealed {
		t.Fatalf("stored progress after a reopen: %+v", st.Reencrypt)
	}
	if st, err = e.v.ReencryptTenant(w.TenantID, 3); err != nil || !st.Reencrypt.Finished || st.Reencrypt.Resealed != 7 {
		t.Fatalf("resumed job: %+v %v", st, err)
	}
	for id, data := range want {
		got, err := e.v.GetToken(w, id)
		if err != nil || dataOf(got) != data {
			t.Errorf("token %s: %s %v, want %s", id, dataOf(got), err, data)
		}
		if r, _ := e.v.loadToken(w.TenantID, id); r.Data.Version != 2 {
			t.Errorf("token %s still under tenant key version %d", id, r.Data.Version)
		}
	}
	// A second rotation without re-encryption leaves version 2 readable.
	if _, err := e.v.RotateTenantKey(w.TenantID); err != nil {
		t.Fatal(err)
	}
	e.reopen()
	if got, err := e.v.GetToken(w, fresh.ID); err != nil || dataOf(got) != `"new"` {
		t.Errorf("version-2 token after a rotation to 3: %s %v", dataOf(got), err)
	}
}
