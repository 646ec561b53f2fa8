package test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/strongroom/strongroom/test/harness"
)

// TestLoadJWTAuth measures the cost of seed-000 JWT authentication: the
// same request, GET /projects/{id}/payment-methods/{pmId}, sent with
// `Authorization: Bearer <JWT>` and with a private application's API key,
// interleaved in one run. The ratio is the figure to watch (target ≥ 0.80):
// keys are parsed when registered, and a verified token is cached by its
// hash per key set, so a request costs a hash and the claim checks, not an
// RSA verification or a key parse.
func TestLoadJWTAuth(t *testing.T) {
	if testing.Short() {
		t.Skip("load test skipped with -short")
	}
	const (
		concurrency = 64
		perRun      = 3 * time.Second
		rounds      = 3
	)
	s := start(t)
	mk := s.ManagementKey
	s.JSON(t, "POST", "/projects", mk, map[string]any{"id": "project-bench"}, http.StatusCreated)
	keys := s.JSONValue(t, "POST", "/projects/project-bench/keys", mk, map[string]any{"kid": "key-1", "generate": true}, http.StatusCreated).([]any)
	key := pjParsePrivate(t, keys[0].(map[string]any)["private_key"].(string))
	app := s.JSON(t, "POST", "/applications", mk, map[string]any{"name": "backend", "type": "private",
		"permissions": []string{"payment_method:read"}}, http.StatusCreated)
	apiKey := app["key"].(string)

	claims := pjClaims("user-12345", "project-bench", "private")
	claims["exp"] = time.Now().Add(time.Hour).Unix()
	token := pjMint(key, pjHeader("key-1"), claims)
	st, _, body := pjDo(t, s, "POST", "/projects/project-bench/payment-methods", token, map[string]any{
		"card": map[string]any{"number": "4242424242424242", "expirationMonth": "02", "expirationYear": "2030"}})
	if st != http.StatusCreated {
		t.Fatalf("create: %d %s", st, body)
	}
	pm := decodeObj(t, body)
	url := s.BaseURL + "/projects/project-bench/payment-methods/" + pm["id"].(string)
	jwtHdr := map[string]string{"Authorization": "Bearer " + token}
	keyHdr := map[string]string{"BT-API-KEY": apiKey}

	ctx := context.Background()
	for _, h := range []map[string]string{jwtHdr, keyHdr} { // warm-up: connections and caches
		if r := harness.Load(ctx, url, h, 16, 700*time.Millisecond); r.Errors > 0 {
			t.Fatalf("warm-up: %d errors (statuses %v; first: %s)", r.Errors, r.Statuses, r.FirstError)
		}
	}
	report := func(format string, args ...any) {
		t.Logf(format, args...)
		fmt.Printf(format+"\n", args...)
	}
	var keyRuns, jwtRuns []harness.LoadResult
	for round := 1; round <= rounds; round++ {
		a := harness.Load(ctx, url, keyHdr, concurrency, perRun)
		b := harness.Load(ctx, url, jwtHdr, concurrency, perRun)
		keyRuns, jwtRuns = append(keyRuns, a), append(jwtRuns, b)
		report("round %d  (a) API key  GET payment method  %s", round, a)
		report("round %d  (b) JWT      GET payment method  %s", round, b)
		for _, r := range []harness.LoadResult{a, b} {
			if r.Errors > 0 || r.Requests == 0 {
				t.Errorf("%d of %d requests failed (statuses %v; first: %s)", r.Errors, r.Requests, r.Statuses, r.FirstError)
			}
		}
	}
	a, b := harness.Combine(keyRuns...), harness.Combine(jwtRuns...)
	report("total    (a) API key  GET payment method  %s", a)
	report("total    (b) JWT      GET payment method  %s", b)
	if a.RPS > 0 && a.P50 > 0 && a.P99 > 0 {
		report("ratio b/a: throughput %.2f, p50 %.2f, p99 %.2f (c=%d, %d x %v per credential, interleaved; target throughput >= 0.80)",
			b.RPS/a.RPS, float64(b.P50)/float64(a.P50), float64(b.P99)/float64(a.P99), concurrency, rounds, perRun)
	}
}
