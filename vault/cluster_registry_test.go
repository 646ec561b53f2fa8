package vault

import (
	"crypto/rand"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/strongroom/strongroom/test/pgtest"
	"github.com/strongroom/strongroom/vault/internal/kernel"
	"github.com/strongroom/strongroom/vault/store"
	"github.com/strongroom/strongroom/vault/store/postgres"
)

// Nodes with two different master keys starting at once on an empty
// database: the first registry written wins, and every node holding the
// other key is refused (ErrWrongMasterKey) instead of overwriting it.
func TestClusterFirstRegistryWriteIsInsertIfAbsent(t *testing.T) {
	srv := pgtest.Shared(t)
	for round := range 3 {
		dsn := srv.NewDatabase(t)
		keys := [2][]byte{make([]byte, 32), make([]byte, 32)}
		rand.Read(keys[0])
		rand.Read(keys[1])
		const nodes = 6
		errs := make([]error, nodes)
		var wg sync.WaitGroup
		for i := range nodes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s, err := postgres.Open(postgres.Config{DSN: dsn, MaxConns: 2})
				if err != nil {
					errs[i] = err
					return
				}
				c, err := Open(Options{DataDir: t.TempDir(), MasterKey: keys[i%2], Store: s})
				if err == nil {
					c.Close()
				}
				errs[i] = err
			}()
		}
		wg.Wait()
		opened := [2]int{}
		for i, err := range errs {
			switch {
			case err == nil:
				opened[i%2]++
			case !errors.Is(err, ErrWrongMasterKey):
				t.Fatalf("round %d node %d: %v", round, i, err)
			}
		}
		if !(opened == [2]int{nodes / 2, 0} || opened == [2]int{0, nodes / 2}) {
			t.Fatalf("round %d: nodes opened by key = %v; want every node of one key and none of the other", round, opened)
		}
	}
}

// Sweep on a shared store runs every purge on the lease's fenced view, and
// that view carries every domain service (a bare view once panicked here).
func TestClusterSweepPurgesOnTheFencedView(t *testing.T) {
	s, err := postgres.Open(postgres.Config{DSN: pgtest.Shared(t).NewDatabase(t), MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	v, err := openView(Options{DataDir: t.TempDir(), MasterKey: testMaster, ManagementKey: testMgmtKey, Store: s}, Settings{})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	e := &env{t: t, v: v, closed: true}
	mgmt := e.auth(testMgmtKey)
	t0 := kernel.Now()
	move := setClock(t, t0)
	name := "short"
	a, err := v.CreateApplication(mgmt, ApplicationRequest{Name: &name, Type: ptr("expiring"),
		Permissions: []string{"token:read"}, ExpiresAt: kernel.TimePtr(t0.Add(time.Minute))})
	if err != nil {
		t.Fatal(err)
	}
	move(t0.Add(time.Hour))
	if err := v.Sweep(); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Store().Get(kernel.AppRecordKey(a.TenantID, a.ID)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("expired application not purged by the lease holder's sweep: %v", err)
	}
}
