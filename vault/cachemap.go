package vault

import "sync"

// cacheMap is a cache by id (tenant keys, settings, secrets). A fill is
// refused when an invalidation ran since the reader took its generation
// (so a record read before a change never outlives the change's
// invalidation), and nothing is served while fresh says the caches
// cannot be trusted (feedcache.go; nil: always).
type cacheMap struct {
	mu    sync.RWMutex
	gen   uint64
	m     map[string]any
	fresh func() bool
}

// Load returns the cached value of key.
func (c *cacheMap) Load(key string) (any, bool) {
	if c.fresh != nil && !c.fresh() {
		return nil, false
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	v, ok := c.m[key]
	return v, ok
}

// Generation is taken before reading what a fill will store.
func (c *cacheMap) Generation() uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.gen
}

// StoreIf caches v unless an invalidation ran since gen.
func (c *cacheMap) StoreIf(key string, v any, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	if c.m == nil {
		c.m = map[string]any{}
	}
	c.m[key] = v
}

// Delete drops key after a change to it.
func (c *cacheMap) Delete(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	delete(c.m, key)
}

// Clear drops everything.
func (c *cacheMap) Clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.m = nil
}
