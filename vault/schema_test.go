package vault

import "testing"

// Two collections sharing a prefix would read each other's records and be
// deleted together.
func TestSchemaPrefixesAreDistinct(t *testing.T) {
	global := []string{tenantCollection, tenantKeyCollection, keyHashIndex, sessionKeyIndex, projectTenantIndex, publicKeyIndex, legacyProjectPointer,
		proxyByKeyIndex, expiryIndex, cvcExpiryIndex, tokenCVCIndex, queuePrefix, finalDeliveryCollection, retiredLogIndex, masterCheckKey, signingKeyKey, masterRegistryKey, reencryptJobIndex, "log"}
	seen := map[string]bool{}
	for _, p := range append(append([]string{}, tenantCollections...), global...) {
		if seen[p] {
			t.Errorf("prefix %q is used twice", p)
		}
		seen[p] = true
	}
}
