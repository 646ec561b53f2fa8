package proxies

import "encoding/json"

// KeyIndexEntry is the proxy key index entry of a stored proxy record, or
// nil: a deleted tenant's records go by prefix (kernel.TenantCollections),
// this global entry with them.
func KeyIndexEntry(val []byte) []byte {
	var rec proxyRecord
	if json.Unmarshal(val, &rec) != nil || rec.Key == "" {
		return nil
	}
	return proxyKeyIndex(rec.Key)
}
