package tenants

import (
	"encoding/json"

	"github.com/strongroom/strongroom/vault/internal/kernel"
	"github.com/strongroom/strongroom/vault/store"
)

// A deleted tenant's records are removed by prefix (kernel.TenantCollections);
// these name the global index entries outside those prefixes that a stored
// application key or session owns, so the purge removes them too.

// KeyIndexEntry is the authentication index entry of a stored application
// key record, or nil.
func KeyIndexEntry(val []byte) []byte {
	var k appKey
	if json.Unmarshal(val, &k) != nil || k.Hash == "" {
		return nil
	}
	return kernel.KeyHashKey(k.Hash)
}

// SessionIndexEntry is the session key index entry of a stored session
// record, or nil.
func SessionIndexEntry(val []byte) []byte {
	var s sessionRecord
	if json.Unmarshal(val, &s) != nil || s.KeyHash == "" {
		return nil
	}
	return store.Key(kernel.SessionKeyIndex, s.KeyHash)
}
