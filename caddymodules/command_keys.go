package caddymodules

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"

	"github.com/caddyserver/caddy/v2"
	"github.com/spf13/cobra"

	"github.com/strongroom/strongroom/vault"
	"github.com/strongroom/strongroom/vault/keywrap"
)

// The key custody commands: master key status and rotation, tenant key
// rotation and re-encryption, HSM key creation. Online they go to the
// vault admin routes under /vault/keys/ (local-only like every vault
// admin route); offline they open the data directory with the key flags.

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
	return []*cobra.Command{master, tenantKeyCommand(f, kf), hsmCommand()}
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

// serveKeysAdmin serves the key custody routes under /vault/keys/ (parts
// follow "keys"); serveAdmin has checked the admin endpoint is local.
func serveKeysAdmin(w http.ResponseWriter, r *http.Request, v *vault.Vault, parts []string) error {
	var out any
	var err error
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
		var apiErr caddy.APIError
		if errors.As(err, &apiErr) {
			return err
		}
		return caddy.APIError{HTTPStatus: http.StatusBadRequest, Err: err}
	}
	w.Header().Set("Content-Type", "application/json")
	return json.NewEncoder(w).Encode(out)
}

// serveTenantKeysAdmin serves /vault/keys/tenants/<id>[/rotate|/reencrypt].
func serveTenantKeysAdmin(r *http.Request, v *vault.Vault, parts []string) (any, error) {
	if len(parts) < 2 || len(parts) > 3 || parts[0] != "tenants" {
		return nil, caddy.APIError{HTTPStatus: http.StatusNotFound, Err: errors.New("unknown vault key route")}
	}
	id := parts[1]
	if len(parts) == 2 && r.Method == http.MethodGet {
		return v.TenantKeyStatus(id)
	}
	var req struct {
		Reencrypt bool `json:"reencrypt"`
		Batch     int  `json:"batch"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&req); err != nil && !errors.Is(err, io.EOF) {
		return nil, caddy.APIError{HTTPStatus: http.StatusBadRequest, Err: err}
	}
	switch {
	case r.Method == http.MethodPost && len(parts) == 3 && parts[2] == "rotate":
		st, err := v.RotateTenantKey(id)
		if err != nil || !req.Reencrypt {
			return st, err
		}
		return v.ReencryptTenant(id, req.Batch)
	case r.Method == http.MethodPost && len(parts) == 3 && parts[2] == "reencrypt":
		return v.ReencryptTenant(id, req.Batch)
	}
	return nil, caddy.APIError{HTTPStatus: http.StatusNotFound, Err: errors.New("unknown vault key route")}
}

// tenantKeyCommand is `vault tenant-key status|rotate|reencrypt`.
func tenantKeyCommand(f *cliFlags, kf *keyFlags) *cobra.Command {
	tk := &cobra.Command{Use: "tenant-key", Short: "Shows and rotates a tenant's key; re-encrypts its tokens under the newest version"}
	kf.add(tk)
	var tenantID string
	var reencrypt bool
	var batch int
	tk.PersistentFlags().StringVar(&tenantID, "tenant", "", "tenant id (required)")
	tk.PersistentFlags().IntVar(&batch, "batch", vault.DefaultReencryptBatch, "tokens re-encrypted per commit")
	run := func(offline func(*vault.Vault) (*vault.TenantKeyStatus, error), method, path string, body any) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, _ []string) error {
			if tenantID == "" {
				return errors.New("--tenant is required")
			}
			var st *vault.TenantKeyStatus
			err := f.run(func(v *vault.Vault) (err error) { st, err = offline(v); return err },
				func() error { return f.admin(method, "/vault/keys/tenants/"+tenantID+path, body, &st) })
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "tenant %s: tenant key version %d current (versions %v), wrapped under master key version %d\n",
				st.TenantID, st.Current, st.Versions, st.MasterKeyVersion)
			if p := st.Reencrypt; p != nil {
				state := "unfinished: run `vault tenant-key reencrypt` to resume"
				if p.Finished {
					state = "finished"
				}
				fmt.Fprintf(cmd.OutOrStdout(), "re-encryption to version %d: %d tokens moved, %s\n", p.Version, p.Resealed, state)
			}
			return nil
		}
	}
	status := &cobra.Command{Use: "status", Short: "Shows the tenant's key versions and re-encryption progress",
		RunE: run(func(v *vault.Vault) (*vault.TenantKeyStatus, error) { return v.TenantKeyStatus(tenantID) }, http.MethodGet, "", nil)}
	rotate := &cobra.Command{Use: "rotate", Short: "Adds a tenant key version for new data (older versions stay readable)"}
	rotate.RunE = func(cmd *cobra.Command, args []string) error {
		return run(func(v *vault.Vault) (*vault.TenantKeyStatus, error) {
			st, err := v.RotateTenantKey(tenantID)
			if err != nil || !reencrypt {
				return st, err
			}
			return v.ReencryptTenant(tenantID, batch)
		}, http.MethodPost, "/rotate", map[string]any{"reencrypt": reencrypt, "batch": batch})(cmd, args)
	}
	rotate.Flags().BoolVar(&reencrypt, "reencrypt", false, "then re-encrypt the tenant's tokens under the new version")
	re := &cobra.Command{Use: "reencrypt", Short: "Re-encrypts the tenant's tokens under the current version, resuming an unfinished job"}
	re.RunE = func(cmd *cobra.Command, args []string) error {
		return run(func(v *vault.Vault) (*vault.TenantKeyStatus, error) { return v.ReencryptTenant(tenantID, batch) },
			http.MethodPost, "/reencrypt", map[string]any{"batch": batch})(cmd, args)
	}
	tk.AddCommand(status, rotate, re)
	return tk
}
