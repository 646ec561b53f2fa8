package postgres_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/strongroom/strongroom/test/pgtest"
	"github.com/strongroom/strongroom/vault/store"
	"github.com/strongroom/strongroom/vault/store/postgres"
	"github.com/strongroom/strongroom/vault/store/storetest"
)

func open(t *testing.T, dsn string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(postgres.Config{DSN: dsn})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	srv := pgtest.Shared(t)
	storetest.Run(t, func(t *testing.T) store.Store { return open(t, srv.NewDatabase(t)) })
}

// Nodes starting at once on an empty database each migrate it: the schema
// is created once, and every node ends on the current version.
func TestConcurrentMigrate(t *testing.T) {
	dsn := pgtest.Shared(t).NewDatabase(t)
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := postgres.Open(postgres.Config{DSN: dsn, MaxConns: 2})
			if err == nil {
				s.Close()
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	c, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	var n, version int
	if err := c.QueryRow(context.Background(), `SELECT count(*), max(version) FROM strongroom_schema`).Scan(&n, &version); err != nil {
		t.Fatal(err)
	}
	if n != version || version < 1 {
		t.Fatalf("schema rows %d, version %d: a migration ran twice or not at all", n, version)
	}
}

// A database that is down is ErrUnavailable within the timeout, and the
// store serves again once it is back, without reopening.
func TestUnavailableAndRecovery(t *testing.T) {
	srv := pgtest.Start(t)
	s, err := postgres.Open(postgres.Config{DSN: srv.DSN("postgres"), Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	b := s.NewBatch()
	b.Set([]byte("k"), []byte("v"))
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	srv.Kill()
	start := time.Now()
	if _, err := s.Get([]byte("k")); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Get with the database down = %v, want ErrUnavailable", err)
	}
	b = s.NewBatch()
	b.Set([]byte("k2"), []byte("v"))
	if err := b.Commit(); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Commit with the database down = %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("failing took %s, past the 2s timeout per operation", d)
	}
	srv.Restart(t)
	deadline := time.Now().Add(30 * time.Second)
	for {
		v, err := s.Get([]byte("k"))
		if err == nil {
			if string(v) != "v" {
				t.Fatalf("after recovery k = %q", v)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("store did not recover: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// A DSN that does not parse is refused without echoing it (it may hold a
// password).
func TestBadDSNNotEchoed(t *testing.T) {
	_, err := postgres.Open(postgres.Config{DSN: "postgres://u:s3cret@[::1"})
	if err == nil || contains(err.Error(), "s3cret") {
		t.Fatalf("Open(bad dsn) = %v", err)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// A lease is held by one holder at a time until it expires by the
// database's clock, then another may take it.
func TestLease(t *testing.T) {
	s := open(t, pgtest.Shared(t).NewDatabase(t))
	got := func(holder string, ttl time.Duration) bool {
		_, ok, err := s.Lease("sweep", holder, ttl)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !got("a", 800*time.Millisecond) || got("b", time.Second) || !got("a", 800*time.Millisecond) {
		t.Fatal("a first holder keeps its lease and renews it; others wait")
	}
	time.Sleep(time.Second)
	if !got("b", time.Minute) || got("a", time.Minute) {
		t.Fatal("an expired lease passes to the next taker")
	}
}
