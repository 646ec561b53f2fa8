package caddymodules

import (
	"os"

	"github.com/caddyserver/caddy/v2"

	"github.com/strongroom/strongroom/vault"
	"github.com/strongroom/strongroom/vault/store/postgres"
)

// databaseURL is the PostgreSQL store an offline command opens: --dsn, or
// $STRONGROOM_DATABASE_URL as in the default Caddyfile; "" for the data
// directory's Pebble store.
func (f cliFlags) databaseURL() string {
	if f.dsn != "" {
		return f.dsn
	}
	return caddy.NewReplacer().ReplaceKnown("{env."+EnvDatabaseURL+"}", "")
}

// sharedStore points opts at the PostgreSQL store when one is configured.
// Nodes may be serving it: the command's writes are conditional like
// theirs, and their caches are bounded (vault.SharedCacheBound). The data
// directory then holds nothing but, by default, the master key file.
// The returned func removes the scratch directory made when there is no
// data directory.
func (f cliFlags) sharedStore(opts *vault.Options) (func(), error) {
	dsn := f.databaseURL()
	if dsn == "" {
		return func() {}, nil
	}
	cleanup := func() {}
	if _, err := os.Stat(opts.DataDir); err != nil && !f.given("data-dir") {
		// Open needs a private directory; nothing is written to it.
		dir, err := os.MkdirTemp("", "strongroom-cli-")
		if err != nil {
			return nil, err
		}
		opts.DataDir, cleanup = dir, func() { os.RemoveAll(dir) }
	}
	s, err := postgres.Open(postgres.Config{DSN: dsn, MaxConns: 2})
	if err != nil {
		cleanup()
		return nil, err
	}
	opts.Store = s
	return cleanup, nil
}
