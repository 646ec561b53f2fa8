package vault

import (
	"bytes"
	"time"

	"github.com/strongroom/strongroom/vault/internal/kernel"
	"github.com/strongroom/strongroom/vault/reactors"
	"github.com/strongroom/strongroom/vault/store"
)

// Caches on a shared store (cluster mode). Each batch records in the
// store's change feed the keys of cached records it wrote (feedFilter),
// and its commit returns once every other node has applied it
// (applyChanges) or has stopped serving its caches: a node serves them
// only while it has confirmed, within FreshnessBound, that it applied
// every change committed before then; otherwise (feed stalled, database
// unreachable) it reads the store. So a write acknowledged by any node is
// read at once from every node, and a read costs no round trip.

// FreshnessBound is how long a node keeps serving its caches without
// confirming it has every other node's changes (kernel.FreshnessBound).
const FreshnessBound = kernel.FreshnessBound

// feedRetention is how long feed rows are kept (pruned on the sweep's
// lease holder): far beyond FreshnessBound, since a node that stayed
// behind longer drops its caches anyway.
const feedRetention = time.Minute

// followFeed starts applying the store's feed (none on a store of its own).
func (c *Core) followFeed() {
	f := store.FeedOf(c.base.Store())
	if f == nil {
		return
	}
	c.base.Follow(f)
	c.tenantCaches.AuthCache.Fresh = c.base.Fresh
	c.base.Keys.Tenant.Fresh = c.base.Fresh
	c.tenantCaches.SettingsCache.Fresh = c.base.Fresh
	c.tokenCaches.SecretsCache.Fresh = c.base.Fresh
	c.reactorCaches.Reactors.Fresh = c.base.Fresh
	c.reactorCaches.Formulas.Fresh = c.base.Fresh
	f.Follow(feedFilter, c.applyChanges)
}

// principalCollections are the records that say who may do what (and
// where events go): every write of them is recorded, creations too.
var principalCollections = map[string]bool{
	kernel.AppCollection: true, kernel.AppKeyCollection: true, kernel.KeyHashIndex: true, kernel.SessionCollection: true,
	kernel.SessionKeyIndex: true, kernel.TenantCollection: true, kernel.TenantKeyCollection: true, kernel.ProjectCollection: true,
	kernel.ProjectKeyIndex: true, kernel.ProjectTenantIndex: true, kernel.PublicKeyIndex: true, kernel.WebhookCollection: true,
}

// feedFilter is what a batch records: keys of cached records, by name
// only. A token claimed by Insert was absent, so no node caches it: token
// creates record nothing, and the hot write path neither writes feed rows
// nor waits for the other nodes.
func feedFilter(key []byte, created bool) store.FeedClass {
	coll, _, _ := bytes.Cut(key, []byte{0})
	switch {
	case principalCollections[string(coll)]:
		return store.FeedRecord
	case string(coll) == kernel.TokenCollection && !created:
		return store.FeedRecord
	case (string(coll) == kernel.ReactorCollection || string(coll) == kernel.FormulaCollection) && !created:
		return store.FeedRecord
	}
	return store.FeedSkip
}

// applyChanges invalidates what other nodes changed (all: everything).
func (c *Core) applyChanges(changes []store.Change, all bool) {
	if all {
		c.flushCaches()
		return
	}
	for _, ch := range changes {
		c.applyChange(ch)
	}
}

func (c *Core) applyChange(ch store.Change) {
	parts := bytes.Split(ch.Key, []byte{0})
	// id is the record's second part; "" for a prefix or a malformed key,
	// which drops the whole cache concerned.
	id := ""
	if len(parts) >= 2 && !ch.Prefix {
		id = string(parts[1])
	}
	switch coll := string(parts[0]); coll {
	case kernel.TokenCollection:
		if len(parts) == 3 && !ch.Prefix {
			c.tokenCaches.Records.Invalidate(id, string(parts[2]))
		} else {
			c.tokenCaches.Records.Clear()
		}
	case kernel.ReactorCollection:
		forgetRecord(&c.reactorCaches.Reactors, parts, ch.Prefix)
	case kernel.FormulaCollection:
		forgetRecord(&c.reactorCaches.Formulas, parts, ch.Prefix)
	case kernel.TenantCollection:
		c.tenantCaches.AuthCache.Clear()
		forget(&c.tenantCaches.SettingsCache, id)
	case kernel.TenantKeyCollection:
		forget(&c.base.Keys.Tenant, id)
		forget(&c.tokenCaches.SecretsCache, id)
	case kernel.ProjectCollection, kernel.ProjectKeyIndex, kernel.ProjectTenantIndex, kernel.PublicKeyIndex:
		c.projectCaches.Projects.Invalidate()
	case kernel.WebhookCollection:
		if id != "" {
			c.base.Outbox.Invalidate(id)
		} else {
			c.base.Outbox.InvalidateAll()
		}
	default: // applications, their keys, sessions: principals
		c.tenantCaches.AuthCache.Clear()
	}
}

func forget[V any](m *kernel.CacheMap[V], id string) {
	if id == "" {
		m.Clear()
		return
	}
	m.Delete(id)
}

// forgetRecord drops the record of a tenant's key (collection, tenant,
// id) from m, which caches by reactors.CacheKey; a prefix or a malformed
// key drops everything.
func forgetRecord[V any](m *kernel.CacheMap[V], parts [][]byte, prefix bool) {
	if len(parts) != 3 || prefix {
		m.Clear()
		return
	}
	m.Delete(reactors.CacheKey(string(parts[1]), string(parts[2])))
}

// pruneFeed drops old feed rows, fenced by the sweep's lease.
func (v *Vault) pruneFeed() error {
	if v.Feed() == nil {
		return nil
	}
	return v.Feed().Prune(v.Fence, feedRetention)
}
