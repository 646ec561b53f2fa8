package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Scans longer than a page read from one snapshot: a REPEATABLE READ, READ
// ONLY transaction held for the whole scan, so a list or a tenant purge
// sees every key as of one moment, never a key twice nor one moved past
// it between pages. The transaction's connection comes from a pool of its
// own: fn runs while it is held and may read the store (a list fetching
// its tokens), which must not wait for a connection a scan holds.

// newSnapshotPool is the pool of long scans: the main pool's settings,
// a quarter of its size (at least 2); connections are opened on demand.
func newSnapshotPool(main *pgxpool.Config) (*pgxpool.Pool, error) {
	pc := main.Copy()
	pc.MaxConns = max(2, main.MaxConns/4)
	pc.MinConns = 0
	return pgxpool.NewWithConfig(context.Background(), pc)
}

// scanSnapshot delivers [lo, hi) to fn, a page at a time, from one
// snapshot.
func (s *Store) scanSnapshot(reverse bool, lo, hi []byte, fn func(key, value []byte) bool) error {
	ctx, cancel := s.ctx()
	tx, err := s.snaps.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	cancel()
	if err != nil {
		return classify(err)
	}
	err = s.pages(tx, reverse, lo, hi, fn)
	ctx, cancel = s.ctx()
	defer cancel()
	// Read only: ending it by rollback loses nothing.
	if rerr := tx.Rollback(ctx); err == nil && rerr != nil && !errors.Is(rerr, pgx.ErrTxClosed) {
		err = classify(rerr)
	}
	return err
}
