package caddymodules

import (
	"strconv"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func init() {
	httpcaddyfile.RegisterGlobalOption("vault", parseGlobalVault)
	httpcaddyfile.RegisterHandlerDirective("vault_auth", parseHandler[Auth])
	httpcaddyfile.RegisterHandlerDirective("vault_api", parseHandler[API])
	httpcaddyfile.RegisterDirectiveOrder("vault_auth", httpcaddyfile.After, "basic_auth")
	httpcaddyfile.RegisterDirectiveOrder("vault_api", httpcaddyfile.Before, "file_server")
}

// parseGlobalVault parses the global option:
//
//	vault {
//		data_dir        <path>
//		master_key_file <path>
//		management_key  {env.NAME}|{file./path}   # never the key itself
//		max_body_size   <bytes>
//		allow_insecure_destinations [true|false]
//		proxy_timeout   <duration>
//		jwt_leeway      <duration>|off
//		cvc_retention   <duration>|off
//		jwt_max_lifetime <duration>|off
//		rate_limit      { tokenize|read|proxy|react <n>/s|<n>/m ... }
//		cors            { origins <origin>... }
//		metrics         on|off
//		audit_retention <duration>|off
//		reactor { ... }
//		webhooks { ... }  (webhooks.go)
//		storage pebble|postgres ...  (storage.go)
//	}
func parseGlobalVault(d *caddyfile.Dispenser, _ any) (any, error) {
	app := new(App)
	if err := app.UnmarshalCaddyfile(d); err != nil {
		return nil, err
	}
	return httpcaddyfile.App{Name: "vault", Value: caddyconfig.JSON(app, nil)}, nil
}

// UnmarshalCaddyfile sets up the app from Caddyfile tokens.
func (a *App) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // option name
	if d.NextArg() {
		return d.ArgErr()
	}
	for d.NextBlock(0) {
		switch d.Val() {
		case "data_dir":
			if !d.AllArgs(&a.DataDir) {
				return d.ArgErr()
			}
		case "master_key_file":
			if !d.AllArgs(&a.MasterKeyFile) {
				return d.ArgErr()
			}
		case "management_key":
			if !d.AllArgs(&a.ManagementKey) {
				return d.ArgErr()
			}
			if !isPlaceholder(a.ManagementKey) {
				return d.Err(errLiteralSecret.Error())
			}
		case "max_body_size":
			var s string
			if !d.AllArgs(&s) {
				return d.ArgErr()
			}
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil || n <= 0 {
				return d.Errf("max_body_size must be a positive number of bytes: %q", s)
			}
			a.MaxBodySize = n
		case "allow_insecure_destinations":
			a.AllowInsecureDestinations = true
			if d.NextArg() {
				v, err := strconv.ParseBool(d.Val())
				if err != nil {
					return d.Errf("allow_insecure_destinations takes true or false: %q", d.Val())
				}
				a.AllowInsecureDestinations = v
			}
			if d.NextArg() {
				return d.ArgErr()
			}
		case "reactor":
			if err := a.Reactor.unmarshal(d); err != nil {
				return err
			}
		case "rate_limit":
			if err := a.unmarshalRateLimit(d); err != nil {
				return err
			}
		case "cors":
			if err := a.unmarshalCORS(d); err != nil {
				return err
			}
		case "metrics":
			if err := a.unmarshalMetrics(d); err != nil {
				return err
			}
		case "webhooks":
			if err := a.Webhooks.unmarshal(d); err != nil {
				return err
			}
		case "storage":
			if err := a.unmarshalStorage(d); err != nil { // storage.go
				return err
			}
		case "proxy_timeout":
			var s string
			if !d.AllArgs(&s) {
				return d.ArgErr()
			}
			dur, err := caddy.ParseDuration(s)
			if err != nil || dur <= 0 {
				return d.Errf("proxy_timeout must be a positive duration: %q", s)
			}
			a.ProxyTimeout = caddy.Duration(dur)
		case "jwt_leeway", "cvc_retention", "jwt_max_lifetime", "audit_retention":
			name := d.Val()
			var s string
			if !d.AllArgs(&s) {
				return d.ArgErr()
			}
			dur := time.Duration(-1) // off: no leeway, or no cvc kept
			if s != "off" {
				var err error
				if dur, err = caddy.ParseDuration(s); err != nil || dur <= 0 {
					return d.Errf("%s must be a positive duration or off: %q", name, s)
				}
			}
			switch name {
			case "jwt_leeway":
				a.JWTLeeway = caddy.Duration(dur)
			case "jwt_max_lifetime":
				a.JWTMaxLifetime = caddy.Duration(dur)
			case "cvc_retention":
				a.CVCRetention = caddy.Duration(dur)
			default:
				a.AuditRetention = caddy.Duration(dur)
			}
		default:
			return d.Errf("unknown subdirective %q", d.Val())
		}
	}
	return nil
}

// parseHandler parses a handler directive that takes no arguments:
//
//	vault_auth
//	vault_api
func parseHandler[T any, PT interface {
	*T
	caddyhttp.MiddlewareHandler
}](h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	h.Next()
	if h.NextArg() {
		return nil, h.ArgErr()
	}
	for h.NextBlock(0) {
		return nil, h.Errf("unknown subdirective %q", h.Val())
	}
	return PT(new(T)), nil
}

var _ caddyfile.Unmarshaler = (*App)(nil)

func (c *ReactorConfig) unmarshal(d *caddyfile.Dispenser) error {
	if d.NextArg() {
		return d.ArgErr()
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		name := d.Val()
		var s string
		if !d.AllArgs(&s) {
			return d.ArgErr()
		}
		if name == "timeout" {
			dur, err := caddy.ParseDuration(s)
			if err != nil || dur <= 0 {
				return d.Errf("reactor timeout must be a positive duration: %q", s)
			}
			c.Timeout = caddy.Duration(dur)
			continue
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 {
			return d.Errf("reactor %s must be a positive number: %q", name, s)
		}
		switch name {
		case "max_code_size":
			c.MaxCodeSize = int(n)
		case "max_payload":
			c.MaxPayload = int(n)
		case "max_call_stack":
			c.MaxCallStack = int(n)
		case "max_concurrent":
			c.MaxConcurrent = int(n)
		case "max_per_tenant":
			c.MaxPerTenant = int(n)
		case "max_memory":
			c.MaxMemory = n
		default:
			return d.Errf("unknown reactor subdirective %q", name)
		}
	}
	return nil
}
