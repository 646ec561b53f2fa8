// Package tenants is the tenants domain: tenants and their settings,
// applications and their API keys, sessions, and authentication (an API
// key or a session key to its principal). It is the lowest domain: the
// others build on it (they authorise and name applications through it),
// and it builds on the kernel only.
package tenants

import (
	"time"

	"github.com/strongroom/strongroom/vault/access"
	"github.com/strongroom/strongroom/vault/internal/kernel"
)

// Caches are the domain's pooled state, kept in the vault's Core across
// config reloads; the write paths here and the cluster change feed
// invalidate them.
type Caches struct {
	// SettingsCache holds tenant settings by tenant id.
	SettingsCache kernel.CacheMap[map[string]string]
	// AuthCache holds principals by API or session key hash.
	AuthCache kernel.CacheMap[authEntry]
}

// maxCachedPrincipals bounds the principal cache: a flood of distinct keys
// starts it anew rather than growing it.
const maxCachedPrincipals = 100_000

// NewCaches returns empty caches.
func NewCaches() *Caches {
	c := &Caches{}
	c.AuthCache.Limit = maxCachedPrincipals
	return c
}

type authEntry struct {
	principal *access.Principal
	expiresAt time.Time
}

// Service is one config's tenants domain: the kernel view it runs on and
// the pooled caches.
type Service struct {
	*kernel.View
	*Caches
}
