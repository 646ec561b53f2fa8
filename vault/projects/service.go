// Package projects is the projects domain: projects and their public keys
// (the index from a key to its one tenant), callers authenticated by a JWT
// a project's key signed, and payment methods (cards held for a project's
// customers, with their cvc kept for a bounded time). It builds on the
// tokens domain and, below it, tenants and the kernel.
package projects

import "github.com/strongroom/strongroom/vault/tokens"

// Caches are the domain's pooled state, kept in the vault's Core across
// config reloads.
type Caches struct {
	// Projects holds each tenant's project key sets (projects.go).
	Projects projectState
}

// Service is one config's projects domain over its tokens domain.
type Service struct {
	*tokens.Service
	*Caches
}
