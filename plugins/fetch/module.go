package fetch

import (
	"fmt"
	"strconv"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/strongroom/strongroom/vault/egress"
	"github.com/strongroom/strongroom/vault/reactor"
)

func init() {
	caddy.RegisterModule(&Module{})
}

// CaddyModule returns the Caddy module information: vault.reactor_modules.fetch.
//
//	"reactor_modules": [{"module": "fetch", "timeout": "10s", "max_response_bytes": 1048576}]
func (*Module) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "vault.reactor_modules.fetch",
		New: func() caddy.Module { return new(Module) },
	}
}

// Provision applies the defaults and builds the HTTP client.
func (m *Module) Provision(caddy.Context) error {
	m.setup()
	return nil
}

// Validate checks the configuration.
func (m *Module) Validate() error {
	if m.MaxRedirects != nil && *m.MaxRedirects < 0 {
		return fmt.Errorf("fetch: max_redirects must not be negative")
	}
	if m.Timeout < 0 {
		return fmt.Errorf("fetch: timeout must not be negative")
	}
	return nil
}

// UnmarshalCaddyfile sets up the module from Caddyfile tokens:
//
//	fetch {
//		allow_insecure
//		timeout            <duration>
//		max_response_bytes <bytes>
//		max_request_bytes  <bytes>
//		max_redirects      <n>
//		max_in_flight      <n>
//	}
func (m *Module) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the module name
	if d.NextArg() {
		return d.ArgErr()
	}
	for d.NextBlock(0) {
		switch d.Val() {
		case "allow_insecure":
			m.AllowInsecure = true
		case "timeout":
			if !d.NextArg() {
				return d.ArgErr()
			}
			dur, err := caddy.ParseDuration(d.Val())
			if err != nil {
				return d.Errf("timeout: %v", err)
			}
			m.Timeout = caddy.Duration(dur)
		case "max_response_bytes", "max_request_bytes", "max_redirects", "max_in_flight":
			name := d.Val()
			if !d.NextArg() {
				return d.ArgErr()
			}
			n, err := strconv.ParseInt(d.Val(), 10, 64)
			if err != nil || n < 0 {
				return d.Errf("%s: not a non-negative integer: %q", name, d.Val())
			}
			switch name {
			case "max_response_bytes":
				m.MaxResponseBytes = n
			case "max_request_bytes":
				m.MaxRequestBytes = n
			case "max_redirects":
				r := int(n)
				m.MaxRedirects = &r
			case "max_in_flight":
				m.MaxInFlight = int(n)
			}
		default:
			return d.Errf("unknown subdirective %q", d.Val())
		}
		if d.NextArg() {
			return d.ArgErr()
		}
	}
	return nil
}

// Interface guards
var (
	_ caddy.Module          = (*Module)(nil)
	_ caddy.Provisioner     = (*Module)(nil)
	_ caddy.Validator       = (*Module)(nil)
	_ caddyfile.Unmarshaler = (*Module)(nil)
	_ reactor.Module        = (*Module)(nil)
	_ reactor.GlobalModule  = (*Module)(nil)
	_ reactor.Brokered      = (*Module)(nil)
	_ interface {
		UseEgress(egress.Policy)
	} = (*Module)(nil)
)
