package vault

import (
	"crypto/rand"
	"errors"
	"sync"
	"testing"

	"github.com/strongroom/strongroom/test/pgtest"
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
