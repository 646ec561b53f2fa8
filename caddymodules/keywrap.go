package caddymodules

import (
	"errors"
	"fmt"
	"os"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/strongroom/strongroom/vault"
	"github.com/strongroom/strongroom/vault/keywrap"
)

// Key wrappers hold the master keys (namespace vault.key_wrappers). The
// vault opens the wrapper once per data directory and keeps it for the
// life of the open vault, so a reload's wrapper is only used when it opens
// the vault; Provision never touches an HSM.

func init() {
	caddy.RegisterModule(LocalKeyWrapper{})
	caddy.RegisterModule(PKCS11KeyWrapper{})
}

// EnvPKCS11Pin is the conventional variable of the HSM user PIN.
const EnvPKCS11Pin = "STRONGROOM_PKCS11_PIN"

// vaultKeyWrapper is a key wrapper module: it sets how the vault gets its
// master keys.
type vaultKeyWrapper interface {
	configure(opts *vault.Options) error
}

// provisionKeyWrapper loads the configured key wrapper into opts (none:
// the master key file or STRONGROOM_MASTER_KEY, as always).
func (a *App) provisionKeyWrapper(ctx caddy.Context, opts *vault.Options) error {
	if a.KeyWrapperRaw == nil {
		return nil
	}
	if a.MasterKeyFile != "" {
		return errors.New("vault: master_key_file and key_wrapper are both set: name the key file in the key_wrapper")
	}
	m, err := ctx.LoadModule(a, "KeyWrapperRaw")
	if err != nil {
		return fmt.Errorf("vault: key_wrapper: %w", err)
	}
	w, ok := m.(vaultKeyWrapper)
	if !ok {
		return fmt.Errorf("vault: key_wrapper: %T is not a key wrapper", m)
	}
	return w.configure(opts)
}

// LocalKeyWrapper is `vault.key_wrappers.local`, the default: the master
// key in a file (generated with 0600 permissions only for an empty store)
// or in STRONGROOM_MASTER_KEY, which wins. Previous key files are the
// keys of a rotation still finishing.
type LocalKeyWrapper struct {
	KeyFile          string   `json:"key_file,omitempty"`
	PreviousKeyFiles []string `json:"previous_key_files,omitempty"`
}

// CaddyModule returns the Caddy module information.
func (LocalKeyWrapper) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "vault.key_wrappers.local", New: func() caddy.Module { return new(LocalKeyWrapper) }}
}

func (l *LocalKeyWrapper) configure(opts *vault.Options) error {
	opts.MasterKeyFile, opts.PreviousMasterKeyFiles = l.KeyFile, l.PreviousKeyFiles
	return nil
}

// UnmarshalCaddyfile parses
//
//	key_wrapper local {
//		key_file          <path>
//		previous_key_file <path>   # repeatable
//	}
func (l *LocalKeyWrapper) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // wrapper name
	if d.NextArg() {
		return d.ArgErr()
	}
	for d.NextBlock(0) {
		switch d.Val() {
		case "key_file":
			if !d.AllArgs(&l.KeyFile) {
				return d.ArgErr()
			}
		case "previous_key_file":
			var p string
			if !d.AllArgs(&p) {
				return d.ArgErr()
			}
			l.PreviousKeyFiles = append(l.PreviousKeyFiles, p)
		default:
			return d.Errf("unknown subdirective %q", d.Val())
		}
	}
	return nil
}

// PKCS11KeyWrapper is `vault.key_wrappers.pkcs11`: the master key is an
// AES key inside an HSM, created by `caddy vault hsm init`, and never
// leaves it. Pin must be a placeholder ({env.NAME}, {file./path}).
type PKCS11KeyWrapper struct {
	Module            string   `json:"module"`
	TokenLabel        string   `json:"token_label"`
	Pin               string   `json:"pin"`
	KeyLabel          string   `json:"key_label"`
	PreviousKeyLabels []string `json:"previous_key_labels,omitempty"`
}

// CaddyModule returns the Caddy module information.
func (PKCS11KeyWrapper) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "vault.key_wrappers.pkcs11", New: func() caddy.Module { return new(PKCS11KeyWrapper) }}
}

var errLiteralPin = errors.New("pin takes a placeholder, {env.STRONGROOM_PKCS11_PIN} or {file./path}: a PIN written in the config would be saved in clear in autosave.json and shown by the config API")

// Validate checks the settings without opening the HSM.
func (p *PKCS11KeyWrapper) Validate() error {
	if p.Module == "" || p.TokenLabel == "" || p.KeyLabel == "" || p.Pin == "" {
		return errors.New("key_wrapper pkcs11 needs module, token_label, pin and key_label")
	}
	if !isPlaceholder(p.Pin) {
		return errLiteralPin
	}
	if _, err := os.Stat(p.Module); err != nil {
		return fmt.Errorf("key_wrapper pkcs11: module: %w", err)
	}
	return nil
}

func (p *PKCS11KeyWrapper) configure(opts *vault.Options) error {
	if err := p.Validate(); err != nil {
		return err
	}
	if os.Getenv(EnvMasterKey) != "" {
		return fmt.Errorf("vault: %s is set but the master key is in an HSM (key_wrapper pkcs11): unset it", EnvMasterKey)
	}
	pin, err := resolveSecret("pin", p.Pin)
	if err != nil {
		return err
	}
	opts.KeyWrapper = &keywrap.PKCS11{Module: p.Module, TokenLabel: p.TokenLabel, Pin: pin,
		KeyLabel: p.KeyLabel, PreviousKeyLabels: p.PreviousKeyLabels}
	return nil
}

// UnmarshalCaddyfile parses
//
//	key_wrapper pkcs11 {
//		module      <path to the PKCS#11 .so>
//		token_label <label>
//		pin         {env.STRONGROOM_PKCS11_PIN}
//		key_label   <label>
//		previous_key_label <label>   # repeatable
//	}
func (p *PKCS11KeyWrapper) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // wrapper name
	if d.NextArg() {
		return d.ArgErr()
	}
	for d.NextBlock(0) {
		var val string
		name := d.Val()
		if !d.AllArgs(&val) {
			return d.ArgErr()
		}
		switch name {
		case "module":
			p.Module = val
		case "token_label":
			p.TokenLabel = val
		case "pin":
			if !isPlaceholder(val) {
				return d.Err(errLiteralPin.Error())
			}
			p.Pin = val
		case "key_label":
			p.KeyLabel = val
		case "previous_key_label":
			p.PreviousKeyLabels = append(p.PreviousKeyLabels, val)
		default:
			return d.Errf("unknown subdirective %q", name)
		}
	}
	return nil
}

// unmarshalKeyWrapper parses `key_wrapper <name> { ... }` in the vault block.
func (a *App) unmarshalKeyWrapper(d *caddyfile.Dispenser) error {
	if !d.NextArg() {
		return d.ArgErr()
	}
	name := d.Val()
	unm, err := caddyfile.UnmarshalModule(d, "vault.key_wrappers."+name)
	if err != nil {
		return err
	}
	a.KeyWrapperRaw = caddyconfig.JSONModuleObject(unm, "wrapper", name, nil)
	return nil
}

var (
	_ caddyfile.Unmarshaler = (*LocalKeyWrapper)(nil)
	_ caddyfile.Unmarshaler = (*PKCS11KeyWrapper)(nil)
	_ caddy.Validator       = (*PKCS11KeyWrapper)(nil)
)
