package harness

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/strongroom/strongroom/test/pgtest"
)

// EnvTestStorage chooses the storage of servers whose Caddyfile reads
// STRONGROOM_DATABASE_URL (the default one does): unset or "pebble" is the
// embedded store; "postgres" gives each data directory its own database on
// a private PostgreSQL started once per test process, so the same tests
// run on both backends.
const EnvTestStorage = "STRONGROOM_TEST_STORAGE"

// Postgres reports whether this test process runs servers on PostgreSQL.
func Postgres() bool { return os.Getenv(EnvTestStorage) == "postgres" }

// clusterDB is the database and master key one data directory stands for:
// a server restarted on the same data dir finds its data again.
type clusterDB struct{ url, masterKey string }

var (
	clusterDBsMu sync.Mutex
	clusterDBs   = map[string]clusterDB{}
)

// storageEnv is the environment that puts a server on PostgreSQL when the
// switch says so (nil otherwise). It goes before Options.Env, which wins.
func storageEnv(t testing.TB, dataDir string, opts Options) []string {
	if !Postgres() || (opts.Caddyfile != "" && !strings.Contains(opts.Caddyfile, "STRONGROOM_DATABASE_URL")) {
		return nil
	}
	for _, kv := range opts.Env {
		if strings.HasPrefix(kv, "STRONGROOM_DATABASE_URL=") {
			return nil // the test chose its database (Cluster)
		}
	}
	clusterDBsMu.Lock()
	defer clusterDBsMu.Unlock()
	db, ok := clusterDBs[dataDir]
	if !ok {
		key := make([]byte, 32)
		rand.Read(key)
		db = clusterDB{url: pgtest.Shared(t).NewDatabase(t), masterKey: hex.EncodeToString(key)}
		clusterDBs[dataDir] = db
	}
	return []string{"STRONGROOM_DATABASE_URL=" + db.url, "STRONGROOM_MASTER_KEY=" + db.masterKey}
}

// Cluster starts n servers on one new PostgreSQL database (of srv, or of
// the shared test server when srv is nil) with one master key and one
// management key: a cluster of nodes serving one vault.
func Cluster(t testing.TB, n int, srv *pgtest.Server, opts Options) []*Server {
	t.Helper()
	if srv == nil {
		srv = pgtest.Shared(t)
	}
	key := make([]byte, 32)
	rand.Read(key)
	if opts.ManagementKey == "" {
		opts.ManagementKey = NewKey()
	}
	opts.Env = append([]string{"STRONGROOM_DATABASE_URL=" + srv.NewDatabase(t), "STRONGROOM_MASTER_KEY=" + hex.EncodeToString(key)}, opts.Env...)
	nodes := make([]*Server, n)
	var wg sync.WaitGroup
	for i := range nodes {
		wg.Add(1)
		go func() { // at once: start-up races are part of what is tested
			defer wg.Done()
			nodes[i] = Start(t, opts)
		}()
	}
	wg.Wait()
	return nodes
}

// Env is the extra environment the server runs with (Options.Env and the
// storage switch's), e.g. to find its database.
func (s *Server) Env() []string { return append([]string(nil), s.env...) }
