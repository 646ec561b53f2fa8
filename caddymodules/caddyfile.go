package caddymodules

import (
	"strconv"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/strongroom/strongroom/vault/jsonpath"
)

func init() {
	httpcaddyfile.RegisterGlobalOption("vault", parseGlobalVault)
	httpcaddyfile.RegisterHandlerDirective("vault_auth", parseHandler[Auth])
	httpcaddyfile.RegisterHandlerDirective("vault_api", parseHandler[API])
	httpcaddyfile.RegisterHandlerDirective("vault_proxy", parseHandler[Proxy])
	httpcaddyfile.RegisterHandlerDirective("vault_detokenize", parseCaddyfileHandler[Detokenize])
	httpcaddyfile.RegisterHandlerDirective("vault_tokenize", parseCaddyfileHandler[Tokenize])
	httpcaddyfile.RegisterDirectiveOrder("vault_auth", httpcaddyfile.After, "basic_auth")
	httpcaddyfile.RegisterDirectiveOrder("vault_api", httpcaddyfile.Before, "file_server")
	httpcaddyfile.RegisterDirectiveOrder("vault_proxy", httpcaddyfile.Before, "file_server")
	httpcaddyfile.RegisterDirectiveOrder("vault_detokenize", httpcaddyfile.Before, "request_header")
	httpcaddyfile.RegisterDirectiveOrder("vault_tokenize", httpcaddyfile.Before, "request_header")
}

// parseGlobalVault parses the global option:
//
//	vault {
//		data_dir        <path>
//		master_key_file <path>
//		key_wrapper     local|pkcs11 { ... }   (keywrap.go)
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
//		disk_reserve    <size>|off       # e.g. 128MiB (the default)
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

// vaultOptions parses each subdirective of the global vault option.
var vaultOptions = map[string]func(*App, *caddyfile.Dispenser) error{
	"data_dir":                    func(a *App, d *caddyfile.Dispenser) error { return oneArg(d, &a.DataDir) },
	"master_key_file":             func(a *App, d *caddyfile.Dispenser) error { return oneArg(d, &a.MasterKeyFile) },
	"key_wrapper":                 (*App).unmarshalKeyWrapper, // keywrap.go
	"management_key":              (*App).unmarshalManagementKey,
	"disk_reserve":                (*App).unmarshalDiskReserve,
	"max_body_size":               (*App).unmarshalMaxBodySize,
	"allow_insecure_destinations": (*App).unmarshalAllowInsecure,
	"reactor":                     func(a *App, d *caddyfile.Dispenser) error { return a.Reactor.unmarshal(d) },
	"rate_limit":                  (*App).unmarshalRateLimit,
	"cors":                        (*App).unmarshalCORS,
	"metrics":                     (*App).unmarshalMetrics,
	"webhooks":                    func(a *App, d *caddyfile.Dispenser) error { return a.Webhooks.unmarshal(d) },
	"storage":                     (*App).unmarshalStorage, // storage.go
	"proxy_timeout":               (*App).unmarshalProxyTimeout,
	"jwt_leeway":                  (*App).unmarshalOptionalDuration,
	"cvc_retention":               (*App).unmarshalOptionalDuration,
	"jwt_max_lifetime":            (*App).unmarshalOptionalDuration,
	"audit_retention":             (*App).unmarshalOptionalDuration,
}

// oneArg reads the subdirective's single argument into dst.
func oneArg(d *caddyfile.Dispenser, dst *string) error {
	if !d.AllArgs(dst) {
		return d.ArgErr()
	}
	return nil
}

// unmarshalManagementKey parses `management_key {env.NAME}|{file./path}`:
// a placeholder, never the key itself (it would sit in the config file).
func (a *App) unmarshalManagementKey(d *caddyfile.Dispenser) error {
	if err := oneArg(d, &a.ManagementKey); err != nil {
		return err
	}
	if !isPlaceholder(a.ManagementKey) {
		return d.Err(errLiteralSecret.Error())
	}
	return nil
}

// UnmarshalCaddyfile sets up the app from Caddyfile tokens.
func (a *App) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // option name
	if d.NextArg() {
		return d.ArgErr()
	}
	for d.NextBlock(0) {
		parse, ok := vaultOptions[d.Val()]
		if !ok {
			return d.Errf("unknown subdirective %q", d.Val())
		}
		if err := parse(a, d); err != nil {
			return err
		}
	}
	return nil
}

// unmarshalMaxBodySize parses `max_body_size <bytes>`.
func (a *App) unmarshalMaxBodySize(d *caddyfile.Dispenser) error {
	var s string
	if !d.AllArgs(&s) {
		return d.ArgErr()
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return d.Errf("max_body_size must be a positive number of bytes: %q", s)
	}
	a.MaxBodySize = n
	return nil
}

// unmarshalAllowInsecure parses `allow_insecure_destinations [true|false]`.
func (a *App) unmarshalAllowInsecure(d *caddyfile.Dispenser) error {
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
	return nil
}

// unmarshalProxyTimeout parses `proxy_timeout <duration>`.
func (a *App) unmarshalProxyTimeout(d *caddyfile.Dispenser) error {
	var s string
	if !d.AllArgs(&s) {
		return d.ArgErr()
	}
	dur, err := caddy.ParseDuration(s)
	if err != nil || dur <= 0 {
		return d.Errf("proxy_timeout must be a positive duration: %q", s)
	}
	a.ProxyTimeout = caddy.Duration(dur)
	return nil
}

// unmarshalOptionalDuration parses the durations that may be `off`:
// jwt_leeway, jwt_max_lifetime, cvc_retention and audit_retention.
func (a *App) unmarshalOptionalDuration(d *caddyfile.Dispenser) error {
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

// parseCaddyfileHandler builds a handler from its Caddyfile block.
func parseCaddyfileHandler[T any, PT interface {
	*T
	caddyhttp.MiddlewareHandler
	caddyfile.Unmarshaler
}](h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	m := PT(new(T))
	err := m.UnmarshalCaddyfile(h.Dispenser)
	return m, err
}

// UnmarshalCaddyfile parses the vault_detokenize block:
//
//	vault_detokenize {
//		delimiters    <left> <right>        # default {{ }}; << >> avoids Caddy placeholders
//		max_tokens    <n>                   # unique tokens per request, default 100
//		headers       <name...>             # header values to resolve
//		query                               # resolve query values too
//		content_types <media type...>       # bodies to touch, default JSON, form and text
//		max_body_size <bytes>               # default the vault's max_body_size
//	}
func (h *Detokenize) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next()
	if d.NextArg() {
		return d.ArgErr()
	}
	for d.NextBlock(0) {
		switch d.Val() {
		case "delimiters":
			h.Delimiters = d.RemainingArgs()
			if len(h.Delimiters) != 2 {
				return d.Errf("delimiters takes two values, the left and the right delimiter (e.g. \"<<\" \">>\")")
			}
		case "max_tokens":
			if !d.NextArg() {
				return d.ArgErr()
			}
			n, err := strconv.Atoi(d.Val())
			if err != nil || n <= 0 {
				return d.Errf("max_tokens must be a positive number: %q", d.Val())
			}
			h.MaxTokens = n
		case "headers":
			h.Headers = append(h.Headers, d.RemainingArgs()...)
			if len(h.Headers) == 0 {
				return d.ArgErr()
			}
		case "query":
			if d.NextArg() {
				return d.ArgErr()
			}
			h.Query = true
		case "content_types":
			h.ContentTypes = append(h.ContentTypes, d.RemainingArgs()...)
			if len(h.ContentTypes) == 0 {
				return d.ArgErr()
			}
		case "max_body_size":
			if err := sizeArg(d, &h.MaxBodySize); err != nil {
				return err
			}
		default:
			return d.Errf("unknown subdirective %q", d.Val())
		}
	}
	return nil
}

// UnmarshalCaddyfile parses the vault_tokenize block:
//
//	vault_tokenize {
//		field      <jsonpath> <token type>   # e.g. $.card.number card_number
//		form_field <name> <token type>
//		response                             # also tokenize the fields in JSON responses
//		allow_unparsed                       # pass bodies that are not JSON or a form (refused by default)
//		max_body_size <bytes>
//	}
func (h *Tokenize) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next()
	if d.NextArg() {
		return d.ArgErr()
	}
	for d.NextBlock(0) {
		switch d.Val() {
		case "field", "form_field":
			which := d.Val()
			var a, typ string
			if !d.AllArgs(&a, &typ) {
				return d.ArgErr()
			}
			if which == "field" {
				if _, err := jsonpath.ParseField(a); err != nil {
					return d.Err(err.Error())
				}
				h.Fields = append(h.Fields, TokenizeField{Path: a, Type: typ})
			} else {
				h.FormFields = append(h.FormFields, TokenizeField{Name: a, Type: typ})
			}
		case "response":
			if d.NextArg() {
				return d.ArgErr()
			}
			h.Response = true
		case "allow_unparsed":
			if d.NextArg() {
				return d.ArgErr()
			}
			h.AllowUnparsed = true
		case "max_body_size":
			if err := sizeArg(d, &h.MaxBodySize); err != nil {
				return err
			}
		default:
			return d.Errf("unknown subdirective %q", d.Val())
		}
	}
	return nil
}

// sizeArg parses the one argument of max_body_size into n.
func sizeArg(d *caddyfile.Dispenser, n *int64) error {
	var s string
	if !d.AllArgs(&s) {
		return d.ArgErr()
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v <= 0 {
		return d.Errf("max_body_size must be a positive number of bytes: %q", s)
	}
	*n = v
	return nil
}

var (
	_ caddyfile.Unmarshaler = (*App)(nil)
	_ caddyfile.Unmarshaler = (*Detokenize)(nil)
	_ caddyfile.Unmarshaler = (*Tokenize)(nil)
)

func (c *ReactorConfig) unmarshal(d *caddyfile.Dispenser) error {
	if d.NextArg() {
		return d.ArgErr()
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		name := d.Val()
		if name == "module" {
			if err := c.unmarshalModule(d); err != nil {
				return err
			}
			continue
		}
		var s string
		if !d.AllArgs(&s) {
			return d.ArgErr()
		}
		if handled, err := c.workersDirective(d, name, s); handled {
			if err != nil {
				return err
			}
			continue
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

// unmarshalModule parses `module <name> [{ ... }]` in the reactor block:
// a module reactor code may require, loaded the way Caddy's encode
// directive loads its encoders, so each module parses its own block. A
// module without Caddyfile syntax takes no settings.
func (c *ReactorConfig) unmarshalModule(d *caddyfile.Dispenser) error {
	if !d.NextArg() {
		return d.ArgErr()
	}
	name := d.Val()
	id := "vault.reactor_modules." + name
	info, err := caddy.GetModule(id)
	if err != nil {
		return d.Errf("unknown reactor module %q", name)
	}
	var m any = info.New()
	if _, ok := m.(caddyfile.Unmarshaler); ok {
		if m, err = caddyfile.UnmarshalModule(d, id); err != nil {
			return err
		}
	} else if seg := d.NextSegment(); len(seg) > 1 {
		return d.Errf("reactor module %q takes no settings", name)
	}
	c.ModulesRaw = append(c.ModulesRaw, caddyconfig.JSONModuleObject(m, "module", name, nil))
	return nil
}
