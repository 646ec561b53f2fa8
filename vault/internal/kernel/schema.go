// Package kernel is what every domain of the vault stands on: the store's
// key schema, record helpers (ids, the clock, audit fields, JSON records,
// pagination), the striped locks, conditional claims and retries of a
// read-modify-write, the request limits, the generational caches, and the
// pooled Base (store, locks, read-audit queue, webhook outbox) with each
// config's View of it: the batch+audit commit, emitting webhook events in
// the same batch, metrics, reactor runtime and the background-job lease.
// It imports no domain.
package kernel

import "github.com/strongroom/strongroom/vault/store"

// The store's key schema: every key prefix the vault writes, in one place.
// A key is store.Key(prefix, parts...): the parts joined by a 0 byte. The
// audit package owns the "log" prefix (tenant, time, random → entry).
//
// Prefixes are part of the data on disk: renaming one loses its data.

// Per-tenant collections and indexes: the tenant id is the first part, so
// deleting a tenant deletes every key under store.Prefix(c, tenant) for c
// in TenantCollections.
const (
	AppCollection           = "app"       // tenant, app id → Application
	AppKeyCollection        = "akey"      // tenant, app id, key id → appKey (hash only)
	TokenCollection         = "tok"       // tenant, id → tokenRecord
	OrderIndex              = "tord"      // tenant, order → id: creation order for lists
	FingerprintIndex        = "tfp"       // tenant, type, fingerprint, id: deduplication
	SearchIndex             = "tsi"       // tenant, mac, id: data search
	ChildIndex              = "tch"       // tenant, parent, child: associations
	PaymentMethodCollection = "pm"        // tenant, project, id → paymentMethodRecord
	PaymentMethodSubIndex   = "pmsub"     // tenant, project, entity, order → id: a subject's list
	IdemCollection          = "idem"      // tenant, app, request hash → idemRecord
	FormulaCollection       = "formula"   // tenant, id → Formula
	ReactorCollection       = "reactor"   // tenant, id → Reactor (sealed configuration)
	SessionCollection       = "sess"      // tenant, id → sessionRecord
	SessionNonceIndex       = "snonce"    // tenant, nonce → id (until authorized)
	ProjectCollection       = "proj"      // tenant, project id → Project
	ProjectKeyIndex         = "pkey"      // tenant, project id, kid → projectKeyRecord
	TokenIntentCollection   = "tint"      // tenant, id → tokenIntentRecord
	WebhookCollection       = "whook"     // tenant, id → Webhook
	DeliveryCollection      = "whd"       // tenant, webhook, delivery id → Delivery
	ProxyCollection         = "proxy"     // tenant, id → proxyRecord (sealed configuration)
	ClientKeyCollection     = "ckey"      // tenant, id → client encryption key
	FingerprintVersions     = "fpver"     // tenant, type, fingerprint → version: racing deduplicated creates (ClaimVersion)
	IdemClaims              = "idemclaim" // tenant, app, request hash → deadline: a node running the request (shared store)
)

// TenantCollections are the prefixes deleted with a tenant (TenantPrefixes).
var TenantCollections = []string{
	AppCollection, AppKeyCollection, TokenCollection, OrderIndex, FingerprintIndex, SearchIndex, ChildIndex,
	PaymentMethodCollection, PaymentMethodSubIndex, IdemCollection, FormulaCollection, ReactorCollection,
	SessionCollection, SessionNonceIndex, ProjectCollection, ProjectKeyIndex, TokenIntentCollection,
	WebhookCollection, DeliveryCollection, ProxyCollection, ClientKeyCollection, FingerprintVersions, IdemClaims,
}

// Global records and indexes: the first part is not a tenant id. Tenant
// deletion removes its own entries from them explicitly (deleteTenant).
const (
	TenantCollection        = "tenant"   // tenant id → Tenant
	TenantKeyCollection     = "tkey"     // tenant id → the tenant key, wrapped by the master key
	KeyHashIndex            = "keyhash"  // API key hash → appKey: authentication
	SessionKeyIndex         = "sesskey"  // session key hash → sessionRef
	ProjectTenantIndex      = "projten"  // project id, tenant → "": the URL names no tenant (project_index.go)
	PublicKeyIndex          = "pkeytp"   // key thumbprint → publicKeyOwner: a public key has one tenant
	ProxyByKeyIndex         = "proxykey" // proxy key → proxy reference
	ExpiryIndex             = "texp"     // expiry order, tenant, id: token purge
	CvcExpiryIndex          = "pmcvc"    // expiry, tenant, project, id: cvc purge
	TokenCVCIndex           = "tcvc"     // due, tenant, id: a card token's cvc purge (token_cvc.go)
	QueuePrefix             = "whq"      // due (hex ns), tenant, webhook, delivery id: the delivery queue
	FinalDeliveryCollection = "whdf"     // tenant, webhook, delivery id → Delivery of a deleted tenant (webhook_tenant_deleted.go)
	RetiredLogIndex         = "logret"   // tenant id → deletion time: a deleted tenant's log kept
	MasterCheckKey          = "meta\x00master-check"
	SigningKeyKey           = "meta\x00webhook-signing-key"
	MasterRegistryKey       = "meta\x00master-keys" // master key versions and their check values (keyring.go)
	ReencryptJobIndex       = "tkeyjob"             // tenant id → re-encryption job cursor (tenantkeys.go)
	DeletedTenantIndex      = "tdel"                // tenant id → deletion time (unix ns) until its keys are gone (tenant_purge.go)

	// LegacyProjectPointer (project id → its one tenant) is rewritten as
	// ProjectTenantIndex at open (upgradeProjectIndex).
	LegacyProjectPointer = "projid"
)

// TenantPrefixes lists the key prefixes of every per-tenant collection of
// tenant id.
func TenantPrefixes(id string) [][]byte {
	out := make([][]byte, 0, len(TenantCollections))
	for _, c := range TenantCollections {
		out = append(out, store.Prefix(c, id))
	}
	return out
}

// TenantRecordKey is the store key of a tenant's record; TenantKeyRecordKey
// is the store key of its wrapped encryption key (View.TenantKey).
func TenantRecordKey(id string) []byte    { return store.Key(TenantCollection, id) }
func TenantKeyRecordKey(id string) []byte { return store.Key(TenantKeyCollection, id) }

// AppRecordKey is the store key of an application.
func AppRecordKey(tenantID, appID string) []byte {
	return store.Key(AppCollection, tenantID, appID)
}

// KeyHashKey indexes keys by hash for authentication; global because a key
// names its tenant.
func KeyHashKey(hash string) []byte { return store.Key(KeyHashIndex, hash) }

// FingerprintVersionKey is moved on by every create that found no
// duplicate of a deduplicated value, so racing creates of one value
// cannot both miss each other.
func FingerprintVersionKey(tenantID, typ, fingerprint string) []byte {
	return store.Key(FingerprintVersions, tenantID, typ, fingerprint)
}

// ReencryptJobKey is the store key of a tenant's re-encryption cursor.
func ReencryptJobKey(tenantID string) []byte { return store.Key(ReencryptJobIndex, tenantID) }

// TokenRecordKey is the store key of a token record.
func TokenRecordKey(tenantID, id string) []byte {
	return store.Key(TokenCollection, tenantID, id)
}

// TokenIntentKey is the store key of a token intent.
func TokenIntentKey(tenantID, id string) []byte {
	return store.Key(TokenIntentCollection, tenantID, id)
}
