// Package proxies is the proxies domain: pre-configured proxies (CRUD,
// their keys and transforms) and Invoke, the whole /proxy use case: who
// calls (proxy key or principal, proxy:invoke, the tenant's policy),
// detokenizing the request's headers, query and body, the transforms, the
// forwarding through the egress policy and the audit. It builds on the
// reactors domain (transforms) and, below it, tokens, tenants and the
// kernel.
package proxies

import "github.com/strongroom/strongroom/vault/reactors"

// Service is one config's proxies domain over its reactors domain.
type Service struct {
	*reactors.Service
}
