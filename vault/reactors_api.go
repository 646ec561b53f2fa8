package vault

import (
	"github.com/strongroom/strongroom/vault/proxies"
	"github.com/strongroom/strongroom/vault/reactors"
)

// The reactors and proxies domains' types (vault/reactors, vault/proxies),
// under the names callers of the vault use.
type (
	Formula            = reactors.Formula
	FormulaParameter   = reactors.FormulaParameter
	FormulaRequest     = reactors.FormulaRequest
	FormulaSetting     = reactors.FormulaSetting
	Reactor            = reactors.Reactor
	ReactorRequest     = reactors.ReactorRequest
	ReactRequest       = reactors.ReactRequest
	ReactResponse      = reactors.ReactResponse
	AtomicReactRequest = reactors.AtomicReactRequest

	Proxy        = proxies.Proxy
	ProxyRequest = proxies.ProxyRequest
	ProxyCall    = proxies.ProxyCall
	ProxyGateway = proxies.ProxyGateway
	ProxyRoute   = proxies.ProxyRoute
)

// ReactorProblem is the RFC 7807 answer for a failed reactor call.
var ReactorProblem = reactors.ReactorProblem
