package kernel

import "sync"

// CacheMap is a cache by id (principals by key hash, tenant keys,
// settings, secrets). A fill is refused when an invalidation ran since the
// reader took its generation (so a record read before a change never
// outlives the change's invalidation), and nothing is served while Fresh
// says the caches cannot be trusted (the root's feedcache.go; nil: always). With a
// Limit, a fill that finds the map past it starts the map anew.
type CacheMap[V any] struct {
	mu  sync.RWMutex
	gen uint64
	m   map[string]V
	// Limit bounds the entries (0: unbounded); Fresh, when set, says
	// whether the cache may be served (set before first use).
	Limit int
	Fresh func() bool
}

// Load returns the cached value of key.
func (c *CacheMap[V]) Load(key string) (V, bool) {
	if c.Fresh != nil && !c.Fresh() {
		var zero V
		return zero, false
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	v, ok := c.m[key]
	return v, ok
}

// Generation is taken before reading what a fill will store.
func (c *CacheMap[V]) Generation() uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.gen
}

// Get returns the cached value of key, or fills it: fill reads what is
// stored, and its value is cached unless an invalidation ran meanwhile
// (Generation, StoreIf). A fill's error is returned and nothing cached.
func (c *CacheMap[V]) Get(key string, fill func() (V, error)) (V, error) {
	if v, ok := c.Load(key); ok {
		return v, nil
	}
	gen := c.Generation()
	v, err := fill()
	if err != nil {
		return v, err
	}
	c.StoreIf(key, v, gen)
	return v, nil
}

// StoreIf caches v unless an invalidation ran since gen.
func (c *CacheMap[V]) StoreIf(key string, v V, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	if c.m == nil || (c.Limit > 0 && len(c.m) > c.Limit) {
		c.m = map[string]V{}
	}
	c.m[key] = v
}

// Delete drops key after a change to it.
func (c *CacheMap[V]) Delete(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	delete(c.m, key)
}

// Clear drops everything.
func (c *CacheMap[V]) Clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.m = nil
}
