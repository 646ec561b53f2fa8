package tokens

import (
	"sync"
)

// tokenCache keeps decoded token records (sealed data and all, never
// plaintext) so hot reads skip the store lookup and the JSON decode.
//
// It stays coherent with writes through per-shard epochs: every change to
// a token invalidates it after its commit, bumping the shard's epoch, and
// a reader caches what it loaded only if the epoch it saw before reading
// the store is unchanged. A reader racing a write therefore never caches
// the old record after the write's invalidation.
//
// On a shared store (cluster mode) other nodes' changes reach it through
// the change feed (feedcache.go).
type tokenCache struct {
	shards [64]tokenShard
}

type tokenShard struct {
	mu      sync.Mutex
	epoch   uint64
	entries map[tokenKey]*tokenRecord
}

// tokenKey names a token in the cache.
type tokenKey struct{ tenantID, id string }

// maxPerShard bounds memory (64 × 2048 records ≈ a few hundred MiB at
// worst); a full shard starts over.
const maxPerShard = 2048

// shard picks a shard by the FNV-1a hash of the token id (within a tenant
// ids are unique, so they spread the tokens well enough alone).
func (c *tokenCache) shard(key tokenKey) *tokenShard {
	h := uint32(2166136261)
	for i := 0; i < len(key.id); i++ {
		h = (h ^ uint32(key.id[i])) * 16777619
	}
	return &c.shards[h%uint32(len(c.shards))]
}

func cacheKey(tenantID, id string) tokenKey { return tokenKey{tenantID, id} }

// get returns a cached record, or the shard epoch to pass to put.
func (c *tokenCache) get(key tokenKey) (*tokenRecord, uint64) {
	s := c.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.entries[key], s.epoch
}

// put caches r if nothing was invalidated in its shard since epoch.
func (c *tokenCache) put(key tokenKey, r *tokenRecord, epoch uint64) {
	s := c.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.epoch != epoch {
		return
	}
	if s.entries == nil || len(s.entries) >= maxPerShard {
		s.entries = make(map[tokenKey]*tokenRecord, 64)
	}
	s.entries[key] = r
}

// invalidate drops a token after a change to it was committed.
func (c *tokenCache) invalidate(key tokenKey) {
	s := c.shard(key)
	s.mu.Lock()
	s.epoch++
	delete(s.entries, key)
	s.mu.Unlock()
}

// Invalidate drops a token another node changed (the change feed).
func (c *tokenCache) Invalidate(tenantID, id string) { c.invalidate(cacheKey(tenantID, id)) }

// Clear drops everything (tenant deletion, a feed gap).
func (c *tokenCache) Clear() {
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		s.epoch++
		s.entries = nil
		s.mu.Unlock()
	}
}

// cachedToken returns the cached record of a token if it may be served,
// with the epoch a fill passes to put. On a shared store that is while the
// node is fresh: another node's write of the token is acknowledged only
// once this node has applied it or stopped being fresh (store.FeedRecord).
func (v *Service) cachedToken(key tokenKey) (*tokenRecord, uint64) {
	r, epoch := v.Records.get(key)
	if r != nil && !v.Fresh() {
		return nil, epoch
	}
	return r, epoch
}
