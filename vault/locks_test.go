package vault

import (
	"sync"
	"testing"

	"github.com/strongroom/strongroom/vault/internal/kernel"
	"github.com/strongroom/strongroom/vault/store"
)

// A parent deleted while a child is being linked under it, or created
// under it, keeps no association: both hold the parent's lock from their
// check on, so each link is written before the delete (which removes it)
// or refused after it.
func TestAssociationsNeverOutliveTheirParent(t *testing.T) {
	e := newEnv(t)
	w := e.writer()
	child := mustCreate(t, e.v, w, tokReq("token", `"child"`))
	for i := range 40 {
		parent := mustCreate(t, e.v, w, tokReq("token", `"parent"`))
		var wg sync.WaitGroup
		wg.Add(3)
		go func() { defer wg.Done(); _ = e.v.DeleteToken(w, parent.ID) }()
		go func() { defer wg.Done(); _ = e.v.AssociateTokens(w, parent.ID, child.ID) }()
		go func() {
			defer wg.Done()
			_, _ = e.v.CreateChildToken(w, parent.ID, tokReq("token", `"born"`))
		}()
		wg.Wait()
		links := 0
		if err := e.v.Store().Scan(store.Prefix(kernel.ChildIndex, w.TenantID, parent.ID), nil, func(_, _ []byte) bool {
			links++
			return true
		}); err != nil {
			t.Fatal(err)
		}
		if links != 0 {
			t.Fatalf("round %d: the deleted parent %s keeps %d associations", i, parent.ID, links)
		}
	}
}
