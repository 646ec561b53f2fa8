// Package postgres is the store.Store of cluster mode: one ordered table
// (k bytea primary key, v bytea) in PostgreSQL, reached through a pgx pool,
// so several Strongroom nodes serve one vault. bytea sorts like Pebble's
// keys (bytewise), so prefix scans are index range scans; a batch is one
// transaction; conditions are row locks and primary-key inserts, so they
// hold across nodes.
package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/strongroom/strongroom/vault/store"
)

// Config configures Open.
type Config struct {
	// DSN is a libpq connection string or postgres:// URL. The password
	// may come from PGPASSWORD or PGPASSFILE instead, as with psql.
	DSN string
	// MaxConns bounds the pool. Default: 4 per core, at least 8.
	MaxConns int32
	// Timeout bounds every store operation, waiting for a connection
	// included, so a request never hangs on a database that is down.
	// Default 5s.
	Timeout time.Duration
	// Committers is how many group commits (group.go) may be in flight at
	// once, each on a connection of its own. Default: half the pool, at
	// least 1 (a quarter left a one-core node waiting on commits with CPU
	// to spare: 0.28 of its 0.35 CPU used under 64 creating clients);
	// negative: every batch commits on its own.
	Committers int
}

// DefaultTimeout bounds one store operation when Config.Timeout is zero.
const DefaultTimeout = 5 * time.Second

// DefaultMaxConns is the pool size when Config.MaxConns is zero: requests
// wait on the database, not the CPU, so a few connections per core.
func DefaultMaxConns() int32 { return int32(max(8, 4*runtime.GOMAXPROCS(0))) }

// Store is a store.Store over PostgreSQL.
type Store struct {
	pool    *pgxpool.Pool
	snaps   *pgxpool.Pool // snapshot.go: the connections of long scans
	timeout time.Duration
	group   *committer           // nil: no group commit
	feed    atomic.Pointer[feed] // feed.go: set by Follow
	confirm confirmer            // confirm.go
}

// Open connects, creates or migrates the schema (serialised between nodes
// starting at once) and returns the store.
func Open(cfg Config) (*Store, error) {
	pc, err := pgxpool.ParseConfig(cfg.DSN)
	if err != nil {
		// pgx's parse errors can echo the connection string, password
		// included: say only that it did not parse.
		return nil, errors.New("postgres: the connection string (dsn) does not parse")
	}
	pc.MaxConns = cfg.MaxConns
	if pc.MaxConns <= 0 {
		pc.MaxConns = DefaultMaxConns()
	}
	s := &Store{timeout: cfg.Timeout}
	if s.timeout <= 0 {
		s.timeout = DefaultTimeout
	}
	if pc.ConnConfig.ConnectTimeout <= 0 || pc.ConnConfig.ConnectTimeout > s.timeout {
		pc.ConnConfig.ConnectTimeout = s.timeout
	}
	// Dead connections (a restarted server) are noticed before use.
	pc.HealthCheckPeriod = 5 * time.Second
	s.pool, err = pgxpool.NewWithConfig(context.Background(), pc)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if s.snaps, err = newSnapshotPool(pc); err != nil {
		s.pool.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*s.timeout)
	defer cancel()
	if err := Migrate(ctx, s.pool); err != nil {
		s.pool.Close()
		s.snaps.Close()
		return nil, err
	}
	if n := cfg.Committers; n >= 0 {
		if n == 0 {
			n = max(1, int(pc.MaxConns)/2)
		}
		s.group = &committer{}
		s.group.start(s, n)
	}
	s.confirm.start(s)
	return s, nil
}

// Shared reports that other nodes write this store too.
func (s *Store) Shared() bool { return true }

// Close releases the pool.
func (s *Store) Close() error {
	if s.group != nil {
		s.group.stop()
	}
	s.confirm.stop()
	if f := s.feed.Load(); f != nil {
		f.stop()
	}
	s.pool.Close()
	s.snaps.Close()
	return nil
}

func (s *Store) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), s.timeout)
}

// Get returns the value under key.
func (s *Store) Get(key []byte) ([]byte, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	var v []byte
	err := s.pool.QueryRow(ctx, `SELECT v FROM strongroom_kv WHERE k = $1`, key).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, classify(err)
	}
	if v == nil {
		v = []byte{}
	}
	return v, nil
}

// pageSize is how many rows a scan fetches per query: large enough that a
// list is one or two round trips, small enough that a scan stopped early
// reads little.
const pageSize = 256

// Scan calls fn for the keys with prefix from start, in key order, a page
// at a time; no connection is held while fn runs (fn may read the store).
func (s *Store) Scan(prefix, start []byte, fn func(key, value []byte) bool) error {
	lo := nonNil(prefix)
	if start != nil && bytes.Compare(start, lo) > 0 {
		lo = start
	}
	return s.scan(false, lo, store.PrefixEnd(prefix), fn)
}

// ScanReverse is Scan in descending order from start (inclusive).
func (s *Store) ScanReverse(prefix, start []byte, fn func(key, value []byte) bool) error {
	hi := store.PrefixEnd(prefix)
	if start != nil && (hi == nil || bytes.Compare(start, hi) < 0) {
		hi = append(bytes.Clone(start), 0) // start inclusive
	}
	return s.scan(true, nonNil(prefix), hi, fn)
}

// scan pages through [lo, hi) (hi nil: no bound) in either direction. A
// range that fits one page is one query; a longer one is read again from
// its start in one snapshot (snapshot.go), so its pages never see a key
// twice or miss one that a concurrent write moved.
func (s *Store) scan(reverse bool, lo, hi []byte, fn func(key, value []byte) bool) error {
	rows, err := s.page(s.pool, reverse, lo, hi)
	if err != nil {
		return err
	}
	if len(rows) < pageSize {
		for _, r := range rows {
			if !fn(r.k, r.v) {
				return nil
			}
		}
		return nil
	}
	return s.scanSnapshot(reverse, lo, hi, fn)
}

// pages delivers the pages of [lo, hi) read through q to fn.
func (s *Store) pages(q querier, reverse bool, lo, hi []byte, fn func(key, value []byte) bool) error {
	for {
		rows, err := s.page(q, reverse, lo, hi)
		if err != nil {
			return err
		}
		for _, r := range rows {
			if !fn(r.k, r.v) {
				return nil
			}
		}
		if len(rows) < pageSize {
			return nil
		}
		if last := rows[len(rows)-1].k; reverse {
			hi = last
		} else {
			lo = append(last, 0) // the next key up
		}
	}
}

type row struct{ k, v []byte }

// pageQueries are the range reads by direction and by whether the range
// has an upper bound (an all-0xff prefix has none). Separate statements,
// not `$2 IS NULL OR k < $2`, so the bound is an index condition of every
// cached plan and a scan stops at the end of its prefix.
var pageQueries = [2][2]string{
	{`SELECT k, v FROM strongroom_kv WHERE k >= $1 ORDER BY k LIMIT $2`,
		`SELECT k, v FROM strongroom_kv WHERE k >= $1 AND k < $3 ORDER BY k LIMIT $2`},
	{`SELECT k, v FROM strongroom_kv WHERE k >= $1 ORDER BY k DESC LIMIT $2`,
		`SELECT k, v FROM strongroom_kv WHERE k >= $1 AND k < $3 ORDER BY k DESC LIMIT $2`},
}

// querier is the pool or a scan's snapshot transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func (s *Store) page(qr querier, reverse bool, lo, hi []byte) ([]row, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	dir, args := 0, []any{lo, pageSize}
	if reverse {
		dir = 1
	}
	q := pageQueries[dir][0]
	if hi != nil {
		q, args = pageQueries[dir][1], append(args, hi)
	}
	rows, err := qr.Query(ctx, q, args...)
	if err != nil {
		return nil, classify(err)
	}
	out := make([]row, 0, 16)
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.k, &r.v); err != nil {
			rows.Close()
			return nil, classify(err)
		}
		if r.v == nil {
			r.v = []byte{}
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, classify(err)
	}
	return out, nil
}

// classify maps a pgx error onto the store's: a server that is gone,
// restarting, refusing connections or not answering in time is
// store.ErrUnavailable (503, retry later); anything else is an internal
// error.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case len(pe.Code) == 5 && (pe.Code[:2] == "08" || pe.Code[:2] == "53" || pe.Code[:3] == "57P"):
			return store.Unavailable(err)
		case pe.Code == "57014": // query_canceled: our timeout fired
			return store.Unavailable(err)
		}
		return fmt.Errorf("postgres: %w", err)
	}
	// Not an answer from the server: the network, a dial, a timeout.
	return store.Unavailable(err)
}

// retryable reports a transaction the server aborted to resolve a race
// (serialization failure, deadlock): running it again is correct.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

var (
	_ store.Store  = (*Store)(nil)
	_ store.Shared = (*Store)(nil)
)
