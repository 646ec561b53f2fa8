package harness

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"sync"
	"testing"
	"time"
)

// LoadResult summarises one Load run.
type LoadResult struct {
	URL         string
	Concurrency int
	Duration    time.Duration // measured wall time
	Requests    int           // completed requests (any status)
	Errors      int           // transport errors and non-2xx answers
	Statuses    map[int]int   // count per HTTP status (0 = transport error)
	FirstError  string        // the first failure, for diagnostics
	RPS         float64       // Requests / Duration
	P50, P99    time.Duration // latency percentiles of completed requests
	Max         time.Duration

	lat []time.Duration // sorted latencies, for Combine
}

// String formats the result on one line.
func (r LoadResult) String() string {
	return fmt.Sprintf("%8.0f req/s  p50 %-9v p99 %-9v max %-9v (%d requests, %d errors, c=%d, %v)",
		r.RPS, r.P50.Round(time.Microsecond), r.P99.Round(time.Microsecond), r.Max.Round(time.Microsecond),
		r.Requests, r.Errors, r.Concurrency, r.Duration.Round(time.Millisecond))
}

// Load sends GET requests to url from concurrency keep-alive clients for d
// (or until ctx ends) and reports throughput and latency. Each client reads
// every response body to the end so its connection is reused.
func Load(ctx context.Context, url string, headers map[string]string, concurrency int, d time.Duration) LoadResult {
	return LoadRequests(ctx, url, func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return nil, err
		}
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		return req, nil
	}, concurrency, d)
}

// LoadRequests is Load for any request: newReq builds each request (a POST
// with a fresh body, say); label names the target in the result.
func LoadRequests(ctx context.Context, label string, newReq func(context.Context) (*http.Request, error), concurrency int, d time.Duration) LoadResult {
	if concurrency < 1 {
		concurrency = 1
	}
	client := loadHTTPClient(concurrency)
	defer client.CloseIdleConnections()

	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()

	clients := make([]loadClient, concurrency)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range clients {
		lc := &clients[i]
		lc.statuses = map[int]int{}
		lc.lat = make([]time.Duration, 0, 4096)
		wg.Add(1)
		go func() {
			defer wg.Done()
			lc.run(ctx, client, newReq)
		}()
	}
	wg.Wait()
	res := LoadResult{URL: label, Concurrency: concurrency, Duration: time.Since(start), Statuses: map[int]int{}}
	for _, lc := range clients {
		res.add(len(lc.lat), lc.errors, lc.statuses, lc.firstErr, lc.lat)
	}
	res.summarise()
	return res
}

// loadHTTPClient keeps an idle connection for every client (and some
// spare), so a run measures the server, not connection set-up.
func loadHTTPClient(concurrency int) *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		Proxy:               nil,
		MaxIdleConns:        concurrency * 2,
		MaxIdleConnsPerHost: concurrency * 2,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
	}}
}

// loadClient is what one of LoadRequests' goroutines counts; each has its
// own, so the hot loop shares nothing.
type loadClient struct {
	lat      []time.Duration
	statuses map[int]int
	errors   int
	firstErr string
}

// run sends requests one after the other until ctx ends. A request that
// cannot be built ends this client: every next one would fail the same way.
func (lc *loadClient) run(ctx context.Context, client *http.Client, newReq func(context.Context) (*http.Request, error)) {
	for ctx.Err() == nil {
		// Without ctx's deadline: the request in flight when the run
		// ends completes instead of counting as a transport error.
		req, err := newReq(context.WithoutCancel(ctx))
		if err != nil {
			lc.errors++
			lc.firstErr = err.Error()
			return
		}
		lc.send(client, req)
	}
}

// send makes one request and reads its body to the end, so the connection
// is reused; only requests that got an answer count for latency.
func (lc *loadClient) send(client *http.Client, req *http.Request) {
	t0 := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		lc.statuses[0]++
		lc.fail(err.Error())
		return
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	el := time.Since(t0)
	lc.statuses[resp.StatusCode]++
	switch {
	case err != nil:
		lc.fail(err.Error())
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		lc.fail(fmt.Sprintf("status %d", resp.StatusCode))
	}
	lc.lat = append(lc.lat, el)
}

// fail counts a failure and keeps the first one's text.
func (lc *loadClient) fail(msg string) {
	lc.errors++
	if lc.firstErr == "" {
		lc.firstErr = msg
	}
}

// add counts another client's or run's share into r; the first error
// seen is kept. Call summarise once everything is added.
func (r *LoadResult) add(requests, errors int, statuses map[int]int, firstErr string, lat []time.Duration) {
	r.Requests += requests
	r.Errors += errors
	for s, n := range statuses {
		r.Statuses[s] += n
	}
	if r.FirstError == "" {
		r.FirstError = firstErr
	}
	r.lat = append(r.lat, lat...)
}

// summarise computes the rates and percentiles from the counts and
// latencies added.
func (r *LoadResult) summarise() {
	slices.Sort(r.lat)
	if r.Duration > 0 {
		r.RPS = float64(r.Requests) / r.Duration.Seconds()
	}
	r.P50, r.P99, r.Max = Percentile(r.lat, 0.50), Percentile(r.lat, 0.99), 0
	if len(r.lat) > 0 {
		r.Max = r.lat[len(r.lat)-1]
	}
}

// Combine merges runs against the same target (for example interleaved
// rounds) into one result: counts and durations add up, and percentiles are
// computed over every latency of every run.
func Combine(rs ...LoadResult) LoadResult {
	var out LoadResult
	out.Statuses = map[int]int{}
	for _, r := range rs {
		if out.URL == "" {
			out.URL, out.Concurrency = r.URL, r.Concurrency
		}
		out.Duration += r.Duration
		out.add(r.Requests, r.Errors, r.Statuses, r.FirstError, r.lat)
	}
	out.summarise()
	return out
}

// Percentile returns the q-quantile (0..1) of sorted latencies (nearest rank).
func Percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// SaveProfile writes a CPU profile of the server taken over d (Caddy's
// admin endpoint serves pprof) to path; for performance investigations.
func SaveProfile(t testing.TB, s *Server, path string, d time.Duration) {
	saveDebug(t, s, fmt.Sprintf("profile?seconds=%d", int(d.Seconds())), path)
}

// SaveAllocProfile writes the server's allocation profile so far to path;
// two of them, compared with `go tool pprof -diff_base`, show what a load
// run in between allocated.
func SaveAllocProfile(t testing.TB, s *Server, path string) {
	saveDebug(t, s, "allocs", path)
}

func saveDebug(t testing.TB, s *Server, what, path string) {
	resp, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/%s", s.AdminAddr, what))
	if err != nil {
		t.Logf("profile: %v", err)
		return
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil {
		err = os.WriteFile(path, b, 0o644)
	}
	if err != nil {
		t.Logf("profile: %v", err)
	}
}
