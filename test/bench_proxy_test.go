package test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/strongroom/strongroom/test/harness"
	"github.com/strongroom/strongroom/vault/expr"
	"github.com/strongroom/strongroom/vault/proxy"
)

// benchProxyCaddyfile serves, from one site, a plain Caddy reverse_proxy
// to the local upstream (the baseline) and the vault's /proxy under
// /vault/*, so both share the process, listener and middleware. UPSTREAM
// is replaced with the upstream's host:port.
const benchProxyCaddyfile = `{
	admin {$STRONGROOM_ADMIN}
	vault {
		data_dir {$STRONGROOM_DATA_DIR}
		allow_insecure_destinations
	}
}

http://:{$STRONGROOM_PORT} {
	handle_path /plain/* {
		reverse_proxy UPSTREAM
	}
	handle_path /vault/* {
		rewrite * /proxy{uri}
		vault_api
	}
	handle {
		vault_api
	}
}
`

// proxyBenchBody builds a ~4 KiB JSON body of 10 payments: with withTokens
// each pan is a `{{ id }}` expression, otherwise the literal pan (the same
// shape for the plain baseline). Both are padded to exactly size bytes.
func proxyBenchBody(ids []string, pans []string, withTokens bool, size int) []byte {
	items := make([]string, len(ids))
	for i := range ids {
		pan := pans[i]
		if withTokens {
			pan = "{{ " + ids[i] + " }}"
		}
		items[i] = fmt.Sprintf(`{"n":%d,"amount":12.50,"currency":"EUR","pan":"%s"}`, i, pan)
	}
	head := `{"payments":[` + strings.Join(items, ",") + `],"memo":"`
	return []byte(head + strings.Repeat("m", max(0, size-len(head)-2)) + `"}`)
}

// memStats reads the server's runtime counters from Caddy's admin
// /debug/vars (expvar).
func memStats(t *testing.T, s *harness.Server) (mallocs, bytes uint64, ok bool) {
	t.Helper()
	resp, err := http.Get("http://" + s.AdminAddr + "/debug/vars")
	if err != nil {
		return 0, 0, false
	}
	defer resp.Body.Close()
	var v struct {
		Memstats struct {
			Mallocs, TotalAlloc uint64
		} `json:"memstats"`
	}
	if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&v) != nil || v.Memstats.Mallocs == 0 {
		return 0, 0, false
	}
	return v.Memstats.Mallocs, v.Memstats.TotalAlloc, true
}

// TestLoadProxy measures the detokenizing proxy (a 4 KiB JSON body with 10
// token expressions through the vault's /proxy) against Caddy's plain
// reverse_proxy carrying a same-size body without expressions, to the same
// local upstream, with 64 concurrent clients in interleaved rounds. It
// prints throughput, p50/p99 and their ratios, the server's allocations per
// request (from Caddy's /debug/vars), and the in-process cost of the body
// rewrite alone; it asserts only that every request succeeded and that the
// upstream received the detokenized body.
func TestLoadProxy(t *testing.T) {
	if testing.Short() {
		t.Skip("load test skipped with -short")
	}
	const (
		concurrency = 64
		perRun      = 3 * time.Second
		rounds      = 3
		bodySize    = 4096
		nTokens     = 10
	)

	// The upstream: 200 with a small body, after reading the request.
	var hits atomic.Int64
	var captured struct {
		sync.Mutex
		body []byte
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	upSrv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		hits.Add(1)
		if r.Header.Get("X-Capture") != "" {
			captured.Lock()
			captured.body = b
			captured.Unlock()
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"status":"approved","id":"ch_123"}`)
	})}
	go upSrv.Serve(l)
	t.Cleanup(func() { upSrv.Close() })
	upAddr := l.Addr().String()

	s := harness.Start(t, harness.Options{Caddyfile: strings.Replace(benchProxyCaddyfile, "UPSTREAM", upAddr, 1)})
	writer := writerKey(t, s)
	key := invokerKey(t, s)
	ids := make([]string, nTokens)
	pans := make([]string, nTokens)
	for i := range ids {
		pans[i] = luhnComplete(fmt.Sprintf("424242424242%03d", i))
		ids[i] = mkToken(t, s, writer, map[string]any{"type": "card_number", "data": pans[i]})
	}
	vaultBody := proxyBenchBody(ids, pans, true, bodySize)
	plainBody := proxyBenchBody(ids, pans, false, bodySize)
	if len(vaultBody) != bodySize || len(plainBody) != bodySize {
		t.Fatalf("bodies are %d and %d bytes, want %d", len(vaultBody), len(plainBody), bodySize)
	}
	vaultURL := s.BaseURL + "/vault/charges"
	plainURL := s.BaseURL + "/plain/charges"
	newReq := func(url string, body []byte, vault bool) func(context.Context) (*http.Request, error) {
		return func(ctx context.Context) (*http.Request, error) {
			req, err := http.NewRequestWithContext(ctx, "POST", url, bytes.NewReader(body))
			if err != nil {
				return nil, err
			}
			req.Header.Set("Content-Type", "application/json")
			if vault {
				req.Header.Set("BT-API-KEY", key)
				req.Header.Set("BT-PROXY-URL", "http://"+upAddr)
			}
			return req, nil
		}
	}
	vaultReq, plainReq := newReq(vaultURL, vaultBody, true), newReq(plainURL, plainBody, false)

	// Sanity: both routes reach the upstream; the vault's with the pans in.
	for _, c := range []struct {
		name string
		mk   func(context.Context) (*http.Request, error)
	}{{"vault", vaultReq}, {"plain", plainReq}} {
		req, _ := c.mk(context.Background())
		req.Header.Set("X-Capture", "1")
		st, hdr, body := s.Send(t, req)
		if st != 200 || !strings.Contains(string(body), "approved") {
			t.Fatalf("%s route: %d %s", c.name, st, body)
		}
		if c.name == "vault" && hdr.Get("BT-PROXY-DESTINATION-STATUS") != "200" {
			t.Fatalf("vault route: no BT-PROXY-DESTINATION-STATUS (%v)", hdr)
		}
		captured.Lock()
		got := string(captured.body)
		captured.Unlock()
		if want := string(proxyBenchBody(ids, pans, false, 0)); c.name == "vault" && !strings.HasPrefix(got, strings.TrimSuffix(want, `"}`)) {
			t.Fatalf("vault route: upstream got %.300s", got)
		}
	}

	ctx := context.Background()
	harness.LoadRequests(ctx, "warm-up plain", plainReq, 16, 500*time.Millisecond)
	harness.LoadRequests(ctx, "warm-up vault", vaultReq, 16, 500*time.Millisecond)

	type side struct {
		runs            []harness.LoadResult
		mallocs, allocB uint64
		measured        bool
	}
	var plain, vault side
	run := func(sd *side, label string, mk func(context.Context) (*http.Request, error), round int) {
		if dir := os.Getenv("STRONGROOM_PROFILE_DIR"); dir != "" && sd == &vault && round == 1 {
			// For performance work: a CPU profile of the server during the
			// first vault round.
			go harness.SaveProfile(t, s, filepath.Join(dir, "proxy.cpu.pprof"), 2*time.Second)
		}
		m0, b0, ok0 := memStats(t, s)
		r := harness.LoadRequests(ctx, label, mk, concurrency, perRun)
		m1, b1, ok1 := memStats(t, s)
		if ok0 && ok1 {
			sd.mallocs += m1 - m0
			sd.allocB += b1 - b0
			sd.measured = true
		}
		sd.runs = append(sd.runs, r)
		report(t, "round %d  %-22s %s", round, label, r)
		if r.Errors > 0 || r.Requests == 0 {
			t.Errorf("%s: %d of %d requests failed (statuses %v; first: %s)", label, r.Errors, r.Requests, r.Statuses, r.FirstError)
		}
	}
	hits.Store(0)
	for round := 1; round <= rounds; round++ {
		run(&plain, "plain reverse_proxy", plainReq, round)
		run(&vault, "vault /proxy 10 tokens", vaultReq, round)
	}
	p, v := harness.Combine(plain.runs...), harness.Combine(vault.runs...)
	report(t, "total    %-22s %s", "plain reverse_proxy", p)
	report(t, "total    %-22s %s", "vault /proxy 10 tokens", v)
	if got, want := hits.Load(), int64(p.Requests+v.Requests); got < want {
		t.Errorf("upstream saw %d requests, the clients completed %d", got, want)
	}
	report(t, "ratio vault/plain: throughput %.2f, p50 %.2fx, p99 %.2fx",
		v.RPS/p.RPS, float64(v.P50)/float64(p.P50), float64(v.P99)/float64(p.P99))
	// Added latency without queueing: one client at a time.
	p1 := harness.LoadRequests(ctx, "plain c=1", plainReq, 1, 2*time.Second)
	v1 := harness.LoadRequests(ctx, "vault c=1", vaultReq, 1, 2*time.Second)
	report(t, "one client: plain p50 %v, vault p50 %v: added p50 %v (target <= 0.3ms)",
		p1.P50.Round(time.Microsecond), v1.P50.Round(time.Microsecond), (v1.P50 - p1.P50).Round(time.Microsecond))
	if p1.Errors+v1.Errors > 0 {
		t.Errorf("one-client rounds: %d and %d errors", p1.Errors, v1.Errors)
	}
	if plain.measured && vault.measured && p.Requests > 0 && v.Requests > 0 {
		// Server-wide: includes the server side of the clients' connections,
		// the upstream client, the audit entry and GC bookkeeping.
		report(t, "server allocations per request: plain %d (%s), vault %d (%s)",
			plain.mallocs/uint64(p.Requests), kib(plain.allocB/uint64(p.Requests)),
			vault.mallocs/uint64(v.Requests), kib(vault.allocB/uint64(v.Requests)))
	} else {
		report(t, "server allocations per request: not measured (no /debug/vars on the admin endpoint)")
	}

	// In-process: the body rewrite alone (in-memory resolver).
	toks := make(map[string]expr.Token, nTokens)
	for i, id := range ids {
		toks[id] = expr.Token{"id": id, "type": "card_number", "data": pans[i]}
	}
	res := expr.ResolverFunc(func(_ context.Context, id string) (expr.Token, error) { return toks[id], nil })
	opts := expr.Options{MaxTokens: 100, StringPrimitives: true}
	out, err := proxy.DetokenizeBody(ctx, "application/json", vaultBody, opts, res)
	if err != nil || !bytes.Contains(out, []byte(pans[9])) {
		t.Fatalf("DetokenizeBody: %v %.200s", err, out)
	}
	br := testing.Benchmark(func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			proxy.DetokenizeBody(ctx, "application/json", vaultBody, opts, res)
		}
	})
	report(t, "in-process DetokenizeBody (4 KiB, 10 tokens): %v/op, %d allocs/op, %s/op",
		time.Duration(br.NsPerOp()), br.AllocsPerOp(), kib(uint64(br.AllocedBytesPerOp())))
}

// luhnComplete appends the Luhn check digit to digits.
func luhnComplete(digits string) string {
	sum := 0
	for i := 0; i < len(digits); i++ {
		d := int(digits[len(digits)-1-i] - '0')
		if i%2 == 0 {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return digits + strconv.Itoa((10-sum%10)%10)
}

func kib(n uint64) string {
	if n < 10<<10 {
		return strconv.FormatUint(n, 10) + " B"
	}
	return strconv.FormatUint(n>>10, 10) + " KiB"
}
