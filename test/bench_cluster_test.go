package test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/strongroom/strongroom/test/harness"
	"github.com/strongroom/strongroom/test/pgtest"
)

// benchClusterCaddyfile is benchCaddyfile whose storage follows
// STRONGROOM_DATABASE_URL, as in the default Caddyfile.
const benchClusterCaddyfile = `{
	admin {$STRONGROOM_ADMIN}
	vault {
		data_dir {$STRONGROOM_DATA_DIR}
		storage {$STRONGROOM_DATABASE_URL:pebble}
	}
}

http://:{$STRONGROOM_PORT} {
	handle /bare {
		respond "ok" 200
	}
	handle {
		vault_api
	}
}
`

// benchNodeCPUs is each node's CPU cap in TestLoadCluster: two nodes take
// 0.7 of the 2 cores, leaving the rest to PostgreSQL and the load
// generator.
const benchNodeCPUs = 0.35

// clusterTarget is one way of serving the load: one or more nodes, the
// clients split evenly between them.
type clusterTarget struct {
	name  string
	nodes []*harness.Server
	key   string
	token string // a card_number token to read
}

// TestLoadCluster measures POST /tokens and GET /tokens/{id} at 64 clients
// on Pebble, on one PostgreSQL node and split across two PostgreSQL nodes,
// each as a ratio against the bare route of the same nodes in the same
// run, and the two-node/one-node ratio. Every node runs with GOMAXPROCS=1
// and, where a cgroup can be made, capped at benchNodeCPUs, so that the
// nodes and not PostgreSQL or the load generator (which share the 2 cores)
// are the bottleneck, and two nodes have exactly twice one node's CPU.
// It asserts only that every request succeeded.
func TestLoadCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("load test skipped with -short")
	}
	pgtest.Require(t)
	const (
		concurrency = 64
		perRun      = 3 * time.Second
	)
	capped := harness.Options{Caddyfile: benchClusterCaddyfile, Env: []string{"GOMAXPROCS=1"}}
	if how, err := harness.CPUCapAvailable(); err == nil {
		capped.CPUs = benchNodeCPUs
		report(t, "every node capped at %.2f CPU (%s; GOMAXPROCS=1)", benchNodeCPUs, how)
	} else {
		report(t, "nodes UNCAPPED (GOMAXPROCS=1 only: %v): the 2-node/1-node ratio shares the cores with PostgreSQL and the load generator", err)
	}
	db := pgtest.Shared(t)
	pebble := harness.Start(t, capped)
	pg := harness.Cluster(t, 1, nil, capped)
	pair := harness.Cluster(t, 2, nil, capped)
	targets := []*clusterTarget{
		{name: "pebble, 1 node", nodes: []*harness.Server{pebble}},
		{name: "postgres, 1 node", nodes: pg},
		{name: "postgres, 2 nodes", nodes: pair},
	}
	for _, tg := range targets {
		n := tg.nodes[0]
		tg.key = tokenApp(t, n, "token:pci:create", "token:pci:read:high")
		tg.token = n.JSON(t, "POST", "/tokens", tg.key, map[string]any{"type": "card_number", "data": "4242424242424242"}, http.StatusCreated)["id"].(string)
		for _, m := range tg.nodes { // every node answers before measuring
			m.JSON(t, "GET", "/tokens/"+tg.token, tg.key, nil, http.StatusOK)
		}
	}
	body := []byte(`{"type":"card_number","data":"4242424242424242","metadata":{"order":"1234"}}`)
	requests := map[string]func(tg *clusterTarget, n *harness.Server) func(context.Context) (*http.Request, error){
		"GET /bare": func(_ *clusterTarget, n *harness.Server) func(context.Context) (*http.Request, error) {
			return func(ctx context.Context) (*http.Request, error) {
				return http.NewRequestWithContext(ctx, "GET", n.BaseURL+"/bare", nil)
			}
		},
		"POST /tokens": func(tg *clusterTarget, n *harness.Server) func(context.Context) (*http.Request, error) {
			return func(ctx context.Context) (*http.Request, error) {
				req, err := http.NewRequestWithContext(ctx, "POST", n.BaseURL+"/tokens", bytes.NewReader(body))
				if err == nil {
					req.Header.Set("BT-API-KEY", tg.key)
					req.Header.Set("Content-Type", "application/json")
				}
				return req, err
			}
		},
		"GET /tokens/{id}": func(tg *clusterTarget, n *harness.Server) func(context.Context) (*http.Request, error) {
			return func(ctx context.Context) (*http.Request, error) {
				req, err := http.NewRequestWithContext(ctx, "GET", n.BaseURL+"/tokens/"+tg.token, nil)
				if err == nil {
					req.Header.Set("BT-API-KEY", tg.key)
				}
				return req, err
			}
		},
	}
	// run loads every node of tg at once, concurrency split between them,
	// and returns the summed throughput.
	run := func(tg *clusterTarget, what string, d time.Duration) float64 {
		results := make([]harness.LoadResult, len(tg.nodes))
		before := cpuNow(tg, db)
		var wg sync.WaitGroup
		for i, n := range tg.nodes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i] = harness.LoadRequests(context.Background(), what, requests[what](tg, n), concurrency/len(tg.nodes), d)
			}()
		}
		wg.Wait()
		if d == perRun {
			report(t, "%-18s         %-17s cpu (cores): %s", tg.name, what, cpuNow(tg, db).since(before))
		}
		total := 0.0
		for i, r := range results {
			if d == perRun {
				report(t, "%-18s node %d  %-17s %s", tg.name, i, what, r)
			}
			if r.Errors > 0 || r.Requests == 0 {
				t.Errorf("%s %s: %d of %d requests failed (statuses %v; first: %s)", tg.name, what, r.Errors, r.Requests, r.Statuses, r.FirstError)
			}
			total += r.RPS
		}
		return total
	}
	rps := map[string]map[string]float64{}
	for _, tg := range targets {
		rps[tg.name] = map[string]float64{}
		for _, what := range []string{"GET /bare", "POST /tokens", "GET /tokens/{id}"} {
			run(tg, what, 500*time.Millisecond) // warm-up
			rps[tg.name][what] = run(tg, what, perRun)
		}
		r := rps[tg.name]
		report(t, "%-18s ratio vs bare: create %.2f, read %.2f", tg.name, r["POST /tokens"]/r["GET /bare"], r["GET /tokens/{id}"]/r["GET /bare"])
	}
	peb, one, two := rps[targets[0].name], rps[targets[1].name], rps[targets[2].name]
	report(t, "postgres 1 node / pebble: create %.2f (target >= 0.5), read %.2f (target >= 0.8)",
		one["POST /tokens"]/peb["POST /tokens"], one["GET /tokens/{id}"]/peb["GET /tokens/{id}"])
	report(t, "postgres 2 nodes / 1 node: create %.2f, read %.2f, bare %.2f (target >= 1.6 when the database is not the bottleneck)",
		two["POST /tokens"]/one["POST /tokens"], two["GET /tokens/{id}"]/one["GET /tokens/{id}"], two["GET /bare"]/one["GET /bare"])
}

// cpuSample is the CPU time used so far by each node of a target, by
// PostgreSQL and by the test process (the load generator): a run's
// figures mean something only if PostgreSQL and the generator had
// headroom while the capped nodes were saturated.
type cpuSample struct {
	at       time.Time
	nodes    []time.Duration
	db, load time.Duration
}

func cpuNow(tg *clusterTarget, db *pgtest.Server) cpuSample {
	c := cpuSample{at: time.Now()}
	for _, n := range tg.nodes {
		d, _ := n.CPUTime()
		c.nodes = append(c.nodes, d)
	}
	c.db, _ = db.CPUTime()
	c.load, _ = harness.SelfCPU()
	return c
}

// since formats the cores each used between before and c.
func (c cpuSample) since(before cpuSample) string {
	cores := func(a, b time.Duration) float64 { return (a - b).Seconds() / c.at.Sub(before.at).Seconds() }
	out := ""
	for i := range c.nodes {
		out += fmt.Sprintf("node %d %.2f, ", i, cores(c.nodes[i], before.nodes[i]))
	}
	return out + fmt.Sprintf("postgres %.2f, load generator %.2f", cores(c.db, before.db), cores(c.load, before.load))
}
