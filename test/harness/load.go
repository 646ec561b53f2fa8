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
	url := label
	if concurrency < 1 {
		concurrency = 1
	}
	tr := &http.Transport{
		Proxy:               nil,
		MaxIdleConns:        concurrency * 2,
		MaxIdleConnsPerHost: concurrency * 2,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}

	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()

	type worker struct {
		lat      []time.Duration
		statuses map[int]int
		errors   int
		firstErr string
	}
	workers := make([]worker, concurrency)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range workers {
		w := &workers[i]
		w.statuses = map[int]int{}
		w.lat = make([]time.Duration, 0, 4096)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				req, err := newReq(context.WithoutCancel(ctx))
				if err != nil {
					w.errors++
					w.firstErr = err.Error()
					return
				}
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					w.statuses[0]++
					w.errors++
					if w.firstErr == "" {
						w.firstErr = err.Error()
					}
					continue
				}
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				el := time.Since(t0)
				w.statuses[resp.StatusCode]++
				if err != nil || resp.StatusCode < 200 || resp.StatusCode > 299 {
					w.errors++
					if w.firstErr == "" {
						if err != nil {
							w.firstErr = err.Error()
						} else {
							w.firstErr = fmt.Sprintf("status %d", resp.StatusCode)
						}
					}
				}
				w.lat = append(w.lat, el)
			}
		}()
	}
	wg.Wait()
	res := LoadResult{URL: url, Concurrency: concurrency, Duration: time.Since(start), Statuses: map[int]int{}}
	var all []time.Duration
	for _, w := range workers {
		all = append(all, w.lat...)
		res.Errors += w.errors
		for s, n := range w.statuses {
			res.Statuses[s] += n
		}
		if res.FirstError == "" {
			res.FirstError = w.firstErr
		}
	}
	res.Requests = len(all)
	if res.Duration > 0 {
		res.RPS = float64(res.Requests) / res.Duration.Seconds()
	}
	slices.Sort(all)
	res.lat = all
	res.summarise()
	return res
}

func (r *LoadResult) summarise() {
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
		out.Requests += r.Requests
		out.Errors += r.Errors
		for s, n := range r.Statuses {
			out.Statuses[s] += n
		}
		if out.FirstError == "" {
			out.FirstError = r.FirstError
		}
		out.lat = append(out.lat, r.lat...)
	}
	slices.Sort(out.lat)
	if out.Duration > 0 {
		out.RPS = float64(out.Requests) / out.Duration.Seconds()
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
