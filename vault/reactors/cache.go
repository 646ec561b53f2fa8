package reactors

import (
	"github.com/strongroom/strongroom/vault/internal/kernel"
)

// Caches are the domain's pooled state, kept in the vault's Core across
// config reloads: what every react call would otherwise read and decode
// from the store again.
//
// Records are kept as stored: a reactor's configuration stays sealed in
// the cache and is opened for each call, so no plaintext is held between
// calls (as with cached token records). A local write forgets the entry
// after its commit; other nodes' writes reach the cache through the
// change feed, and on a shared store nothing is served past the freshness
// bound (the root's feedcache.go). Entries are read only by the react
// path: updates and deletes read the store under the record's lock.
type Caches struct {
	// Reactors holds decoded reactor records by CacheKey.
	Reactors kernel.CacheMap[*reactorRecord]
	// Formulas holds decoded formulas by CacheKey.
	Formulas kernel.CacheMap[*Formula]
}

// maxCached bounds each cache; a fill past it starts the cache anew.
const maxCached = 4096

// NewCaches returns empty caches.
func NewCaches() *Caches {
	c := &Caches{}
	c.Reactors.Limit, c.Formulas.Limit = maxCached, maxCached
	return c
}

// CacheKey names a tenant's reactor or formula in the caches (the feed
// gives the tenant and id of a changed record).
func CacheKey(tenantID, id string) string { return tenantID + "\x00" + id }

// Clear drops everything cached (a tenant deleted, the feed lost).
func (c *Caches) Clear() {
	c.Reactors.Clear()
	c.Formulas.Clear()
}

// invocable returns the reactor to invoke, from the cache when it holds
// it, with its configuration opened for this call only.
func (v *Service) invocable(tenantID, id string) (*reactorRecord, error) {
	cached, err := v.Reactors.Get(CacheKey(tenantID, id), func() (*reactorRecord, error) { return v.readReactor(tenantID, id) })
	if err != nil {
		return nil, err
	}
	r := *cached // the cached record is shared: never written
	if err := v.openReactorConfig(tenantID, id, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// invocableFormula returns a formula for the react path, from the cache
// when it holds it. The formula is shared: never written.
func (v *Service) invocableFormula(tenantID, id string) (*Formula, error) {
	return v.Formulas.Get(CacheKey(tenantID, id), func() (*Formula, error) { return v.formula(tenantID, id) })
}

// forgetReactor drops a reactor from the cache after a change to it.
func (v *Service) forgetReactor(tenantID, id string) { v.Reactors.Delete(CacheKey(tenantID, id)) }

// forgetFormula drops a formula from the cache after a change to it.
func (v *Service) forgetFormula(tenantID, id string) { v.Formulas.Delete(CacheKey(tenantID, id)) }
