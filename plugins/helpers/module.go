package helpers

import (
	"github.com/caddyserver/caddy/v2"

	"github.com/strongroom/strongroom/vault/reactor"
)

func init() {
	caddy.RegisterModule(Module{})
}

// CaddyModule returns the Caddy module information: vault.reactor_modules.helpers.
//
//	"reactor_modules": [{"module": "helpers"}]
func (Module) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "vault.reactor_modules.helpers",
		New: func() caddy.Module { return new(Module) },
	}
}

// Interface guards
var (
	_ caddy.Module   = (*Module)(nil)
	_ reactor.Module = (*Module)(nil)
)
