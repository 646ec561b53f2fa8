package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/strongroom/strongroom/vault/store"
)

// Lease takes or renews a lease on the database's clock: granted when it
// is free, expired, or already holder's; node clocks never decide it. The
// epoch moves on whenever the lease is taken rather than renewed (by
// another holder, or by the same one after it expired), so a job of an
// earlier tenure is fenced out.
func (s *Store) Lease(name, holder string, ttl time.Duration) (store.Fence, bool, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	f := store.Fence{Lease: name, Holder: holder}
	var got string
	err := s.pool.QueryRow(ctx, `INSERT INTO strongroom_lease (name, holder, expires, epoch)
		VALUES ($1, $2, now() + $3 * interval '1 millisecond', 1)
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires = excluded.expires,
			epoch = CASE WHEN strongroom_lease.holder = excluded.holder AND strongroom_lease.expires >= now()
				THEN strongroom_lease.epoch ELSE strongroom_lease.epoch + 1 END
		WHERE strongroom_lease.expires < now() OR strongroom_lease.holder = excluded.holder
		RETURNING holder, epoch`, name, holder, ttl.Milliseconds()).Scan(&got, &f.Epoch)
	if errors.Is(err, pgx.ErrNoRows) {
		return f, false, nil
	}
	if err != nil {
		return f, false, classify(err)
	}
	return f, got == holder, nil
}

// fenceQuery locks the lease row of a tenure still in force (FOR SHARE: a
// takeover waits for the fenced transaction, which therefore commits
// before the next holder's first write).
const fenceQuery = `SELECT 1 FROM strongroom_lease
	WHERE name = $1 AND holder = $2 AND epoch = $3 AND expires > now() FOR SHARE`

func checkFence(ctx context.Context, tx pgx.Tx, f store.Fence) error {
	var one int
	err := tx.QueryRow(ctx, fenceQuery, f.Lease, f.Holder, f.Epoch).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.ErrFenced
	}
	return err
}

// fencedStore is the store whose batches carry a fence.
type fencedStore struct {
	*Store
	fence store.Fence
}

// Fenced returns a view of s whose batches commit only within f's tenure.
func (s *Store) Fenced(f store.Fence) store.Store { return fencedStore{s, f} }

func (s fencedStore) NewBatch() store.Batch { return &batch{s: s.Store, fence: &s.fence} }

// queueFence queues the batch's fence check first in its transaction.
func (b *batch) queueFence(q *pgx.Batch) {
	if b.fence != nil {
		q.Queue(fenceQuery, b.fence.Lease, b.fence.Holder, b.fence.Epoch)
	}
}

// checkFence reads the fence check's answer: no row, no tenure.
func (b *batch) checkFence(res pgx.BatchResults) error {
	if b.fence == nil {
		return nil
	}
	var one int
	err := res.QueryRow().Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.ErrFenced
	}
	return err
}

var _ store.Leaser = (*Store)(nil)
