package caddymodules

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"syscall"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"

	"github.com/strongroom/strongroom/vault"
	"github.com/strongroom/strongroom/vault/crypto"
	"github.com/strongroom/strongroom/vault/egress"
)

func init() {
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "vault",
		Usage: "tenant create|list, key create, project ..., backup, audit export, version, webhook-key, storage migrate",
		Short: "Manages Strongroom tenants, keys and projects; backs up the store; exports the audit log",
		Long: `
Operator commands for a Strongroom vault. They work on a stopped server's
data directory directly, and on a running server through its admin API
(the data directory is locked while the server runs).

  vault tenant create --name <name> [--type production|test]
  vault tenant list
  vault key create --tenant <tenant id>
  vault project create [--tenant <tenant id>] [--id <project id>] [--name <name>]
  vault project list [--tenant <tenant id>]
  vault project key add --project <id> --kid <kid> --pem <file> | --jwks <file>
  vault project key generate --project <id> --kid <kid>   (private key PEM, once)
  vault project key list --project <id>
  vault project key remove --project <id> --kid <kid>
  vault backup --output <new dir>   (online, or --data-dir of a stopped server)
  vault audit export [--since <time>|<duration>] [--tenant <id>|vault]   (NDJSON)
  vault version
  vault webhook-key   (the PEM public key that verifies webhook signatures)
  vault master-key status | rotate --new-key-file <path> | --new-key-label <label>
  vault tenant-key status | rotate [--reencrypt] | reencrypt --tenant <id>
  vault hsm init --pkcs11-module <.so> --token-label <label> --key-label <label>
  vault storage migrate [--dsn <postgres url>]   (default $STRONGROOM_DATABASE_URL)

Common flags: --data-dir (default ./data, as in the default Caddyfile),
--master-key-file (default <data-dir>/master.key; STRONGROOM_MASTER_KEY
wins), --address (admin API of a running server, default localhost:2019).
With --address the command goes to the running server; with --dsn (or
$STRONGROOM_DATABASE_URL) it opens that PostgreSQL store directly, beside
running nodes (the master key must be given, as on every node); with
--data-dir it opens that directory (or the server holding it); with
neither it uses ./data when it exists, else the admin API. Each new
management key is printed once.`,
		CobraFunc: vaultCommand,
	})
}

type cliFlags struct {
	dataDir, masterKeyFile, address string
	dsn                             string               // command_storage.go: a shared PostgreSQL store
	root                            *cobra.Command       // to tell given flags from defaults
	options                         func(*vault.Options) // command_keys.go: key wrapper flags
}

func vaultCommand(cmd *cobra.Command) {
	var f cliFlags
	cmd.PersistentFlags().StringVar(&f.dataDir, "data-dir", "./data", "vault data directory")
	cmd.PersistentFlags().StringVar(&f.masterKeyFile, "master-key-file", "", "master key file (default <data-dir>/master.key)")
	cmd.PersistentFlags().StringVar(&f.address, "address", "localhost:2019", "admin API address of a running server")
	cmd.PersistentFlags().StringVar(&f.dsn, "dsn", "", "PostgreSQL store to open instead of the data directory's (default $"+EnvDatabaseURL+")")
	f.root = cmd
	keys := keysCommands(&f) // command_keys.go

	tenant := &cobra.Command{Use: "tenant", Short: "Manages tenants"}
	var name, typ string
	create := &cobra.Command{Use: "create", Short: "Creates a tenant with a management application and prints its key",
		RunE: func(cmd *cobra.Command, _ []string) error {
			var out tenantCreated
			err := f.run(
				func(v *vault.Vault) error {
					t, app, err := v.CreateTenant(name, typ)
					if err == nil {
						out = tenantCreated{TenantID: t.ID, ManagementKey: app.Key}
					}
					return err
				},
				func() error {
					return f.admin(http.MethodPost, "/vault/tenants", map[string]string{"name": name, "type": typ}, &out)
				})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "tenant:         %s\nmanagement key: %s  (shown once)\n", out.TenantID, out.ManagementKey)
			return nil
		}}
	create.Flags().StringVar(&name, "name", "", "tenant name (required)")
	create.Flags().StringVar(&typ, "type", vault.TenantProduction, "tenant type: production or test")
	list := &cobra.Command{Use: "list", Short: "Lists tenants",
		RunE: func(cmd *cobra.Command, _ []string) error {
			var out []vault.Tenant
			err := f.run(
				func(v *vault.Vault) (err error) { out, err = v.Tenants(); return err },
				func() error { return f.admin(http.MethodGet, "/vault/tenants", nil, &out) })
			if err != nil {
				return err
			}
			for _, t := range out {
				fmt.Fprintf(cmd.OutOrStdout(), "%s\t%s\t%s\n", t.ID, t.Type, t.Name)
			}
			return nil
		}}
	tenant.AddCommand(create, list)

	key := &cobra.Command{Use: "key", Short: "Manages management keys"}
	var tenantID string
	keyCreate := &cobra.Command{Use: "create", Short: "Creates a management application in a tenant and prints its key",
		RunE: func(cmd *cobra.Command, _ []string) error {
			var out tenantCreated
			err := f.run(
				func(v *vault.Vault) (err error) {
					out.ManagementKey, err = v.AddManagementKey(tenantID, "")
					return err
				},
				func() error { return f.admin(http.MethodPost, "/vault/tenants/"+tenantID+"/keys", nil, &out) })
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "management key: %s  (shown once)\n", out.ManagementKey)
			return nil
		}}
	keyCreate.Flags().StringVar(&tenantID, "tenant", "", "tenant id (required)")
	key.AddCommand(keyCreate)
	cmd.AddCommand(tenant, key, projectCommand(&f), backupCommand(&f), auditCommand(&f), versionCommand(), webhookKeyCommand(&f), storageCommand())
	cmd.AddCommand(keys...)
}

type tenantCreated struct {
	TenantID      string `json:"tenant_id,omitempty"`
	ManagementKey string `json:"management_key"`
}

// run calls offline on the data directory, or online through the admin
// API: online when --address is given, or when the data directory is held
// by a running server, or when no --data-dir is given and ./data does not
// exist (so the command works from any directory).
func (f cliFlags) run(offline func(*vault.Vault) error, online func() error) error {
	useData, err := f.offline()
	if err != nil {
		return err
	}
	if !useData {
		return online()
	}
	opts := vault.Options{DataDir: f.dataDir, MasterKeyFile: f.masterKeyFile}
	if s := os.Getenv(EnvMasterKey); s != "" {
		k, err := crypto.ParseMasterKey(s)
		if err != nil {
			return err
		}
		opts.MasterKey = k
	}
	if f.options != nil {
		f.options(&opts)
	}
	cleanup, err := f.sharedStore(&opts) // command_storage.go
	if err != nil {
		return err
	}
	defer cleanup()
	c, err := vault.Open(opts)
	if err != nil {
		if isLocked(err) {
			return online()
		}
		return err
	}
	defer c.Close()
	return offline(c.Bind(nil, egress.Policy{}, vault.Settings{}))
}

// offline reports whether the command works on the data directory itself.
func (f cliFlags) offline() (bool, error) {
	if f.given("address") {
		return false, nil
	}
	if f.databaseURL() != "" {
		return true, nil // the shared database is opened alongside running nodes
	}
	if _, err := os.Stat(f.dataDir); err != nil {
		if f.given("data-dir") {
			return false, fmt.Errorf("data directory %s: %w", f.dataDir, err)
		}
		return false, nil
	}
	return true, nil
}

// given reports whether a flag was set on the command line.
func (f cliFlags) given(name string) bool {
	return f.root != nil && f.root.PersistentFlags().Changed(name)
}

// isLocked reports whether opening a store failed because a running server
// holds it.
func isLocked(err error) bool {
	return errors.Is(err, syscall.EWOULDBLOCK) || strings.Contains(err.Error(), "lock")
}

func (f cliFlags) admin(method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, "http://"+f.address+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("no running server answered at the admin address %s (and no data directory was used): %w", f.address, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return adminError(resp.StatusCode, data)
	}
	if w, ok := out.(io.Writer); ok {
		_, err = io.Copy(w, resp.Body)
		return err
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	return json.Unmarshal(data, out)
}

// adminError is the message of a refused admin call: the `error` field of
// Caddy's admin error JSON (or the API's RFC 7807 detail), not the raw body.
func adminError(status int, body []byte) error {
	var e struct {
		Error  string `json:"error"`
		Detail string `json:"detail"`
	}
	msg := strings.TrimSpace(string(body))
	if json.Unmarshal(body, &e) == nil {
		if e.Error != "" {
			msg = e.Error
		} else if e.Detail != "" {
			msg = e.Detail
		}
	}
	return fmt.Errorf("the server refused (%d %s): %s", status, http.StatusText(status), msg)
}
