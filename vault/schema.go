package vault

import "github.com/strongroom/strongroom/vault/store"

// The store's key schema: every key prefix the vault writes, in one place.
// A key is store.Key(prefix, parts...): the parts joined by a 0 byte. The
// audit package owns the "log" prefix (tenant, time, random → entry).
//
// Prefixes are part of the data on disk: renaming one loses its data.

// Per-tenant collections and indexes: the tenant id is the first part, so
// deleting a tenant deletes every key under store.Prefix(c, tenant) for c
// in tenantCollections.
const (
	appCollection           = "app"     // tenant, app id → Application
	appKeyCollection        = "akey"    // tenant, app id, key id → appKey (hash only)
	tokenCollection         = "tok"     // tenant, id → tokenRecord
	orderIndex              = "tord"    // tenant, order → id: creation order for lists
	fingerprintIndex        = "tfp"     // tenant, type, fingerprint, id: deduplication
	searchIndex             = "tsi"     // tenant, mac, id: data search
	childIndex              = "tch"     // tenant, parent, child: associations
	paymentMethodCollection = "pm"      // tenant, project, id → paymentMethodRecord
	paymentMethodSubIndex   = "pmsub"   // tenant, project, entity, order → id: a subject's list
	idemCollection          = "idem"    // tenant, app, request hash → idemRecord
	formulaCollection       = "formula" // tenant, id → Formula
	reactorCollection       = "reactor" // tenant, id → Reactor (sealed configuration)
	sessionCollection       = "sess"    // tenant, id → sessionRecord
	sessionNonceIndex       = "snonce"  // tenant, nonce → id (until authorized)
	projectCollection       = "proj"    // tenant, project id → Project
	projectKeyIndex         = "pkey"    // tenant, project id, kid → projectKeyRecord
	tokenIntentCollection   = "tint"    // tenant, id → tokenIntentRecord
	webhookCollection       = "whook"   // tenant, id → Webhook
	deliveryCollection      = "whd"     // tenant, webhook, delivery id → Delivery
	proxyCollection         = "proxy"   // tenant, id → proxyRecord (sealed configuration)
	clientKeyCollection     = "ckey"    // tenant, id → client encryption key
)

// tenantCollections are the prefixes deleted with a tenant (tenantPrefixes).
var tenantCollections = []string{
	appCollection, appKeyCollection, tokenCollection, orderIndex, fingerprintIndex, searchIndex, childIndex,
	paymentMethodCollection, paymentMethodSubIndex, idemCollection, formulaCollection, reactorCollection,
	sessionCollection, sessionNonceIndex, projectCollection, projectKeyIndex, tokenIntentCollection,
	webhookCollection, deliveryCollection, proxyCollection, clientKeyCollection,
}

// Global records and indexes: the first part is not a tenant id. Tenant
// deletion removes its own entries from them explicitly (deleteTenant).
const (
	tenantCollection        = "tenant"   // tenant id → Tenant
	tenantKeyCollection     = "tkey"     // tenant id → the tenant key, wrapped by the master key
	keyHashIndex            = "keyhash"  // API key hash → appKey: authentication
	sessionKeyIndex         = "sesskey"  // session key hash → sessionRef
	projectTenantIndex      = "projten"  // project id, tenant → "": the URL names no tenant (project_index.go)
	publicKeyIndex          = "pkeytp"   // key thumbprint → publicKeyOwner: a public key has one tenant
	proxyByKeyIndex         = "proxykey" // proxy key → proxy reference
	expiryIndex             = "texp"     // expiry order, tenant, id: token purge
	cvcExpiryIndex          = "pmcvc"    // expiry, tenant, project, id: cvc purge
	tokenCVCIndex           = "tcvc"     // due, tenant, id: a card token's cvc purge (token_cvc.go)
	queuePrefix             = "whq"      // due (hex ns), tenant, webhook, delivery id: the delivery queue
	finalDeliveryCollection = "whdf"     // tenant, webhook, delivery id → Delivery of a deleted tenant (webhook_tenant_deleted.go)
	retiredLogIndex         = "logret"   // tenant id → deletion time: a deleted tenant's log kept
	masterCheckKey          = "meta\x00master-check"
	signingKeyKey           = "meta\x00webhook-signing-key"
	masterRegistryKey       = "meta\x00master-keys" // master key versions and their check values (keyring.go)
	reencryptJobIndex       = "tkeyjob"             // tenant id → re-encryption job cursor (tenantkeys.go)

	// legacyProjectPointer (project id → its one tenant) is rewritten as
	// projectTenantIndex at open (upgradeProjectIndex).
	legacyProjectPointer = "projid"
)

// tenantPrefixes lists the key prefixes of every per-tenant collection of
// tenant id.
func tenantPrefixes(id string) [][]byte {
	out := make([][]byte, 0, len(tenantCollections))
	for _, c := range tenantCollections {
		out = append(out, store.Prefix(c, id))
	}
	return out
}

// tenantRecordKey is the store key of a tenant's record; tenantKeyRecordKey
// is the store key of its wrapped encryption key (Core.tenantKey).
func tenantRecordKey(id string) []byte    { return store.Key(tenantCollection, id) }
func tenantKeyRecordKey(id string) []byte { return store.Key(tenantKeyCollection, id) }
