package projects

import (
	"encoding/json"
)

// A deleted tenant's records are removed by prefix (kernel.TenantCollections);
// these name the global index entries outside those prefixes that a project
// or a stored project key owns, so the purge removes them too.

// ProjectIndexEntry is the entry naming tenantID as an owner of project id
// (a project id is global: a JWT names it before its tenant is known).
func ProjectIndexEntry(id, tenantID string) []byte { return projectTenantKey(id, tenantID) }

// KeyIndexEntry is the public key index entry of a stored project key
// record, or nil.
func KeyIndexEntry(val []byte) []byte {
	var r projectKeyRecord
	if json.Unmarshal(val, &r) != nil || r.Thumbprint == "" {
		return nil
	}
	return publicKeyKey(r.Thumbprint)
}
