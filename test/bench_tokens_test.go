package test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/strongroom/strongroom/test/harness"
	"github.com/strongroom/strongroom/vault"
	"github.com/strongroom/strongroom/vault/access"
	"github.com/strongroom/strongroom/vault/egress"
)

func report(t *testing.T, format string, args ...any) {
	t.Helper()
	t.Logf(format, args...)
	fmt.Printf(format+"\n", args...)
}

// TestLoadTokens measures durable token creation (POST /tokens, a
// card_number, synced write) and revealing reads (GET /tokens/{id}) with 64
// concurrent clients, each against a bare Caddy `respond` route measured in
// the same run, in interleaved rounds. It prints the figures and ratios and
// asserts only that every request succeeded.
func TestLoadTokens(t *testing.T) {
	if testing.Short() {
		t.Skip("load test skipped with -short")
	}
	const (
		concurrency = 64
		perRun      = 3 * time.Second
		rounds      = 2
	)
	s := harness.Start(t, harness.Options{Caddyfile: benchCaddyfile})
	key := tokenApp(t, s, "token:pci:create", "token:pci:read:high")
	tok := s.JSON(t, "POST", "/tokens", key, map[string]any{"type": "card_number", "data": "4242424242424242"}, http.StatusCreated)
	if got := s.JSON(t, "GET", "/tokens/"+tok["id"].(string), key, nil, http.StatusOK); got["data"] != "4242424242424242" {
		t.Fatalf("read back %v", got["data"])
	}
	ctx := context.Background()
	body := []byte(`{"type":"card_number","data":"4242424242424242","metadata":{"order":"1234"}}`)
	create := func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, "POST", s.BaseURL+"/tokens", bytes.NewReader(body))
		if err == nil {
			req.Header.Set("BT-API-KEY", key)
			req.Header.Set("Content-Type", "application/json")
		}
		return req, err
	}
	bare := s.BaseURL + "/bare"
	read := s.BaseURL + "/tokens/" + tok["id"].(string)
	auth := map[string]string{"BT-API-KEY": key}
	harness.Load(ctx, bare, nil, 16, 500*time.Millisecond)
	harness.LoadRequests(ctx, "POST /tokens", create, 16, 500*time.Millisecond)
	harness.Load(ctx, read, auth, 16, 500*time.Millisecond)

	var bares, creates, reads []harness.LoadResult
	for round := 1; round <= rounds; round++ {
		a := harness.Load(ctx, bare, nil, concurrency, perRun)
		c := harness.LoadRequests(ctx, "POST /tokens", create, concurrency, perRun)
		r := harness.Load(ctx, read, auth, concurrency, perRun)
		bares, creates, reads = append(bares, a), append(creates, c), append(reads, r)
		report(t, "round %d  GET /bare          %s", round, a)
		report(t, "round %d  POST /tokens       %s", round, c)
		report(t, "round %d  GET /tokens/{id}   %s", round, r)
		for _, x := range []harness.LoadResult{a, c, r} {
			if x.Errors > 0 || x.Requests == 0 {
				t.Errorf("%s: %d of %d requests failed (statuses %v; first: %s)", x.URL, x.Errors, x.Requests, x.Statuses, x.FirstError)
			}
		}
	}
	a, c, r := harness.Combine(bares...), harness.Combine(creates...), harness.Combine(reads...)
	report(t, "total    GET /bare          %s", a)
	report(t, "total    POST /tokens       %s", c)
	report(t, "total    GET /tokens/{id}   %s", r)
	report(t, "ratio vs bare: create throughput %.2f (target >= 0.35), read throughput %.2f (target >= 0.50); create p99 %v (target < 10ms)",
		c.RPS/a.RPS, r.RPS/a.RPS, c.P99.Round(10*time.Microsecond))
}

// TestLoadReadScale checks that reading a token costs the same in a small
// and a large store (an index lookup, not a scan). The large store holds
// STRONGROOM_BENCH_TOKENS tokens (default 100,000; the figure in the issue
// note used 1,000,000), loaded in-process through the vault's own
// tokenize path before the server starts.
func TestLoadReadScale(t *testing.T) {
	if testing.Short() {
		t.Skip("load test skipped with -short")
	}
	large := 100_000
	if s := os.Getenv("STRONGROOM_BENCH_TOKENS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1000 {
			t.Fatalf("STRONGROOM_BENCH_TOKENS=%q: want a number >= 1000", s)
		}
		large = n
	}
	const small = 1000
	measure := func(n int) harness.LoadResult {
		dir, mgmt := t.TempDir(), harness.NewKey()
		key, ids := bulkLoad(t, dir, mgmt, n)
		s := harness.Start(t, harness.Options{DataDir: dir, ManagementKey: mgmt})
		defer s.Stop(t)
		rng := rand.New(rand.NewPCG(1, uint64(n)))
		read := func(ctx context.Context) (*http.Request, error) {
			req, err := http.NewRequestWithContext(ctx, "GET", s.BaseURL+"/tokens/"+ids[rng.IntN(len(ids))], nil)
			if err == nil {
				req.Header.Set("BT-API-KEY", key)
			}
			return req, err
		}
		harness.LoadRequests(context.Background(), "warm-up", read, 16, 500*time.Millisecond)
		res := harness.LoadRequests(context.Background(), fmt.Sprintf("GET /tokens/{random id} (%d tokens)", n), read, 16, 3*time.Second)
		if res.Errors > 0 || res.Requests == 0 {
			t.Errorf("%s: %d of %d failed (statuses %v; first: %s)", res.URL, res.Errors, res.Requests, res.Statuses, res.FirstError)
		}
		report(t, "%-48s %s", res.URL, res)
		return res
	}
	s, l := measure(small), measure(large)
	report(t, "read latency %d vs %d tokens: p50 ratio %.2f, p99 ratio %.2f, throughput ratio %.2f (flat = about 1)",
		large, small, float64(l.P50)/float64(s.P50), float64(l.P99)/float64(s.P99), l.RPS/s.RPS)
}

// bulkLoad fills a data dir with n `token` tokens through the vault's
// tokenize path (1,000 per atomic batch) and returns a key that reads them
// and a sample of their ids.
func bulkLoad(t *testing.T, dir, mgmt string, n int) (string, []string) {
	t.Helper()
	c, err := vault.Open(vault.Options{DataDir: dir, ManagementKey: mgmt})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	v := c.Bind(nil, egress.Policy{}, vault.Settings{})
	admin, err := v.Authenticate(mgmt)
	if err != nil {
		t.Fatal(err)
	}
	name, typ := "bulk", access.TypeServerToServer
	app, err := v.CreateApplication(admin, vault.ApplicationRequest{Name: &name, Type: &typ,
		Permissions: []string{"token:general:create", "token:general:read:high"}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := v.Authenticate(app.Key)
	if err != nil {
		t.Fatal(err)
	}
	var sample []string
	start := time.Now()
	for done := 0; done < n; {
		batch := make([]any, min(1000, n-done))
		for i := range batch {
			batch[i] = fmt.Sprintf("value-%d", done+i)
		}
		out, err := v.Tokenize(p, batch)
		if err != nil {
			t.Fatal(err)
		}
		ids := out.([]any)
		for i := 0; i < len(ids); i += 97 {
			sample = append(sample, ids[i].(string))
		}
		done += len(batch)
	}
	t.Logf("loaded %d tokens in %v", n, time.Since(start).Round(time.Millisecond))
	return app.Key, sample
}
