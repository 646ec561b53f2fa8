// Package reactors is the reactors domain: formulas, reactors and their
// invocation (react, atomic react), proxy transforms, and the req.bt
// client reactor code calls back into the vault through. Code runs on the
// view's reactor runtime (isolated worker processes); this package decides
// what a call may see and do. It builds on the tokens domain and, below it,
// tenants and the kernel.
package reactors

import "github.com/strongroom/strongroom/vault/tokens"

// Service is one config's reactors domain over its tokens domain.
type Service struct {
	*tokens.Service
	*Caches
}
