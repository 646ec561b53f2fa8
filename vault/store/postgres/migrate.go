package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
)

// migrations are applied in order, each once; the index + 1 is the schema
// version recorded in strongroom_schema. Append, never edit.
var migrations = []string{
	`CREATE TABLE strongroom_kv (k bytea PRIMARY KEY, v bytea NOT NULL)`,
	`CREATE TABLE strongroom_lease (name text PRIMARY KEY, holder text NOT NULL, expires timestamptz NOT NULL)`,
	// The lease's fencing epoch (lease.go).
	`ALTER TABLE strongroom_lease ADD COLUMN epoch bigint NOT NULL DEFAULT 0`,
	// The change feed (feed.go): one row per batch, by writing transaction.
	`CREATE TABLE strongroom_feed (xid xid8 NOT NULL DEFAULT pg_current_xact_id(),
		at timestamptz NOT NULL DEFAULT clock_timestamp(), keys bytea[] NOT NULL)`,
	`CREATE INDEX strongroom_feed_xid ON strongroom_feed (xid)`,
	// floor: rows of transactions at or below it may have been pruned.
	`CREATE TABLE strongroom_feed_meta (floor xid8 NOT NULL)`,
	`INSERT INTO strongroom_feed_meta (floor) VALUES ('0')`,
	// What each node has applied (feed.go), by database time: writers
	// wait for the nodes seen within FreshnessBound (confirm.go).
	`CREATE TABLE strongroom_feed_nodes (node text PRIMARY KEY, snap text NOT NULL, seen timestamptz NOT NULL)`,
}

// migrateLock is the advisory lock id that serialises schema changes of
// nodes starting at once ("strgroom" in ASCII).
const migrateLock = 0x73747267726f6f6d

// Migrate brings the schema to the current version. Nodes starting at
// once take turns on an advisory lock, so each migration runs once; a
// database already current costs one read. It is also the `caddy vault
// storage migrate` command.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("postgres: connect: %w", classify(err))
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, int64(migrateLock)); err != nil {
		return fmt.Errorf("postgres: schema lock: %w", classify(err))
	}
	defer conn.Exec(context.Background(), `SELECT pg_advisory_unlock($1)`, int64(migrateLock))
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS strongroom_schema (version int NOT NULL)`); err != nil {
		return fmt.Errorf("postgres: schema table: %w", classify(err))
	}
	var version int
	if err := conn.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM strongroom_schema`).Scan(&version); err != nil {
		return fmt.Errorf("postgres: schema version: %w", classify(err))
	}
	if version > len(migrations) {
		return fmt.Errorf("postgres: the database schema is version %d, newer than this build knows (%d): upgrade this node", version, len(migrations))
	}
	for v := version; v < len(migrations); v++ {
		tx, err := conn.Begin(ctx)
		if err != nil {
			return classify(err)
		}
		_, err = tx.Exec(ctx, migrations[v])
		if err == nil {
			_, err = tx.Exec(ctx, `INSERT INTO strongroom_schema (version) VALUES ($1)`, v+1)
		}
		if err == nil {
			err = tx.Commit(ctx)
		}
		if err != nil {
			tx.Rollback(ctx)
			return fmt.Errorf("postgres: migration %d: %w", v+1, classify(err))
		}
	}
	return nil
}

// SchemaVersion is the schema version the database is at.
func (s *Store) SchemaVersion() (int, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	var v int
	err := s.pool.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM strongroom_schema`).Scan(&v)
	return v, classify(err)
}
