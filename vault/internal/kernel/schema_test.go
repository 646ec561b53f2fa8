package kernel

import "testing"

// Two collections sharing a prefix would read each other's records and be
// deleted together.
func TestSchemaPrefixesAreDistinct(t *testing.T) {
	global := []string{TenantCollection, TenantKeyCollection, KeyHashIndex, SessionKeyIndex, ProjectTenantIndex, PublicKeyIndex, LegacyProjectPointer,
		ProxyByKeyIndex, ExpiryIndex, CvcExpiryIndex, TokenCVCIndex, QueuePrefix, FinalDeliveryCollection, RetiredLogIndex, MasterCheckKey, SigningKeyKey, MasterRegistryKey, ReencryptJobIndex, DeletedTenantIndex, "log"}
	seen := map[string]bool{}
	for _, p := range append(append([]string{}, TenantCollections...), global...) {
		if seen[p] {
			t.Errorf("prefix %q is used twice", p)
		}
		seen[p] = true
	}
}
