package test

import (
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/strongroom/strongroom/test/harness"
	"github.com/strongroom/strongroom/test/pgtest"
)

// Three nodes started at the same moment on an empty database with one
// management key make one tenant, and each node serves what another wrote.
func TestClusterStartTogetherShareOneVault(t *testing.T) {
	t.Parallel()
	nodes := harness.Cluster(t, 3, nil, harness.Options{})
	tenant := nodes[0].JSON(t, "GET", "/tenants/self", nodes[0].ManagementKey, nil, http.StatusOK)["id"]
	for i, n := range nodes {
		if got := n.JSON(t, "GET", "/tenants/self", n.ManagementKey, nil, http.StatusOK)["id"]; got != tenant {
			t.Fatalf("node %d serves tenant %v, node 0 %v: the nodes bootstrapped separately", i, got, tenant)
		}
	}
	// One management application: the known key was registered once.
	apps := nodes[1].JSON(t, "GET", "/applications", nodes[1].ManagementKey, nil, http.StatusOK)["data"].([]any)
	if len(apps) != 1 {
		t.Fatalf("%d applications after three nodes bootstrapped with one key, want 1: %s", len(apps), js(apps))
	}
	// A write acknowledged by one node is readable at once from the others.
	key := tokenApp(t, nodes[2], tokenPerms...)
	for i := range nodes {
		w, r := nodes[i], nodes[(i+1)%len(nodes)]
		tok := w.JSON(t, "POST", "/tokens", key, map[string]any{"type": "token", "data": fmt.Sprint("value ", i)}, http.StatusCreated)
		got := r.JSON(t, "GET", "/tokens/"+tok["id"].(string), key, nil, http.StatusOK)
		if got["data"] != fmt.Sprint("value ", i) {
			t.Fatalf("node %d reads %v for node %d's token", (i+1)%len(nodes), got["data"], i)
		}
	}
}

// In PostgreSQL mode a node without a master key refuses to start and
// never generates one.
func TestClusterRefusesToStartWithoutMasterKey(t *testing.T) {
	t.Parallel()
	dsn := pgtest.Shared(t).NewDatabase(t)
	dataDir := t.TempDir()
	code, log := harness.StartFailure(t, harness.Options{DataDir: dataDir, Env: []string{"STRONGROOM_DATABASE_URL=" + dsn}})
	if code == 0 || !strings.Contains(log, "never generates one") {
		t.Fatalf("exit %d; want a refusal naming the missing master key; log:\n%s", code, log)
	}
	if m, _ := filepath.Glob(filepath.Join(dataDir, "*.key")); len(m) != 0 {
		t.Fatalf("a key file was written: %v", m)
	}
	if strings.Contains(log, pgtest.Password) {
		t.Fatal("the log holds the database password")
	}
}

// Concurrent creates of one client-supplied id, or of one id an alias
// expression derives from the data, on two nodes: exactly one 201, the
// others 409, and the stored token is the winner's.
func TestClusterConcurrentSameIDCreates(t *testing.T) {
	t.Parallel()
	nodes := harness.Cluster(t, 2, nil, harness.Options{})
	key := tokenApp(t, nodes[0], tokenPerms...)
	for round := 0; round < 10; round++ {
		id := fmt.Sprintf("order-%d-card", round)
		reqID := id
		if round%2 == 1 { // every caller's data starts with the same alias
			reqID = "{{ data | split: ':' | first }}"
		}
		const perNode = 4
		var created, conflicts, other atomic.Int32
		var winner atomic.Value
		var wg sync.WaitGroup
		for i := 0; i < 2*perNode; i++ {
			n := nodes[i%2]
			wg.Add(1)
			go func() {
				defer wg.Done()
				data := fmt.Sprintf("%s:from %d", id, i)
				st, _, body := n.Do(t, "POST", "/tokens", key, map[string]any{"id": reqID, "type": "token", "data": data})
				switch st {
				case http.StatusCreated:
					created.Add(1)
					winner.Store(data)
				case http.StatusConflict:
					conflicts.Add(1)
				default:
					other.Add(1)
					t.Errorf("create: %d %s", st, body)
				}
			}()
		}
		wg.Wait()
		if created.Load() != 1 || conflicts.Load() != 2*perNode-1 {
			t.Fatalf("round %d: %d created, %d conflicts, %d other; want exactly one 201", round, created.Load(), conflicts.Load(), other.Load())
		}
		for i, n := range nodes {
			got := n.JSON(t, "GET", "/tokens/"+id, key, nil, http.StatusOK)
			if got["data"] != winner.Load() {
				t.Fatalf("round %d: node %d reads %v, the 201 was for %v", round, i, got["data"], winner.Load())
			}
		}
	}
}

// Deduplicated creates of one value racing on two nodes return one token.
func TestClusterDeduplicationIsExact(t *testing.T) {
	t.Parallel()
	nodes := harness.Cluster(t, 2, nil, harness.Options{})
	key := tokenApp(t, nodes[1], tokenPerms...)
	for round := 0; round < 5; round++ {
		value := luhnComplete(fmt.Sprintf("411111%09d", round))
		ids := make([]string, 8)
		var wg sync.WaitGroup
		for i := range ids {
			n := nodes[i%2]
			wg.Add(1)
			go func() {
				defer wg.Done()
				st, _, body := n.Do(t, "POST", "/tokens", key,
					map[string]any{"type": "card_number", "data": value, "deduplicate_token": true})
				if st != http.StatusCreated && st != http.StatusOK {
					t.Errorf("create: %d %s", st, body)
					return
				}
				ids[i] = decodeObj(t, body)["id"].(string)
			}()
		}
		wg.Wait()
		for _, id := range ids {
			if id != ids[0] {
				t.Fatalf("round %d: deduplicated creates returned different tokens: %v", round, ids)
			}
		}
	}
}

// kill -9 of PostgreSQL under write load: while it is down every node
// answers 503 RFC 7807 within its bound (never 500, never a hang); when it
// is back they serve again without a restart, and every write that was
// acknowledged (201), before or during the outage, is there.
func TestClusterDatabaseKilledUnderLoad(t *testing.T) {
	t.Parallel()
	srv := pgtest.Start(t)
	nodes := harness.Cluster(t, 2, srv, harness.Options{})
	key := tokenApp(t, nodes[0], tokenPerms...)

	load := startWriteLoad(t, nodes, key, 8)
	time.Sleep(time.Second)
	srv.Kill()
	time.Sleep(2 * time.Second) // writers meet the outage
	for i, n := range nodes {
		st, hdr, body := n.Do(t, "GET", "/tokens?size=1", key, nil)
		checkProblem(t, fmt.Sprintf("node %d list with the database down", i), st, hdr, body, http.StatusServiceUnavailable)
	}
	srv.Restart(t)
	deadline := time.Now().Add(60 * time.Second)
	for before := load.created(); load.created() < before+20; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the nodes did not recover within 60 s")
		}
	}
	acked, statuses := load.stop()
	if statuses[http.StatusServiceUnavailable] == 0 || statuses[0] != 0 {
		t.Fatalf("statuses %v: want 503s during the outage and an answer to every request", statuses)
	}
	for id, data := range acked {
		n := nodes[len(id)%2]
		if got := n.JSON(t, "GET", "/tokens/"+id, key, nil, http.StatusOK); got["data"] != data {
			t.Fatalf("acknowledged token %s reads %v after recovery, want %s", id, got["data"], data)
		}
	}
	t.Logf("statuses %v; %d acknowledged writes all read back", statuses, len(acked))
}

// Plaintext never reaches the database: a pg_dump of it holds none of the
// card numbers written through the API.
func TestClusterDumpHoldsNoPlaintext(t *testing.T) {
	t.Parallel()
	srv := pgtest.Shared(t)
	nodes := harness.Cluster(t, 1, srv, harness.Options{})
	n := nodes[0]
	key := tokenApp(t, n, tokenPerms...)
	var pans []string
	for i := 0; i < 20; i++ {
		pan := luhnComplete(fmt.Sprintf("424242%09d", 100000+i))
		pans = append(pans, pan)
		n.JSON(t, "POST", "/tokens", key, map[string]any{"type": "card_number", "data": pan,
			"search_indexes": []string{"{{ data }}"}, "metadata": map[string]any{"note": "dump test"}}, http.StatusCreated)
	}
	db := databaseOf(t, n)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dump, err := exec.CommandContext(ctx, filepath.Join(pgtest.BinDir, "pg_dump"), "--data-only", "--inserts", "-d", db).Output()
	if err != nil {
		t.Fatalf("pg_dump: %v", err)
	}
	if !strings.Contains(string(dump), "strongroom_kv") {
		t.Fatalf("the dump holds no vault table (%d bytes)", len(dump))
	}
	for _, pan := range pans {
		for _, form := range []string{pan, hexBytes(pan)} {
			if strings.Contains(string(dump), form) {
				t.Fatalf("the database dump holds the card number %s", pan)
			}
		}
	}
}

var tokenPerms = []string{"token:create", "token:read", "token:update", "token:delete"}

// databaseOf is the database URL a harness server was started with.
func databaseOf(t *testing.T, s *harness.Server) string {
	t.Helper()
	for _, kv := range s.Env() {
		if v, ok := strings.CutPrefix(kv, "STRONGROOM_DATABASE_URL="); ok {
			return v
		}
	}
	t.Fatal("the server is not on PostgreSQL")
	return ""
}

// hexBytes is how bytea shows s in a dump.
func hexBytes(s string) string { return fmt.Sprintf("%x", s) }
