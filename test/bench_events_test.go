package test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/strongroom/strongroom/test/harness"
)

// The cost of read and invocation events (token.read, proxy.invoked): the
// same route with no webhook subscribed (the baseline) and with one, in
// alternating rounds of one run, the subscribed rounds including the
// deliveries the vault sends meanwhile to a loopback receiver. They print
// the ratios and how many events reached the receiver, and assert only that
// every request succeeded and that events were delivered.

// TestLoadProxyEvents measures the ephemeral /proxy (a 4 KiB body with 10
// token expressions) with and without a webhook subscribed to
// proxy.invoked.
func TestLoadProxyEvents(t *testing.T) {
	if testing.Short() {
		t.Skip("load test skipped with -short")
	}
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"status":"approved","id":"ch_123"}`)
	}))
	t.Cleanup(up.Close)
	s := harness.Start(t, harness.Options{Caddyfile: strings.Replace(benchProxyCaddyfile, "UPSTREAM", strings.TrimPrefix(up.URL, "http://"), 2)})
	writer, key := writerKey(t, s), invokerKey(t, s)
	ids, pans := make([]string, 10), make([]string, 10)
	for i := range ids {
		pans[i] = luhnComplete("424242424242" + string(rune('0'+i)) + "00")
		ids[i] = mkToken(t, s, writer, map[string]any{"type": "card_number", "data": pans[i]})
	}
	body := proxyBenchBody(ids, pans, true, 4096)
	call := func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, "POST", s.BaseURL+"/vault/charges", bytes.NewReader(body))
		if err == nil {
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("BT-API-KEY", key)
			req.Header.Set("BT-PROXY-URL", up.URL)
		}
		return req, err
	}
	eventCost(t, s, "POST /proxy", "proxy.invoked", call)
}

// TestLoadTokensReadEvents measures revealing reads (GET /tokens/{id}) with
// and without a webhook subscribed to token.read.
func TestLoadTokensReadEvents(t *testing.T) {
	if testing.Short() {
		t.Skip("load test skipped with -short")
	}
	s := harness.Start(t, harness.Options{Caddyfile: strings.Replace(benchProxyCaddyfile, "UPSTREAM", "127.0.0.1:9", 2)})
	key := tokenApp(t, s, "token:pci:create", "token:pci:read:high")
	tok := s.JSON(t, "POST", "/tokens", key, map[string]any{"type": "card_number", "data": "4242424242424242"}, http.StatusCreated)
	url := s.BaseURL + "/tokens/" + tok["id"].(string)
	read := func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
		if err == nil {
			req.Header.Set("BT-API-KEY", key)
		}
		return req, err
	}
	eventCost(t, s, "GET /tokens/{id}", "token.read", read)
}

// eventCost runs newReq in rounds alternating between no webhook and one
// subscribed to typ, and reports subscribed/unsubscribed ratios.
func eventCost(t *testing.T, s *harness.Server, label, typ string, newReq func(context.Context) (*http.Request, error)) {
	const (
		concurrency = 64
		perRun      = 3 * time.Second
		rounds      = 3
	)
	var received atomic.Int64
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		received.Add(1)
	}))
	t.Cleanup(rcv.Close)
	ctx := context.Background()
	harness.LoadRequests(ctx, "warm-up", newReq, 16, 500*time.Millisecond)
	hook := func(events ...string) (remove func()) {
		h := s.JSON(t, "POST", "/webhooks", s.ManagementKey,
			map[string]any{"name": "bench", "url": rcv.URL + "/hook", "events": events}, http.StatusCreated)
		return func() {
			if st := status(t, s, "DELETE", "/webhooks/"+h["id"].(string), s.ManagementKey); st != http.StatusNoContent {
				t.Fatalf("delete webhook: %d", st)
			}
		}
	}
	check := func(x harness.LoadResult) {
		if x.Errors > 0 || x.Requests == 0 {
			t.Errorf("%s: %d of %d requests failed (statuses %v; first: %s)", label, x.Errors, x.Requests, x.Statuses, x.FirstError)
		}
	}
	var off, other, on []harness.LoadResult
	for round := 1; round <= rounds; round++ {
		r := harness.LoadRequests(ctx, label, newReq, concurrency, perRun)
		off = append(off, r)
		check(r)
		report(t, "round %d  %-18s no webhook          %s", round, label, r)
		// A webhook of the tenant listens to another event: the call
		// only looks it up.
		remove := hook("token.created")
		r = harness.LoadRequests(ctx, label, newReq, concurrency, perRun)
		other = append(other, r)
		check(r)
		report(t, "round %d  %-18s webhook, other event %s", round, label, r)
		remove()
		remove = hook(typ)
		before := received.Load()
		r = harness.LoadRequests(ctx, label, newReq, concurrency, perRun)
		on = append(on, r)
		check(r)
		// The round's events drain to the receiver (a bounded wait, so the
		// next rounds do not pay for them), then the webhook goes.
		drain := time.Now()
		for deadline := drain.Add(60 * time.Second); received.Load()-before < int64(r.Requests) && time.Now().Before(deadline); {
			time.Sleep(20 * time.Millisecond)
		}
		got, took := received.Load()-before, time.Since(drain)+r.Duration
		report(t, "round %d  %-18s %-19s %s (%d of %d events delivered, %.0f/s from the round's start)",
			round, label, typ, r, got, r.Requests, float64(got)/took.Seconds())
		remove()
	}
	if received.Load() == 0 {
		t.Errorf("no %s event delivered", typ)
	}
	a, o, b := harness.Combine(off...), harness.Combine(other...), harness.Combine(on...)
	report(t, "total    %-18s no webhook          %s", label, a)
	report(t, "total    %-18s webhook, other event %s", label, o)
	report(t, "total    %-18s %-19s %s", label, typ, b)
	for _, c := range []struct {
		what string
		r    harness.LoadResult
	}{{"a webhook on another event", o}, {"subscribed to " + typ + " (deliveries included)", b}} {
		report(t, "ratio %s / no webhook: throughput %.2f, p50 %.2fx, p99 %.2fx",
			c.what, c.r.RPS/a.RPS, float64(c.r.P50)/float64(a.P50), float64(c.r.P99)/float64(a.P99))
	}
}
