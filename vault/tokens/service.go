// Package tokens is the tokens domain: tokens (create as validate, derive,
// assign an id and authorize; update, children, list and search), atomic
// cards and banks, token intents, client encryption keys, tokenize and
// detokenize with the expression resolver, tenant key rotation with the
// re-encryption of a tenant's tokens, and usage reports. It builds on the
// tenants domain (settings, applications) and the kernel.
package tokens

import (
	"github.com/strongroom/strongroom/vault/internal/kernel"
	"github.com/strongroom/strongroom/vault/tenants"
)

// Caches are the domain's pooled state, kept in the vault's Core across
// config reloads.
type Caches struct {
	// Records holds decoded token records (tokencache.go).
	Records tokenCache
	// SecretsCache holds each tenant's derived keys (data, fingerprint,
	// search index) by tenant id.
	SecretsCache kernel.CacheMap[tenantSecrets]
}

// Service is one config's tokens domain over its tenants domain.
type Service struct {
	*tenants.Service
	*Caches
}
