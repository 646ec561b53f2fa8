package caddymodules

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/spf13/cobra"

	"github.com/strongroom/strongroom/vault/store"
	"github.com/strongroom/strongroom/vault/store/postgres"
)

func init() {
	caddy.RegisterModule(PebbleStorage{})
	caddy.RegisterModule(PostgresStorage{})
}

// EnvDatabaseURL selects PostgreSQL in the default Caddyfile.
const EnvDatabaseURL = "STRONGROOM_DATABASE_URL"

// StorageBackend is a module of namespace vault.storage: where the vault
// keeps its data.
type StorageBackend interface {
	// PoolKey names the store the vault is shared under across config
	// reloads: one open vault per key.
	PoolKey(dataDir string) string
	// OpenStore opens the store; nil (with no error) means the embedded
	// Pebble store in dataDir.
	OpenStore(dataDir string) (store.Store, error)
}

// storage loads the configured backend (Pebble when none is).
func (a *App) storage(ctx caddy.Context) (StorageBackend, error) {
	if a.StorageRaw == nil {
		return PebbleStorage{}, nil
	}
	m, err := ctx.LoadModule(a, "StorageRaw")
	if err != nil {
		return nil, fmt.Errorf("loading storage: %w", err)
	}
	b, ok := m.(StorageBackend)
	if !ok {
		return nil, fmt.Errorf("module %T is not a storage backend", m)
	}
	return b, nil
}

// unmarshalStorage parses the `storage` subdirective of the vault option:
//
//	storage pebble
//	storage postgres [<dsn>] {
//		dsn       <dsn>|{env.NAME}|{file./path}
//		max_conns <n>
//		timeout   <duration>
//	}
//	storage postgres://...   (shorthand for storage postgres <dsn>)
//	storage                  (no argument: pebble)
//
// The default Caddyfile writes `storage {$STRONGROOM_DATABASE_URL:pebble}`:
// the database URL when it is set, else the embedded store.
func (a *App) unmarshalStorage(d *caddyfile.Dispenser) error {
	if !d.NextArg() {
		// An empty STRONGROOM_DATABASE_URL leaves `storage` alone: the
		// embedded store, as when it is unset.
		a.StorageRaw = caddyconfig.JSONModuleObject(PebbleStorage{}, "backend", "pebble", nil)
		return nil
	}
	name := d.Val()
	var mod any
	switch {
	case strings.HasPrefix(name, "postgres://"), strings.HasPrefix(name, "postgresql://"):
		if d.NextArg() {
			return d.ArgErr()
		}
		mod, name = &PostgresStorage{DSN: name}, "postgres"
	default:
		um, err := caddyfile.UnmarshalModule(d, "vault.storage."+name)
		if err != nil {
			return err
		}
		mod = um
	}
	a.StorageRaw = caddyconfig.JSONModuleObject(mod, "backend", name, nil)
	return nil
}

// PebbleStorage is the embedded store (the default): Pebble in the data
// directory, one node.
type PebbleStorage struct{}

// CaddyModule returns the Caddy module information.
func (PebbleStorage) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "vault.storage.pebble", New: func() caddy.Module { return new(PebbleStorage) }}
}

// PoolKey is the data directory: Pebble allows one open per directory.
func (PebbleStorage) PoolKey(dataDir string) string { return dataDir }

// OpenStore leaves the opening to the vault (nil): it knows the layout.
func (PebbleStorage) OpenStore(string) (store.Store, error) { return nil, nil }

// UnmarshalCaddyfile takes no arguments.
func (*PebbleStorage) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next()
	if d.NextArg() {
		return d.ArgErr()
	}
	for d.NextBlock(0) {
		return d.Errf("unknown subdirective %q", d.Val())
	}
	return nil
}

// PostgresStorage keeps the vault in PostgreSQL, shared by every node
// pointed at the same database (cluster mode).
type PostgresStorage struct {
	// DSN is a postgres:// URL or libpq key=value string; placeholders
	// ({env.NAME}, {file./path}) are resolved at start, so the password
	// need not be in the config. PGPASSWORD and PGPASSFILE work as in psql.
	// Use sslmode=verify-full (with sslrootcert) across a network.
	DSN string `json:"dsn,omitempty"`
	// MaxConns bounds the connection pool. Default: 4 per core, at least 8.
	MaxConns int `json:"max_conns,omitempty"`
	// Timeout bounds each database operation (503 after it). Default 5s.
	Timeout caddy.Duration `json:"timeout,omitempty"`

	dsn string // resolved
}

// CaddyModule returns the Caddy module information.
func (PostgresStorage) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "vault.storage.postgres", New: func() caddy.Module { return new(PostgresStorage) }}
}

// Provision resolves the DSN's placeholders.
func (p *PostgresStorage) Provision(caddy.Context) error {
	p.dsn = caddy.NewReplacer().ReplaceKnown(p.DSN, "")
	if p.dsn == "" {
		return fmt.Errorf("storage postgres: dsn is empty (is %s set?)", EnvDatabaseURL)
	}
	return nil
}

// PoolKey is a digest of the DSN (it may hold a password).
func (p *PostgresStorage) PoolKey(string) string {
	sum := sha256.Sum256([]byte(p.dsn))
	return "postgres:" + hex.EncodeToString(sum[:])
}

// OpenStore connects and migrates the schema.
func (p *PostgresStorage) OpenStore(string) (store.Store, error) {
	return postgres.Open(postgres.Config{DSN: p.dsn, MaxConns: int32(p.MaxConns), Timeout: time.Duration(p.Timeout)})
}

// UnmarshalCaddyfile parses `postgres [<dsn>] { dsn, max_conns, timeout }`.
func (p *PostgresStorage) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next()
	if d.NextArg() {
		p.DSN = d.Val()
	}
	if d.NextArg() {
		return d.ArgErr()
	}
	for d.NextBlock(0) {
		name := d.Val()
		var s string
		if !d.AllArgs(&s) {
			return d.ArgErr()
		}
		switch name {
		case "dsn":
			p.DSN = s
		case "max_conns":
			n, err := strconv.Atoi(s)
			if err != nil || n <= 0 {
				return d.Errf("max_conns must be a positive number: %q", s)
			}
			p.MaxConns = n
		case "timeout":
			dur, err := caddy.ParseDuration(s)
			if err != nil || dur <= 0 {
				return d.Errf("timeout must be a positive duration: %q", s)
			}
			p.Timeout = caddy.Duration(dur)
		default:
			return d.Errf("unknown subdirective %q", name)
		}
	}
	if p.DSN == "" {
		return d.Err("storage postgres needs a dsn")
	}
	return nil
}

// storageCommand is `caddy vault storage migrate`: the schema step for
// operators who run it before rolling out nodes (nodes also migrate, one
// at a time, when they start).
func storageCommand() *cobra.Command {
	storage := &cobra.Command{Use: "storage", Short: "Manages the cluster database"}
	var dsn string
	migrate := &cobra.Command{Use: "migrate", Short: "Creates or upgrades the PostgreSQL schema (default dsn: $" + EnvDatabaseURL + ")",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dsn == "" {
				dsn = caddy.NewReplacer().ReplaceKnown("{env."+EnvDatabaseURL+"}", "")
			}
			if dsn == "" {
				return fmt.Errorf("give --dsn or set %s", EnvDatabaseURL)
			}
			s, err := postgres.Open(postgres.Config{DSN: dsn, MaxConns: 2})
			if err != nil {
				return err
			}
			defer s.Close()
			v, err := s.SchemaVersion()
			if err != nil {
				return err
			}
			return json.NewEncoder(cmd.OutOrStdout()).Encode(map[string]int{"schema_version": v})
		}}
	migrate.Flags().StringVar(&dsn, "dsn", "", "PostgreSQL connection string")
	storage.AddCommand(migrate)
	return storage
}

var (
	_ StorageBackend        = PebbleStorage{}
	_ StorageBackend        = (*PostgresStorage)(nil)
	_ caddy.Provisioner     = (*PostgresStorage)(nil)
	_ caddyfile.Unmarshaler = (*PebbleStorage)(nil)
	_ caddyfile.Unmarshaler = (*PostgresStorage)(nil)
)
