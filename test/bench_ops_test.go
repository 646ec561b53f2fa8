package test

import (
	"bytes"
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/strongroom/strongroom/test/harness"
)

// TestLoadOpsOverhead measures what the vault metrics and rate limiting
// (limits set far above the load) cost token creates and reads: the same
// load against a server with both on and one with both off, in the same
// run, in short interleaved rounds (the order alternating). It prints the
// median of the per-round throughput ratios, which shrugs off a round
// disturbed by other work on a shared machine, and the ratio of the totals
// (target: overhead under 5%); it asserts only that every request
// succeeded.
func TestLoadOpsOverhead(t *testing.T) {
	if testing.Short() {
		t.Skip("load test skipped with -short")
	}
	const (
		concurrency = 32
		perRun      = 500 * time.Millisecond
		rounds      = 6
	)
	withVault := func(lines string) string {
		return strings.Replace(benchCaddyfile, "\t\tdata_dir {$STRONGROOM_DATA_DIR}\n", "\t\tdata_dir {$STRONGROOM_DATA_DIR}\n"+lines, 1)
	}
	off := harness.Start(t, harness.Options{Caddyfile: withVault("\t\tmetrics off\n")})
	on := harness.Start(t, harness.Options{Caddyfile: withVault("\t\trate_limit {\n\t\t\ttokenize 1000000/s\n\t\t\tread 1000000/s\n\t\t}\n")})

	type target struct {
		s            *harness.Server
		create, read func(context.Context) (*http.Request, error)
		cpu          [2]time.Duration // server CPU spent on creates, reads
		n            [2]int
	}
	prepare := func(s *harness.Server) target {
		key := tokenApp(t, s, "token:pci:create", "token:pci:read:high")
		tok := s.JSON(t, "POST", "/tokens", key, map[string]any{"type": "card_number", "data": "4242424242424242"}, http.StatusCreated)
		body := []byte(`{"type":"card_number","data":"4242424242424242","metadata":{"order":"1234"}}`)
		readURL := s.BaseURL + "/tokens/" + tok["id"].(string)
		return target{
			s: s,
			create: func(ctx context.Context) (*http.Request, error) {
				req, err := http.NewRequestWithContext(ctx, "POST", s.BaseURL+"/tokens", bytes.NewReader(body))
				if err == nil {
					req.Header.Set("BT-API-KEY", key)
					req.Header.Set("Content-Type", "application/json")
				}
				return req, err
			},
			read: func(ctx context.Context) (*http.Request, error) {
				req, err := http.NewRequestWithContext(ctx, "GET", readURL, nil)
				if err == nil {
					req.Header.Set("BT-API-KEY", key)
				}
				return req, err
			},
		}
	}
	tOff, tOn := prepare(off), prepare(on)
	ctx := context.Background()
	for _, x := range []target{tOff, tOn} { // warm-up
		harness.LoadRequests(ctx, "warm-up", x.create, 16, 300*time.Millisecond)
		harness.LoadRequests(ctx, "warm-up", x.read, 16, 300*time.Millisecond)
	}
	var cOff, cOn, rOff, rOn []harness.LoadResult
	var cRatios, rRatios []float64
	for round := 1; round <= rounds; round++ {
		// Alternate which server goes first, so drift on the shared
		// machine does not favour one side.
		first, second := &tOff, &tOn
		if round%2 == 0 {
			first, second = second, first
		}
		results := map[*target][2]harness.LoadResult{}
		for _, x := range []*target{first, second} {
			var res [2]harness.LoadResult
			for i, f := range []func(context.Context) (*http.Request, error){x.create, x.read} {
				cpu0, _ := x.s.CPUTime()
				res[i] = harness.LoadRequests(ctx, []string{"POST /tokens", "GET /tokens/{id}"}[i], f, concurrency, perRun)
				cpu1, _ := x.s.CPUTime()
				x.cpu[i] += cpu1 - cpu0
				x.n[i] += res[i].Requests
			}
			c, r := res[0], res[1]
			results[x] = res
			for _, res := range []harness.LoadResult{c, r} {
				if res.Errors > 0 || res.Requests == 0 {
					t.Errorf("%s: %d of %d requests failed (statuses %v; first: %s)", res.URL, res.Errors, res.Requests, res.Statuses, res.FirstError)
				}
			}
		}
		cOff, rOff = append(cOff, results[&tOff][0]), append(rOff, results[&tOff][1])
		cOn, rOn = append(cOn, results[&tOn][0]), append(rOn, results[&tOn][1])
		cRatios = append(cRatios, results[&tOn][0].RPS/results[&tOff][0].RPS)
		rRatios = append(rRatios, results[&tOn][1].RPS/results[&tOff][1].RPS)
		report(t, "round %d  off: create %s", round, results[&tOff][0])
		report(t, "round %d  on:  create %s", round, results[&tOn][0])
		report(t, "round %d  off: read   %s", round, results[&tOff][1])
		report(t, "round %d  on:  read   %s", round, results[&tOn][1])
	}
	co, cn := harness.Combine(cOff...), harness.Combine(cOn...)
	ro, rn := harness.Combine(rOff...), harness.Combine(rOn...)
	report(t, "totals   create off %.0f req/s, on %.0f req/s; read off %.0f req/s, on %.0f req/s", co.RPS, cn.RPS, ro.RPS, rn.RPS)
	perReq := func(x *target, i int) float64 { return float64(x.cpu[i].Microseconds()) / float64(max(x.n[i], 1)) }
	report(t, "server CPU per request: create off %.0fµs, on %.0fµs (ratio %.3f); read off %.0fµs, on %.0fµs (ratio %.3f)",
		perReq(&tOff, 0), perReq(&tOn, 0), perReq(&tOn, 0)/perReq(&tOff, 0), perReq(&tOff, 1), perReq(&tOn, 1), perReq(&tOn, 1)/perReq(&tOff, 1))
	report(t, "metrics + rate limits on/off throughput: create median %.3f (totals %.3f), read median %.3f (totals %.3f); target >= 0.95 (overhead < 5%%)",
		median(cRatios), cn.RPS/co.RPS, median(rRatios), rn.RPS/ro.RPS)
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if n := len(s); n%2 == 1 {
		return s[n/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
