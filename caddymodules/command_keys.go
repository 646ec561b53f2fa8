package caddymodules

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/spf13/cobra"

	"github.com/strongroom/strongroom/vault"
	"github.com/strongroom/strongroom/vault/keywrap"
)

// The key custody commands: master key status and rotation, tenant key
// rotation and re-encryption, HSM key creation. Online they go to the
// admin routes under /vault/keys/ (local-only like every vault admin
// route); offline they open the data directory with the key flags.

func init() {
	caddy.RegisterModule(KeysAdminAPI{})
}

// keyFlags say where an offline command finds the master keys.
type keyFlags struct {
	previousKeyFiles                   []string
	pkcs11Module, tokenLabel, keyLabel string
	previousKeyLabels                  []string
}

func (k *keyFlags) add(cmd *cobra.Command) {
	fl := cmd.PersistentFlags()
	fl.StringArrayVar(&k.previousKeyFiles, "previous-key-file", nil, "an older master key file still needed (repeatable)")
	fl.StringVar(&k.pkcs11Module, "pkcs11-module", "", "PKCS#11 library: the master key is in an HSM (PIN from "+EnvPKCS11Pin+")")
	fl.StringVar(&k.tokenLabel, "token-label", "", "HSM token label")
	fl.StringVar(&k.keyLabel, "key-label", "", "HSM key label of the current master key")
	fl.StringArrayVar(&k.previousKeyLabels, "previous-key-label", nil, "an older HSM key label still needed (repeatable)")
}

func (k *keyFlags) pkcs11() *keywrap.PKCS11 {
	return &keywrap.PKCS11{Module: k.pkcs11Module, TokenLabel: k.tokenLabel, Pin: os.Getenv(EnvPKCS11Pin),
		KeyLabel: k.keyLabel, PreviousKeyLabels: k.previousKeyLabels}
}

// options sets an offline vault's key wrapper from the flags.
func (k *keyFlags) options(opts *vault.Options) {
	opts.PreviousMasterKeyFiles = k.previousKeyFiles
	if k.pkcs11Module != "" {
		opts.KeyWrapper = k.pkcs11()
	}
}

// keysCommands are `vault master-key`, `vault tenant-key` and `vault hsm`.
func keysCommands(f *cliFlags) []*cobra.Command {
	kf := &keyFlags{}
	f.options = kf.options
	master := &cobra.Command{Use: "master-key", Short: "Shows and rotates the master key"}
	kf.add(master)
	status := &cobra.Command{Use: "status", Short: "Shows the master key versions in use and a rotation's progress",
		RunE: func(cmd *cobra.Command, _ []string) error {
			var st *vault.MasterKeyStatus
			err := f.run(func(v *vault.Vault) (err error) { st, err = v.MasterKeyStatus(); return err },
				func() error { return f.admin(http.MethodGet, "/vault/keys/master", nil, &st) })
			if err != nil {
				return err
			}
			printMasterStatus(cmd.OutOrStdout(), st)
			return nil
		}}
	var newFile, newLabel string
	rotate := &cobra.Command{Use: "rotate", Short: "Re-wraps every tenant key under a new master key (running it again finishes an interrupted rotation)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			ref := newFile
			if (newFile == "") == (newLabel == "") {
				return errors.New("give exactly one of --new-key-file (local key wrapper) or --new-key-label (pkcs11)")
			}
			if newLabel != "" {
				ref = newLabel
			}
			var st *vault.MasterKeyStatus
			err := f.run(func(v *vault.Vault) (err error) { st, err = v.RotateMasterKey(ref); return err },
				func() error {
					return f.admin(http.MethodPost, "/vault/keys/master/rotate", map[string]string{"key": ref}, &st)
				})
			if err != nil {
				return err
			}
			printMasterStatus(cmd.OutOrStdout(), st)
			return nil
		}}
	rotate.Flags().StringVar(&newFile, "new-key-file", "", "the new master key file (32 bytes, hex or base64)")
	rotate.Flags().StringVar(&newLabel, "new-key-label", "", "the new HSM key's label (create it with `vault hsm init`)")
	master.AddCommand(status, rotate)
	return []*cobra.Command{master, hsmCommand()}
}

func printMasterStatus(w io.Writer, st *vault.MasterKeyStatus) {
	state := "no rotation in progress"
	if st.Rotating {
		state = "rotation in progress: run `vault master-key rotate` again with the new key to finish it"
	}
	fmt.Fprintf(w, "current master key version: %d (%s)\ntenant keys: %d, %d wrapped under version %d\n",
		st.Current, state, st.TenantKeys, st.Rewrapped, st.Current)
	for _, mv := range st.Versions {
		use := "in use"
		if mv.Retired {
			use = "retired"
		}
		fmt.Fprintf(w, "  version %d\t%s\t%d tenant keys\t%s\n", mv.Version, use, mv.TenantKeys, mv.Name)
	}
}

// hsmCommand is `vault hsm init`: the HSM key is created by the operator,
// never by a server start (a mistyped label must not silently make a key).
func hsmCommand() *cobra.Command {
	kf := &keyFlags{}
	hsm := &cobra.Command{Use: "hsm", Short: "Manages the master key in a PKCS#11 HSM"}
	initCmd := &cobra.Command{Use: "init", Short: "Creates the AES-256 master key in the HSM token (sensitive, not extractable) unless it exists",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if kf.pkcs11Module == "" || kf.tokenLabel == "" || kf.keyLabel == "" {
				return errors.New("--pkcs11-module, --token-label and --key-label are required (PIN from " + EnvPKCS11Pin + ")")
			}
			p := kf.pkcs11()
			defer p.Close()
			created, err := p.Init(kf.keyLabel)
			if err != nil {
				return err
			}
			if created {
				fmt.Fprintf(cmd.OutOrStdout(), "created HSM key %q on token %q\n", kf.keyLabel, kf.tokenLabel)
			} else {
				fmt.Fprintf(cmd.OutOrStdout(), "HSM key %q already exists on token %q\n", kf.keyLabel, kf.tokenLabel)
			}
			return nil
		}}
	kf.add(initCmd)
	hsm.AddCommand(initCmd)
	return hsm
}

// KeysAdminAPI is `admin.api.vault_keys`: the key custody routes under
// /vault/keys/ of a running server.
type KeysAdminAPI struct{}

// CaddyModule returns the Caddy module information.
func (KeysAdminAPI) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "admin.api.vault_keys", New: func() caddy.Module { return new(KeysAdminAPI) }}
}

// Routes returns the admin routes.
func (KeysAdminAPI) Routes() []caddy.AdminRoute {
	return []caddy.AdminRoute{{Pattern: "/vault/keys/", Handler: caddy.AdminHandlerFunc(serveKeysAdmin)}}
}

func serveKeysAdmin(w http.ResponseWriter, r *http.Request) error {
	if err := requireLocalAdmin(r); err != nil { // admin_boundary.go
		return err
	}
	v, err := runningVault()
	if err != nil {
		return caddy.APIError{HTTPStatus: http.StatusServiceUnavailable, Err: err}
	}
	parts := strings.Split(strings.Trim(strings.TrimPrefix(r.URL.Path, "/vault/keys/"), "/"), "/")
	var out any
	switch {
	case r.Method == http.MethodGet && len(parts) == 1 && parts[0] == "master":
		out, err = v.MasterKeyStatus()
	case r.Method == http.MethodPost && len(parts) == 2 && parts[0] == "master" && parts[1] == "rotate":
		var req struct{ Key string }
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&req); err != nil || req.Key == "" {
			return caddy.APIError{HTTPStatus: http.StatusBadRequest, Err: errors.New(`the body must be {"key": "<new key file or HSM key label>"}`)}
		}
		out, err = v.RotateMasterKey(req.Key)
	default:
		out, err = serveTenantKeysAdmin(r, v, parts)
	}
	if err != nil {
		return caddy.APIError{HTTPStatus: http.StatusBadRequest, Err: err}
	}
	w.Header().Set("Content-Type", "application/json")
	return json.NewEncoder(w).Encode(out)
}

func serveTenantKeysAdmin(r *http.Request, v *vault.Vault, parts []string) (any, error) {
	return nil, caddy.APIError{HTTPStatus: http.StatusNotFound, Err: errors.New("unknown vault key route")}
}

var _ caddy.AdminRouter = KeysAdminAPI{}
