package tokens

import (
	"encoding/json"

	"github.com/strongroom/strongroom/vault/internal/kernel"
	"github.com/strongroom/strongroom/vault/store"
)

// putTokenRecord writes r's record to b. A create under a generated id
// writes it fresh (store.SetFresh): no node can have read an id that did
// not exist, so on a shared store the create publishes nothing to the
// change feed. It stays a plain Set, not an Insert: an Insert would make
// the batch conditional and cost it its own savepoint in a group commit.
func putTokenRecord(b store.Batch, r *tokenRecord, fresh bool) {
	data, err := json.Marshal(r)
	if err != nil {
		panic(err) // a plain struct: this cannot fail
	}
	if fresh {
		store.SetFresh(b, kernel.TokenRecordKey(r.TenantID, r.ID), data)
		return
	}
	b.Set(kernel.TokenRecordKey(r.TenantID, r.ID), data)
}
