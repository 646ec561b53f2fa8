package test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/strongroom/strongroom/test/harness"
)

// benchCaddyfile serves a bare `respond` route (the baseline) and the vault
// API from one site, so both share the process, listener and middleware.
const benchCaddyfile = `{
	admin {$STRONGROOM_ADMIN}
	vault {
		data_dir {$STRONGROOM_DATA_DIR}
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

// TestLoadAuthLookup measures the cost of an authenticated API call
// (key lookup through the auth cache plus a small JSON answer) against a
// bare Caddy `respond` route in the same run. It reports, and asserts only
// that every request succeeded: absolute numbers on a shared machine are
// noise, the ratio is the figure to watch.
func TestLoadAuthLookup(t *testing.T) {
	if testing.Short() {
		t.Skip("load test skipped with -short")
	}
	const (
		concurrency = 64
		perRun      = 3 * time.Second
		rounds      = 2
	)
	s := harness.Start(t, harness.Options{Caddyfile: benchCaddyfile})
	bare := s.BaseURL + "/bare"
	api := s.BaseURL + "/applications/key"
	auth := map[string]string{"BT-API-KEY": s.ManagementKey}

	// Sanity: both routes answer as expected before measuring.
	if st, _, body := s.Do(t, "GET", "/bare", "", nil); st != http.StatusOK || string(body) != "ok" {
		t.Fatalf("GET /bare: %d %q", st, body)
	}
	s.JSON(t, "GET", "/applications/key", s.ManagementKey, nil, http.StatusOK)

	ctx := context.Background()
	for _, u := range []string{bare, api} { // warm-up: connections, caches, JIT-free but GC-warm
		if r := harness.Load(ctx, u, auth, 16, 700*time.Millisecond); r.Errors > 0 {
			t.Fatalf("warm-up %s: %d errors (first: %s)", u, r.Errors, r.FirstError)
		}
	}

	var bareRuns, apiRuns []harness.LoadResult
	report := func(format string, args ...any) {
		t.Logf(format, args...)
		fmt.Printf(format+"\n", args...)
	}
	for round := 1; round <= rounds; round++ {
		a := harness.Load(ctx, bare, auth, concurrency, perRun)
		b := harness.Load(ctx, api, auth, concurrency, perRun)
		bareRuns, apiRuns = append(bareRuns, a), append(apiRuns, b)
		report("round %d  (a) GET /bare              %s", round, a)
		report("round %d  (b) GET /applications/key  %s", round, b)
		for _, r := range []harness.LoadResult{a, b} {
			if r.Errors > 0 || r.Requests == 0 {
				t.Errorf("%s: %d of %d requests failed (statuses %v; first: %s)", r.URL, r.Errors, r.Requests, r.Statuses, r.FirstError)
			}
		}
	}
	a, b := harness.Combine(bareRuns...), harness.Combine(apiRuns...)
	report("total    (a) GET /bare              %s", a)
	report("total    (b) GET /applications/key  %s", b)
	if a.RPS > 0 && a.P50 > 0 && a.P99 > 0 {
		report("ratio b/a: throughput %.2f, p50 %.2f, p99 %.2f (c=%d, %d x %v per route, interleaved)",
			b.RPS/a.RPS, float64(b.P50)/float64(a.P50), float64(b.P99)/float64(a.P99), concurrency, rounds, perRun)
	}
}
