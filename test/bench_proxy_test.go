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
	vaulttraffic "github.com/strongroom/strongroom/vault/traffic"
)

// benchProxyCaddyfile serves, from one site, a plain Caddy reverse_proxy
// to the local upstream (the baseline), the same reverse_proxy behind
// vault_auth + vault_detokenize under /mw/*, and the vault's /proxy under
// /vault/*, so all three share the process, listener and middleware.
// UPSTREAM is replaced with the upstream's host:port.
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
	handle_path /mw/* {
		vault_auth
		vault_detokenize
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

// TestLoadProxy measures detokenization in the traffic path: a 4 KiB JSON
// body with 10 token expressions through vault_auth + vault_detokenize +
// reverse_proxy, and through the vault's /proxy, each against Caddy's plain
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

	s := harness.Start(t, harness.Options{Caddyfile: strings.Replace(benchProxyCaddyfile, "UPSTREAM", upAddr, 2)})
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

	// One side per route; the first is the baseline.
	type side struct {
		label, path string
		body        []byte
		header      map[string]string
		runs        []harness.LoadResult
		mallocs     uint64
		allocB      uint64
		measured    bool
		cpu         time.Duration // server CPU time over the runs
		cpuMeasured bool
	}
	sides := []*side{
		{label: "plain reverse_proxy", path: "/plain/charges", body: plainBody},
		{label: "vault_detokenize", path: "/mw/charges", body: vaultBody,
			header: map[string]string{"BT-API-KEY": key}},
		{label: "vault /proxy", path: "/vault/charges", body: vaultBody,
			header: map[string]string{"BT-API-KEY": key, "BT-PROXY-URL": "http://" + upAddr}},
	}
	mk := func(sd *side) func(context.Context) (*http.Request, error) {
		return func(ctx context.Context) (*http.Request, error) {
			req, err := http.NewRequestWithContext(ctx, "POST", s.BaseURL+sd.path, bytes.NewReader(sd.body))
			if err != nil {
				return nil, err
			}
			req.Header.Set("Content-Type", "application/json")
			for k, v := range sd.header {
				req.Header.Set(k, v)
			}
			return req, nil
		}
	}

	// Sanity: every route reaches the upstream with the pans in, and the
	// vault's routes do not pass the API key on.
	want := strings.TrimSuffix(string(proxyBenchBody(ids, pans, false, 0)), `"}`)
	for _, sd := range sides {
		req, _ := mk(sd)(context.Background())
		req.Header.Set("X-Capture", "1")
		st, hdr, body := s.Send(t, req)
		if st != 200 || !strings.Contains(string(body), "approved") {
			t.Fatalf("%s: %d %s", sd.label, st, body)
		}
		if sd.header["BT-PROXY-URL"] != "" && hdr.Get("BT-PROXY-DESTINATION-STATUS") != "200" {
			t.Fatalf("%s: no BT-PROXY-DESTINATION-STATUS (%v)", sd.label, hdr)
		}
		captured.Lock()
		got := string(captured.body)
		captured.Unlock()
		if !strings.HasPrefix(got, want) {
			t.Fatalf("%s: upstream got %.300s", sd.label, got)
		}
	}

	ctx := context.Background()
	for _, sd := range sides {
		harness.LoadRequests(ctx, "warm-up "+sd.label, mk(sd), 16, 500*time.Millisecond)
	}
	hits.Store(0)
	total := 0
	for round := 1; round <= rounds; round++ {
		for i, sd := range sides {
			dir := os.Getenv("STRONGROOM_PROFILE_DIR")
			profile := dir != "" && round == 1
			if profile {
				// For performance work: CPU and allocation profiles of the
				// server during the first round of each route.
				go harness.SaveProfile(t, s, filepath.Join(dir, fmt.Sprintf("proxy-%d.cpu.pprof", i)), 2*time.Second)
				harness.SaveAllocProfile(t, s, filepath.Join(dir, fmt.Sprintf("proxy-%d.allocs-before.pprof", i)))
			}
			m0, b0, ok0 := memStats(t, s)
			c0, cok0 := s.CPUTime()
			r := harness.LoadRequests(ctx, sd.label, mk(sd), concurrency, perRun)
			c1, cok1 := s.CPUTime()
			m1, b1, ok1 := memStats(t, s)
			if ok0 && ok1 {
				sd.mallocs += m1 - m0
				sd.allocB += b1 - b0
				sd.measured = true
			}
			if cok0 && cok1 {
				sd.cpu += c1 - c0
				sd.cpuMeasured = true
			}
			if profile {
				harness.SaveAllocProfile(t, s, filepath.Join(dir, fmt.Sprintf("proxy-%d.allocs.pprof", i)))
			}
			sd.runs = append(sd.runs, r)
			total += r.Requests
			report(t, "round %d  %-20s %s", round, sd.label, r)
			if r.Errors > 0 || r.Requests == 0 {
				t.Errorf("%s: %d of %d requests failed (statuses %v; first: %s)", sd.label, r.Errors, r.Requests, r.Statuses, r.FirstError)
			}
		}
	}
	if got := hits.Load(); got < int64(total) {
		t.Errorf("upstream saw %d requests, the clients completed %d", got, total)
	}
	base := harness.Combine(sides[0].runs...)
	report(t, "total    %-20s %s", sides[0].label, base)
	// The server's CPU time per request is steadier than throughput on a
	// shared machine whose cores the load generator also uses: plain's
	// over a route's is the throughput ratio a CPU-bound server would reach.
	cpuPer := func(sd *side) time.Duration {
		if n := harness.Combine(sd.runs...).Requests; sd.cpuMeasured && n > 0 {
			return sd.cpu / time.Duration(n)
		}
		return 0
	}
	for _, sd := range sides[1:] {
		v := harness.Combine(sd.runs...)
		report(t, "total    %-20s %s", sd.label, v)
		report(t, "ratio %s/plain: throughput %.2f (target >= 0.70), p50 %.2fx, p99 %.2fx",
			sd.label, v.RPS/base.RPS, float64(v.P50)/float64(base.P50), float64(v.P99)/float64(base.P99))
		if pc, vc := cpuPer(sides[0]), cpuPer(sd); pc > 0 && vc > 0 {
			report(t, "server CPU per request: plain %v, %s %v: plain/%s %.2f",
				pc.Round(time.Microsecond), sd.label, vc.Round(time.Microsecond), sd.label, float64(pc)/float64(vc))
		}
	}
	// Added latency without queueing: one client at a time.
	p1 := harness.LoadRequests(ctx, "plain c=1", mk(sides[0]), 1, 2*time.Second)
	for _, sd := range sides[1:] {
		v1 := harness.LoadRequests(ctx, sd.label+" c=1", mk(sd), 1, 2*time.Second)
		report(t, "one client: plain p50 %v, %s p50 %v: added p50 %v (target <= 0.3ms)", p1.P50.Round(time.Microsecond),
			sd.label, v1.P50.Round(time.Microsecond), (v1.P50 - p1.P50).Round(time.Microsecond))
		if p1.Errors+v1.Errors > 0 {
			t.Errorf("one-client rounds: %d and %d errors", p1.Errors, v1.Errors)
		}
	}
	// Server-wide: includes the server side of the clients' connections,
	// the upstream client, the audit entry and GC bookkeeping.
	for _, sd := range sides {
		if n := harness.Combine(sd.runs...).Requests; sd.measured && n > 0 {
			report(t, "server allocations per request: %-20s %d (%s)", sd.label,
				sd.mallocs/uint64(n), kib(sd.allocB/uint64(n)))
		} else {
			report(t, "server allocations per request: %s not measured (no /debug/vars on the admin endpoint)", sd.label)
		}
	}

	// In-process: the body rewrite alone (in-memory resolver).
	toks := make(map[string]expr.Token, nTokens)
	for i, id := range ids {
		toks[id] = expr.FromObject(map[string]any{"id": id, "type": "card_number", "data": pans[i]})
	}
	res := expr.ResolverFunc(func(_ context.Context, id string) (expr.Token, error) { return toks[id], nil })
	opts := expr.Options{MaxTokens: 100, StringPrimitives: true}
	out, err := vaulttraffic.DetokenizeBody(ctx, "application/json", vaultBody, opts, res)
	if err != nil || !bytes.Contains(out, []byte(pans[9])) {
		t.Fatalf("DetokenizeBody: %v %.200s", err, out)
	}
	br := testing.Benchmark(func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			vaulttraffic.DetokenizeBody(ctx, "application/json", vaultBody, opts, res)
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
