package caddymodules

import (
	"encoding/json"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/modules/logging"
	"go.uber.org/zap/zapcore"
)

func init() {
	caddy.RegisterModule(RedactEncoder{})
}

// RedactEncoder is the log format `vault_redact`: Caddy's filter encoder
// preset to keep the vault's credentials out of access logs. Caddy itself
// redacts only Authorization, Cookie, Set-Cookie and Proxy-Authorization,
// and it copies the request headers for the access log before any handler
// runs, so no handler can take them out: the log's encoder must. It
// replaces BT-API-KEY, X-API-KEY and BT-PROXY-KEY with REDACTED and the
// `bt-proxy-key` query parameter in the logged URI.
//
//	log {
//		format vault_redact {
//			wrap <encoder> ...    # default json (console on a terminal)
//		}
//	}
type RedactEncoder struct {
	// WrappedRaw is the encoder that writes the entries.
	WrappedRaw json.RawMessage `json:"wrap,omitempty" caddy:"namespace=caddy.logging.encoders inline_key=format"`

	logging.FilterEncoder `json:"-"`
}

// CaddyModule returns the Caddy module information.
func (RedactEncoder) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "caddy.logging.encoders.vault_redact", New: func() caddy.Module { return new(RedactEncoder) }}
}

// redactedFields are the filter encoder's fields for the vault's credentials.
func redactedFields() map[string]json.RawMessage {
	replace := json.RawMessage(`{"filter":"replace","value":"REDACTED"}`)
	return map[string]json.RawMessage{
		"request>headers>Bt-Api-Key":   replace,
		"request>headers>X-Api-Key":    replace,
		"request>headers>Bt-Proxy-Key": replace,
		"request>uri":                  json.RawMessage(`{"filter":"query","actions":[{"type":"replace","parameter":"bt-proxy-key","value":"REDACTED"}]}`),
	}
}

// Provision sets up the filter encoder.
func (e *RedactEncoder) Provision(ctx caddy.Context) error {
	e.FilterEncoder = logging.FilterEncoder{WrappedRaw: e.WrappedRaw, FieldsRaw: redactedFields()}
	return e.FilterEncoder.Provision(ctx)
}

// UnmarshalCaddyfile parses `vault_redact [{ wrap <encoder> ... }]`.
func (e *RedactEncoder) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next()
	if d.NextArg() {
		return d.ArgErr()
	}
	for d.NextBlock(0) {
		switch d.Val() {
		case "wrap":
			if !d.NextArg() {
				return d.ArgErr()
			}
			name := d.Val()
			unm, err := caddyfile.UnmarshalModule(d, "caddy.logging.encoders."+name)
			if err != nil {
				return err
			}
			enc, ok := unm.(zapcore.Encoder)
			if !ok {
				return d.Errf("module %s (%T) is not a zapcore.Encoder", name, unm)
			}
			e.WrappedRaw = caddyconfig.JSONModuleObject(enc, "format", name, nil)
		default:
			return d.Errf("unknown subdirective %q", d.Val())
		}
	}
	return nil
}

var (
	_ zapcore.Encoder       = (*RedactEncoder)(nil)
	_ caddy.Provisioner     = (*RedactEncoder)(nil)
	_ caddyfile.Unmarshaler = (*RedactEncoder)(nil)
)
